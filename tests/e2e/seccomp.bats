#!/usr/bin/env bats
# seccomp.bats: programs LD_PRELOAD cannot reach (busybox from
# busybox-static, gcc -static C programs, Go programs with and without cgo)
# run under the launcher's seccomp supervisor and go through the chain,
# names included (issue 13, "Tests that must pass").
#
# Every test runs under the leak guard (lib/guard.bash): the program runs
# in a namespace where any address is a trap and the only name server is
# a counting one; guard_teardown fails the test on anything that went
# around the bridged proxies, or on any query the counting server saw.
# The supervisor's own name server (the one that answers the program's
# queries from the stand-in map, on 127.0.0.1 in that namespace) is the
# one endpoint allowed besides the proxies: ssfy reads its ports from the
# launcher's -v log and says so with guard_allow.  The HTTP target lives
# outside the namespace, so only a connection through a proxy reaches it.

load lib/common
load lib/client
load lib/dns
load lib/guard

GO_SRC="$REPO/tests/e2e/go/sup_get.go"

setup_file() {
	client_build_progs || return 1
	cc -static -O1 -I"$PROGS_SRC" -o "$PROGS/sup_get_static" "$PROGS_SRC/sup_get.c" \
		2>"$BATS_FILE_TMPDIR/static.err" || { cat "$BATS_FILE_TMPDIR/static.err"; return 1; }
	cc -static -O1 -I"$PROGS_SRC" -o "$PROGS/sup_uring_static" "$PROGS_SRC/sup_uring.c" || return 1
	cc -static -O1 -I"$PROGS_SRC" -o "$PROGS/sup_udp_static" "$PROGS_SRC/sup_udp.c" || return 1
	# Go, built once for the suite: without cgo (static) and with it
	# (dynamic; Go's net still makes its own system calls).
	if command -v go >/dev/null 2>&1; then
		local g="$BATS_FILE_TMPDIR/go"
		mkdir -p "$g"
		(
			export HOME="$g" GOCACHE="$g/cache" GOPATH="$g/path" GOPROXY=off GOFLAGS=
			CGO_ENABLED=0 go build -o "$PROGS/sup_get_go_static" "$GO_SRC" &&
				CGO_ENABLED=1 go build -o "$PROGS/sup_get_go_dynamic" "$GO_SRC"
		) || return 1
	fi
}

setup() {
	dns_setup
	guard_setup
	start_http_server
	start_proxy_socksifyd
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
}

teardown() {
	guard_teardown
}

# ssfy CMD [ARGS...]: CMD under the launcher (-v) with $SFY_CONF, bounded
# by 60 s.  The supervisor's name server ports, from the -v log, are
# allowed in the trap (see the top of this file).
ssfy() {
	local err="$E2E_TMP/ssfy.$RANDOM.err" rc=0
	timeout 60 "$LAUNCHER" -v -f "$SFY_CONF" -- "$@" 2>"$err" || rc=$?
	allow_responder "$err"
	cat "$err" >&2
	return "$rc"
}

# allow_responder LOG: guard_allow the supervisor's name server that LOG
# names.
allow_responder() {
	local a u t
	read -r a u t < <(sed -nE \
		's/.*names answered on ([0-9.]+) port ([0-9]+) \(udp\) and ([0-9]+) \(tcp\).*/\1 \2 \3/p' \
		"$1" | head -n 1) || return 0
	guard_allow "$a" "$u"
	guard_allow "$a" "$t"
}

need_busybox() {
	[[ -x /bin/busybox ]] && ! readelf -lW /bin/busybox | grep -q INTERP ||
		fail "busybox-static is not installed (scripts/lib/deps.sh installs it)"
}

need_go() {
	[[ -x "$PROGS/sup_get_go_static" && -x "$PROGS/sup_get_go_dynamic" ]] ||
		fail "go is not installed (scripts/lib/deps.sh installs golang-go)"
}

# The proxy asked for the name (SOCKS5 ATYP 3), and the target got it.
assert_by_name() {
	assert_session cmd=connect target="$ONLY_PROXY:$HTTP_PORT" result=ok
}

@test "seccomp: busybox wget by address through socksifyd [busybox wget, by address, socksifyd]" {
	need_busybox
	run ssfy /bin/busybox wget -q -O - "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_output --partial "backend seccomp for /bin/busybox"
	assert_session cmd=connect target="127.0.0.1:$HTTP_PORT" result=ok
	assert_http_requests 1
}

@test "seccomp: busybox wget by a name only the proxy knows through socksifyd, no query reaches the resolver [busybox wget, by name, socksifyd]" {
	need_busybox
	run ssfy /bin/busybox wget -q -O - "http://$ONLY_PROXY:$HTTP_PORT/"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_by_name
	assert_http_requests 1
}

