package stream

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// backend opens one implementation of Log on storage that outlives a
// single Log, so that a test can close the log and open it again.
type backend interface {
	// open opens a Log on the backend's storage with these topic settings.
	open(t *testing.T, topics Topics) Log
	// restart stops what stands behind the log (a broker, nothing for
	// Badger) after the log was closed, and starts it again on the same data.
	restart(t *testing.T)
	// applyRetention runs one retention pass now.
	applyRetention(t *testing.T, l Log)
}

// forEachBackend runs one test body over every implementation, so both
// keep the same contract.
func forEachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	t.Run("badger", func(t *testing.T) { f(t, newBadgerBackend(t)) })
	t.Run("kafka", func(t *testing.T) { f(t, newKafkaBackend(t)) })
}

const testTopic = "wa.test"

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func rec(topic, key, value string) *Record {
	return &Record{Topic: topic, Key: []byte(key), Value: []byte(value),
		Headers: []Header{{Key: "h", Value: []byte("v-" + value)}}}
}

// readN fetches until n records arrived, failing the test on a deadline.
func readN(t *testing.T, c Consumer, n int) []*Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got []*Record
	for len(got) < n {
		rs, err := c.Fetch(ctx, n-len(got))
		if err != nil {
			t.Fatalf("fetch after %d of %d records: %v", len(got), n, err)
		}
		got = append(got, rs...)
	}
	return got
}

// expectNothing checks that no record arrives within a short wait.
func expectNothing(t *testing.T, c Consumer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	rs, err := c.Fetch(ctx, 10)
	if len(rs) > 0 {
		t.Fatalf("got %d unexpected records, first %q at offset %d", len(rs), rs[0].Value, rs[0].Offset)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("fetch on an empty log: got err %v; want context.DeadlineExceeded", err)
	}
}

func mustConsume(t *testing.T, l Log, group string, topics ...string) Consumer {
	t.Helper()
	c, err := l.Consume(group, topics...)
	if err != nil {
		t.Fatalf("cannot consume: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestOrderPerPartition(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		l := b.open(t, Topics{Partitions: 4})
		const keys, perKey = 12, 50
		for i := range perKey {
			var batch []*Record
			for k := range keys {
				batch = append(batch, rec(testTopic, fmt.Sprintf("k%d", k), fmt.Sprintf("%d/%d", k, i)))
			}
			if err := l.Append(ctxT(t), batch...); err != nil {
				t.Fatalf("append: %v", err)
			}
			for _, r := range batch {
				if want := partitionFor(r.Key, 4); r.Partition != want {
					t.Fatalf("key %s on partition %d; want %d", r.Key, r.Partition, want)
				}
			}
		}
		got := readN(t, mustConsume(t, l, "g", testTopic), keys*perKey)
		next := map[int32]int64{}
		seen := map[string]int{}
		for _, r := range got {
			if want, ok := next[r.Partition]; ok && r.Offset != want {
				t.Fatalf("partition %d: offset %d after %d; want contiguous offsets", r.Partition, r.Offset, want-1)
			}
			next[r.Partition] = r.Offset + 1
			var k, i int
			fmt.Sscanf(string(r.Value), "%d/%d", &k, &i)
			if want := seen[string(r.Key)]; i != want {
				t.Fatalf("key %s: got record %d; want %d", r.Key, i, want)
			}
			seen[string(r.Key)]++
			if h := string(r.Header("h")); h != "v-"+string(r.Value) {
				t.Fatalf("header h = %q; want %q", h, "v-"+string(r.Value))
			}
			if r.Time.IsZero() || time.Since(r.Time) > time.Minute {
				t.Fatalf("record time %v; want the append time", r.Time)
			}
		}
		if len(seen) != keys {
			t.Fatalf("got %d keys; want %d", len(seen), keys)
		}
	})
}

func TestDurableAcrossReopen(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		l := b.open(t, Topics{Partitions: 3})
		var want []string
		for i := range 300 {
			v := fmt.Sprintf("payload-%03d", i)
			want = append(want, v)
			if err := l.Append(ctxT(t), rec(testTopic, fmt.Sprint(i%7), v)); err != nil {
				t.Fatalf("append: %v", err)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		if err := l.Append(ctxT(t), rec(testTopic, "k", "late")); !errors.Is(err, ErrClosed) {
			t.Fatalf("append after close: got %v; want ErrClosed", err)
		}
		b.restart(t)
		l = b.open(t, Topics{Partitions: 3})
		var got []string
		for _, r := range readN(t, mustConsume(t, l, "g", testTopic), len(want)) {
			got = append(got, string(r.Value))
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("after reopen got %d records %v…; want %d", len(got), got[:min(3, len(got))], len(want))
		}
		// Appends after reopen continue the offsets.
		r := rec(testTopic, "0", "after")
		if err := l.Append(ctxT(t), r); err != nil {
			t.Fatalf("append after reopen: %v", err)
		}
		if r.Offset == 0 {
			t.Fatalf("offset after reopen is 0; want it to continue the partition")
		}
	})
}

