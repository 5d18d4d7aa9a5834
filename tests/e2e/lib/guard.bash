# guard.bash: the leak detector for the suites whose proxies and targets
# live on loopback.
#
# Usage, after lib/common and lib/client (and lib/dns, when used):
#
#     load lib/guard
#     setup()    { client_setup; guard_setup; }   # or dns_setup; guard_setup
#     teardown() { guard_teardown; }
#
# These suites start their proxies and targets on 127.0.0.1 / ::1, where a
# program that went around the chain would reach the target just as well.
# So the socksified program does not run there.  guard_setup makes a
# network namespace G for the test, where:
#
#   - loopback owns every address (a `local` default route for IPv4 and
#     IPv6): whatever the program sends to any address, the target's
#     127.0.0.1:PORT included, stays inside G and reaches nothing;
#   - tcpdump on G's loopback prints every TCP connection attempt (SYN)
#     and every UDP datagram: that is the trap;
#   - /etc/resolv.conf (through /etc/netns/G) names only a counting name
#     server (tools/dns_counter.py) inside G, so a local lookup is counted
#     twice over;
#   - each proxy the test started (start_socksifyd, start_danted,
#     start_microsocks, start_httpconnect, start_badproxy, or guard_proxy
#     by hand) is reachable at its own address and port through
#     tools/netns_bridge.c, which carries each connection to the real
#     proxy outside.  Connections to a bridged proxy are the only traffic
#     in G that is not a leak.
#
# The program runs in G: $LAUNCHER becomes a per-test wrapper
# (lib/guard_launcher) that notes the hops the command line and the
# environment name, then runs the real launcher in G, so every sfy, dsfy
# and "$LAUNCHER" call of a suite is guarded as it is written.  Anything
# else runs in G through in_guard CMD, or "${GUARD_EXEC[@]}" in front of a
# command.  guard_teardown fails the test, with what the trap saw, when
# anything other than a bridged proxy or a configured hop (a dead hop is
# refused there, which is no leak) was contacted; then it stops every
# process by PID and removes G.  A test that means the program to reach
# something in G (a local name server with dns = local, a server of its
# own) says so with guard_allow ADDR PORT, visibly, in the test.
#
# Variables:
#   GUARD_NS       G's name (sfy-g-PID-TEST)
#   GUARD_EXEC     the command prefix that runs a program in G
#   GUARD_DNS      the counting name server's address in G (port 53)
#   GUARD_CAPTURE  the trap's capture (tcpdump text)
#   GUARD_DNS_LOG  the counting name server's log

bats_require_minimum_version 1.5.0

GUARD_DNS=127.0.0.53
# leak_flush-style marks: a datagram to this address, port 9, from G.
GUARD_MARK=127.0.0.99
GUARD_BRIDGE="${BATS_FILE_TMPDIR:-$E2E_TMP}/netns_bridge"

