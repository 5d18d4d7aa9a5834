#!/usr/bin/env bats
# leak_perimeter.bats: the ways out of a process that do not go through
# connect(), each tried from a socksified program in a client namespace
# that owns the target's addresses itself (lib/leak.bash): TCP Fast Open
# with sendto(MSG_FASTOPEN), connect made through syscall(), glibc's
# __connect, io_uring, UDP with the default config, a config with a syntax
# error handed over through the environment, children started with
# LD_PRELOAD or the whole environment removed, and programs the library
# cannot follow into (Go, static, file capabilities; the launcher runs Go and
# static ones under its seccomp supervisor, through the proxy).
#
# Every test ends with assert_no_leak, so a call that went around the
# proxy fails the test with what the trap caught; the routed ones also
# prove that the proxy's session log and the target's log have the request.
# The first three tests check the detector itself: it sees a direct
# connection, a datagram and a name lookup, and stays at zero for an
# ordinary connect through the chain.

load lib/common
load lib/client
load lib/leak

setup_file() {
	leak_build_progs
}

setup() {
	leak_setup
}

teardown() {
	leak_teardown
}

# probe ACTION HOST PORT...: tools/leak_probe.py under the launcher, stdout
# in $output and stderr (the library's log) in $stderr.
probe() {
	run --separate-stderr leak_run "$PYTHON" "$TOOLS/leak_probe.py" "$@"
	show_stderr
}

# show_stderr: print $stderr so bats shows it when the test fails.
show_stderr() {
	if [[ -n "${stderr:-}" ]]; then
		printf '# stderr: %s\n' "${stderr_lines[@]}"
	fi
}

# build_exec_progs: exec_get linked statically, and exec_get.go built
# static (no cgo) and dynamic (cgo), into $LEAK_PROGS, the way exec.bats
# builds them.  Called by the one test that needs them rather than from
# setup_file, so a run of the other tests does not wait for a cold Go build.
build_exec_progs() {
	local g="$BATS_FILE_TMPDIR/go"
	[[ -x "$LEAK_PROGS/exec_get_go_dynamic" ]] && return 0
	command -v go >/dev/null 2>&1 ||
		fail "go is not installed (scripts/lib/deps.sh installs golang-go)"
	cc -static -O1 -o "$LEAK_PROGS/exec_get_static" "$PROGS_SRC/exec_get.c" ||
		fail "cc -static failed"
	mkdir -p "$g"
	(
		export HOME="$g" GOCACHE="$g/cache" GOPATH="$g/path" GOPROXY=off GOFLAGS=
		CGO_ENABLED=0 go build -o "$LEAK_PROGS/exec_get_go_static" "$REPO/tests/e2e/go/exec_get.go" &&
			CGO_ENABLED=1 go build -o "$LEAK_PROGS/exec_get_go_dynamic" "$REPO/tests/e2e/go/exec_get.go"
	) || fail "go build failed"
}

# trap_tcp_above N: true once the trap logged more than N TCP connections
# to the IPv4 target's HTTP port (for wait_until).
trap_tcp_above() {
	(($(grep -cE "^tcp [^ ]+ [0-9]+ -> $LEAK_T4 $HTTP_PORT\$" "$LEAK_TRAP_LOG") > $1))
}

# reaches_trap CMD...: CMD, run in C without socksify, connects to the
# target's address, which in C is the trap's.  Only its connection is
# checked, not its exit status: the trap closes without answering.
reaches_trap() {
	local n
	n="$(grep -cE "^tcp [^ ]+ [0-9]+ -> $LEAK_T4 $HTTP_PORT\$" "$LEAK_TRAP_LOG" || true)"
	run leak_exec "$@"
	wait_until 5 trap_tcp_above "$n" ||
		fail "$1 did not reach the trap without socksify (status $status): $output"
}

# refused_in_c PROG WHY ARGS...: in C, the launcher refuses PROG (exit 2, a
# "socksify:" line naming it with the reason matching WHY), and so does the
# library when a socksified shell execs it (refused_by_library_in_c).
# Neither run gets a body.
refused_in_c() {
	local prog="$1" why="$2"
	shift 2
	run leak_run "$prog" "$@"
	assert_failure 2
	assert_output --partial "socksify: $prog "
	assert_output --regexp "$why"
	assert_output --partial "not go through the proxy"
	refute_output --partial "$HTTP_BODY"
	refused_by_library_in_c "$prog" "$why" "$@"
}

