#!/usr/bin/env bats
# server_options.bats: socksifyd's options (--allow, --deny-dest, --no-bind,
# --no-udp, --max-conns, -u, --users, --timeout, --idle-timeout), a clean
# exit on SIGTERM, and Dante's client (/usr/bin/socksify) as a client.

load lib/common

setup() {
	e2e_setup
}

teardown() {
	e2e_teardown
}

sc() {
	timeout 30 "$PYTHON" "$TOOLS/socks_client.py" "$@"
}

@test "options: --allow admits clients in the CIDR and turns others away" {
	start_socksifyd --allow 127.0.0.2/32
	start_http_server
	run curl -sS --max-time 5 --interface 127.0.0.2 --socks5 "127.0.0.1:$SOCKSIFYD_PORT" \
		"http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	assert_session "client=~127\\.0\\.0\\.2:[0-9]+" result=ok
	run curl -sS --max-time 5 --interface 127.0.0.1 --socks5 "127.0.0.1:$SOCKSIFYD_PORT" \
		"http://127.0.0.1:$HTTP_PORT/"
	assert_failure
	refute_session "client=~127\\.0\\.0\\.1:[0-9]+" result=ok
	[ "$(http_request_count)" -eq 1 ]
}

@test "options: --allow with several CIDRs, IPv6 included" {
	start_socksifyd -l 127.0.0.1:0 -l '[::1]:0' --allow 10.0.0.0/8 --allow ::1/128
	start_http_server
	local p6
	p6="$(socksifyd_listen_port ::1)"
	run curl -sS --max-time 5 --socks5 "[::1]:$p6" "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	run curl -sS --max-time 5 --socks5 "127.0.0.1:$SOCKSIFYD_PORT" "http://127.0.0.1:$HTTP_PORT/"
	assert_failure
	[ "$(http_request_count)" -eq 1 ]
}

@test "options: --deny-dest refuses destinations in the CIDR (reply 0x02, result=not-allowed)" {
	SOCKSIFYD_WRAP=(with_hosts_file "$(loopback_hosts)")
	start_socksifyd --deny-dest 127.0.0.0/8
	start_http_server
	start_http_server ::1
	run curl -sS --max-time 5 --socks5 "127.0.0.1:$SOCKSIFYD_PORT" "http://127.0.0.2:$HTTP_PORT/"
	assert_failure
	assert_session "target=127.0.0.2:$HTTP_PORT" result=not-allowed
	# A name that resolves into the denied range is refused too.
	run sc connect --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "$V4NAME:$HTTP_PORT" --http /
	assert_failure 3
	assert_line "reply=2 bound=0.0.0.0:0"
	assert_session "target=$V4NAME:$HTTP_PORT" result=not-allowed
	# Outside the CIDR is fine.
	run curl -sS --max-time 5 --socks5 "127.0.0.1:$SOCKSIFYD_PORT" "http://[::1]:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	[ "$(http_request_count)" -eq 1 ]
}

@test "options: --deny-dest applies to UDP ASSOCIATE destinations" {
	start_socksifyd --deny-dest 127.0.0.1/32
	start_udp_echo
	run sc udp --count 1 --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "127.0.0.1:$UDP_PORT"
	assert_failure
	[ "$(wc -l <"$UDP_LOG")" -eq 0 ]
}

@test "options: --no-bind refuses BIND (SOCKS5 reply 0x02 or 0x07, SOCKS4 91)" {
	start_socksifyd --no-bind
	run timeout 20 "$PYTHON" "$TOOLS/bind_client.py" --proxy "127.0.0.1:$SOCKSIFYD_PORT"
	assert_failure
	assert_output --regexp 'first reply code (2|7)'
	run timeout 20 "$PYTHON" "$TOOLS/bind_client.py" --proto socks4 --proxy "127.0.0.1:$SOCKSIFYD_PORT"
	assert_failure
	assert_output --partial 'first reply code 91'
	assert_session cmd=bind "result=~not-allowed|bad-command"
	refute_session cmd=bind result=ok
}

