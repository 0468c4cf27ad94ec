package stream

import (
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"golang.org/x/sys/unix"
)

// BadgerConfig configures the embedded log. The zero value works apart
// from Dir.
type BadgerConfig struct {
	// Dir holds the log's files.
	Dir string
	// Topics are the settings every topic is created with.
	Topics Topics
	// RetentionInterval is how often retention runs. Zero means a minute.
	RetentionInterval time.Duration
	// MaxBatch caps the records one group commit writes. Zero means 4096.
	MaxBatch int
	// MemTableSize is Badger's memtable size; memory use grows with it.
	// Zero means 16 MiB, fit for a small edge node.
	MemTableSize int64
	// SegmentSize is the size of the files holding the records. Retention
	// frees space a file at a time. Zero means 64 MiB.
	SegmentSize int64
	// MinFreeBytes is the free disk space below which appends fail with
	// ErrFull, before the disk is actually full. Zero means 64 MiB.
	MinFreeBytes int64
	// Logger receives Badger's warnings and errors. Nil means none.
	Logger *slog.Logger
}

// Badger is the embedded log. Record bytes go to segment files, one
// stream shared by every partition (see segments); a Badger database holds
// the index from offsets to places in the segments, the partitions' state
// and every group's committed offsets.
//
// Appends go through one writer goroutine: it takes whatever appends are
// pending, writes their frames to the current segment with one write,
// gives them the next offsets of their partitions and hands the index to
// Badger as one transaction, without waiting: one entry per partition
// touched (a run), whatever the number of records. A syncer goroutine
// syncs the segment once for all the batches written since its last sync,
// while Badger syncs its own log once per group of transactions (group
// commit on both sides, so the number of syncs stays flat as load grows).
// A batch is answered when its frames are synced, and its records shown
// to consumers when its index is synced too. Frames carry their record's
// place, so that an index lost in a crash is rebuilt from them on open
// (recover): an acknowledgement waits for one sync, not two.
//
// Badger keys:
//
//	'd' topic partition offset time → run: where the frames of the
//	                                    partition's records from offset on,
//	                                    appended together, are (time: the
//	                                    newest record's)
//	'm' topic partition             → next offset, bytes held
//	't' topic                       → partition count (fixed at creation)
//	'c' group 0 topic partition     → the group's next offset
//	'w'                             → segment and position of the next write
type Badger struct {
	cfg    BadgerConfig
	topics Topics
	db     *badger.DB
	segs   *segments
	reqs   chan *appendReq
	toSync chan *commitment // writer → syncer

	mu     sync.Mutex // guards parts, wake and closed
	parts  map[string][]*partState
	wake   chan struct{} // closed and replaced on every commit
	closed bool

	inflight chan struct{}         // a slot per batch handed to Badger and not yet synced
	broken   atomic.Pointer[error] // an index write that failed after its frames were answered

	stop       chan struct{} // closed by Close
	writerDone chan struct{} // closed when the writer's last batch is answered
	wg         sync.WaitGroup
}

// commitment is a batch of appends handed to Badger, in one or more
// transactions, waiting for them to be synced.
type commitment struct {
	reqs    []*appendReq
	files   []*os.File           // segment files written, to sync
	ends    map[*partState]int64 // each touched partition's next offset after the batch
	pending atomic.Int32         // transactions not yet synced
	mu      sync.Mutex
	err     error

	answered atomic.Bool
}

var _ Log = (*Badger)(nil)

type appendReq struct {
	ctx  context.Context
	recs []*Record
	done chan error
}

// partState is what the log knows of one partition.
type partState struct {
	prefix []byte // 'd' topic partition
	meta   []byte // 'm' topic partition

	assigned int64 // next offset to assign; the writer's alone

	// Under Badger.mu:
	next  int64 // end of what is synced: consumers read below it
	bytes int64 // size of the records in the partition, for retention
}

var (
	badgerCommits = metrics.NewCounter(`wasp_stream_commits_total{log="badger"}`)
	badgerRecords = metrics.NewCounter(`wasp_stream_appended_records_total{log="badger"}`)
	badgerBytes   = metrics.NewCounter(`wasp_stream_appended_bytes_total{log="badger"}`)

	badgerErrors    = metrics.NewCounter(`wasp_stream_commit_errors_total{log="badger"}`)
	badgerRetained  = metrics.NewCounter(`wasp_stream_retention_deleted_records_total{log="badger"}`)
	badgerSegsGone  = metrics.NewCounter(`wasp_stream_retention_deleted_segments_total{log="badger"}`)
	badgerSyncs     = metrics.NewCounter(`wasp_stream_syncs_total{log="badger"}`)
	badgerSyncSecs  = metrics.NewHistogram(`wasp_stream_sync_duration_seconds{log="badger"}`)
	badgerSkipped   = metrics.NewCounter(`wasp_stream_unreadable_records_total{log="badger"}`)
	badgerRecovered = metrics.NewCounter(`wasp_stream_recovered_records_total{log="badger"}`)
)