# refused_by_library_in_c PROG WHY ARGS...: in C, a socksified shell that
# execs PROG gets EACCES from the library (the shell's 126, one "exec
# refused (EACCES)" line with the reason), and no body.
refused_by_library_in_c() {
	local prog="$1" why="$2"
	shift 2
	run leak_run sh -c '"$0" "$@"; echo "status $?"' "$prog" "$@"
	assert_success
	assert_line "status 126"
	assert_output --partial "socksify: exec refused (EACCES): $prog "
	assert_output --regexp "$why"
	(($(grep -c 'exec refused' <<<"$output") == 1)) || fail "expected one log line: $output"
	refute_output --partial "$HTTP_BODY"
}

# supervised_in_c PROG ARGS...: in C, the launcher runs PROG under its
# seccomp supervisor, and PROG gets the body (through the proxy: C reaches
# the target only through P).
supervised_in_c() {
	run leak_run "$@"
	assert_success
	assert_output --partial "$HTTP_BODY"
}

# assert_routed PORT: the proxy carried a connection to the IPv4 target on
# PORT and the target saw one request, from the proxy.
assert_routed() {
	assert_session cmd=connect target="$LEAK_T4:$1" result=ok
	assert_via_proxy 1
}

@test "perimeter: self-check: a direct connection, a datagram and a SYN to a closed port are caught" {
	# No socksify: the program in C goes straight for the target.
	run leak_exec "$PYTHON" "$TOOLS/leak_probe.py" connect "$LEAK_T4" "$HTTP_PORT" \
		udp "$LEAK_T4" "$UDP_PORT" connect "$LEAK_T4" 9
	# The trap answers no HTTP, and port 9 is closed.
	assert_line "connect NOT-HTTP b''"
	assert_line "udp SENT 19"
	assert_line "connect ERRNO ECONNREFUSED"
	assert_leak_caught
	run cat "$LEAK_TRAP_LOG"
	assert_line --regexp "^tcp $LEAK_T4 [0-9]+ -> $LEAK_T4 $HTTP_PORT\$"
	assert_line --partial "  data b'GET / HTTP/1.0"
	assert_line --regexp "^udp $LEAK_T4 [0-9]+ -> $LEAK_T4 $UDP_PORT len=19 "
	# A port nobody listens on is seen by the capture alone.
	run grep -cF "> $LEAK_T4.9: " "$LEAK_CAPTURE"
	[[ "$output" -ge 1 ]] || fail "no SYN to $LEAK_T4.9 in the capture: $(cat "$LEAK_CAPTURE")"
	# The real target is out of C's reach.
	assert_http_requests 0
	[[ ! -s "$UDP_LOG" ]] || fail "the UDP target got a datagram: $(cat "$UDP_LOG")"
	# And the assertion the other tests rely on fails, saying what leaked.
	run assert_no_leak
	assert_failure
	assert_output --partial "LEAK: "
	assert_output --partial "-> $LEAK_T4 $HTTP_PORT"
}

@test "perimeter: self-check: a name resolved in the client namespace reaches the counting name server" {
	run leak_exec getent hosts "$LEAK_NAME"
	assert_failure 2
	assert_leak_caught
	run cat "$LEAK_DNS_LOG"
	assert_line --regexp "^udp $LEAK_NAME [0-9]+\$"
	run assert_no_leak
	assert_failure
	assert_output --partial "udp $LEAK_NAME"
	# The proxy's namespace is the one that knows the name.
	run timeout 10 ip netns exec "$LEAK_NS_P" getent ahostsv4 "$LEAK_NAME"
	assert_success
	assert_line --regexp "^$LEAK_T4 +STREAM $LEAK_NAME\$"
}

@test "perimeter: self-check: connect() through the chain reaches the target (IPv4, IPv6, by name) and the trap stays at zero" {
	probe connect "$LEAK_T4" "$HTTP_PORT" connect "$LEAK_T6" "$HTTP6_PORT"
	assert_success
	assert_line --index 1 "connect BODY $HTTP_BODY"
	assert_line --index 3 "connect BODY $HTTP_BODY"
	run leak_run curl -sS --noproxy '*' --max-time 20 "http://$LEAK_NAME:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	assert_no_leak
	assert_session cmd=connect target="$LEAK_T4:$HTTP_PORT" result=ok
	assert_session cmd=connect target=~"[[]?$LEAK_T6[]]?:$HTTP6_PORT" result=ok
	assert_session cmd=connect target="$LEAK_NAME:$HTTP_PORT" result=ok
	assert_via_proxy 2
	assert_via_proxy 1 "$HTTP6_LOG"
}

@test "perimeter: sendto(MSG_FASTOPEN) on a blocking TCP socket goes through the chain" {
	probe fastopen "$LEAK_T4" "$HTTP_PORT"
	assert_no_leak
	assert_success
	assert_line --regexp '^fastopen SENT [0-9]+$'
	assert_line "fastopen BODY $HTTP_BODY"
	assert_routed "$HTTP_PORT"
}

