package bot

import (
	"testing"
	"time"
)

func TestMemoryBudget(t *testing.T) {
	var b MemoryBudget
	day := time.Date(2026, 3, 1, 23, 59, 0, 0, time.UTC)
	b.Add("a", day, 10)
	b.Add("a", day.Add(30*time.Second), 5)
	b.Add("b", day, 7)
	if got := b.Used("a", day); got != 15 {
		t.Errorf("used a = %d; want 15", got)
	}
	if got := b.Used("b", day); got != 7 {
		t.Errorf("used b = %d; want 7", got)
	}
	// The same instant in another zone is the same UTC day.
	madrid := time.FixedZone("CET", 3600)
	if got := b.Used("a", day.In(madrid)); got != 15 {
		t.Errorf("used a in another zone = %d; want 15", got)
	}
	next := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	if got := b.Used("a", next); got != 0 {
		t.Errorf("used a the next UTC day = %d; want 0", got)
	}
	b.Add("a", next, 1)
	if got := b.Used("a", next); got != 1 {
		t.Errorf("used a after adding the next day = %d; want 1", got)
	}
	if got := b.Used("c", day); got != 0 {
		t.Errorf("used by an unknown tenant = %d; want 0", got)
	}
}

func TestBreaker(t *testing.T) {
	b := breaker{max: 2, cooldown: time.Minute}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	step := func(ok, wantOpened, wantClosed bool) {
		t.Helper()
		if !b.allow(now) {
			t.Fatalf("allow = false; want true")
		}
		opened, closed := b.done(now, ok)
		if opened != wantOpened || closed != wantClosed {
			t.Errorf("done(%v) = %v, %v; want %v, %v", ok, opened, closed, wantOpened, wantClosed)
		}
	}
	step(false, false, false)
	step(true, false, false) // resets the count
	step(false, false, false)
	step(false, true, false)
	if b.allow(now.Add(59 * time.Second)) {
		t.Errorf("allow during the cooldown = true; want false")
	}
	now = now.Add(time.Minute)
	step(false, false, false) // the trial fails: open again
	if b.allow(now.Add(time.Second)) {
		t.Errorf("allow after a failed trial = true; want false")
	}
	now = now.Add(time.Minute)
	if !b.allow(now) {
		t.Fatalf("allow after the cooldown = false; want a trial")
	}
	if b.allow(now) {
		t.Errorf("a second trial while one is in flight; want one at a time")
	}
	b.release()
	step(true, false, true)
	if !b.allow(now) {
		t.Errorf("allow after closing = false; want true")
	}
	b.done(now, true)

	off := breaker{max: 0}
	for range 10 {
		off.done(now, false)
	}
	if !off.allow(now) {
		t.Errorf("a breaker turned off refused a call")
	}
}
