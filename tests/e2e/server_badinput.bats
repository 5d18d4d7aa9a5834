#!/usr/bin/env bats
# server_badinput.bats: bad input.  Truncated greetings, wrong versions,
# zero methods, oversized lengths, garbage after a valid request, a client
# that sends one byte per second, 1000 clients that say nothing; the
# server keeps serving a good client throughout and its fd count returns
# to where it started.  Pipelined and split handshakes must work.

load lib/common

setup() {
	e2e_setup
	start_socksifyd --timeout 2
	start_http_server
	start_tcp_echo
	PROXY="127.0.0.1:$SOCKSIFYD_PORT"
	BASE_FDS="$(fd_count "$SOCKSIFYD_PID")"
}

teardown() {
	e2e_teardown
}

# raw HEX [WAIT]: send HEX in one write; output got=HEX and eof=SECS|none.
raw() {
	timeout 30 "$PYTHON" "$TOOLS/badclient.py" raw --proxy "$PROXY" --hex "$1" --wait "${2:-4}"
}

# eof_within LO HI: the last raw run saw the server close between LO and HI s.
eof_within() {
	[[ "$output" =~ eof=([0-9.]+) ]] || {
		echo "server did not close: $output"
		return 1
	}
	awk -v t="${BASH_REMATCH[1]}" -v lo="$1" -v hi="$2" \
		'BEGIN { if (t < lo || t > hi) { print "closed after " t "s, want " lo ".." hi; exit 1 } }'
}

# still_serving: a good curl client gets its page and the fd count returns
# to the baseline taken after start (bounded wait).
still_serving() {
	run curl -sS --max-time 10 --socks5-hostname "$PROXY" "http://localhost:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	fds_back
}

fds_back() {
	if ! wait_until 10 fd_count_le "$SOCKSIFYD_PID" "$BASE_FDS"; then
		echo "fd count $(fd_count "$SOCKSIFYD_PID"), started at $BASE_FDS"
		ls -l "/proc/$SOCKSIFYD_PID/fd"
		return 1
	fi
}

# hex_repeat CHAR N: the hex of CHAR repeated N times.
hex_repeat() {
	local h
	h="$(printf '%02x' "'$1")"
	printf "$h%.0s" $(seq "$2")
}

GREET=050100
CONNECT_HDR=05010001
LOCAL=7f000001

@test "bad input: truncated greeting (version only) is closed at the negotiation timeout" {
	run raw 05 6
	assert_success
	eof_within 1.5 5
	assert_session result=timeout
	still_serving
}

@test "bad input: truncated greeting (2 methods announced, 1 sent) is closed at the negotiation timeout" {
	run raw 050200 6
	eof_within 1.5 5
	assert_output --partial "got="$'\n'
	still_serving
}

@test "bad input: wrong version in the greeting is closed at once (result=bad-version)" {
	run raw 060100
	eof_within 0 1.5
	assert_session result=bad-version
	still_serving
}

@test "bad input: an HTTP request on the SOCKS port is closed at once" {
	run raw "$(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' | od -An -v -tx1 | tr -d ' \n')"
	eof_within 0 1.5
	refute_session result=ok
	still_serving
}

@test "bad input: zero methods gets no method (0xFF) or a close, never a session" {
	run raw 0500
	eof_within 0 1.5
	[[ "$output" =~ got=(05ff)?$'\n' ]]
	refute_session result=ok
	still_serving
}

@test "bad input: wrong version in the request after a good greeting" {
	run raw "${GREET}04010001${LOCAL}0050"
	eof_within 0 1.5
	refute_output --partial "got=05000500"
	assert_session "result=~bad-version|malformed"
	still_serving
}

@test "bad input: unknown command gets reply 0x07 (result=bad-command)" {
	run raw "${GREET}05090001${LOCAL}0050"
	assert_line --regexp '^got=050005070001'
	eof_within 0 1.5
	assert_session result=bad-command
	still_serving
}

@test "bad input: unknown address type gets reply 0x08 (result=bad-atyp)" {
	run raw "${GREET}05010005${LOCAL}0050"
	assert_line --regexp '^got=05000508'
	eof_within 0 1.5
	assert_session result=bad-atyp
	still_serving
}

