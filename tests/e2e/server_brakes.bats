#!/usr/bin/env bats
# server_brakes.bats: brakes on hostile clients.  A failed login is answered
# late (--auth-delay) without holding up anyone else, an address with too
# many failures is refused (--auth-fail-limit), and one address gets only
# so many sessions, BINDs waiting and UDP associations (--max-per-client,
# --max-binds-per-client, --max-udp-per-client); other addresses are served
# all the while, and socksifyd's descriptors go back to where they were.
#
# Clients come from different loopback addresses (127.0.0.2, 127.0.0.3):
# the limits are per client address.  Values are small so the suite is
# quick, also under ASan.

load lib/common

setup() {
	e2e_setup
}

teardown() {
	e2e_teardown
}

# bc MODE [ARGS...]: tools/brakes_client.py against the newest socksifyd.
bc() {
	local mode="$1"
	shift
	timeout 60 "$PYTHON" "$TOOLS/brakes_client.py" "$mode" --proxy "127.0.0.1:$SOCKSIFYD_PORT" "$@"
}

# field NAME: the value of NAME=... in the last run's output.
field() {
	[[ "$output" =~ (^|[[:space:]])$1=([^[:space:]]+) ]] || {
		echo "no $1= in: $output" >&2
		return 1
	}
	echo "${BASH_REMATCH[2]}"
}

# at_least A B / below A B: A >= B, A < B (decimals).
at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
below() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# fds_back BASE: socksifyd's descriptors return to BASE (bounded wait).
fds_back() {
	if ! wait_until 10 fd_count_le "$SOCKSIFYD_PID" "$1"; then
		echo "fd count $(fd_count "$SOCKSIFYD_PID"), started at $1"
		ls -l "/proc/$SOCKSIFYD_PID/fd"
		return 1
	fi
}

# hold_open NAME ARGS...: brakes_client.py open in the background, until
# $E2E_TMP/NAME.stop exists; waits (10 s) for its counts line.  Sets
# HOLD_PID, HOLD_LOG.
hold_open() {
	local name="$1"
	shift
	start_bg "$name" "$PYTHON" "$TOOLS/brakes_client.py" open \
		--proxy "127.0.0.1:$SOCKSIFYD_PORT" --stop-file "$E2E_TMP/$name.stop" --hold 40 "$@"
	HOLD_PID="$BG_PID" HOLD_LOG="$BG_LOG"
	wait_for_log "$HOLD_LOG" '^granted=' 20 || {
		cat "$HOLD_LOG"
		fail "$name: no counts line"
	}
}

# hold_stop NAME: the holder of hold_open NAME closes everything and ends.
hold_stop() {
	touch "$E2E_TMP/$1.stop"
	wait_until 10 eval '! pid_alive '"$HOLD_PID" || fail "$1 did not stop"
}

@test "brakes: 200 wrong passwords take at least the configured delay and are then refused" {
	start_socksifyd -u alice:right --auth-delay 0.3 --auth-fail-limit 5
	local base
	base="$(fd_count "$SOCKSIFYD_PID")"
	run bc auth --src 127.0.0.2 --user alice --pass wrong --count 200
	assert_success
	# Five guesses, each answered no sooner than the delay (a little less
	# for clock granularity)...
	assert_line --regexp '^failed=5 '
	at_least "$(field fail_min)" 0.27
	# ...then the address is closed at once, before any negotiation.
	assert_line --regexp '^refused=195 '
	below "$(field refused_max)" 0.25
	assert_line "first_refused=6 last_failed=5"
	# The ban is for the address, right password or not; another address
	# is let in.
	run bc auth --src 127.0.0.2 --user alice --pass right --count 1
	assert_line --regexp '^refused=1 '
	run bc auth --src 127.0.0.3 --user alice --pass right --count 1
	assert_line ok=1
	wait_until 5 session_count_is -eq 196 "client=~127\\.0\\.0\\.2:[0-9]+" result=auth-banned
	[ "$(session_count "client=~127\\.0\\.0\\.2:[0-9]+" result=auth-failed)" -eq 5 ]
	[ "$(session_count "client=~127\\.0\\.0\\.3:[0-9]+" result=auth-banned)" -eq 0 ]
	fds_back "$base"
}

