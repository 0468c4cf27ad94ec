package analytics

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"wasp/schemas"
)

// TestSortRows: each table's rows come out in the order of its sorting
// key (what ClickHouse would sort them into), on rows made to tie: a few
// tenants and numbers, few distinct seconds, ids and wamids that share
// long prefixes or are prefixes of each other.
func TestSortRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	b := &loadBatch{}
	for i := range 5000 {
		e := schemas.Event{
			ID:            pick("evt_", "evt_a", "evt_ab") + fmt.Sprint(rng.IntN(300)),
			Kind:          pick(schemas.EventInbound, schemas.EventSendAccepted, schemas.EventSendFailed, schemas.EventStatus, schemas.EventAlert),
			Tenant:        pick("acme", "acm", "globex", ""),
			PhoneNumberID: pick("106540352242922", "10654035224292", "2"),
			Wamid:         pick("wamid.HBgNNTIx", "wamid.HBgNNTIxNTU1", "") + fmt.Sprint(rng.IntN(50)),
			Status:        pick("sent", "delivered", "read", "failed", ""),
		}
		b.rows = append(b.rows, eventRow{e: e, unix: int64(1764000000 + rng.IntN(3)), offset: int64(i)})
		b.rows[i].number = b.numberOf(&b.rows[i].e)
	}
	tables := loadTables("db")
	b.sort(tables)
	for i, tb := range tables {
		got := b.sorted[i]
		if len(got) == 0 {
			t.Fatalf("%s: no rows", tb.name)
		}
		want := slices.Clone(got)
		slices.SortStableFunc(want, tb.order)
		for j := range got {
			if tb.order(got[j], want[j]) != 0 {
				t.Fatalf("%s: row %d is %+v; want %+v", tb.name, j, got[j].e, want[j].e)
			}
		}
		for _, r := range got {
			if tb.take != nil && !tb.take(r) {
				t.Fatalf("%s takes a row it should not: %+v", tb.name, r.e)
			}
		}
	}
	if n := len(b.sorted[len(tables)-1]); n != len(b.rows) {
		t.Fatalf("events: %d rows; want all %d", n, len(b.rows))
	}
}