@test "bad input: zero-length domain name is refused" {
	run raw "${GREET}050100030050"
	eof_within 0 1.5
	refute_output --regexp 'got=05000500'
	assert_session "result=~malformed|bad-atyp"
	still_serving
}

@test "bad input: oversized domain length (255 announced, 10 sent) waits, then closes at the timeout" {
	run raw "${GREET}05010003ff$(hex_repeat a 10)" 6
	eof_within 1.5 5
	refute_output --regexp 'got=05000500'
	assert_session result=timeout
	still_serving
}

@test "bad input: SOCKS4a name longer than 255 bytes without its NUL is refused" {
	local name
	name="$(hex_repeat b 400)"
	run raw "04010050000000017500${name}" 6
	eof_within 0 5
	refute_output --regexp 'got=005a'
	refute_session result=ok
	still_serving
}

@test "bad input: SOCKS4 user id of 2000 bytes without a NUL is refused" {
	local uid
	uid="$(hex_repeat u 2000)"
	run raw "040100507f000001${uid}" 6
	eof_within 0 5
	refute_output --regexp 'got=005a'
	refute_session result=ok
	still_serving
}

@test "bad input: RFC 1929 with 255-byte user and password fields (wrong) is refused" {
	stop_pid "$SOCKSIFYD_PID"
	start_socksifyd -u grace:right --timeout 2
	PROXY="127.0.0.1:$SOCKSIFYD_PORT"
	local u
	u="$(hex_repeat x 255)"
	run raw "050102" 2
	# With users configured the only acceptable method is 0x02.
	assert_line "got=0502"
	run raw "05010201ff${u}ff${u}"
	assert_line --regexp '^got=0502010[1-9a-f]$|^got=050201[1-9a-f][0-9a-f]$'
	eof_within 0 1.5
	assert_session result=auth-failed
	run curl -sS --max-time 10 --socks5 "$PROXY" --proxy-user grace:right \
		"http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	fds_back
}

@test "bad input: garbage after a valid request in the same write is relayed as data" {
	local junk="deadbeef00ff0102030405"
	run raw "${GREET}${CONNECT_HDR}${LOCAL}$(printf '%04x' "$ECHO_PORT")${junk}" 2
	# Method reply, success reply with a 4-byte address, then the echo.
	assert_line --regexp "^got=050005000001(00000000|7f000001)[0-9a-f]{4}${junk}\$"
	assert_session "target=127.0.0.1:$ECHO_PORT" result=ok
	still_serving
}

@test "bad input: a client that sends one byte per second is closed at the negotiation timeout" {
	local hs="${GREET}${CONNECT_HDR}${LOCAL}$(printf '%04x' "$ECHO_PORT")"
	run timeout 30 "$PYTHON" "$TOOLS/badclient.py" slow --proxy "$PROXY" --hex "$hs" --interval 1 --wait 15
	assert_success
	[[ "$output" =~ closed\ after\ ([0-9.]+) ]]
	awk -v t="${BASH_REMATCH[1]}" 'BEGIN { exit !(t >= 1.5 && t <= 5) }'
	assert_session result=timeout
	refute_session "target=127.0.0.1:$ECHO_PORT" result=ok
	still_serving
}

@test "bad input: 1000 clients that connect and say nothing; a good client is served meanwhile and fds return" {
	# 1000 sockets plus their listener need more than the usual 1024 fds.
	stop_pid "$SOCKSIFYD_PID"
	ulimit -n 4096
	start_socksifyd --timeout 3
	PROXY="127.0.0.1:$SOCKSIFYD_PORT"
	BASE_FDS="$(fd_count "$SOCKSIFYD_PID")"
	local ready="$E2E_TMP/idle.ready"
	start_bg idle "$PYTHON" "$TOOLS/badclient.py" idle --proxy "$PROXY" --count 1000 \
		--ready-file "$ready" --wait 25
	local idle_pid="$BG_PID" idle_log="$BG_LOG"
	wait_for_file "$ready" 20
	# While they hang on, a good client still gets through.
	run curl -sS --max-time 5 --socks5 "$PROXY" "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	# The server closes every one of them at the negotiation timeout.
	local i
	for ((i = 0; i < 300; i++)); do
		pid_alive "$idle_pid" || break
		sleep 0.1
	done
	run cat "$idle_log"
	assert_line "connected 1000"
	assert_line --regexp '^closed 1000 of 1000 after'
	fds_back
	wait_until 10 session_count_is -ge 1000 result=timeout
	still_serving
}

