#!/usr/bin/env bats
# server_soak.bats: socksifyd with its default limits under a thousand
# hostile connections at once (tools/hostile.py: slowloris, garbage, oversized
# fields, half-open connections, password guessing, requests for closed
# ports, BINDs whose peer never comes, a UDP flood), while a well-behaved
# client keeps fetching a page through it (tools/steady_get.py).  The good
# client must be served all along; afterwards socksifyd's descriptors and
# memory must come back to where they were.
#
# Hostile clients come from 127.0.0.2..127.0.0.8, the password guesser from
# 127.0.0.9 (the ban it earns stays there), the good client from
# 127.0.0.100: the limits are per address, and a flood comes from many.
#
# socksifyd runs where names come from a hosts file of its own and every DNS
# query goes to 127.0.0.1, where nothing answers: the 253-byte made-up
# names the hostile clients ask for are looked up, and fail, without a
# packet leaving loopback.

load lib/common

# 60 s of attack: the suite takes about 90 s, also under ASan (the durations
# are fixed; the slower build only does less work in them).
SOAK_SECS="${SOAK_SECS:-60}"
# The good client asks for 20 pages a second, one at a time; it must get at
# least GOOD_AVG a second over the run and GOOD_MIN in every 5-second
# window.  Measured on a 2-core machine shared with other work: 19.9 a
# second on average and 19.6 in the worst window, with the normal build and
# the ASan one alike (the proxy's part of a page is a few milliseconds even
# under ASan), so one floor serves both, with room for a slower machine.
GOOD_RATE=20
GOOD_AVG=10
GOOD_MIN=5

setup() {
	e2e_setup
	# 1000 hostile connections, each a session of socksifyd: more than the
	# usual 1024 descriptors on both sides.
	if (($(ulimit -Hn) < 4096)); then
		skip "needs 4096 open files (ulimit -Hn is $(ulimit -Hn))"
	fi
	ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"
}

teardown() {
	e2e_teardown
}

# with_private_dns HOSTS RESOLV CMD [ARGS...]: exec CMD (same PID) in a
# mount namespace where HOSTS is /etc/hosts and RESOLV /etc/resolv.conf.
with_private_dns() {
	exec unshare -m sh -c 'mount --bind "$0" /etc/hosts &&
		mount --bind "$1" /etc/resolv.conf && shift && exec "$@"' "$@"
}

# start_soak_server: socksifyd with two users and default limits, and the
# web server.  Sets CLOSED_PORT, a port where nothing listens.
start_soak_server() {
	printf '127.0.0.1\tlocalhost\n' >"$E2E_TMP/hosts.soak"
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$E2E_TMP/resolv.soak"
	SOCKSIFYD_WRAP=(with_private_dns "$E2E_TMP/hosts.soak" "$E2E_TMP/resolv.soak")
	start_socksifyd -u good:good-pw -u mallory:stolen-pw
	SOCKSIFYD_WRAP=()
	start_http_server
	CLOSED_PORT="$(free_port)"
}

# hostile ARGS...: tools/hostile.py against the newest socksifyd, logging in
# as mallory when a kind needs a valid login (at most 60 s).
hostile() {
	timeout 60 "$PYTHON" "$TOOLS/hostile.py" --proxy "127.0.0.1:$SOCKSIFYD_PORT" \
		--user mallory --pass stolen-pw --closed-port "$CLOSED_PORT" "$@"
}

# good_client SECS: tools/steady_get.py from 127.0.0.100 for SECS seconds.
good_client() {
	timeout $(($1 + 30)) "$PYTHON" "$TOOLS/steady_get.py" --proxy "127.0.0.1:$SOCKSIFYD_PORT" \
		--src 127.0.0.100 --user good --pass good-pw \
		--target "localhost:$HTTP_PORT" --expect "$HTTP_BODY" \
		--rate "$GOOD_RATE" --duration "$1"
}

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# settle BASE: wait until socksifyd holds at most BASE descriptors, or its
# count has not fallen for 2 s; at most 20 s.
settle() {
	local i n last=-1 same=0
	for ((i = 0; i < 40; i++)); do
		n="$(fd_count "$SOCKSIFYD_PID")"
		((n <= $1)) && return 0
		if ((last >= 0 && n >= last)); then
			((++same >= 4)) && return 0
		else
			same=0
		fi
		last=$n
		sleep 0.5
	done
}

