// Command wasp is the WhatsApp Cloud API stream processor: one binary for
// the webhook ingester, the processors, the sender and analytics, on an
// embedded log (the default) or on Kafka/Redpanda.
//
// The data path, as main wires it: config → log → stages → run → stop in
// reverse order.
package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"wasp/analytics"
	"wasp/bench/sim"
	"wasp/ingest"
	"wasp/internal/files"
	"wasp/processor"
	"wasp/processor/bot"
	"wasp/schemas"
	"wasp/sender"
	"wasp/stream"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `wasp — WhatsApp Cloud API stream processor

Usage:
  wasp run [--config FILE] [--demo] [--check]     every stage in one process
  wasp ingest [--config FILE] [--check]           the webhook ingester alone
  wasp process [--config FILE] [--check]          the processor alone (state, bots, API)
  wasp send [--config FILE] [--check]             the sender alone
  wasp analytics [--config FILE] [--check]        analytics and the dashboard API alone
  wasp migrate [--config FILE]                    apply the ClickHouse schema (WASP_CLICKHOUSE_ADDR)
  wasp sim [flags]                                the Meta simulator (wasp sim -h)
  wasp bench [flags]                              load test against the simulator (wasp bench -h)
  wasp admin GROUP COMMAND [flags]                Graph API management from the terminal (wasp admin -h)
  wasp dlq list|show|replay [flags]               dead letters of a running wasp (wasp dlq -h)
  wasp version                                    print the version

Flags:
  --config FILE   YAML configuration (example: deploy/wasp.example.yaml);
                  environment variables override it
  --demo          run without a Meta account: demo credentials, and the Meta
                  simulator in-process with simulated customers
  --check         validate the configuration and exit

Environment (see README.md for all): WASP_DATA_DIR, WASP_LISTEN,
WASP_ADMIN_LISTEN, WASP_APP_SECRET, WASP_VERIFY_TOKEN, WASP_KAFKA_BROKERS,
WASP_API_TOKEN, WASP_LOG_LEVEL.
`

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "run", "ingest", "process", "send":
			addSpareProcs(os.Getenv("GOMAXPROCS"))
		}
	}
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// spareProcs is the number of Ps (goroutines running Go code at once)
// that run, ingest, process and send have beyond the cores. They
// acknowledge work after file syncs (fdatasync, msync) of about a
// millisecond, in the log's syncer and in Badger's writer, and a goroutine
// back from a sync queued for a P behind every request being served,
// holding up the acknowledgement of its whole group; with spare Ps it
// finds one. `bench/ingest/run.sh 256 8`, three rounds on 2 cores: 23,700–
// 29,100 webhooks/s with 2 Ps, 28,300–32,200 with 4; `wasp run` 22,600–
// 25,800 and 27,500–29,600. Not `wasp analytics`: its loader waits on no
// sync, and the extra Ps' spinning took CPU from a ClickHouse on the same
// cores (147,000–157,000 rows/s against 169,000–178,000).
const spareProcs = 2

// addSpareProcs adds spareProcs unless GOMAXPROCS (env) is set or a CPU
// limit (a container's) makes the runtime's default lower than the cores:
// more Ps than the limit get the process throttled when all of them run.
// Once set, the runtime no longer follows a CPU limit that changes.
func addSpareProcs(env string) {
	if env == "" && runtime.GOMAXPROCS(0) == runtime.NumCPU() {
		runtime.GOMAXPROCS(runtime.NumCPU() + spareProcs)
	}
}

