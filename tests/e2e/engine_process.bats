#!/usr/bin/env bats
# engine_process.bats: the client engine's per-socket records and name pins
# across vfork, posix_spawn, fork, signal handlers and threads.
#
# Each test's name says which requirement of the engine issue it covers:
#   req 1  python3: a proxied connection, subprocess.run five times, then
#          getpeername and a request on the same socket; a second
#          connection after that
#   req 2  vfork and stand-in name pins (close_range, close, posix_spawn)
#   req 3  threads resolve names while the main thread forks 200 times:
#          no child hangs (bounded wait), run three times
#   req 4  close from a signal handler that interrupts getaddrinfo
#   req 5  64 threads x 1000 connects under TSan with zero errors
#
# The client runs in a mount namespace of its own (lib/dns.bash): names
# like only-the-proxy.test and e001.test are known only to the proxy's
# hosts file, so the client gets stand-in addresses and the proxy's
# session log shows the names it was asked for.

load lib/common
load lib/client
load lib/dns
load lib/guard

ENGINE_PROGS="${BATS_FILE_TMPDIR:-$E2E_TMP}/engineprogs"
# Names e001.test .. eNNN.test resolve to 127.0.0.1 at the proxy.
PIN_NAMES=300
# A small name map, and more new names than it holds: a name that no
# open socket pins is forgotten by the end of the flood.
CACHE=32
FLOOD=100

# engine_build_progs: compile this suite's programs into $ENGINE_PROGS
# with the flags client_build_progs uses (named one by one: other suites'
# engine_*.c are theirs to build), plus a ThreadSanitizer build of
# engine_tsan_connects when clang is there.
engine_build_progs() {
	local name
	mkdir -p "$ENGINE_PROGS"
	for name in engine_vfork_pins engine_fork_resolve engine_sigclose engine_tsan_connects; do
		cc -D_GNU_SOURCE -O2 -Wall -Wextra -pthread -o "$ENGINE_PROGS/$name" \
			"$REPO/tests/e2e/progs/$name.c" || return 1
	done
	if command -v clang >/dev/null 2>&1; then
		clang -D_GNU_SOURCE -O1 -g -fsanitize=thread -pthread \
			-o "$ENGINE_PROGS/engine_tsan_connects_tsan" \
			"$REPO/tests/e2e/progs/engine_tsan_connects.c"
	fi
}

setup_file() {
	engine_build_progs
}

setup() {
	dns_setup
	guard_setup
	start_dns_counter
	awk -v n="$PIN_NAMES" 'BEGIN { for (i = 1; i <= n; i++) printf "127.0.0.1 e%03d.test\n", i }' \
		>>"$PROXY_HOSTS"
	start_tcp_echo
	start_proxy_socksifyd
}

teardown() {
	guard_teardown
}

# wait_sessions N FILTER...: wait (10 s) until socksifyd logged at least N
# sessions matching FILTER, then assert it logged exactly N.  Sessions are
# logged when they end, a moment after the client closed them.
wait_sessions() {
	local n="$1"
	shift
	wait_until 10 session_count_is -ge "$n" "$@" || true
	assert_equal "$(session_count "$@")" "$n"
}

# echo_bytes: the byte counts the echo server logged, one per connection.
echo_bytes() {
	awk '{ print $3 }' "$ECHO_LOG"
}

# echo_count_ge N: true once the echo server logged N connections (for
# wait_until).
echo_count_ge() {
	(($(wc -l <"$ECHO_LOG") >= $1))
}

# ---------------------------------------------------------------- req 1

# subprocess_run HOST: tools/subprocess_keep.py against the HTTP server
# as HOST (a number, or a name only the proxy knows).
subprocess_run() {
	drun dsfy "$PYTHON" "$TOOLS/subprocess_keep.py" "$1" "$HTTP_PORT" 5
	assert_line "subprocesses 5"
}

# subprocess_rest: what both runs must show after the getpeername check.
subprocess_rest() {
	assert_line "body 1 $HTTP_BODY"
	# The request on the same socket after the subprocesses.
	assert_line "body 2 $HTTP_BODY"
	# The second connection.
	assert_line "body 3 $HTTP_BODY"
	refute_line --partial FAIL
	assert_line "done ok"
	assert_success
	assert_http_requests 3
}