@test "seccomp: busybox wget by address and by name through a 2-hop chain [busybox wget, 2-hop chain]" {
	need_busybox
	local first=$SOCKSIFYD_PORT first_log=$SOCKSIFYD_LOG
	start_proxy_socksifyd
	sfy_conf "chain = strict" \
		"proxy = socks5://127.0.0.1:$first" \
		"proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	run ssfy /bin/busybox wget -q -O - "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output --partial "$HTTP_BODY"
	run ssfy /bin/busybox wget -q -O - "http://$ONLY_PROXY:$HTTP_PORT/"
	assert_success
	assert_output --partial "$HTTP_BODY"
	# The second hop asked for the target, by address then by name; the
	# first only ever for the second hop.
	assert_session cmd=connect target="127.0.0.1:$HTTP_PORT" result=ok
	assert_by_name
	SOCKSIFYD_LOG=$first_log wait_until 5 session_count_is -eq 2 cmd=connect \
		target="127.0.0.1:$SOCKSIFYD_PORT" result=ok ||
		fail "hop 1 did not carry both: $(SOCKSIFYD_LOG=$first_log session_lines)"
	assert_http_requests 2
}

@test "seccomp: Go (CGO_ENABLED=0) HTTP GET by a name only the proxy knows, no query reaches the local resolver [Go static, by name]" {
	need_go
	! readelf -lW "$PROGS/sup_get_go_static" | grep -q INTERP || fail "Go build is not static"
	run ssfy "$PROGS/sup_get_go_static" get "http://$ONLY_PROXY:$HTTP_PORT/"
	assert_success
	assert_line 200
	assert_output --partial "$HTTP_BODY"
	assert_output --partial "is a Go program"
	assert_by_name
	assert_http_requests 1
}

@test "seccomp: Go (CGO_ENABLED=0), 200 goroutines connecting at once all go through the chain [Go static, 200 goroutines]" {
	need_go
	run ssfy "$PROGS/sup_get_go_static" many 200 127.0.0.1 "$HTTP_PORT"
	assert_success
	assert_line "ok 200 of 200"
	wait_until 10 session_count_is -eq 200 cmd=connect target="127.0.0.1:$HTTP_PORT" result=ok ||
		fail "expected 200 proxy sessions: $(session_count cmd=connect result=ok)"
	assert_http_requests 200
}

@test "seccomp: the same Go program built dynamically (cgo) GETs by name through the chain [Go dynamic]" {
	need_go
	readelf -lW "$PROGS/sup_get_go_dynamic" | grep -q INTERP || fail "Go build is not dynamic"
	run ssfy "$PROGS/sup_get_go_dynamic" get "http://$ONLY_PROXY:$HTTP_PORT/"
	assert_success
	assert_line 200
	assert_output --partial "$HTTP_BODY"
	assert_output --partial "backend seccomp"
	assert_by_name
	assert_http_requests 1
}

@test "seccomp: getpeername on a socket connected through the chain reports the destination, not the proxy" {
	need_go
	run ssfy "$PROGS/sup_get_go_static" peer 127.0.0.1 "$HTTP_PORT"
	assert_success
	assert_line "remote 127.0.0.1:$HTTP_PORT"
	assert_session cmd=connect target="127.0.0.1:$HTTP_PORT" result=ok
}

@test "seccomp: a gcc -static C program resolves with getaddrinfo and connects, by name and by address [static C, getaddrinfo + connect]" {
	! readelf -lW "$PROGS/sup_get_static" | grep -q INTERP || fail "not a static program"
	run ssfy "$PROGS/sup_get_static" "$ONLY_PROXY" "$HTTP_PORT"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_by_name
	run ssfy "$PROGS/sup_get_static" 127.0.0.1 "$HTTP_PORT"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_session cmd=connect target="127.0.0.1:$HTTP_PORT" result=ok
	assert_http_requests 2
}

@test "seccomp: a static C program whose resolver asks over TCP (options use-vc) gets its answer from the supervisor, none from the resolver [static C, names over TCP]" {
	# The counting name server would answer over TCP too: with use-vc,
	# glibc connects a TCP socket to port 53, which the supervisor
	# connects to its own name server instead.
	printf '%s\n' "nameserver $GUARD_DNS" "options use-vc timeout:1 attempts:1" \
		>"/etc/netns/$GUARD_NS/resolv.conf"
	run ssfy "$PROGS/sup_get_static" "$ONLY_PROXY" "$HTTP_PORT"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_by_name
	assert_http_requests 1
}

@test "seccomp: a gcc -static C program that forks connects through the chain in both processes [static C, fork]" {
	run ssfy "$PROGS/sup_get_static" "$ONLY_PROXY" "$HTTP_PORT" fork
	assert_success
	assert_line --regexp "^parent: HTTP/1\.[01] 200"
	assert_line --regexp "^child: HTTP/1\.[01] 200"
	(($(grep -c "$HTTP_BODY" <<<"$output") == 2)) || fail "expected two bodies: $output"
	wait_until 5 session_count_is -eq 2 cmd=connect target="$ONLY_PROXY:$HTTP_PORT" result=ok ||
		fail "expected 2 proxy sessions by name: $(session_lines)"
	assert_http_requests 2
}

