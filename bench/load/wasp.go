package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is `wasp run` started by bench on a temporary data directory.
type child struct {
	cmd     *exec.Cmd
	Webhook string // http://host:port/webhook
	admin   string // host:port
	out     *tail
	exited  chan struct{}
	waitErr error
}

// startChild starts bin as `wasp run --config cfgFile` with env (on top
// of this process's environment without its WASP_ variables) and waits
// until its /readyz answers 200.
func startChild(ctx context.Context, bin, cfgFile string, env []string) (*child, error) {
	webhook, err := freeAddr()
	if err != nil {
		return nil, err
	}
	admin, err := freeAddr()
	if err != nil {
		return nil, err
	}
	c := &child{Webhook: "http://" + webhook + "/webhook", admin: admin, out: &tail{max: 16 << 10}, exited: make(chan struct{})}
	c.cmd = exec.Command(bin, "run", "--config", cfgFile)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WASP_") {
			c.cmd.Env = append(c.cmd.Env, kv)
		}
	}
	c.cmd.Env = append(c.cmd.Env, env...)
	c.cmd.Env = append(c.cmd.Env, "WASP_LISTEN="+webhook, "WASP_ADMIN_LISTEN="+admin)
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start %s: %w", bin, err)
	}
	go func() {
		c.waitErr = c.cmd.Wait()
		close(c.exited)
	}()

	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c, nil
			}
		}
		select {
		case <-c.exited:
			return nil, fmt.Errorf("wasp exited before it was ready (%v):\n%s", c.waitErr, c.out)
		case <-ctx.Done():
			c.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("wasp was not ready within a minute:\n%s", c.out)
		}
	}
}

// alive reports whether the child still runs.
func (c *child) alive() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// stopWait is how long wasp may take to stop after SIGTERM before it is
// killed.
const stopWait = 15 * time.Second

// stop sends SIGTERM and waits up to stopWait for a graceful stop, then
// kills.
func (c *child) stop() error {
	if !c.alive() {
		return nil
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
		if c.waitErr != nil {
			return fmt.Errorf("wasp did not stop cleanly (%v):\n%s", c.waitErr, c.out)
		}
		return nil
	case <-time.After(stopWait):
		c.cmd.Process.Kill()
		<-c.exited
		return fmt.Errorf("wasp did not stop within %v of SIGTERM; killed", stopWait)
	}
}

// usage is a process's resident memory, now and at its peak, and the
// CPU time it used.
type usage struct {
	rss, peak int64         // bytes
	cpu       time.Duration // user + system
}

// procUsage reads /proc/<pid>/status and /proc/<pid>/stat ("self" for
// this process). Linux only; elsewhere it fails.
func procUsage(pid string) (usage, error) {
	status, err := os.ReadFile(filepath.Join("/proc", pid, "status"))
	if err != nil {
		return usage{}, err
	}
	var u usage
	for _, line := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(line, ":")
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			u.rss = kb << 10
		case "VmHWM":
			u.peak = kb << 10
		}
	}
	stat, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return usage{}, err
	}
	// Fields after the command name, which may hold spaces: state is
	// field 3, utime and stime are 14 and 15, in clock ticks (USER_HZ,
	// 100 on Linux).
	i := bytes.LastIndexByte(stat, ')')
	f := strings.Fields(string(stat[i+1:]))
	if i < 0 || len(f) < 13 {
		return usage{}, errors.New("cannot read the CPU time: unexpected /proc stat")
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	u.cpu = time.Duration(ut+st) * 10 * time.Millisecond
	return u, nil
}

// freeAddr returns a loopback address with a free port.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("cannot find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// writeWaspConfig writes the configuration of the local wasp into dir:
// one tenant per number, all sending with token, and a rules bot that
// never hands a conversation to a person (no handoff keywords, no
// low-confidence rule, no "human" intent), so that every message that
// expects an answer gets one.
func writeWaspConfig(dir string, numbers []string, token string) (string, error) {
	rules := filepath.Join(dir, "rules.yaml")
	const noHandoff = `min_confidence: -1
handoff:
  keywords: {es: [], en: []}
intents:
  - {name: human, disabled: true}
`
	if err := os.WriteFile(rules, []byte(noHandoff), 0o600); err != nil {
		return "", fmt.Errorf("cannot write the bot's rules: %w", err)
	}
	var b strings.Builder
	b.WriteString("tenants:\n")
	for i, id := range numbers {
		fmt.Fprintf(&b, "  - id: bench-%d\n    phone_number_ids: [%q]\n    access_token: %q\n", i+1, id, token)
		b.WriteString("    business: {name: \"Bench Café\", hours: \"9:00-18:00\", website: \"https://cafe.example\", address: \"Calle Mayor 1\"}\n")
		fmt.Fprintf(&b, "    bot: {rules: %q}\n", rules)
	}
	path := filepath.Join(dir, "wasp.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return "", fmt.Errorf("cannot write the configuration: %w", err)
	}
	return path, nil
}

// execOutput runs bin with args and returns its standard output.
func execOutput(bin string, args ...string) (string, error) {
	out, err := exec.Command(bin, args...).Output()
	return string(out), err
}