@test "options: --no-udp refuses UDP ASSOCIATE (reply 0x02 or 0x07)" {
	start_socksifyd --no-udp
	start_udp_echo
	run sc udp --count 1 --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "127.0.0.1:$UDP_PORT"
	assert_failure 3
	assert_output --regexp 'reply=(2|7)'
	assert_session cmd=udp "result=~not-allowed|bad-command"
	[ "$(wc -l <"$UDP_LOG")" -eq 0 ]
}

@test "options: --max-conns 2 holds a third client off until one leaves" {
	start_socksifyd --max-conns 2
	start_http_server
	start_tcp_echo
	local p="127.0.0.1:$SOCKSIFYD_PORT" h1 h2
	start_bg hold1 "$PYTHON" "$TOOLS/socks_client.py" connect --proxy "$p" \
		--target "127.0.0.1:$ECHO_PORT" --echo 10 --hold 30
	h1="$BG_PID"
	wait_for_log "$BG_LOG" '^echo ok' 10
	start_bg hold2 "$PYTHON" "$TOOLS/socks_client.py" connect --proxy "$p" \
		--target "127.0.0.1:$ECHO_PORT" --echo 10 --hold 30
	h2="$BG_PID"
	wait_for_log "$BG_LOG" '^echo ok' 10
	run curl -sS --max-time 3 --socks5 "$p" "http://127.0.0.1:$HTTP_PORT/"
	assert_failure
	[ "$(http_request_count)" -eq 0 ]
	stop_pid "$h1" || true
	run curl -sS --max-time 5 --socks5 "$p" "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	stop_pid "$h2" || true
}

@test "options: --threads 4 reports one port per address and serves through every loop" {
	start_socksifyd --threads 4 -l 127.0.0.1:0 -l "[::1]:0"
	start_http_server
	# One line per listen address, not per loop: the loops share the port.
	[ "$(grep -c '^listening ' "$SOCKSIFYD_OUT")" -eq 2 ]
	[ "$(socksifyd_listen_port 127.0.0.1)" = "$SOCKSIFYD_PORT" ]
	# Four event loops at least (plus the main and resolver threads).
	[ "$(ls "/proc/$SOCKSIFYD_PID/task" | wc -l)" -ge 5 ]
	local i
	for ((i = 0; i < 24; i++)); do
		run curl -sS --max-time 5 --socks5 "127.0.0.1:$SOCKSIFYD_PORT" "http://127.0.0.1:$HTTP_PORT/"
		assert_success
		assert_output "$HTTP_BODY"
	done
	run curl -sS --max-time 5 --socks5 "[::1]:$(socksifyd_listen_port ::1)" "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	wait_until 5 session_count_is -eq 25 result=ok
	[ "$(http_request_count)" -eq 25 ]
}

@test "options: --max-conns is one limit across --threads 4 loops" {
	start_socksifyd --threads 4 --max-conns 2
	start_http_server
	start_tcp_echo
	local p="127.0.0.1:$SOCKSIFYD_PORT" h1 h2 i
	start_bg hold1 "$PYTHON" "$TOOLS/socks_client.py" connect --proxy "$p" \
		--target "127.0.0.1:$ECHO_PORT" --echo 10 --hold 30
	h1="$BG_PID"
	wait_for_log "$BG_LOG" '^echo ok' 10
	start_bg hold2 "$PYTHON" "$TOOLS/socks_client.py" connect --proxy "$p" \
		--target "127.0.0.1:$ECHO_PORT" --echo 10 --hold 30
	h2="$BG_PID"
	wait_for_log "$BG_LOG" '^echo ok' 10
	# Whichever loop the kernel hands them to, more clients are turned away.
	for ((i = 0; i < 6; i++)); do
		run curl -sS --max-time 3 --socks5 "$p" "http://127.0.0.1:$HTTP_PORT/"
		assert_failure
	done
	[ "$(http_request_count)" -eq 0 ]
	stop_pid "$h1" || true
	run curl -sS --max-time 5 --socks5 "$p" "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	stop_pid "$h2" || true
}