# guard_setup: the namespace, the trap, the counting name server.  Call
# after client_setup (or dns_setup).
guard_setup() {
	local dns_ready="$E2E_TMP/guard_dns.ready" cap_err="$E2E_TMP/guard_capture.err"
	if [[ ! -x "$GUARD_BRIDGE" ]]; then
		cc -O2 -Wall -Wextra -Werror -pthread -o "$GUARD_BRIDGE" \
			"$TOOLS/netns_bridge.c" || fail "could not build netns_bridge"
	fi
	GUARD_READY=0
	GUARD_NS="sfy-g-$$-${BATS_TEST_NUMBER:-0}"
	GUARD_CAPTURE="$E2E_TMP/guard_capture.txt"
	GUARD_DNS_LOG="$E2E_TMP/guard_dns.log"
	GUARD_BRIDGED="$E2E_TMP/.guard_bridged"
	GUARD_ALLOWED="$E2E_TMP/.guard_allowed"
	: >"$GUARD_CAPTURE"
	: >"$GUARD_DNS_LOG"
	: >"$GUARD_BRIDGED"
	: >"$GUARD_ALLOWED"
	# Written first, so that teardown removes it even if setup stops here.
	echo "$GUARD_NS" >"$E2E_TMP/.guard_ns"
	ip netns add "$GUARD_NS" || fail "could not make namespace $GUARD_NS"
	ip -n "$GUARD_NS" -batch - <<-EOF || fail "could not set up $GUARD_NS"
		link set lo up
		route add local default dev lo table local
		route add local ::/0 dev lo table local
	EOF
	mkdir -p "/etc/netns/$GUARD_NS"
	printf '%s\n' "nameserver $GUARD_DNS" "options timeout:1 attempts:1" \
		>"/etc/netns/$GUARD_NS/resolv.conf"
	chmod 644 "/etc/netns/$GUARD_NS/resolv.conf"
	GUARD_EXEC=(ip netns exec "$GUARD_NS")
	# The launcher every helper and test calls by path, run in G.
	GUARD_REAL_LAUNCHER="$LAUNCHER"
	LAUNCHER="$E2E_TMP/.guard_socksify"
	printf '#!/bin/sh\nGUARD_NS=%q GUARD_ALLOWED=%q GUARD_REAL_LAUNCHER=%q exec /bin/bash %q "$@"\n' \
		"$GUARD_NS" "$GUARD_ALLOWED" "$GUARD_REAL_LAUNCHER" "$REPO/tests/e2e/lib/guard_launcher" \
		>"$LAUNCHER"
	chmod 755 "$LAUNCHER"
	start_bg guard_dns "${GUARD_EXEC[@]}" "$PYTHON" "$TOOLS/dns_counter.py" \
		--host "$GUARD_DNS" --port 53 --log "$GUARD_DNS_LOG" --ready-file "$dns_ready"
	GUARD_DNS_PID=$BG_PID
	# Headers only (short snap length, large buffer): a tcpdump slow to be
	# scheduled must not drop what it is there to count.  A SYN without
	# ACK is a connection attempt; for IPv6 the flags byte is at 40+13 (no
	# extension headers on loopback).
	"${GUARD_EXEC[@]}" tcpdump -i lo -n -l --immediate-mode -s 128 -B 8192 \
		'(ip and tcp and (tcp[tcpflags] & (tcp-syn|tcp-ack)) == tcp-syn) or (ip6 and tcp and (ip6[53] & 0x12) == 0x02) or udp' \
		>"$GUARD_CAPTURE" 2>"$cap_err" 3>&- </dev/null &
	e2e_register "$!" tcpdump "$cap_err"
	if ! wait_until 10 guard_ready_file "$dns_ready" "$GUARD_DNS_PID" || [[ ! -f "$dns_ready" ]]; then
		fail "dns_counter did not start in $GUARD_NS: $(cat "$E2E_TMP/guard_dns.log")"
	fi
	wait_for_log "$cap_err" '^listening on lo' 10 || fail "tcpdump did not start: $(cat "$cap_err")"
	GUARD_READY=1
}

# guard_ready_file FILE PID: true once FILE exists or PID is gone.
guard_ready_file() {
	[[ -f "$1" ]] || ! pid_alive "$2"
}

# guard_allow ADDR PORT: traffic to or from ADDR:PORT in G is meant (the
# test runs something there on purpose) and is not counted.
guard_allow() {
	echo "$1 $2" >>"$GUARD_ALLOWED"
}

# guard_proxy ADDR PORT: make the proxy on ADDR:PORT here reachable at
# the same address from G: a netns_bridge of its own, registered for
# teardown, waited for (10 s).  The start_* helpers of common.bash and
# client.bash call it; it does nothing without a guard.
guard_proxy() {
	local ready pid
	[[ -n "${GUARD_NS:-}" ]] || return 0
	grep -qxF "$1 $2" "$GUARD_BRIDGED" && return 0
	echo "$1 $2" >>"$GUARD_BRIDGED"
	ready="$E2E_TMP/.guard_bridge.${1//[^0-9a-f]/_}.$2.ready"
	"$GUARD_BRIDGE" "/run/netns/$GUARD_NS" "$ready" "$1" "$2" \
		>>"$E2E_TMP/guard_bridge.log" 2>&1 3>&- </dev/null &
	pid=$!
	e2e_register "$pid" netns_bridge "$E2E_TMP/guard_bridge.log"
	if ! wait_until 10 guard_ready_file "$ready" "$pid" || [[ ! -f "$ready" ]]; then
		echo "netns_bridge did not start: $(cat "$E2E_TMP/guard_bridge.log")" | fail
	fi
}

