package ingest

import (
	"context"
	"testing"

	"github.com/valyala/fasthttp"

	"wasp/stream"
)

// BenchmarkHandle measures one signed webhook through the handler: the
// signature check, the key scan, the JSON validity check and the record
// building, with an appender that returns at once.
func BenchmarkHandle(b *testing.B) {
	in, err := New(Config{Apps: []App{{Secret: testSecret}}, VerifyToken: testToken},
		appenderFunc(func(context.Context, ...*stream.Record) error { return nil }))
	if err != nil {
		b.Fatal(err)
	}
	body := benchBody()
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.SetRequestURI("/webhook")
	ctx.Request.Header.Set("X-Hub-Signature-256", Sign(testSecret, body))
	ctx.Request.SetBody(body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		in.Handle(&ctx)
	}
	if ctx.Response.StatusCode() != 200 {
		b.Fatalf("status %d", ctx.Response.StatusCode())
	}
}

// BenchmarkVerifyAndKey is the signature check plus the key extraction
// alone, per request.
func BenchmarkVerifyAndKey(b *testing.B) {
	in, err := New(Config{Apps: []App{{Secret: testSecret}}, VerifyToken: testToken}, nil)
	if err != nil {
		b.Fatal(err)
	}
	body := benchBody()
	sig := []byte(Sign(testSecret, body))
	ids := make([][]byte, 0, 4)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if in.verify(sig, body) == nil {
			b.Fatal("signature refused")
		}
		if ids = scanPhoneNumberIDs(body, ids[:0]); len(ids) != 1 {
			b.Fatal("no key")
		}
	}
}

// benchBody is a 1.5 KB text webhook, the size the ingest target names.
func benchBody() []byte {
	body := textWebhook("106540352242922", "wamid.HBgNNTIxNTU1MDAwMTExMRUCABIYFjNFQjBDMEQ3QjE0NjJFNUQ5QjA3AA==")
	pad := make([]byte, 1536-len(body))
	for i := range pad {
		pad[i] = 'a' + byte(i%26)
	}
	return []byte(string(body[:len(body)-len(`"},"type":"text"}]},"field":"messages"}]}]}`)]) + string(pad) + `"},"type":"text"}]},"field":"messages"}]}]}`)
}
