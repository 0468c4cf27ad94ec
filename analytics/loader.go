package analytics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/VictoriaMetrics/metrics"

	"wasp/schemas"
	"wasp/stream"
)

// LoaderConfig configures the loader. The zero value works apart from Addr.
type LoaderConfig struct {
	// Addr is ClickHouse's native host:port.
	Addr string
	// Username and Password; empty means the default user without one.
	Username, Password string
	// Database holds the schema (see Migrate). Empty means "wasp".
	Database string
	// Topic is read; empty means schemas.TopicEvents.
	Topic string
	// Group is the consumer group; empty means "wasp-analytics".
	Group string
	// BatchRows caps the records of one insert. Zero means 100,000.
	BatchRows int
	// BatchDelay is how long a batch waits for more records after its
	// first. Zero means a second.
	BatchDelay time.Duration
	// Logger receives warnings, throttled; nil means none.
	Logger *slog.Logger
}

// Loader is the analytics stage: it loads the events topic into the
// events table of ClickHouse, each record once.
//
// Records are fetched and decoded into a batch while the previous batch
// is inserted (never more than one batch ahead), and a batch is inserted
// column by column in one INSERT. Every row carries its source partition
// and offset: before its first insert, and again after any failed one, the
// loader waits for its inserts still running on the server, reads the
// highest offset loaded per partition and drops the records at or below
// it. The log's committed offsets only save rereading; ClickHouse is the
// truth. A failed insert is retried, the same batch with backoff, until
// it succeeds or Run ends, so while ClickHouse is down the events wait in
// the log. A record that is not an event is counted and skipped.
type Loader struct {
	cfg    LoaderConfig
	log    stream.Log
	conn   driver.Conn
	insert string // the INSERT with its column names
	cols   []insertColumn
	logger *slog.Logger
	warned time.Time // when a failure was last logged
}

var (
	loadedRows    = metrics.NewCounter(`wasp_analytics_rows_loaded_total`)
	loadedBatches = metrics.NewCounter(`wasp_analytics_batches_total`)
	insertSecs    = metrics.NewHistogram(`wasp_analytics_insert_duration_seconds`)
	insertErrors  = metrics.NewCounter(`wasp_analytics_insert_errors_total`)
	malformed     = metrics.NewCounter(`wasp_analytics_malformed_events_total`)
	alreadyLoaded = metrics.NewCounter(`wasp_analytics_already_loaded_events_total`)
)

// NewLoader checks cfg and prepares a loader of log; nothing is dialled
// before Run or Ping.
func NewLoader(cfg LoaderConfig, log stream.Log) (*Loader, error) {
	if cfg.Database == "" {
		cfg.Database = "wasp"
	}
	if cfg.Topic == "" {
		cfg.Topic = schemas.TopicEvents
	}
	if cfg.Group == "" {
		cfg.Group = "wasp-analytics"
	}
	if cfg.BatchRows <= 0 {
		cfg.BatchRows = 100_000
	}
	if cfg.BatchDelay <= 0 {
		cfg.BatchDelay = time.Second
	}
	if log == nil {
		return nil, errors.New("cannot start the analytics loader: no log")
	}
	if err := checkDatabase(cfg.Database); err != nil {
		return nil, fmt.Errorf("cannot start the analytics loader: %w", err)
	}
	conn, err := openClient(ClientConfig{Addr: cfg.Addr, Username: cfg.Username, Password: cfg.Password})
	if err != nil {
		return nil, fmt.Errorf("cannot start the analytics loader: %w", err)
	}
	l := &Loader{cfg: cfg, log: log, conn: conn, cols: eventColumns(), logger: cfg.Logger}
	if l.logger == nil {
		l.logger = slog.New(slog.DiscardHandler)
	}
	names := make([]string, len(l.cols))
	for i, c := range l.cols {
		names[i] = c.name
	}
	l.insert = fmt.Sprintf("INSERT INTO %s.events (%s)", cfg.Database, strings.Join(names, ", "))
	return l, nil
}

// Ping reports whether ClickHouse answers, for /readyz.
func (l *Loader) Ping(ctx context.Context) error {
	if err := l.conn.Ping(ctx); err != nil {
		return fmt.Errorf("cannot reach ClickHouse at %s: %w", l.cfg.Addr, err)
	}
	return nil
}

