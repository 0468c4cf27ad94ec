package sim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// mediaLimits are the MIME types the upload endpoint takes and their size
// limits (WHATSAPP-CLOUD-API.md §4.5).
var mediaLimits = map[string]int{
	"audio/aac": 16 << 20, "audio/amr": 16 << 20, "audio/mpeg": 16 << 20, "audio/mp4": 16 << 20, "audio/ogg": 16 << 20,
	"text/plain": 100 << 20, "application/pdf": 100 << 20, "application/vnd.ms-powerpoint": 100 << 20,
	"application/msword": 100 << 20, "application/vnd.ms-excel": 100 << 20,
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   100 << 20,
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": 100 << 20,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         100 << 20,
	"image/jpeg": 5 << 20, "image/png": 5 << 20,
	"image/webp": 500 << 10,
	"video/3gpp": 16 << 20, "video/mp4": 16 << 20,
}

// media is an uploaded file, or the file of an inbound media message.
type media struct {
	id, mime, phone string
	data            []byte
}

// mediaStore keeps uploads in memory. The files of inbound messages are
// not stored: their id encodes their kind and their bytes are made up
// from it (see inboundMedia).
type mediaStore struct {
	mu        sync.Mutex
	byID      map[string]*media
	deleted   map[string]bool
	uploads   atomic.Int64
	downloads atomic.Int64
}

func (ms *mediaStore) init() {
	ms.mu.Lock()
	ms.byID = make(map[string]*media)
	ms.deleted = make(map[string]bool)
	ms.mu.Unlock()
	ms.uploads.Store(0)
	ms.downloads.Store(0)
}

// get returns the media of id, or nil.
func (ms *mediaStore) get(id string) *media {
	ms.mu.Lock()
	m, gone := ms.byID[id], ms.deleted[id]
	ms.mu.Unlock()
	if m != nil || gone {
		return m
	}
	return inboundMedia(id)
}

// inboundKinds are the media of inbound messages, by the last digit of
// their id.
var inboundKinds = []struct{ mime string }{
	{"image/jpeg"}, {"video/mp4"}, {"audio/ogg; codecs=opus"},
	{"audio/ogg; codecs=opus"}, {"application/pdf"}, {"image/webp"},
}

// inboundMediaID returns the id of the file of an inbound message of kind
// k (an index of inboundKinds): 16 digits starting with 7.
func (s *Sim) inboundMediaID(k int) string {
	return strconv.FormatUint(7_000_000_000_000_000+(s.seq.Add(1)%100_000_000_000_000)*10+uint64(k), 10)
}

// inboundMedia makes up the file of an inbound media id, or returns nil.
func inboundMedia(id string) *media {
	if len(id) != 16 || id[0] != '7' {
		return nil
	}
	k := int(id[15] - '0')
	if k < 0 || k >= len(inboundKinds) {
		return nil
	}
	size := 512 + int(id[14]-'0')*100
	data := make([]byte, size)
	for i := range data {
		data[i] = id[i%len(id)]
	}
	return &media{id: id, mime: inboundKinds[k].mime, data: data}
}

// sha256Base64 is the hash of an inbound file as webhooks carry it.
func sha256Base64(data []byte) string {
	h := sha256.Sum256(data)
	return base64.StdEncoding.EncodeToString(h[:])
}

// mediaURL is where m can be downloaded for five minutes, on host.
func (s *Sim) mediaURL(host string, m *media) string {
	exp := time.Now().Add(5 * time.Minute).Unix()
	h := sha256.Sum256([]byte(m.id + strconv.FormatInt(exp, 10)))
	return fmt.Sprintf("http://%s/whatsapp_business/attachments/?mid=%s&ext=%d&hash=%s", host, m.id, exp, base64.RawURLEncoding.EncodeToString(h[:9]))
}

