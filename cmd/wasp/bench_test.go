package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"wasp/bench/load"
)

// TestBenchThroughTheBinary: `wasp bench` as an SRE runs it starts wasp,
// loads it, and ends with the JSON (on stdout with --json) and the HTML
// report; every message is answered exactly once, on the embedded log and
// on Kafka.
func TestBenchThroughTheBinary(t *testing.T) {
	f := func(t *testing.T, args ...string) {
		dir := t.TempDir()
		cmd := exec.Command(waspBin, append([]string{"bench", "--json", "--out", dir}, args...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("wasp bench %v: %v\n%s", args, err, stderr.String())
		}
		var res load.Result
		if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
			t.Fatalf("stdout is not the JSON: %v\n%s", err, stdout.String())
		}
		r := res.Replies
		if res.Turns == 0 || r.Lost != 0 || r.Duplicated != 0 || !r.ExactlyOnce || r.AnsweredOnce != res.Turns {
			t.Errorf("turns %d, replies %+v; want every message answered exactly once", res.Turns, r)
		}
		if res.Acks.P50 <= 0 || res.Acks.P99 < res.Acks.P50 || res.EndToEnd.P99 <= 0 || res.EndToEnd.Max < res.EndToEnd.P99 ||
			res.TurnsPerSecond <= 0 || res.Wasp == nil || res.Wasp.MaxRSSMB <= 0 || res.Statuses.Delivered != 3*res.Turns {
			t.Errorf("figures missing: acks %+v, e2e %+v, %v turns/s, wasp %+v, statuses %+v",
				res.Acks, res.EndToEnd, res.TurnsPerSecond, res.Wasp, res.Statuses)
		}
		if !strings.Contains(stderr.String(), "e2e p99") || !strings.Contains(stderr.String(), "wrote ") {
			t.Errorf("stderr has no progress or report paths:\n%s", stderr.String())
		}
		pages, _ := filepath.Glob(filepath.Join(dir, "bench-*.html"))
		jsons, _ := filepath.Glob(filepath.Join(dir, "bench-*.json"))
		if len(pages) != 1 || len(jsons) != 1 {
			t.Fatalf("reports written: %v %v; want one HTML and one JSON", pages, jsons)
		}
		if page, _ := os.ReadFile(pages[0]); !bytes.Contains(page, []byte("<svg")) {
			t.Errorf("the HTML report has no chart")
		}
		t.Logf("%s: %.0f turns/s, e2e p99 %.1f ms, ack p99 %.1f ms, RSS %.0f MB",
			res.Mode, res.TurnsPerSecond, res.EndToEnd.P99, res.Acks.P99, res.Wasp.MaxRSSMB)
	}
	t.Run("embedded", func(t *testing.T) { f(t, "--rate", "200", "--duration", "3s") })
	t.Run("kafka", func(t *testing.T) { f(t, "--kafka", "--rate", "100", "--duration", "2s") })
}

func TestBenchUsageErrors(t *testing.T) {
	f := func(want string, code int, args ...string) {
		t.Helper()
		var out, errb bytes.Buffer
		if got := run(append([]string{"bench"}, args...), env(nil), &out, &errb); got != code || !strings.Contains(errb.String(), want) {
			t.Errorf("wasp bench %v: exit %d, stderr %q; want exit %d naming %q", args, got, errb.String(), code, want)
		}
	}
	f("unknown scenario", 1, "--scenario", "nope")
	f("not a message kind", 2, "--types", "pigeon=1")
	f("app secret", 1, "--target", "http://127.0.0.1:1/webhook")
}
