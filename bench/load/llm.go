package load

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// llm is an OpenAI-compatible model for the slow-llm scenario: POST
// /v1/chat/completions answers a short reply after latency × [0.5, 1.5).
type llm struct {
	URL     string // base URL with /v1, what WASP_OPENAI_BASE_URL takes
	latency time.Duration
	calls   atomic.Int64
	srv     *http.Server
	done    chan struct{}
}

const llmAnswer = `{"id":"chatcmpl-bench","object":"chat.completion","created":1,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"¡Con gusto! Te ayudo con eso enseguida."},"finish_reason":"stop"}],"usage":{"prompt_tokens":120,"completion_tokens":12,"total_tokens":132}}`

func startLLM(latency time.Duration) (*llm, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("cannot start the model: %w", err)
	}
	m := &llm{URL: "http://" + ln.Addr().String() + "/v1", latency: latency, done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		m.calls.Add(1)
		d := time.Duration((0.5 + rand.Float64()) * float64(m.latency))
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		case <-m.done:
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, llmAnswer)
	})
	m.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go m.srv.Serve(ln)
	return m, nil
}

func (m *llm) close() {
	close(m.done)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m.srv.Shutdown(ctx)
}