// handleUpload serves POST /{phone}/media: multipart messaging_product,
// file and type. It answers {"id"}.
func (s *Sim) handleUpload(ctx *fasthttp.RequestCtx, n *number) {
	form, err := ctx.MultipartForm()
	if err != nil {
		s.fail(ctx, n, newError(100, "The request must be multipart/form-data with the parameters messaging_product, file and type."))
		return
	}
	product := ""
	if v := form.Value["messaging_product"]; len(v) > 0 {
		product = strings.Trim(v[0], `"`)
	}
	if e := checkProduct(product); e != nil {
		s.fail(ctx, n, e)
		return
	}
	files := form.File["file"]
	if len(files) == 0 {
		s.fail(ctx, n, newError(100, "The parameter file is required."))
		return
	}
	mime := ""
	if v := form.Value["type"]; len(v) > 0 {
		mime = strings.Trim(v[0], `"`)
	} else {
		mime = files[0].Header.Get("Content-Type")
	}
	base, _, _ := strings.Cut(strings.ToLower(mime), ";")
	limit, ok := mediaLimits[strings.TrimSpace(base)]
	if !ok {
		s.fail(ctx, n, newError(131053, fmt.Sprintf("Param file must be a file with one of the supported media types; got %q.", mime)))
		return
	}
	if files[0].Size > int64(limit) {
		s.fail(ctx, n, newError(131053, fmt.Sprintf("File of type %s is larger than %d bytes.", base, limit)))
		return
	}
	f, err := files[0].Open()
	if err != nil {
		s.fail(ctx, n, newError(131053, "The file could not be read."))
		return
	}
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		s.fail(ctx, n, newError(131053, "The file could not be read."))
		return
	}
	m := &media{id: s.newID(), mime: mime, phone: n.cfg.PhoneNumberID, data: data}
	s.media.mu.Lock()
	s.media.byID[m.id] = m
	s.media.mu.Unlock()
	s.media.uploads.Add(1)
	writeJSON(ctx, object{{"id", m.id}})
}

// routeMedia serves GET and DELETE /{media_id}; it reports false when id
// is not media.
func (s *Sim) routeMedia(ctx *fasthttp.RequestCtx, id []byte) bool {
	m := s.media.get(string(id))
	if m == nil || !ctx.IsGet() && !ctx.IsDelete() {
		return false
	}
	if p := ctx.QueryArgs().Peek("phone_number_id"); len(p) > 0 && m.phone != "" && string(p) != m.phone {
		return false
	}
	if ctx.IsDelete() {
		s.media.mu.Lock()
		delete(s.media.byID, m.id)
		s.media.deleted[m.id] = true
		s.media.mu.Unlock()
		writeSuccess(ctx)
		return true
	}
	sum := sha256.Sum256(m.data)
	writeJSON(ctx, object{
		{"url", s.mediaURL(string(ctx.Host()), m)}, {"mime_type", m.mime}, {"sha256", hex.EncodeToString(sum[:])},
		{"file_size", len(m.data)}, {"id", m.id}, {"messaging_product", "whatsapp"},
	})
	return true
}

// handleDownload serves a media URL: the bytes with the bearer token, 404
// once the URL's five minutes are over.
func (s *Sim) handleDownload(ctx *fasthttp.RequestCtx) {
	if !ctx.IsGet() && !ctx.IsHead() {
		ctx.Error("method not allowed", fasthttp.StatusMethodNotAllowed)
		return
	}
	if !s.authorized(ctx) {
		s.fail(ctx, nil, errTokenInvalid())
		return
	}
	args := ctx.QueryArgs()
	exp, err := strconv.ParseInt(string(args.Peek("ext")), 10, 64)
	m := s.media.get(string(args.Peek("mid")))
	if err != nil || m == nil || time.Now().Unix() > exp {
		ctx.Error("Not Found", fasthttp.StatusNotFound)
		return
	}
	s.media.downloads.Add(1)
	ctx.SetContentType(m.mime)
	ctx.SetBody(m.data)
}