@test "options: a client that greets and leaves (socksify --check) is logged result=closed" {
	start_socksifyd
	run timeout 30 "$LAUNCHER" -p "socks5://127.0.0.1:$SOCKSIFYD_PORT" --check
	assert_success
	assert_line --regexp "^hop 1 socks5://127\.0\.0\.1:$SOCKSIFYD_PORT ok [0-9.]+ ms\$"
	assert_session cmd=- result=closed
	refute_session result=malformed
}

@test "options: -u given twice accepts both users" {
	start_socksifyd -u u1:p1 -u u2:p2
	start_http_server
	run curl -sS --max-time 5 --socks5 "127.0.0.1:$SOCKSIFYD_PORT" --proxy-user u1:p1 \
		"http://127.0.0.1:$HTTP_PORT/"
	assert_success
	run curl -sS --max-time 5 --socks5 "127.0.0.1:$SOCKSIFYD_PORT" --proxy-user u2:p2 \
		"http://127.0.0.1:$HTTP_PORT/"
	assert_success
	run curl -sS --max-time 5 --socks5 "127.0.0.1:$SOCKSIFYD_PORT" --proxy-user u1:p2 \
		"http://127.0.0.1:$HTTP_PORT/"
	assert_failure
	assert_session user=u1 result=ok
	assert_session user=u2 result=ok
	[ "$(http_request_count)" -eq 2 ]
}

@test "options: --users FILE with comments and blank lines" {
	cat >"$E2E_TMP/users" <<-'EOF2'
		# socksifyd users
		alice:wonder land

		  bob:b:colon
	EOF2
	start_socksifyd --users "$E2E_TMP/users"
	start_http_server
	run curl -sS --max-time 5 --socks5 "127.0.0.1:$SOCKSIFYD_PORT" --proxy-user 'alice:wonder land' \
		"http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	run curl -sS --max-time 5 --socks5 "127.0.0.1:$SOCKSIFYD_PORT" --proxy-user 'bob:b:colon' \
		"http://127.0.0.1:$HTTP_PORT/"
	assert_success
	run curl -sS --max-time 5 --socks5 "127.0.0.1:$SOCKSIFYD_PORT" --proxy-user 'alice:wonder' \
		"http://127.0.0.1:$HTTP_PORT/"
	assert_failure
	assert_session user=alice result=ok
	assert_session user=bob result=ok
	assert_session result=auth-failed
}

@test "options: --users FILE with a malformed line fails with file:line:" {
	printf '# ok\nalice:pw\nno-colon-here\n' >"$E2E_TMP/users.bad"
	run timeout 10 "$SOCKSIFYD" -l 127.0.0.1:0 --users "$E2E_TMP/users.bad"
	assert_failure
	assert_output --partial "$E2E_TMP/users.bad:3:"
	run timeout 10 "$SOCKSIFYD" -l 127.0.0.1:0 --users "$E2E_TMP/does-not-exist"
	assert_failure
	assert_output --partial "$E2E_TMP/does-not-exist"
}

@test "options: bad arguments are refused with a message and a non-zero exit" {
	run timeout 10 "$SOCKSIFYD" -l 127.0.0.1:0 --allow 300.1.2.3/8
	assert_failure
	assert_output --partial "300.1.2.3"
	run timeout 10 "$SOCKSIFYD" -l not-an-address
	assert_failure
	run timeout 10 "$SOCKSIFYD" -l 127.0.0.1:0 --max-conns -3
	assert_failure
	run timeout 10 "$SOCKSIFYD" -l 127.0.0.1:0 -u nocolon
	assert_failure
	run timeout 10 "$SOCKSIFYD" --no-such-option
	assert_failure
}

