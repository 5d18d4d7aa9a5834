# leak.bash: a leak detector for the suites that route traffic.
#
# Usage, after lib/common and lib/client (not together with lib/dns, whose
# assert_no_leak means something narrower):
#
#     load lib/common
#     load lib/client
#     load lib/leak
#     setup_file() { leak_build_progs; }
#     setup()      { leak_setup; }
#     teardown()   { leak_teardown; }
#
# The topology: three network namespaces, made afresh for every test and
# removed in leak_teardown even when the test or the setup failed.
#
#   C (client) 198.51.100.1/30  ------  198.51.100.2/30  P (proxy)
#              2001:db8:100::1/64       2001:db8:100::2/64
#                                       192.0.2.1/30     ------  192.0.2.2/30  T (target)
#                                       2001:db8:2::1/64         2001:db8:2::2/64
#
#   T owns the target's addresses, 203.0.113.10 and 2001:db8:113::10, and
#     runs the targets: httpd.py on both, udp_echo.py on the IPv4 one.
#   P runs socksifyd on its side of the C link, with routes to T's
#     addresses and forwarding off: the proxy is the only way from C to T.
#     P's /etc/hosts knows target.leak.test (203.0.113.10) and
#     target6.leak.test (2001:db8:113::10); its resolv.conf names nothing
#     that answers, so it never asks the machine's own name server.
#   C runs the socksified program.  It has no route to T.  Instead it owns
#     T's addresses itself and runs the trap there: tools/leak_trap.py
#     listens on the targets' TCP and UDP ports and logs every connection
#     and datagram, and tcpdump on every interface of C logs every packet
#     to T's addresses (any port) or to port 53.  C's resolv.conf names only
#     tools/dns_counter.py, inside C, which logs every query; C's hosts file
#     knows only localhost.  So whatever goes around the proxy is counted
#     at once, instead of merely timing out.
#
# `ip netns exec` bind-mounts /etc/netns/NAME/{hosts,resolv.conf} over
# /etc's: those files are written for C and P and removed in teardown.
# Namespace names are unique per test file run and test:
# sfy-{c,p,t}-$$-$BATS_TEST_NUMBER.  Every process is started through the
# common.bash registry, so e2e_teardown stops each by its PID before the
# namespaces go.
#
# Helpers:
#   leak_setup           client_setup, the namespaces, the targets, the
#                        proxy, the trap, the capture and $LEAK_CONF; every
#                        wait bounded
#   leak_conf [LINE...]  rewrite $LEAK_CONF: the proxy line, then LINEs
#   leak_conf_via URL [LINE...]  the same with URL as the one proxy
#   leak_start_danted    Dante's server in P on LEAK_P4:LEAK_DANTED_PORT
#   leak_start_microsocks  microsocks in P on LEAK_P4:LEAK_MICROSOCKS_PORT
#   leak_run CMD...      CMD in C under the launcher with $LEAK_CONF,
#                        bounded by 30 s
#   leak_exec CMD...     CMD in C as it is (no launcher), bounded by 30 s
#   leak_count           print the trap's count: connections + datagrams
#                        + captured packets + DNS queries
#   leak_flush           wait $LEAK_FLUSH (0.3 s), then make sure the
#                        capture has printed everything sent until now
#   leak_report          print what the trap caught, for a failure message
#   assert_no_leak       leak_flush, then fail with leak_report unless
#                        leak_count is 0
#   assert_leak_caught   the opposite, for the self-checks
#   assert_via_proxy N [LOG]  the HTTP target's log ($HTTP_LOG by default)
#                        holds exactly N requests, every one from the
#                        proxy's address on the T link
#   leak_teardown        e2e_teardown, then the namespaces and /etc/netns
#   leak_restart         leak_teardown, then leak_setup: every count back
#                        at zero, for a test that first shows a leak
#                        without socksify
#   leak_build_progs     compile progs/leak_*.c into $LEAK_PROGS
#
# Variables:
#   LEAK_T4 LEAK_T6      the target's addresses
#   LEAK_NAME LEAK_NAME6 names only P can resolve (to LEAK_T4, LEAK_T6)
#   LEAK_P4 LEAK_P6      the proxy's addresses on the C link
#   LEAK_PT4             the proxy's address on the T link (what T sees)
#   LEAK_NS_C LEAK_NS_P LEAK_NS_T   the namespaces
#   LEAK_PROXY_PORT      socksifyd's port on LEAK_P4 (and LEAK_PROXY6_PORT
#                        on LEAK_P6); SOCKSIFYD_LOG is its log
#   LEAK_PROXY_URL       socks5://LEAK_P4:LEAK_PROXY_PORT
#   LEAK_DANTED_PORT LEAK_MICROSOCKS_PORT  the other proxies' ports in P
#                        (DANTED_PID, DANTED_LOG, MICROSOCKS_PID and
#                        MICROSOCKS_LOG as start_danted and
#                        start_microsocks set them)
#   LEAK_CONF            the config leak_run uses
#   HTTP_PORT HTTP_LOG HTTP_BODY      the IPv4 web server in T (as in
#                        common.bash, so assert_http_requests works)
#   HTTP6_PORT HTTP6_LOG the IPv6 one (same files)
#   UDP_PORT UDP_LOG     the UDP echo server on LEAK_T4
#   LEAK_TRAP_LOG LEAK_CAPTURE LEAK_DNS_LOG   what the trap counts
#   LEAK_FLUSH           seconds leak_flush waits first (env, default 0.3)
#   LEAK_PROGS           where leak_build_progs put the programs

