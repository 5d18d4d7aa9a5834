#!/usr/bin/env bats
# server_names.bats: how socksifyd reaches a destination given as a name:
# the cache of lookups, one lookup for many askers of a name, each client's
# share of the resolver, and the addresses of a name raced IPv6 against
# IPv4 (RFC 8305).  socksifyd runs in a mount namespace whose resolv.conf
# names tools/dns_names.py, a name server that answers from a table and
# logs every query; the race runs in a network namespace this test makes,
# where SYNs to one IPv6 address vanish.

load lib/common

NS=""

setup() {
	e2e_setup
}

teardown() {
	local rc=0
	e2e_teardown || rc=$?
	[[ -z "$NS" ]] || ip netns del "$NS" 2>/dev/null || true
	return "$rc"
}

sc() {
	timeout 30 "${IN_NS[@]}" "$PYTHON" "$TOOLS/socks_client.py" "$@"
}

IN_NS=()

# start_names_dns ARGS...: tools/dns_names.py (ARGS: --record, --slow-suffix,
# --delay) on port 53 of an address of 127.54.0.0/16 nothing else uses (in
# $NS when set), and a resolv.conf and hosts file that send every name to
# it.  Sets DNS_ADDR, DNS_LOG, NAMES_RESOLV, NAMES_HOSTS.
start_names_dns() {
	local try ready
	DNS_LOG="$E2E_TMP/dns_names.log"
	: >"$DNS_LOG"
	for ((try = 0; try < 5; try++)); do
		DNS_ADDR="127.54.$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))"
		ready="$E2E_TMP/dns_names.$try.ready"
		start_bg "dns_names.$try" "${IN_NS[@]}" "$PYTHON" "$TOOLS/dns_names.py" \
			--host "$DNS_ADDR" --log "$DNS_LOG" --ready-file "$ready" "$@"
		wait_until 5 ready_or_dead "$ready" "$BG_PID" || true
		[[ -f "$ready" ]] && break
	done
	[[ -f "$ready" ]] || fail "dns_names did not start: $(cat "$BG_LOG")"
	NAMES_RESOLV="$E2E_TMP/names.resolv.conf"
	NAMES_HOSTS="$E2E_TMP/names.hosts"
	printf '%s\n' "nameserver $DNS_ADDR" "options timeout:5 attempts:1" >"$NAMES_RESOLV"
	printf '%s\n' "127.0.0.1 localhost" >"$NAMES_HOSTS"
}

ready_or_dead() {
	[[ -f "$1" ]] || ! pid_alive "$2"
}

# with_names_resolver CMD...: run CMD (exec, same PID; in $NS when set)
# with $NAMES_RESOLV and $NAMES_HOSTS bind-mounted over /etc's, in a mount
# namespace of its own.
with_names_resolver() {
	exec "${IN_NS[@]}" unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf &&
		mount --bind "$2" /etc/hosts && shift 2 && exec "$@"' \
		sh "$NAMES_RESOLV" "$NAMES_HOSTS" "$@"
}

# start_names_socksifyd ARGS...: socksifyd that asks the name server of
# start_names_dns.
start_names_socksifyd() {
	SOCKSIFYD_WRAP=(with_names_resolver)
	start_socksifyd "$@"
	SOCKSIFYD_WRAP=()
}

# name_queries NAME: how many queries the name server got for NAME.
name_queries() {
	awk -v n="$1" '$1 == n' "$DNS_LOG" | wc -l
}

@test "names: a name answered once is served from the cache, and so is a name that does not exist" {
	start_names_dns --record cached.e2e.test=127.0.0.1
	start_names_socksifyd
	start_tcp_echo
	local p="127.0.0.1:$SOCKSIFYD_PORT" n m
	run sc connect --proxy "$p" --target "cached.e2e.test:$ECHO_PORT" --echo 100
	assert_success
	n="$(name_queries cached.e2e.test)"
	((n >= 1))
	run sc connect --proxy "$p" --target "cached.e2e.test:$ECHO_PORT" --echo 100
	assert_success
	run sc connect --proto socks4a --proxy "$p" --target "CACHED.e2e.test:$ECHO_PORT" --echo 100
	assert_success
	# Neither the second CONNECT nor the same name in capitals asked again.
	[ "$(name_queries cached.e2e.test)" -eq "$n" ]
	run sc connect --proxy "$p" --target "missing.e2e.test:$ECHO_PORT" --echo 10
	assert_failure 3
	assert_line --regexp '^reply=4( |$)'
	m="$(name_queries missing.e2e.test)"
	((m >= 1))
	run sc connect --proxy "$p" --target "missing.e2e.test:$ECHO_PORT" --echo 10
	assert_failure 3
	assert_line --regexp '^reply=4( |$)'
	[ "$(name_queries missing.e2e.test)" -eq "$m" ]
	assert_session "target=missing.e2e.test:$ECHO_PORT" result=unreachable
}

