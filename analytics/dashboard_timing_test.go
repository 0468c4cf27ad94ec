package analytics

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkDashboardSummary10M answers the dashboard summary from
// ClickHouse over 10 million events (a month of a mid-size deployment:
// 2 tenants, 3 numbers, 200,000 customers, every kind), generated inside
// ClickHouse and fed through every materialized view, and reports the
// latency percentiles of the whole-month summary and of one tenant's day.
//
//	go test -run '^$' -bench DashboardSummary10M -benchtime 20x ./analytics
func BenchmarkDashboardSummary10M(b *testing.B) {
	const n, slice = 10_000_000, 1_000_000
	db := newTestDB(b)
	ctx := context.Background()
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	// In slices: one insert of all would outlast the client's read timeout.
	for off := 0; off < n; off += slice {
		insertGenerated(b, db, start, off, slice)
	}
	src, err := NewClickHouseSource(db.conn, db.name)
	if err != nil {
		b.Fatal(err)
	}
	month := Period{From: start, To: start.Add(30 * 24 * time.Hour)}
	day := Period{Tenant: "acme", From: month.To.Add(-48 * time.Hour), To: month.To.Add(-24 * time.Hour)}
	for _, c := range []struct {
		name string
		p    Period
	}{{"month", month}, {"tenant-day", day}} {
		b.Run(c.name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				t0 := time.Now()
				s, err := src.Summary(ctx, c.p)
				if err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(t0))
				if s.MessagesIn == 0 {
					b.Fatal("no messages in the summary")
				}
			}
			slices.Sort(took)
			q := func(f float64) float64 {
				return float64(took[min(len(took)-1, int(f*float64(len(took))))].Microseconds()) / 1000
			}
			b.ReportMetric(q(0.5), "p50-ms")
			b.ReportMetric(q(0.95), "p95-ms")
		})
	}
}

// insertGenerated inserts events off … off+count-1 of the benchmark's
// month, made by ClickHouse: four a second, every kind.
func insertGenerated(b *testing.B, db *testDB, start time.Time, off, count int) {
	err := db.conn.Exec(context.Background(), fmt.Sprintf(`INSERT INTO %s.events (id, kind, time, tenant,
		phone_number_id, user, wamid, command_id, message_type, origin, status, error_code, error_class, reason,
		latency_ms, response_ms, attempt, tokens, pricing_category, pricing_type, billable, source_topic,
		source_partition, source_offset, loaded_at)
	SELECT concat('evt_', toString(number)),
		['inbound','status','status','status','send_accepted','send_accepted','bot_reply','handoff','send_failed','throttled'][number %% 10 + 1] AS k,
		toDateTime(%d + intDiv(number, 4)),
		['acme','globex'][intHash32(number) %% 2 + 1],
		toString(106540352242922 + intHash32(number) %% 3),
		toString(intHash32(number * 7) %% 200000),
		concat('wamid.', toString(number)), '',
		if(k = 'send_accepted' AND intHash32(number) %% 2 = 0, 'read', 'text'), 'bot',
		if(k = 'status', ['sent','delivered','read'][intHash32(number) %% 3 + 1], ''),
		if(k = 'send_failed', 131026, 0), '', '', 120,
		if(k = 'send_accepted', intHash32(number) %% 5000, 0), 1,
		if(k = 'bot_reply', 150, 0), if(k = 'status', 'utility', ''), '', k = 'status',
		'wa.events', number %% 8, intDiv(number, 8), now()
	FROM numbers(%d, %d)`, db.name, start.Unix(), off, count))
	if err != nil {
		b.Fatal(err)
	}
}