# The payloads below go as many writes spaced in time after the first (the
# one pipelined with the handshake), and come back compared byte for byte:
# a relay that passed on only what arrived with the request, or only its
# first read, would not echo them.

@test "bad input: pipelined greeting+auth+request+data in one write works" {
	stop_pid "$SOCKSIFYD_PID"
	start_socksifyd -u erin:pipe-pw --timeout 2
	PROXY="127.0.0.1:$SOCKSIFYD_PORT"
	run timeout 20 "$PYTHON" "$TOOLS/socks_client.py" connect --proxy "$PROXY" --pipeline \
		--user erin --pass pipe-pw --target "127.0.0.1:$ECHO_PORT" \
		--echo 40000 --chunks 40 --gap 0.01
	assert_success
	assert_line "echo ok 40000 in 40 writes"
	assert_session user=erin "target=127.0.0.1:$ECHO_PORT" result=ok
}

@test "bad input: pipelined SOCKS4a request+data in one write works" {
	run timeout 20 "$PYTHON" "$TOOLS/socks_client.py" connect --proxy "$PROXY" --pipeline \
		--proto socks4a --target "localhost:$ECHO_PORT" --echo 30000 --chunks 30 --gap 0.01
	assert_success
	assert_line "echo ok 30000 in 30 writes"
	assert_session proto=socks4a "target=localhost:$ECHO_PORT" result=ok
}

@test "bad input: split handshake, one byte per write, works (SOCKS5 with auth)" {
	stop_pid "$SOCKSIFYD_PID"
	start_socksifyd -u frank:split-pw --timeout 5
	PROXY="127.0.0.1:$SOCKSIFYD_PORT"
	run timeout 20 "$PYTHON" "$TOOLS/socks_client.py" connect --proxy "$PROXY" --split 0.01 \
		--user frank --pass split-pw --target "localhost:$ECHO_PORT" \
		--echo 10000 --chunks 20 --gap 0.01
	assert_success
	assert_line "echo ok 10000 in 20 writes"
	assert_session user=frank "target=localhost:$ECHO_PORT" result=ok
}

@test "bad input: split and pipelined at once (message boundaries inside writes) works" {
	run timeout 20 "$PYTHON" "$TOOLS/socks_client.py" connect --proxy "$PROXY" --split 0.005 \
		--pipeline --target "127.0.0.1:$ECHO_PORT" --echo 6400 --chunks 16 --gap 0.01
	assert_success
	assert_line "echo ok 6400 in 16 writes"
	run timeout 20 "$PYTHON" "$TOOLS/socks_client.py" connect --proxy "$PROXY" --split 0.005 \
		--proto socks4 --target "127.0.0.1:$ECHO_PORT" --echo 6400 --chunks 16 --gap 0.01
	assert_success
	assert_line "echo ok 6400 in 16 writes"
	[ "$(session_count "target=127.0.0.1:$ECHO_PORT" result=ok)" -eq 2 ] ||
		wait_until 5 session_count_is -eq 2 "target=127.0.0.1:$ECHO_PORT" result=ok
	still_serving
}

@test "bad input: a pipelined greeting and CONNECT get the method choice and the reply in one write" {
	# The client did not wait for the choice, so the server holds it and
	# sends it with the reply: one read on the client gets both.
	local port
	port="$(printf '%04x' "$ECHO_PORT")"
	run raw "${GREET}${CONNECT_HDR}${LOCAL}${port}" 1
	assert_success
	assert_line --regexp '^first=05000500000(1[0-9a-f]{12}|4[0-9a-f]{36})$'
	assert_session "target=127.0.0.1:$ECHO_PORT" result=ok
	# Unpipelined, the choice goes out at once, before any request.
	run raw "${GREET}" 1
	assert_line "first=0500"
	still_serving
}
