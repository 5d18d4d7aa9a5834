# dns.bash: helpers for the remote-DNS suites (tests/e2e/dns_*.bats).
#
# Usage, after lib/common and lib/client:
#
#     load lib/dns
#     setup()    { dns_setup; }
#     teardown() { e2e_teardown; }
#
# The client and the proxy see different hosts files: each runs in a mount
# namespace of its own (unshare -m) with its own /etc/hosts bind-mounted
# in.  The proxy's hosts file knows the test names; the client's does not,
# and its /etc/resolv.conf names only a counting name server
# (tools/dns_counter.py), so any name the client resolved locally would
# either fail or show up in that server's log and in a capture on lo.
#
# Variables set here:
#   CLIENT_HOSTS   the client's /etc/hosts (localhost and hosts-only.test)
#   CLIENT_RESOLV  the client's /etc/resolv.conf (nameserver $DNS_ADDR)
#   PROXY_HOSTS    the proxies' /etc/hosts (knows only-the-proxy.test)
#   DNS_ADDR       the counting name server's address (port 53)
#   DNS_LOG        its query log, one line per query
#   PCAP           the capture file of start_capture
#   ONLY_PROXY     the name only the proxy can resolve
#   HOSTS_ONLY     a name only the client's hosts file knows (127.0.0.7)

bats_require_minimum_version 1.5.0

ONLY_PROXY=only-the-proxy.test
HOSTS_ONLY=hosts-only.test
DNS_PROGS="${BATS_FILE_TMPDIR:-$E2E_TMP}/dnsprogs"

# dns_setup: client_setup plus the hosts and resolv.conf files.  Files are
# world-readable since danted reads its hosts file as nobody.
dns_setup() {
	client_setup || return 1
	CLIENT_HOSTS="$E2E_TMP/client.hosts"
	CLIENT_RESOLV="$E2E_TMP/client.resolv.conf"
	PROXY_HOSTS="$E2E_TMP/proxy.hosts"
	DNS_ADDR=""
	DNS_LOG="$E2E_TMP/dns_queries.log"
	: >"$DNS_LOG"
	printf '%s\n' "127.0.0.1 localhost" "::1 localhost ip6-localhost" \
		"127.0.0.7 $HOSTS_ONLY hosts-alias.test" "::7 $HOSTS_ONLY" \
		>"$CLIENT_HOSTS"
	printf '%s\n' "127.0.0.1 localhost" "::1 localhost" \
		"127.0.0.1 $ONLY_PROXY" >"$PROXY_HOSTS"
	chmod 644 "$CLIENT_HOSTS" "$PROXY_HOSTS"
}

# dns_build_progs: compile tests/e2e/progs/dns_*.c into $DNS_PROGS (call
# from setup_file).
dns_build_progs() {
	local src name
	mkdir -p "$DNS_PROGS"
	for src in "$REPO"/tests/e2e/progs/dns_*.c; do
		name="$(basename "$src" .c)"
		cc -D_GNU_SOURCE -O1 -g -Wall -Wextra -pthread \
			-o "$DNS_PROGS/$name" "$src" || return 1
	done
}

