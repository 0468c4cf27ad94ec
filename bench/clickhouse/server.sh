#!/usr/bin/env bash
# What a ClickHouse server takes of wasp's schema by itself: events
# inserted in Native blocks over HTTP, the way the loader inserts them
# (batches sorted by the table's key, its views run in parallel), with no
# loader and no log, so the server has the machine to itself. The rows/s
# it prints bound what any loader can reach against that server.
#
#   bench/clickhouse/server.sh [rows] [batch rows]     (1,000,000 and 100,000)
#
# VIEWS=none drops the materialized views of events first: the cost of
# the insert alone. PARALLEL=n runs n inserts at a time (the loader runs
# one; a server on one insert at a time leaves cores idle). WASP_CLICKHOUSE_ADDR (native, for `wasp migrate`) and
# CLICKHOUSE_HTTP name the server; the defaults are those of
# scripts/clickhouse.sh. It uses the databases wasp_bench_source and
# wasp_bench_server, and drops them when done. The events are generated
# by the server with the mix of the loader's benchmark (analytics
# testEvent: eight kinds in turn, three numbers, 500 customers).
set -euo pipefail
cd "$(dirname "$0")/../.."
rows=${1:-1000000}
batch=${2:-100000}
http=${CLICKHOUSE_HTTP:-127.0.0.1:18123}
export WASP_CLICKHOUSE_ADDR=${WASP_CLICKHOUSE_ADDR:-127.0.0.1:19000}
src=wasp_bench_source db=wasp_bench_server
dir=$(mktemp -d)

q() { curl -sS --fail-with-body "http://$http/?$1" --data-binary @-; }
cleanup() {
	rm -rf "$dir"
	for d in $src $db; do echo "DROP DATABASE IF EXISTS $d" | q "" >/dev/null || true; done
}
trap cleanup EXIT

make -s build
migrate() { WASP_CLICKHOUSE_DATABASE=$1 bin/wasp migrate >/dev/null; }
echo "DROP DATABASE IF EXISTS $src" | q "" && migrate $src
echo "CREATE TABLE $src.rows AS $src.events ENGINE = Log" | q ""
q "" <<EOF
INSERT INTO $src.rows
SELECT
    concat('evt_', substring(hex(SHA256(toString(number))), 1, 24)) AS id,
    ['inbound', 'bot_reply', 'send_accepted', 'status', 'status', 'status', 'send_failed', 'handoff'][number % 8 + 1] AS kind,
    toDateTime('2026-01-31 22:00:00', 'UTC') + intDiv(number, 100000) AS time,
    if(number % 3 != 2, 'acme', 'globex') AS tenant,
    ['106540352242922', '106540352242923', '106540352242924'][number % 3 + 1] AS phone_number_id,
    concat('52155500', substring(toString(100000 + number % 500), 2, 5)) AS user,
    concat('wamid.bench.', toString(intDiv(number, 8))) AS wamid,
    if(number % 8 = 2, concat('cmd_', toString(number)), '') AS command_id,
    if(number % 8 IN (0, 2), 'text', '') AS message_type,
    if(number % 8 = 2, 'bot', '') AS origin,
    if(number % 8 IN (3, 4, 5), ['sent', 'delivered', 'read'][number % 8 - 2], '') AS status,
    toInt32(if(number % 8 = 6, 131026, 0)) AS error_code,
    if(number % 8 = 6, 'never', '') AS error_class,
    multiIf(number % 8 = 1, 'greeting', number % 8 = 6, 'undeliverable', number % 8 = 7, 'keyword', '') AS reason,
    toInt64(multiIf(number % 8 = 1, 40, number % 8 = 2, 90, 0)) AS latency_ms,
    toInt64(if(number % 8 = 2, 1200, 0)) AS response_ms,
    toInt32(0) AS attempt,
    toInt64(if(number % 8 = 1, 120, 0)) AS tokens,
    if(number % 8 IN (3, 4, 5), 'service', '') AS pricing_category,
    if(number % 8 IN (3, 4, 5), 'regular', '') AS pricing_type,
    toUInt8(number % 8 IN (3, 4, 5)) AS billable,
    'wa.events' AS source_topic,
    toInt32(number % 4) AS source_partition,
    toInt64(number) AS source_offset,
    now() AS loaded_at
FROM system.numbers
LIMIT $rows
EOF
for ((i = 0; i * batch < rows; i++)); do
	echo "SELECT * FROM $src.rows WHERE intDiv(source_offset, $batch) = $i
	      ORDER BY tenant, phone_number_id, time, id FORMAT Native" | q "" >"$dir/$i.native"
done

echo "DROP DATABASE IF EXISTS $db" | q "" && migrate $db
if [ "${VIEWS:-}" = none ]; then
	for v in $(echo "SELECT name FROM system.tables WHERE database = '$db' AND engine = 'MaterializedView'" | q ""); do
		echo "DROP TABLE $db.$v" | q ""
	done
fi
views=$(echo "SELECT count() FROM system.tables WHERE database = '$db' AND engine = 'MaterializedView'" | q "")
# The server's whole CPU (merges included) when it runs here, from
# /proc; its query threads' CPU from system.events otherwise.
pid=$(pgrep -o -x clickhouse-serv || pgrep -o -x clickhouse || true)
tck=$(getconf CLK_TCK)
proc_cpu() { if [ -n "$pid" ]; then awk -v t="$tck" '{print ($14 + $15) / t}' "/proc/$pid/stat"; else echo 0; fi; }
query_cpu() { echo "SELECT sum(value) / 1e6 FROM system.events WHERE event IN ('UserTimeMicroseconds', 'SystemTimeMicroseconds')" | q ""; }
sync
sleep 2
p0=$(proc_cpu) c0=$(query_cpu) t0=$(date +%s.%N)
ls "$dir"/*.native | xargs -P "${PARALLEL:-1}" -I{} curl -sS --fail-with-body \
	"http://$http/?query=INSERT+INTO+$db.events+FORMAT+Native&parallel_view_processing=1&max_threads=5" --data-binary @{}
t1=$(date +%s.%N) p1=$(proc_cpu) c1=$(query_cpu)
sleep 5 # the merges the inserts started
p2=$(proc_cpu)
loaded=$(echo "SELECT count() FROM $db.events" | q "")
[ "$loaded" = "$rows" ] || { echo "server.sh: $loaded rows in $db.events, $rows inserted" >&2; exit 1; }
awk -v n="$rows" -v b="$batch" -v v="$views" -v par="${PARALLEL:-1}" -v t0="$t0" -v t1="$t1" \
	-v c="$c1 - $c0" -v p0="$p0" -v p1="$p1" -v p2="$p2" -v local="${pid:+1}" 'BEGIN {
	split(c, q, " - ")
	printf "%d rows, batches of %d, %d at a time, %d views: %.0f rows/s; server CPU a row: queries %.2f µs",
		n, b, par, v, n / (t1 - t0), (q[1] - q[2]) * 1e6 / n
	if (local) printf ", whole process %.2f µs (%.2f µs with the next 5 s of merges)", (p1 - p0) * 1e6 / n, (p2 - p0) * 1e6 / n
	printf "\n"
}'