// OpenBadger opens (or creates) the embedded log in cfg.Dir.
func OpenBadger(cfg BadgerConfig) (*Badger, error) {
	if cfg.Dir == "" {
		return nil, errors.New("cannot open the embedded log: no directory")
	}
	if cfg.RetentionInterval <= 0 {
		cfg.RetentionInterval = time.Minute
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 4096
	}
	if cfg.MemTableSize <= 0 {
		cfg.MemTableSize = 16 << 20
	}
	if cfg.SegmentSize <= 0 {
		cfg.SegmentSize = 64 << 20
	}
	if cfg.MinFreeBytes <= 0 {
		cfg.MinFreeBytes = 64 << 20
	}
	db, err := badger.Open(EdgeOptions(filepath.Join(cfg.Dir, "index"), cfg.MemTableSize, cfg.Logger))
	if err != nil {
		return nil, fmt.Errorf("cannot open the embedded log in %q: %w", cfg.Dir, err)
	}
	l := &Badger{
		cfg:    cfg,
		topics: cfg.Topics.withDefaults(),
		db:     db,
		reqs:   make(chan *appendReq, 1024),
		toSync: make(chan *commitment, maxInflightBatches),
		parts:  map[string][]*partState{},
		wake:   make(chan struct{}),
		stop:   make(chan struct{}),

		writerDone: make(chan struct{}),
		inflight:   make(chan struct{}, maxInflightBatches),
	}
	at, err := l.loadState()
	if err == nil {
		l.segs, err = openSegments(filepath.Join(cfg.Dir, "segments"), cfg.SegmentSize)
	}
	if err == nil {
		var torn bool
		if at, torn, err = l.recover(at); err == nil {
			err = l.segs.resume(at, torn)
		}
		if err != nil {
			l.segs.close()
		}
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot open the embedded log in %q: %w", cfg.Dir, err)
	}
	l.wg.Add(3)
	go l.writeLoop()
	go l.syncLoop()
	go l.retentionLoop()
	return l, nil
}

// loadState loads every topic (retention needs them all) and returns where
// the frames the index holds end.
func (l *Badger) loadState() (at segRef, err error) {
	var topics []string
	at.seg = 1
	err = l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{'t'}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			topics = append(topics, string(it.Item().Key()[1:]))
		}
		item, err := txn.Get(writePosKey)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) (err error) {
			at, err = decodeSegRef(v)
			at.n = 0
			return err
		})
	})
	for _, t := range topics {
		if err == nil {
			_, err = l.loadTopic(t)
		}
	}
	return at, err
}