bats_require_minimum_version 1.5.0

LEAK_T4=203.0.113.10
LEAK_T6=2001:db8:113::10
LEAK_NAME=target.leak.test
LEAK_NAME6=target6.leak.test
LEAK_C4=198.51.100.1
LEAK_P4=198.51.100.2
LEAK_C6=2001:db8:100::1
LEAK_P6=2001:db8:100::2
LEAK_PT4=192.0.2.1
LEAK_TP4=192.0.2.2
LEAK_PT6=2001:db8:2::1
LEAK_TP6=2001:db8:2::2
# C's name server: on C's own loopback, so no query ever leaves C.
LEAK_DNS=127.0.0.53
# Where leak_flush sends its marks (UDP port 9 on C's loopback): the
# capture's filter takes them in, and its counts leave them out.
LEAK_MARK=127.0.0.99
LEAK_PROGS="${BATS_FILE_TMPDIR:-$E2E_TMP}/leakprogs"
# Fixed ports for the proxies that cannot listen on port 0: P is made
# afresh for every test and holds nothing else but socksifyd, whose
# kernel-picked port is in the ephemeral range, above these.
LEAK_DANTED_PORT=1080
LEAK_MICROSOCKS_PORT=1081
# Seconds leak_flush waits before it sends its mark: long enough for a
# late retransmission, FIN or datagram of the program to be on the wire.
LEAK_FLUSH="${LEAK_FLUSH:-0.3}"

# leak_build_progs: compile tests/e2e/progs/leak_*.c into $LEAK_PROGS with
# the flags client_build_progs uses, warnings made errors (call from
# setup_file).
leak_build_progs() {
	local src
	mkdir -p "$LEAK_PROGS"
	for src in "$REPO"/tests/e2e/progs/leak_*.c; do
		cc -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -pthread \
			-o "$LEAK_PROGS/$(basename "$src" .c)" "$src" || return 1
	done
}

