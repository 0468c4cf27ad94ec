package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"wasp/ingest"
)

// TestAlertThroughTheBinary: webhooks refused for a wrong signature raise
// the webhook alert of `wasp run`: a Slack-compatible notice, the firing
// gauge, and the alert in the dashboard API.
func TestAlertThroughTheBinary(t *testing.T) {
	var mu sync.Mutex
	var texts []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Text string }
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		texts = append(texts, body.Text)
		mu.Unlock()
	}))
	defer hook.Close()
	config := filepath.Join(t.TempDir(), "wasp.yaml")
	if err := os.WriteFile(config, []byte("alerts:\n  interval: 200ms\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startWaspAt(t, map[string]string{"WASP_APP_SECRET": "s3cret", "WASP_VERIFY_TOKEN": "v",
		"WASP_DATA_DIR": t.TempDir(), "WASP_ALERT_WEBHOOK_URL": hook.URL}, freeAddr(t), "--config", config)

	post := func(secret string, i int) int {
		body := webhookBody(numbers[0], fmt.Sprintf("wamid.alert.%d", i))
		req, _ := http.NewRequest("POST", "http://"+p.webhook+"/webhook", bytes.NewReader(body))
		req.Header.Set("X-Hub-Signature-256", ingest.Sign(secret, body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 40 {
		secret := "s3cret"
		if i%2 == 0 {
			secret = "rotated" // half signed with a secret wasp does not have
		}
		post(secret, i)
	}

	var notice string
	for deadline := time.Now().Add(20 * time.Second); notice == ""; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no alert notice; output:\n%s", p.out)
		}
		mu.Lock()
		for _, s := range texts {
			if strings.Contains(s, "webhook_error_rate") {
				notice = s
			}
		}
		mu.Unlock()
	}
	// An evaluation may fall within the burst: about half refused, of 20
	// to 40 requests.
	var pct, n int
	if _, err := fmt.Sscanf(notice[strings.Index(notice, "webhook_error_rate: "):], "webhook_error_rate: %d%% of %d webhook requests refused", &pct, &n); err != nil ||
		!strings.Contains(notice, "FIRING") || pct < 30 || pct > 70 || n < 20 || n > 40 {
		t.Errorf("notice %q; want the firing webhook alert with about half of 20 to 40 requests refused", notice)
	}
	if _, m := get(p, "/metrics"); !strings.Contains(m, `wasp_alerts_firing{rule="webhook_error_rate"} 1`) {
		t.Errorf("metrics lack wasp_alerts_firing{rule=\"webhook_error_rate\"} 1")
	}
	var listed struct {
		Alerts []struct{ Status, Reason string }
	}
	for deadline := time.Now().Add(20 * time.Second); len(listed.Alerts) == 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the dashboard API lists no alert")
		}
		_, body := get(p, "/api/v1/dashboard/alerts")
		json.Unmarshal([]byte(body), &listed)
	}
	if a := listed.Alerts[0]; a.Status != "firing" || !strings.HasPrefix(a.Reason, "webhook_error_rate: ") {
		t.Errorf("dashboard alert %+v; want the firing webhook_error_rate", a)
	}
}