@test "engine: req 1: python3 subprocess.run x5 after a proxied connect: getpeername is the destination, the same socket and a second connection still work" {
	start_http_server
	dns_conf "direct = none" "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	subprocess_run 127.0.0.1
	assert_line "getpeername 127.0.0.1 $HTTP_PORT"
	subprocess_rest
	# Both connections went through the proxy, and nothing else did.
	wait_sessions 2 cmd=connect target="127.0.0.1:$HTTP_PORT" result=ok
	assert_equal "$(session_count cmd=connect)" 2
}

@test "engine: req 1: python3 subprocess.run x5 after a connect by name: getpeername is the stand-in, getnameinfo the name, both connections work" {
	local standin
	start_http_server
	dns_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	subprocess_run "$ONLY_PROXY"
	assert_line --regexp "^connected 240\.[0-9]+\.[0-9]+\.[0-9]+ $HTTP_PORT\$"
	standin="$(sed -nE 's/^connected ([0-9.]+) .*/\1/p' <<<"$output")"
	assert_line "getpeername $standin $HTTP_PORT"
	assert_line "getnameinfo $ONLY_PROXY"
	subprocess_rest
	wait_sessions 2 cmd=connect target="$ONLY_PROXY:$HTTP_PORT" result=ok
	assert_equal "$(session_count cmd=connect)" 2
	assert_no_queries
}

# ---------------------------------------------------------------- req 2

# vfork_case MODE: progs/engine_vfork_pins MODE against the echo server by
# a name only the proxy knows, with a name map of $CACHE names and a flood
# of $FLOOD new names after the child.
vfork_case() {
	local pin
	dns_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT" "dns_cache_size = $CACHE"
	drun dsfy "$ENGINE_PROGS/engine_vfork_pins" "$1" "$ONLY_PROXY" "$ECHO_PORT" "$FLOOD"
	assert_line --regexp "^pin $ONLY_PROXY 240\.[0-9]+\.[0-9]+\.[0-9]+\$"
	pin="$(sed -nE "s/^pin $ONLY_PROXY ([0-9.]+)\$/\\1/p" <<<"$output")"
	assert_line "child status=0"
	assert_line "flood $FLOOD fail=0"
	# The parent's socket still has its peer, its name and its stand-in.
	assert_line "getpeername $pin:$ECHO_PORT"
	assert_line "getnameinfo $ONLY_PROXY"
	assert_line "again $pin"
	assert_line "echo after ok"
	assert_line "done ok"
	assert_success
	# One connection, by name, through the proxy; both echoes crossed it.
	wait_sessions 1 cmd=connect target="$ONLY_PROXY:$ECHO_PORT" result=ok
	assert_equal "$(session_count cmd=connect)" 1
	# "before the child\n" (17 bytes) and "after the child\n" (16).
	wait_until 5 echo_count_ge 1 || true
	assert_equal "$(echo_bytes)" 33
	assert_no_queries
}

@test "engine: req 2: vfork child close_range(3, ~0U) then _exit: the parent's stand-in keeps getpeername, its name pin and its connection" {
	vfork_case vfork-closerange-exit
}

@test "engine: req 2: vfork child close_range(3, ~0U) then exec /bin/true: the parent's stand-in keeps getpeername, its name pin and its connection" {
	vfork_case vfork-closerange-exec
}

@test "engine: req 2: vfork child close()s the parent's socket fd then _exit: the parent's stand-in keeps getpeername, its name pin and its connection" {
	vfork_case vfork-close-exit
}

@test "engine: req 2: vfork child close()s the parent's socket fd then exec /bin/true: the parent's stand-in keeps getpeername, its name pin and its connection" {
	vfork_case vfork-close-exec
}

@test "engine: req 2: posix_spawn with a close file action for the socket: the parent's stand-in keeps getpeername, its name pin and its connection" {
	vfork_case spawn-close
}

@test "engine: req 2: posix_spawn with addclosefrom_np(3): the parent's stand-in keeps getpeername, its name pin and its connection" {
	vfork_case spawn-closefrom
}

# ---------------------------------------------------------------- req 3