// run is main with its inputs and outputs passed in; it returns the exit
// code: 0 done, 1 failed, 2 bad usage or configuration.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "wasp", buildVersion())
		return 0
	case "help", "--help", "-h", "-help":
		fmt.Fprint(stdout, usage)
		return 0
	case "sim":
		return runSim(args, getenv, stdout, stderr)
	case "bench":
		return runBench(args, getenv, stdout, stderr)
	case "migrate":
		return runMigrate(args, getenv, stdout, stderr)
	case "admin":
		return runAdmin(args, getenv, stdout, stderr)
	case "dlq":
		return runDLQ(args, getenv, stdout, stderr)
	case "run", "ingest", "process", "send", "analytics":
	default:
		fmt.Fprintf(stderr, "wasp: unknown command %q\n\n%s", cmd, usage)
		return 2
	}

	fs := flag.NewFlagSet("wasp "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML configuration file")
	demo := fs.Bool("demo", false, "run without a Meta app, with demo credentials")
	check := fs.Bool("check", false, "validate the configuration and exit")
	if exit, done := parseFlags(fs, args, stdout); done {
		return exit
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "wasp %s: unexpected argument %q\n", cmd, fs.Arg(0))
		return 2
	}
	cfg, err := loadConfig(*configPath, getenv)
	if err == nil && *demo {
		cfg.applyDemo()
	}
	if err == nil {
		err = cfg.validate(*demo, cmd == "run" || cmd == "ingest")
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if *check {
		fmt.Fprintf(stdout, "configuration is valid: %s log, webhooks on %s, admin on %s\n",
			cfg.logKind(), cfg.Listen, cfg.AdminListen)
		for _, w := range cfg.warnings(cmd) {
			fmt.Fprintln(stdout, "warning: "+w)
		}
		return 0
	}

	logger := newLogger(stderr, cfg.LogLevel)
	for _, w := range cfg.warnings(cmd) {
		logger.Warn(w)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, cmd, cfg, logger, *demo); err != nil {
		logger.Error(err.Error())
		return 1
	}
	return 0
}

// serve builds the stages of cmd and runs them until ctx ends, then stops
// them in reverse order, logging how long each stop took.
func serve(ctx context.Context, cmd string, cfg *Config, logger *slog.Logger, demo bool) error {
	log, err := openLog(ctx, cfg, logger)
	if err != nil {
		return err
	}
	var stages stages
	stages.add("log", func(sctx context.Context) error { <-sctx.Done(); return nil }, log.Close)
	fail := func(err error) error {
		log.Close()
		return err
	}
	adm := newAdmin(cfg, log)
	if cmd == "run" || cmd == "ingest" {
		var apps []ingest.App
		for _, a := range cfg.Apps {
			apps = append(apps, ingest.App{ID: a.ID, Secret: a.Secret})
		}
		in, err := ingest.New(ingest.Config{
			Addr:        cfg.Listen,
			Apps:        apps,
			VerifyToken: cfg.VerifyToken,
			Topic:       cfg.Topics.Webhooks,
			DLQTopic:    cfg.Topics.DLQ,
			Logger:      logger.With("stage", "ingest"),
		}, log)
		if err != nil {
			return fail(err)
		}
		stages.add("ingest", in.Run, nil)
		adm.deps["webhook listener"] = in // not ready before it listens
	}
	dl := &dlqAPI{log: log, topics: TopicsConfig{
		Webhooks: cmp.Or(cfg.Topics.Webhooks, schemas.TopicWebhooks), Outbound: cmp.Or(cfg.Topics.Outbound, schemas.TopicOutbound),
		Events: cmp.Or(cfg.Topics.Events, schemas.TopicEvents), DLQ: cmp.Or(cfg.Topics.DLQ, schemas.TopicDLQ)}}
	dl.register(adm.api)
	if cmd == "run" || cmd == "process" {
		pcfg, err := cfg.processorConfig(logger.With("stage", "process"))
		if err != nil {
			return fail(err)
		}
		proc, err := processor.New(pcfg, log)
		if err != nil {
			return fail(err)
		}
		proc.Register(adm.api)
		stages.add("process", proc.Run, nil)
	}
	if cmd == "run" || cmd == "analytics" {
		ru, err := analytics.OpenRollups(analytics.RollupConfig{Dir: filepath.Join(cfg.DataDir, "analytics"),
			Topic: cfg.Topics.Events, Logger: logger.With("stage", "analytics")}, log)
		if err != nil {
			return fail(err)
		}
		var src analytics.Source = ru
		stages.add("analytics", ru.Run, nil)
		if cfg.ClickHouse.Addr != "" {
			// Events also go to ClickHouse, each once. The schema is
			// brought up to date first when ClickHouse answers; else the
			// loader applies it once ClickHouse does, then loads.
			migrated := migrateOnStart(ctx, cfg, logger)
			ld, err := analytics.NewLoader(analytics.LoaderConfig{Addr: cfg.ClickHouse.Addr,
				Database: cfg.ClickHouse.Database, Topic: cfg.Topics.Events, Logger: logger.With("stage", "loader")}, log)
			if err != nil {
				return fail(err)
			}
			adm.deps["clickhouse"] = ld
			stages.add("loader", func(c context.Context) error {
				if !migrated && !migrateWhenUp(c, cfg, logger.With("stage", "loader")) {
					return nil // stopped first
				}
				return ld.Run(c)
			}, ld.Close)
			// The dashboard reads ClickHouse when it answers at start.
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			conn, err := analytics.Connect(cctx, analytics.ClientConfig{Addr: cfg.ClickHouse.Addr})
			cancel()
			if err == nil {
				if chs, err := analytics.NewClickHouseSource(conn, cfg.ClickHouse.Database); err == nil {
					src = chs
					stages.add("dashboard", func(c context.Context) error { <-c.Done(); return nil }, conn.Close)
				}
			} else {
				logger.Warn("ClickHouse does not answer; the dashboard reads the embedded rollups", "err", err)
			}
		}
		analytics.Register(adm.api, src)
		stages.add("alerts", cfg.alerter(cmd, log, logger.With("stage", "alerts")).Run, nil)
	}
	if demo && cmd == "run" {
		// Stages stop in the reverse order: the simulator after the
		// sender (it is the sender's Graph API) and before the ingester
		// (its customers and statuses post there).
		sm, err := newDemoSim(cfg, logger)
		if err != nil {
			return fail(err)
		}
		stages.add("simulator", sm.Run, nil)
	}
	if cmd == "run" || cmd == "send" {
		snd, err := sender.New(cfg.senderConfig(logger.With("stage", "send")), log,
			sender.NewGraph(sender.GraphConfig{BaseURL: cfg.Graph.URL, Version: cfg.Graph.Version}))
		if err != nil {
			return fail(err)
		}
		stages.add("send", snd.Run, nil)
	}
	stages.add("admin", adm.Run, nil)

	attrs := []any{"version", buildVersion(), "stages", cmd, "log", cfg.logKind()}
	if cmd == "run" || cmd == "ingest" {
		attrs = append(attrs, "webhook", "http://"+displayAddr(cfg.Listen)+"/webhook")
	}
	if cmd == "run" || cmd == "send" {
		attrs = append(attrs, "graph", cfg.Graph.URL)
	}
	logger.Info("wasp is running", append(attrs, "admin", "http://"+displayAddr(cfg.AdminListen))...)
	if demo {
		logger.Info("demo mode: the Meta simulator plays the Graph API and customers who write to " + sim.DefaultPhoneNumberID +
			"; its report is at " + cfg.Graph.URL + "/_sim/report")
	}
	return stages.run(ctx, logger)
}

