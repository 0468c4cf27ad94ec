// Package load is `wasp bench`: it plays Meta (the simulator of
// wasp/bench/sim: customers who write, the Graph API that takes the
// replies, status webhooks) against a wasp, at a rate of conversation
// turns shaped by a scenario, and measures what an SRE needs to know:
// webhook acknowledgement latency, end-to-end latency from a customer's
// message to the reply reaching the Graph API, throughput, errors, and
// whether every message was answered exactly once.
//
// A turn is one inbound webhook, one reply, and its three status webhooks
// (sent, delivered, read). Run either starts wasp as a child process on a
// temporary directory (local mode: the embedded log, or Kafka in-process
// with kfake) or drives a deployment (remote mode: Config.Target).
package load

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"wasp/bench/sim"
)

// Config describes a run. Zero values take the defaults named.
type Config struct {
	// Scenario is one of Scenarios' names. Empty means "steady".
	Scenario string
	// Rate is the inbound messages (turns) per second offered. Zero means
	// 500.
	Rate float64
	// Duration of the load. Zero means 30 s.
	Duration time.Duration
	// Users is how many simulated customers write. Zero means 10,000
	// (each well under Meta's pair rate limit at 5,000 turns/s).
	Users int
	// Types weighs the inbound message kinds (sim.InboundTypes). Nil
	// means DefaultTypes.
	Types map[string]float64
	// Tenants is the number of tenants of the tenants scenario. Zero
	// means 20.
	Tenants int
	// ThroughputMPS is the number's limit in the limit scenario. Zero
	// means the rate.
	ThroughputMPS int
	// LLMLatency is the model's median answer time in the slow-llm
	// scenario. Zero means 300 ms.
	LLMLatency time.Duration
	// Connections is how many webhook POSTs are in flight at most. Zero
	// means 256.
	Connections int
	// Drain bounds the wait, after the load, for the last replies and
	// statuses before they are judged lost. Zero means 30 s.
	Drain time.Duration

	// Wasp is the wasp binary that local mode starts as `wasp run`.
	Wasp string
	// Kafka runs the local wasp on an in-process Kafka (kfake) instead of
	// the embedded log.
	Kafka bool

	// Target is the webhook URL of a running wasp (remote mode), e.g.
	// "http://10.0.0.5:8080/webhook". AppSecret signs the webhooks.
	// SimListen is where the simulated Graph API listens, which the
	// deployment's WASP_GRAPH_URL must name. Numbers are the
	// phone_number_ids of its tenants; empty means sim.DefaultPhoneNumberID.
	Target    string
	AppSecret string
	SimListen string
	Numbers   []string

	// Progress receives a line a second; nil means none.
	Progress io.Writer
	// Logger receives the simulator's failures (throttled); nil means
	// none. Nothing logged names a token, a secret or a phone number.
	Logger *slog.Logger
}

// check applies the defaults and validates.
func (c *Config) check() error {
	c.Scenario = cmp.Or(c.Scenario, "steady")
	if _, ok := scenario(c.Scenario); !ok {
		return fmt.Errorf("unknown scenario %q (one of %s)", c.Scenario, ScenarioNames())
	}
	c.Rate = cmp.Or(c.Rate, 500)
	c.Duration = cmp.Or(c.Duration, 30*time.Second)
	c.Users = cmp.Or(c.Users, 10_000)
	c.Tenants = cmp.Or(c.Tenants, 20)
	c.LLMLatency = cmp.Or(c.LLMLatency, 300*time.Millisecond)
	c.Connections = cmp.Or(c.Connections, 256)
	c.Drain = cmp.Or(c.Drain, 30*time.Second)
	if c.Types == nil {
		c.Types = DefaultTypes
	}
	switch {
	case c.Rate < 0 || c.Duration < time.Second || c.Users < 1 || c.Tenants < 1 || c.Connections < 1 || c.Drain < 0:
		return errors.New("the rate, users, tenants and connections must be positive, and the duration at least 1s")
	case c.Target == "" && c.Wasp == "":
		return errors.New("no wasp to load: set the binary to start, or a target")
	case c.Target != "" && c.AppSecret == "":
		return errors.New("a target needs the app secret that signs its webhooks")
	case c.Target != "" && c.Scenario == "slow-llm":
		return errors.New("the slow-llm scenario configures wasp's bot, so it runs locally only")
	case c.Target != "" && c.Kafka:
		return errors.New("kafka is for the local wasp; a target runs on its own log")
	}
	if c.Target != "" {
		u, err := url.Parse(c.Target)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return fmt.Errorf("the target %q is not an http(s) URL", c.Target)
		}
		if c.SimListen == "" {
			c.SimListen = "127.0.0.1:8090"
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Run loads wasp as cfg says and returns what it measured. The run ends
// early, with the figures so far, when ctx ends.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("cannot run the benchmark: %w", err)
	}
	r := &runner{cfg: cfg, plan: newPlan(&cfg)}
	defer r.close()
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	return r.run(ctx), nil
}