@test "options: SIGTERM stops socksifyd cleanly with exit 0, even with a session open" {
	start_socksifyd
	start_tcp_echo
	start_bg hold "$PYTHON" "$TOOLS/socks_client.py" connect --proxy "127.0.0.1:$SOCKSIFYD_PORT" \
		--target "127.0.0.1:$ECHO_PORT" --echo 10 --hold 30
	wait_for_log "$BG_LOG" '^echo ok' 10
	local st=0
	stop_pid "$SOCKSIFYD_PID" 5 || st=$?
	[ "$st" -eq 0 ]
	run pid_alive "$SOCKSIFYD_PID"
	assert_failure
	socksifyd_check_log "$SOCKSIFYD_LOG"
	# The listener is gone.
	run curl -sS --max-time 3 --socks5 "127.0.0.1:$SOCKSIFYD_PORT" "http://127.0.0.1:$ECHO_PORT/"
	assert_failure
}

@test "options: --idle-timeout closes a relayed session that carries no data" {
	start_socksifyd --idle-timeout 2
	start_tcp_echo
	# 30 writes 0.1 s apart (2.9 s of traffic, longer than the idle timeout,
	# so the data must keep the session open), echoed byte for byte while
	# they are sent; then silence, which must close it.
	run timeout 30 "$PYTHON" -c '
import os, sys, time
sys.path.insert(0, sys.argv[3])
import socksraw as sr
s = sr.connect(sys.argv[1], timeout=10)
rep, h, p = sr.handshake5(s, sr.SOCKS5_CONNECT, "127.0.0.1", int(sys.argv[2]))
data = os.urandom(30 * 256)
got = sr.transfer_spaced(s, s, sr.split_parts(data, 30), 0.1, len(data))
diff = sr.compare_bytes(data, got)
if diff:
    sys.exit("echo differs: " + diff)
print("open", rep)
t = sr.wait_eof(s, 10)
print("closed after %.1f" % t if t is not None else "still open")
' "127.0.0.1:$SOCKSIFYD_PORT" "$ECHO_PORT" "$TOOLS"
	assert_success
	assert_line "open 0"
	[[ "$output" =~ closed\ after\ ([0-9.]+) ]]
	awk -v t="${BASH_REMATCH[1]}" 'BEGIN { exit !(t >= 1.5 && t <= 6) }'
	assert_session "target=127.0.0.1:$ECHO_PORT" up=7680 down=7680
}

@test "options: -q keeps session lines off stderr" {
	start_socksifyd -q
	start_http_server
	run curl -sS --max-time 5 --socks5 "127.0.0.1:$SOCKSIFYD_PORT" "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	sleep 0.5
	[ "$(session_lines | wc -l)" -eq 0 ]
}

@test "options: Dante's client (/usr/bin/socksify) uses socksifyd as its server for CONNECT" {
	start_socksifyd
	start_http_server
	cat >"$E2E_TMP/dante-client.conf" <<-EOF2
		route {
			from: 0.0.0.0/0 to: 0.0.0.0/0 via: 127.0.0.1 port = $SOCKSIFYD_PORT
			proxyprotocol: socks_v5
			command: connect
		}
	EOF2
	run env SOCKS_CONF="$E2E_TMP/dante-client.conf" SOCKS_AUTOADD_LANROUTES=no \
		timeout 20 /usr/bin/socksify curl -sS --max-time 10 "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_session proto=socks5 cmd=connect "target=127.0.0.1:$HTTP_PORT" result=ok
}

# log_flood PORT N: N SOCKS5 greetings to 127.0.0.1:PORT, one connection
# each, every one answered within 5 s (each ends as one session line).
log_flood() {
	timeout 60 "$PYTHON" - "$1" "$2" <<-'PY'
		import socket, sys
		port, n = int(sys.argv[1]), int(sys.argv[2])
		for i in range(n):
		    s = socket.create_connection(("127.0.0.1", port), timeout=5)
		    s.sendall(b"\x05\x01\x00")
		    if s.recv(2) != b"\x05\x00":
		        sys.exit("greeting %d not answered" % i)
		    s.close()
		print("flood ok")
	PY
}