// alerter builds the alert loop of the analytics stage. The webhook rule
// needs the ingester in the same process; the lag rule watches the groups
// of the stages that read the log.
func (c *Config) alerter(cmd string, log stream.Log, logger *slog.Logger) *analytics.Alerter {
	limits := map[string]float64{}
	for _, t := range c.Tenants {
		for _, id := range t.PhoneNumberIDs {
			limits[id] = cmp.Or(t.ThroughputMPS, c.Send.ThroughputMPS)
		}
	}
	events := cmp.Or(c.Topics.Events, schemas.TopicEvents)
	lag := map[string][]string{
		"wasp-processor":         {cmp.Or(c.Topics.Webhooks, schemas.TopicWebhooks)},
		"wasp-sender":            {cmp.Or(c.Topics.Outbound, schemas.TopicOutbound)},
		"wasp-analytics-rollups": {events},
	}
	if c.ClickHouse.Addr != "" {
		lag["wasp-analytics"] = []string{events}
	}
	cfg := analytics.AlertConfig{Topic: events, Interval: c.Alerts.Interval, Cooldown: c.Alerts.Cooldown,
		NotifyURL: c.Alerts.NotifyURL, Rules: c.Alerts.Rules, Limits: limits, Lag: lag, Logger: logger,
		StatePath: filepath.Join(c.DataDir, "alerts.json")}
	if cmd == "run" {
		cfg.Webhooks = ingest.WebhookCounts
	}
	return analytics.NewAlerter(cfg, log)
}

