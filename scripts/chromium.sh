#!/usr/bin/env bash
# chromium.sh — prints the path of a Chromium for the browser test
# (cmd/wasp/dashboard_browser_test.go), installing Debian's package when
# none is found (as root, non-interactively; apt-get update and a second
# try when the first install fails). $WASP_TEST_CHROMIUM wins when it names
# an executable.
#
# Quiet on success but for the path; on failure it prints why and the
# install log's tail.
set -euo pipefail

die() { echo "chromium.sh: $*" >&2; exit 1; }

find_chromium() {
	local b
	for b in "${WASP_TEST_CHROMIUM:-}" chromium chromium-browser /usr/bin/chromium; do
		[ -n "$b" ] || continue
		if command -v "$b" >/dev/null 2>&1; then command -v "$b"; return; fi
	done
}

install() {
	[ "$(id -u)" = 0 ] || die "chromium is not installed and installing it needs root (apt-get install chromium)"
	command -v apt-get >/dev/null || die "chromium is not installed and there is no apt-get"
	export DEBIAN_FRONTEND=noninteractive
	local log="${TMPDIR:-/tmp}/wasp-chromium-install.log"
	if apt-get install -y -qq --no-install-recommends chromium >"$log" 2>&1 ||
		{ apt-get update -qq >>"$log" 2>&1 &&
			apt-get install -y -qq --no-install-recommends chromium >>"$log" 2>&1; }; then
		rm -f "$log"
		return
	fi
	tail -n 20 "$log" >&2
	die "cannot install chromium"
}

bin=$(find_chromium)
if [ -z "$bin" ]; then
	install
	bin=$(find_chromium)
	[ -n "$bin" ] || die "chromium was installed but no chromium binary was found"
fi
echo "$bin"