@test "options: a stderr nobody reads never stalls the server: log lines are dropped and counted" {
	local fifo="$E2E_TMP/log.fifo" out="$E2E_TMP/log.out" reader pf="$E2E_TMP/stall.port" port
	start_http_server
	mkfifo "$fifo"
	# The reader exists before socksifyd opens the pipe, then stops
	# reading: the pipe fills and stays full.
	cat "$fifo" >"$out" 3>&- &
	reader=$!
	e2e_register "$reader" logreader
	"$SOCKSIFYD" -l 127.0.0.1:0 --threads 1 --port-file "$pf" 2>"$fifo" >/dev/null 3>&- </dev/null &
	e2e_register "$!" socksifyd-stall
	local pid=$!
	wait_for_file "$pf" 10 || fail "socksifyd did not start"
	port="$(tr -d '[:space:]' <"$pf")"
	kill -STOP "$reader"
	# Some 4000 session lines: more than the pipe and the log queue hold.
	run log_flood "$port" 4000
	assert_success
	assert_output "flood ok"
	run curl -sS --max-time 10 --socks5 "127.0.0.1:$port" "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	# Read again: the count of what was lost comes out, and socksifyd
	# ends cleanly on SIGTERM with its queue written.
	kill -CONT "$reader"
	kill -TERM "$pid"
	wait_until 10 bash -c '! kill -0 "$0" 2>/dev/null' "$pid" || fail "socksifyd did not exit"
	wait_until 10 bash -c '! kill -0 "$0" 2>/dev/null' "$reader" || fail "the reader did not end"
	run grep -E '^socksifyd: [0-9]+ log lines dropped: stderr was not read fast enough$' "$out"
	assert_success
	local dropped
	dropped="$(awk '/^socksifyd: [0-9]+ log lines dropped/ { n += $2 } END { print n + 0 }' "$out")"
	# Every session made a line: written or counted as dropped.
	local written
	written="$(grep -c '^socksifyd: session ' "$out")"
	((written + dropped >= 4001)) || fail "written $written + dropped $dropped < 4001 sessions"
	((dropped > 0)) || fail "nothing was dropped: the test did not fill the pipe"
}

@test "options: --run-as nobody: root is given up once the listeners are bound, and the server still relays" {
	local uid gid
	uid="$(id -u nobody)"
	gid="$(id -g nobody)"
	start_http_server
	start_socksifyd --run-as nobody
	run grep -E '^(Uid|Gid|Groups):' "/proc/$SOCKSIFYD_PID/status"
	assert_line --regexp "^Uid:[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid\$"
	assert_line --regexp "^Gid:[[:space:]]+$gid[[:space:]]+$gid[[:space:]]+$gid[[:space:]]+$gid\$"
	assert_line --regexp "^Groups:[[:space:]]+$gid[[:space:]]*\$"
	run curl -sS --max-time 10 --socks5-hostname "127.0.0.1:$SOCKSIFYD_PORT" "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	# A user that does not exist: refused at start-up, with the reason.
	run timeout 10 "$SOCKSIFYD" -l 127.0.0.1:0 --run-as no-such-user-e2e
	assert_failure
	assert_output --partial "--run-as no-such-user-e2e: no such user"
}