# leak_setup: see the top of this file.
leak_setup() {
	client_setup || return 1
	local id="$$-${BATS_TEST_NUMBER:-0}"
	LEAK_NS_C="sfy-c-$id"
	LEAK_NS_P="sfy-p-$id"
	LEAK_NS_T="sfy-t-$id"
	# Written before anything is made, so teardown finds every name even
	# when the setup stops half way.
	printf '%s\n' "$LEAK_NS_C" "$LEAK_NS_P" "$LEAK_NS_T" >"$E2E_TMP/.leak_ns"
	LEAK_TRAP_LOG="$E2E_TMP/leak_trap.log"
	LEAK_CAPTURE="$E2E_TMP/leak_capture.txt"
	LEAK_DNS_LOG="$E2E_TMP/leak_dns.log"
	: >"$LEAK_TRAP_LOG"
	: >"$LEAK_CAPTURE"
	: >"$LEAK_DNS_LOG"
	leak_net || fail "could not make the namespaces (ip netns, veth)"
	leak_etc
	leak_start
	leak_conf
}

# leak_net: the namespaces, links, addresses and routes.  One `ip -batch`
# per namespace keeps it to a handful of processes.
leak_net() {
	local ns
	for ns in "$LEAK_NS_C" "$LEAK_NS_P" "$LEAK_NS_T"; do
		ip netns add "$ns" || return 1
	done
	ip -n "$LEAK_NS_C" -batch - <<-EOF || return 1
		link set lo up
		link add c2p type veth peer name p2c netns $LEAK_NS_P
		addr add $LEAK_C4/30 dev c2p
		addr add $LEAK_C6/64 dev c2p nodad
		link set c2p up
		addr add $LEAK_T4/32 dev lo
		addr add $LEAK_T6/128 dev lo nodad
	EOF
	ip -n "$LEAK_NS_P" -batch - <<-EOF || return 1
		link set lo up
		link add p2t type veth peer name t2p netns $LEAK_NS_T
		addr add $LEAK_P4/30 dev p2c
		addr add $LEAK_P6/64 dev p2c nodad
		link set p2c up
		addr add $LEAK_PT4/30 dev p2t
		addr add $LEAK_PT6/64 dev p2t nodad
		link set p2t up
		route add $LEAK_T4/32 via $LEAK_TP4
		route add $LEAK_T6/128 via $LEAK_TP6
	EOF
	ip -n "$LEAK_NS_T" -batch - <<-EOF || return 1
		link set lo up
		addr add $LEAK_TP4/30 dev t2p
		addr add $LEAK_TP6/64 dev t2p nodad
		link set t2p up
		addr add $LEAK_T4/32 dev lo
		addr add $LEAK_T6/128 dev lo nodad
	EOF
	# A new namespace starts with forwarding off; said here so that no
	# host default can ever turn P into a router from C to T.
	ip netns exec "$LEAK_NS_P" sysctl -qw net.ipv4.ip_forward=0 \
		net.ipv6.conf.all.forwarding=0 || return 1
}

# leak_etc: /etc/netns/C and /etc/netns/P (hosts and resolv.conf).
leak_etc() {
	local c="/etc/netns/$LEAK_NS_C" p="/etc/netns/$LEAK_NS_P"
	mkdir -p "$c" "$p"
	printf '%s\n' "127.0.0.1 localhost" "::1 localhost ip6-localhost" >"$c/hosts"
	printf '%s\n' "nameserver $LEAK_DNS" "options timeout:1 attempts:1" >"$c/resolv.conf"
	printf '%s\n' "127.0.0.1 localhost" "::1 localhost ip6-localhost" \
		"$LEAK_T4 $LEAK_NAME" "$LEAK_T6 $LEAK_NAME6" >"$p/hosts"
	# Nothing listens there: a name not in P's hosts file fails at once
	# instead of going to whatever the machine's resolv.conf names.
	printf '%s\n' "nameserver 127.0.0.1" "options timeout:1 attempts:1" >"$p/resolv.conf"
	chmod 644 "$c/hosts" "$c/resolv.conf" "$p/hosts" "$p/resolv.conf"
}