@test "brakes: wrong passwords sent on 30 connections at once get no more checks than the limit" {
	start_socksifyd -u alice:right --auth-delay 0.4 --auth-fail-limit 5
	local base
	base="$(fd_count "$SOCKSIFYD_PID")"
	# All 30 greet first, then all send their guess together: only five
	# are checked (and answered late); the rest are refused unchecked.
	run bc auth --parallel --slow 0.35 --src 127.0.0.2 --user alice --pass wrong --count 30
	assert_success
	assert_line --regexp '^failed=30 '
	assert_line "slow=5 fast=25"
	wait_until 5 session_count_is -eq 25 result=auth-banned
	[ "$(session_count result=auth-failed)" -eq 5 ]
	fds_back "$base"
}

@test "brakes: an unknown SOCKS4 user id is answered late and counts towards the ban" {
	# Without --socks4-userid, SOCKS4 is refused outright when there are
	# users (server_safety.bats): the user id is a password only with it.
	start_socksifyd -u alice:right --socks4-userid --auth-delay 0.3 --auth-fail-limit 2
	run timeout 30 "$PYTHON" -c '
import sys, time
sys.path.insert(0, sys.argv[2])
import socksraw as sr
for i in range(3):
    s = sr.connect(sys.argv[1], src="127.0.0.2")
    t = time.monotonic()
    try:
        s.sendall(sr.request4(1, "127.0.0.1", 9, user="mallory"))
        code = sr.read_reply4(s)[0]
    except (OSError, sr.ProtoError):
        code = "closed"
    print(code, "%.3f" % (time.monotonic() - t))
    s.close()
' "127.0.0.1:$SOCKSIFYD_PORT" "$TOOLS"
	assert_success
	# Rejected (91) after the delay, twice; then the address is banned.
	[[ "${lines[0]}" =~ ^91\ ([0-9.]+)$ ]]
	at_least "${BASH_REMATCH[1]}" 0.27
	[[ "${lines[1]}" =~ ^91\ ([0-9.]+)$ ]]
	at_least "${BASH_REMATCH[1]}" 0.27
	[[ "${lines[2]}" =~ ^closed\ ([0-9.]+)$ ]]
	below "${BASH_REMATCH[1]}" 0.25
	wait_until 5 session_count_is -eq 2 proto=socks4 result=auth-failed
	assert_session result=auth-banned
}

@test "brakes: a failed login's delay does not slow other clients" {
	# One event loop: a delay that blocked it would hold up everyone.
	start_socksifyd --threads 1 -u good:pw --auth-delay 2
	start_tcp_echo
	run bc delay-probe --bad-src 127.0.0.2 --good-src 127.0.0.3 --user good --pass pw \
		--target "127.0.0.1:$ECHO_PORT" --cycles 20
	assert_success
	# The wrong login was still waiting when 20 good sessions had been
	# served, then got its failure after the delay.
	assert_output --regexp 'pending=yes bad=[0-9.]+ bad_status=1'
	at_least "$(field bad)" 1.8
	# The good sessions took about as long as without it: a wide ratio,
	# and an upper bound well under the 2 s a blocked loop would add.
	below "$(field during)" 1.5
	below "$(field during)" "$(awk -v b="$(field baseline)" 'BEGIN { print b * 20 + 0.05 }')"
	assert_session "client=~127\\.0\\.0\\.2:[0-9]+" result=auth-failed
	wait_until 5 session_count_is -eq 40 "client=~127\\.0\\.0\\.3:[0-9]+" result=ok
}

