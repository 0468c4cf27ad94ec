package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"wasp/analytics/web"
	"wasp/internal/jsonapi"
)

// pinger is a dependency whose reachability decides readiness.
type pinger interface {
	Ping(ctx context.Context) error
}

// admin is the operators' listener: health, readiness, metrics, the API
// and the web dashboard.
type admin struct {
	addr  string
	token string
	deps  map[string]pinger
	mux   *http.ServeMux
	api   *http.ServeMux // /api/, behind the token
}

func newAdmin(cfg *Config, log any) *admin {
	a := &admin{addr: cfg.AdminListen, token: cfg.APIToken, deps: map[string]pinger{}, mux: http.NewServeMux(), api: http.NewServeMux()}
	a.mux.Handle("/api/", a.authorized(a.api))
	// What the API does not serve is answered in JSON too.
	a.api.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		jsonapi.Error(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	if p, ok := log.(pinger); ok {
		a.deps["log"] = p
	}
	a.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	a.mux.HandleFunc("GET /readyz", a.ready)
	// The web dashboard holds no data, so it is served without the token;
	// its script calls /api/ with it.
	ui := web.Handler()
	a.mux.Handle("GET /{$}", ui)
	a.mux.Handle("GET "+web.AssetPrefix, ui)
	a.mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		metrics.WritePrometheus(w, true)
	})
	// Profiles for operators, on the admin listener only.
	a.mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	a.mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	a.mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return a
}

// ready answers 200 when every dependency answers, else 503 naming the
// ones that do not.
func (a *admin) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var down []string
	for name, p := range a.deps {
		if err := p.Ping(ctx); err != nil {
			down = append(down, name+": "+err.Error())
		}
	}
	if len(down) > 0 {
		http.Error(w, "not ready: "+strings.Join(down, "; "), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

// authorized guards the API: with a token set, requests must carry it.
func (a *admin) authorized(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.token != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(a.token)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="wasp"`)
				jsonapi.Error(w, http.StatusUnauthorized, "missing or wrong bearer token (WASP_API_TOKEN)")
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// Run serves until ctx ends.
func (a *admin) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s (WASP_ADMIN_LISTEN): %w", a.addr, err)
	}
	srv := &http.Server{Handler: a.mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
