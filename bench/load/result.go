package load

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"wasp/bench/sim"
)

// Result is what a run measured; it is the JSON report.
type Result struct {
	Scenario    string    `json:"scenario"`
	About       string    `json:"about"`
	Mode        string    `json:"mode"` // embedded, kafka or remote
	Started     time.Time `json:"started"`
	Settings    Settings  `json:"settings"`
	Machine     Machine   `json:"machine"`
	Interrupted bool      `json:"interrupted,omitempty"`
	// LoadSeconds is how long load was offered; DrainSeconds how long the
	// run then waited for the last replies and statuses.
	LoadSeconds  float64 `json:"load_seconds"`
	DrainSeconds float64 `json:"drain_seconds"`

	// Turns counts the inbound messages answered that expect an answer;
	// TurnsPerSecond is Turns over the time from the start to the last
	// answer.
	Turns          int64   `json:"turns"`
	TurnsPerSecond float64 `json:"turns_per_second"`

	Inbound  Inbound  `json:"inbound"`
	Replies  Replies  `json:"replies"`
	Statuses Statuses `json:"statuses"`
	// Acks is the webhook acknowledgement latency (every POST answered
	// 200); EndToEnd the time from an inbound message's first POST to its
	// reply arriving at the simulated Graph API.
	Acks     Latency `json:"acks"`
	EndToEnd Latency `json:"end_to_end"`
	Errors   Errors  `json:"errors"`
	// MaxSendsPerSecond is the most sends the simulator accepted for one
	// number in any one-second window.
	MaxSendsPerSecond int `json:"max_sends_per_second"`
	// WebhooksTwice counts the webhooks the simulator delivered a second
	// time (the retry-storm scenario).
	WebhooksTwice int64 `json:"webhooks_twice,omitempty"`
	LLMCalls      int64 `json:"llm_calls,omitempty"`

	// Wasp is the local wasp process (absent in remote mode); Bench this
	// process: the simulator, the load, kfake in Kafka mode.
	Wasp  *Process `json:"wasp,omitempty"`
	Bench Process  `json:"bench"`

	Targets []Target `json:"targets"`
	Series  []Second `json:"series"`
}

// Settings are the run's parameters.
type Settings struct {
	Rate            float64            `json:"rate"`
	DurationSeconds float64            `json:"duration_seconds"`
	Users           int                `json:"users"`
	Numbers         int                `json:"numbers"`
	Types           map[string]float64 `json:"types"`
	Connections     int                `json:"connections"`
	ThroughputMPS   int                `json:"throughput_mps,omitempty"`
	LLMLatencyMs    float64            `json:"llm_latency_ms,omitempty"`
	Duplicates      float64            `json:"duplicates,omitempty"`
}

// Machine is where the run ran.
type Machine struct {
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	CPUs      int    `json:"cpus"`
	Wasp      string `json:"wasp,omitempty"` // the binary's version, local mode
}

// Inbound counts the customers' messages.
type Inbound struct {
	// Posted: first POST made; Delivered: answered 200 by the ingester.
	Posted    int64 `json:"posted"`
	Delivered int64 `json:"delivered"`
	// ExpectingReply counts those delivered of kinds wasp answers.
	ExpectingReply int64                       `json:"expecting_reply"`
	ByKind         map[string]sim.InboundTally `json:"by_kind"`
}

// Replies judge correctness: every inbound message that expects an
// answer answered exactly once.
type Replies struct {
	AnsweredOnce int64 `json:"answered_once"`
	// Lost: delivered, expecting an answer, and none came by the end of
	// the drain (Config.Drain after the load).
	Lost int64 `json:"lost"`
	// Duplicated: answered more than once.
	Duplicated int64 `json:"duplicated"`
	// Unexpected: answers to messages that expect none (reactions, …);
	// Unmatched: accepted sends that answer no message of this run.
	Unexpected int64 `json:"unexpected"`
	Unmatched  int64 `json:"unmatched"`
	// ExactlyOnce: nothing lost, nothing duplicated.
	ExactlyOnce bool `json:"exactly_once"`
}