# guard_local_http_server: start_http_server's web server on 127.0.0.1,
# but inside G, for a test whose point is a connection that stays direct
# (loopback left direct by default, a `direct` rule).  Connections to it
# are allowed: the test says so by calling this.  Sets what
# start_http_server sets.
guard_local_http_server() {
	local hosts="$E2E_TMP/hosts.httpd"
	HTTP_ROOT="$(mktemp -d "$E2E_TMP/www.XXXXXX")"
	HTTP_BODY="socksify-e2e-body-$RANDOM$RANDOM"
	echo "$HTTP_BODY" >"$HTTP_ROOT/index.html"
	HTTP_HOST=127.0.0.1
	printf '%s\n' "127.0.0.1 localhost" "::1 localhost ip6-localhost" >"$hosts"
	start_port_tool http "${GUARD_EXEC[@]}" unshare -m sh -c \
		'mount --bind "$0" /etc/hosts && exec "$@"' "$hosts" \
		"$PYTHON" "$TOOLS/httpd.py" --host "$HTTP_HOST" --root "$HTTP_ROOT"
	HTTP_PID=$TOOL_PID HTTP_PORT=$TOOL_PORT HTTP_LOG=$TOOL_LOG
	guard_allow "$HTTP_HOST" "$HTTP_PORT"
}

# in_guard CMD [ARGS...]: CMD in G (as it is, outside G when no guard).
in_guard() {
	"${GUARD_EXEC[@]}" "$@"
}

# guard_flush: make sure the capture printed everything sent until now:
# send a mark from G and wait (5 s) until it shows.
guard_marks() {
	grep -cF "> $GUARD_MARK.9: " "$GUARD_CAPTURE" || true
}

guard_marks_above() {
	(($(guard_marks) > $1))
}

guard_flush() {
	local n
	sleep 0.2
	n="$(guard_marks)"
	"${GUARD_EXEC[@]}" bash -c 'echo mark >"/dev/udp/$0/9"' "$GUARD_MARK" 2>/dev/null || true
	wait_until 5 guard_marks_above "$n"
}

# guard_leaks: print the captured attempts that are neither to nor from a
# bridged proxy or an allowed endpoint, nor a mark.
guard_leaks() {
	awk -v cap="$GUARD_CAPTURE" -v mark="$GUARD_MARK.9:" '
		FILENAME != cap {
			# "ADDR PORT" lines: the endpoints that are not leaks, in
			# the ADDR.PORT form tcpdump prints.
			ok[$1 "." $2] = 1
			next
		}
		/^[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\./ {
			if ($5 == mark)
				next
			src = $3
			dst = $5
			sub(/:$/, "", dst)
			if ((src in ok) || (dst in ok))
				next
			# DNS answers made by the library (dns = remote, a query
			# to a direct name server answered in the process) come
			# from 127.255.255.254 to the socket of the program: a
			# datagram from the process to itself, no resolver sees it.
			if (src ~ /^127\.255\.255\.254\.[0-9]+$/ && $6 == "UDP,")
				next
			print
		}' "$GUARD_BRIDGED" "$GUARD_ALLOWED" "$GUARD_CAPTURE"
}

# guard_check: fail, with what the trap caught, when anything went around
# the bridged proxies; also when the capture cannot be trusted.
guard_check() {
	local leaks n q
	guard_flush || {
		echo "LEAK CHECK: the capture in $GUARD_NS did not catch up: cannot tell"
		return 1
	}
	leaks="$(guard_leaks)"
	q="$(grep -v '^$' "$GUARD_DNS_LOG" | wc -l)"
	if [[ -n "$leaks" ]] || ((q > 0 && $(grep -c "^$GUARD_DNS 53\$" "$GUARD_ALLOWED") == 0)); then
		n="$(grep -c . <<<"$leaks" || true)"
		echo "LEAK: $n connection attempts or datagrams in $GUARD_NS went around the proxy:"
		head -n 40 <<<"$leaks" | sed 's/^/    /'
		echo "counting name server in $GUARD_NS: $q queries"
		head -n 20 "$GUARD_DNS_LOG" | sed 's/^/    /'
		return 1
	fi
}

# guard_teardown: the check, then e2e_teardown, then G and its /etc/netns
# files go.  Fails the test when anything leaked.
guard_teardown() {
	local rc=0 ns
	if [[ "${GUARD_READY:-0}" == 1 ]]; then
		guard_check || rc=1
	fi
	e2e_teardown || rc=1
	if [[ -f "$E2E_TMP/.guard_ns" ]]; then
		ns="$(cat "$E2E_TMP/.guard_ns")"
		if [[ -n "$ns" && -e "/run/netns/$ns" ]]; then
			ip netns del "$ns" || rc=1
		fi
		[[ -z "$ns" ]] || rm -rf "/etc/netns/${ns:?}"
		rm -f "$E2E_TMP/.guard_ns"
	fi
	rmdir /etc/netns 2>/dev/null || true
	GUARD_NS=""
	GUARD_READY=0
	GUARD_EXEC=()
	LAUNCHER="${GUARD_REAL_LAUNCHER:-$LAUNCHER}"
	return "$rc"
}
