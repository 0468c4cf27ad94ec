//go:build ignore

// nolog serves the ingester with an appender that stores nothing: the
// HTTP ceiling of the machine, against which the load test's figures with
// durable appends read. run.sh starts it with WASP_CMD=nolog.
//
//	go run nolog.go -addr 127.0.0.1:18080 -secret s
package main

import (
	"context"
	"flag"
	"log"
	"os/signal"
	"syscall"

	"wasp/ingest"
	"wasp/stream"
)

type discard struct{}

func (discard) Append(context.Context, ...*stream.Record) error { return nil }

func main() {
	addr := flag.String("addr", "127.0.0.1:18080", "listen address")
	secret := flag.String("secret", "s", "app secret the server checks")
	flag.Parse()
	in, err := ingest.New(ingest.Config{Addr: *addr, Apps: []ingest.App{{Secret: *secret}}, VerifyToken: "v"}, discard{})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := in.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