// Statuses counts the status webhooks of accepted sends.
type Statuses struct {
	Queued    int64            `json:"queued"`
	Delivered int64            `json:"delivered"`
	ByStatus  map[string]int64 `json:"by_status"`
}

// Latency summarises a histogram, in milliseconds.
type Latency struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
}

func latency(h sim.HistogramSnapshot) Latency {
	return Latency{Count: h.Count(), Mean: ms(h.Mean()), P50: ms(h.Quantile(0.5)), P90: ms(h.Quantile(0.9)),
		P99: ms(h.Quantile(0.99)), P999: ms(h.Quantile(0.999)), Max: ms(h.Max())}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Errors are what went wrong on the way, none of it judged here.
type Errors struct {
	// Webhook POSTs not answered 200 (each retried), dropped after every
	// attempt, or not sent because the simulator's queue was full.
	WebhookErrors  int64 `json:"webhook_errors"`
	WebhookFailed  int64 `json:"webhook_failed"`
	WebhookDropped int64 `json:"webhook_dropped"`
	// Graph errors the simulator answered, by code (130429: throughput,
	// 131056: pair rate, …).
	Graph map[int]int64 `json:"graph"`
}

// Total is every error counted.
func (e Errors) Total() int64 {
	n := e.WebhookErrors + e.WebhookFailed + e.WebhookDropped
	for _, v := range e.Graph {
		n += v
	}
	return n
}

// Process is a process's resources.
type Process struct {
	MaxRSSMB   float64 `json:"max_rss_mb"`
	CPUSeconds float64 `json:"cpu_seconds"`
	// Cores is CPUSeconds over the run's wall time.
	Cores float64 `json:"cores"`
	// StopSeconds is how long the local wasp took to stop after SIGTERM;
	// StopError says why the stop was not clean (killed after 15 s, …).
	StopSeconds float64 `json:"stop_seconds,omitempty"`
	StopError   string  `json:"stop_error,omitempty"`
}

// Target is one of the targets, reported, not asserted.
type Target struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	Met  bool   `json:"met"`
}

// Second is one second of the run.
type Second struct {
	T        float64 `json:"t"`    // seconds since the start, at its end
	Rate     float64 `json:"rate"` // offered inbound messages/s
	Inbound  float64 `json:"inbound_per_s"`
	Replies  float64 `json:"replies_per_s"`
	AckP99   float64 `json:"ack_p99_ms"`
	E2EP50   float64 `json:"e2e_p50_ms"`
	E2EP99   float64 `json:"e2e_p99_ms"`
	InFlight int64   `json:"in_flight"`
	Errors   int64   `json:"errors"` // so far
	RSSMB    float64 `json:"rss_mb,omitempty"`
	Cores    float64 `json:"cores,omitempty"` // wasp's CPU in this second
}

// The targets of issue 6.
const (
	targetTurns = 5000
	targetP99   = 250 // ms
	targetRSS   = 300 // MB
)

// judge fills Targets.
func (r *Result) judge() {
	yes := func(name, want, got string, met bool) {
		r.Targets = append(r.Targets, Target{name, want, got, met})
	}
	yes("throughput", fmt.Sprintf("≥ %s turns/s", thousands(targetTurns)), fmt.Sprintf("%s turns/s", thousands(r.TurnsPerSecond)),
		r.TurnsPerSecond >= targetTurns)
	yes("p99 end to end", fmt.Sprintf("≤ %d ms", targetP99), fmt.Sprintf("%.1f ms", r.EndToEnd.P99),
		r.EndToEnd.Count > 0 && r.EndToEnd.P99 <= targetP99)
	if r.Wasp != nil {
		yes("wasp RSS", fmt.Sprintf("≤ %d MB", targetRSS), fmt.Sprintf("%.0f MB", r.Wasp.MaxRSSMB), r.Wasp.MaxRSSMB <= targetRSS)
	}
	yes("replies lost", "0", thousands(float64(r.Replies.Lost)), r.Replies.Lost == 0)
	yes("replies duplicated", "0", thousands(float64(r.Replies.Duplicated)), r.Replies.Duplicated == 0)
}

