package load

import (
	"strconv"
	"time"

	"wasp/bench/sim"
)

// meter reads the simulator's tracking and report, and the processes'
// usage, once a second, and keeps the series.
type meter struct {
	r *runner

	prevAcks, prevReplies sim.HistogramSnapshot
	prevDelivered         int64
	prevCPU               time.Duration
	maxRSS                int64
	waspCPU               time.Duration
	series                []Second

	tr  sim.Tracking
	rep sim.Report
}

func newMeter(r *runner) *meter {
	m := &meter{r: r}
	if u, ok := m.waspUsage(); ok {
		m.prevCPU = u.cpu
	}
	return m
}

func (m *meter) waspUsage() (usage, bool) {
	if m.r.wasp == nil {
		return usage{}, false
	}
	u, err := procUsage(strconv.Itoa(m.r.wasp.cmd.Process.Pid))
	return u, err == nil
}

// read takes the simulator's figures.
func (m *meter) read() {
	m.tr, m.rep = m.r.sim.Tracking(), m.r.sim.Report()
}

// second records the second that ended at t, in which rate was offered.
func (m *meter) second(t time.Duration, rate float64) Second {
	m.read()
	acks, replies := m.tr.Acks.Sub(m.prevAcks), m.tr.Replies.Sub(m.prevReplies)
	m.prevAcks, m.prevReplies = m.tr.Acks, m.tr.Replies
	var delivered, inFlight int64
	for kind, k := range m.tr.Inbound {
		delivered += k.Delivered
		if expectsReply(kind) {
			inFlight += k.Unanswered
		}
	}
	s := Second{T: t.Seconds(), Rate: rate, Inbound: float64(delivered - m.prevDelivered), Replies: float64(replies.Count()),
		AckP99: ms(acks.Quantile(0.99)), E2EP50: ms(replies.Quantile(0.5)), E2EP99: ms(replies.Quantile(0.99)),
		InFlight: inFlight, Errors: m.errors().Total()}
	m.prevDelivered = delivered
	if u, ok := m.waspUsage(); ok {
		m.maxRSS = max(m.maxRSS, u.rss)
		s.RSSMB = float64(u.rss) / (1 << 20)
		s.Cores = (u.cpu - m.prevCPU).Seconds()
		m.prevCPU, m.waspCPU = u.cpu, u.cpu
	}
	m.series = append(m.series, s)
	return s
}

// settled reports whether, as of the last second, every delivered
// message that expects an answer has one, no webhook waits, and every
// status queued was delivered.
func (m *meter) settled() bool {
	for kind, k := range m.tr.Inbound {
		if k.Posted != k.Delivered || expectsReply(kind) && k.Unanswered > 0 {
			return false
		}
	}
	return m.rep.Webhooks.Pending == 0 && statusesDelivered(m.rep) >= m.tr.Statuses
}

func statusesDelivered(rep sim.Report) int64 {
	var n int64
	for _, v := range rep.Webhooks.Statuses {
		n += v
	}
	return n
}

func (m *meter) errors() Errors {
	w := m.rep.Webhooks
	return Errors{WebhookErrors: w.Errors, WebhookFailed: w.Failed, WebhookDropped: w.Dropped, Graph: m.rep.Errors}
}

// finish fills res from the last figures of a run from start to end.
func (m *meter) finish(res *Result, start, end time.Time) {
	m.read()
	if u, ok := m.waspUsage(); ok {
		m.maxRSS = max(m.maxRSS, u.rss, u.peak)
		m.waspCPU = u.cpu
	}
	wall := end.Sub(start).Seconds()
	if m.r.wasp != nil {
		res.Wasp = &Process{MaxRSSMB: float64(m.maxRSS) / (1 << 20), CPUSeconds: m.waspCPU.Seconds(), Cores: m.waspCPU.Seconds() / wall}
	}
	if u, err := procUsage("self"); err == nil {
		res.Bench = Process{MaxRSSMB: float64(u.peak) / (1 << 20), CPUSeconds: u.cpu.Seconds(), Cores: u.cpu.Seconds() / wall}
	}

	in := &res.Inbound
	in.ByKind = m.tr.Inbound
	rp := &res.Replies
	for kind, k := range m.tr.Inbound {
		in.Posted += k.Posted
		in.Delivered += k.Delivered
		if !expectsReply(kind) {
			rp.Unexpected += k.Answered
			continue
		}
		in.ExpectingReply += k.Delivered
		res.Turns += k.Answered
		rp.AnsweredOnce += k.Answered - k.Duplicated
		rp.Duplicated += k.Duplicated
		rp.Lost += k.Unanswered
	}
	rp.Unmatched = m.tr.Unmatched
	rp.ExactlyOnce = rp.Lost == 0 && rp.Duplicated == 0 && res.Turns > 0
	if !m.tr.LastReply.IsZero() {
		res.TurnsPerSecond = float64(res.Turns) / m.tr.LastReply.Sub(start).Seconds()
	}
	res.Statuses = Statuses{Queued: m.tr.Statuses, Delivered: statusesDelivered(m.rep), ByStatus: m.rep.Webhooks.Statuses}
	res.Acks, res.EndToEnd = latency(m.tr.Acks), latency(m.tr.Replies)
	res.Errors = m.errors()
	res.WebhooksTwice = m.rep.Webhooks.Duplicates
	for _, n := range m.rep.Numbers {
		res.MaxSendsPerSecond = max(res.MaxSendsPerSecond, n.MaxPerSecond)
	}
	if m.r.model != nil {
		res.LLMCalls = m.r.model.calls.Load()
	}
	res.Series = m.series
}