# leak_start: every process of the topology.  Nothing is waited for until
# everything that can start is starting: on a busy 2-core machine each
# python3 takes a good part of a second to come up.
#   T: httpd.py on both target addresses, udp_echo.py on the IPv4 one
#   P: socksifyd on both of P's addresses on the C link
#   C: the trap's listeners (once the targets' ports are known), the
#      counting name server, and the capture
leak_start() {
	local trap_ready="$E2E_TMP/leak_trap.ready" dns_ready="$E2E_TMP/leak_dns.ready"
	local cap_err="$E2E_TMP/leak_capture.err" trap_pid dns_pid
	HTTP_ROOT="$(mktemp -d "$E2E_TMP/www.XXXXXX")"
	HTTP_BODY="socksify-leak-body-$RANDOM$RANDOM"
	echo "$HTTP_BODY" >"$HTTP_ROOT/index.html"
	HTTP_HOST=$LEAK_T4
	UDP_HOST=$LEAK_T4
	leak_bg_tool http "$PYTHON" "$TOOLS/httpd.py" --host "$LEAK_T4" --root "$HTTP_ROOT"
	leak_bg_tool http6 "$PYTHON" "$TOOLS/httpd.py" --host "$LEAK_T6" --root "$HTTP_ROOT"
	leak_bg_tool udp "$PYTHON" "$TOOLS/udp_echo.py" --host "$LEAK_T4"
	start_bg dns ip netns exec "$LEAK_NS_C" "$PYTHON" "$TOOLS/dns_counter.py" \
		--host "$LEAK_DNS" --port 53 --log "$LEAK_DNS_LOG" --ready-file "$dns_ready"
	dns_pid=$BG_PID
	# Every interface of C, line-buffered text: one line per packet to
	# the target's addresses on any port, or to or from any port 53, plus
	# leak_flush's marks.  Headers are all it prints, so a short snap
	# length: with the default one the ring holds only a few packets and a
	# tcpdump that is slow to be scheduled loses the rest.
	ip netns exec "$LEAK_NS_C" tcpdump -i any -n -l --immediate-mode -s 256 -B 4096 \
		"host $LEAK_T4 or host $LEAK_T6 or port 53 or (udp and dst host $LEAK_MARK and dst port 9)" \
		>"$LEAK_CAPTURE" 2>"$cap_err" 3>&- </dev/null &
	e2e_register "$!" tcpdump "$cap_err"
	SOCKSIFYD_WRAP=(ip netns exec "$LEAK_NS_P")
	# Beyond loopback socksifyd wants to be told who may use it: C.
	start_socksifyd -l "$LEAK_P4:0" -l "[$LEAK_P6]:0" \
		--allow "$LEAK_C4/32" --allow "$LEAK_C6/128"
	SOCKSIFYD_WRAP=()
	LEAK_PROXY_PORT=$SOCKSIFYD_PORT
	LEAK_PROXY6_PORT="$(socksifyd_listen_port "$LEAK_P6")"
	LEAK_PROXY_URL="socks5://$LEAK_P4:$LEAK_PROXY_PORT"
	leak_tool_wait http
	HTTP_PID=$TOOL_PID HTTP_PORT=$TOOL_PORT HTTP_LOG=$TOOL_LOG
	leak_tool_wait http6
	HTTP6_PORT=$TOOL_PORT HTTP6_LOG=$TOOL_LOG
	leak_tool_wait udp
	UDP_PID=$TOOL_PID UDP_PORT=$TOOL_PORT UDP_LOG=$TOOL_LOG
	start_bg trap ip netns exec "$LEAK_NS_C" "$PYTHON" "$TOOLS/leak_trap.py" \
		--addr "$LEAK_T4" --addr "$LEAK_T6" \
		--tcp "$HTTP_PORT" --tcp "$HTTP6_PORT" --udp "$UDP_PORT" \
		--log "$LEAK_TRAP_LOG" --ready-file "$trap_ready"
	trap_pid=$BG_PID
	if ! wait_until 10 leak_ready "$dns_ready" "$dns_pid" || [[ ! -f "$dns_ready" ]]; then
		fail "dns_counter did not start: $(cat "$E2E_TMP/dns.log")"
	fi
	wait_for_log "$cap_err" '^listening on any' 10 || fail "tcpdump did not start: $(cat "$cap_err")"
	if ! wait_until 10 leak_ready "$trap_ready" "$trap_pid" || [[ ! -f "$trap_ready" ]]; then
		fail "leak_trap did not start: $(cat "$E2E_TMP/trap.log")"
	fi
}