// WriteJSON writes r as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes r as the table the command prints.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, args ...any) {
		fmt.Fprintf(tw, "  %s\t"+format+"\n", append([]any{k}, args...)...)
	}
	lat := func(l Latency) string {
		return fmt.Sprintf("p50 %s  p90 %s  p99 %s  max %s ms  (%s)", num(l.P50), num(l.P90), num(l.P99), num(l.Max), thousands(float64(l.Count)))
	}
	where := r.Mode + " log"
	if r.Mode == "remote" {
		where = "a remote wasp"
	}
	fmt.Fprintf(tw, "wasp bench: %s, %s, %s messages/s for %s\n", r.Scenario, where, thousands(r.Settings.Rate),
		time.Duration(r.Settings.DurationSeconds*float64(time.Second)))
	if r.Interrupted {
		fmt.Fprintln(tw, "  (interrupted: the figures cover the part that ran)")
	}
	row("throughput", "%s turns/s  (%s turns; %s inbound delivered/s offered)", thousands(r.TurnsPerSecond), thousands(float64(r.Turns)),
		thousands(float64(r.Inbound.Delivered)/max(r.LoadSeconds, 1e-9)))
	row("webhook ack", "%s", lat(r.Acks))
	row("end to end", "%s", lat(r.EndToEnd))
	lost := thousands(float64(r.Replies.Lost)) + " lost"
	if r.Replies.Lost > 0 {
		lost += fmt.Sprintf(" (no answer %.0f s after the load)", r.DrainSeconds)
	}
	row("replies", "%s answered exactly once, %s, %s duplicated, %s unexpected",
		thousands(float64(r.Replies.AnsweredOnce)), lost, thousands(float64(r.Replies.Duplicated)),
		thousands(float64(r.Replies.Unexpected)))
	row("statuses", "%s of %s delivered", thousands(float64(r.Statuses.Delivered)), thousands(float64(r.Statuses.Queued)))
	if r.WebhooksTwice > 0 {
		row("retries", "%s webhooks delivered twice, as Meta's retries do", thousands(float64(r.WebhooksTwice)))
	}
	row("errors", "%s webhook errors, %s failed, %s dropped; Graph %s", thousands(float64(r.Errors.WebhookErrors)),
		thousands(float64(r.Errors.WebhookFailed)), thousands(float64(r.Errors.WebhookDropped)), codes(r.Errors.Graph))
	if r.Settings.ThroughputMPS > 0 {
		row("pacing", "at most %d sends in a second for a limit of %d/s", r.MaxSendsPerSecond, r.Settings.ThroughputMPS)
	}
	if r.LLMCalls > 0 {
		row("model", "%s calls", thousands(float64(r.LLMCalls)))
	}
	if p := r.Wasp; p != nil {
		stopped := fmt.Sprintf("stopped in %.1f s", p.StopSeconds)
		if p.StopError != "" {
			stopped = "not stopped cleanly: " + p.StopError
		}
		row("wasp", "max RSS %.0f MB, CPU %.1f s (%.2f cores), %s", p.MaxRSSMB, p.CPUSeconds, p.Cores, stopped)
	}
	row("bench", "max RSS %.0f MB, CPU %.1f s (%.2f cores), %d CPUs, %s", r.Bench.MaxRSSMB, r.Bench.CPUSeconds, r.Bench.Cores,
		r.Machine.CPUs, r.Machine.GoVersion)
	for _, t := range r.Targets {
		mark := "not met"
		if t.Met {
			mark = "met"
		}
		row("target", "%s %s: %s, %s", t.Name, t.Want, t.Got, mark)
	}
	return tw.Flush()
}

func codes(m map[int]int64) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, c := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%d×%d", c, m[c]))
	}
	return strings.Join(parts, " ")
}

// num writes a latency with three significant digits.
func num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// thousands writes v rounded, with thousands separators: 12,345.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
