package stream

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	second := int64(frameHeader + len(encodeRecord(rec(testTopic, "k", "one"))))
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
