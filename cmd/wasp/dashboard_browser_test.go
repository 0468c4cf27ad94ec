package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDashboardInBrowser: n signed webhooks through wasp run, then
// headless Chromium opens the web dashboard at / with the API token in
// the URL fragment. The page it drew shows what the API answers: every
// summary card, the trend bars adding up to n, the number, the
// conversations and the one handed to a person. Without the token the
// page asks for it.
func TestDashboardInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	const (
		n      = 12
		users  = 4
		number = "106540352242922"
		token  = "dash-token"
	)
	g := newGraphRecorder(t)
	kv := map[string]string{"WASP_APP_SECRET": "s3cret", "WASP_VERIFY_TOKEN": "v", "WASP_DATA_DIR": t.TempDir(),
		"WASP_GRAPH_URL": g.srv.URL, "WASP_ACCESS_TOKEN": "tok", "WASP_PHONE_NUMBER_ID": number,
		"WASP_API_TOKEN": token}
	p := startWasp(t, kv)
	// The last message asks for a person (a handoff keyword of the rules
	// bot): its customer's conversation goes to a human.
	for i := range n {
		text := "hola"
		if i == n-1 {
			text = "quiero hablar con un humano"
		}
		postSigned(t, p, "s3cret", textWebhook(number, fmt.Sprintf("52155504%05d", i%users), fmt.Sprintf("wamid.dash%d", i), text))
	}

	var summary map[string]any
	var convs struct {
		Conversations []struct{ ID string }
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		summary = nil
		dashboardGet(t, p, token, "/api/v1/dashboard/summary", &summary)
		dashboardGet(t, p, token, "/api/v1/conversations", &convs)
		if summary["messages_in"] == float64(n) && summary["messages_out"] == float64(n) &&
			summary["handoffs"] == float64(1) && len(convs.Conversations) == users {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the API shows %v and %d conversations; want %d in, %d out, 1 handoff, %d conversations:\n%s",
				summary, len(convs.Conversations), n, n, users, p.out)
		}
	}
	var numbers struct {
		Numbers []map[string]any
	}
	dashboardGet(t, p, token, "/api/v1/dashboard/numbers", &numbers)
	var first struct {
		Conversation struct{ Messages []any }
	}
	dashboardGet(t, p, token, "/api/v1/conversations/"+convs.Conversations[0].ID, &first)

	start := time.Now()
	dom := parseDOM(dumpDOM(t, chromium, "http://"+p.admin+"/#token="+token))
	t.Logf("Chromium drew the dashboard in %v", time.Since(start).Round(time.Millisecond))
	if body := dom.first("body", ""); body == nil || body.attrs["data-ready"] != "1" {
		t.Fatalf("<body> has no data-ready=1: the page did not render; error banner %q", dom.text("error"))
	}

	// Cards: each the API's exact figure; messages in also as its text.
	failures := 0.0
	for _, v := range summary["failures_by_code"].(map[string]any) {
		failures += v.(float64)
	}
	summary["failures"] = failures
	for _, m := range []string{"conversations", "messages_in", "messages_out", "bot_reply_rate", "handoff_rate",
		"response_p50_ms", "response_p95_ms", "delivery_rate", "read_rate", "failures", "tokens", "cost_estimate_usd"} {
		card := dom.first("", `data-metric="`+m+`"`)
		if card == nil {
			t.Fatalf("no card data-metric=%q", m)
		}
		if got := card.float(t, "data-value"); got != summary[m] {
			t.Errorf("card %s shows %v; the API says %v", m, got, summary[m])
		}
	}
	if got := dom.first("", `data-metric="messages_in"`).text; got != strconv.Itoa(n) {
		t.Errorf("the messages in card reads %q; want %d", got, n)
	}

	// Charts: the bars of each series add up to the period's total.
	for series, want := range map[string]float64{"messages_in": n, "messages_out": n, "handoffs": 1, "failed": 0} {
		bars := dom.within(`data-chart="`+series+`"`, "svg", "data-value")
		total := 0.0
		for _, b := range bars {
			total += b.float(t, "data-value")
		}
		if len(bars) < 24 || total != want {
			t.Errorf("chart %s: %d bars adding up to %v; want at least 24 hourly bars adding up to %v", series, len(bars), total, want)
		}
	}

	// The number's row: the API's figures.
	if len(numbers.Numbers) != 1 || numbers.Numbers[0]["phone_number_id"] != number {
		t.Fatalf("the API lists numbers %v; want only %s", numbers.Numbers, number)
	}
	row := dom.within(`data-number="`+number+`"`, "tr", "data-field")
	if len(row) != 4 {
		t.Fatalf("the row of %s has %d figures; want 4", number, len(row))
	}
	for _, cell := range row {
		if got, want := cell.float(t, "data-value"), numbers.Numbers[0][cell.attrs["data-field"]]; got != want {
			t.Errorf("number %s, %s: %v; the API says %v", number, cell.attrs["data-field"], got, want)
		}
	}

	// Conversations: all of them, one with a person; the newest is open
	// with all its turns.
	list := dom.first("ul", `id="conversations"`)
	items := dom.all("button", "data-conversation")
	human := dom.all("button", `data-mode="human"`)
	if list.attrs["data-count"] != strconv.Itoa(users) || len(items) != users || len(human) != 1 {
		t.Errorf("conversation list: data-count %q, %d items, %d with a person; want %d, %d, 1",
			list.attrs["data-count"], len(items), len(human), users, users)
	}
	view := dom.first("article", `id="conversation"`)
	turns := dom.first("ol", `class="turns"`)
	if view.attrs["data-conversation"] != convs.Conversations[0].ID || turns == nil ||
		turns.attrs["data-count"] != strconv.Itoa(len(first.Conversation.Messages)) {
		t.Errorf("conversation view %v; want %s open with its %d turns", view.attrs, convs.Conversations[0].ID, len(first.Conversation.Messages))
	}

	// Without the token, the API's 401 brings up the token form.
	dom = parseDOM(dumpDOM(t, chromium, "http://"+p.admin+"/"))
	if login := dom.first("form", `id="login"`); login == nil || login.has("hidden") || dom.first("body", "").attrs["data-ready"] != "" {
		t.Errorf("without a token the page does not ask for one")
	}
}

