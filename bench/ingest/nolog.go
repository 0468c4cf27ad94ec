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
// With -file path the groups are durable in the least costly way: one
// write of the group's bodies to the end of one file, one fdatasync, then
// the answers. No frames, index, partitions or recovery: the floor under
// any log that acknowledges only what is on the disk.
//
//	go run nolog.go -addr 127.0.0.1:18080 -secret s [-sync 1ms | -file path]
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"wasp/ingest"
	"wasp/stream"
)

type discard struct{}

func (discard) Append(context.Context, ...*stream.Record) error { return nil }

// grouped answers appends in groups, a sync's time after it takes them,
// or, with a file, once the group's values are written to it and synced.
type grouped chan *pending

type pending struct {
	recs []*stream.Record
	done chan error
}

func (g grouped) Append(ctx context.Context, recs ...*stream.Record) error {
	p := &pending{recs: recs, done: make(chan error, 1)}
	select {
	case g <- p:
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-p.done
}

func (g grouped) run(sync time.Duration, f *os.File) {
	var group []*pending
	var buf []byte
	for p := range g {
		group = append(group[:0], p)
		for len(g) > 0 {
			group = append(group, <-g)
		}
		var err error
		if f == nil {
			time.Sleep(sync)
		} else {
			buf = buf[:0]
			for _, p := range group {
				for _, r := range p.recs {
					buf = append(buf, r.Value...)
				}
			}
			if _, err = f.Write(buf); err == nil {
				err = unix.Fdatasync(int(f.Fd()))
			}
		}
		for _, p := range group {
			p.done <- err
		}
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18080", "listen address")
	secret := flag.String("secret", "s", "app secret the server checks")
	sync := flag.Duration("sync", 0, "answer appends in groups after this wait (0: at once)")
	file := flag.String("file", "", "answer appends in groups once their values are written to this file and synced")
	flag.Parse()
	var app ingest.Appender = discard{}
	if *sync > 0 || *file != "" {
		var f *os.File
		if *file != "" {
			var err error
			if f, err = os.OpenFile(*file, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
				log.Fatal(err)
			}
		}
		g := make(grouped, 4096)
		go g.run(*sync, f)
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
