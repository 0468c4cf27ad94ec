package analytics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
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
// events table of ClickHouse, each record once, and the rows derived from
// them into message_lifecycle and alerts (see loadTables).
//
// Records are fetched, decoded and sorted into a batch while the previous
// batch is inserted (never more than one batch ahead), and a batch is
// inserted column by column in one INSERT per table. Every event carries
// its source partition and offset: before its first insert, and again
// after any failed one, the loader waits for its inserts still running
// on the server, reads the highest offset loaded per partition and drops
// the records at or below it. The log's committed offsets only save
// rereading; ClickHouse is the truth. A failed insert is retried, the same
// batch with backoff, until it succeeds or Run ends, so while ClickHouse
// is down the events wait in the log. A record that is not an event is
// counted and skipped.
type Loader struct {
	cfg    LoaderConfig
	log    stream.Log
	conn   driver.Conn
	tables []*loadTable
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
	l := &Loader{cfg: cfg, log: log, conn: conn, tables: loadTables(cfg.Database), logger: cfg.Logger}
	if l.logger == nil {
		l.logger = slog.New(slog.DiscardHandler)
	}
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
			b.dropLoaded(loaded, l.tables)
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
		b.sort(l.tables)
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

// insertSettings run the materialized views of events (five, in
// schemas/sql) side by side, a thread each, instead of one after the
// other on the insert's thread. max_threads bounds those threads; its
// default, the server's physical cores, is 1 on a small virtual machine.
// With the loader and the server sharing 2 cores, inserts alone went from
// 257,000–269,000 to 268,000–294,000 rows/s; a server with cores of its
// own gains more.
var insertSettings = clickhouse.Settings{"parallel_view_processing": 1, "max_threads": 5}

// blockRows is the size of the blocks an insert is sent in.
const blockRows = 4 << 10

// queryIDPrefix starts the query id of every insert of a loader into
// this database.
func (l *Loader) queryIDPrefix() string { return "wasp-analytics-insert-" + l.cfg.Database + "-" }

// load writes b's rows into each table of the loader, events last, each
// table in one INSERT.
func (l *Loader) load(ctx context.Context, b *loadBatch) error {
	b.sort(l.tables)
	if b.events() == 0 {
		return nil
	}
	start := time.Now()
	for i, t := range l.tables {
		if err := l.insertRows(ctx, t, b.sorted[i], start); err != nil {
			return err
		}
	}
	insertSecs.UpdateDuration(start)
	loadedRows.Add(b.events())
	loadedBatches.Inc()
	return nil
}

// insertRows inserts rows into t in one INSERT, column by column.
func (l *Loader) insertRows(ctx context.Context, t *loadTable, rows []*eventRow, start time.Time) error {
	if len(rows) == 0 {
		return nil
	}
	qid := fmt.Sprintf("%s%d-%s", l.queryIDPrefix(), time.Now().UnixNano(), t.name)
	ins, err := l.conn.PrepareBatch(clickhouse.Context(ctx, clickhouse.WithQueryID(qid), clickhouse.WithSettings(insertSettings)), t.insert)
	if err != nil {
		return fmt.Errorf("cannot prepare the insert into %s: %w", t.name, err)
	}
	defer ins.Abort()
	now := start.Unix()
	// Blocks of blockRows: the client reuses the columns' memory from one
	// block to the next, and the server squashes them into one block,
	// sorted as rows are.
	for lo := 0; lo < len(rows); lo += blockRows {
		if lo > 0 {
			if err := ins.Flush(); err != nil {
				return fmt.Errorf("cannot send a block to %s: %w", t.name, err)
			}
		}
		block := rows[lo:min(lo+blockRows, len(rows))]
		for i, c := range t.cols {
			if err := ins.Column(i).Append(c.build(block, l.cfg.Topic, now)); err != nil {
				return fmt.Errorf("cannot append column %s of %s: %w", c.name, t.name, err)
			}
		}
	}
	if err := ins.Send(); err != nil {
		return fmt.Errorf("cannot insert into %s: %w", t.name, err)
	}
	return nil
}

// loadBatch is the records of one insert.
type loadBatch struct {
	rows    []eventRow
	records int             // records fetched, events or not
	last    map[int32]int64 // highest offset fetched per partition
	// sorted holds, once sort ran, the rows each of the loader's tables
	// takes, in its order; the last table is events and takes every row.
	sorted   [][]*eventRow
	isSorted bool
	keys     []sortKey // sort's, reused
	// numbers are the tenants' numbers of the rows, in the order first
	// seen; numberIndex finds them.
	numbers     []number
	numberIndex map[number]int
	lastNumber  int
}

// eventRow is an event and where it came from.
type eventRow struct {
	e         schemas.Event
	unix      int64 // e.Time, else the record's time, in DateTime's range
	partition int32
	offset    int64
	number    int // its tenant and number's index in the batch's numbers
}

// number is a tenant's phone number, which the tables sort by first.
type number struct{ tenant, phone string }

// numberOf returns the index of e's number in b.numbers, adding it if new.
// A partition's records are mostly of one number, so the last one found
// is tried first.
func (b *loadBatch) numberOf(e *schemas.Event) int {
	n := number{e.Tenant, e.PhoneNumberID}
	if b.lastNumber < len(b.numbers) && b.numbers[b.lastNumber] == n {
		return b.lastNumber
	}
	i, ok := b.numberIndex[n]
	if !ok {
		if b.numberIndex == nil {
			b.numberIndex = map[number]int{}
		}
		i = len(b.numbers)
		b.numbers = append(b.numbers, n)
		b.numberIndex[n] = i
	}
	b.lastNumber = i
	return i
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
	row.number = b.numberOf(&row.e)
	t := row.e.Time
	if t.IsZero() {
		t = r.Time
	}
	row.unix = min(max(t.Unix(), 0), math.MaxUint32)
	return nil
}

// sort fills b.sorted for tables. The loader's filler calls it once the
// batch is full, while the previous batch is inserted.
func (b *loadBatch) sort(tables []*loadTable) {
	if b.isSorted {
		return
	}
	b.isSorted = true
	if len(b.sorted) != len(tables) {
		b.sorted = make([][]*eventRow, len(tables))
	}
	rank := ranks(b.numbers)
	for i, t := range tables {
		list := b.sorted[i][:0]
		for j := range b.rows {
			if t.take == nil || t.take(&b.rows[j]) {
				list = append(list, &b.rows[j])
			}
		}
		b.keys = t.sortRows(list, b.keys, rank)
		b.sorted[i] = list
	}
}

// events is the number of events of b still to load.
func (b *loadBatch) events() int {
	if !b.isSorted {
		return len(b.rows)
	}
	return len(b.sorted[len(b.sorted)-1])
}

// dropLoaded removes the rows at or below the offsets already loaded.
func (b *loadBatch) dropLoaded(loaded map[int32]int64, tables []*loadTable) {
	b.sort(tables)
	n := b.events()
	for i, list := range b.sorted {
		b.sorted[i] = slices.DeleteFunc(list, func(r *eventRow) bool {
			off, ok := loaded[r.partition]
			return ok && r.offset <= off
		})
	}
	alreadyLoaded.Add(n - b.events())
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
	for i := range b.sorted {
		clear(b.sorted[i])
		b.sorted[i] = b.sorted[i][:0]
	}
	b.isSorted = false
	b.numbers, b.lastNumber = b.numbers[:0], 0
	clear(b.numberIndex)
	clear(b.last)
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
