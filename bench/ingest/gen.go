//go:build ignore

// gen writes the wrk script for the ingest load test: a 1.5 KB text
// webhook and its signature under the given app secret.
//
//	go run gen.go -secret s > post.lua
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"strings"
)

func main() {
	secret := flag.String("secret", "s", "app secret the server checks")
	size := flag.Int("size", 1536, "body size in bytes")
	flag.Parse()
	head := `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Ana"},"wa_id":"5215550001111"}],"messages":[{"from":"5215550001111","id":"wamid.HBgNNTIxNTU1MDAwMTExMRUCABIYFjNFQjBDMEQ3QjE0NjJFNUQ5QjA3AA==","timestamp":"1751247548","text":{"body":"`
	tail := `"},"type":"text"}]},"field":"messages"}]}]}`
	body := head + strings.Repeat("hola ", (*size-len(head)-len(tail))/5) + tail
	m := hmac.New(sha256.New, []byte(*secret))
	m.Write([]byte(body))
	fmt.Printf("-- %d-byte signed text webhook\nwrk.method = \"POST\"\nwrk.body = %q\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.headers[\"X-Hub-Signature-256\"] = \"sha256=%s\"\n",
		len(body), body, hex.EncodeToString(m.Sum(nil)))
}
