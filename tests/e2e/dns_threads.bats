#!/usr/bin/env bats
# dns_threads.bats: issue bullet "64 threads resolving and connecting to
# 1000 distinct names at once: every connection reaches the right target,
# no crash under TSan".
#
# The proxy (socksifyd, in a mount namespace) has a hosts file that gives
# each name nNNNN.test its own address 127.1.(i >> 8).(i & 255); the target
# (tools/dns_multi_echo.py) listens on all of them on one port and tells
# each connection which address it reached.  progs/dns_threads.c checks
# that address for every connection (so a name sent for another name's
# stand-in is caught), and the proxy's log must list each name as target
# exactly as often as the program connected to it.

load lib/common
load lib/client
load lib/dns
load lib/guard

NAMES=1000
THREADS=64

setup_file() {
	dns_build_progs
	if command -v clang >/dev/null 2>&1; then
		clang -D_GNU_SOURCE -O1 -g -fsanitize=thread -pthread \
			-o "$DNS_PROGS/dns_threads_tsan" "$REPO/tests/e2e/progs/dns_threads.c"
	fi
}

setup() {
	dns_setup
	guard_setup
	start_dns_counter
	awk -v n="$NAMES" 'BEGIN {
		for (i = 1; i <= n; i++)
			printf "127.1.%d.%d n%04d.test\n", int(i / 256), i % 256, i
	}' >>"$PROXY_HOSTS"
	start_bg multi_echo "$PYTHON" "$TOOLS/dns_multi_echo.py" --count "$NAMES" \
		--port-file "$E2E_TMP/multi.port" --log "$E2E_TMP/multi.log"
	wait_for_file "$E2E_TMP/multi.port" 20 || fail "dns_multi_echo did not start: $(cat "$BG_LOG")"
	PORT="$(tr -d '[:space:]' <"$E2E_TMP/multi.port")"
	start_proxy_socksifyd
	dns_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
}

teardown() {
	guard_teardown
}

# assert_targets ROUNDS: socksifyd logged NAMES*ROUNDS successful CONNECTs,
# to names only, each name exactly ROUNDS times.
assert_targets() {
	local rounds="$1" want=$((NAMES * $1)) i bad
	for ((i = 0; i < 100; i++)); do
		(($(session_count cmd=connect) >= want)) && break
		sleep 0.1
	done
	assert_equal "$(session_count cmd=connect)" "$want"
	assert_equal "$(session_count cmd=connect result=ok target=~'n[0-9][0-9][0-9][0-9]\.test:'"$PORT")" "$want"
	bad="$(session_filter cmd=connect | tr ' ' '\n' | sed -n 's/^target=//p' | sort | uniq -c |
		awk -v r="$rounds" '$1 != r')"
	[[ -z "$bad" ]] || fail "names not seen exactly $rounds times by the proxy: $bad"
	assert_equal "$(session_filter cmd=connect | tr ' ' '\n' | sed -n 's/^target=//p' | sort -u | wc -l)" "$NAMES"
}

@test "64 threads x 1000 names: every connection reaches the right target" {
	drun dsfy "$DNS_PROGS/dns_threads" "$PORT" "$NAMES" "$THREADS" 2
	assert_success
	assert_line "done jobs=$((NAMES * 2)) ok=$((NAMES * 2)) fail=0"
	assert_targets 2
	assert_no_queries
}

@test "64 threads x 1000 names under TSan: no race report, no crash, every connection right" {
	local tsan arch
	tsan="$(tsan_build)" ||
		skip "no ThreadSanitizer build of the library (set SOCKSIFY_BUILD_TSAN or build $REPO/build-tsan with -DSOCKSIFY_SANITIZE=thread)"
	[[ -x "$DNS_PROGS/dns_threads_tsan" ]] || fail "clang could not build dns_threads with -fsanitize=thread"
	[[ -x "$tsan/preload/socksify-run" ]] || fail "no launcher in $tsan/preload"
	# TSan (clang 14) cannot map its shadow memory with a high ASLR
	# entropy: run without address randomisation.
	arch="$(uname -m)"
	run env SOCKSIFY_BUILD="$tsan" TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 verbosity=1" \
		timeout 150 unshare -m sh -c 'mount --bind "$1" /etc/hosts &&
			mount --bind "$2" /etc/resolv.conf && shift 2 && exec "$@"' \
		sh "$CLIENT_HOSTS" "$CLIENT_RESOLV" setarch "$arch" -R \
		"$LAUNCHER" -f "$SFY_CONF" -- "$DNS_PROGS/dns_threads_tsan" "$PORT" "$NAMES" "$THREADS" 2
	if [[ "$output" == *"WARNING: ThreadSanitizer"* || "$output" == *"ERROR: ThreadSanitizer"* ]]; then
		fail "ThreadSanitizer report: $output"
	fi
	# The check can fail: the runtime really ran.
	assert_output --partial "Running under ThreadSanitizer"
	assert_success
	assert_line "done jobs=$((NAMES * 2)) ok=$((NAMES * 2)) fail=0"
	assert_targets 2
	assert_no_queries
}