@test "options: --config FILE takes the long options one per line, the command line adds to it, and errors say file:line" {
	start_http_server
	local conf="$E2E_TMP/socksifyd.conf"
	cat >"$conf" <<-EOF
		# socksifyd's options, as in socksifyd(8)
		allow = 127.0.0.0/8
		user alice:s3cr#t word
		deny-dest 10.0.0.0/8
		no-bind
		no-udp no
	EOF
	start_socksifyd --config "$conf"
	# The user from the file, password with '#' and a blank, is required.
	run curl -sS --max-time 10 --socks5-hostname "127.0.0.1:$SOCKSIFYD_PORT" \
		--proxy-user 'alice:s3cr#t word' "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	run curl -sS --max-time 10 --socks5-hostname "127.0.0.1:$SOCKSIFYD_PORT" \
		"http://127.0.0.1:$HTTP_PORT/"
	assert_failure
	# no-bind from the file; a rule from the command line on top of it.
	run timeout 20 "$PYTHON" "$TOOLS/bind_client.py" --proxy "127.0.0.1:$SOCKSIFYD_PORT" \
		--user alice --pass 's3cr#t word'
	assert_failure
	assert_output --regexp 'first reply code (2|7)'
	start_socksifyd --config "$conf" --deny-dest 127.0.0.0/8
	run curl -sS --max-time 10 --socks5-hostname "127.0.0.1:$SOCKSIFYD_PORT" \
		--proxy-user 'alice:s3cr#t word' "http://127.0.0.1:$HTTP_PORT/"
	assert_failure
	[[ "$(http_request_count)" == 1 ]] || fail "the web server saw $(http_request_count) requests, not 1"
	# Errors: the file and the line, exit status 2, nothing started.
	printf '%s\n' "listen 127.0.0.1:0" "" "frobnicate 1" >"$conf"
	run timeout 10 "$SOCKSIFYD" --config "$conf"
	assert_failure 2
	assert_output --partial "$conf:3: unknown key 'frobnicate'"
	printf '%s\n' "listen 127.0.0.1:0" "allow 10.0.0.0/99" >"$conf"
	run timeout 10 "$SOCKSIFYD" --config="$conf"
	assert_failure 2
	assert_output --partial "$conf:2: bad --allow range '10.0.0.0/99'"
	printf '%s\n' "no-bind maybe" >"$conf"
	run timeout 10 "$SOCKSIFYD" --config "$conf"
	assert_failure 2
	assert_output --partial "$conf:1: 'no-bind' takes no value, or yes or no"
	printf '%s\n' "listen" >"$conf"
	run timeout 10 "$SOCKSIFYD" --config "$conf"
	assert_failure 2
	assert_output --partial "$conf:1: 'listen' needs a value"
}

@test "options: the systemd unit CMake installs passes systemd-analyze verify, keeps its exposure low, runs as the user its sysusers.d file makes, and reads /etc/socksifyd.conf" {
	command -v systemd-analyze >/dev/null ||
		skip "systemd-analyze is not installed (Debian package systemd)"
	local dest="$E2E_TMP/dest" unit sysusers
	DESTDIR="$dest" cmake --install "$SOCKSIFY_BUILD" >"$E2E_TMP/install.log" 2>&1 ||
		fail "cmake --install failed: $(cat "$E2E_TMP/install.log")"
	unit="$(find "$dest" -name socksifyd.service -path '*/lib/systemd/system/*')"
	sysusers="$(find "$dest" -name socksifyd.conf -path '*/lib/sysusers.d/*')"
	[[ -n "$unit" ]] || fail "no socksifyd.service installed under $dest"
	[[ -n "$sysusers" ]] || fail "no sysusers.d/socksifyd.conf installed under $dest"
	run grep -E '^(ExecStart|ExecReload|User)=' "$unit"
	assert_line --regexp '^ExecStart=/.*/bin/socksifyd --config /etc/socksifyd\.conf$'
	assert_line 'ExecReload=/bin/kill -HUP $MAINPID'
	assert_line 'User=socksifyd'
	# Checked against the socksifyd of this build: the installed path is
	# not on this machine.
	sed -E "s|^ExecStart=[^ ]*|ExecStart=$SOCKSIFYD|" "$unit" >"$E2E_TMP/socksifyd.service"
	run systemd-analyze verify --man=no "$E2E_TMP/socksifyd.service"
	assert_success
	refute_output
	# The threshold counts tenths: 30 is an exposure of 3.0 ("OK").
	run systemd-analyze security --offline=true --threshold=30 "$E2E_TMP/socksifyd.service"
	assert_success
	assert_output --regexp 'Overall exposure level for socksifyd\.service: [0-2]\.[0-9]'
	# The user the unit names is the one the sysusers.d file makes (in a
	# root of its own, not this machine's /etc).
	mkdir -p "$E2E_TMP/root/etc"
	run systemd-sysusers --root="$E2E_TMP/root" "$sysusers"
	assert_success
	run grep -E '^socksifyd:x:[0-9]+:[0-9]+:' "$E2E_TMP/root/etc/passwd"
	assert_success
}

