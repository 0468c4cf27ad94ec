package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"wasp/bench/sim"
)

// runSim is `wasp sim`: the Meta simulator on its own, for tests and load
// tests against a deployment.
func runSim(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wasp sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8090", "listen address of the simulated Graph API")
	webhook := fs.String("webhook", "", "the ingester's webhook URL to call back, e.g. http://127.0.0.1:8080/webhook")
	secret := fs.String("app-secret", getenv("WASP_APP_SECRET"), "app secret that signs the webhooks (default $WASP_APP_SECRET)")
	tokens := fs.String("tokens", "", "comma-separated valid access tokens (default: any)")
	number := fs.String("number", sim.DefaultPhoneNumberID, "phone_number_id of the simulated business number")
	mps := fs.Int("mps", 0, "throughput limit of the number, messages/s (0 = 80, Meta's standard level)")
	rate := fs.Float64("rate", 0, "inbound customer messages per second (needs --webhook)")
	users := fs.Int("users", 100, "distinct simulated customers")
	window := fs.Bool("window", false, "enforce the 24-hour customer service window (131047)")
	statuses := fs.Bool("statuses", true, "send status webhooks for accepted sends (needs --webhook)")
	errRate := fs.Float64("error-rate", 0, "share of sends answered with an error (131000)")
	latency := fs.Duration("latency", 0, "added latency of every Graph answer")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if exit, done := parseFlags(fs, args, stdout); done {
		return exit
	}
	if *webhook != "" && *secret == "" {
		fmt.Fprintln(stderr, "cannot start: --webhook needs the app secret that signs webhooks (--app-secret or WASP_APP_SECRET)")
		return 2
	}
	cfg := sim.Config{
		Addr:          *addr,
		Numbers:       []sim.Number{{PhoneNumberID: *number, ThroughputMPS: *mps}},
		EnforceWindow: *window,
		Faults:        sim.Faults{ErrorRate: *errRate, Latency: sim.Latency{Fixed: *latency}},
		Webhook:       sim.Webhook{URL: *webhook, AppSecret: *secret, Statuses: *statuses && *webhook != ""},
		Customers:     sim.Customers{Rate: *rate, Users: *users, ReplyToBot: *webhook != ""},
		Logger:        newLogger(stderr, *logLevel),
	}
	if *tokens != "" {
		cfg.Tokens = strings.Split(*tokens, ",")
	}
	s, err := sim.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg.Logger.Info("simulator is running", "graph", "http://"+*addr, "report", "http://"+*addr+"/_sim/report",
		"webhook", *webhook, "rate", *rate)
	if err := s.Run(ctx); err != nil {
		cfg.Logger.Error(err.Error())
		return 1
	}
	return 0
}

// newDemoSim is the simulator `wasp run --demo` starts: the Graph API on
// demoSimAddr and customers who write to the demo number a few times a
// minute and answer the bot.
func newDemoSim(cfg *Config, logger *slog.Logger) (*sim.Sim, error) {
	return sim.New(sim.Config{
		Addr:      strings.TrimPrefix(cfg.Graph.URL, "http://"),
		Tokens:    []string{demoAccessToken},
		Numbers:   []sim.Number{{PhoneNumberID: sim.DefaultPhoneNumberID}},
		Webhook:   sim.Webhook{URL: "http://" + loopbackAddr(cfg.Listen) + "/webhook", AppSecret: cfg.Apps[0].Secret, Statuses: true, Delay: sim.Range{Min: 200 * time.Millisecond, Max: 2 * time.Second}},
		Customers: sim.Customers{Rate: 0.2, Users: 20, ReplyToBot: true, ReplyDelay: sim.Range{Min: 2 * time.Second, Max: 8 * time.Second}},
		Logger:    logger.With("stage", "simulator"),
	})
}

// loopbackAddr turns a listen address into one to dial on this machine.
func loopbackAddr(addr string) string {
	if strings.HasPrefix(addr, ":") || strings.HasPrefix(addr, "0.0.0.0:") {
		return "127.0.0.1:" + addr[strings.LastIndex(addr, ":")+1:]
	}
	return addr
}
