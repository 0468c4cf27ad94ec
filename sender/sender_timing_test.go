package sender

import (
	"fmt"
	"testing"
	"time"

	"wasp/bench/sim"
	"wasp/schemas"
)

// BenchmarkSenderThroughput measures commands/s from the outbound topic to
// accepted sends at the simulator (same machine), with pacing and the pair
// limit off: the stage's own cost (ledger, batching, requests in flight,
// events, commits).
func BenchmarkSenderThroughput(b *testing.B) {
	const n = 20_000
	for b.Loop() {
		r := newRig(b, sim.Config{KeepSends: -1, PairLimit: sim.PairLimit{Burst: -1},
			Numbers: []sim.Number{{PhoneNumberID: testNumber, ThroughputMPS: -1}}},
			Config{ThroughputMPS: -1, MaxInFlight: 512})
		var cmds []*schemas.SendCommand
		for i := range n {
			cmds = append(cmds, textCmd(fmt.Sprintf("bench-%d", i), fmt.Sprintf("52155%07d", i), "hola"))
		}
		r.send(cmds...)
		start := time.Now()
		for r.accepted() < n {
			time.Sleep(50 * time.Millisecond)
		}
		rate := float64(n) / time.Since(start).Seconds()
		b.Logf("%.0f sends/s", rate)
		b.ReportMetric(rate, "sends/s")
		r.shutdown()
	}
}