@test "names: --dns-ttl and --dns-negative-ttl bound how long answers are kept, --dns-cache 0 keeps none" {
	start_names_dns --record short.e2e.test=127.0.0.1 --record nocache.e2e.test=127.0.0.1
	start_names_socksifyd --dns-ttl 1 --dns-negative-ttl 1
	start_tcp_echo
	local p="127.0.0.1:$SOCKSIFYD_PORT" n m
	run sc connect --proxy "$p" --target "short.e2e.test:$ECHO_PORT" --echo 10
	assert_success
	run sc connect --proxy "$p" --target "gone.e2e.test:$ECHO_PORT" --echo 10
	assert_failure 3
	n="$(name_queries short.e2e.test)"
	m="$(name_queries gone.e2e.test)"
	# Longer than both TTLs: both are asked again.
	sleep 1.5
	run sc connect --proxy "$p" --target "short.e2e.test:$ECHO_PORT" --echo 10
	assert_success
	run sc connect --proxy "$p" --target "gone.e2e.test:$ECHO_PORT" --echo 10
	assert_failure 3
	(($(name_queries short.e2e.test) > n))
	(($(name_queries gone.e2e.test) > m))
	stop_pid "$SOCKSIFYD_PID"
	start_names_socksifyd --dns-cache 0
	p="127.0.0.1:$SOCKSIFYD_PORT"
	run sc connect --proxy "$p" --target "nocache.e2e.test:$ECHO_PORT" --echo 10
	assert_success
	n="$(name_queries nocache.e2e.test)"
	run sc connect --proxy "$p" --target "nocache.e2e.test:$ECHO_PORT" --echo 10
	assert_success
	(($(name_queries nocache.e2e.test) > n))
}

@test "names: clients asking for the same name at once share one lookup" {
	start_names_dns --record join.slow.e2e.test=127.0.0.1 --slow-suffix .slow.e2e.test --delay 2
	start_names_socksifyd
	start_tcp_echo
	local p="127.0.0.1:$SOCKSIFYD_PORT" i pids=() n
	for ((i = 0; i < 6; i++)); do
		sc connect --proxy "$p" --target "join.slow.e2e.test:$ECHO_PORT" --echo 10 \
			>"$E2E_TMP/join.$i.out" 2>&1 3>&- &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || fail "client $i: $(cat "$E2E_TMP/join.$i.out")"
	done
	# One lookup asks at most one question per address family.
	n="$(name_queries join.slow.e2e.test)"
	((n >= 1 && n <= 2)) || fail "$n queries for one name asked by 6 clients at once"
	sessions_settle
	[ "$(session_count "target=join.slow.e2e.test:$ECHO_PORT" result=ok)" -eq 6 ]
}

