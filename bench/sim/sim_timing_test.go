package sim

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// unlimited is a simulator configuration with every limit off, for load.
func unlimited() Config {
	return Config{
		Numbers:   []Number{{PhoneNumberID: phoneID, ThroughputMPS: -1}},
		PairLimit: PairLimit{Burst: -1},
		KeepSends: -1,
	}
}

// BenchmarkSendHTTP measures the sends per second the simulator answers
// over loopback with its limits off: 64 concurrent connections of a
// fasthttp client, text messages to 1,000 recipients.
//
//	go test -run '^$' -bench SendHTTP -benchtime 200000x ./bench/sim
func BenchmarkSendHTTP(b *testing.B) {
	s := start(b, unlimited())
	const conns = 64
	client := &fasthttp.HostClient{Addr: strings.TrimPrefix(s.URL(), "http://"), MaxConns: conns}
	uri := s.URL() + "/v25.0/" + phoneID + "/messages"
	bodies := make([][]byte, 1000)
	for i := range bodies {
		bodies[i] = []byte(textTo(fmt.Sprintf("+1650555%04d", i), "Your order #4512 has shipped and will arrive tomorrow between 9 and 12."))
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	began := time.Now()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI(uri)
			req.Header.SetMethod(fasthttp.MethodPost)
			req.Header.SetContentType("application/json")
			req.Header.Set("Authorization", "Bearer "+testToken)
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				req.SetBodyRaw(bodies[i%int64(len(bodies))])
				if err := client.Do(req, resp); err != nil || resp.StatusCode() != fasthttp.StatusOK {
					b.Errorf("send: %v, status %d: %s", err, resp.StatusCode(), resp.Body())
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "sends/s")
	if got := s.Report().Numbers[phoneID].Accepted; got != int64(b.N) {
		b.Errorf("got %d sends accepted; want %d", got, b.N)
	}
}

// BenchmarkHandleSend measures the send handler alone, without the
// network: parsing, validation, limits (on, but set so that none trips),
// the record, and the answer.
func BenchmarkHandleSend(b *testing.B) {
	cfg := unlimited()
	cfg.Numbers[0].ThroughputMPS = 1 << 30
	cfg.PairLimit = PairLimit{Burst: 45, Interval: time.Nanosecond}
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(textTo("+16505551234", "Your order #4512 has shipped and will arrive tomorrow between 9 and 12."))
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/v25.0/" + phoneID + "/messages")
	ctx.Request.Header.SetMethod(fasthttp.MethodPost)
	ctx.Request.Header.Set("Authorization", "Bearer x")
	ctx.Request.SetBody(body)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		ctx.Response.Reset()
		s.handle(&ctx)
		if ctx.Response.StatusCode() != fasthttp.StatusOK {
			b.Fatalf("got %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}