# leak_bg_tool KIND CMD...: start_port_tool's way of running a target in
# T (--port-file and --log added, stderr to $E2E_TMP/KIND.0.err), without
# its wait, so the targets start side by side.  leak_tool_wait KIND then
# waits (10 s) for the port and sets TOOL_PID, TOOL_PORT, TOOL_LOG.
leak_bg_tool() {
	local kind="$1" base="$E2E_TMP/$1.0"
	shift
	: >"$base.log"
	ip netns exec "$LEAK_NS_T" "$@" --port-file "$base.port" --log "$base.log" \
		>"$base.err" 2>&1 3>&- </dev/null &
	e2e_register "$!" "$kind" "$base.err"
	printf -v "LEAK_PID_$kind" '%s' "$!"
}

leak_tool_wait() {
	local kind="$1" base="$E2E_TMP/$1.0" pidvar="LEAK_PID_$1"
	if ! wait_until 10 leak_ready "$base.port" "${!pidvar}" || [[ ! -s "$base.port" ]]; then
		fail "$kind did not start: $(cat "$base.err")"
	fi
	TOOL_PID=${!pidvar}
	TOOL_PORT="$(tr -d '[:space:]' <"$base.port")"
	TOOL_LOG="$base.log"
}

# leak_ready FILE PID: true once FILE exists or PID is gone (for
# wait_until: a tool that failed to bind ends the wait at once).
leak_ready() {
	[[ -f "$1" ]] || ! pid_alive "$2"
}

# leak_conf [LINE...]: write $LEAK_CONF: the proxy in P, then LINEs.  With
# no LINEs it is the default config in everything but the proxy.
leak_conf() {
	LEAK_CONF="$E2E_TMP/leak.conf"
	{
		echo "# written by ${BATS_TEST_NAME:-e2e}"
		echo "proxy = $LEAK_PROXY_URL"
		printf '%s\n' "$@"
	} >"$LEAK_CONF"
	chmod 644 "$LEAK_CONF"
}

# leak_run CMD...: CMD in C under the launcher with $LEAK_CONF.
leak_run() {
	timeout 30 ip netns exec "$LEAK_NS_C" "$LAUNCHER" -f "$LEAK_CONF" -- "$@"
}

# leak_exec CMD...: CMD in C, no launcher.
leak_exec() {
	timeout 30 ip netns exec "$LEAK_NS_C" "$@"
}

# leak_trap_count, leak_capture_count, leak_dns_count: the three parts of
# leak_count.  The trap's indented lines (payload) are not counted; the
# capture's packet lines are the ones that start with a time stamp, less
# leak_flush's marks.
leak_trap_count() {
	grep -cE '^(tcp|udp) ' "$LEAK_TRAP_LOG" || true
}

leak_capture_lines() {
	grep -E '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.' "$LEAK_CAPTURE" | grep -vF "> $LEAK_MARK.9: " || true
}

leak_capture_count() {
	leak_capture_lines | wc -l
}

leak_dns_count() {
	wc -l <"$LEAK_DNS_LOG"
}

leak_marks() {
	grep -cF "> $LEAK_MARK.9: " "$LEAK_CAPTURE" || true
}

