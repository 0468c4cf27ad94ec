package analytics

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"wasp/internal/chtest"
	"wasp/schemas"
	"wasp/stream"
)

// TestLoaderExactlyOnce: N events land once; a loader of another group,
// which reads the whole topic again, adds only what is new.
func TestLoaderExactlyOnce(t *testing.T) {
	db := newTestDB(t)
	l := openTestLog(t, t.TempDir())
	const n = 30_000
	appendTestEvents(t, l, "once", 0, n)
	cfg := LoaderConfig{Addr: db.addr, Database: db.name, BatchRows: 7000, BatchDelay: 20 * time.Millisecond}
	stop := runLoader(t, cfg, l)
	db.waitLoaded(t, time.Minute, n)
	stop()

	cfg.Group = "another"
	stop = runLoader(t, cfg, l)
	appendTestEvents(t, l, "once", n, n+100)
	db.waitLoaded(t, time.Minute, n+100)
	stop()
}

// TestLoaderMalformed: records that are not events are skipped and
// counted; the events around them load.
func TestLoaderMalformed(t *testing.T) {
	db := newTestDB(t)
	l := openTestLog(t, t.TempDir())
	before := malformed.Get()
	appendTestEvents(t, l, "bad", 0, 100)
	bad := []*stream.Record{
		{Topic: schemas.TopicEvents, Key: []byte("1"), Value: []byte("not json")},
		{Topic: schemas.TopicEvents, Key: []byte("2"), Value: []byte(`{"id":1}`)},
		{Topic: schemas.TopicEvents, Key: []byte("3"), Value: nil},
	}
	if err := l.Append(context.Background(), bad...); err != nil {
		t.Fatal(err)
	}
	appendTestEvents(t, l, "bad", 100, 200)
	runLoader(t, LoaderConfig{Addr: db.addr, Database: db.name, BatchDelay: 10 * time.Millisecond}, l)
	db.waitLoaded(t, time.Minute, 200)
	if got := malformed.Get() - before; got != 3 {
		t.Errorf("malformed events counted: %d; want 3", got)
	}
}