# sample_usage SECS FILE: every second for SECS seconds, "FDS RSS_KB" of
# socksifyd to FILE (the peaks go in the failure messages).
sample_usage() {
	local i
	for ((i = 0; i < $1; i++)); do
		pid_alive "$SOCKSIFYD_PID" || break
		echo "$(fd_count "$SOCKSIFYD_PID") $(rss_kb "$SOCKSIFYD_PID")" >>"$2"
		sleep 1
	done
}

# field NAME TEXT: the value of NAME=... in TEXT.
field() {
	[[ "$2" =~ (^|[[:space:]])$1=([^[:space:]]+) ]] || return 1
	echo "${BASH_REMATCH[2]}"
}

at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

# asan_build: socksifyd was built with AddressSanitizer.
asan_build() {
	grep -qa __asan_init "$SOCKSIFYD"
}

# warm_log: enough short sessions (2500 lines or more) that socksifyd's log
# queue, a 256 KiB ring that gets its pages as it first wraps, has them all
# before the baseline is taken.  They end at once and hold nothing.
warm_log() {
	run hostile --conns 600 --rate 2500 --duration 2 --kinds garbage,closed
	assert_success
	wait_until 10 session_count_is -ge 2500 || fail "only $(session_count) sessions logged"
}

# The memory bound.  socksifyd hands freed heap back once a flood is over,
# but not the pages still partly in use (by sessions that stay, by what was
# allocated during the flood): measured 80 to 250 KiB over a 2.3-2.6 MB
# baseline, where keeping the peak costs 800 KiB to 1 MiB.  So: 5% of the
# baseline plus 256 KiB.  Under ASan the allocator keeps freed
# memory in its quarantine (up to 256 MiB) by design, so RSS says nothing
# there: the ASan run is checked by LeakSanitizer at exit (e2e_teardown).
rss_bound() {
	echo $(($1 + $1 / 20 + 256))
}

@test "soak: 1,000 hostile connections at once for 60 s: a well-behaved client keeps getting its page 10 times a second, and fds and memory come back" {
	start_soak_server
	local report="$E2E_TMP/soak.report" usage="$E2E_TMP/usage" hostile_log
	# Warm-up: every code path once (the resolver's threads, the UDP relay,
	# the ban), on a small scale, so the baseline is a running server's.
	run hostile --conns 100 --duration 2 --udp-assocs 1
	assert_success
	run good_client 1
	assert_success
	warm_log
	settle 0
	local base_fds base_rss
	base_fds="$(fd_count "$SOCKSIFYD_PID")"
	base_rss="$(rss_kb "$SOCKSIFYD_PID")"

	# 1400 slots: the ones whose connections the server closes at once
	# (garbage, guesses, closed ports) spend most of their time between
	# connections, so about 1000 are open at any moment.
	start_bg hostile timeout $((SOAK_SECS + 30)) "$PYTHON" "$TOOLS/hostile.py" \
		--proxy "127.0.0.1:$SOCKSIFYD_PORT" --user mallory --pass stolen-pw \
		--closed-port "$CLOSED_PORT" --conns 1400 --duration "$SOAK_SECS"
	local hostile_pid="$BG_PID"
	hostile_log="$BG_LOG"
	start_bg sampler sample_usage $((SOAK_SECS + 5)) "$usage"
	run good_client "$SOAK_SECS"
	local good="$output" good_rc="$status"
	wait_until 30 eval '! pid_alive '"$hostile_pid" || fail "hostile.py did not end"
	pid_alive "$SOCKSIFYD_PID" || fail "socksifyd died under load: $(tail -n 20 "$SOCKSIFYD_LOG")"
	settle "$base_fds"
	local fds rss peak_fds peak_rss
	fds="$(fd_count "$SOCKSIFYD_PID")"
	rss="$(rss_kb "$SOCKSIFYD_PID")"
	peak_fds="$(awk 'BEGIN { m = 0 } $1 > m { m = $1 } END { print m }' "$usage")"
	peak_rss="$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$usage")"
	{
		echo "good client: $good"
		echo "hostile clients:"
		cat "$hostile_log"
		echo "socksifyd fds: before $base_fds, peak $peak_fds, after $fds"
		echo "socksifyd VmRSS kB: before $base_rss, peak $peak_rss, after $rss" \
			"(bound $(rss_bound "$base_rss"))"
		echo "sessions logged: $(session_count)"
	} >"$report"
	sed 's/^/# /' "$report" >&3

	# The good client: no failure, the pace it asked for or near it.
	[[ "$good_rc" -eq 0 ]] || fail "good client failed to run: $(cat "$report")"
	[[ "$(field fail "$good")" == 0 ]] || fail "good requests failed: $(cat "$report")"
	at_least "$(field avg "$good")" "$GOOD_AVG" ||
		fail "good client below $GOOD_AVG pages/s on average: $(cat "$report")"
	at_least "$(field min5 "$good")" "$GOOD_MIN" ||
		fail "good client below $GOOD_MIN pages/s in a 5 s window: $(cat "$report")"
	# The attack was there: every kind ran, about 1000 connections were
	# open at once (991 to 1012 measured; 850 leaves room for a slow start), and the server closed every one it had to within 25 s.
	local kind
	for kind in slowloris garbage oversized halfopen guess closed bind udp; do
		(($(field opened "$(grep "^kind=$kind " "$hostile_log")") > 0)) ||
			fail "no $kind client ran: $(cat "$report")"
	done
	(($(field peak_open "$(grep '^total ' "$hostile_log")") >= 850)) ||
		fail "fewer than 850 hostile connections at once: $(cat "$report")"
	[[ "$(field overdue "$(grep '^total ' "$hostile_log")")" == 0 ]] ||
		fail "socksifyd left hostile connections open past 25 s: $(cat "$report")"
	[[ "$(grep '^udp ' "$hostile_log")" =~ datagrams=[1-9] ]] ||
		fail "no UDP datagram was sent: $(cat "$report")"
	# It never ran out of descriptors.
	if grep -q 'pausing' "$SOCKSIFYD_LOG"; then
		fail "socksifyd ran out of descriptors: $(grep -m3 pausing "$SOCKSIFYD_LOG")"
	fi
	# Descriptors back within 5% of the baseline, or 3.
	local allow=$((base_fds / 20 > 3 ? base_fds / 20 : 3))
	((fds <= base_fds + allow)) || {
		ls -l "/proc/$SOCKSIFYD_PID/fd"
		fail "fds did not come back ($fds, baseline $base_fds): $(cat "$report")"
	}
	if asan_build; then
		echo "# ASan build: RSS not bounded (quarantine), leaks checked at exit" >&3
	else
		((rss <= $(rss_bound "$base_rss"))) ||
			fail "memory did not come back: $(cat "$report")"
	fi
}