// recover indexes the frames after from, where the index's last synced
// write said the frames it holds end: appends acknowledged once their
// frames were synced, whose index did not reach the disk before a crash.
// A frame whose offset the index already has is skipped (a batch indexed
// in several transactions, some of which were synced). It returns where
// the stream ends and whether it ends in a torn frame.
func (l *Badger) recover(from segRef) (segRef, bool, error) {
	var rs runs
	end, torn, err := l.segs.scan(from, func(r *Record, topic []byte, at segRef) error {
		ps, err := l.loadTopic(string(topic))
		if err != nil {
			return err
		}
		if int(r.Partition) >= len(ps) {
			return fmt.Errorf("%w: a frame at %d:%d is for partition %d of %d", errCorrupt, at.seg, at.pos, r.Partition, len(ps))
		}
		p := ps[r.Partition]
		if r.Offset < p.assigned {
			return nil
		}
		// Entries no larger than a batch's; a gap is a write that failed.
		rs.add(p, r.Offset, at, r.Time, l.cfg.MaxBatch)
		p.assigned = r.Offset + 1
		return nil
	})
	if err != nil || len(rs.order) == 0 {
		return end, torn, err
	}
	wb := l.db.NewWriteBatch()
	defer wb.Cancel()
	for _, ru := range rs.order {
		if err := wb.Set(dataKey(ru.p.prefix, ru.first, ru.newest), encodeRun(ru.refs)); err != nil {
			return end, torn, err
		}
	}
	l.mu.Lock()
	for _, ru := range rs.order {
		ru.p.bytes += ru.bytes
		ru.p.next = ru.p.assigned
		if err := wb.Set(ru.p.meta, encodePartMeta(ru.p.assigned, ru.p.bytes)); err != nil {
			l.mu.Unlock()
			return end, torn, err
		}
	}
	l.mu.Unlock()
	if err := wb.Set(writePosKey, end.encode()); err != nil {
		return end, torn, err
	}
	if err := wb.Flush(); err != nil {
		return end, torn, err
	}
	n := 0
	for _, ru := range rs.order {
		n += len(ru.refs)
	}
	badgerRecovered.Add(n)
	if l.cfg.Logger != nil {
		l.cfg.Logger.Info("rebuilt the index of the records appended before a crash", "records", n)
	}
	return end, torn, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

var writePosKey = []byte{'w'}

// EdgeOptions are Badger options for a small node: small memtables and
// caches, every value (all small: index entries, offsets) in the LSM tree,
// no compression, a single writer so no conflict detection, and synced
// writes. Badger's defaults take gigabytes; these keep the process within
// tens of megabytes.
func EdgeOptions(dir string, memTable int64, log *slog.Logger) badger.Options {
	return badger.DefaultOptions(dir).
		WithMemTableSize(memTable).
		WithNumMemtables(2).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(8).
		WithBaseTableSize(4 << 20).
		WithBlockCacheSize(8 << 20).
		WithIndexCacheSize(8 << 20).
		WithValueThreshold(1 << 10).
		WithValueLogFileSize(16 << 20).
		WithNumCompactors(2).
		WithNumGoroutines(2).
		WithCompression(options.None).
		WithDetectConflicts(false).
		WithMetricsEnabled(false).
		WithSyncWrites(true).
		WithLogger(badgerLogger{log})
}

// Append implements Log.
func (l *Badger) Append(ctx context.Context, recs ...*Record) error {
	if len(recs) == 0 {
		return nil
	}
	if err := l.broken.Load(); err != nil {
		return *err
	}
	req := &appendReq{ctx: ctx, recs: recs, done: make(chan error, 1)}
	select {
	case l.reqs <- req:
	case <-l.stop:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued the request is committed or failed by the writer: wait
	// for its answer even if ctx ends, so that the caller never gets an
	// error for a record that became durable.
	select {
	case err := <-req.done:
		return err
	case <-l.writerDone:
		select {
		case err := <-req.done:
			return err
		default:
			return ErrClosed // queued after the writer's last look
		}
	}
}

// maxInflightBatches bounds the batches handed to Badger and not yet
// synced; the writer waits for a slot, which pushes back on appenders.
const maxInflightBatches = 64

func (l *Badger) writeLoop() {
	defer l.wg.Done()
	defer func() {
		// Wait for the batches in flight, then let late appenders go.
		close(l.toSync)
		for range cap(l.inflight) {
			l.inflight <- struct{}{}
		}
		close(l.writerDone)
	}()
	for {
		var batch []*appendReq
		select {
		case req := <-l.reqs:
			batch = append(batch, req)
		case <-l.stop:
			l.drainClosed()
			return
		}
		n := len(batch[0].recs)
	gather:
		for n < l.cfg.MaxBatch {
			select {
			case req := <-l.reqs:
				batch = append(batch, req)
				n += len(req.recs)
			default:
				break gather
			}
		}
		// An appender that gave up before the write gets its context's
		// error, and its records are not written.
		live := batch[:0]
		for _, req := range batch {
			if err := req.ctx.Err(); err != nil {
				req.done <- err
			} else {
				live = append(live, req)
			}
		}
		if len(live) > 0 {
			l.inflight <- struct{}{}
			l.commit(live)
		}
	}
}

// drainClosed fails appends queued when Close was called.
func (l *Badger) drainClosed() {
	for {
		select {
		case req := <-l.reqs:
			req.done <- ErrClosed
		default:
			return
		}
	}
}

// commit gives a batch of appends their offsets, writes their frames to
// the segments and hands the index to Badger, in as few transactions as
// Badger allows, without waiting for either to sync. Offsets of a write
// that failed are not reused: a partition may skip offsets after an error,
// and consumers read past the gap.
func (l *Badger) commit(batch []*appendReq) {
	start := time.Now()
	c := &commitment{reqs: batch, ends: map[*partState]int64{}}
	c.pending.Add(1) // the writer's own hold, released at the end
	defer l.synced(c, nil)
	if err := l.checkSpace(); err != nil {
		c.fail(err)
		return
	}
	var recs []*Record
	var parts []*partState
	for _, req := range batch {
		for _, r := range req.recs {
			ps, err := l.loadTopic(r.Topic)
			if err != nil {
				c.fail(err)
				return
			}
			if r.Time.IsZero() {
				r.Time = start
			}
			recs = append(recs, r)
			parts = append(parts, ps[partitionFor(r.Key, int32(len(ps)))])
		}
	}
	for i, r := range recs {
		p := parts[i]
		r.Partition, r.Offset = partIndex(p.prefix), p.assigned
		p.assigned++
	}
	from := segRef{seg: l.segs.cur.Load(), pos: l.segs.curPos}
	refs, files, err := l.segs.appendFrames(recs)
	if err != nil {
		c.fail(l.failed(err))
		return
	}
	c.files = files
	// One index entry per partition: the run of its records in this
	// batch, which lie side by side unless other partitions' records came
	// between. Built before the frames go to the syncer, which answers
	// the appenders: from then on their records are theirs again.
	var rs runs
	for i, r := range recs {
		rs.add(parts[i], r.Offset, refs[i], r.Time, 0)
	}
	c.pending.Add(1)
	l.toSync <- c

	var inTxn []*partState // partitions touched by the open transaction
	txn := l.db.NewTransaction(true)
	// send hands the open transaction to Badger with each touched
	// partition's state and where the frames it indexes end, and opens
	// the next one. The last transaction of the batch says its end; one
	// before says its start, and recover skips the frames it indexed.
	send := func(end segRef) error {
		l.mu.Lock()
		for _, p := range inTxn {
			if err := txn.Set(p.meta, encodePartMeta(p.assigned, p.bytes)); err != nil {
				l.mu.Unlock()
				return err
			}
		}
		l.mu.Unlock()
		if err := txn.Set(writePosKey, end.encode()); err != nil {
			return err
		}
		for _, p := range inTxn {
			c.ends[p] = p.assigned
		}
		inTxn = inTxn[:0]
		c.pending.Add(1)
		var fault error
		if testHookIndexWrite != nil {
			fault = testHookIndexWrite()
		}
		if fault != nil {
			txn.Discard() // as if Badger lost it
			l.synced(c, l.indexed(fault))
		} else {
			txn.CommitWith(func(err error) { l.synced(c, l.indexed(err)) })
		}
		txn = l.db.NewTransaction(true)
		return nil
	}
	err = func() error {
		for _, ru := range rs.order {
			key, val := dataKey(ru.p.prefix, ru.first, ru.newest), encodeRun(ru.refs)
			err := txn.Set(key, val)
			if errors.Is(err, badger.ErrTxnTooBig) {
				if err = send(from); err == nil {
					err = txn.Set(key, val)
				}
			}
			if err != nil {
				return err
			}
			inTxn = append(inTxn, ru.p)
			l.mu.Lock()
			ru.p.bytes += ru.bytes
			l.mu.Unlock()
		}
		return send(segRef{seg: l.segs.cur.Load(), pos: l.segs.curPos})
	}()
	txn.Discard()
	if err != nil {
		c.fail(l.indexed(err))
	}
	badgerCommits.Inc()
	badgerRecords.Add(len(recs))
	for _, ref := range refs {
		badgerBytes.Add(int(ref.n) - frameHeader)
	}
}

// testHookIndexWrite, set by tests before a log is opened, makes an index
// write fail when it returns an error: Badger's writes cannot be made to
// fail from outside.
var testHookIndexWrite func() error

// indexed handles the outcome of an index write. Its frames may have been
// answered already: the log takes no more appends (whose index would go
// on past the lost entries) until a restart rebuilds the index from the
// frames.
func (l *Badger) indexed(err error) error {
	if err == nil {
		return nil
	}
	err = fmt.Errorf("cannot index the embedded log, restart to rebuild the index from the segments: %w", l.failed(err))
	l.broken.CompareAndSwap(nil, &err)
	return err
}

// run is what one batch appends to one partition: its index entry.
type run struct {
	p      *partState
	first  int64     // offset of the first record
	newest time.Time // time of the newest record, for retention by age
	refs   []segRef
	bytes  int64
}

// runs gathers records into index entries, in the order their
// partitions come.
type runs struct {
	last  map[*partState]*run
	order []*run
}

// add puts the record at offset off of p, whose frame is at, into p's
// last run, or a new one after a gap in the offsets or at max records
// (0: no limit).
func (rs *runs) add(p *partState, off int64, at segRef, t time.Time, max int) {
	ru := rs.last[p]
	if ru == nil || off != ru.first+int64(len(ru.refs)) || len(ru.refs) == max {
		if rs.last == nil {
			rs.last = map[*partState]*run{}
		}
		ru = &run{p: p, first: off}
		rs.last[p] = ru
		rs.order = append(rs.order, ru)
	}
	ru.refs = append(ru.refs, at)
	ru.bytes += at.n
	ru.newest = later(ru.newest, t)
}

// syncLoop syncs the segment files written by every batch waiting for it,
// with one sync per file for all of them.
func (l *Badger) syncLoop() {
	defer l.wg.Done()
	for c := range l.toSync {
		group := []*commitment{c}
	gather:
		for {
			select {
			case c, ok := <-l.toSync:
				if !ok {
					break gather
				}
				group = append(group, c)
			default:
				break gather
			}
		}
		var files []*os.File
		for _, c := range group {
			for _, f := range c.files {
				if !slices.Contains(files, f) {
					files = append(files, f)
				}
			}
		}
		start := time.Now()
		err := syncFiles(files)
		if err != nil {
			err = l.failed(err)
		}
		badgerSyncs.Inc()
		badgerSyncSecs.UpdateDuration(start)
		for _, c := range group {
			if err == nil {
				c.answer(c.firstErr())
			}
			l.synced(c, err)
		}
	}
}

// checkSpace refuses writes while the disk is nearly full, so that the log
// fails cleanly (and the ingester answers 503) rather than running out of
// space in the middle of a write.
func (l *Badger) checkSpace() error {
	var st unix.Statfs_t
	if err := unix.Statfs(l.cfg.Dir, &st); err != nil {
		return nil // cannot tell; the write itself will say
	}
	if free := int64(st.Bavail) * int64(st.Bsize); free < l.cfg.MinFreeBytes {
		return fmt.Errorf("%w: %d MiB free in %s, below the %d MiB reserve", ErrFull, free>>20, l.cfg.Dir, l.cfg.MinFreeBytes>>20)
	}
	return nil
}

// synced is called once per transaction of c when Badger has written and
// synced it (or failed), once by the syncer for the segment, and once by
// the writer. The last call answers the appends and shows the records to
// consumers.
func (l *Badger) synced(c *commitment, err error) {
	if err != nil {
		c.fail(err)
	}
	if c.pending.Add(-1) > 0 {
		return
	}
	if c.err == nil {
		l.mu.Lock()
		for p, end := range c.ends {
			p.next = max(p.next, end)
		}
		close(l.wake)
		l.wake = make(chan struct{})
		l.mu.Unlock()
	}
	c.answer(c.err)
	<-l.inflight
}

// answer tells c's appenders how their appends went, once.
func (c *commitment) answer(err error) {
	if c.answered.Swap(true) {
		return
	}
	for _, req := range c.reqs {
		req.done <- err
	}
}

func (c *commitment) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
}

func (c *commitment) firstErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// failed maps a Badger write error to the log's sentinels.
func (l *Badger) failed(err error) error {
	badgerErrors.Inc()
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EROFS), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%w: %w", ErrFull, err)
	case errors.Is(err, badger.ErrDBClosed):
		return ErrClosed
	}
	return fmt.Errorf("cannot append to the embedded log: %w", err)
}

