package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"wasp/internal/chtest"
	"wasp/schemas"
	"wasp/stream"
)

// testDB is a migrated database of its own for one test, dropped after it.
type testDB struct {
	addr, name string
	conn       driver.Conn
}

func newTestDB(t testing.TB) *testDB {
	addr := chtest.Addr(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := Connect(ctx, ClientConfig{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, strings.ToLower(t.Name()))
	name = fmt.Sprintf("wasp_test_%.40s_%08x", name, rand.Uint32())
	if _, err := Migrate(ctx, conn, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name)
		conn.Close()
	})
	return &testDB{addr: addr, name: name, conn: conn}
}

// uint64s runs a query and returns its first row's numbers as uint64.
func (db *testDB) uint64s(t testing.TB, query string, args ...any) []uint64 {
	t.Helper()
	query = strings.ReplaceAll(query, "{db}", db.name)
	rows, err := db.conn.Query(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatalf("%s: no row (%v)", query, rows.Err())
	}
	var vals, ptrs []any
	for _, ct := range rows.ColumnTypes() {
		v := reflect.New(ct.ScanType())
		vals, ptrs = append(vals, v), append(ptrs, v.Interface())
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	out := make([]uint64, len(vals))
	for i, v := range vals {
		switch e := v.(reflect.Value).Elem(); {
		case e.CanUint():
			out[i] = e.Uint()
		case e.CanInt():
			out[i] = uint64(e.Int())
		case e.CanFloat():
			out[i] = uint64(e.Float())
		default:
			t.Fatalf("%s: column %d is a %s", query, i, e.Type())
		}
	}
	return out
}

// counts returns the rows of the events table and their distinct ids.
func (db *testDB) counts(t testing.TB) (rows, ids uint64) {
	c := db.uint64s(t, "SELECT count(), uniqExact(id) FROM {db}.events")
	return c[0], c[1]
}

// pollUntil polls cond until it holds or d passes.
func pollUntil(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, d)
		}
	}
}

// waitLoaded waits until the events table holds n rows, then checks that
// it holds exactly n distinct events.
func (db *testDB) waitLoaded(t testing.TB, d time.Duration, n int) {
	t.Helper()
	// Polled with count() alone, which the server answers from its parts'
	// sizes: uniqExact over a million ids would take a core from the
	// inserts being waited for.
	end := time.Now().Add(d)
	for db.uint64s(t, "SELECT count() FROM {db}.events")[0] < uint64(n) && time.Now().Before(end) {
		time.Sleep(50 * time.Millisecond)
	}
	if rows, ids := db.counts(t); rows != uint64(n) || ids != uint64(n) {
		t.Fatalf("events: got %d rows and %d distinct ids; want %d of each", rows, ids, n)
	}
	// The rows are visible before the insert has fed the views.
	pollUntil(t, d, "the inserts to end", func() bool {
		return db.uint64s(t, "SELECT count() FROM system.processes WHERE startsWith(query_id, ?)",
			"wasp-analytics-insert-"+db.name+"-")[0] == 0
	})
}

// openTestLog opens an embedded log in dir with 4 partitions per topic,
// closed after the test and after the loaders that runLoader started
// later.
func openTestLog(t testing.TB, dir string) *stream.Badger {
	l, err := stream.OpenBadger(stream.BadgerConfig{Dir: dir, Topics: stream.Topics{Partitions: 4}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// testStart is the time of the first test event; they come every 1.1 s,
// so that they span two months.
var testStart = time.Date(2026, 1, 31, 22, 0, 0, 0, time.UTC)

// testEvent is the i-th event of a made-up but plausible stream: 2 tenants,
// 3 numbers, 500 customers, every kind.
func testEvent(seed string, i int) schemas.Event {
	number := []string{"106540352242922", "106540352242923", "106540352242924"}[i%3]
	e := schemas.Event{
		ID:            schemas.EventID("test", seed, fmt.Sprint(i)),
		Time:          testStart.Add(time.Duration(i) * 1100 * time.Millisecond),
		Tenant:        map[bool]string{true: "acme", false: "globex"}[i%3 != 2],
		PhoneNumberID: number,
		User:          fmt.Sprintf("52155500%05d", i%500),
		Wamid:         fmt.Sprintf("wamid.%s.%d", seed, i/8),
	}
	switch i % 8 {
	case 0:
		e.Kind, e.MessageType = schemas.EventInbound, "text"
	case 1:
		e.Kind, e.Reason, e.LatencyMs, e.Tokens = schemas.EventBotReply, "greeting", 40, 120
	case 2:
		e.Kind, e.CommandID, e.MessageType, e.Origin = schemas.EventSendAccepted, fmt.Sprint("cmd_", i), "text", "bot"
		e.LatencyMs, e.ResponseMs = 90, 1200
	case 3, 4, 5:
		e.Kind, e.Status = schemas.EventStatus, []string{"sent", "delivered", "read"}[i%8-3]
		e.PricingCategory, e.PricingType, e.Billable = "service", "regular", true
	case 6:
		e.Kind, e.ErrorCode, e.ErrorClass, e.Reason = schemas.EventSendFailed, 131026, "never", "undeliverable"
	case 7:
		e.Kind, e.Reason = schemas.EventHandoff, "keyword"
	}
	return e
}

// appendTestEvents appends events from..to-1 of seed to the events topic.
func appendTestEvents(t testing.TB, l stream.Log, seed string, from, to int) {
	appendTestEventsEvery(t, l, seed, from, to, 0)
}

// appendTestEventsEvery is appendTestEvents with the events step apart
// instead of 1.1 s.
func appendTestEventsEvery(t testing.TB, l stream.Log, seed string, from, to int, step time.Duration) {
	t.Helper()
	var recs []*stream.Record
	flush := func() {
		if err := l.Append(context.Background(), recs...); err != nil {
			t.Fatal(err)
		}
		recs = recs[:0]
	}
	for i := from; i < to; i++ {
		e := testEvent(seed, i)
		if step > 0 {
			e.Time = testStart.Add(time.Duration(i) * step)
		}
		v, _ := json.Marshal(e)
		recs = append(recs, &stream.Record{Topic: schemas.TopicEvents, Key: []byte(e.PhoneNumberID), Value: v})
		if len(recs) == 2000 {
			flush()
		}
	}
	if len(recs) > 0 {
		flush()
	}
}

// runLoader runs a loader until the test ends or stop is called.
func runLoader(t testing.TB, cfg LoaderConfig, l stream.Log) (stop func()) {
	ld, err := NewLoader(cfg, l)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ld.Run(ctx) }()
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("loader: %v", err)
		}
		ld.Close()
	}
	t.Cleanup(stop)
	return stop
}
