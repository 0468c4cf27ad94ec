package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"wasp/bench/load"
)

const benchUsage = `Usage: wasp bench [flags]

Plays Meta against wasp: simulated customers write (signed webhooks), the
simulated Graph API takes the replies and sends status webhooks back. A
turn is one inbound message, its reply and three statuses. Measures webhook
acknowledgement latency, end-to-end latency (the customer's message to the
reply at the Graph API), throughput, errors, and whether every message was
answered exactly once. Prints progress each second on stderr, then the
table on stdout, and writes bench-<time>.json and bench-<time>.html. The
targets (5,000 turns/s, p99 end to end 250 ms, RSS 300 MB, no reply lost
or duplicated) are reported, not asserted: the exit status is 0 when the
run completed.

Local mode (the default) starts this binary as "wasp run" on a temporary
directory, with a bot that never hands off, and stops it at the end.

Remote mode (--target) loads a running wasp. Point that wasp at the
simulator: WASP_GRAPH_URL=http://<this host>:<port of --sim-listen>, a
tenant per --numbers id, any access token, WASP_THROUGHPUT_MPS high enough.
Its bot must not hand conversations to a person: a handed-off
conversation's messages go unanswered and count as lost.

Scenarios (--scenario):
%s
Flags:
`

// runBench is `wasp bench`.
func runBench(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wasp bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		var sc strings.Builder
		for _, s := range load.Scenarios {
			fmt.Fprintf(&sc, "  %-12s %s\n", s.Name, s.About)
		}
		fmt.Fprintf(fs.Output(), benchUsage, sc.String())
		fs.PrintDefaults()
	}
	var cfg load.Config
	fs.StringVar(&cfg.Scenario, "scenario", "steady", "what load: "+load.ScenarioNames())
	fs.Float64Var(&cfg.Rate, "rate", 500, "inbound messages (turns) per second")
	fs.DurationVar(&cfg.Duration, "duration", 30*time.Second, "how long the load runs")
	fs.IntVar(&cfg.Users, "users", 10_000, "distinct simulated customers")
	types := fs.String("types", "", "mix of inbound kinds, e.g. text=10,image=1,reaction=1 (default: every kind wasp answers, text ×10)")
	fs.IntVar(&cfg.Tenants, "tenants", 20, "tenants of the tenants scenario, one number each")
	fs.IntVar(&cfg.ThroughputMPS, "mps", 0, "the number's throughput limit in the limit scenario (default: the rate)")
	fs.DurationVar(&cfg.LLMLatency, "llm-latency", 300*time.Millisecond, "the model's median answer time in the slow-llm scenario")
	fs.IntVar(&cfg.Connections, "conns", 256, "webhook POSTs in flight at most")
	fs.DurationVar(&cfg.Drain, "drain", 30*time.Second, "after the load, how long to wait for the last replies and statuses")
	fs.BoolVar(&cfg.Kafka, "kafka", false, "local wasp on an in-process Kafka (kfake) instead of the embedded log")
	fs.StringVar(&cfg.Target, "target", "", "remote mode: webhook URL of a running wasp, e.g. http://10.0.0.5:8080/webhook")
	fs.StringVar(&cfg.AppSecret, "app-secret", getenv("WASP_APP_SECRET"), "remote mode: the app secret that signs webhooks (default $WASP_APP_SECRET)")
	fs.StringVar(&cfg.SimListen, "sim-listen", "127.0.0.1:8090", "remote mode: where the simulated Graph API listens")
	numbers := fs.String("numbers", "", "remote mode: comma-separated phone_number_ids of the target's tenants (default the simulator's)")
	out := fs.String("out", ".", "directory of the JSON and HTML reports")
	jsonOnly := fs.Bool("json", false, "print only the JSON on stdout")
	if exit, done := parseFlags(fs, args, stdout); done {
		return exit
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "wasp bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *types != "" {
		m, err := load.ParseTypes(*types)
		if err != nil {
			fmt.Fprintf(stderr, "wasp bench: --types: %v\n", err)
			return 2
		}
		cfg.Types = m
	}
	if *numbers != "" {
		cfg.Numbers = strings.Split(*numbers, ",")
	}
	if cfg.Target == "" {
		bin, err := os.Executable()
		if err != nil {
			fmt.Fprintf(stderr, "wasp bench: cannot find this binary to start it: %v\n", err)
			return 1
		}
		cfg.Wasp = bin
	}
	cfg.Progress = stderr
	cfg.Logger = newLogger(stderr, "warn").With("stage", "bench")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := load.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "wasp bench: %v\n", err)
		return 1
	}
	base := filepath.Join(*out, "bench-"+res.Started.Local().Format("20060102-150405"))
	if err := writeReport(base+".json", res.WriteJSON); err != nil {
		fmt.Fprintf(stderr, "wasp bench: %v\n", err)
		return 1
	}
	if err := writeReport(base+".html", res.WriteHTML); err != nil {
		fmt.Fprintf(stderr, "wasp bench: %v\n", err)
		return 1
	}
	if *jsonOnly {
		res.WriteJSON(stdout)
	} else {
		res.WriteTable(stdout)
	}
	fmt.Fprintf(stderr, "wrote %s.json and %s.html\n", base, base)
	return 0
}

func writeReport(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("cannot write the report: %w", err)
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return f.Close()
}