// loadTopic returns the partitions of topic, creating the topic on first use
// and reading each partition's state from the store.
func (l *Badger) loadTopic(topic string) ([]*partState, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	if ps := l.parts[topic]; ps != nil {
		return ps, nil
	}
	if len(topic) == 0 || len(topic) > 255 {
		return nil, fmt.Errorf("cannot use topic %q: its name must have 1 to 255 bytes", topic)
	}
	n := l.topics.Partitions
	tkey := append([]byte{'t'}, topic...)
	var ps []*partState
	err := l.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(tkey)
		switch {
		case err == nil:
			if err := item.Value(func(v []byte) error {
				if len(v) != 4 {
					return fmt.Errorf("corrupt partition count of topic %q", topic)
				}
				n = int32(binary.BigEndian.Uint32(v))
				return nil
			}); err != nil {
				return err
			}
		case errors.Is(err, badger.ErrKeyNotFound):
			if err := txn.Set(tkey, binary.BigEndian.AppendUint32(nil, uint32(n))); err != nil {
				return err
			}
		default:
			return err
		}
		for i := range n {
			p := &partState{prefix: partKey('d', topic, i), meta: partKey('m', topic, i)}
			item, err := txn.Get(p.meta)
			if err == nil {
				err = item.Value(func(v []byte) error {
					p.next, p.bytes, err = decodePartMeta(v)
					p.assigned = p.next
					return err
				})
			}
			if err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
				return err
			}
			ps = append(ps, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot load topic %q: %w", topic, err)
	}
	l.parts[topic] = ps
	return ps, nil
}

