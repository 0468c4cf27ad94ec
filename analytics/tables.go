package analytics

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"wasp/schemas"
)

// loadTable is a table the loader writes a batch into: the rows it takes,
// their order and its columns.
//
// Rows go in the order of the table's sorting key: ClickHouse sorts every
// block it inserts unless the block is sorted already, and sorting here
// costs a fraction of what it costs the server, where the insert of a
// batch runs on one thread.
type loadTable struct {
	name   string
	insert string // INSERT INTO db.name (columns…)
	cols   []insertColumn
	take   func(r *eventRow) bool // nil: every row
	order  func(a, b *eventRow) int
	// key gives what sorts first in order: whether the row's tenant and
	// number come first, then a number and then a string (see sortRows).
	key func(r *eventRow) (byNumber bool, n int64, s string)
}

// loadTables are the tables of a batch in the order they are written.
// message_lifecycle and alerts are ReplacingMergeTree tables: a row
// written twice (a batch written again after a failure) is one row after
// a merge, and a query by wamid or alert id reads it once. They are
// written before events, whose insert is what marks the batch loaded, so
// that no crash leaves events loaded without their derived rows. The
// aggregating tables (rollups, conversations, dashboard_hour) count what
// they are given, so they are fed by materialized views of events, in the
// same insert.
func loadTables(db string) []*loadTable {
	ts := []*loadTable{
		{name: "message_lifecycle", cols: lifecycleColumns(), take: inLifecycle, order: lifecycleOrder, key: lifecycleKey},
		{name: "alerts", cols: alertColumns(), take: isAlert, order: alertOrder, key: alertKey},
		{name: "events", cols: eventColumns(), order: eventOrder, key: eventKey},
	}
	for _, t := range ts {
		names := make([]string, len(t.cols))
		for i, c := range t.cols {
			names[i] = c.name
		}
		t.insert = fmt.Sprintf("INSERT INTO %s.%s (%s)", db, t.name, strings.Join(names, ", "))
	}
	return ts
}

// insertColumn is one column of an insert: its name and how to build it
// from rows. The slice built is reused by the next build.
type insertColumn struct {
	name  string
	build func(rows []*eventRow, topic string, now int64) any
}

// newColumn makes a column whose values get reads from each row.
func newColumn[T any](name string, get func(r *eventRow, topic string, now int64) T) insertColumn {
	var buf []T
	return insertColumn{name, func(rows []*eventRow, topic string, now int64) any {
		buf = buf[:0]
		for _, r := range rows {
			buf = append(buf, get(r, topic, now))
		}
		return buf
	}}
}

// field makes a column of one of the event's fields.
func field[T any](name string, get func(e *schemas.Event) T) insertColumn {
	return newColumn(name, func(r *eventRow, _ string, _ int64) T { return get(&r.e) })
}

func unixColumn(name string) insertColumn {
	return newColumn(name, func(r *eventRow, _ string, _ int64) int64 { return r.unix })
}

// eventColumns are the columns of the events table (schemas/sql), one per
// field of schemas.Event and where the event came from.
func eventColumns() []insertColumn {
	return []insertColumn{
		field("id", func(e *schemas.Event) string { return e.ID }),
		field("kind", func(e *schemas.Event) string { return e.Kind }),
		unixColumn("time"),
		field("tenant", func(e *schemas.Event) string { return e.Tenant }),
		field("phone_number_id", func(e *schemas.Event) string { return e.PhoneNumberID }),
		field("user", func(e *schemas.Event) string { return e.User }),
		field("wamid", func(e *schemas.Event) string { return e.Wamid }),
		field("command_id", func(e *schemas.Event) string { return e.CommandID }),
		field("message_type", func(e *schemas.Event) string { return e.MessageType }),
		field("origin", func(e *schemas.Event) string { return e.Origin }),
		field("status", func(e *schemas.Event) string { return e.Status }),
		field("error_code", func(e *schemas.Event) int32 { return int32(e.ErrorCode) }),
		field("error_class", func(e *schemas.Event) string { return e.ErrorClass }),
		field("reason", func(e *schemas.Event) string { return e.Reason }),
		field("latency_ms", func(e *schemas.Event) int64 { return e.LatencyMs }),
		field("response_ms", func(e *schemas.Event) int64 { return e.ResponseMs }),
		field("attempt", func(e *schemas.Event) int32 { return int32(e.Attempt) }),
		field("tokens", func(e *schemas.Event) int64 { return int64(e.Tokens) }),
		field("pricing_category", func(e *schemas.Event) string { return e.PricingCategory }),
		field("pricing_type", func(e *schemas.Event) string { return e.PricingType }),
		field("billable", func(e *schemas.Event) uint8 {
			if e.Billable {
				return 1
			}
			return 0
		}),
		newColumn("source_topic", func(_ *eventRow, topic string, _ int64) string { return topic }),
		newColumn("source_partition", func(r *eventRow, _ string, _ int64) int32 { return r.partition }),
		newColumn("source_offset", func(r *eventRow, _ string, _ int64) int64 { return r.offset }),
		newColumn("loaded_at", func(_ *eventRow, _ string, now int64) int64 { return now }),
	}
}

// eventOrder is the events table's ORDER BY (tenant, phone_number_id,
// time, id).
func eventOrder(a, b *eventRow) int {
	return cmp.Or(
		strings.Compare(a.e.Tenant, b.e.Tenant),
		strings.Compare(a.e.PhoneNumberID, b.e.PhoneNumberID),
		cmp.Compare(a.unix, b.unix),
		strings.Compare(a.e.ID, b.e.ID))
}