// Close releases the client; call it after Run returned.
func (l *Loader) Close() error { return l.conn.Close() }

// Run loads until ctx ends (then it returns nil) or the log fails. What
// was fetched and not inserted is fetched again by the next Run. One Run
// at a time.
func (l *Loader) Run(ctx context.Context) error {
	c, err := l.log.Consume(l.cfg.Group, l.cfg.Topic)
	if err != nil {
		return fmt.Errorf("cannot consume %s: %w", l.cfg.Topic, err)
	}
	defer c.Close()
	// Two batches: one filled while the other is inserted.
	free, full := make(chan *loadBatch, 2), make(chan *loadBatch)
	free <- &loadBatch{}
	free <- &loadBatch{}
	failed := make(chan error, 1)
	var wg sync.WaitGroup
	defer wg.Wait() // the filler is done with c before c.Close
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() { failed <- l.fill(ctx, c, free, full) })

	var loaded map[int32]int64 // highest offset in ClickHouse per partition; nil: to be read
	for {
		var b *loadBatch
		select {
		case b = <-full:
		case err := <-failed:
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for attempt := 0; ; attempt++ {
			if attempt > 0 && !sleepCtx(ctx, retryBackoff(attempt)) {
				return nil
			}
			if loaded == nil {
				if loaded, err = l.loadedOffsets(ctx); err != nil {
					l.failing(ctx, "cannot read what ClickHouse holds; retrying", err)
					continue
				}
			}
			b.dropLoaded(loaded)
			if err = l.load(ctx, b); err != nil {
				// It may have landed all the same (the answer was lost):
				// ask ClickHouse again before the retry.
				loaded = nil
				insertErrors.Inc()
				l.failing(ctx, "cannot insert events into ClickHouse; retrying the same batch", err)
				continue
			}
			break
		}
		if !l.warned.IsZero() {
			l.logger.Info("inserting events into ClickHouse again")
			l.warned = time.Time{}
		}
		for p, off := range b.last {
			loaded[p] = max(loaded[p], off)
		}
		if err := c.Commit(ctx, b.commits(l.cfg.Topic)...); err != nil && ctx.Err() == nil {
			// The next commit covers it; ClickHouse holds the truth.
			l.logger.Warn("cannot commit the loaded offsets", "err", err)
		}
		b.reset()
		free <- b
	}
}

// failing logs a failure at most once a minute.
func (l *Loader) failing(ctx context.Context, msg string, err error) {
	if ctx.Err() != nil || time.Since(l.warned) < time.Minute {
		return
	}
	l.warned = time.Now()
	l.logger.Warn(msg, "addr", l.cfg.Addr, "database", l.cfg.Database, "err", err)
}

