package logs

import (
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	th := Throttle{Every: time.Hour}
	if !th.Allow() {
		t.Fatal("the first event did not pass")
	}
	if th.Allow() {
		t.Fatal("a second event passed within the period")
	}
	th = Throttle{Every: time.Millisecond}
	th.Allow()
	time.Sleep(2 * time.Millisecond)
	if !th.Allow() {
		t.Fatal("an event after the period did not pass")
	}
}