# leak_marks_above N: true once the capture printed more than N marks.
leak_marks_above() {
	(($(leak_marks) > $1))
}

# leak_flush: wait $LEAK_FLUSH, then send a mark from C and wait (5 s)
# until the capture printed it.  The capture reads one queue in order, so
# by then it has printed every packet sent before the mark: the counts are
# complete, not merely likely to be.  Counts no state of its own, so it
# works from a `run` subshell too.
leak_flush() {
	local n
	sleep "$LEAK_FLUSH"
	n="$(leak_marks)"
	ip netns exec "$LEAK_NS_C" bash -c 'echo mark >"/dev/udp/$0/9"' "$LEAK_MARK" 2>/dev/null || true
	if ! wait_until 5 leak_marks_above "$n"; then
		echo "# the capture did not print its flush mark within 5 s" >&2
		return 1
	fi
}

# leak_count: print connections + datagrams + captured packets + queries
# as they stand (leak_flush first to be sure the capture caught up).
leak_count() {
	echo $(($(leak_trap_count) + $(leak_capture_count) + $(leak_dns_count)))
}

# leak_report: what the trap caught, each part with its count.
leak_report() {
	echo "trap in $LEAK_NS_C: $(leak_trap_count) connections or datagrams to $LEAK_T4 / $LEAK_T6:"
	sed 's/^/    /' "$LEAK_TRAP_LOG"
	echo "capture in $LEAK_NS_C: $(leak_capture_count) packets to $LEAK_T4 / $LEAK_T6 or port 53 (first 40):"
	leak_capture_lines | head -n 40 | sed 's/^/    /'
	echo "counting name server in $LEAK_NS_C: $(leak_dns_count) queries:"
	sed 's/^/    /' "$LEAK_DNS_LOG"
}

# assert_no_leak: nothing went around the proxy.
assert_no_leak() {
	local n
	leak_flush || fail "the capture fell behind: cannot tell whether anything leaked"
	n="$(leak_count)"
	if ((n != 0)); then
		{
			echo "LEAK: $n connections, datagrams, packets or DNS queries went around the proxy"
			leak_report
		} | fail
	fi
}

# assert_leak_caught: the trap counted something (the self-checks).
assert_leak_caught() {
	local n
	leak_flush || fail "the capture fell behind"
	n="$(leak_count)"
	if ((n == 0)); then
		echo "the trap counted nothing: the leak detector is blind" | fail
	fi
}

# assert_via_proxy N [LOG]: the web server's log ($HTTP_LOG) has exactly N
# requests, all from the proxy's address on the T link.
assert_via_proxy() {
	local want="$1" log="${2:-$HTTP_LOG}" got others
	got="$(wc -l <"$log")"
	others="$(awk -v p="$LEAK_PT4" -v p6="$LEAK_PT6" '$3 != p && $3 != p6' "$log")"
	if [[ "$got" != "$want" || -n "$others" ]]; then
		{
			echo "expected $want requests from the proxy ($LEAK_PT4), the target logged:"
			cat "$log"
		} | fail
	fi
}

# leak_teardown: stop everything by PID, then remove the namespaces and
# their /etc/netns files.  Runs in full even when e2e_teardown fails.
leak_teardown() {
	local rc=0 ns
	e2e_teardown || rc=1
	if [[ -f "$E2E_TMP/.leak_ns" ]]; then
		while read -r ns; do
			[[ -n "$ns" ]] || continue
			if [[ -e "/run/netns/$ns" ]]; then
				ip netns del "$ns" || rc=1
			fi
			rm -rf "/etc/netns/${ns:?}"
		done <"$E2E_TMP/.leak_ns"
		rm -f "$E2E_TMP/.leak_ns"
	fi
	# Only when empty: another suite's namespaces may still use it.
	rmdir /etc/netns 2>/dev/null || true
	return "$rc"
}

