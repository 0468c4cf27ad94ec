package sender_test

import (
	"context"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"wasp/sender"
)

// BenchmarkGraphSend measures Send against an in-process fasthttp server
// on loopback that answers Meta's success body, with 64 concurrent
// senders, and reports sends per second.
func BenchmarkGraphSend(b *testing.B) {
	answer, err := os.ReadFile("testdata/answers/response_send_success.json")
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBody(answer)
	}}
	go srv.Serve(ln)
	defer srv.Shutdown()

	g := sender.NewGraph(sender.GraphConfig{BaseURL: "http://" + ln.Addr().String()})
	body, err := sender.NewBody(sender.Recipient{Phone: "16505551234"}, &sender.Text{Body: "Your order ships today."},
		sender.BodyOptions{CallbackData: "wasp1:cmd_0123456789abcdef01234567"})
	if err != nil {
		b.Fatal(err)
	}
	const senders = 64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range senders {
		n := b.N / senders
		if w < b.N%senders {
			n++
		}
		wg.Go(func() {
			for range n {
				resp, err := g.Send(context.Background(), "token", "106540352242922", body)
				if err != nil || resp.WAMID() == "" {
					b.Errorf("got %v, %v", resp, err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sends/s")
}
