// Package web is the operators' web dashboard: one page and its script and
// style sheet, embedded in the binary. The page holds no data: its script
// reads the admin listener's API (/api/v1/dashboard/…, /api/v1/conversations)
// with the API token, so the page and its assets are served without one.
// Nothing is loaded from outside: no CDN, no web font, so the dashboard
// works on a network without internet.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"time"
)

//go:embed static
var static embed.FS

// AssetPrefix is where the script and the style sheet are served; the page
// itself is served at "/".
const AssetPrefix = "/ui/"

// contentTypes of the embedded files, set here rather than taken from the
// system's MIME table, which differs between machines.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

// csp allows the page only its own script, style and API: a page that
// tries to load anything from elsewhere fails in the browser, loudly.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Handler serves the page at "/" and its assets under AssetPrefix; other
// paths are 404. Each answer carries an ETag and "Cache-Control: no-cache",
// so a browser revalidates (a 304 when unchanged) and sees a new binary's
// page at once.
func Handler() http.Handler {
	assets := map[string]*asset{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		assets[AssetPrefix+path.Base(p)] = &asset{body: b, contentType: contentTypes[path.Ext(p)],
			etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("web: cannot read the embedded assets: " + err.Error()) // the build embedded them
	}
	assets["/"] = assets[AssetPrefix+"index.html"]
	delete(assets, AssetPrefix+"index.html")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := assets[r.URL.Path]
		if a == nil {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", a.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", csp)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	})
}