// fill fetches records into batches and hands each to full when it holds
// BatchRows records or BatchDelay passed since its first record.
func (l *Loader) fill(ctx context.Context, c stream.Consumer, free <-chan *loadBatch, full chan<- *loadBatch) error {
	var lastBad time.Time
	for {
		var b *loadBatch
		select {
		case b = <-free:
		case <-ctx.Done():
			return ctx.Err()
		}
		var deadline time.Time
		for b.records < l.cfg.BatchRows {
			fctx, cancel := ctx, context.CancelFunc(func() {})
			if b.records > 0 {
				fctx, cancel = context.WithDeadline(ctx, deadline)
			}
			recs, err := c.Fetch(fctx, l.cfg.BatchRows-b.records)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if b.records > 0 && errors.Is(err, context.DeadlineExceeded) {
					break
				}
				return fmt.Errorf("cannot fetch %s: %w", l.cfg.Topic, err)
			}
			if b.records == 0 {
				deadline = time.Now().Add(l.cfg.BatchDelay)
			}
			for _, r := range recs {
				if err := b.add(r, l.cfg.BatchRows); err != nil {
					malformed.Inc()
					if time.Since(lastBad) > time.Minute {
						lastBad = time.Now()
						// The error's type only: its text may quote the record.
						l.logger.Warn("skipping records that are not events", "topic", r.Topic,
							"partition", r.Partition, "offset", r.Offset, "error", fmt.Sprintf("%T", err))
					}
				}
			}
			if !time.Now().Before(deadline) {
				break
			}
		}
		select {
		case full <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// loadedOffsets waits until no insert of a loader is running on the
// server for this database (one cut off by a crash or a lost connection
// may still land), then returns the highest offset loaded per partition.
func (l *Loader) loadedOffsets(ctx context.Context) (map[int32]int64, error) {
	for start := time.Now(); ; {
		var running uint64
		q := "SELECT count() FROM system.processes WHERE startsWith(query_id, ?)"
		if err := l.conn.QueryRow(ctx, q, l.queryIDPrefix()).Scan(&running); err != nil {
			return nil, fmt.Errorf("cannot list the inserts running: %w", err)
		}
		if running == 0 {
			break
		}
		if time.Since(start) > time.Minute {
			l.logger.Warn("inserts of another loader keep running; reading the offsets anyway", "database", l.cfg.Database)
			break
		}
		if !sleepCtx(ctx, 50*time.Millisecond) {
			return nil, ctx.Err()
		}
	}
	q := fmt.Sprintf("SELECT source_partition, max(source_offset) FROM %s.events WHERE source_topic = ? GROUP BY source_partition", l.cfg.Database)
	rows, err := l.conn.Query(ctx, q, l.cfg.Topic)
	if err != nil {
		return nil, fmt.Errorf("cannot read the offsets loaded: %w", err)
	}
	defer rows.Close()
	loaded := map[int32]int64{}
	for rows.Next() {
		var p int32
		var off int64
		if err := rows.Scan(&p, &off); err != nil {
			return nil, fmt.Errorf("cannot read the offsets loaded: %w", err)
		}
		loaded[p] = off
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot read the offsets loaded: %w", err)
	}
	return loaded, nil
}

// blockRows is the size of the blocks an insert is sent in.
const blockRows = 16 << 10

// queryIDPrefix starts the query id of every insert of a loader into
// this database.
func (l *Loader) queryIDPrefix() string { return "wasp-analytics-insert-" + l.cfg.Database + "-" }

// load inserts b's rows in one INSERT, column by column.
func (l *Loader) load(ctx context.Context, b *loadBatch) error {
	if len(b.rows) == 0 {
		return nil
	}
	start := time.Now()
	qid := fmt.Sprintf("%s%d", l.queryIDPrefix(), start.UnixNano())
	ins, err := l.conn.PrepareBatch(clickhouse.Context(ctx, clickhouse.WithQueryID(qid)), l.insert)
	if err != nil {
		return fmt.Errorf("cannot prepare the insert: %w", err)
	}
	defer ins.Abort()
	now := start.Unix()
	// Blocks of blockRows: the client reuses the columns' memory from one
	// block to the next, and the server squashes them into one part.
	for lo := 0; lo < len(b.rows); lo += blockRows {
		if lo > 0 {
			if err := ins.Flush(); err != nil {
				return fmt.Errorf("cannot send a block: %w", err)
			}
		}
		rows := b.rows[lo:min(lo+blockRows, len(b.rows))]
		for i, c := range l.cols {
			if err := ins.Column(i).Append(c.build(rows, l.cfg.Topic, now)); err != nil {
				return fmt.Errorf("cannot append column %s: %w", c.name, err)
			}
		}
	}
	if err := ins.Send(); err != nil {
		return fmt.Errorf("cannot send the insert: %w", err)
	}
	insertSecs.UpdateDuration(start)
	loadedRows.Add(len(b.rows))
	loadedBatches.Inc()
	return nil
}

// loadBatch is the records of one insert.
type loadBatch struct {
	rows    []eventRow
	records int             // records fetched, events or not
	last    map[int32]int64 // highest offset fetched per partition
}

// eventRow is an event and where it came from.
type eventRow struct {
	e         schemas.Event
	unix      int64 // e.Time, else the record's time, in DateTime's range
	partition int32
	offset    int64
}

// add decodes r into a row, which keeps pointing into r.Value. The first
// add sizes the batch for capacity rows.
func (b *loadBatch) add(r *stream.Record, capacity int) error {
	if b.last == nil {
		b.last = map[int32]int64{}
		b.rows = make([]eventRow, 0, min(capacity, 1<<20))
	}
	b.records++
	b.last[r.Partition] = r.Offset
	b.rows = append(b.rows, eventRow{partition: r.Partition, offset: r.Offset})
	row := &b.rows[len(b.rows)-1]
	if err := decodeEvent(r.Value, &row.e); err != nil {
		b.rows = b.rows[:len(b.rows)-1]
		return err
	}
	t := row.e.Time
	if t.IsZero() {
		t = r.Time
	}
	row.unix = min(max(t.Unix(), 0), math.MaxUint32)
	return nil
}

// dropLoaded removes the rows at or below the offsets already loaded.
func (b *loadBatch) dropLoaded(loaded map[int32]int64) {
	n := len(b.rows)
	b.rows = deleteRows(b.rows, func(r *eventRow) bool {
		off, ok := loaded[r.partition]
		return ok && r.offset <= off
	})
	alreadyLoaded.Add(n - len(b.rows))
}

func deleteRows(rows []eventRow, del func(*eventRow) bool) []eventRow {
	j := 0
	for i := range rows {
		if !del(&rows[i]) {
			if i != j {
				rows[j] = rows[i]
			}
			j++
		}
	}
	clear(rows[j:])
	return rows[:j]
}

// commits are the offsets to commit once b is loaded.
func (b *loadBatch) commits(topic string) []stream.Offset {
	var offs []stream.Offset
	for p, off := range b.last {
		offs = append(offs, stream.Offset{Topic: topic, Partition: p, Next: off + 1})
	}
	return offs
}

func (b *loadBatch) reset() {
	clear(b.rows)
	b.rows, b.records = b.rows[:0], 0
	clear(b.last)
}

// insertColumn is one column of the events insert: its name and how to
// build it from rows. The slice built is reused by the next build.
type insertColumn struct {
	name  string
	build func(rows []eventRow, topic string, now int64) any
}

// newColumn makes a column whose values get reads from each row.
func newColumn[T any](name string, get func(r *eventRow, topic string, now int64) T) insertColumn {
	var buf []T
	return insertColumn{name, func(rows []eventRow, topic string, now int64) any {
		buf = buf[:0]
		for i := range rows {
			buf = append(buf, get(&rows[i], topic, now))
		}
		return buf
	}}
}

// eventColumns are the columns of the events table (schemas/sql), one per
// field of schemas.Event and where the event came from.
func eventColumns() []insertColumn {
	s := func(name string, get func(e *schemas.Event) string) insertColumn {
		return newColumn(name, func(r *eventRow, _ string, _ int64) string { return get(&r.e) })
	}
	return []insertColumn{
		s("id", func(e *schemas.Event) string { return e.ID }),
		s("kind", func(e *schemas.Event) string { return e.Kind }),
		newColumn("time", func(r *eventRow, _ string, _ int64) int64 { return r.unix }),
		s("tenant", func(e *schemas.Event) string { return e.Tenant }),
		s("phone_number_id", func(e *schemas.Event) string { return e.PhoneNumberID }),
		s("user", func(e *schemas.Event) string { return e.User }),
		s("wamid", func(e *schemas.Event) string { return e.Wamid }),
		s("command_id", func(e *schemas.Event) string { return e.CommandID }),
		s("message_type", func(e *schemas.Event) string { return e.MessageType }),
		s("origin", func(e *schemas.Event) string { return e.Origin }),
		s("status", func(e *schemas.Event) string { return e.Status }),
		newColumn("error_code", func(r *eventRow, _ string, _ int64) int32 { return int32(r.e.ErrorCode) }),
		s("error_class", func(e *schemas.Event) string { return e.ErrorClass }),
		s("reason", func(e *schemas.Event) string { return e.Reason }),
		newColumn("latency_ms", func(r *eventRow, _ string, _ int64) int64 { return r.e.LatencyMs }),
		newColumn("response_ms", func(r *eventRow, _ string, _ int64) int64 { return r.e.ResponseMs }),
		newColumn("attempt", func(r *eventRow, _ string, _ int64) int32 { return int32(r.e.Attempt) }),
		newColumn("tokens", func(r *eventRow, _ string, _ int64) int64 { return int64(r.e.Tokens) }),
		s("pricing_category", func(e *schemas.Event) string { return e.PricingCategory }),
		s("pricing_type", func(e *schemas.Event) string { return e.PricingType }),
		newColumn("billable", func(r *eventRow, _ string, _ int64) uint8 {
			if r.e.Billable {
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

// retryBackoff is the wait before retry attempt n: 200 ms doubling to 5 s.
func retryBackoff(n int) time.Duration {
	return min(200*time.Millisecond<<min(n-1, 5), 5*time.Second)
}

// sleepCtx waits d or until ctx ends; false means ctx ended.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