// senderConfig maps the configuration onto the sender's.
func (c *Config) senderConfig(logger *slog.Logger) sender.Config {
	numbers := map[string]sender.Number{}
	for _, t := range c.Tenants {
		for _, id := range t.PhoneNumberIDs {
			numbers[id] = sender.Number{Tenant: t.ID, Token: t.AccessToken, ThroughputMPS: t.ThroughputMPS,
				Portfolio: t.WABAID, MessagingLimit: t.MessagingLimit}
		}
	}
	token := ""
	if len(c.Tenants) > 0 {
		token = c.Tenants[0].AccessToken
	}
	mps := c.Send.ThroughputMPS
	return sender.Config{
		Topic: c.Topics.Outbound, EventsTopic: c.Topics.Events, DLQTopic: c.Topics.DLQ, WebhooksTopic: c.Topics.Webhooks,
		DataDir:      filepath.Join(c.DataDir, "sender"),
		Numbers:      numbers,
		DefaultToken: token,
		// WASP_THROUGHPUT_MPS paces every number that sets none.
		ThroughputMPS: mps,
		PairLimit:     sender.PairLimit{Burst: c.Send.PairLimit.Burst, Interval: c.Send.PairLimit.Interval},
		MaxAttempts:   c.Send.MaxAttempts,
		SettleDelay:   c.Send.SettleDelay,
		MaxInFlight:   c.Send.MaxInFlight,
		Logger:        logger,
	}
}

// parseFlags parses a command's flags into fs, whose output is stderr.
// It says whether the command is done, and its exit code: -h prints the
// usage on stdout (0); a bad flag, its error and the usage on stderr (2).
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) (exit int, done bool) {
	usage := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = usage
	switch {
	case err == nil:
		return 0, false
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fs.Usage()
		return 0, true
	default:
		fs.Usage()
		return 2, true
	}
}

// kafkaInstanceID is the id this data directory's process has among the
// members of its Kafka consumer groups (stream.KafkaConfig.InstanceID),
// made on first use and kept in the directory: a process started again
// on it takes back its partitions at once. An id need only be unique
// within each group: processes that share a directory (say `wasp
// process` and `wasp send`) consume different groups, and two that run
// the same stage cannot share one (its store there is locked); the
// dead-letter API reads without a group.
func kafkaInstanceID(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "kafka-instance-id")
	fail := func(err error) (string, error) {
		return "", fmt.Errorf("cannot keep the Kafka group instance id in %s (is WASP_DATA_DIR=%s writable?): %w", path, dataDir, err)
	}
	switch b, err := os.ReadFile(path); {
	case err == nil && len(bytes.TrimSpace(b)) > 0:
		return string(bytes.TrimSpace(b)), nil
	case err == nil:
		return fail(errors.New("the file is empty; remove it and a new id is made"))
	case !errors.Is(err, fs.ErrNotExist):
		return fail(err)
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return fail(err)
	}
	id := "wasp-" + rand.Text()[:16]
	// Written whole, then linked into place: a process starting beside
	// this one reads either no file or all of it, and the first id kept
	// is the one both use.
	tmp, err := files.WriteTemp(dataDir, ".kafka-instance-id-*", []byte(id+"\n"))
	if err != nil {
		return fail(err)
	}
	defer os.Remove(tmp)
	err = os.Link(tmp, path)
	if errors.Is(err, fs.ErrExist) {
		return kafkaInstanceID(dataDir)
	}
	if err != nil {
		return fail(err)
	}
	return id, nil
}

// openLog opens the embedded log, or the Kafka log when brokers are set.
func openLog(ctx context.Context, cfg *Config, logger *slog.Logger) (stream.Log, error) {
	topics := stream.Topics{
		Partitions:     cfg.Log.Partitions,
		RetentionAge:   cfg.Log.Retention,
		RetentionBytes: int64(cfg.Log.RetentionBytes),
	}
	if len(cfg.Kafka.Brokers) > 0 {
		id, err := kafkaInstanceID(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		l, err := stream.NewKafka(cctx, stream.KafkaConfig{
			Brokers:           cfg.Kafka.Brokers,
			Topics:            topics,
			ReplicationFactor: cfg.Kafka.ReplicationFactor,
			SessionTimeout:    cfg.Kafka.SessionTimeout,
			InstanceID:        id,
			Logger:            logger.With("component", "kafka"),
		})
		if err != nil {
			return nil, fmt.Errorf("cannot connect to Kafka at %v (WASP_KAFKA_BROKERS): %w", cfg.Kafka.Brokers, err)
		}
		return l, nil
	}
	dir := filepath.Join(cfg.DataDir, "log")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("cannot create the data directory (WASP_DATA_DIR=%s): %w", cfg.DataDir, err)
	}
	l, err := stream.OpenBadger(stream.BadgerConfig{
		Dir:          dir,
		Topics:       topics,
		MemTableSize: int64(cfg.Log.MemTableSize),
		MinFreeBytes: int64(cfg.Log.MinFreeBytes),
		Logger:       logger.With("component", "badger"),
	})
	if err != nil {
		return nil, fmt.Errorf("%w (is WASP_DATA_DIR=%s writable, and used by no other wasp?)", err, cfg.DataDir)
	}
	return l, nil
}

