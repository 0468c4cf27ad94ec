package schemas_test

import (
	"os"
	"testing"

	"wasp/schemas"
)

// BenchmarkParseWebhook parses a typical text message webhook of about 1 KB.
func BenchmarkParseWebhook(b *testing.B) {
	body, err := os.ReadFile("testdata/webhooks/message_text.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := schemas.ParseWebhook(body); err != nil {
			b.Fatal(err)
		}
	}
}
