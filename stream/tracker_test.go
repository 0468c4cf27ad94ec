package stream

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestTracker(t *testing.T) {
	tr := NewTracker()
	recs := make([]*Record, 6)
	for i := range recs {
		recs[i] = &Record{Topic: "t", Partition: int32(i % 2), Offset: int64(i / 2)}
		tr.Add(recs[i])
	}
	f := func(want string) {
		t.Helper()
		if got := fmt.Sprint(tr.Commits()); got != want {
			t.Fatalf("commits %s; want %s", got, want)
		}
	}
	f("[]")
	tr.Done(recs[2]) // partition 0, offset 1: offset 0 still open
	f("[]")
	tr.Done(recs[0])
	f("[{t 0 2}]") // offsets 0 and 1 done: resume at 2
	tr.Done(recs[5])
	f("[]") // partition 1 offset 2 done, 0 and 1 are not
	tr.Done(recs[1])
	tr.Done(recs[3])
	f("[{t 1 3}]")
	tr.Done(recs[4])
	f("[{t 0 3}]")
	if n := tr.Pending(); n != 0 {
		t.Fatalf("pending %d; want 0", n)
	}
}

// failingCommits is a Consumer whose Commit fails while fail is set.
type failingCommits struct {
	Consumer
	fail bool
	got  []Offset
}

func (f *failingCommits) Commit(_ context.Context, offs ...Offset) error {
	if f.fail {
		return errors.New("broker away")
	}
	f.got = append(f.got, offs...)
	return nil
}

func TestCommitDoneRetriesAFailedCommit(t *testing.T) {
	tr := NewTracker()
	r := &Record{Topic: "t", Partition: 0, Offset: 7}
	tr.Add(r)
	tr.Done(r)
	c := &failingCommits{fail: true}
	if err := CommitDone(context.Background(), c, tr, nil); err == nil {
		t.Fatal("a failed commit was not reported")
	}
	c.fail = false
	// A flush that fails commits nothing, and the offsets come again.
	if err := CommitDone(context.Background(), c, tr, func() error { return errors.New("disk away") }); err == nil || len(c.got) > 0 {
		t.Fatalf("a failed flush: err %v, committed %v; want an error and nothing", err, c.got)
	}
	flushed := false
	if err := CommitDone(context.Background(), c, tr, func() error { flushed = true; return nil }); err != nil || !flushed || fmt.Sprint(c.got) != "[{t 0 8}]" {
		t.Fatalf("after the failures committed %v (%v, flushed %v); want [{t 0 8}] after a flush", c.got, err, flushed)
	}
}