// Consume implements Log.
func (l *Badger) Consume(group string, topics ...string) (Consumer, error) {
	c := &badgerConsumer{l: l, group: group}
	for _, topic := range topics {
		ps, err := l.loadTopic(topic)
		if err != nil {
			return nil, err
		}
		for i, p := range ps {
			cp := &consumerPart{topic: topic, index: int32(i), state: p,
				commitKey: commitKey(group, topic, int32(i))}
			if group == "" {
				c.parts = append(c.parts, cp)
				continue
			}
			err := l.db.View(func(txn *badger.Txn) error {
				item, err := txn.Get(cp.commitKey)
				if errors.Is(err, badger.ErrKeyNotFound) {
					return nil
				}
				if err != nil {
					return err
				}
				return item.Value(func(v []byte) error {
					if len(v) != 8 {
						return errors.New("corrupt committed offset")
					}
					cp.pos = int64(binary.BigEndian.Uint64(v))
					return nil
				})
			})
			if err != nil {
				return nil, fmt.Errorf("cannot read the offset of group %q on %s/%d: %w", group, topic, i, err)
			}
			c.parts = append(c.parts, cp)
		}
	}
	return c, nil
}

// Bounds implements Log.
func (l *Badger) Bounds(ctx context.Context, topic string) ([]Bound, error) {
	l.mu.Lock()
	ps, ok := l.parts[topic]
	l.mu.Unlock()
	if !ok {
		return nil, nil // no such topic
	}
	out := make([]Bound, len(ps))
	err := l.db.View(func(txn *badger.Txn) error {
		for i, p := range ps {
			l.mu.Lock()
			end := p.next
			l.mu.Unlock()
			out[i] = Bound{Partition: int32(i), Start: end, End: end}
			it := txn.NewIterator(badger.IteratorOptions{Prefix: p.prefix})
			if it.Rewind(); it.Valid() {
				first, _ := parseDataKey(it.Item().Key(), len(p.prefix))
				out[i].Start = min(first, end)
			}
			it.Close()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot read the bounds of %s: %w", topic, err)
	}
	return out, nil
}

type badgerConsumer struct {
	l      *Badger
	group  string
	parts  []*consumerPart
	closed bool
}

type consumerPart struct {
	topic     string
	index     int32
	state     *partState
	commitKey []byte
	pos       int64 // next offset to fetch

	// The index entry read last, which may hold pos: a fetch can end in
	// the middle of a run. found says whether the entry holding the
	// committed offset the consumer started at was looked up.
	run      []segRef
	runFirst int64
	found    bool
}

// holds says whether the run read last holds offset off.
func (cp *consumerPart) holds(off int64) bool {
	return off >= cp.runFirst && off < cp.runFirst+int64(len(cp.run))
}

// next is where the record at cp.pos is; cp.run must hold it.
func (cp *consumerPart) next() segRef { return cp.run[cp.pos-cp.runFirst] }

// place is a record's partition and offset.
type place struct {
	part *consumerPart
	off  int64
}

// locate reads the index entry that holds cp.pos, which may start before
// it (a committed offset in the middle of a run), into cp.run.
func (cp *consumerPart) locate(txn *badger.Txn) error {
	cp.found = true
	it := txn.NewIterator(badger.IteratorOptions{Prefix: cp.state.prefix, Reverse: true})
	defer it.Close()
	seek := binary.BigEndian.AppendUint64(append([]byte(nil), cp.state.prefix...), uint64(cp.pos))
	if it.Seek(append(seek, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)); !it.Valid() {
		return nil
	}
	return cp.load(it.Item())
}

// load decodes an index entry into cp.run.
func (cp *consumerPart) load(item *badger.Item) error {
	first, _ := parseDataKey(item.Key(), len(cp.state.prefix))
	return item.Value(func(v []byte) (err error) {
		cp.runFirst = first
		if cp.run, err = decodeRun(cp.run[:0], v); err != nil {
			cp.run = cp.run[:0]
			return fmt.Errorf("%s/%d at offset %d: %w", cp.topic, cp.index, first, err)
		}
		return nil
	})
}

// Fetch implements Consumer.
func (c *badgerConsumer) Fetch(ctx context.Context, max int) ([]*Record, error) {
	if max <= 0 {
		max = 1
	}
	for {
		c.l.mu.Lock()
		closed, wake := c.l.closed || c.closed, c.l.wake
		c.l.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		recs, read, err := c.read(max)
		if err != nil || len(recs) > 0 {
			return recs, err
		}
		if read > 0 {
			continue // every record read was skipped: read on
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// read returns what is there to read now, without waiting: the index
// says where the records are, then their frames are read together. It
// also says how many it read, with those skipped.
func (c *badgerConsumer) read(limit int) ([]*Record, int, error) {
	var refs []segRef
	var at []place // the partition and offset of each ref
	err := c.l.db.View(func(txn *badger.Txn) error {
		var available int64
		ends := make([]int64, len(c.parts))
		c.l.mu.Lock()
		for i, cp := range c.parts {
			ends[i] = cp.state.next
			available += max(0, ends[i]-cp.pos)
		}
		c.l.mu.Unlock()
		if available == 0 {
			return nil
		}
		n := int(min(available, int64(limit)))
		refs, at = make([]segRef, 0, n), make([]place, 0, n)
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		var it *badger.Iterator
		defer func() {
			if it != nil {
				it.Close()
			}
		}()
		// ready makes cp.run hold cp.pos, reading the partition's next
		// index entry if needed, and says whether there is a record there
		// below end.
		ready := func(cp *consumerPart, end int64) (bool, error) {
			if cp.pos >= end {
				return false, nil
			}
			if !cp.found {
				if err := cp.locate(txn); err != nil {
					return false, err
				}
			}
			if cp.holds(cp.pos) {
				return true, nil
			}
			if it == nil {
				it = txn.NewIterator(opts)
			}
			it.Seek(binary.BigEndian.AppendUint64(append([]byte(nil), cp.state.prefix...), uint64(cp.pos)))
			if !it.ValidForPrefix(cp.state.prefix) {
				return false, nil
			}
			if err := cp.load(it.Item()); err != nil || cp.runFirst >= end {
				return false, err
			}
			cp.pos = cp.runFirst // past offsets a failed write skipped, if any
			return true, nil
		}
		// Records are taken in the order they lie in the segments, oldest
		// first whatever their partition: records appended together are
		// read together, in a few large reads.
		var h oldest
		for i, cp := range c.parts {
			ok, err := ready(cp, ends[i])
			if err != nil {
				return err
			}
			if ok {
				h = append(h, cursor{cp, ends[i]})
			}
		}
		heap.Init(&h)
		for len(h) > 0 && len(refs) < limit {
			cur := h[0]
			// Take from the oldest partition while it stays the oldest.
			bound := segRef{seg: math.MaxUint64, pos: math.MaxInt64}
			for i := 1; i <= 2 && i < len(h); i++ { // the heap's second is one of these
				if n := h[i].cp.next(); before(n, bound) {
					bound = n
				}
			}
			cp := cur.cp
			for len(refs) < limit && cp.pos < cur.end && cp.holds(cp.pos) && before(cp.next(), bound) {
				refs = append(refs, cp.next())
				at = append(at, place{cp, cp.pos})
				cp.pos++
			}
			ok, err := ready(cp, cur.end)
			if err != nil {
				return err
			}
			if ok {
				heap.Fix(&h, 0)
			} else {
				heap.Pop(&h)
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("cannot read the embedded log: %w", err)
	}
	recs, errs := c.l.segs.readMany(refs)
	out := recs[:0]
	for i, r := range recs {
		if errors.Is(errs[i], errSegmentGone) || errors.Is(errs[i], errCorrupt) {
			// Removed by retention meanwhile, or a record whose write
			// never completed (never acknowledged).
			badgerSkipped.Inc()
			continue
		}
		if errs[i] != nil {
			p := at[i].part
			return nil, 0, fmt.Errorf("cannot read the embedded log: %s/%d at offset %d: %w", p.topic, p.index, at[i].off, errs[i])
		}
		r.Topic, r.Partition, r.Offset = at[i].part.topic, at[i].part.index, at[i].off
		out = append(out, r)
	}
	return out, len(refs), nil
}

// cursor is a partition being read, with the end of what is readable.
type cursor struct {
	cp  *consumerPart
	end int64
}

// oldest is a heap of cursors by where their next record lies.
type oldest []cursor

func (h oldest) Len() int           { return len(h) }
func (h oldest) Less(i, j int) bool { return before(h[i].cp.next(), h[j].cp.next()) }
func (h oldest) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *oldest) Push(x any)        { *h = append(*h, x.(cursor)) }
func (h *oldest) Pop() any {
	x := (*h)[len(*h)-1]
	*h = (*h)[:len(*h)-1]
	return x
}

// before says whether a lies before b in the segments.
func before(a, b segRef) bool { return a.seg < b.seg || a.seg == b.seg && a.pos < b.pos }

// Commit implements Consumer.
func (c *badgerConsumer) Commit(ctx context.Context, offsets ...Offset) error {
	if c.group == "" {
		return ErrNoGroup
	}
	if len(offsets) == 0 {
		return nil
	}
	err := c.l.db.Update(func(txn *badger.Txn) error {
		for _, o := range offsets {
			key := commitKey(c.group, o.Topic, o.Partition)
			if err := txn.Set(key, binary.BigEndian.AppendUint64(nil, uint64(o.Next))); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, badger.ErrDBClosed) {
		return ErrClosed
	}
	if err != nil {
		return fmt.Errorf("cannot commit offsets of group %q: %w", c.group, err)
	}
	return nil
}

// Close implements Consumer.
func (c *badgerConsumer) Close() error {
	c.closed = true
	return nil
}

func (l *Badger) retentionLoop() {
	defer l.wg.Done()
	t := time.NewTicker(l.cfg.RetentionInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := l.ApplyRetention(); err != nil && l.cfg.Logger != nil {
				l.cfg.Logger.Warn("retention of the embedded log failed", "err", err)
			}
		case <-l.stop:
			return
		}
	}
}

// ApplyRetention deletes, in every partition, the runs of records older
// than the retention age and the oldest beyond the size cap, then removes
// the segment files no run points into any more. It runs periodically on
// its own; tests and operators may call it.
func (l *Badger) ApplyRetention() error {
	l.mu.Lock()
	var all []*partState
	for _, ps := range l.parts {
		all = append(all, ps...)
	}
	l.mu.Unlock()
	cutoff := time.Now().Add(-l.topics.RetentionAge)
	oldest := l.segs.cur.Load() // the oldest segment still referenced
	for _, p := range all {
		for {
			more, err := l.trim(p, cutoff)
			if err != nil {
				return fmt.Errorf("cannot apply retention: %w", err)
			}
			if !more {
				break
			}
		}
		seg, err := l.firstSegment(p)
		if err != nil {
			return fmt.Errorf("cannot apply retention: %w", err)
		}
		oldest = min(oldest, seg)
	}
	n, err := l.segs.removeBefore(oldest)
	badgerSegsGone.Add(n)
	if err != nil {
		return fmt.Errorf("cannot remove segments: %w", err)
	}
	return nil
}

// firstSegment is the segment of a partition's oldest record, or the
// largest id if the partition is empty.
func (l *Badger) firstSegment(p *partState) (uint64, error) {
	seg := uint64(1<<64 - 1)
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p.prefix})
		defer it.Close()
		it.Rewind()
		if !it.Valid() {
			return nil
		}
		return it.Item().Value(func(v []byte) error {
			refs, err := decodeRun(nil, v)
			if err == nil {
				seg = refs[0].seg
			}
			return err
		})
	})
	return seg, err
}

// trim deletes the head of one partition, up to a bound, and says whether
// there may be more. The writer may append meanwhile: the byte count is
// adjusted by what was deleted, never overwritten.
func (l *Badger) trim(p *partState, cutoff time.Time) (more bool, err error) {
	l.mu.Lock()
	excess := p.bytes - l.topics.RetentionBytes
	l.mu.Unlock()
	const bound = 50_000
	var keys [][]byte
	var freed int64
	records := 0
	err = l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p.prefix})
		defer it.Close()
		var refs []segRef
		for it.Rewind(); it.Valid() && len(keys) < bound; it.Next() {
			item := it.Item()
			_, t := parseDataKey(item.Key(), len(p.prefix))
			if freed >= excess && !t.Before(cutoff) {
				break
			}
			err := item.Value(func(v []byte) (err error) {
				refs, err = decodeRun(refs[:0], v)
				return err
			})
			if err != nil {
				return err
			}
			for _, r := range refs {
				freed += r.n
			}
			records += len(refs)
			keys = append(keys, item.KeyCopy(nil))
		}
		return nil
	})
	if err != nil || len(keys) == 0 {
		return false, err
	}
	wb := l.db.NewWriteBatch()
	defer wb.Cancel()
	for _, k := range keys {
		if err := wb.Delete(k); err != nil {
			return false, err
		}
	}
	if err := wb.Flush(); err != nil {
		return false, err
	}
	l.mu.Lock()
	p.bytes -= freed
	l.mu.Unlock()
	badgerRetained.Add(records)
	// The byte count is persisted by the next append to this partition; if
	// none comes before a crash, the count reads high and the next retention
	// pass trims a little early, which is safe.
	return len(keys) == bound, nil
}

