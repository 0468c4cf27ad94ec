#!/usr/bin/env bash
# clickhouse.sh start|stop|addr|config — a private ClickHouse server for the tests.
#
# start  installs Debian's clickhouse-server when no server binary is found
#        (as root, non-interactively; the package's own service is not
#        started), then runs a server of its own as a background process:
#        config, data and logs in $TMPDIR/wasp-clickhouse, listening on
#        127.0.0.1 only (native 19000, HTTP 18123, no interserver port). It
#        returns once the server answers SELECT 1. A server already started
#        by this script is reused; a stale one is stopped first.
# stop   stops that server and removes its directory.
# addr   prints the native address for WASP_TEST_CLICKHOUSE_ADDR.
# config writes the configuration only (no install) and prints the command
#        that runs a server on it, for a test that starts, stops and
#        restarts a server of its own.
#
# WASP_CH_DIR, WASP_CH_TCP_PORT and WASP_CH_HTTP_PORT choose the directory
# and the ports (defaults above), so that a second server can run beside
# the first.
#
# Quiet on success; on failure it prints why and the server's log tail.
set -euo pipefail

dir="${WASP_CH_DIR:-${TMPDIR:-/tmp}/wasp-clickhouse}"
tcp_port="${WASP_CH_TCP_PORT:-19000}"
http_port="${WASP_CH_HTTP_PORT:-18123}"
pidfile="$dir/server.pid"

die() { echo "clickhouse.sh: $*" >&2; exit 1; }

# server prints the command that runs a server: Debian's 18.16 package
# ships /usr/sbin/clickhouse-server; current releases ship one clickhouse
# binary with a "server" mode.
server() {
	local b
	for b in clickhouse-server /usr/sbin/clickhouse-server /usr/bin/clickhouse-server; do
		if command -v "$b" >/dev/null 2>&1; then echo "$(command -v "$b")"; return; fi
	done
	for b in clickhouse /usr/bin/clickhouse; do
		if command -v "$b" >/dev/null 2>&1; then echo "$(command -v "$b") server"; return; fi
	done
}

install() {
	[ "$(id -u)" = 0 ] || die "clickhouse-server is not installed and installing it needs root (apt-get install clickhouse-server)"
	command -v apt-get >/dev/null || die "clickhouse-server is not installed and there is no apt-get"
	# Keep the package from starting its system service: the tests run
	# their own server.
	local policy=/usr/sbin/policy-rc.d added=
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	local ok=
	if apt-get install -y -qq --no-install-recommends clickhouse-server >"$dir.install.log" 2>&1 ||
		{ apt-get update -qq >>"$dir.install.log" 2>&1 &&
			apt-get install -y -qq --no-install-recommends clickhouse-server >>"$dir.install.log" 2>&1; }; then
		ok=1
	fi
	[ -n "$added" ] && rm -f "$policy"
	[ -n "$ok" ] || { tail -n 20 "$dir.install.log" >&2; die "cannot install clickhouse-server"; }
	rm -f "$dir.install.log"
}

# ping succeeds when the server answers SELECT 1 over HTTP, with bash's
# /dev/tcp: neither curl nor clickhouse-client is needed.
read -r -d '' ping_script <<'EOF' || true
exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
printf 'GET /?query=SELECT%%201 HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
out=$(cat <&3)
[[ $out == "HTTP/1."?" 200 "* && $out == *$'\r\n\r\n1' ]]
EOF
ping() { timeout 2 bash -c "$ping_script" _ "$http_port" 2>/dev/null; }

# pids prints the live servers started by this script: the one in the pid
# file and any other running with this script's config file (found in
# /proc, so that procps is not needed).
pids() {
	local f p cmd
	{
		[ -f "$pidfile" ] && cat "$pidfile"
		for f in /proc/[0-9]*/cmdline; do
			cmd=$( { tr '\0' ' ' <"$f"; } 2>/dev/null) || continue
			[[ $cmd == *"--config-file=$dir/config.xml"* ]] || continue
			p=${f#/proc/}
			echo "${p%/cmdline}"
		done
	} | sort -u | while read -r p; do
		[ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"
	done
	return 0
}

stop() {
	local ps p i
	ps=$(pids)
	for p in $ps; do kill -TERM "$p" 2>/dev/null || true; done
	for i in $(seq 100); do
		[ -z "$(pids)" ] && break
		sleep 0.1
	done
	for p in $(pids); do kill -KILL "$p" 2>/dev/null || true; done
	rm -rf "$dir"
}

write_config() {
	mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas"
	cat >"$dir/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>$dir/server.log</log>
        <errorlog>$dir/server.err.log</errorlog>
        <size>10M</size>
        <count>1</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>$tcp_port</tcp_port>
    <http_port>$http_port</http_port>
    <path>$dir/data/</path>
    <tmp_path>$dir/tmp/</tmp_path>
    <user_files_path>$dir/user_files/</user_files_path>
    <format_schema_path>$dir/format_schemas/</format_schema_path>
    <users_config>$dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mark_cache_size>268435456</mark_cache_size>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <max_concurrent_queries>100</max_concurrent_queries>
</yandex>
EOF
	cat >"$dir/users.xml" <<'EOF'
<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <allow_experimental_low_cardinality_type>1</allow_experimental_low_cardinality_type>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF
}

start() {
	if [ -f "$dir/config.xml" ] && [ -n "$(pids)" ] && ping; then
		return 0 # already running: reuse it
	fi
	stop # a stale server or directory from an earlier run
	mkdir -p "$(dirname "$dir")"
	local cmd
	cmd=$(server)
	if [ -z "$cmd" ]; then
		install
		cmd=$(server)
		[ -n "$cmd" ] || die "clickhouse-server was installed but no server binary was found"
	fi
	if ping; then
		die "port $http_port already answers: a ClickHouse not started by this script; stop it first"
	fi
	write_config
	# setsid: the server outlives this script, in its own session, away
	# from the terminal's signals (setsid execs it: $! is the server). It
	# runs as the current user; 18.16 accepts root.
	setsid $cmd --config-file="$dir/config.xml" </dev/null >"$dir/stdout.log" 2>&1 &
	echo $! >"$pidfile"
	local i
	for i in $(seq 300); do
		if ping; then return 0; fi
		if ! kill -0 $! 2>/dev/null && [ -z "$(pids)" ]; then break; fi
		sleep 0.1
	done
	{
		echo "clickhouse.sh: the server did not answer on 127.0.0.1:$http_port"
		tail -n 20 "$dir/stdout.log" "$dir/server.err.log" 2>/dev/null || true
	} >&2
	stop
	exit 1
}

config() {
	local cmd
	cmd=$(server)
	[ -n "$cmd" ] || die "no ClickHouse server binary (clickhouse.sh start installs Debian's clickhouse-server)"
	write_config
	echo "$cmd --config-file=$dir/config.xml"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
addr) echo "127.0.0.1:$tcp_port" ;;
config) config ;;
*) die "usage: clickhouse.sh start|stop|addr|config" ;;
esac
