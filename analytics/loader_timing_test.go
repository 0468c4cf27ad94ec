package analytics

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"wasp/schemas"
	"wasp/stream"
)

// BenchmarkLoader loads a million events (10 s of traffic at 100,000
// events/s) from the embedded log into ClickHouse (the server of
// scripts/clickhouse.sh), every materialized view of the schema included,
// with the default batches, and reports rows/s from the start of the
// loader to the last row visible. The loader and the server share the
// machine's cores, so it also reports the CPU time each spent per row:
// loader-µs/row (this process) and server-µs/row (the server's query
// threads; its background merges are not counted). Their sum bounds the
// rows/s that the cores can give, and varies less than rows/s on a
// shared machine. When the server runs on this machine (one process
// named clickhouse-server), server-process-µs/row is its whole CPU time
// per row: the query threads and the background merges of the parts the
// inserts wrote.
//
// Two sets of events: the tests' (customers=500, wamids that sort almost
// in their order), and one closer to a busy number's (a customer every
// five events out of 200,000, wamids like Meta's), where the
// conversations view has a group for most customers of a batch.
//
//	go test -run '^$' -bench 'Loader$' -benchtime 1x ./analytics
func BenchmarkLoader(b *testing.B) {
	for _, customers := range []int{500, 200_000} {
		b.Run(fmt.Sprintf("customers=%d", customers), func(b *testing.B) { benchLoader(b, customers) })
	}
}

func benchLoader(b *testing.B, customers int) {
	const n = 1_000_000
	l := openTestLog(b, b.TempDir())
	if customers == 500 {
		appendTestEventsEvery(b, l, "bench", 0, n, 10*time.Microsecond)
	} else {
		var es []schemas.Event
		for i := range n {
			e := testEvent("bench", i)
			e.Time = testStart.Add(time.Duration(i) * 10 * time.Microsecond)
			e.User = fmt.Sprintf("5215%08d", uint64(i/5)*2654435761%uint64(customers))
			if e.Wamid != "" {
				e.Wamid = "wamid.HBgN" + schemas.EventID("wamid", fmt.Sprint(i/8))[4:]
			}
			if es = append(es, e); len(es) == 2000 {
				appendEvents(b, l, es)
				es = es[:0]
			}
		}
		appendEvents(b, l, es)
	}
	var elapsed, loaderCPU, serverCPU, serverProcCPU time.Duration
	serverPID := localServerPID()
	for i := range b.N {
		b.StopTimer()
		db := newTestDB(b)
		b.StartTimer()
		start, cpu0, server0, proc0 := time.Now(), processCPU(b), db.serverCPU(b), pidCPU(serverPID)
		stop := runLoader(b, LoaderConfig{Addr: db.addr, Database: db.name, Group: fmt.Sprint("bench", i)}, l)
		db.waitLoaded(b, 5*time.Minute, n)
		elapsed += time.Since(start)
		loaderCPU += processCPU(b) - cpu0
		serverCPU += db.serverCPU(b) - server0
		serverProcCPU += pidCPU(serverPID) - proc0
		stop()
	}
	rows := float64(n * b.N)
	b.ReportMetric(rows/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(loaderCPU.Microseconds())/rows, "loader-µs/row")
	b.ReportMetric(float64(serverCPU.Microseconds())/rows, "server-µs/row")
	if serverPID != 0 {
		b.ReportMetric(float64(serverProcCPU.Microseconds())/rows, "server-process-µs/row")
	}
}

// localServerPID is the process id of the one clickhouse-server running
// on this machine, or 0 when there is none or several.
func localServerPID() int {
	dirs, _ := os.ReadDir("/proc")
	found := 0
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		// comm holds the first 15 bytes of the name.
		if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(comm)) == "clickhouse-serv" {
			if found != 0 {
				return 0
			}
			found = pid
		}
	}
	return found
}

// pidCPU is the CPU time process pid used so far, every thread's; 0 for
// pid 0 or a process gone.
func pidCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields 14 and 15 (utime, stime, in clock ticks) come after the
	// command, which is in parentheses and may hold spaces.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/pid/stat's times: 100 on
// Linux whatever the kernel's own tick.
const clockTicks = 100

// processCPU is the CPU time this process used so far.
func processCPU(t testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serverCPU is the CPU time the server's queries used so far.
func (db *testDB) serverCPU(t testing.TB) time.Duration {
	us := db.uint64s(t, "SELECT sum(value) FROM system.events WHERE event IN ('UserTimeMicroseconds', 'SystemTimeMicroseconds')")
	return time.Duration(us[0]) * time.Microsecond
}

// BenchmarkDecodeEvent: a status event, the commonest kind.
func BenchmarkDecodeEvent(b *testing.B) {
	v, _ := json.Marshal(testEvent("bench", 3))
	b.SetBytes(int64(len(v)))
	b.ReportAllocs()
	var e schemas.Event
	for b.Loop() {
		if err := decodeEvent(v, &e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoaderInsert is the loader's inserts alone, without the log:
// a million decoded events (10 s of traffic) in batches of 100,000, every
// materialized view included.
//
//	go test -run '^$' -bench LoaderInsert -benchtime 1x ./analytics
func BenchmarkLoaderInsert(b *testing.B) {
	const n, batchRows = 1_000_000, 100_000
	batches := make([]*loadBatch, n/batchRows)
	for i := range n {
		bt := batches[i/batchRows]
		if bt == nil {
			bt = &loadBatch{}
			batches[i/batchRows] = bt
		}
		e := testEvent("insert", i)
		e.Time = testStart.Add(time.Duration(i) * 10 * time.Microsecond)
		v, _ := json.Marshal(e)
		if err := bt.add(&stream.Record{Partition: int32(i % 4), Offset: int64(i), Value: v}, batchRows); err != nil {
			b.Fatal(err)
		}
	}
	var elapsed time.Duration
	for range b.N {
		b.StopTimer()
		db := newTestDB(b)
		ld, err := NewLoader(LoaderConfig{Addr: db.addr, Database: db.name}, openTestLog(b, b.TempDir()))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		for _, bt := range batches {
			if err := ld.load(context.Background(), bt); err != nil {
				b.Fatal(err)
			}
		}
		elapsed += time.Since(start)
		ld.Close()
	}
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "rows/s")
}