// Close implements Log: it stops the writer after the appends in flight,
// then closes Badger, which syncs its files.
func (l *Badger) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	close(l.stop)
	l.wg.Wait()
	l.mu.Lock()
	close(l.wake) // wakes waiting fetches, which then see closed
	l.mu.Unlock()
	if err := errors.Join(l.db.Close(), l.segs.close()); err != nil {
		return fmt.Errorf("cannot close the embedded log: %w", err)
	}
	return nil
}

// Ping reports whether the log takes appends: it is open, and the disk
// has more than MinFreeBytes free.
func (l *Badger) Ping(context.Context) error {
	l.mu.Lock()
	closed := l.closed || l.db.IsClosed()
	l.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if err := l.broken.Load(); err != nil {
		return *err
	}
	return l.checkSpace()
}

func partKey(kind byte, topic string, i int32) []byte {
	k := make([]byte, 0, 2+len(topic)+4)
	if kind != 0 {
		k = append(k, kind)
	}
	k = append(k, byte(len(topic)))
	k = append(k, topic...)
	return binary.BigEndian.AppendUint32(k, uint32(i))
}

// commitKey is where group's committed offset of a topic partition is kept.
func commitKey(group, topic string, i int32) []byte {
	return append(append([]byte{'c'}, group...), partKey(0, topic, i)...)
}