# leak_restart: the topology stopped and made afresh (same names, new
# processes, new logs).  The logs cannot simply be emptied under the
# processes writing them: tcpdump's stdout is not opened for appending, so
# it would go on writing at its old offset behind a run of NULs.
leak_restart() {
	leak_teardown || fail "could not stop the first topology"
	leak_setup
}

# leak_conf_via URL [LINE...]: leak_conf with URL as the one proxy instead
# of the socksifyd in P.
leak_conf_via() {
	local LEAK_PROXY_URL="$1"
	shift
	leak_conf "$@"
}

# leak_listening NS ADDR PORT: true when a TCP listener is on ADDR:PORT in
# namespace NS (for wait_until; the socket table, so no connection).
leak_listening() {
	ip netns exec "$1" ss -Hltn "sport = :$3" 2>/dev/null | awk '{print $4}' |
		grep -qxF "$2:$3"
}

# leak_start_danted: Dante's server in P, listening on the C link and
# going out on the T link, with start_danted's logging (`log: connect
# disconnect`, so assert_danted_connect works) and clients allowed from C
# only.  danted forks: its PID comes from the pid file.  Sets DANTED_PID,
# DANTED_PORT, DANTED_LOG, DANTED_CONF.
leak_start_danted() {
	local pidf="$E2E_TMP/danted.leak.pid" err="$E2E_TMP/danted.leak.err"
	DANTED_CONF="$E2E_TMP/danted.leak.conf"
	DANTED_LOG="$E2E_TMP/danted.leak.log"
	DANTED_PORT=$LEAK_DANTED_PORT
	cat >"$DANTED_CONF" <<-EOF
		logoutput: $DANTED_LOG
		internal: $LEAK_P4 port = $DANTED_PORT
		external: $LEAK_PT4
		socksmethod: none
		clientmethod: none
		user.privileged: root
		user.unprivileged: nobody
		client pass {
			from: $LEAK_C4/32 to: 0.0.0.0/0
			log: connect disconnect
		}
		socks pass {
			from: $LEAK_C4/32 to: 0.0.0.0/0
			command: connect
			log: connect disconnect
		}
	EOF
	: >"$DANTED_LOG"
	ip netns exec "$LEAK_NS_P" /usr/sbin/danted -f "$DANTED_CONF" -D -p "$pidf" \
		>"$err" 2>&1 3>&- </dev/null || true
	wait_for_file "$pidf" 10 || fail "danted did not start: $(cat "$err" "$DANTED_LOG")"
	DANTED_PID="$(tr -d '[:space:]' <"$pidf")"
	e2e_register "$DANTED_PID" danted "$DANTED_LOG"
	wait_until 10 leak_listening "$LEAK_NS_P" "$LEAK_P4" "$DANTED_PORT" ||
		fail "danted does not listen in $LEAK_NS_P: $(cat "$DANTED_LOG")"
}

# leak_start_microsocks: microsocks in P, listening on the C link.  `ip
# netns exec` execs it, so the PID is microsocks's own.  Sets
# MICROSOCKS_PID, MICROSOCKS_PORT, MICROSOCKS_LOG.
leak_start_microsocks() {
	MICROSOCKS_LOG="$E2E_TMP/microsocks.leak.log"
	MICROSOCKS_PORT=$LEAK_MICROSOCKS_PORT
	ip netns exec "$LEAK_NS_P" /usr/bin/microsocks -i "$LEAK_P4" -p "$MICROSOCKS_PORT" \
		>"$MICROSOCKS_LOG" 2>&1 3>&- </dev/null &
	MICROSOCKS_PID=$!
	e2e_register "$MICROSOCKS_PID" microsocks "$MICROSOCKS_LOG"
	wait_until 10 leak_listening "$LEAK_NS_P" "$LEAK_P4" "$MICROSOCKS_PORT" ||
		fail "microsocks does not listen in $LEAK_NS_P: $(cat "$MICROSOCKS_LOG")"
}
