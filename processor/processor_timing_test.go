package processor

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkProcessorRecords measures webhook records/s through the
// processor with the rules bot: parse, dedupe, state in Badger, the bot's
// reply, commands and events appended durably, offsets committed. Each
// record is one text message; 2,000 users write 5 messages each.
func BenchmarkProcessorRecords(b *testing.B) {
	const users, per = 2000, 5
	for b.Loop() {
		r := newRig(b, nil)
		var bodies []string
		for i := range users * per {
			bodies = append(bodies, text(fmt.Sprintf("52155%07d", i%users), fmt.Sprintf("wamid.bench%d", i), "hola, ¿a qué hora abren?"))
		}
		before := repliesTotal.Get()
		start := time.Now()
		for i := 0; i < len(bodies); i += 500 {
			r.post(bodies[i:min(i+500, len(bodies))]...)
		}
		for repliesTotal.Get()-before < users*per || r.p.track.Pending() > 0 {
			time.Sleep(20 * time.Millisecond)
		}
		b.ReportMetric(float64(users*per)/time.Since(start).Seconds(), "records/s")
		r.shutdown()
	}
}