# start_dns_counter: start tools/dns_counter.py on port 53 of an address in
# 127.53.0.0/16 that nothing else uses, and point $CLIENT_RESOLV at it.
# Sets DNS_ADDR, DNS_COUNTER_PID.
start_dns_counter() {
	local try ready
	for ((try = 0; try < 5; try++)); do
		DNS_ADDR="127.53.$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))"
		ready="$E2E_TMP/dns_counter.$try.ready"
		start_bg "dns_counter.$try" "${GUARD_EXEC[@]}" "$PYTHON" "$TOOLS/dns_counter.py" \
			--host "$DNS_ADDR" --port 53 --log "$DNS_LOG" --ready-file "$ready"
		DNS_COUNTER_PID=$BG_PID
		if wait_until 5 dns_counter_ready "$ready"; then
			[[ -f "$ready" ]] && break
		fi
	done
	[[ -f "$ready" ]] || fail "dns_counter did not start: $(cat "$BG_LOG")"
	printf '%s\n' "nameserver $DNS_ADDR" "options timeout:1 attempts:1" \
		>"$CLIENT_RESOLV"
	# Under the leak guard this name server runs beside the client, and
	# what reaches it is this suite's to count (assert_no_queries).
	[[ ${#GUARD_EXEC[@]} -eq 0 ]] || guard_allow "$DNS_ADDR" 53
	chmod 644 "$CLIENT_RESOLV"
}

# dns_counter_ready READY_FILE: true once the counter is up, or once it died
# (a taken address); start_dns_counter tells the two apart.
dns_counter_ready() {
	[[ -f "$1" ]] || ! pid_alive "$DNS_COUNTER_PID"
}

# dns_query_count: how many queries the counting name server received.
dns_query_count() {
	wc -l <"$DNS_LOG"
}

# assert_no_queries: the counting name server saw nothing.
assert_no_queries() {
	local n
	n="$(dns_query_count)"
	if ((n != 0)); then
		{
			echo "the client sent $n DNS queries:"
			cat "$DNS_LOG"
		} | fail
	fi
}

# start_capture: capture UDP port 53 on lo into $PCAP (tcpdump, started
# before the client; waits until it listens).  Sets CAPTURE_PID.
start_capture() {
	PCAP="$E2E_TMP/dns.pcap"
	start_bg tcpdump "${GUARD_EXEC[@]}" tcpdump -i lo -n -U --immediate-mode -Z root -w "$PCAP" 'udp port 53'
	CAPTURE_PID=$BG_PID
	CAPTURE_ERR=$BG_LOG
	wait_for_log "$CAPTURE_ERR" 'listening on lo' 10 || fail "tcpdump did not start"
}

# stop_capture: stop tcpdump by its PID; it writes out what it holds.
stop_capture() {
	# Let a late packet reach the capture before it stops.
	sleep 0.2
	stop_pid "$CAPTURE_PID" || true
}

# capture_to_counter: print the captured packets sent to the counting name
# server's address (the client's only name server).
capture_to_counter() {
	tcpdump -r "$PCAP" -n "udp and dst port 53 and dst host $DNS_ADDR" 2>/dev/null
}

# assert_no_leak: after the client ran: no query reached the counting name
# server and the capture on lo holds no UDP to port 53 from the client.
assert_no_leak() {
	local pk
	stop_capture
	assert_no_queries
	pk="$(capture_to_counter)"
	if [[ -n "$pk" ]]; then
		{
			echo "UDP to port 53 on lo:"
			echo "$pk"
		} | fail
	fi
}

# in_client_ns CMD [ARGS...]: run CMD with the client's hosts file and
# resolv.conf bind-mounted over /etc's, in a mount namespace of its own,
# bounded by 60 s.
in_client_ns() {
	timeout 60 "${GUARD_EXEC[@]}" unshare -m sh -c 'mount --bind "$1" /etc/hosts &&
		mount --bind "$2" /etc/resolv.conf && shift 2 && exec "$@"' \
		sh "$CLIENT_HOSTS" "$CLIENT_RESOLV" "$@"
}

# dsfy CMD [ARGS...]: CMD under the launcher with $SFY_CONF, in the client's
# namespace, bounded by 60 s.
dsfy() {
	in_client_ns "$LAUNCHER" -f "$SFY_CONF" -- "$@"
}

# dns_conf LINE...: write $SFY_CONF with the given lines only (no direct
# rule: the client only ever sees stand-in addresses for test names).
dns_conf() {
	SFY_CONF="$E2E_TMP/sfy.conf"
	{
		echo "# written by ${BATS_TEST_NAME:-e2e}"
		printf '%s\n' "$@"
	} >"$SFY_CONF"
}

# start_proxy_socksifyd [ARGS...]: socksifyd in a namespace whose
# /etc/hosts is $PROXY_HOSTS.
start_proxy_socksifyd() {
	SOCKSIFYD_WRAP=(with_hosts_file "$PROXY_HOSTS")
	start_socksifyd "$@"
	SOCKSIFYD_WRAP=()
}

# start_proxy_danted: danted in a namespace whose /etc/hosts is
# $PROXY_HOSTS (through a DANTED_BIN wrapper; danted's daemon child keeps
# the namespace), with debug logging so the requested names are logged.
start_proxy_danted() {
	local wrap="$E2E_TMP/danted-ns.sh"
	printf '%s\n' '#!/bin/sh' \
		"exec unshare -m sh -c 'mount --bind \"\$0\" /etc/hosts && exec /usr/sbin/danted -d 1 \"\$@\"' \"$PROXY_HOSTS\" \"\$@\"" \
		>"$wrap"
	chmod 755 "$wrap"
	DANTED_BIN="$wrap" start_danted "$@"
}

# danted_name_count NAME PORT: how many SOCKS5 CONNECT requests danted got
# with NAME as a domain-name address (ATYP 3).  danted logs requests only at
# debug level (start_proxy_danted runs it with -d 1); its connect lines
# show the address it resolved the name to.
danted_name_count() {
	grep -cE "dorequest\(\): command 1 request received .* ATYP: 3 address: ${1//./\\.}\.$2 *\$" "$DANTED_LOG"
}

# assert_danted_name NAME PORT: wait (5 s) until danted logged a CONNECT
# to NAME.PORT.
assert_danted_name() {
	wait_until 5 count_positive danted_name_count "$1" "$2" || {
		echo "danted logged no connect to $1.$2"
		cat "$DANTED_LOG"
	} | fail
}

# sanitizer_build DIR...: print the first DIR (empty ones skipped) that
# holds a built library and launcher, or fail.
sanitizer_build() {
	local d
	for d in "$@"; do
		if [[ -n "$d" && -f "$d/preload/libsocksify.so" && -x "$d/preload/socksify-run" ]]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

# tsan_build: print the build dir of a ThreadSanitizer library
# (SOCKSIFY_BUILD_TSAN, else $REPO/build-tsan), or fail.
tsan_build() {
	sanitizer_build "${SOCKSIFY_BUILD_TSAN:-}" "$REPO/build-tsan"
}

# start_proxy_httpconnect: tools/httpconnect_proxy.py in a namespace whose
# /etc/hosts is $PROXY_HOSTS.  Sets HCP_PID, HCP_PORT, HCP_LOG ("CONNECT
# TARGET user=U result=R" per request).
start_proxy_httpconnect() {
	start_port_tool hcp with_hosts_file "$PROXY_HOSTS" "$PYTHON" "$TOOLS/httpconnect_proxy.py"
	HCP_PID=$TOOL_PID HCP_PORT=$TOOL_PORT HCP_LOG=$TOOL_LOG
	guard_proxy 127.0.0.1 "$HCP_PORT"
}

# drun CMD [ARGS...]: bats' run with stdout alone in $output (so library
# log lines on stderr cannot shift the lines a test looks at); stderr is
# in $stderr and printed (bats shows it when the test fails).
drun() {
	run --separate-stderr "$@"
	if [[ -n "${stderr:-}" ]]; then
		printf '# stderr: %s\n' "${stderr_lines[@]}"
	fi
}