@test "seccomp: a program that calls io_uring_setup gets ENOSYS [io_uring_setup]" {
	# Without socksify the call reaches the kernel (EINVAL/EPERM where
	# io_uring is off are fine too: anything but ENOSYS).
	run "$PROGS/sup_uring_static"
	refute_output "ERRNO ENOSYS"
	run ssfy "$PROGS/sup_uring_static"
	assert_failure 3
	assert_output --partial "ERRNO ENOSYS"
	assert_output --partial "backend seccomp"
}

@test "seccomp: killing the supervisor kills the program [supervisor dies]" {
	need_busybox
	local out="$E2E_TMP/kill.out" sup prog i
	timeout 60 "$LAUNCHER" -f "$SFY_CONF" -- /bin/busybox sh -c 'echo "prog $$"; exec /bin/busybox sleep 50' \
		>"$out" 2>&1 &
	sup=$!
	e2e_register "$sup" launcher "$out"
	wait_for_log "$out" '^prog [0-9]+$' 10 || fail "program did not start: $(cat "$out")"
	prog="$(sed -nE 's/^prog ([0-9]+)$/\1/p' "$out")"
	pid_alive "$prog" || fail "program $prog is not running"
	# $! is timeout; the supervisor is its child, the program the
	# supervisor's.
	sup="$(ps -o ppid= -p "$prog" | tr -d ' ')"
	[[ "$(cat "/proc/$sup/comm")" == socksify-run ]] || fail "supervisor not found: $sup"
	kill -KILL "$sup"
	for ((i = 0; i < 50; i++)); do
		pid_alive "$prog" || break
		sleep 0.1
	done
	! pid_alive "$prog" || fail "program $prog outlived its supervisor"
}

@test "seccomp: UDP to a destination routed through the chain is refused with EACCES and a log line, never sent direct [UDP]" {
	start_udp_echo
	run ssfy "$PROGS/sup_udp_static" 127.0.0.1 "$UDP_PORT"
	assert_success
	assert_line "sendto ERRNO EACCES"
	assert_line "connect ERRNO EACCES"
	assert_output --regexp "udp to 127\.0\.0\.1:$UDP_PORT refused"
	assert_output --regexp "udp connect 127\.0\.0\.1:$UDP_PORT refused"
}

@test "seccomp: signals sent to socksify reach the program, which gives socksify its status or its death" {
	need_busybox
	local out="$E2E_TMP/sig.out" sup prog i st=0
	timeout 60 "$LAUNCHER" -f "$SFY_CONF" -- /bin/busybox sh -c \
		'trap "echo got-term; exit 7" TERM; echo "prog $$"; while :; do /bin/busybox sleep 0.1; done' \
		>"$out" 2>&1 &
	sup=$!
	wait_for_log "$out" '^prog [0-9]+$' 10 || fail "program did not start: $(cat "$out")"
	prog="$(sed -nE 's/^prog ([0-9]+)$/\1/p' "$out")"
	sup="$(ps -o ppid= -p "$prog" | tr -d ' ')"
	kill -TERM "$sup"
	wait "$!" || st=$?
	((st == 7)) || fail "expected status 7, got $st: $(cat "$out")"
	grep -q got-term "$out" || fail "the program did not get SIGTERM: $(cat "$out")"

	timeout 60 "$LAUNCHER" -f "$SFY_CONF" -- /bin/busybox sh -c 'echo "prog $$"; exec /bin/busybox sleep 50' \
		>"$out" 2>&1 &
	wait_for_log "$out" '^prog [0-9]+$' 10 || fail "program did not start: $(cat "$out")"
	prog="$(sed -nE 's/^prog ([0-9]+)$/\1/p' "$out")"
	sup="$(ps -o ppid= -p "$prog" | tr -d ' ')"
	st=0
	kill -USR1 "$sup"
	wait "$!" || st=$?
	# timeout passes on the status of its child, which died by SIGUSR1.
	((st == 128 + 10)) || fail "expected death by SIGUSR1 (138), got $st"
}

@test "seccomp: --backend seccomp runs a dynamic program under the supervisor, and -v says which backend runs and why" {
	run timeout 60 "$LAUNCHER" -v --backend seccomp -f "$SFY_CONF" -- "$PROGS/exec_get" 127.0.0.1 "$HTTP_PORT"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_output --partial "backend seccomp for $PROGS/exec_get: asked for with --backend"
	run timeout 60 "$LAUNCHER" -v -f "$SFY_CONF" -- "$PROGS/exec_get" 127.0.0.1 "$HTTP_PORT"
	assert_success
	assert_output --partial "backend preload for $PROGS/exec_get"
	wait_until 5 session_count_is -eq 2 cmd=connect target="127.0.0.1:$HTTP_PORT" result=ok ||
		fail "expected 2 proxy sessions: $(session_lines)"
	run timeout 60 "$LAUNCHER" --backend preload -f "$SFY_CONF" -- "$PROGS/sup_get_static" 127.0.0.1 "$HTTP_PORT"
	assert_failure 2
	assert_output --partial "is statically linked"
}
