#!/usr/bin/env bats
# socksify_progs.bats: small C programs that check what the preload must not
# disturb: non-blocking flags and getpeername, programs that close every fd,
# SIGPIPE at its default, signals interrupting the handshake.

load lib/common
load lib/client
load lib/guard

setup_file() {
	client_build_progs
}

setup() {
	client_setup
	guard_setup
	start_echo_server
}

teardown() {
	guard_teardown
}

@test "progs: non-blocking connect keeps fcntl flags, options, and getpeername is the destination (socksifyd)" {
	start_socksifyd
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	run sfy "$PROGS/nonblock" 127.0.0.1 "$ECHO_PORT"
	assert_success
	assert_line "nonblocking ok"
	assert_line "blocking ok"
	assert_session cmd=connect target="127.0.0.1:$ECHO_PORT" result=ok
	(($(session_count cmd=connect target="127.0.0.1:$ECHO_PORT" result=ok) == 2)) ||
		fail "expected 2 sessions"
}

@test "progs: non-blocking connect through a 2-hop chain (socksifyd -> http connect)" {
	start_socksifyd
	start_httpconnect
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT" \
		"proxy = http://127.0.0.1:$HCP_PORT"
	run sfy "$PROGS/nonblock" 127.0.0.1 "$ECHO_PORT"
	assert_success
	assert_line "nonblocking ok"
	assert_line "blocking ok"
	assert_session cmd=connect target="127.0.0.1:$HCP_PORT" result=ok
	(($(grep -c "^CONNECT 127.0.0.1:$ECHO_PORT user=- result=ok\$" "$HCP_LOG") == 2)) ||
		fail "http proxy log: $(cat "$HCP_LOG")"
}

@test "progs: non-blocking IPv6 connect keeps flags and getpeername is [::1]" {
	start_echo_server ::1
	start_socksifyd
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	run sfy "$PROGS/nonblock" ::1 "$ECHO_PORT"
	assert_success
	assert_line "nonblocking ok"
	assert_line "blocking ok"
	assert_session cmd=connect target=~"[[]?::1[]]?:$ECHO_PORT" result=ok
}

# closefds_case MODE: the program closes fds 3.. with MODE, then connects.
# The library logs at debug level to a file, so it has an fd of its own to
# lose; the program's own file must hold exactly its two lines.
closefds_case() {
	start_socksifyd
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT" "log = debug" \
		"log_file = $E2E_TMP/lib.log"
	run sfy "$PROGS/closefds" "$1" 127.0.0.1 "$ECHO_PORT" "$E2E_TMP/app.txt"
	assert_success
	assert_output --partial "closefds $1 ok"
	run cat "$E2E_TMP/app.txt"
	assert_output "first line
second line"
	(($(session_count cmd=connect target="127.0.0.1:$ECHO_PORT" result=ok) == 2)) || {
		sleep 1
		(($(session_count cmd=connect target="127.0.0.1:$ECHO_PORT" result=ok) == 2))
	} || fail "expected 2 sessions: $(session_lines)"
}

@test "progs: a program that closes all fds >2 (loop) still connects through the chain" {
	closefds_case loop
}

@test "progs: a program that closes all fds >2 (closefrom) still connects through the chain" {
	closefds_case closefrom
}

@test "progs: a program that closes all fds >2 (close_range) still connects through the chain" {
	closefds_case close_range
}

@test "progs: SIGPIPE-default program connects, its SIGPIPE disposition and mask untouched" {
	start_socksifyd
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	run sfy "$PROGS/sigpipe" ok 127.0.0.1 "$ECHO_PORT"
	assert_success
	assert_line ok
	assert_session cmd=connect target="127.0.0.1:$ECHO_PORT" result=ok
}

@test "progs: SIGPIPE-default program survives proxies that close or send garbage" {
	local mode want
	for mode in close garbage lie-version; do
		start_badproxy "$mode"
		sfy_conf "proxy = socks5://127.0.0.1:$BAD_PORT"
		run sfy "$PROGS/sigpipe" fail 127.0.0.1 "$ECHO_PORT"
		[[ "$status" == 0 ]] || fail "mode $mode: status $status (141 = killed by SIGPIPE): $output"
		assert_line alive
		case "$mode" in
		close) want=ECONNREFUSED ;;
		*) want=EPROTO ;;
		esac
		assert_line "ERRNO $want"
	done
	[[ ! -s "$ECHO_LOG" ]] || fail "the echo server was reached: $(cat "$ECHO_LOG")"
}

@test "progs: SIGPIPE-default program survives a 2-hop chain whose second hop closes" {
	start_socksifyd
	start_badproxy close
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT" \
		"proxy = http://127.0.0.1:$BAD_PORT"
	run sfy "$PROGS/sigpipe" fail 127.0.0.1 "$ECHO_PORT"
	[[ "$status" == 0 ]] || fail "status $status (141 = killed by SIGPIPE): $output"
	assert_line alive
	assert_line "ERRNO ECONNREFUSED"
}

@test "progs: a signal interrupting handshakes (SIGALRM every 2 ms, slow proxy) does not break connects" {
	start_badproxy slow --delay 0.02
	sfy_conf "proxy = socks5://127.0.0.1:$BAD_PORT"
	run sfy "$PROGS/sigpipe" intr 127.0.0.1 "$ECHO_PORT"
	assert_success
	assert_output --regexp "intr ok connects=20 alarms=[0-9]+"
	local alarms
	alarms="$(sed -nE 's/.*alarms=([0-9]+).*/\1/p' <<<"$output")"
	((alarms >= 20)) || fail "only $alarms alarms fired: the handshakes were not interrupted"
	(($(grep -c "^target [0-9]* 127.0.0.1:$ECHO_PORT\$" "$BAD_LOG") == 20)) ||
		fail "proxy log: $(cat "$BAD_LOG")"
	(($(wc -l <"$ECHO_LOG") == 20)) || { sleep 1; (($(wc -l <"$ECHO_LOG") == 20)); } ||
		fail "echo server saw $(wc -l <"$ECHO_LOG") connections"
}

@test "progs: a signal interrupting handshakes through socksifyd -> danted" {
	start_socksifyd
	start_danted
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT" \
		"proxy = socks5://127.0.0.1:$DANTED_PORT"
	run sfy "$PROGS/sigpipe" intr 127.0.0.1 "$ECHO_PORT"
	assert_success
	assert_output --partial "intr ok connects=20"
	assert_danted_connect 127.0.0.1 "$ECHO_PORT"
}

@test "progs: non-blocking connect through microsocks (one message per recv) and danted" {
	start_microsocks
	sfy_conf "proxy = socks5://127.0.0.1:$MICROSOCKS_PORT"
	run sfy "$PROGS/nonblock" 127.0.0.1 "$ECHO_PORT"
	assert_success
	assert_line "nonblocking ok"
	assert_line "blocking ok"
	assert_microsocks_connect 127.0.0.1 "$ECHO_PORT"
	start_danted
	sfy_conf "proxy = socks5://127.0.0.1:$DANTED_PORT"
	run sfy "$PROGS/nonblock" 127.0.0.1 "$ECHO_PORT"
	assert_success
	assert_line "nonblocking ok"
	assert_line "blocking ok"
	assert_danted_connect 127.0.0.1 "$ECHO_PORT"
}