// runner is one run: the simulator, and in local mode wasp, its data
// directory, kfake and the model.
type runner struct {
	cfg    Config
	plan   plan
	secret string
	token  string

	dir     string // local mode's temporary directory
	cluster *kfake.Cluster
	model   *llm
	wasp    *child
	version string

	sim     *sim.Sim
	simDone chan error
	stopSim context.CancelFunc
}

func (r *runner) start(ctx context.Context) error {
	r.secret, r.token = r.cfg.AppSecret, randomHex(16)
	addr := r.cfg.SimListen
	if r.cfg.Target == "" {
		addr = "127.0.0.1:0"
		r.secret = randomHex(16)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot listen for the simulated Graph API on %s: %w", addr, err)
	}
	graphURL := "http://" + ln.Addr().String()
	webhook := r.cfg.Target
	if webhook == "" {
		if webhook, err = r.startLocal(ctx, graphURL); err != nil {
			ln.Close()
			return err
		}
	} else if err := reachable(webhook); err != nil {
		ln.Close()
		return err
	}

	numbers := make([]sim.Number, len(r.plan.numbers))
	for i, id := range r.plan.numbers {
		numbers[i] = sim.Number{PhoneNumberID: id, ThroughputMPS: r.plan.mps, Level: "HIGH", MessagingLimitTier: "TIER_UNLIMITED"}
	}
	var tokens []string
	if r.cfg.Target == "" {
		tokens = []string{r.token}
	}
	r.sim, err = sim.New(sim.Config{
		Tokens:  tokens,
		Numbers: numbers,
		Webhook: sim.Webhook{URL: webhook, AppSecret: r.secret, Statuses: true, Duplicates: r.plan.duplicates,
			OutOfOrder: r.plan.outOfOrder, Concurrency: r.cfg.Connections},
		Customers: sim.Customers{Rate: max(r.plan.rate(0), 1e-9), Users: r.cfg.Users, Types: r.cfg.Types},
		Track:     true,
		KeepSends: -1,
		Logger:    r.cfg.Logger,
	})
	if err != nil {
		ln.Close()
		return fmt.Errorf("cannot start the simulator: %w", err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	r.stopSim, r.simDone = cancel, make(chan error, 1)
	go func() { r.simDone <- r.sim.Serve(sctx, ln) }()
	return nil
}

// startLocal starts kfake and the model when the plan needs them, then
// wasp, and returns its webhook URL.
func (r *runner) startLocal(ctx context.Context, graphURL string) (string, error) {
	dir, err := os.MkdirTemp("", "wasp-bench-")
	if err != nil {
		return "", fmt.Errorf("cannot create a data directory: %w", err)
	}
	r.dir = dir
	env := []string{"WASP_DATA_DIR=" + filepath.Join(dir, "data"), "WASP_APP_SECRET=" + r.secret,
		"WASP_VERIFY_TOKEN=" + randomHex(8), "WASP_GRAPH_URL=" + graphURL, "WASP_LOG_LEVEL=warn"}
	mps := 1_000_000
	if r.plan.mps > 0 {
		mps = r.plan.mps
	}
	env = append(env, fmt.Sprintf("WASP_THROUGHPUT_MPS=%d", mps))
	if r.cfg.Kafka {
		if r.cluster, err = kfake.NewCluster(kfake.NumBrokers(1)); err != nil {
			return "", fmt.Errorf("cannot start kfake: %w", err)
		}
		env = append(env, "WASP_KAFKA_BROKERS="+strings.Join(r.cluster.ListenAddrs(), ","))
	}
	if r.plan.llm {
		if r.model, err = startLLM(r.cfg.LLMLatency); err != nil {
			return "", err
		}
		env = append(env, "WASP_OPENAI_BASE_URL="+r.model.URL, "WASP_OPENAI_API_KEY="+randomHex(8), "WASP_OPENAI_MODEL=bench")
	}
	cfgFile, err := writeWaspConfig(dir, r.plan.numbers, r.token)
	if err != nil {
		return "", err
	}
	if r.wasp, err = startChild(ctx, r.cfg.Wasp, cfgFile, env); err != nil {
		return "", err
	}
	if out, err := execOutput(r.cfg.Wasp, "version"); err == nil {
		r.version = strings.TrimSpace(strings.TrimPrefix(out, "wasp"))
	}
	return r.wasp.Webhook, nil
}

// newResult is a Result with what is known before the run.
func (r *runner) newResult() *Result {
	res := &Result{Scenario: r.cfg.Scenario, Mode: r.mode(), Started: time.Now().UTC(),
		Settings: Settings{Rate: r.cfg.Rate, DurationSeconds: r.cfg.Duration.Seconds(), Users: r.cfg.Users,
			Numbers: len(r.plan.numbers), Types: r.cfg.Types, Connections: r.cfg.Connections, Duplicates: r.plan.duplicates},
		Machine: Machine{GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, CPUs: runtime.NumCPU(), Wasp: r.version}}
	sc, _ := scenario(r.cfg.Scenario)
	res.About = sc.About
	if r.plan.mps > 0 {
		res.Settings.ThroughputMPS = r.plan.mps
	}
	if r.plan.llm {
		res.Settings.LLMLatencyMs = ms(r.cfg.LLMLatency)
	}
	return res
}

// run offers the load, waits for the last replies, and judges.
func (r *runner) run(ctx context.Context) *Result {
	res := r.newResult()
	m := newMeter(r)
	start := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	next := start.Add(time.Second)
	phase := "load"
	var loadEnd, settledAt time.Time
loop:
	for {
		select {
		case <-ctx.Done():
			res.Interrupted = true
			break loop
		case now := <-tick.C:
			t := now.Sub(start)
			if phase == "load" {
				if t < r.cfg.Duration {
					r.sim.SetRate(r.plan.rate(t))
				} else {
					r.sim.SetRate(0)
					phase, loadEnd = "drain", now
				}
			}
			if r.wasp != nil && !r.wasp.alive() {
				r.cfg.Logger.Error("wasp exited during the run", "output", r.wasp.out.String())
				res.Interrupted = true
				break loop
			}
			if now.Before(next) {
				continue
			}
			next = next.Add(time.Second)
			offered := 0.0
			if phase == "load" {
				offered = r.plan.rate(t)
			}
			r.progress(phase, t, m.second(t, offered))
			if phase == "drain" && (m.settled() || now.Sub(loadEnd) >= r.cfg.Drain) {
				if !settledAt.IsZero() {
					break loop
				}
				settledAt = now // one more second, for late duplicates
			}
		}
	}
	end := time.Now()
	if loadEnd.IsZero() {
		loadEnd = end
	}
	r.sim.SetRate(0)
	res.LoadSeconds, res.DrainSeconds = loadEnd.Sub(start).Seconds(), end.Sub(loadEnd).Seconds()
	m.finish(res, start, end)
	res.judge()
	if r.wasp != nil {
		stop := time.Now()
		if err := r.wasp.stop(); err != nil {
			r.cfg.Logger.Warn(err.Error())
			res.Wasp.StopError = firstLine(err.Error())
		}
		res.Wasp.StopSeconds = time.Since(stop).Seconds()
	}
	return res
}

func (r *runner) mode() string {
	switch {
	case r.cfg.Target != "":
		return "remote"
	case r.cfg.Kafka:
		return "kafka"
	}
	return "embedded"
}

// progress writes one line about the second that ended at t.
func (r *runner) progress(phase string, t time.Duration, s Second) {
	if r.cfg.Progress == nil {
		return
	}
	line := fmt.Sprintf("%4.0fs %-5s offered %6s/s  in %6s/s  replies %6s/s  ack p99 %6s ms  e2e p99 %6s ms  errors %s  in-flight %s",
		t.Seconds(), phase, thousands(s.Rate), thousands(s.Inbound), thousands(s.Replies), num(s.AckP99), num(s.E2EP99),
		thousands(float64(s.Errors)), thousands(float64(s.InFlight)))
	if s.RSSMB > 0 {
		line += fmt.Sprintf("  rss %.0f MB", s.RSSMB)
	}
	fmt.Fprintln(r.cfg.Progress, line)
}

// close stops wasp (SIGTERM), the simulator, the model and kfake, and
// removes the temporary directory.
func (r *runner) close() {
	if r.wasp != nil {
		if err := r.wasp.stop(); err != nil {
			r.cfg.Logger.Warn(err.Error())
		}
	}
	if r.sim != nil {
		r.stopSim()
		<-r.simDone
	}
	if r.model != nil {
		r.model.close()
	}
	if r.cluster != nil {
		r.cluster.Close()
	}
	if r.dir != "" {
		os.RemoveAll(r.dir)
	}
}

// reachable checks that the target accepts connections.
func reachable(target string) error {
	u, _ := url.Parse(target)
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	conn, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		return fmt.Errorf("cannot reach the target: %w", err)
	}
	return conn.Close()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