func TestCommitAndResume(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		l := b.open(t, Topics{Partitions: 2})
		other := "wa.other"
		for i := range 100 {
			if err := l.Append(ctxT(t), rec(testTopic, fmt.Sprint(i%5), fmt.Sprint(i)), rec(other, "x", fmt.Sprint(i))); err != nil {
				t.Fatalf("append: %v", err)
			}
		}
		c := mustConsume(t, l, "g", testTopic, other)
		got := readN(t, c, 200)
		// Commit the first half of what each partition gave.
		perPart := map[Offset][]*Record{}
		for _, r := range got {
			k := Offset{Topic: r.Topic, Partition: r.Partition}
			perPart[k] = append(perPart[k], r)
		}
		var commits []Offset
		wantRest := map[string]bool{}
		for _, rs := range perPart {
			half := len(rs) / 2
			commits = append(commits, rs[half-1].NextOffset())
			for _, r := range rs[half:] {
				wantRest[r.Topic+"/"+string(r.Value)] = true
			}
		}
		if err := c.Commit(ctxT(t), commits...); err != nil {
			t.Fatalf("commit: %v", err)
		}
		if err := c.Close(); err != nil {
			t.Fatalf("close consumer: %v", err)
		}
		if err := l.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		b.restart(t)
		l = b.open(t, Topics{Partitions: 2})
		c = mustConsume(t, l, "g", testTopic, other)
		rest := readN(t, c, len(wantRest))
		for _, r := range rest {
			if !wantRest[r.Topic+"/"+string(r.Value)] {
				t.Fatalf("resumed at %s %q, which was committed", r.Topic, r.Value)
			}
		}
		expectNothing(t, c)
		// Another group starts from the beginning.
		if n := len(readN(t, mustConsume(t, l, "g2", testTopic, other), 200)); n != 200 {
			t.Fatalf("new group read %d records; want 200", n)
		}
	})
}

func TestFetchWaitsForAppend(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		l := b.open(t, Topics{Partitions: 2})
		c := mustConsume(t, l, "g", testTopic)
		expectNothing(t, c)
		go func() {
			time.Sleep(100 * time.Millisecond)
			l.Append(context.Background(), rec(testTopic, "k", "wake"))
		}()
		if rs := readN(t, c, 1); string(rs[0].Value) != "wake" {
			t.Fatalf("got %q; want wake", rs[0].Value)
		}
	})
}

func TestConcurrentProducers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		l := b.open(t, Topics{Partitions: 4})
		const producers, each = 8, 150
		var wg sync.WaitGroup
		errs := make(chan error, producers)
		for p := range producers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i += 3 {
					var batch []*Record
					for j := i; j < i+3 && j < each; j++ {
						batch = append(batch, rec(testTopic, fmt.Sprintf("p%d", p), fmt.Sprintf("%d:%d", p, j)))
					}
					if err := l.Append(context.Background(), batch...); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("append: %v", err)
		}
		next := map[int]int{}
		for _, r := range readN(t, mustConsume(t, l, "g", testTopic), producers*each) {
			var p, i int
			fmt.Sscanf(string(r.Value), "%d:%d", &p, &i)
			if i != next[p] {
				t.Fatalf("producer %d: got record %d; want %d", p, i, next[p])
			}
			next[p]++
		}
		for p := range producers {
			if next[p] != each {
				t.Fatalf("producer %d: got %d records; want %d", p, next[p], each)
			}
		}
	})
}

func TestRetentionByAge(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		l := b.open(t, Topics{Partitions: 1, RetentionAge: 200 * time.Millisecond})
		for _, v := range []string{"old1", "old2"} {
			if err := l.Append(ctxT(t), rec(testTopic, "k", v)); err != nil {
				t.Fatalf("append: %v", err)
			}
		}
		time.Sleep(400 * time.Millisecond)
		if err := l.Append(ctxT(t), rec(testTopic, "k", "new")); err != nil {
			t.Fatalf("append: %v", err)
		}
		b.applyRetention(t, l)
		c := mustConsume(t, l, "g", testTopic)
		if rs := readN(t, c, 1); string(rs[0].Value) != "new" || rs[0].Offset != 2 {
			t.Fatalf("after retention got %q at offset %d; want new at 2", rs[0].Value, rs[0].Offset)
		}
		expectNothing(t, c)
		if bs, err := l.Bounds(ctxT(t), testTopic); err != nil || !slices.Equal(bs, []Bound{{Partition: 0, Start: 2, End: 3}}) {
			t.Fatalf("bounds after retention %+v, %v; want offsets 2 to 3", bs, err)
		}
	})
}