func partIndex(prefix []byte) int32 {
	return int32(binary.BigEndian.Uint32(prefix[len(prefix)-4:]))
}

func dataKey(prefix []byte, off int64, t time.Time) []byte {
	k := make([]byte, 0, len(prefix)+16)
	k = append(k, prefix...)
	k = binary.BigEndian.AppendUint64(k, uint64(off))
	return binary.BigEndian.AppendUint64(k, uint64(t.UnixNano()))
}

func parseDataKey(k []byte, prefixLen int) (int64, time.Time) {
	k = k[prefixLen:]
	return int64(binary.BigEndian.Uint64(k)), time.Unix(0, int64(binary.BigEndian.Uint64(k[8:])))
}

func encodePartMeta(next, size int64) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, uint64(next)), uint64(size))
}

func decodePartMeta(v []byte) (next, size int64, err error) {
	if len(v) != 16 {
		return 0, 0, errors.New("corrupt partition state")
	}
	return int64(binary.BigEndian.Uint64(v)), int64(binary.BigEndian.Uint64(v[8:])), nil
}

// encodeRecord lays out time, key, headers and value.
func encodeRecord(r *Record) []byte {
	return appendRecord(make([]byte, 0, encodedSize(r)), r)
}

// appendRecord appends r, as encodeRecord lays it out, to b.
func appendRecord(b []byte, r *Record) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(r.Time.UnixNano()))
	b = appendBytes(b, r.Key)
	b = binary.AppendUvarint(b, uint64(len(r.Headers)))
	for _, h := range r.Headers {
		b = appendBytes(b, []byte(h.Key))
		b = appendBytes(b, h.Value)
	}
	return append(b, r.Value...)
}

