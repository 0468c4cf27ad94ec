package analytics

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"wasp/schemas"
	"wasp/stream"
)

// chServer is a ClickHouse server of the test's own, which it can stop and
// start again on the same data: scripts/clickhouse.sh config writes its
// configuration (directory and ports chosen by the test) and says how to
// run it.
type chServer struct {
	t       *testing.T
	command []string
	dir     string
	addr    string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// freePort returns a TCP port nothing listens on now.
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// newCHServer configures a private server; without a ClickHouse binary
// the test skips, except in CI, where it fails.
func newCHServer(t *testing.T) *chServer {
	dir := t.TempDir()
	tcp, http := freePort(t), freePort(t)
	script := exec.Command("../scripts/clickhouse.sh", "config")
	script.Env = append(os.Environ(), "WASP_CH_DIR="+dir, "WASP_CH_TCP_PORT="+tcp, "WASP_CH_HTTP_PORT="+http)
	var stderr bytes.Buffer
	script.Stderr = &stderr
	out, err := script.Output()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("scripts/clickhouse.sh config: %v: %s", err, stderr.String())
		}
		t.Skipf("no ClickHouse server to start: %s", strings.TrimSpace(stderr.String()))
	}
	s := &chServer{t: t, command: strings.Fields(string(out)), dir: dir, addr: "127.0.0.1:" + tcp}
	t.Cleanup(func() { s.stop(10 * time.Second) })
	return s
}

// start runs the server and waits until it answers.
func (s *chServer) start() {
	t := s.t
	t.Helper()
	log, err := os.OpenFile(filepath.Join(s.dir, "stdout.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(s.command[0], s.command[1:]...)
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.exited = make(chan struct{})
	go func() { s.cmd.Wait(); log.Close(); close(s.exited) }()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := Connect(ctx, ClientConfig{Addr: s.addr})
		if err == nil {
			conn.Close()
		}
		cancel()
		if err == nil {
			return
		}
		select {
		case <-s.exited:
			t.Fatalf("the ClickHouse server exited at start: %s", s.logTail())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ClickHouse server does not answer on %s: %v\n%s", s.addr, err, s.logTail())
		}
	}
}

// stop sends SIGTERM and waits for the server to exit, up to d; then it
// kills it and reports whether it had to.
func (s *chServer) stop(d time.Duration) (killed bool) {
	if s.cmd == nil || s.cmd.Process == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return false
	case <-time.After(d):
		s.cmd.Process.Kill()
		<-s.exited
		return true
	}
}

func (s *chServer) logTail() string {
	var b []byte
	for _, f := range []string{"stdout.log", "server.err.log"} {
		data, _ := os.ReadFile(filepath.Join(s.dir, f))
		b = append(b, data[max(0, len(data)-2000):]...)
	}
	return string(b)
}

// TestClickHouseRestart: the loader loads a steady stream of events from
// the embedded log while its ClickHouse server is stopped (SIGTERM) for
// 10 s (60 s with WASP_TEST_LONG=1) and started again on the same data.
// The events appended meanwhile wait in the log; in the end every event
// is in ClickHouse exactly once.
func TestClickHouseRestart(t *testing.T) {
	down := 10 * time.Second
	if os.Getenv("WASP_TEST_LONG") == "1" {
		down = 60 * time.Second
	}
	srv := newCHServer(t)
	srv.start()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := Connect(ctx, ClientConfig{Addr: srv.addr})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	db := &testDB{addr: srv.addr, name: "wasp_restart", conn: conn}
	if _, err := Migrate(ctx, conn, db.name); err != nil {
		t.Fatal(err)
	}

	l := openTestLog(t, t.TempDir())
	// Events every 20 ms, 50 at a time (2,500/s), until stop closes.
	var appended int
	var traffic sync.WaitGroup
	stopTraffic := make(chan struct{})
	traffic.Go(func() {
		for {
			select {
			case <-stopTraffic:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if err := appendTestRange(l, "restart", appended, appended+50); err != nil {
				t.Errorf("append: %v", err)
				return
			}
			appended += 50
		}
	})
	cfg := LoaderConfig{Addr: srv.addr, Database: db.name, BatchRows: 2000, BatchDelay: 20 * time.Millisecond}
	runLoader(t, cfg, l)
	// Another loader of the same server answers Ping for /readyz.
	probe, err := NewLoader(cfg, l)
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	pollUntil(t, time.Minute, "loading", func() bool { r, _ := db.counts(t); return r > 0 })

	stopped := time.Now()
	if srv.stop(60 * time.Second) {
		t.Fatalf("the ClickHouse server did not stop within a minute of SIGTERM: %s", srv.logTail())
	}
	pctx, pcancel := context.WithTimeout(context.Background(), 2*time.Second)
	if err := probe.Ping(pctx); err == nil {
		t.Error("the loader's Ping answered while its ClickHouse server was stopped")
	}
	pcancel()
	time.Sleep(down - time.Since(stopped))
	srv.start()
	restarted := time.Since(stopped)
	time.Sleep(time.Second) // events go on after the restart
	close(stopTraffic)
	traffic.Wait()
	db.waitLoaded(t, 2*time.Minute, appended)
	t.Logf("%d events, ClickHouse stopped for %v; each loaded once", appended, restarted.Round(100*time.Millisecond))
}

// appendTestRange appends test events from..to-1 of seed; unlike
// appendTestEvents it may run outside the test's goroutine.
func appendTestRange(l stream.Log, seed string, from, to int) error {
	recs := make([]*stream.Record, 0, to-from)
	for i := from; i < to; i++ {
		e := testEvent(seed, i)
		v, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("cannot encode event %d: %w", i, err)
		}
		recs = append(recs, &stream.Record{Topic: schemas.TopicEvents, Key: []byte(e.PhoneNumberID), Value: v})
	}
	return l.Append(context.Background(), recs...)
}