@test "brakes: sessions per client address are capped, another client still gets in" {
	start_socksifyd --max-per-client 8
	start_tcp_echo
	local base
	base="$(fd_count "$SOCKSIFYD_PID")"
	hold_open hold --src 127.0.0.2 --cmd connect --target "127.0.0.1:$ECHO_PORT" --count 20
	run cat "$HOLD_LOG"
	assert_line "granted=8 refused=0 closed=12 codes=-"
	# Another address is served while the first holds its eight.
	run bc open --src 127.0.0.3 --cmd connect --target "127.0.0.1:$ECHO_PORT" --count 3 --hold 0
	assert_line --regexp '^granted=3 '
	wait_until 5 session_count_is -eq 12 "client=~127\\.0\\.0\\.2:[0-9]+" result=client-limit
	# A turned-away client is logged before it is closed.
	[ "$(session_count "client=~127\\.0\\.0\\.3:[0-9]+" result=client-limit)" -eq 0 ]
	# Once they are gone, the address has its share back.
	hold_stop hold
	wait_until 5 session_count_is -eq 11 "target=127.0.0.1:$ECHO_PORT" result=ok
	run bc open --src 127.0.0.2 --cmd connect --target "127.0.0.1:$ECHO_PORT" --count 8 --hold 0
	assert_line --regexp '^granted=8 '
	fds_back "$base"
}

@test "brakes: BINDs waiting per client are capped, and one whose peer came frees its slot" {
	# --timeout 2: a BIND whose client left ends when its wait runs out.
	start_socksifyd --max-binds-per-client 4 --timeout 2
	local base
	base="$(fd_count "$SOCKSIFYD_PID")"
	hold_open hold --src 127.0.0.2 --cmd bind --count 10 --peer-first
	run cat "$HOLD_LOG"
	# SOCKS5 reply 2 (not allowed) for the six over the cap.
	assert_line "granted=4 refused=6 closed=0 codes=2,2,2,2,2,2"
	# The peer of the first came: three wait, so one more may, not two.
	wait_for_log "$HOLD_LOG" '^after-peer' 10
	run cat "$HOLD_LOG"
	assert_line "peer ok"
	assert_line "after-peer granted=1 refused=1"
	run bc open --src 127.0.0.3 --cmd bind --count 1 --hold 0
	assert_line --regexp '^granted=1 '
	wait_until 5 session_count_is -eq 7 cmd=bind "client=~127\\.0\\.0\\.2:[0-9]+" result=client-limit
	hold_stop hold
	fds_back "$base"
}

@test "brakes: 300 UDP associations from one client are capped (default 32)" {
	start_socksifyd
	local base
	base="$(fd_count "$SOCKSIFYD_PID")"
	hold_open hold --src 127.0.0.2 --cmd udp --count 300
	run cat "$HOLD_LOG"
	assert_line --regexp '^granted=32 refused=268 closed=0 codes=2(,2){267}$'
	# Each association holds its control connection and one relay socket.
	(($(fd_count "$SOCKSIFYD_PID") <= base + 2 * 32 + 4))
	run bc open --src 127.0.0.3 --cmd udp --count 1 --hold 0
	assert_line --regexp '^granted=1 '
	wait_until 5 session_count_is -eq 268 cmd=udp result=client-limit
	hold_stop hold
	fds_back "$base"
}

@test "brakes: --help names every limit with its default" {
	run "$SOCKSIFYD" --help
	assert_success
	assert_line --regexp '--max-per-client N .*default 1024'
	assert_line --regexp '--max-binds-per-client N .*default 16'
	assert_line --regexp '--max-udp-per-client N .*default 32'
	assert_line --regexp '--auth-fail-limit N .*'
	assert_output --regexp 'default 10\)'
	assert_line --regexp '--auth-delay SECONDS .*default 1\)'
	run timeout 10 "$SOCKSIFYD" -l 127.0.0.1:0 --max-per-client -1
	assert_failure 2
	run timeout 10 "$SOCKSIFYD" -l 127.0.0.1:0 --auth-delay soon
	assert_failure 2
}
