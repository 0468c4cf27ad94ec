// Package logs holds the two small logging pieces the HTTP servers share:
// a throttle for logs of a failure that repeats, and fasthttp's logger on
// slog.
package logs

import (
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// Throttle lets one event through per Every; the first always passes. It
// is safe for concurrent use.
type Throttle struct {
	Every time.Duration
	last  atomic.Int64
}

// Allow reports whether an event may pass now.
func (t *Throttle) Allow() bool {
	now := time.Now().UnixNano()
	last := t.last.Load()
	return now-last >= int64(t.Every) && t.last.CompareAndSwap(last, now)
}

// Fasthttp is fasthttp's Logger writing to L at debug level, each line
// after Prefix.
type Fasthttp struct {
	L      *slog.Logger
	Prefix string
}

// Printf implements fasthttp.Logger.
func (f Fasthttp) Printf(format string, args ...any) {
	f.L.Debug(f.Prefix + fmt.Sprintf(format, args...))
}