// encodedSize is the length of r's encoding.
func encodedSize(r *Record) int {
	n := 8 + sizedLen(len(r.Key)) + uvarintLen(uint64(len(r.Headers))) + len(r.Value)
	for _, h := range r.Headers {
		n += sizedLen(len(h.Key)) + sizedLen(len(h.Value))
	}
	return n
}

// sizedLen is the length of n bytes after their uvarint length.
func sizedLen(n int) int { return uvarintLen(uint64(n)) + n }

func uvarintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

func appendBytes(b, v []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(v))), v...)
}

var errCorrupt = errors.New("corrupt record")

// decodeRecord parses what encodeRecord wrote; the record aliases b.
func decodeRecord(b []byte) (*Record, error) {
	if len(b) < 8 {
		return nil, errCorrupt
	}
	r := &Record{Time: time.Unix(0, int64(binary.BigEndian.Uint64(b)))}
	b = b[8:]
	var ok bool
	if r.Key, b, ok = readBytes(b); !ok {
		return nil, errCorrupt
	}
	nh, n := binary.Uvarint(b)
	if n <= 0 || nh > uint64(len(b)) {
		return nil, errCorrupt
	}
	b = b[n:]
	if nh > 0 {
		r.Headers = make([]Header, nh)
		for i := range r.Headers {
			var k []byte
			if k, b, ok = readBytes(b); !ok {
				return nil, errCorrupt
			}
			r.Headers[i].Key = string(k)
			if r.Headers[i].Value, b, ok = readBytes(b); !ok {
				return nil, errCorrupt
			}
		}
	}
	r.Value = b
	return r, nil
}

func readBytes(b []byte) (v, rest []byte, ok bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return nil, nil, false
	}
	b = b[w:]
	if n == 0 {
		return nil, b, true
	}
	return b[:n:n], b[n:], true
}

// badgerLogger passes Badger's warnings and errors to slog; its info and
// debug chatter is dropped.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	if b.l != nil {
		b.l.Error("badger: " + fmt.Sprintf(f, a...))
	}
}

func (b badgerLogger) Warningf(f string, a ...any) {
	if b.l != nil {
		b.l.Warn("badger: " + fmt.Sprintf(f, a...))
	}
}

func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}