// chromiumPath finds Chromium: $WASP_TEST_CHROMIUM, else chromium or
// chromium-browser in PATH. Without one the test is skipped, unless CI is
// set: make test installs it (scripts/chromium.sh).
func chromiumPath(t *testing.T) string {
	if p := os.Getenv("WASP_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no Chromium (WASP_TEST_CHROMIUM, or chromium in PATH) and CI is set: run make test, which installs it")
	}
	t.Skip("no Chromium (WASP_TEST_CHROMIUM, or chromium in PATH); make test installs it")
	return ""
}

// dumpDOM loads url in headless Chromium and returns the DOM once the
// page's virtual time budget (10 s, fast-forwarded; network fetches stop
// the clock) has run out.
func dumpDOM(t *testing.T, chromium, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-dev-shm-usage", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=10000", "--dump-dom", url)
	// Chromium's helper processes are killed with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || len(out) == 0 {
		t.Fatalf("chromium --dump-dom %s: %v\n%s", url, err, stderr.Bytes()[max(0, stderr.Len()-2000):])
	}
	return string(out)
}

func dashboardGet(t *testing.T, p *proc, token, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+p.admin+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// domElement is a start tag of the serialized DOM, with the text right after
// it (up to the next tag). The page is ours, so a tag scanner is enough.
type domElement struct {
	tag   string
	attrs map[string]string
	raw   string // the tag as written, to match attributes against
	text  string
	at    int // offset in the DOM
}

func (e *domElement) has(attr string) bool { _, ok := e.attrs[attr]; return ok }

func (e *domElement) float(t *testing.T, attr string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(e.attrs[attr], 64)
	if err != nil {
		t.Fatalf("<%s %s>: %s=%q is not a number", e.tag, e.raw, attr, e.attrs[attr])
	}
	return v
}

type domPage struct {
	src string
	els []*domElement
}

var (
	domTagRE  = regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s=/>]+(?:="[^"]*")?)*)\s*/?>([^<]*)`)
	domAttrRE = regexp.MustCompile(`([^\s=/>]+)(?:="([^"]*)")?`)
)

func parseDOM(src string) *domPage {
	d := &domPage{src: src}
	for _, m := range domTagRE.FindAllStringSubmatchIndex(src, -1) {
		e := &domElement{tag: strings.ToLower(src[m[2]:m[3]]), raw: src[m[4]:m[5]], attrs: map[string]string{},
			text: html.UnescapeString(src[m[6]:m[7]]), at: m[0]}
		for _, a := range domAttrRE.FindAllStringSubmatch(e.raw, -1) {
			e.attrs[a[1]] = html.UnescapeString(a[2])
		}
		d.els = append(d.els, e)
	}
	return d
}

// all returns the elements with the tag (any when empty) whose tag
// contains match (an attribute name, or name="value").
func (d *domPage) all(tag, match string) []*domElement {
	var out []*domElement
	for _, e := range d.els {
		if (tag == "" || e.tag == tag) && strings.Contains(e.raw, match) {
			out = append(out, e)
		}
	}
	return out
}

func (d *domPage) first(tag, match string) *domElement {
	if es := d.all(tag, match); len(es) > 0 {
		return es[0]
	}
	return nil
}

// within returns the elements carrying attr inside the first element that
// matches outer, up to its closing tag (which must not nest).
func (d *domPage) within(outer, tag, attr string) []*domElement {
	o := d.first(tag, outer)
	if o == nil {
		return nil
	}
	end := strings.Index(d.src[o.at:], "</"+tag+">")
	if end < 0 {
		return nil
	}
	var out []*domElement
	for _, e := range d.els {
		if e.at > o.at && e.at < o.at+end && e.has(attr) {
			out = append(out, e)
		}
	}
	return out
}

// text is the text right inside the element with the id.
func (d *domPage) text(id string) string {
	if e := d.first("", `id="`+id+`"`); e != nil {
		return e.text
	}
	return ""
}
