package load

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"wasp/bench/sim"
)

// Scenario is one way of loading wasp.
type Scenario struct {
	Name  string
	About string
	// plan shapes the run: the offered rate over time, the numbers, the
	// limits, Meta's retries, the bot.
	plan func(c *Config, p *plan)
}

// plan is what a scenario makes of a Config.
type plan struct {
	rate       func(t time.Duration) float64 // inbound messages per second at t
	numbers    []string                      // phone_number_ids, one tenant each
	mps        int                           // each number's limit at the simulator (−1: none) and wasp's pace
	duplicates float64                       // share of webhooks Meta delivers twice
	outOfOrder float64                       // share of messages whose statuses come reversed
	llm        bool                          // the OpenAI-compatible bot against the in-process model
}

// Scenarios are the scenarios Run knows, in the order the help lists them.
var Scenarios = []Scenario{
	{"steady", "a constant rate for the duration", func(c *Config, p *plan) {}},
	{"ramp", "from a tenth of the rate up to the rate, linearly over the duration: where the latency bends is the knee",
		func(c *Config, p *plan) {
			p.rate = func(t time.Duration) float64 {
				return c.Rate * (0.1 + 0.9*min(t.Seconds()/c.Duration.Seconds(), 1))
			}
		}},
	{"burst", "the rate, and four times it for 2 s of every 10 s", func(c *Config, p *plan) {
		p.rate = func(t time.Duration) float64 {
			if t%(10*time.Second) >= 8*time.Second {
				return 4 * c.Rate
			}
			return c.Rate
		}
	}},
	{"limit", "one number at its throughput limit (--mps, default the rate): wasp paces its sends below it, so no 130429 and growing latency once the rate passes 95 % of it",
		func(c *Config, p *plan) {
			p.numbers = p.numbers[:1]
			p.mps = c.ThroughputMPS
			if p.mps <= 0 {
				p.mps = int(math.Ceil(c.Rate))
			}
		}},
	{"slow-llm", "the OpenAI-compatible bot against a model served by bench that answers in --llm-latency (±50 %); media still get the acknowledgement",
		func(c *Config, p *plan) { p.llm = true }},
	{"retry-storm", "Meta's retries: half of the webhooks delivered twice and a fifth of the statuses in reverse order; each message must still be answered once",
		func(c *Config, p *plan) { p.duplicates, p.outOfOrder = 0.5, 0.2 }},
	{"tenants", "--tenants tenants of one number each, the customers spread over them", func(c *Config, p *plan) {
		if c.Target != "" {
			return // the deployment's own numbers
		}
		p.numbers = nil
		for i := range c.Tenants {
			p.numbers = append(p.numbers, fmt.Sprintf("1065403%08d", i+1))
		}
	}},
}

func scenario(name string) (Scenario, bool) {
	i := slices.IndexFunc(Scenarios, func(s Scenario) bool { return s.Name == name })
	if i < 0 {
		return Scenario{}, false
	}
	return Scenarios[i], true
}

// ScenarioNames lists the scenarios' names, for help and errors.
func ScenarioNames() string {
	var names []string
	for _, s := range Scenarios {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}

// newPlan is the plan of c's scenario; c is checked.
func newPlan(c *Config) plan {
	p := plan{rate: func(time.Duration) float64 { return c.Rate }, numbers: c.Numbers, mps: -1}
	if len(p.numbers) == 0 {
		p.numbers = []string{sim.DefaultPhoneNumberID}
	}
	sc, _ := scenario(c.Scenario)
	sc.plan(c, &p)
	return p
}

// DefaultTypes is the default mix of inbound messages: every kind wasp
// answers, text ten times as often as each other.
var DefaultTypes = map[string]float64{
	"text": 10, "referral": 1, "reply": 1, "product_inquiry": 1,
	"image": 1, "video": 1, "audio": 1, "voice": 1, "document": 1, "sticker": 1,
	"location": 1, "contacts": 1, "button_reply": 1, "list_reply": 1, "nfm_reply": 1, "button": 1, "order": 1,
	"unsupported": 1,
}

// expectsReply reports whether wasp answers an inbound message of kind
// (one of sim.InboundTypes) as the processor does: reactions and system
// messages update the conversation only; an unsupported message (the
// simulator's are polls) gets an apology.
func expectsReply(kind string) bool {
	switch kind {
	case "reaction", "system":
		return false
	}
	return true
}

// ParseTypes reads a mix written "text=10,image=1,reaction=0.5".
func ParseTypes(s string) (map[string]float64, error) {
	m := map[string]float64{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		var w float64
		if _, err := fmt.Sscan(v, &w); !ok || err != nil || w < 0 {
			return nil, fmt.Errorf("%q is not kind=weight (write it like text=10,image=1)", part)
		}
		if !slices.Contains(sim.InboundTypes, k) {
			kinds := slices.Clone(sim.InboundTypes)
			sort.Strings(kinds)
			return nil, fmt.Errorf("%q is not a message kind (one of %s)", k, strings.Join(kinds, ", "))
		}
		m[k] = w
	}
	return m, nil
}