// stages runs the parts of the process together: when one fails or ctx
// ends, all are stopped, in reverse order of their start.
type stages struct{ list []stage }

type stage struct {
	name  string
	run   func(context.Context) error
	close func() error // after run returned; may be nil
}

func (s *stages) add(name string, run func(context.Context) error, close func() error) {
	s.list = append(s.list, stage{name, run, close})
}

func (s *stages) run(ctx context.Context, logger *slog.Logger) error {
	// Each stage gets its own context, cancelled in reverse order, so the
	// ingester stops (and finishes its requests) before the log closes.
	type running struct {
		cancel context.CancelFunc
		done   chan error
	}
	rs := make([]running, len(s.list))
	failed := make(chan error, len(s.list))
	for i, st := range s.list {
		sctx, cancel := context.WithCancel(context.Background())
		rs[i] = running{cancel, make(chan error, 1)}
		go func() {
			err := st.run(sctx)
			if err != nil && sctx.Err() == nil {
				failed <- fmt.Errorf("%s: %w", st.name, err)
			}
			rs[i].done <- err
		}()
	}
	var first error
	select {
	case <-ctx.Done():
		logger.Info("stopping")
	case first = <-failed:
		logger.Error("a stage failed; stopping", "err", first)
	}
	var errs []error
	for i := len(s.list) - 1; i >= 0; i-- {
		st, start := s.list[i], time.Now()
		rs[i].cancel()
		err := <-rs[i].done
		if st.close != nil {
			err = errors.Join(err, st.close())
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("cannot stop %s: %w", st.name, err))
		}
		logger.Info("stopped", "stage", st.name, "took", time.Since(start).Round(time.Millisecond))
	}
	return errors.Join(append([]error{first}, errs...)...)
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

func buildVersion() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return version
}

func (c *Config) logKind() string {
	if len(c.Kafka.Brokers) > 0 {
		return "kafka"
	}
	return "embedded"
}

// displayAddr turns ":8080" into "localhost:8080" for a clickable URL.
func displayAddr(addr string) string {
	if len(addr) > 0 && addr[0] == ':' {
		return "localhost" + addr
	}
	return addr
}

// Demo credentials: they sign nothing real, and the demo's own simulator
// uses them.
const (
	demoAppSecret   = "wasp-demo-app-secret"
	demoVerifyToken = "wasp-demo-verify-token"
	demoAccessToken = "wasp-demo-access-token"
	demoSimAddr     = "127.0.0.1:8090"
)

// applyDemo fills what a demo needs and the configuration lacks: the
// demo app, a tenant on the simulator's number, and the simulator as the
// Graph API.
func (c *Config) applyDemo() {
	if len(c.Apps) == 0 {
		c.Apps = []AppConfig{{ID: "demo"}}
	}
	if c.Apps[0].Secret == "" {
		c.Apps[0].Secret = demoAppSecret
	}
	if c.VerifyToken == "" {
		c.VerifyToken = demoVerifyToken
	}
	if len(c.Tenants) == 0 {
		c.Tenants = []TenantConfig{{ID: "demo"}}
	}
	t := &c.Tenants[0]
	if len(t.PhoneNumberIDs) == 0 {
		t.PhoneNumberIDs = []string{sim.DefaultPhoneNumberID}
	}
	if t.AccessToken == "" {
		t.AccessToken = demoAccessToken
	}
	if t.Business.Name == "" {
		t.Business = bot.Business{Name: "Wasp Demo Café", Sector: "café", Hours: "8:00–20:00, lun–sáb (Mon–Sat)",
			Phone: "+1 555 0100", Website: "https://cafe.example", Address: "Calle Mayor 1"}
	}
	if c.Graph.URL == defaultGraphURL {
		c.Graph.URL = "http://" + demoSimAddr
	}
}
