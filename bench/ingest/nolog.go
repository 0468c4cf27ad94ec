//go:build ignore

// nolog serves the ingester with an appender that stores nothing: the
// HTTP ceiling of the machine, against which the load test's figures with
// durable appends read. run.sh starts it with WASP_CMD=nolog.
//
// With -sync d the appender answers like the embedded log's group commit,
// without the disk: appends queue to one goroutine, which takes all that
// are waiting, waits d (a sync's time) and answers them together. The
// difference from the plain run is what waiting for a group costs; the
// difference from `wasp ingest` is what writing and syncing cost.
//
//	go run nolog.go -addr 127.0.0.1:18080 -secret s [-sync 1ms]
package main

import (
	"context"
	"flag"
	"log"
	"os/signal"
	"syscall"
	"time"

	"wasp/ingest"
	"wasp/stream"
)

type discard struct{}

func (discard) Append(context.Context, ...*stream.Record) error { return nil }

// grouped answers appends in groups, a sync's time after it takes them.
type grouped chan chan error

func (g grouped) Append(ctx context.Context, _ ...*stream.Record) error {
	done := make(chan error, 1)
	select {
	case g <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-done
}

func (g grouped) run(sync time.Duration) {
	var group []chan error
	for done := range g {
		group = append(group[:0], done)
		for len(g) > 0 {
			group = append(group, <-g)
		}
		time.Sleep(sync)
		for _, done := range group {
			done <- nil
		}
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18080", "listen address")
	secret := flag.String("secret", "s", "app secret the server checks")
	sync := flag.Duration("sync", 0, "answer appends in groups after this wait (0: at once)")
	flag.Parse()
	var app ingest.Appender = discard{}
	if *sync > 0 {
		g := make(grouped, 4096)
		go g.run(*sync)
		app = g
	}
	in, err := ingest.New(ingest.Config{Addr: *addr, Apps: []ingest.App{{Secret: *secret}}, VerifyToken: "v"}, app)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := in.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