@test "soak: memory 800 half-open clients took comes back while later sessions stay" {
	asan_build && skip "ASan keeps freed memory in its quarantine: RSS says nothing"
	start_soak_server
	run hostile --conns 50 --duration 2 --kinds halfopen,closed --udp-assocs 2
	assert_success
	warm_log
	settle 0
	local base_rss base_fds rss
	base_rss="$(rss_kb "$SOCKSIFYD_PID")"
	base_fds="$(fd_count "$SOCKSIFYD_PID")"
	# 800 sessions for 6 s; 20 UDP associations made after them outlive
	# them.  The heap the 800 freed lies below the 20 that stay, where
	# malloc never gives it back by itself.
	start_bg burst timeout 60 "$PYTHON" "$TOOLS/hostile.py" --proxy "127.0.0.1:$SOCKSIFYD_PORT" \
		--user mallory --pass stolen-pw --closed-port "$CLOSED_PORT" \
		--conns 800 --rate 1000 --duration 6 --kinds halfopen
	local burst_pid="$BG_PID" burst_log="$BG_LOG"
	wait_until 10 eval '(($(fd_count "$SOCKSIFYD_PID") >= base_fds + 750))' ||
		fail "the burst did not come: $(fd_count "$SOCKSIFYD_PID") fds"
	start_bg stay timeout 60 "$PYTHON" "$TOOLS/hostile.py" --proxy "127.0.0.1:$SOCKSIFYD_PORT" \
		--user mallory --pass stolen-pw --closed-port "$CLOSED_PORT" \
		--conns 0 --kinds udp --udp-assocs 20 --udp-rate 20 --duration 15
	local stay_pid="$BG_PID"
	wait_until 10 eval '! pid_alive '"$burst_pid" || fail "the burst did not end"
	settle $((base_fds + 3 * 20))
	pid_alive "$stay_pid" || fail "the UDP associations ended too soon"
	rss="$(rss_kb "$SOCKSIFYD_PID")"
	echo "# VmRSS kB: before $base_rss, after $rss with 20 sessions left" \
		"(bound $(rss_bound "$base_rss"))" >&3
	run cat "$burst_log"
	assert_line --regexp '^total opened=[0-9]+ overdue=0 .*peak_open=(7[5-9][0-9]|800) '
	((rss <= $(rss_bound "$base_rss"))) ||
		fail "VmRSS $rss kB after 800 sessions ended, $base_rss kB before"
}
