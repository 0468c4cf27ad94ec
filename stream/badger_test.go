package stream

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

type badgerBackend struct{ dir string }

func newBadgerBackend(t *testing.T) backend { return &badgerBackend{dir: t.TempDir()} }

func (b *badgerBackend) open(t *testing.T, topics Topics) Log {
	l, err := OpenBadger(BadgerConfig{Dir: b.dir, Topics: topics})
	if err != nil {
		t.Fatalf("cannot open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func (b *badgerBackend) restart(*testing.T) {}

func (b *badgerBackend) applyRetention(t *testing.T, l Log) {
	if err := l.(*Badger).ApplyRetention(); err != nil {
		t.Fatalf("retention: %v", err)
	}
}

// TestBadgerSegments covers what only the embedded log has: records span
// segment files, a reopened log continues in the middle of one, and
// retention removes the files it no longer needs.
func TestBadgerSegments(t *testing.T) {
	dir := t.TempDir()
	open := func() *Badger {
		l, err := OpenBadger(BadgerConfig{Dir: dir, SegmentSize: 4 << 10,
			Topics: Topics{Partitions: 2, RetentionBytes: 8 << 10}})
		if err != nil {
			t.Fatalf("cannot open: %v", err)
		}
		return l
	}
	l := open()
	big := strings.Repeat("x", 900)
	for i := range 40 {
		if err := l.Append(ctxT(t), rec(testTopic, fmt.Sprint(i%2), fmt.Sprintf("%02d%s", i, big))); err != nil {
			t.Fatal(err)
		}
	}
	segs := func() int {
		names, _ := filepath.Glob(filepath.Join(dir, "segments", "*.seg"))
		return len(names)
	}
	if n := segs(); n < 8 {
		t.Fatalf("%d segment files after 36 KB of records in 4 KB files; want at least 8", n)
	}
	l.Close()
	l = open()
	defer l.Close()
	if err := l.Append(ctxT(t), rec(testTopic, "0", "after-reopen")); err != nil {
		t.Fatal(err)
	}
	seen := false
	for _, r := range readN(t, mustConsume(t, l, "g", testTopic), 41) {
		seen = seen || string(r.Value) == "after-reopen"
	}
	if !seen {
		t.Fatal("the record appended after reopening is missing")
	}
	before := segs()
	if err := l.ApplyRetention(); err != nil {
		t.Fatal(err)
	}
	if after := segs(); after >= before || after > 6 {
		t.Fatalf("retention left %d of %d segment files; want the old ones removed", after, before)
	}
	// What is left reads back whole.
	rest := readN(t, mustConsume(t, l, "g2", testTopic), 1)
	if len(rest[0].Value) == 0 {
		t.Fatal("empty record after retention")
	}
}

// TestBadgerSkipsTornFrame: a record whose index survived a crash but
// whose frame did not (it was never acknowledged) is skipped, not fatal.
func TestBadgerSkipsTornFrame(t *testing.T) {
	dir := t.TempDir()
	l, err := OpenBadger(BadgerConfig{Dir: dir, Topics: Topics{Partitions: 1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"one", "two", "three"} {
		if err := l.Append(ctxT(t), rec(testTopic, "k", v)); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	// Zero the second frame, as if its write never reached the disk.
	names, _ := filepath.Glob(filepath.Join(dir, "segments", "*.seg"))
	f, err := os.OpenFile(names[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	first := rec(testTopic, "k", "one")
	second := int64(frameHeader + placeSize(first) + encodedSize(first))
	f.WriteAt(make([]byte, 16), second)
	f.Close()
	l, err = OpenBadger(BadgerConfig{Dir: dir, Topics: Topics{Partitions: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := readN(t, mustConsume(t, l, "g", testTopic), 2)
	if string(got[0].Value) != "one" || string(got[1].Value) != "three" {
		t.Fatalf("got %q, %q; want one, three", got[0].Value, got[1].Value)
	}
}

// TestBadgerReadsTogether: a fetch across partitions and topics reads
// frames side by side in one go, with other records between, frames
// larger than one read and frames in two segment files; each record comes
// back whole, in its partition's order.
func TestBadgerReadsTogether(t *testing.T) {
	l, err := OpenBadger(BadgerConfig{Dir: t.TempDir(), SegmentSize: 1 << 20, Topics: Topics{Partitions: 3}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sizes := []int{10, readSpan + 1000, 10, readGap + 100, 3, 200 << 10, 5}
	var recs []*Record
	for i := range 60 {
		topic := testTopic
		if i%4 == 3 {
			topic = "other" // read by nobody: a gap between the frames read
		}
		v := fmt.Sprintf("%03d:%s", i, strings.Repeat("v", sizes[i%len(sizes)]))
		recs = append(recs, rec(topic, fmt.Sprint(i%5), v))
	}
	for i := 0; i < len(recs); i += 7 {
		if err := l.Append(ctxT(t), recs[i:min(i+7, len(recs))]...); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]bool{}
	for _, r := range recs {
		if r.Topic == testTopic {
			want[string(r.Value)] = true
		}
	}
	got := readN(t, mustConsume(t, l, "g", testTopic), len(want))
	last := map[int32]int64{}
	for _, r := range got {
		if !want[string(r.Value)] || string(r.Headers[0].Value) != "v-"+string(r.Value) {
			t.Fatalf("record %s/%d@%d: %.20q… (%d bytes) was not appended", r.Topic, r.Partition, r.Offset, r.Value, len(r.Value))
		}
		delete(want, string(r.Value))
		if prev, ok := last[r.Partition]; ok && r.Offset <= prev {
			t.Fatalf("partition %d: offset %d after %d", r.Partition, r.Offset, prev)
		}
		last[r.Partition] = r.Offset
	}
	if len(want) > 0 {
		t.Fatalf("%d records not read", len(want))
	}
}

// TestRecordDetach: a detached record equals the fetched one and shares
// none of its bytes.
func TestRecordDetach(t *testing.T) {
	buf := []byte("keyvaluehv")
	r := &Record{Topic: "t", Key: buf[:3], Value: buf[3:8], Headers: []Header{{Key: "h", Value: buf[8:]}}, Partition: 2, Offset: 7}
	d := r.Detach()
	if d.Topic != "t" || string(d.Key) != "key" || string(d.Value) != "value" || string(d.Headers[0].Value) != "hv" ||
		d.Partition != 2 || d.Offset != 7 {
		t.Fatalf("detached %+v; want a copy of %+v", d, r)
	}
	for i := range buf {
		buf[i] = 'x'
	}
	if string(d.Key) != "key" || string(d.Value) != "value" || string(d.Headers[0].Value) != "hv" {
		t.Fatalf("the detached record changed with the fetch's buffer: %+v", d)
	}
}

// TestBadgerRuns: an append of many records keeps one index entry per
// partition, and consumers that stop, commit and resume in the middle of
// such an entry read every record once, in order.
func TestBadgerRuns(t *testing.T) {
	dir := t.TempDir()
	open := func() *Badger {
		l, err := OpenBadger(BadgerConfig{Dir: dir, Topics: Topics{Partitions: 3}})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	l := open()
	var recs []*Record
	for i := range 300 {
		recs = append(recs, rec(testTopic, fmt.Sprint(i%7), fmt.Sprintf("%03d", i)))
	}
	if err := l.Append(ctxT(t), recs[:200]...); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(ctxT(t), recs[200:]...); err != nil {
		t.Fatal(err)
	}
	// Appends are answered before their index is written; records are
	// shown to consumers after.
	readN(t, mustConsume(t, l, "indexed", testTopic), len(recs))
	if n := indexEntries(t, l); n != 6 {
		t.Fatalf("%d index entries for two appends to three partitions; want 6", n)
	}

	// Fetches of 7 end inside entries; commit after each and resume from
	// a fresh consumer every third fetch.
	seen := map[string]bool{}
	last := map[int32]int64{}
	c := mustConsume(t, l, "g", testTopic)
	for fetches := 0; len(seen) < len(recs); fetches++ {
		if fetches%3 == 2 {
			c.Close()
			l.Close()
			l = open()
			c = mustConsume(t, l, "g", testTopic)
		}
		rs, err := c.Fetch(ctxT(t), 7)
		if err != nil {
			t.Fatalf("fetch after %d records: %v", len(seen), err)
		}
		var offs []Offset
		for _, r := range rs {
			if seen[string(r.Value)] {
				t.Fatalf("record %s read twice", r.Value)
			}
			seen[string(r.Value)] = true
			if prev, ok := last[r.Partition]; ok && r.Offset != prev+1 {
				t.Fatalf("partition %d: offset %d after %d", r.Partition, r.Offset, prev)
			}
			last[r.Partition] = r.Offset
			offs = append(offs, Offset{Topic: r.Topic, Partition: r.Partition, Next: r.Offset + 1})
		}
		if err := c.Commit(ctxT(t), offs...); err != nil {
			t.Fatal(err)
		}
	}
	expectNothing(t, c)
	l.Close()
}

// TestBadgerReadsPerRecordIndex: a log whose index has an entry per
// record (as written before runs) reads back whole, with records appended
// after it, and retention trims it.
func TestBadgerReadsPerRecordIndex(t *testing.T) {
	dir := t.TempDir()
	topics := Topics{Partitions: 2, RetentionBytes: 256}
	l, err := OpenBadger(BadgerConfig{Dir: dir, Topics: Topics{Partitions: 2}})
	if err != nil {
		t.Fatal(err)
	}
	var recs []*Record
	for i := range 40 {
		recs = append(recs, rec(testTopic, fmt.Sprint(i%2), fmt.Sprintf("old-%02d", i)))
	}
	if err := l.Append(ctxT(t), recs...); err != nil {
		t.Fatal(err)
	}
	readN(t, mustConsume(t, l, "indexed", testTopic), len(recs)) // their index is written
	// Rewrite every run as one entry per record, in the older form.
	err = l.db.Update(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{'d'}})
		defer it.Close()
		type entry struct{ k, v []byte }
		var old []entry
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().KeyCopy(nil)
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			old = append(old, entry{k, v})
		}
		for _, e := range old {
			refs, err := decodeRun(nil, e.v)
			if err != nil {
				return err
			}
			prefix := e.k[:len(e.k)-16]
			first, at := parseDataKey(e.k, len(prefix))
			if err := txn.Delete(e.k); err != nil {
				return err
			}
			for i, r := range refs {
				if err := txn.Set(dataKey(prefix, first+int64(i), at), r.encode()); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := indexEntries(t, l); n != 40 {
		t.Fatalf("%d index entries after the rewrite; want 40", n)
	}
	l.Close()

	l, err = OpenBadger(BadgerConfig{Dir: dir, Topics: topics})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := mustConsume(t, l, "g", testTopic)
	got := readN(t, c, 5) // stops inside the old entries
	for i := range 10 {
		if err := l.Append(ctxT(t), rec(testTopic, fmt.Sprint(i%2), fmt.Sprintf("new-%02d", i))); err != nil {
			t.Fatal(err)
		}
	}
	got = append(got, readN(t, c, 45)...)
	values := map[string]bool{}
	for _, r := range got {
		values[string(r.Value)] = true
	}
	for i := range 40 {
		if !values[fmt.Sprintf("old-%02d", i)] {
			t.Fatalf("old-%02d was not read", i)
		}
	}
	if len(values) != 50 {
		t.Fatalf("%d distinct records of 50", len(values))
	}
	if err := l.ApplyRetention(); err != nil {
		t.Fatal(err)
	}
	if n := indexEntries(t, l); n >= 50 || n == 0 {
		t.Fatalf("%d index entries after retention to 256 bytes a partition; want fewer than 50, more than 0", n)
	}
}

// eachIndexEntry calls f with every index entry of the embedded log.
func eachIndexEntry(t *testing.T, l *Badger, f func(*badger.Item) error) {
	t.Helper()
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{'d'}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := f(it.Item()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// indexEntries counts the embedded log's index entries.
func indexEntries(t *testing.T, l *Badger) int {
	t.Helper()
	n := 0
	eachIndexEntry(t, l, func(*badger.Item) error { n++; return nil })
	return n
}

// TestBadgerReadsOldestFirst: fetches return records in the order they
// were appended, whatever their partition, so that records written
// together are read together and none waits behind newer ones.
func TestBadgerReadsOldestFirst(t *testing.T) {
	l, err := OpenBadger(BadgerConfig{Dir: t.TempDir(), Topics: Topics{Partitions: 4}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var want []string
	for i := 0; i < 120; {
		var batch []*Record
		for range 1 + i%9 {
			v := fmt.Sprintf("%03d", i)
			batch = append(batch, rec(testTopic, fmt.Sprint(i*i%11), v))
			want = append(want, v)
			i++
		}
		if err := l.Append(ctxT(t), batch...); err != nil {
			t.Fatal(err)
		}
	}
	c := mustConsume(t, l, "g", testTopic)
	var got []string
	for len(got) < len(want) {
		rs, err := c.Fetch(ctxT(t), 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			got = append(got, string(r.Value))
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("read in the order\n%v\nwant\n%v", got, want)
	}
}

// TestEncodedSize: the size the writer plans a frame with is the size of
// the encoding, across the uvarint lengths' boundaries, and the encoding
// reads back.
func TestEncodedSize(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 16383, 16384, 1 << 21} {
		r := &Record{Key: make([]byte, n%300), Value: make([]byte, n), Time: time.Unix(1, 2)}
		for i := range n % 5 {
			r.Headers = append(r.Headers, Header{Key: strings.Repeat("k", 126+i), Value: make([]byte, n/(i+1))})
		}
		b := encodeRecord(r)
		if len(b) != encodedSize(r) {
			t.Fatalf("%d bytes of value: encoded in %d bytes, planned %d", n, len(b), encodedSize(r))
		}
		got, err := decodeRecord(b)
		if err != nil {
			t.Fatalf("%d bytes of value: %v", n, err)
		}
		if len(got.Value) != n || len(got.Headers) != len(r.Headers) || !got.Time.Equal(r.Time) {
			t.Fatalf("%d bytes of value: read back %d bytes, %d headers", n, len(got.Value), len(got.Headers))
		}
	}
}

// TestBadgerRandomWalk appends batches of random sizes to random
// partitions and reads them back with fetches of random sizes, commits
// now and then, reopens the log and the consumer at random, and crashes
// now and then losing the index written since an earlier reopen (rebuilt
// from the frames): each partition reads back exactly what was appended
// after the last commit, in order, once, at the offsets the appends got.
func TestBadgerRandomWalk(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dir := t.TempDir()
	open := func() *Badger {
		l, err := OpenBadger(BadgerConfig{Dir: dir, SegmentSize: 64 << 10, Topics: Topics{Partitions: 5}})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	l := open()
	defer func() { l.Close() }()
	c := mustConsume(t, l, "g", testTopic)
	appended := map[int32][]string{} // per partition, in offset order
	committed := map[int32]int{}     // per partition, how many were committed
	read := map[int32]int{}          // per partition, how many were read
	next := 0
	// A copy of the index taken at a reopen, with the commits it holds: a
	// crash puts it back, losing every index write since (and commits,
	// which a real crash cannot: a commit is synced before it returns).
	snapshot, snapCommitted := "", map[int32]int{}
	for step := range 400 {
		switch x := rng.IntN(11); {
		case x < 4: // append a batch
			var batch []*Record
			for range 1 + rng.IntN([]int{5, 40, 200}[rng.IntN(3)]) {
				batch = append(batch, rec(testTopic, fmt.Sprint(rng.IntN(9)), fmt.Sprintf("%05d", next)))
				next++
			}
			if err := l.Append(ctxT(t), batch...); err != nil {
				t.Fatal(err)
			}
			for _, r := range batch {
				appended[r.Partition] = append(appended[r.Partition], string(r.Value))
			}
		case x < 8: // fetch what is there, up to a random count
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			rs, err := c.Fetch(ctx, 1+rng.IntN(30))
			cancel()
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatal(err)
			}
			for _, r := range rs {
				want := appended[r.Partition]
				if read[r.Partition] >= len(want) || want[read[r.Partition]] != string(r.Value) || r.Offset != int64(read[r.Partition]) {
					t.Fatalf("step %d: partition %d offset %d: got %s; read %d of %d", step, r.Partition, r.Offset, r.Value, read[r.Partition], len(want))
				}
				read[r.Partition]++
			}
		case x < 9: // commit what was read
			var offs []Offset
			for p, n := range read {
				offs = append(offs, Offset{Topic: testTopic, Partition: p, Next: int64(n)})
				committed[p] = n
			}
			if err := c.Commit(ctxT(t), offs...); err != nil {
				t.Fatal(err)
			}
		case x < 10: // reopen the log, or only the consumer; resume at the commit
			c.Close()
			if rng.IntN(2) == 0 {
				l.Close()
				if snapshot == "" || rng.IntN(3) == 0 {
					snapshot, snapCommitted = t.TempDir(), maps.Clone(committed)
					copyDir(t, filepath.Join(dir, "index"), snapshot)
				}
				l = open()
			}
			c = mustConsume(t, l, "g", testTopic)
			read = maps.Clone(committed)
		default: // crash, losing the index written since the snapshot
			if snapshot == "" {
				continue
			}
			c.Close()
			l.Close()
			os.RemoveAll(filepath.Join(dir, "index"))
			copyDir(t, snapshot, filepath.Join(dir, "index"))
			committed = maps.Clone(snapCommitted)
			l = open()
			c = mustConsume(t, l, "g", testTopic)
			read = maps.Clone(committed)
		}
	}
	// Whatever is left reads back whole.
	left := 0
	for p, want := range appended {
		left += len(want) - read[p]
	}
	for _, r := range readN(t, c, left) {
		if want := appended[r.Partition]; want[read[r.Partition]] != string(r.Value) {
			t.Fatalf("at the end, partition %d offset %d: got %s", r.Partition, r.Offset, r.Value)
		}
		read[r.Partition]++
	}
	expectNothing(t, c)
}

// TestBadgerRebuildsIndex: appends are answered once their frames are
// synced, before their index is; after a crash that lost the index of
// the last appends, opening the log rebuilds it from the frames, with the
// offsets the appends were given. The crash is played by putting back a
// copy of Badger's directory taken before those appends. A frame torn by
// the crash ends the stream, and what follows it is wiped, so that later
// appends are not followed by a stale frame.
func TestBadgerRebuildsIndex(t *testing.T) {
	dir := t.TempDir()
	// Small batches: the rebuilt index entries are cut at that size too.
	cfg := BadgerConfig{Dir: dir, SegmentSize: 64 << 10, MaxBatch: 16, Topics: Topics{Partitions: 3}}
	open := func() *Badger {
		t.Helper()
		l, err := OpenBadger(cfg)
		if err != nil {
			t.Fatalf("cannot open: %v", err)
		}
		return l
	}
	var want []*Record // every record acknowledged, with its place
	appendAll := func(l *Badger, from, to int) {
		t.Helper()
		for i := from; i < to; i += 5 {
			var batch []*Record
			for j := i; j < min(i+5, to); j++ {
				topic := testTopic
				if j%4 == 0 {
					topic = "other"
				}
				batch = append(batch, rec(topic, fmt.Sprint(j%7), fmt.Sprintf("%03d-%s", j, strings.Repeat("v", j*37%900))))
			}
			if err := l.Append(ctxT(t), batch...); err != nil {
				t.Fatal(err)
			}
			want = append(want, batch...)
		}
	}
	check := func(l *Badger, group string) {
		t.Helper()
		var got []*Record
		for _, topic := range []string{testTopic, "other"} {
			n := 0
			for _, r := range want {
				if r.Topic == topic {
					n++
				}
			}
			got = append(got, readN(t, mustConsume(t, l, group, topic), n)...)
		}
		byPlace := map[string]*Record{}
		for _, r := range got {
			byPlace[fmt.Sprintf("%s/%d@%d", r.Topic, r.Partition, r.Offset)] = r
		}
		for _, w := range want {
			place := fmt.Sprintf("%s/%d@%d", w.Topic, w.Partition, w.Offset)
			r := byPlace[place]
			if r == nil || string(r.Value) != string(w.Value) || string(r.Headers[0].Value) != "v-"+string(w.Value) {
				t.Fatalf("%s: want %.10q…, got %v", place, w.Value, r)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("read %d records, want %d", len(got), len(want))
		}
	}

	l := open()
	appendAll(l, 0, 100)
	l.Close()
	saved := t.TempDir()
	copyDir(t, filepath.Join(dir, "index"), saved)
	l = open()
	appendAll(l, 100, 400) // over several segment files
	l.Close()
	restore := func() {
		os.RemoveAll(filepath.Join(dir, "index"))
		copyDir(t, saved, filepath.Join(dir, "index"))
	}
	restore()

	// reopen opens the log and checks how many records' index it rebuilt.
	reopen := func(want uint64) *Badger {
		t.Helper()
		before := badgerRecovered.Get()
		l := open()
		if n := badgerRecovered.Get() - before; n != want {
			t.Fatalf("rebuilt the index of %d records, want %d", n, want)
		}
		return l
	}
	l = reopen(300)
	if n := longestRun(t, l); n > cfg.MaxBatch {
		t.Fatalf("a rebuilt index entry holds %d records, more than a batch's %d", n, cfg.MaxBatch)
	}
	check(l, "g1")
	appendAll(l, 400, 420) // offsets go on after the rebuilt ones
	check(l, "g2")
	l.Close()

	// Opening again finds the index whole: nothing to rebuild, nothing twice.
	l = reopen(0)
	check(l, "g3")
	l.Close()

	// An index whose write position is behind its entries (a batch
	// indexed in two transactions, the first of which says where the
	// batch starts): the frames it has are not indexed twice.
	db, err := badger.Open(EdgeOptions(filepath.Join(dir, "index"), 1<<20, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(txn *badger.Txn) error {
		return txn.Set(writePosKey, segRef{seg: 1}.encode())
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	l = reopen(0)
	check(l, "g4")
	l.Close()

	// A crash in the middle of a frame: its start is written, the rest is
	// not. The frames before it are indexed; it and what follows are not.
	restore()
	last, end := streamEnd(t, dir)
	f, err := os.OpenFile(last, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	torn := append([]byte{0x80, 0, 0, 100, 1, 2, 3, 4}, make([]byte, 40)...)
	torn = append(torn, 9, 9, 9)
	f.WriteAt(torn, end)
	l = open()
	after := make([]byte, len(torn))
	f.ReadAt(after, end)
	f.Close()
	if slices.ContainsFunc(after, func(b byte) bool { return b != 0 }) {
		t.Fatalf("the torn frame was left in place: % x", after)
	}
	check(l, "g5")
	appendAll(l, 420, 430)
	l.Close()
	l = open()
	defer l.Close()
	check(l, "g6")
}

// longestRun is the record count of the log's largest index entry.
func longestRun(t *testing.T, l *Badger) int {
	t.Helper()
	longest := 0
	eachIndexEntry(t, l, func(item *badger.Item) error {
		return item.Value(func(v []byte) error {
			refs, err := decodeRun(nil, v)
			longest = max(longest, len(refs))
			return err
		})
	})
	return longest
}

// copyDir copies the files of directory from into to.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o750); err != nil {
		t.Fatal(err)
	}
	names, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range names {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err == nil {
			err = os.WriteFile(filepath.Join(to, e.Name()), b, 0o640)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func lastSegment(t *testing.T, dir string) string {
	names, _ := filepath.Glob(filepath.Join(dir, "segments", "*.seg"))
	slices.Sort(names)
	if len(names) == 0 {
		t.Fatal("no segment file")
	}
	return names[len(names)-1]
}

// streamEnd is where the frames end, found as opening the log finds it,
// and the file it is in.
func streamEnd(t *testing.T, dir string) (string, int64) {
	t.Helper()
	s, err := openSegments(filepath.Join(dir, "segments"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	end, torn, err := s.scan(segRef{seg: slices.Min(slices.Collect(maps.Keys(s.files)))},
		func(*Record, []byte, segRef) error { return nil })
	if err != nil || torn {
		t.Fatalf("the stream before the crash: torn %v, %v", torn, err)
	}
	return s.path(end.seg), end.pos
}

// TestBadgerReadsPastSkipped: a fetch whose records were all skipped (a
// torn frame, never acknowledged) goes on to the next ones instead of
// waiting for another append.
func TestBadgerReadsPastSkipped(t *testing.T) {
	dir := t.TempDir()
	l, err := OpenBadger(BadgerConfig{Dir: dir, Topics: Topics{Partitions: 1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"one", "two"} {
		if err := l.Append(ctxT(t), rec(testTopic, "k", v)); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	f, err := os.OpenFile(lastSegment(t, dir), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0xff}, frameHeader+3) // in the first record's place
	f.Close()
	l, err = OpenBadger(BadgerConfig{Dir: dir, Topics: Topics{Partitions: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got := readN(t, mustConsume(t, l, "g", testTopic), 1); string(got[0].Value) != "two" {
		t.Fatalf("got %q, want two", got[0].Value)
	}
}

// TestDecodeFrameWithoutPlace: frames written before frames carried their
// record's place still read.
func TestDecodeFrameWithoutPlace(t *testing.T) {
	r := rec(testTopic, "k", "old")
	r.Time = time.Unix(1700000000, 0)
	body := encodeRecord(r)
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	frame = binary.BigEndian.AppendUint32(frame, crc32.Checksum(body, crcTable))
	got, topic, err := decodeFrame(append(frame, body...))
	if err != nil || topic != nil || string(got.Value) != "old" || string(got.Key) != "k" || !got.Time.Equal(r.Time) {
		t.Fatalf("got %+v, topic %q, %v", got, topic, err)
	}
}

// TestBadgerIndexWriteFails: an index write that fails leaves its record
// unseen; the log takes no more appends and says why, and the next open
// rebuilds the lost entry from the frame.
func TestBadgerIndexWriteFails(t *testing.T) {
	var fail atomic.Bool
	testHookIndexWrite = func() error {
		if fail.Load() {
			return errors.New("disk gone")
		}
		return nil
	}
	defer func() { testHookIndexWrite = nil }()
	cfg := BadgerConfig{Dir: t.TempDir(), Topics: Topics{Partitions: 1}}
	l, err := OpenBadger(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append(ctxT(t), rec(testTopic, "k", "before")); err != nil {
		t.Fatal(err)
	}
	c := mustConsume(t, l, "g", testTopic)
	if rs := readN(t, c, 1); string(rs[0].Value) != "before" { // its index is written
		t.Fatalf("read %q, want before", rs[0].Value)
	}
	fail.Store(true)
	// Answered nil if its frame was synced before the index failed, else
	// the index's error; either way the frame is written and synced.
	if err := l.Append(ctxT(t), rec(testTopic, "k", "unindexed")); err != nil && !strings.Contains(err.Error(), "disk gone") {
		t.Fatalf("the append whose index failed: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for l.Ping(ctxT(t)) == nil {
		if time.Now().After(deadline) {
			t.Fatal("Ping still answers nil after a failed index write")
		}
		time.Sleep(5 * time.Millisecond)
	}
	fail.Store(false)
	err = l.Append(ctxT(t), rec(testTopic, "k", "refused"))
	if err == nil || !strings.Contains(err.Error(), "disk gone") || !strings.Contains(err.Error(), "restart") {
		t.Fatalf("append after a failed index write: %v; want refused, saying why and what to do", err)
	}
	expectNothing(t, c) // its index entry is lost until the restart
	l.Close()

	if l, err = OpenBadger(cfg); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Ping(ctxT(t)); err != nil {
		t.Fatalf("Ping after the restart: %v", err)
	}
	if err := l.Append(ctxT(t), rec(testTopic, "k", "after")); err != nil {
		t.Fatal(err)
	}
	rs := readN(t, mustConsume(t, l, "g2", testTopic), 3)
	for i, want := range []string{"before", "unindexed", "after"} {
		if string(rs[i].Value) != want || rs[i].Offset != int64(i) {
			t.Fatalf("record %d: %q at offset %d, want %q at %d", i, rs[i].Value, rs[i].Offset, want, i)
		}
	}
}
