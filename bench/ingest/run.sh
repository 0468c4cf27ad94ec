#!/usr/bin/env bash
# Load test of the ingester: wrk posts a signed 1.5 KB webhook to a wasp on
# the embedded log (durable acknowledgements) and prints throughput,
# latency, the CPU time of wrk and of wasp, and wasp's memory.
#
#   bench/ingest/run.sh [connections] [seconds]
#
# WASP_CMD=run measures the ingester inside `wasp run`, sharing the cores
# with the stages that read what it stores; the default is `wasp ingest`.
# WASP_CMD=nolog measures the same HTTP server with an appender that
# stores nothing (nolog.go): the ceiling of the machine. NOLOG_SYNC=1ms
# makes that appender answer in groups after a sync's time, as the log
# does, without the disk. NOLOG_FILE=1 makes it write each group's bodies
# to one file and fdatasync it before answering: the least a durable
# acknowledgement costs, with no index, no frames and no partitions.
#
# It also prints the disk's writes and cache flushes during the load (from
# /sys/block, for the device of the temporary directory).
#
# WASP_BIN=path runs that binary instead of building bin/wasp: to compare
# two builds, alternate them run by run (the machine drifts between runs).
#
set -euo pipefail
cd "$(dirname "$0")/../.."
conns=${1:-256}
secs=${2:-15}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
if [ -z "${WASP_BIN:-}" ]; then make -s build; fi
bin=${WASP_BIN:-bin/wasp}
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
go run bench/ingest/gen.go -secret bench-secret > "$dir/post.lua"
if [ "${WASP_CMD:-}" = nolog ]; then
  go build -o "$dir/nolog" bench/ingest/nolog.go
  "$dir/nolog" -addr 127.0.0.1:18080 -secret bench-secret -sync "${NOLOG_SYNC:-0}" ${NOLOG_FILE:+-file "$dir/log"} &
  pid=$!
  for _ in $(seq 100); do curl -s -o /dev/null 127.0.0.1:18080/ && break; sleep 0.1; done
else
  WASP_DATA_DIR="$dir/data" WASP_APP_SECRET=bench-secret WASP_VERIFY_TOKEN=v \
    WASP_LISTEN=127.0.0.1:18080 WASP_ADMIN_LISTEN=127.0.0.1:19090 WASP_LOG_LEVEL=warn \
    "$bin" "${WASP_CMD:-ingest}" &
  pid=$!
  for _ in $(seq 100); do curl -sf localhost:19090/readyz >/dev/null && break; sleep 0.1; done
fi
echo "wasp ${WASP_CMD:-ingest} $("$bin" version | cut -d' ' -f2), $(go version | cut -d' ' -f3), $(nproc) cores, $conns connections, ${secs}s"
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; } # user + system, in ticks
# The whole disk of the temporary directory (a partition's stat has no
# flush count): writes completed and flushes, fields 5 and 16.
disk=/sys/dev/block/$(mountpoint -d "$(df --output=target "$dir" | tail -1)" || true)
if [ -e "$disk/partition" ]; then disk=$disk/..; fi
io() { if [ -r "$disk/stat" ]; then awk '{print $5, $16}' "$disk/stat"; fi; }
before=$(cpu) io0=$(io)
/usr/bin/time -f "wrk CPU: %U s user, %S s system" \
  wrk -t"${WRK_THREADS:-2}" -c"$conns" -d"${secs}s" -s "$dir/post.lua" --latency http://127.0.0.1:18080/webhook
echo "wasp CPU: $(( ($(cpu) - before) * 1000 / $(getconf CLK_TCK) )) ms"
if [ -n "$io0" ]; then
  read -r w0 f0 <<<"$io0"
  read -r w1 f1 <<<"$(io)"
  echo "disk: $((w1 - w0)) writes, $((f1 - f0)) flushes"
fi
[ "${WASP_CMD:-}" = nolog ] || curl -s localhost:19090/metrics | grep -E '^(process_resident_memory_(anon|file)_bytes|wasp_ingest_requests_total\{outcome="(ok|unavailable)"\}|wasp_stream_appended_records_total\{log="badger"\})'