@test "perimeter: sendto(MSG_FASTOPEN) on a non-blocking TCP socket goes through the chain" {
	probe fastopen-nb "$LEAK_T4" "$HTTP_PORT"
	assert_no_leak
	assert_success
	# A byte count, or nothing queued yet: both are what the kernel says.
	assert_line --index 0 --regexp '^fastopen-nb (SENT [0-9]+|PENDING (EINPROGRESS|EAGAIN))$'
	assert_line "fastopen-nb WRITABLE"
	assert_line "fastopen-nb BODY $HTTP_BODY"
	assert_routed "$HTTP_PORT"
}

@test "perimeter: curl --tcp-fastopen reaches the target through the chain" {
	# curl on Linux sets TCP_FASTOPEN_CONNECT and then calls connect(), so
	# this is the socket option's path rather than MSG_FASTOPEN's: the
	# option must not make the connection to the first hop misbehave.
	run --separate-stderr leak_run curl -sS --noproxy '*' --max-time 20 --tcp-fastopen \
		"http://$LEAK_T4:$HTTP_PORT/"
	show_stderr
	assert_no_leak
	assert_success
	assert_output "$HTTP_BODY"
	assert_routed "$HTTP_PORT"
}

@test "perimeter: syscall(SYS_connect) from a C program goes through the chain" {
	run --separate-stderr leak_run "$LEAK_PROGS/leak_syscall" connect "$LEAK_T4" "$HTTP_PORT"
	show_stderr
	assert_no_leak
	assert_success
	assert_line "connect BODY $HTTP_BODY"
	assert_routed "$HTTP_PORT"
}

@test "perimeter: syscall(SYS_connect) through python ctypes goes through the chain" {
	[[ "$(uname -m)" == x86_64 ]] || skip "the probe knows SYS_connect on x86_64 only"
	probe syscall "$LEAK_T4" "$HTTP_PORT"
	assert_no_leak
	assert_success
	assert_line "syscall BODY $HTTP_BODY"
	assert_routed "$HTTP_PORT"
}

@test "perimeter: glibc's __connect looked up with dlsym goes through the chain" {
	local libc
	libc="$(ldd "$LEAK_PROGS/leak_syscall" | awk '$1 ~ /^libc\.so/ { print $3 }')"
	nm -D "$libc" | grep -qw __connect || skip "$libc does not export __connect"
	run --separate-stderr leak_run "$LEAK_PROGS/leak_syscall" __connect "$LEAK_T4" "$HTTP_PORT"
	show_stderr
	assert_no_leak
	assert_success
	assert_line "__connect BODY $HTTP_BODY"
	assert_routed "$HTTP_PORT"
}

@test "perimeter: io_uring_setup through a raw syscall instruction returns ENOSYS in a socksified process" {
	[[ "$(uname -m)" == x86_64 ]] || skip "the raw system call is written for x86_64"
	# Without the library the kernel hands out a ring; otherwise this test
	# could not tell the library's refusal from the kernel's.
	run leak_exec "$LEAK_PROGS/leak_syscall" io_uring
	assert_success
	[[ "$output" =~ ^io_uring\ FD\ [0-9]+$ ]] ||
		skip "io_uring is not available here without socksify either: $output"
	run --separate-stderr leak_run "$LEAK_PROGS/leak_syscall" io_uring
	show_stderr
	assert_success
	assert_output "io_uring ERRNO ENOSYS"
	assert_no_leak
}

@test "perimeter: UDP with the default config (no udp key) goes through the chain: the proxy relays it, nothing leaves" {
	probe udp "$LEAK_T4" "$UDP_PORT"
	assert_no_leak
	assert_success
	assert_output "udp SENT 19"
	assert_session cmd=udp result=ok
	wait_until 5 test -s "$UDP_LOG" || fail "the UDP target got nothing"
}

@test "perimeter: UDP with udp = refuse: sendto fails with EACCES, the library says so, nothing leaves" {
	leak_conf "udp = refuse"
	probe udp "$LEAK_T4" "$UDP_PORT" udp "$LEAK_T6" "$UDP_PORT"
	assert_no_leak
	assert_failure 3
	assert_line --index 0 "udp ERRNO EACCES"
	assert_line --index 1 "udp ERRNO EACCES"
	[[ "$stderr" =~ (^|$'\n')socksify:\ [^$'\n']*$LEAK_T4 ]] ||
		fail "no library log line naming $LEAK_T4 on stderr"
	[[ ! -s "$UDP_LOG" ]] || fail "the UDP target got a datagram: $(cat "$UDP_LOG")"
	refute_session cmd=udp
}