# fork_case: progs/engine_fork_resolve with 4 resolving threads and 200
# children, each connecting by name through the proxy.
fork_case() {
	dns_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	drun dsfy "$ENGINE_PROGS/engine_fork_resolve" "$ECHO_PORT" "$ONLY_PROXY" "$HOSTS_ONLY" 200 4
	assert_line "children=200 ok=200 hung=0 failed=0"
	# The threads really resolved during the forks, without an error.
	assert_line --regexp '^lookups=[1-9][0-9]* errors=0$'
	assert_success
	wait_sessions 200 cmd=connect target="$ONLY_PROXY:$ECHO_PORT" result=ok
	assert_equal "$(session_count cmd=connect)" 200
	assert_no_queries
}

@test "engine: req 3: threads resolve names while main forks 200 times: no child hangs (run 1 of 3)" {
	fork_case
}

@test "engine: req 3: threads resolve names while main forks 200 times: no child hangs (run 2 of 3)" {
	fork_case
}

@test "engine: req 3: threads resolve names while main forks 200 times: no child hangs (run 3 of 3)" {
	fork_case
}

# ---------------------------------------------------------------- req 4

@test "engine: req 4: close() from a SIGUSR1 handler that interrupts getaddrinfo: no deadlock, all 200 proxied sockets closed" {
	dns_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	drun dsfy "$ENGINE_PROGS/engine_sigclose" "$ECHO_PORT" 200
	refute_line --partial TIMEOUT
	assert_line "opened 200"
	assert_line --regexp '^closed=200 of 200 bad=0 still_open=0 lookups=[1-9][0-9]*$'
	assert_success
	# Every socket pinned a name and went through the proxy.
	wait_sessions 200 cmd=connect target=~"e[0-9][0-9][0-9]\\.test:$ECHO_PORT" result=ok
	assert_equal "$(session_filter cmd=connect | tr ' ' '\n' | sed -n 's/^target=//p' | sort -u | wc -l)" 200
	assert_no_queries
}

# ---------------------------------------------------------------- req 5

@test "engine: req 5: 64 threads x 1000 connects under TSan: no race report, every connection echoed" {
	local tsan arch
	tsan="$(tsan_build)" ||
		skip "no ThreadSanitizer build of the library (set SOCKSIFY_BUILD_TSAN or build $REPO/build-tsan with -DSOCKSIFY_SANITIZE=thread)"
	[[ -x "$ENGINE_PROGS/engine_tsan_connects_tsan" ]] ||
		fail "clang could not build engine_tsan_connects with -fsanitize=thread"
	dns_conf "direct = none" "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	# TSan (clang 14) cannot map its shadow memory with a high ASLR
	# entropy: run without address randomisation.
	arch="$(uname -m)"
	run env SOCKSIFY_BUILD="$tsan" TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 verbosity=1" \
		timeout 150 unshare -m sh -c 'mount --bind "$1" /etc/hosts &&
			mount --bind "$2" /etc/resolv.conf && shift 2 && exec "$@"' \
		sh "$CLIENT_HOSTS" "$CLIENT_RESOLV" setarch "$arch" -R \
		"$LAUNCHER" -f "$SFY_CONF" -- "$ENGINE_PROGS/engine_tsan_connects_tsan" \
		"$ECHO_PORT" "$ONLY_PROXY" 64 1000
	if [[ "$output" == *"WARNING: ThreadSanitizer"* || "$output" == *"ERROR: ThreadSanitizer"* ]]; then
		fail "ThreadSanitizer report: $output"
	fi
	# The check can fail: the runtime really ran.
	assert_output --partial "Running under ThreadSanitizer"
	assert_line "done jobs=1000 ok=1000 fail=0"
	assert_success
	# Half by number, half by name, all through the proxy; every one echoed.
	wait_sessions 500 cmd=connect target="127.0.0.1:$ECHO_PORT" result=ok
	wait_sessions 500 cmd=connect target="$ONLY_PROXY:$ECHO_PORT" result=ok
	assert_equal "$(session_count cmd=connect)" 1000
	wait_until 10 echo_count_ge 1000 || true
	assert_equal "$(awk '$3 > 0' "$ECHO_LOG" | wc -l)" 1000
	assert_no_queries
}