// TestRollups: the materialized views count what the events say.
func TestRollups(t *testing.T) {
	db := newTestDB(t)
	l := openTestLog(t, t.TempDir())
	const n = 8000 // from 22:00 on 31 January to 00:26 on 1 February
	appendTestEvents(t, l, "roll", 0, n)
	events := []schemas.Event{
		{ID: "a1", Kind: schemas.EventAlert, Time: testStart, Tenant: "acme", PhoneNumberID: "106540352242922", ErrorCode: 190, Reason: "token expired"},
		{ID: "a2", Kind: schemas.EventAlert, Time: testStart, Tenant: "acme", PhoneNumberID: "106540352242923", ErrorCode: 368, Reason: "restricted"},
		{ID: "f1", Kind: schemas.EventStatus, Time: testStart, Tenant: "acme", PhoneNumberID: "106540352242922", Wamid: "wamid.failed", Status: "failed", ErrorCode: 131026},
	}
	for _, e := range events {
		v, _ := json.Marshal(e)
		if err := l.Append(context.Background(), &stream.Record{Topic: schemas.TopicEvents, Key: []byte(e.PhoneNumberID), Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	runLoader(t, LoaderConfig{Addr: db.addr, Database: db.name, BatchRows: 3000, BatchDelay: 10 * time.Millisecond}, l)
	for i := range n {
		events = append(events, testEvent("roll", i))
	}
	db.waitLoaded(t, time.Minute, len(events))

	// What the views must say, counted here.
	var (
		byKind             = map[string]uint64{}
		acme, tokens, bill uint64
		users, minutes     = map[string]bool{}, map[string]bool{}
		hours, days        = map[time.Time]bool{}, map[time.Time]bool{}
		wamids, stages     = map[string]bool{}, map[string]bool{}
		failedCoded        uint64
		convs              = map[string]*[3]uint64{} // inbound, outbound, handoffs
	)
	for _, e := range events {
		byKind[e.Kind]++
		if e.Tenant == "acme" {
			acme++
		}
		tokens += uint64(e.Tokens)
		if e.Billable && e.Status == "delivered" {
			bill++
		}
		if e.User != "" {
			users[e.User] = true
			k := e.Tenant + "/" + e.PhoneNumberID + "/" + e.User
			if convs[k] == nil {
				convs[k] = new([3]uint64)
			}
			switch {
			case e.Kind == schemas.EventInbound:
				convs[k][0]++
			case e.Kind == schemas.EventSendAccepted && e.MessageType != "read":
				convs[k][1]++
			case e.Kind == schemas.EventHandoff:
				convs[k][2]++
			}
		}
		minutes[e.Tenant+"/"+e.PhoneNumberID+"/"+e.Time.Truncate(time.Minute).String()] = true
		hours[e.Time.Truncate(time.Hour)], days[e.Time.Truncate(24*time.Hour)] = true, true
		stage := map[string]string{schemas.EventSendAccepted: "accepted", schemas.EventSendFailed: "failed", schemas.EventStatus: e.Status}[e.Kind]
		if stage != "" {
			wamids[e.Wamid], stages[e.Wamid+"/"+stage] = true, true
			if stage == "failed" && e.ErrorCode == 131026 {
				failedCoded++
			}
		}
	}
	var convIn, convOut, convHand uint64
	for _, c := range convs {
		convIn, convOut, convHand = convIn+c[0], convOut+c[1], convHand+c[2]
	}

	f := func(query string, want ...uint64) {
		t.Helper()
		if got := db.uint64s(t, query); !slices.Equal(got, want) {
			t.Errorf("%s:\ngot  %v\nwant %v", query, got, want)
		}
	}
	for _, r := range []string{"rollup_minute", "rollup_hour", "rollup_day"} {
		f(`SELECT countMerge(event_count), countMergeIf(event_count, kind = 'inbound'),
			countMergeIf(event_count, kind = 'status' AND status = 'delivered'),
			countMergeIf(event_count, tenant = 'acme'), uniqIfMerge(user_count),
			sumMerge(tokens_sum), sumMerge(billable_count),
			quantilesIfMergeIf(0.5, 0.9, 0.99)(response_ms_quantiles, kind = 'send_accepted')[3]
			FROM {db}.`+r, uint64(len(events)), byKind[schemas.EventInbound], uint64(n/8), acme,
			uint64(len(users)), tokens, bill, 1200)
	}
	f("SELECT count() FROM (SELECT DISTINCT tenant, phone_number_id, t FROM {db}.rollup_minute)", uint64(len(minutes)))
	f("SELECT uniqExact(t) FROM {db}.rollup_hour", uint64(len(hours)))
	f("SELECT uniqExact(t) FROM {db}.rollup_day", uint64(len(days)))

	// Per message, each stage once, with its time.
	f(`SELECT uniqExact(wamid), count(), countIf(stage = 'failed' AND error_code = 131026)
		FROM {db}.message_lifecycle FINAL`, uint64(len(wamids)), uint64(len(stages)), failedCoded)
	sent, read := testEvent("roll", 8*7+3), testEvent("roll", 8*7+5)
	f(`SELECT toUInt64(maxIf(time, stage = 'sent')), toUInt64(maxIf(time, stage = 'read'))
		FROM {db}.message_lifecycle WHERE wamid = '`+sent.Wamid+`'`, uint64(sent.Time.Unix()), uint64(read.Time.Unix()))

	f(`SELECT count(), sum(i), sum(o), sum(h) FROM (SELECT sumMerge(inbound) AS i, sumMerge(outbound) AS o,
		sumMerge(handoffs) AS h FROM {db}.conversations GROUP BY tenant, phone_number_id, user)`,
		uint64(len(convs)), convIn, convOut, convHand)

	f("SELECT count(), countIf(error_code = 190) FROM {db}.alerts", 2, 1)
	f("SELECT sum(inbound), sum(statuses), sum(failed_statuses) FROM {db}.webhook_deliveries",
		byKind[schemas.EventInbound], byKind[schemas.EventStatus], 1)
}

// TestLoaderSIGKILL kills loader processes in the middle of loading, one
// of them while its insert runs on the server, then lets a last one
// finish: every event is there once, in the events and in the rollups.
func TestLoaderSIGKILL(t *testing.T) {
	db := newTestDB(t)
	dir := t.TempDir()
	l := openTestLog(t, dir)
	const n = 60_000
	appendTestEvents(t, l, "kill", 0, n)
	l.Close()

	start := func() (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestLoaderChild$", "-test.v")
		cmd.Env = append(os.Environ(), "WASP_TEST_LOADER_LOG="+dir, "WASP_TEST_LOADER_DB="+db.name,
			"WASP_TEST_CLICKHOUSE_ADDR="+db.addr)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &out
	}
	rows := func() uint64 { r, _ := db.counts(t); return r }
	inserting := func() bool {
		return db.uint64s(t, "SELECT count() FROM system.processes WHERE startsWith(query_id, ?)",
			"wasp-analytics-insert-"+db.name+"-")[0] > 0
	}
	for kill := range 4 {
		before := rows()
		cmd, out := start()
		if kill == 0 {
			pollUntil(t, time.Minute, "an insert running", inserting)
		} else {
			pollUntil(t, time.Minute, "progress", func() bool { return rows() > before })
			time.Sleep(rand.N(40 * time.Millisecond))
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if r := rows(); r >= n {
			t.Logf("kill %d came after the last insert; output:\n%s", kill, out)
			break
		}
	}
	cmd, out := start()
	defer func() {
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if t.Failed() {
			t.Logf("last loader's output:\n%s", out)
		}
	}()
	db.waitLoaded(t, time.Minute, n)
	if got := db.uint64s(t, "SELECT countMerge(event_count) FROM {db}.rollup_minute")[0]; got != n {
		t.Errorf("rollup_minute counts %d events; want %d", got, n)
	}
}

// TestLoaderChild is the loader process of TestLoaderSIGKILL.
func TestLoaderChild(t *testing.T) {
	dir := os.Getenv("WASP_TEST_LOADER_LOG")
	if dir == "" {
		t.Skip("a loader process that TestLoaderSIGKILL starts")
	}
	l := openTestLog(t, dir)
	ld, err := NewLoader(LoaderConfig{Addr: chtest.Addr(t), Database: os.Getenv("WASP_TEST_LOADER_DB"),
		BatchRows: 3000, BatchDelay: 10 * time.Millisecond}, l)
	if err != nil {
		t.Fatal(err)
	}
	t.Fatal(ld.Run(context.Background())) // until killed
}

// TestLoaderClickHouseDown: the loader starts while ClickHouse cannot be
// reached, loads once it can, loses it again in the middle of inserts,
// and catches up after; events arrive all along. Every event arrives,
// none twice.
func TestLoaderClickHouseDown(t *testing.T) {
	db := newTestDB(t)
	l := openTestLog(t, t.TempDir())
	p := newProxy(t, db.addr) // down
	const n = 30_000
	var traffic sync.WaitGroup
	traffic.Go(func() {
		for i := 0; i < n; i += 100 {
			appendTestEvents(t, l, "down", i, i+100)
			time.Sleep(10 * time.Millisecond) // 10,000 events/s for 3 s
		}
	})
	ld, err := NewLoader(LoaderConfig{Addr: p.addr, Database: db.name, BatchRows: 2000, BatchDelay: 20 * time.Millisecond}, l)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ld.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		ld.Close()
	}()
	ping := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return ld.Ping(ctx)
	}

	time.Sleep(500 * time.Millisecond)
	if err := ping(); err == nil {
		t.Error("Ping answered while ClickHouse could not be reached")
	}
	p.up(t)
	pollUntil(t, time.Minute, "loading", func() bool { r, _ := db.counts(t); return r > 0 })
	if err := ping(); err != nil {
		t.Errorf("Ping: %v", err)
	}
	p.down() // connections cut, perhaps in the middle of an insert
	time.Sleep(time.Second)
	p.up(t)
	traffic.Wait()
	db.waitLoaded(t, time.Minute, n)
}

// proxy forwards TCP connections to target while it is up; down closes
// the listener and cuts every connection.
type proxy struct {
	target, addr string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]bool
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{target: target, addr: ln.Addr().String(), conns: map[net.Conn]bool{}}
	ln.Close()
	t.Cleanup(p.down)
	return p
}

func (p *proxy) up(t *testing.T) {
	var ln net.Listener
	var err error
	pollUntil(t, 5*time.Second, "listening on "+p.addr, func() bool {
		ln, err = net.Listen("tcp", p.addr)
		return err == nil
	})
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[s] = true, true
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
}

func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}