func eventKey(r *eventRow) (bool, int64, string) { return true, r.unix, r.e.ID }

// inLifecycle: sends with a wamid and statuses are the stages of a
// message.
func inLifecycle(r *eventRow) bool {
	switch r.e.Kind {
	case schemas.EventSendAccepted, schemas.EventSendFailed:
		return r.e.Wamid != ""
	case schemas.EventStatus:
		return r.e.Wamid != "" && r.e.Status != ""
	}
	return false
}

// stage is a lifecycle row's stage: accepted, failed (at send) or the
// status.
func stage(e *schemas.Event) string {
	switch e.Kind {
	case schemas.EventSendAccepted:
		return "accepted"
	case schemas.EventSendFailed:
		return "failed"
	}
	return e.Status
}

func lifecycleColumns() []insertColumn {
	return []insertColumn{
		field("tenant", func(e *schemas.Event) string { return e.Tenant }),
		field("phone_number_id", func(e *schemas.Event) string { return e.PhoneNumberID }),
		field("wamid", func(e *schemas.Event) string { return e.Wamid }),
		field("stage", stage),
		unixColumn("time"),
		field("error_code", func(e *schemas.Event) int32 { return int32(e.ErrorCode) }),
		field("error_class", func(e *schemas.Event) string { return e.ErrorClass }),
	}
}

// lifecycleOrder is message_lifecycle's ORDER BY (tenant,
// phone_number_id, wamid, stage).
func lifecycleOrder(a, b *eventRow) int {
	return cmp.Or(
		strings.Compare(a.e.Tenant, b.e.Tenant),
		strings.Compare(a.e.PhoneNumberID, b.e.PhoneNumberID),
		strings.Compare(a.e.Wamid, b.e.Wamid),
		strings.Compare(stage(&a.e), stage(&b.e)))
}

func lifecycleKey(r *eventRow) (bool, int64, string) { return true, 0, r.e.Wamid }

func isAlert(r *eventRow) bool { return r.e.Kind == schemas.EventAlert }

func alertColumns() []insertColumn {
	return []insertColumn{
		field("id", func(e *schemas.Event) string { return e.ID }),
		unixColumn("time"),
		field("tenant", func(e *schemas.Event) string { return e.Tenant }),
		field("phone_number_id", func(e *schemas.Event) string { return e.PhoneNumberID }),
		field("status", func(e *schemas.Event) string { return e.Status }),
		field("error_code", func(e *schemas.Event) int32 { return int32(e.ErrorCode) }),
		field("error_class", func(e *schemas.Event) string { return e.ErrorClass }),
		field("reason", func(e *schemas.Event) string { return e.Reason }),
	}
}

// alertOrder is alerts' ORDER BY (time, tenant, phone_number_id, id).
func alertOrder(a, b *eventRow) int {
	return cmp.Or(
		cmp.Compare(a.unix, b.unix),
		strings.Compare(a.e.Tenant, b.e.Tenant),
		strings.Compare(a.e.PhoneNumberID, b.e.PhoneNumberID),
		strings.Compare(a.e.ID, b.e.ID))
}

func alertKey(r *eventRow) (bool, int64, string) { return false, r.unix, r.e.Tenant }

// sortKey is what a row sorts by first, as two integers: in an insert of
// a hundred thousand rows, comparing strings through pointers to rows was
// most of the time.
type sortKey struct {
	a, b uint64
	r    *eventRow
}

// ranks returns the rank of each of numbers (by index) in the order of
// tenant, then phone number.
func ranks(numbers []number) []uint64 {
	order := make([]int, len(numbers))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int {
		if c := strings.Compare(numbers[x].tenant, numbers[y].tenant); c != 0 {
			return c
		}
		return strings.Compare(numbers[x].phone, numbers[y].phone)
	})
	rank := make([]uint64, len(numbers))
	for r, i := range order {
		rank[i] = uint64(r)
	}
	return rank
}

// sortRows sorts rows by t.order. Each row gets a key first: a is the
// rank of its (tenant, phone_number_id) in the batch (rank, by the row's
// number), when the table sorts by them first, and the number of t.key;
// b holds the 8 bytes of the string of t.key after the prefix that every
// row's string shares. Rows whose keys are equal are compared by t.order.
func (t *loadTable) sortRows(rows []*eventRow, keys []sortKey, rank []uint64) []sortKey {
	keys = keys[:0]
	if len(rows) == 0 {
		return keys
	}
	byNumber, _, first := t.key(rows[0])
	shared := len(first)
	for _, r := range rows {
		_, _, s := t.key(r)
		shared = min(shared, commonPrefix(first[:shared], s))
	}
	for _, r := range rows {
		_, n, s := t.key(r)
		// n is a DateTime (32 bits) or 0; the rank is below 2^31.
		a := uint64(uint32(n))
		if byNumber {
			a |= rank[r.number] << 32
		}
		var b [8]byte
		copy(b[:], s[shared:])
		keys = append(keys, sortKey{a: a, b: binary.BigEndian.Uint64(b[:]), r: r})
	}
	slices.SortFunc(keys, func(x, y sortKey) int {
		if x.a != y.a {
			return cmp.Compare(x.a, y.a)
		}
		if x.b != y.b {
			return cmp.Compare(x.b, y.b)
		}
		return t.order(x.r, y.r)
	})
	for i := range keys {
		rows[i] = keys[i].r
	}
	return keys
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