# login_echo PROXY TARGET USER PASS: one RFC 1929 login and CONNECT to the
# echo server; prints "login ok" or "login refused".
login_echo() {
	timeout 20 "$PYTHON" - "$TOOLS" "$@" <<-'PY'
		import sys
		sys.path.insert(0, sys.argv[1])
		import socksraw as sr
		proxy, target, user, pw = sys.argv[2:6]
		host, port = sr.split_hostport(target)
		s = sr.connect(proxy)
		try:
		    rep = sr.handshake5(s, 1, host, port, user, pw)
		except sr.ProtoError:
		    print("login refused")
		    sys.exit(0)
		s.sendall(b"ping")
		print("login ok" if sr.recv_exact(s, 4) == b"ping" else "echo differs")
	PY
}

@test "options: SIGHUP re-reads the users file and the rules; a session already open survives; a wrong file keeps what is in force" {
	local users="$E2E_TMP/users" go="$E2E_TMP/go" held
	printf '%s\n' "alice:pw-one" >"$users"
	start_tcp_echo
	start_socksifyd --users "$users" --threads 2
	run login_echo "127.0.0.1:$SOCKSIFYD_PORT" "127.0.0.1:$ECHO_PORT" bob pw-two
	assert_output "login refused"
	# alice's session stays open across the reload, and still carries
	# bytes after it.
	timeout 30 "$PYTHON" - "$TOOLS" "127.0.0.1:$SOCKSIFYD_PORT" "127.0.0.1:$ECHO_PORT" "$go" \
		>"$E2E_TMP/held.out" 2>&1 3>&- <<-'PY' &
		import os, sys, time
		sys.path.insert(0, sys.argv[1])
		import socksraw as sr
		host, port = sr.split_hostport(sys.argv[3])
		s = sr.connect(sys.argv[2], timeout=20)
		sr.handshake5(s, 1, host, port, "alice", "pw-one")
		s.sendall(b"one")
		assert sr.recv_exact(s, 3) == b"one"
		print("held", flush=True)
		for i in range(200):
		    if os.path.exists(sys.argv[4]):
		        break
		    time.sleep(0.05)
		s.sendall(b"two")
		print("survived" if sr.recv_exact(s, 3) == b"two" else "differs", flush=True)
	PY
	held=$!
	e2e_register "$held" held-session
	wait_for_log "$E2E_TMP/held.out" '^held$' 10 || fail "no session: $(cat "$E2E_TMP/held.out")"
	printf '%s\n' "alice:pw-one" "bob:pw-two" >"$users"
	kill -HUP "$SOCKSIFYD_PID"
	wait_for_log "$SOCKSIFYD_LOG" 'reload: 2 users' 10 || fail "no reload line: $(cat "$SOCKSIFYD_LOG")"
	pid_alive "$SOCKSIFYD_PID" || fail "socksifyd died on SIGHUP"
	# Every loop takes the new users: several logins, so that both get some.
	local i
	for i in 1 2 3 4 5 6; do
		run login_echo "127.0.0.1:$SOCKSIFYD_PORT" "127.0.0.1:$ECHO_PORT" bob pw-two
		assert_output "login ok"
	done
	touch "$go"
	wait_for_log "$E2E_TMP/held.out" '^survived$' 10 || fail "the held session: $(cat "$E2E_TMP/held.out")"
	# A users file that cannot be read: the reload is abandoned, with a
	# line that says why, and bob can still log in.
	rm -f "$users"
	kill -HUP "$SOCKSIFYD_PID"
	wait_for_log "$SOCKSIFYD_LOG" 'reload: the users in force stay' 10 ||
		fail "no abandoned reload: $(cat "$SOCKSIFYD_LOG")"
	run login_echo "127.0.0.1:$SOCKSIFYD_PORT" "127.0.0.1:$ECHO_PORT" bob pw-two
	assert_output "login ok"
	pid_alive "$SOCKSIFYD_PID" || fail "socksifyd died on a bad reload"
}

