package sim

import (
	"encoding/json"
	"sync"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

// Scripted fault kinds.
const (
	faultCode = iota
	fault5xx
	faultTimeout
)

type fault struct {
	kind int
	code int
}

// faultQueue holds the faults scripted with FailNext and friends. The send
// path reads an atomic count first, so an empty queue costs no lock.
type faultQueue struct {
	mu    sync.Mutex
	next  []fault
	count atomic.Int64
}

func (f *faultQueue) push(n int, x fault) {
	if n <= 0 {
		return
	}
	f.mu.Lock()
	for range n {
		f.next = append(f.next, x)
	}
	f.count.Store(int64(len(f.next)))
	f.mu.Unlock()
}

func (f *faultQueue) pop() (fault, bool) {
	if f.count.Load() == 0 {
		return fault{}, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.next) == 0 {
		return fault{}, false
	}
	x := f.next[0]
	f.next = f.next[1:]
	f.count.Store(int64(len(f.next)))
	return x, true
}

func (f *faultQueue) clear() {
	f.mu.Lock()
	f.next = nil
	f.count.Store(0)
	f.mu.Unlock()
}

// handleControl serves the test controls under /_sim/ (no token needed):
//
//	GET  /_sim/report   the Report as JSON
//	GET  /_sim/sends    the accepted sends as JSON
//	POST /_sim/reset    Reset
//	POST /_sim/window   {"phone_number_id","user"}: OpenWindow
//	POST /_sim/fail     {"n","code"} FailNext, {"n","kind":"5xx"} FailNext5xx, {"n","kind":"timeout"} FailNextTimeout
//	POST /_sim/inbound  {"phone_number_id","user","type"}: Inbound, answers {"id"}
func (s *Sim) handleControl(ctx *fasthttp.RequestCtx) {
	var req struct {
		PhoneNumberID string `json:"phone_number_id"`
		User          string `json:"user"`
		Type          string `json:"type"`
		N             int    `json:"n"`
		Code          int    `json:"code"`
		Kind          string `json:"kind"`
	}
	if ctx.IsPost() && len(ctx.PostBody()) > 0 {
		if err := json.Unmarshal(ctx.PostBody(), &req); err != nil {
			ctx.Error("cannot parse the request: "+err.Error(), fasthttp.StatusBadRequest)
			return
		}
	}
	get, post := ctx.IsGet(), ctx.IsPost()
	switch path := string(ctx.Path()); {
	case path == "/_sim/report" && get:
		writeJSON(ctx, s.Report())
	case path == "/_sim/sends" && get:
		sends := s.Sends()
		if sends == nil {
			sends = []Send{}
		}
		writeJSON(ctx, sends)
	case path == "/_sim/reset" && post:
		s.Reset()
		writeSuccess(ctx)
	case path == "/_sim/window" && post:
		if err := s.OpenWindow(req.PhoneNumberID, req.User); err != nil {
			ctx.Error(err.Error(), fasthttp.StatusBadRequest)
			return
		}
		writeSuccess(ctx)
	case path == "/_sim/fail" && post:
		switch req.Kind {
		case "", "code":
			if req.Code == 0 {
				ctx.Error("cannot script a fault: code is missing", fasthttp.StatusBadRequest)
				return
			}
			s.FailNext(req.N, req.Code)
		case "5xx":
			s.FailNext5xx(req.N)
		case "timeout":
			s.FailNextTimeout(req.N)
		default:
			ctx.Error(`cannot script a fault: kind is not "code", "5xx" or "timeout"`, fasthttp.StatusBadRequest)
			return
		}
		writeSuccess(ctx)
	case path == "/_sim/inbound" && post:
		id, err := s.Inbound(req.PhoneNumberID, req.User, req.Type)
		if err != nil {
			ctx.Error(err.Error(), fasthttp.StatusBadRequest)
			return
		}
		writeJSON(ctx, object{{"id", id}})
	default:
		ctx.Error("not found", fasthttp.StatusNotFound)
	}
}