// TestReadersWithoutGroup: consumers without a group each read every
// partition from the start, alone, and cannot commit; Bounds says where
// each partition ends.
func TestReadersWithoutGroup(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		l := b.open(t, Topics{Partitions: 3})
		if bs, err := l.Bounds(ctxT(t), "wa.never"); err != nil || len(bs) != 0 {
			t.Fatalf("bounds of a topic never written: %+v, %v; want none", bs, err)
		}
		var recs []*Record
		for i := range 60 {
			recs = append(recs, rec(testTopic, fmt.Sprint(i%7), fmt.Sprint(i)))
		}
		if err := l.Append(ctxT(t), recs...); err != nil {
			t.Fatalf("append: %v", err)
		}
		want := make([]Bound, 3)
		for i := range want {
			want[i].Partition = int32(i)
		}
		for _, r := range recs {
			want[r.Partition].End = max(want[r.Partition].End, r.Offset+1)
		}
		// A group that committed everything does not move the readers.
		g := mustConsume(t, l, "g", testTopic)
		var commits []Offset
		for _, r := range readN(t, g, 60) {
			commits = append(commits, r.NextOffset())
		}
		// Every record is readable now, so the bounds hold them all.
		if bs, err := l.Bounds(ctxT(t), testTopic); err != nil || !slices.Equal(bs, want) {
			t.Fatalf("bounds %+v, %v; want %+v", bs, err, want)
		}
		if err := g.Commit(ctxT(t), commits...); err != nil {
			t.Fatalf("commit: %v", err)
		}
		r1, r2 := mustConsume(t, l, "", testTopic), mustConsume(t, l, "", testTopic)
		for _, c := range []Consumer{r1, r2} {
			seen := map[string]bool{}
			for _, r := range readN(t, c, 60) {
				seen[string(r.Value)] = true
			}
			if len(seen) != 60 {
				t.Fatalf("a reader without a group read %d distinct records; want all 60", len(seen))
			}
			expectNothing(t, c)
		}
		if err := r1.Commit(ctxT(t), Offset{Topic: testTopic, Partition: 0, Next: 1}); !errors.Is(err, ErrNoGroup) {
			t.Fatalf("commit without a group: %v; want ErrNoGroup", err)
		}
		for _, c := range []Consumer{r1, r2} {
			if err := c.Close(); err != nil {
				t.Fatalf("close a reader without a group: %v", err)
			}
		}
	})
}

func TestRetentionBySize(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		// Each record is about 1 KiB; the cap keeps the newest few.
		l := b.open(t, Topics{Partitions: 1, RetentionBytes: 4 << 10})
		// Letters that do not compress, so both logs count alike.
		rnd := rand.New(rand.NewPCG(1, 2))
		letters := make([]byte, 1000)
		for i := range letters {
			letters[i] = 'a' + byte(rnd.IntN(26))
		}
		big := string(letters)
		for i := range 20 {
			if err := l.Append(ctxT(t), rec(testTopic, "k", fmt.Sprintf("%02d%s", i, big))); err != nil {
				t.Fatalf("append: %v", err)
			}
		}
		b.applyRetention(t, l)
		c := mustConsume(t, l, "g", testTopic)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var kept []*Record
		for {
			rs, err := c.Fetch(ctx, 100)
			kept = append(kept, rs...)
			if err != nil || (len(kept) > 0 && kept[len(kept)-1].Offset == 19) {
				break
			}
		}
		if len(kept) == 0 || len(kept) > 5 {
			t.Fatalf("after size retention %d records remain; want 1 to 5", len(kept))
		}
		if last := kept[len(kept)-1]; last.Offset != 19 {
			t.Fatalf("newest record has offset %d; want 19 kept", last.Offset)
		}
	})
}

func TestLag(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		l := b.open(t, Topics{Partitions: 3})
		for i := range 30 {
			if err := l.Append(ctxT(t), rec(testTopic, fmt.Sprint(i), fmt.Sprint(i))); err != nil {
				t.Fatalf("append: %v", err)
			}
		}
		c := mustConsume(t, l, "g", testTopic)
		got := readN(t, c, 30)
		// Commit 10 of them: the first ten of what came, per partition.
		next := map[int32]Offset{}
		for _, r := range got[:10] {
			next[r.Partition] = r.NextOffset()
		}
		var commits []Offset
		for _, o := range next {
			commits = append(commits, o)
		}
		if err := c.Commit(ctxT(t), commits...); err != nil {
			t.Fatalf("commit: %v", err)
		}
		// Records of one partition come in order, but the first ten of
		// the fetch need not be a prefix of each partition: count what the
		// commits leave.
		want := int64(30)
		for _, o := range next {
			want -= o.Next
		}
		ps, err := l.(Lagger).Positions(ctxT(t), "g", testTopic)
		if err != nil {
			t.Fatalf("positions: %v", err)
		}
		if lag := Lag(ps); lag != want {
			t.Fatalf("lag = %d; want %d", lag, want)
		}
		var end int64
		for _, p := range ps {
			end += p.End
			if o, ok := next[p.Partition]; ok && p.Committed != o.Next {
				t.Errorf("partition %d: committed %d; want %d", p.Partition, p.Committed, o.Next)
			}
		}
		if end != 30 {
			t.Errorf("the partitions end at %d records in all; want 30", end)
		}
	})
}