@test "options: SIGHUP re-reads --allow and --deny-dest from the config file, for the next request" {
	local conf="$E2E_TMP/socksifyd.conf"
	printf '%s\n' "allow 127.0.0.0/8" >"$conf"
	start_tcp_echo
	start_socksifyd --config "$conf"
	run sc connect --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "127.0.0.1:$ECHO_PORT" --echo 16
	assert_success
	assert_output --partial "echo ok 16"
	printf '%s\n' "allow 127.0.0.0/8" "deny-dest 127.0.0.1/32" >"$conf"
	kill -HUP "$SOCKSIFYD_PID"
	wait_for_log "$SOCKSIFYD_LOG" 'reload: 0 users, 1 --allow and 1 --deny-dest' 10 ||
		fail "no reload line: $(cat "$SOCKSIFYD_LOG")"
	run sc connect --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "127.0.0.1:$ECHO_PORT" --echo 16
	assert_output --partial "reply=2"
	# A config line that is wrong: the reload is abandoned, file:line said.
	printf '%s\n' "allow 127.0.0.0/8" "deny-dest nonsense" >"$conf"
	kill -HUP "$SOCKSIFYD_PID"
	wait_for_log "$SOCKSIFYD_LOG" "reload: $conf:2: bad --deny-dest range 'nonsense'" 10 ||
		fail "no abandoned reload: $(cat "$SOCKSIFYD_LOG")"
	run sc connect --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "127.0.0.1:$ECHO_PORT" --echo 16
	assert_output --partial "reply=2"
	pid_alive "$SOCKSIFYD_PID" || fail "socksifyd died on a bad reload"
}

@test "options: --external: CONNECT, BIND and UDP leave from the chosen address, which the target sees; a family without one is unreachable" {
	start_http_server
	start_udp_echo
	start_socksifyd -e 127.0.0.5
	run curl -sS --max-time 10 --socks5-hostname "127.0.0.1:$SOCKSIFYD_PORT" "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	# The web server logs "METHOD PATH CLIENT_IP".
	run cat "$HTTP_LOG"
	assert_output "GET / 127.0.0.5"
	# UDP: the echo server logs "SRC_IP SRC_PORT LENGTH".
	run sc udp --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "127.0.0.1:$UDP_PORT" --count 2
	assert_success
	run awk '{ print $1 }' "$UDP_LOG"
	assert_output $'127.0.0.5\n127.0.0.5'
	# BIND: the peer is told to come to the chosen address.
	run timeout 20 "$PYTHON" "$TOOLS/bind_client.py" --proxy "127.0.0.1:$SOCKSIFYD_PORT"
	assert_success
	assert_line --regexp '^first reply: bound 127\.0\.0\.5:[0-9]+$'
	# No IPv6 address given: an IPv6 target cannot be reached from it.
	start_http_server ::1
	run curl -sS --max-time 10 --socks5-hostname "127.0.0.1:$SOCKSIFYD_PORT" "http://[::1]:$HTTP_PORT/"
	assert_failure
	[[ "$(http_request_count)" == 0 ]] || fail "the IPv6 server was reached: $(cat "$HTTP_LOG")"
	run timeout 10 "$SOCKSIFYD" -l 127.0.0.1:0 -e not-an-address
	assert_failure 2
	assert_output --partial "bad --external address 'not-an-address'"
}