@test "perimeter: a config with a syntax error given through the environment: TCP and UDP fail, the log names file:line" {
	local bad="$E2E_TMP/bad.conf"
	printf '%s\n' "proxy = $LEAK_PROXY_URL" "chain strict" >"$bad"
	# No launcher: the library finds the config when the program first
	# needs it, long after any check the launcher would have made.
	run --separate-stderr leak_exec env LD_PRELOAD="$LIBSOCKSIFY" SOCKSIFY_CONF="$bad" \
		"$PYTHON" "$TOOLS/leak_probe.py" connect "$LEAK_T4" "$HTTP_PORT" udp "$LEAK_T4" "$UDP_PORT"
	show_stderr
	assert_no_leak
	assert_failure 3
	assert_line --index 0 --regexp '^connect ERRNO (ECONNREFUSED|EACCES)$'
	assert_line --index 1 --regexp '^udp ERRNO E[A-Z]+$'
	[[ "$stderr" == *"$bad:2"* ]] || fail "no log line naming $bad:2 on stderr"
	assert_no_session
	assert_http_requests 0
}

@test "perimeter: sh -c 'env -u LD_PRELOAD curl ...; env -i /usr/bin/curl ...' under socksify: both through the chain" {
	# The library's exec hooks put LD_PRELOAD and the settings back.  The
	# second child asks for a name only P knows: without the library it
	# would ask C's counting name server, and the trap would see it.
	run --separate-stderr leak_run sh -c '
		env -u LD_PRELOAD curl -sS --noproxy "*" --max-time 20 "http://$0:$2/"
		env -i /usr/bin/curl -sS --noproxy "*" --max-time 20 "http://$1:$2/"
	' "$LEAK_T4" "$LEAK_NAME" "$HTTP_PORT"
	show_stderr
	assert_no_leak
	assert_success
	assert_output "$HTTP_BODY"$'\n'"$HTTP_BODY"
	assert_session cmd=connect target="$LEAK_T4:$HTTP_PORT" result=ok
	assert_session cmd=connect target="$LEAK_NAME:$HTTP_PORT" result=ok
	assert_via_proxy 2
}

@test "perimeter: a Go program (static and dynamic) and a gcc -static program run under the launcher's supervisor, through the proxy; a socksified shell refuses them, and a setcap cap_net_raw+ep copy of curl is refused by both; nothing reaches the trap" {
	local cap="$E2E_TMP/cap-curl" url="http://$LEAK_T4:$HTTP_PORT/"
	local go_s="$LEAK_PROGS/exec_get_go_static" go_d="$LEAK_PROGS/exec_get_go_dynamic"
	local st="$LEAK_PROGS/exec_get_static"
	build_exec_progs
	readelf -lW "$go_d" | grep -q INTERP || fail "Go build is not dynamic"
	! readelf -lW "$go_s" | grep -q INTERP || fail "Go build is not static"
	! readelf -lW "$st" | grep -q INTERP || fail "not a static program"
	cp /usr/bin/curl "$cap"
	setcap cap_net_raw+ep "$cap"
	getcap "$cap" | grep -q cap_net_raw || fail "setcap did not take"

	# Without socksify each of them goes straight for the target: these
	# are programs that would leak if they were let run.
	reaches_trap "$go_s" "$LEAK_T4" "$HTTP_PORT"
	reaches_trap "$go_d" "$LEAK_T4" "$HTTP_PORT"
	reaches_trap "$st" "$LEAK_T4" "$HTTP_PORT"
	reaches_trap "$cap" -sS --noproxy '*' --max-time 10 "$url"
	assert_leak_caught

	# Counts back at zero for the socksified half.
	leak_restart
	# The new target listens on a new port.
	url="http://$LEAK_T4:$HTTP_PORT/"
	supervised_in_c "$go_s" "$LEAK_T4" "$HTTP_PORT"
	supervised_in_c "$go_d" "$LEAK_T4" "$HTTP_PORT"
	supervised_in_c "$st" "$LEAK_T4" "$HTTP_PORT"
	refused_by_library_in_c "$go_s" "is a Go program" "$LEAK_T4" "$HTTP_PORT"
	refused_by_library_in_c "$go_d" "is a Go program" "$LEAK_T4" "$HTTP_PORT"
	refused_by_library_in_c "$st" "is statically linked" "$LEAK_T4" "$HTTP_PORT"
	refused_in_c "$cap" "has file capabilities" -sS --noproxy '*' --max-time 10 "$url"
	assert_no_leak
	wait_until 5 session_count_is -eq 3 cmd=connect target="$LEAK_T4:$HTTP_PORT" result=ok ||
		fail "expected 3 proxy sessions: $(session_lines)"
	assert_via_proxy 3
}