@test "names: a pipelined greeting and CONNECT to a slow name get the method choice and the reply in one write" {
	# The choice is held for the reply even while the name is looked up,
	# when the client's socket turning writable would otherwise send it.
	start_names_dns --record pipe.slow.e2e.test=127.0.0.1 --slow-suffix .slow.e2e.test --delay 1
	start_names_socksifyd
	start_tcp_echo
	local name=pipe.slow.e2e.test hex
	# greeting (no auth), then CONNECT to the name: ATYP 3, length, name, port
	hex="0501000501000$(printf '3%02x' "${#name}")$(printf '%s' "$name" | od -An -tx1 | tr -d ' \n')"
	hex+="$(printf '%04x' "$ECHO_PORT")"
	run timeout 30 "$PYTHON" "$TOOLS/badclient.py" raw --proxy "127.0.0.1:$SOCKSIFYD_PORT" \
		--hex "$hex" --wait 3
	assert_success
	assert_line --regexp '^first=05000500000(1[0-9a-f]{12}|4[0-9a-f]{36})$'
}

@test "names: a slow client filling the lookup queue does not stop another client's names" {
	start_names_dns --record fast.e2e.test=127.0.0.1 --slow-suffix .slow.e2e.test --delay 3
	start_names_socksifyd --timeout 5
	start_tcp_echo
	local p="127.0.0.1:$SOCKSIFYD_PORT"
	# 127.0.0.2 asks for 150 names whose answers take 3 s each.
	start_bg flood timeout 30 "$PYTHON" "$TOOLS/names_flood.py" --proxy "$p" --src 127.0.0.2 \
		--count 150 --name 'n%d.slow.e2e.test' --port "$ECHO_PORT" --hold 8
	local flood=$BG_PID flood_log=$BG_LOG
	wait_for_log "$flood_log" '^ready' 20 || fail "the flood did not start"
	run sc connect --src 127.0.0.3 --proxy "$p" --target "fast.e2e.test:$ECHO_PORT" --echo 100
	assert_success
	assert_session "client=~127\\.0\\.0\\.3:[0-9]+" "target=fast.e2e.test:$ECHO_PORT" result=ok
	# The slow client's requests beyond its share fail at once, its own
	# only: general failure, logged apart from every other failure.
	wait_until 10 session_count_is -ge 1 "client=~127\\.0\\.0\\.2:[0-9]+" result=resolver-busy ||
		fail "no resolver-busy session for 127.0.0.2"
	# Its queued names end at the --timeout; then it reports what it got.
	wait_until 20 flood_done "$flood_log" || fail "the flood did not end"
	grep -qE '^reply=1 [0-9]+' "$flood_log" || {
		cat "$flood_log"
		fail "the slow client got no general failure"
	}
	[ "$(session_count "client=~127\\.0\\.0\\.3:[0-9]+" result=resolver-busy)" -eq 0 ]
}

flood_done() {
	grep -q '^pending ' "$1"
}

# make_blackhole_ns: a network namespace $NS with loopback up and a veth
# pair: v0 holds 2001:db8::1/64 and a neighbour entry for 2001:db8::2 whose
# link-layer address no interface has, so SYNs to 2001:db8::2 leave and
# never get an answer (no RST, no ICMP, no failed neighbour discovery).
make_blackhole_ns() {
	NS="sfy-names-$$-${BATS_TEST_NUMBER}"
	ip netns add "$NS" || fail "cannot make a network namespace"
	ip -n "$NS" link set lo up
	ip -n "$NS" link add v0 type veth peer name v1
	ip -n "$NS" link set v0 up
	ip -n "$NS" link set v1 up
	ip -n "$NS" addr add 2001:db8::1/64 dev v0 nodad
	ip -n "$NS" -6 neigh add 2001:db8::2 lladdr 02:00:00:00:00:02 dev v0 nud permanent
	IN_NS=(ip netns exec "$NS")
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

@test "names: a black-holed IPv6 address does not use up the deadline: the IPv4 one connects" {
	make_blackhole_ns
	start_names_dns --record he.e2e.test=2001:db8::2 --record he.e2e.test=127.0.0.1
	start_port_tool echo "${IN_NS[@]}" "$PYTHON" "$TOOLS/tcp_echo.py" --host 127.0.0.1
	local echo_port=$TOOL_PORT timeout=10 t0 t1
	start_names_socksifyd --timeout "$timeout" -v
	local p="127.0.0.1:$SOCKSIFYD_PORT"
	t0="$(now_ms)"
	run sc connect --proxy "$p" --target "he.e2e.test:$echo_port" --echo 100
	t1="$(now_ms)"
	assert_success
	assert_line "echo ok 100"
	# Far less than the connect deadline.
	((t1 - t0 < timeout * 1000 / 4)) || fail "took $((t1 - t0)) ms of a ${timeout} s deadline"
	# The resolver put IPv6 first; IPv4 came next.
	grep -qE 'attempt 1 of 2: \[2001:db8::2\]' "$SOCKSIFYD_LOG"
	grep -qE 'attempt 2 of 2: 127\.0\.0\.1:' "$SOCKSIFYD_LOG"
	# The attempt that lost is closed.
	wait_until 5 no_syn_sent || fail "an attempt is left: $("${IN_NS[@]}" ss -Htn state syn-sent)"

	# With each attempt allowed the whole deadline, only starting the next
	# one while the first is pending can connect this fast.
	stop_pid "$SOCKSIFYD_PID"
	start_names_socksifyd --timeout "$timeout" --connect-attempt-timeout "$timeout" -v
	p="127.0.0.1:$SOCKSIFYD_PORT"
	t0="$(now_ms)"
	run sc connect --proxy "$p" --target "he.e2e.test:$echo_port" --echo 100
	t1="$(now_ms)"
	assert_success
	((t1 - t0 < timeout * 1000 / 4)) || fail "took $((t1 - t0)) ms of a ${timeout} s deadline"
	grep -qE 'attempt 2 of 2: 127\.0\.0\.1:[0-9]+ \(1 pending\)' "$SOCKSIFYD_LOG"
}

no_syn_sent() {
	[[ -z "$("${IN_NS[@]}" ss -Htn state syn-sent)" ]]
}
