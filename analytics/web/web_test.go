package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestHandlerServesThePageAndAssets(t *testing.T) {
	h := Handler()
	f := func(path string, code int, contentType, contains string) {
		t.Helper()
		w := get(t, h, path, nil)
		if w.Code != code {
			t.Fatalf("GET %s: %d; want %d", path, w.Code, code)
		}
		if code != http.StatusOK {
			return
		}
		if got := w.Header().Get("Content-Type"); got != contentType {
			t.Fatalf("GET %s: Content-Type %q; want %q", path, got, contentType)
		}
		if got := w.Header().Get("Cache-Control"); got != "no-cache" {
			t.Fatalf("GET %s: Cache-Control %q; want no-cache", path, got)
		}
		if got := w.Header().Get("Content-Security-Policy"); !strings.Contains(got, "default-src 'none'") {
			t.Fatalf("GET %s: Content-Security-Policy %q; want default-src 'none'", path, got)
		}
		if !strings.Contains(w.Body.String(), contains) {
			t.Fatalf("GET %s: body does not contain %q", path, contains)
		}
	}
	f("/", 200, "text/html; charset=utf-8", `<script src="/ui/app.js" defer></script>`)
	f("/ui/app.js", 200, "text/javascript; charset=utf-8", `"/api/v1/dashboard/summary"`)
	f("/ui/style.css", 200, "text/css; charset=utf-8", "system-ui")
	f("/ui/index.html", 404, "", "")
	f("/ui/", 404, "", "")
	f("/ui/nope.js", 404, "", "")
	f("/index.html", 404, "", "")
}

func TestHandlerRevalidates(t *testing.T) {
	h := Handler()
	etag := get(t, h, "/ui/app.js", nil).Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if w := get(t, h, "/ui/app.js", map[string]string{"If-None-Match": etag}); w.Code != http.StatusNotModified {
		t.Fatalf("GET with If-None-Match %s: %d; want 304", etag, w.Code)
	}
	if other := get(t, h, "/", nil).Header().Get("ETag"); other == etag {
		t.Fatalf("the page and the script share the ETag %s", etag)
	}
}

// TestNothingFromOutside: the dashboard must work without internet, and
// text from the API must never be parsed as HTML.
func TestNothingFromOutside(t *testing.T) {
	external := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}|@import|url\(\s*['"]?[a-z]+:`)
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := static.ReadFile(p)
		// The SVG namespace is a name, never fetched.
		text := strings.ReplaceAll(string(b), `"http://www.w3.org/2000/svg"`, "")
		if m := external.FindString(text); m != "" {
			t.Errorf("%s refers to %q outside the binary", p, m)
		}
		for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
			if strings.Contains(text, sink) {
				t.Errorf("%s uses %s: build nodes and set textContent instead", p, sink)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
