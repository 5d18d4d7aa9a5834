#!/usr/bin/env bats
# udp_client.bats: UDP through the chain (SOCKS5 UDP ASSOCIATE) with real
# programs (python3, dig, node) and real proxies (socksifyd, danted): one
# hop, auth, chains of 2 and 3 hops, refusal, a long stream, a dead proxy.
# Each test name says which bullet of issue 10's "Tests that must pass" it
# covers; every test runs under the leak guard (lib/guard.bash), whose
# teardown check is the "leak guard reads zero" bullet for each of them.
#
# A UDP association's relay is a UDP socket the proxy opens as it answers,
# and the guard's bridges carry TCP only.  So here the proxies and the
# targets run inside the guarded namespace G itself: each proxy on an
# address of its own (127.0.0.2, .4, .5) that nothing else uses, leaving
# from it as well (socksifyd -e, danted's external:), and the targets on
# 127.0.0.3.  The program's socket sends from 127.0.0.1.  Before the
# guard's check, every endpoint on a proxy's address is allowed (traffic to
# or from a proxy is not a leak); anything else the trap saw, such as the
# program reaching a target directly or asking a name server, fails the
# test as in every guarded suite.  Each test also proves the datagrams went
# through the proxy: the target saw only the last proxy's address as their
# source, and the proxy logged the association.

load lib/common
load lib/client
load lib/guard

UDP_PROXY_ADDRS="127.0.0.2 127.0.0.4 127.0.0.5 fd00:5f::2"
TARGET=127.0.0.3
# The largest payload to an IPv4 destination through one hop: an IPv4
# datagram's 65507 bytes less the 10 of the SOCKS5 UDP header.
UDP_MAX=65497

setup() {
	client_setup
	guard_setup
}

teardown() {
	udp_allow_proxies
	guard_teardown
}

# The proxies run in G: there is nothing to bridge, and connecting to
# them is meant.
guard_proxy() {
	guard_allow "$1" "$2"
}

# udp_allow_proxies: every endpoint on a proxy's address in the capture is
# allowed (after a flush, so the capture is complete).
udp_allow_proxies() {
	local a ep
	[[ "${GUARD_READY:-0}" == 1 ]] || return 0
	guard_flush || return 0
	for a in $UDP_PROXY_ADDRS; do
		while read -r ep; do
			[[ -n "$ep" ]] && guard_allow "$a" "${ep##*.}"
		done < <(grep -oE "(^| )${a//./\\.}\.[0-9]+" "$GUARD_CAPTURE" | tr -d ' ' | sort -u)
	done
}

# udp_socksifyd ADDR [ARGS...]: socksifyd in G on ADDR (port
# $UDP_SOCKSIFYD_PORT, default 0: a free one), leaving from ADDR.
udp_socksifyd() {
	local addr="$1"
	shift
	SOCKSIFYD_WRAP=("${GUARD_EXEC[@]}")
	start_socksifyd -l "$addr:${UDP_SOCKSIFYD_PORT:-0}" -e "$addr" -v "$@"
	SOCKSIFYD_WRAP=()
}

danted_up() {
	grep -q "pid" "$1" 2>/dev/null || [[ -s "$1" ]]
}

# udp_danted ADDR: danted in G on ADDR (internal and external), the
# PEERS.md rules with udpassociate and udpreply.  Sets DANTED_PID,
# DANTED_PORT, DANTED_LOG.
udp_danted() {
	local addr="$1" n pidf
	n=$(ls "$E2E_TMP"/danted.*.conf 2>/dev/null | wc -l)
	DANTED_CONF="$E2E_TMP/danted.$n.conf"
	DANTED_LOG="$E2E_TMP/danted.$n.log"
	pidf="$E2E_TMP/danted.$n.pid"
	DANTED_PORT="$(free_port)"
	cat >"$DANTED_CONF" <<-EOF
		logoutput: $DANTED_LOG
		internal: $addr port = $DANTED_PORT
		external: $addr
		socksmethod: none
		clientmethod: none
		user.privileged: root
		user.unprivileged: nobody
		client pass {
			from: 127.0.0.0/8 to: 0.0.0.0/0
			log: connect disconnect
		}
		socks pass {
			from: 127.0.0.0/8 to: 0.0.0.0/0
			command: connect bind udpassociate bindreply udpreply
			log: connect disconnect
		}
	EOF
	: >"$DANTED_LOG"
	"${GUARD_EXEC[@]}" /usr/sbin/danted -f "$DANTED_CONF" -D -p "$pidf" \
		>"$E2E_TMP/danted.$n.err" 2>&1 3>&- </dev/null || true
	wait_for_file "$pidf" 10 || fail "danted did not start: $(cat "$E2E_TMP/danted.$n.err" "$DANTED_LOG")"
	DANTED_PID="$(tr -d '[:space:]' <"$pidf")"
	e2e_register "$DANTED_PID" danted "$DANTED_LOG"
	wait_until 10 in_guard bash -c "exec 3<>/dev/tcp/$addr/$DANTED_PORT" 2>/dev/null ||
		fail "danted does not listen on $addr:$DANTED_PORT"
	guard_allow "$addr" "$DANTED_PORT"
}

# udp_target: the UDP echo server in G on $TARGET.  Sets UDP_PORT, UDP_LOG.
udp_target() {
	start_port_tool udp "${GUARD_EXEC[@]}" "$PYTHON" "$TOOLS/udp_echo.py" --host "$TARGET"
	UDP_PID=$TOOL_PID UDP_PORT=$TOOL_PORT UDP_LOG=$TOOL_LOG
}

# app MODE [ARG]: tools/udp_app.py under the launcher, to the target.
app() {
	sfy "$PYTHON" "$TOOLS/udp_app.py" "$1" "$TARGET" "$UDP_PORT" "${@:2}"
}

# target_saw_only ADDR [MIN]: the target got at least MIN (default 1)
# datagrams, every one from ADDR (the last proxy), none from the program.
target_saw_only() {
	local n bad
	n="$(grep -c . "$UDP_LOG" || true)"
	bad="$(awk -v a="$1" '$1 != a' "$UDP_LOG")"
	((n >= ${2:-1})) || fail "the target got $n datagrams, wanted at least ${2:-1}"
	[[ -z "$bad" ]] || fail "datagrams reached the target from elsewhere than $1: $bad"
}

danted_udp_sessions() {
	grep -cE 'udpassociate|udpreply' "$DANTED_LOG" || true
}

@test "udp python3: sendto/recvfrom 100 datagrams through socksifyd; replies report the target" {
	udp_target
	udp_socksifyd 127.0.0.2
	sfy_conf "proxy = socks5://127.0.0.2:$SOCKSIFYD_PORT"
	run app burst 100
	assert_success
	assert_output "burst ok 100 source=$TARGET:$UDP_PORT"
	target_saw_only 127.0.0.2 100
	assert_session cmd=udp result=ok
}

@test "udp python3: connected send/recv, write/read, writev/readv and getpeername through socksifyd" {
	udp_target
	udp_socksifyd 127.0.0.2
	sfy_conf "proxy = socks5://127.0.0.2:$SOCKSIFYD_PORT"
	run app connected
	assert_success
	assert_output "connected ok peer=$TARGET:$UDP_PORT"
	target_saw_only 127.0.0.2 3
	assert_session cmd=udp result=ok
}

@test "udp python3: recvmsg with ancillary data (SO_TIMESTAMP) and MSG_TRUNC through socksifyd" {
	udp_target
	udp_socksifyd 127.0.0.2
	sfy_conf "proxy = socks5://127.0.0.2:$SOCKSIFYD_PORT"
	run app recvmsg
	assert_success
	assert_output "recvmsg ok timestamp source=$TARGET:$UDP_PORT"
	target_saw_only 127.0.0.2 2
}

@test "udp python3: MSG_PEEK (and MSG_DONTWAIT, MSG_TRUNC) keep their meaning through socksifyd" {
	udp_target
	udp_socksifyd 127.0.0.2
	sfy_conf "proxy = socks5://127.0.0.2:$SOCKSIFYD_PORT"
	run app peek
	assert_success
	assert_output "peek ok source=$TARGET:$UDP_PORT"
	target_saw_only 127.0.0.2 2
}

@test "udp python3: non-blocking with select through socksifyd" {
	udp_target
	udp_socksifyd 127.0.0.2
	sfy_conf "proxy = socks5://127.0.0.2:$SOCKSIFYD_PORT"
	run app select
	assert_success
	assert_output "select ok 20 source=$TARGET:$UDP_PORT"
	target_saw_only 127.0.0.2 20
}

@test "udp python3: non-blocking with asyncio DatagramProtocol through socksifyd" {
	udp_target
	udp_socksifyd 127.0.0.2
	sfy_conf "proxy = socks5://127.0.0.2:$SOCKSIFYD_PORT"
	run app asyncio
	assert_success
	assert_output "asyncio ok 10 source=$TARGET:$UDP_PORT"
	target_saw_only 127.0.0.2 10
}

@test "udp python3: sizes from 1 byte to the largest that fits ($UDP_MAX); one more fails with EMSGSIZE" {
	udp_target
	udp_socksifyd 127.0.0.2
	sfy_conf "proxy = socks5://127.0.0.2:$SOCKSIFYD_PORT"
	run app sizes "$UDP_MAX"
	assert_success
	assert_output "sizes ok 1..$UDP_MAX, $((UDP_MAX + 1)): EMSGSIZE"
	target_saw_only 127.0.0.2 9
	grep -qE "^127\.0\.0\.2 [0-9]+ $UDP_MAX\$" "$UDP_LOG" || fail "no $UDP_MAX-byte datagram at the target"
}

@test "udp python3: an IPv6 destination (ATYP 4) from an AF_INET6 socket through an IPv4 relay" {
	# Addresses of G's own for this test: the proxy leaves from one, the
	# target listens on the other.
	in_guard ip addr add fd00:5f::2/128 dev lo nodad
	in_guard ip addr add fd00:5f::3/128 dev lo nodad
	start_port_tool udp "${GUARD_EXEC[@]}" "$PYTHON" "$TOOLS/udp_echo.py" --host fd00:5f::3
	UDP_PORT=$TOOL_PORT UDP_LOG=$TOOL_LOG
	udp_socksifyd 127.0.0.2 -e fd00:5f::2
	sfy_conf "proxy = socks5://127.0.0.2:$SOCKSIFYD_PORT"
	run sfy "$PYTHON" "$TOOLS/udp_app.py" burst fd00:5f::3 "$UDP_PORT" 20
	assert_success
	assert_output "burst ok 20 source=fd00:5f::3:$UDP_PORT"
	target_saw_only fd00:5f::2 20
	assert_session cmd=udp result=ok
}

@test "udp names: a datagram to a name's stand-in carries the name (ATYP 3) to the proxy; replies report the same stand-in" {
	local hosts="$E2E_TMP/hosts.proxy"
	udp_target
	# socksifyd resolves the name from a hosts file of its own, so no
	# name server is asked (the guard would count it).
	printf '%s\n' "127.0.0.1 localhost" "$TARGET udp-name.test" >"$hosts"
	SOCKSIFYD_WRAP=("${GUARD_EXEC[@]}" unshare -m sh -c \
		'mount --bind "$0" /etc/hosts && exec "$@"' "$hosts")
	start_socksifyd -l 127.0.0.2:0 -e 127.0.0.2 -v
	SOCKSIFYD_WRAP=()
	sfy_conf "proxy = socks5://127.0.0.2:$SOCKSIFYD_PORT"
	run sfy "$PYTHON" "$TOOLS/udp_app.py" name udp-name.test "$UDP_PORT"
	assert_success
	assert_output --regexp "^name ok address=(240\.[0-9.]+) source=\1:$UDP_PORT\$"
	target_saw_only 127.0.0.2 3
	assert_session cmd=udp result=ok
}

@test "udp dig: dig @target -p PORT name (sendmmsg) gets its answer through socksifyd" {
	local log
	start_port_tool dns "${GUARD_EXEC[@]}" "$PYTHON" "$TOOLS/udp_dns_answer.py" \
		--host "$TARGET" --answer 192.0.2.77
	log=$TOOL_LOG
	udp_socksifyd 127.0.0.2
	sfy_conf "proxy = socks5://127.0.0.2:$SOCKSIFYD_PORT"
	run sfy dig +time=3 +tries=1 +short +noedns @"$TARGET" -p "$TOOL_PORT" udp-check.test A
	assert_success
	assert_output "192.0.2.77"
	grep -qE '^127\.0\.0\.2 [0-9]+ udp-check\.test$' "$log" ||
		fail "the name server did not see the query from the relay: $(cat "$log")"
	run grep -vcE '^127\.0\.0\.2 ' "$log"
	assert_output 0
	assert_session cmd=udp result=ok
}

@test "udp node: dgram send and receive through socksifyd" {
	udp_target
	udp_socksifyd 127.0.0.2
	sfy_conf "proxy = socks5://127.0.0.2:$SOCKSIFYD_PORT"
	run sfy /usr/bin/node -e '
		const dgram = require("dgram");
		const s = dgram.createSocket("udp4");
		const t = setTimeout(() => { console.log("node timeout"); process.exit(1); }, 5000);
		s.on("message", (m, r) => {
			console.log("node ok " + m + " source=" + r.address + ":" + r.port);
			clearTimeout(t);
			s.close();
		});
		s.send("node-dgram", Number(process.argv[2]), process.argv[1]);
	' "$TARGET" "$UDP_PORT"
	assert_success
	assert_output "node ok node-dgram source=$TARGET:$UDP_PORT"
	target_saw_only 127.0.0.2 1
	assert_session cmd=udp result=ok
}

@test "udp through danted: python3 sendto/recvfrom 100 datagrams" {
	udp_target
	udp_danted 127.0.0.4
	sfy_conf "proxy = socks5://127.0.0.4:$DANTED_PORT"
	run app burst 100
	assert_success
	assert_output "burst ok 100 source=$TARGET:$UDP_PORT"
	target_saw_only 127.0.0.4 100
	(($(danted_udp_sessions) > 0)) || fail "danted logged no UDP: $(cat "$DANTED_LOG")"
}

@test "udp through socksifyd with RFC 1929 auth: python3 sendto/recvfrom" {
	udp_target
	udp_socksifyd 127.0.0.2 -u alice:s3cret
	sfy_conf "proxy = socks5://alice:s3cret@127.0.0.2:$SOCKSIFYD_PORT"
	run app burst 20
	assert_success
	assert_output "burst ok 20 source=$TARGET:$UDP_PORT"
	target_saw_only 127.0.0.2 20
	assert_session cmd=udp result=ok user=alice
}

@test "udp 2-hop chain socksifyd -> danted: python3 sendto/recvfrom" {
	local s_log
	udp_target
	udp_socksifyd 127.0.0.2
	s_log=$SOCKSIFYD_LOG
	udp_danted 127.0.0.4
	sfy_conf "chain = strict" "proxy = socks5://127.0.0.2:$SOCKSIFYD_PORT" \
		"proxy = socks5://127.0.0.4:$DANTED_PORT"
	run app burst 20
	assert_success
	assert_output "burst ok 20 source=$TARGET:$UDP_PORT"
	# The last hop (danted) reached the target; socksifyd carried hop 2's
	# control connection and its datagrams.
	target_saw_only 127.0.0.4 20
	SOCKSIFYD_LOG=$s_log assert_session cmd=connect target="127.0.0.4:$DANTED_PORT" result=ok
	SOCKSIFYD_LOG=$s_log assert_session cmd=udp result=ok
	(($(danted_udp_sessions) > 0)) || fail "danted logged no UDP: $(cat "$DANTED_LOG")"
}

@test "udp 2-hop chain danted -> socksifyd: python3 sendto/recvfrom" {
	udp_target
	udp_danted 127.0.0.4
	udp_socksifyd 127.0.0.2
	sfy_conf "chain = strict" "proxy = socks5://127.0.0.4:$DANTED_PORT" \
		"proxy = socks5://127.0.0.2:$SOCKSIFYD_PORT"
	run app burst 20
	assert_success
	assert_output "burst ok 20 source=$TARGET:$UDP_PORT"
	target_saw_only 127.0.0.2 20
	assert_session cmd=udp result=ok client=~'127\.0\.0\.4:[0-9]+'
	(($(danted_udp_sessions) > 0)) || fail "danted logged no UDP: $(cat "$DANTED_LOG")"
}

@test "udp 3-hop chain socksifyd -> danted -> socksifyd: python3 sendto/recvfrom" {
	local s1_port s1_log
	udp_target
	udp_socksifyd 127.0.0.2
	s1_port=$SOCKSIFYD_PORT s1_log=$SOCKSIFYD_LOG
	udp_danted 127.0.0.4
	udp_socksifyd 127.0.0.5
	sfy_conf "chain = strict" "proxy = socks5://127.0.0.2:$s1_port" \
		"proxy = socks5://127.0.0.4:$DANTED_PORT" \
		"proxy = socks5://127.0.0.5:$SOCKSIFYD_PORT"
	run app burst 20
	assert_success
	assert_output "burst ok 20 source=$TARGET:$UDP_PORT"
	target_saw_only 127.0.0.5 20
	assert_session cmd=udp result=ok client=~'127\.0\.0\.4:[0-9]+'
	SOCKSIFYD_LOG=$s1_log assert_session cmd=udp result=ok
	(($(danted_udp_sessions) > 0)) || fail "danted logged no UDP: $(cat "$DANTED_LOG")"
}

@test "udp chains: a dynamic chain skips a dead first hop for UDP as for TCP" {
	udp_target
	udp_socksifyd 127.0.0.2
	sfy_conf "chain = dynamic" "proxy = socks5://127.0.0.5:$(free_port)" \
		"proxy = socks5://127.0.0.2:$SOCKSIFYD_PORT"
	run app burst 5
	assert_success
	assert_line "burst ok 5 source=$TARGET:$UDP_PORT"
	assert_line --partial "hop 1 (socks5://127.0.0.5:"
	target_saw_only 127.0.0.2 5
	assert_session cmd=udp result=ok
}

@test "udp chain with an HTTP hop refuses UDP with EPROTONOSUPPORT and a log line, sending nothing" {
	udp_target
	udp_socksifyd 127.0.0.2
	start_httpconnect
	sfy_conf "chain = strict" "proxy = socks5://127.0.0.2:$SOCKSIFYD_PORT" \
		"proxy = http://127.0.0.1:$HCP_PORT"
	run --separate-stderr app refused
	assert_failure 3
	assert_output "refused ERRNO EPROTONOSUPPORT"
	[[ "$stderr" == *"cannot carry UDP"* ]] || fail "no log line: $stderr"
	[[ ! -s "$UDP_LOG" ]] || fail "the target got: $(cat "$UDP_LOG")"
	assert_no_session
	[[ ! -s "$HCP_LOG" ]] || fail "the HTTP proxy was asked: $(cat "$HCP_LOG")"
}

@test "udp association survives 10,000 datagrams through socksifyd (one association)" {
	udp_target
	udp_socksifyd 127.0.0.2
	sfy_conf "proxy = socks5://127.0.0.2:$SOCKSIFYD_PORT"
	run app burst 10000
	assert_success
	assert_output "burst ok 10000 source=$TARGET:$UDP_PORT"
	target_saw_only 127.0.0.2 10000
	sessions_settle 2>/dev/null || true
	assert_session cmd=udp result=ok
	run session_count cmd=udp
	assert_output 1
}

@test "udp 200 sockets at once, each with an association of its own through socksifyd" {
	udp_target
	udp_socksifyd 127.0.0.2 --max-udp-per-client 250
	sfy_conf "proxy = socks5://127.0.0.2:$SOCKSIFYD_PORT"
	run app many 200
	assert_success
	assert_output "many ok 200"
	target_saw_only 127.0.0.2 200
	wait_until 10 session_count_is -eq 200 cmd=udp result=ok ||
		fail "$(session_count cmd=udp result=ok) associations ended well at socksifyd, wanted 200"
}

@test "udp killing the proxy mid-stream gives ECONNRESET, not a hang, and no datagram goes direct" {
	local out="$E2E_TMP/until.out" ready="$E2E_TMP/until.ready" pid
	udp_target
	udp_socksifyd 127.0.0.2
	sfy_conf "proxy = socks5://127.0.0.2:$SOCKSIFYD_PORT"
	sfy "$PYTHON" "$TOOLS/udp_app.py" until-error "$TARGET" "$UDP_PORT" "$ready" \
		>"$out" 2>&1 3>&- </dev/null &
	pid=$!
	e2e_register "$pid" udp_app "$out"
	wait_for_file "$ready" 15 || fail "the stream did not start: $(cat "$out")"
	kill -KILL "$SOCKSIFYD_PID"
	wait_until 15 eval '! pid_alive '"$pid" || fail "the program hangs: $(cat "$out")"
	run cat "$out"
	assert_line "until-error ERRNO ECONNRESET"
	assert_output --partial "udp association via hop 1"
	target_saw_only 127.0.0.2 20
}

@test "udp association: after the proxy dropped it, a later send on the same socket sets up a new one" {
	local d="$E2E_TMP/recover" out="$E2E_TMP/recover.out" pid port
	mkdir -p "$d"
	udp_target
	udp_socksifyd 127.0.0.2
	port=$SOCKSIFYD_PORT
	sfy_conf "proxy = socks5://127.0.0.2:$port"
	sfy "$PYTHON" "$TOOLS/udp_app.py" recover "$TARGET" "$UDP_PORT" "$d" \
		>"$out" 2>&1 3>&- </dev/null &
	pid=$!
	e2e_register "$pid" udp_app "$out"
	wait_for_file "$d/ready" 15 || fail "the stream did not start: $(cat "$out")"
	stop_pid "$SOCKSIFYD_PID"
	wait_until 15 grep -q "recover ERRNO" "$out" || fail "no errno: $(cat "$out")"
	# The same proxy again, at the same address.
	UDP_SOCKSIFYD_PORT=$port udp_socksifyd 127.0.0.2
	touch "$d/go"
	wait_until 20 eval '! pid_alive '"$pid" || fail "the program hangs: $(cat "$out")"
	run cat "$out"
	assert_line "recover ERRNO ECONNRESET"
	assert_line "recover ok"
	assert_session cmd=udp result=ok
}

@test "udp association: it ends when the program closes the socket" {
	local d="$E2E_TMP/cw" out="$E2E_TMP/cw.out" pid
	mkdir -p "$d"
	udp_target
	udp_socksifyd 127.0.0.2
	sfy_conf "proxy = socks5://127.0.0.2:$SOCKSIFYD_PORT"
	sfy "$PYTHON" "$TOOLS/udp_app.py" close-wait "$TARGET" "$UDP_PORT" "$d" \
		>"$out" 2>&1 3>&- </dev/null &
	pid=$!
	e2e_register "$pid" udp_app "$out"
	wait_for_file "$d/closed" 15 || fail "the program did not get to close: $(cat "$out")"
	# socksifyd logs a session when it ends: while the program still runs.
	assert_session cmd=udp result=ok
	pid_alive "$pid" || fail "the program exited already"
	touch "$d/go"
	wait_until 20 eval '! pid_alive '"$pid" || fail "the program hangs: $(cat "$out")"
	run cat "$out"
	assert_output "close-wait ok"
}

@test "udp config: udp = refuse still refuses with EACCES, nothing leaves" {
	udp_target
	udp_socksifyd 127.0.0.2
	sfy_conf "udp = refuse" "proxy = socks5://127.0.0.2:$SOCKSIFYD_PORT"
	run app refused
	assert_failure 3
	assert_output --partial "refused ERRNO EACCES"
	[[ ! -s "$UDP_LOG" ]] || fail "the target got: $(cat "$UDP_LOG")"
	assert_no_session
}

@test "udp config: a deny rule applies to UDP (EACCES), a direct rule sends it around the chain" {
	udp_target
	udp_socksifyd 127.0.0.2
	sfy_conf "deny = $TARGET/32" "proxy = socks5://127.0.0.2:$SOCKSIFYD_PORT"
	run app refused
	assert_failure 3
	assert_output --partial "refused ERRNO EACCES"
	[[ ! -s "$UDP_LOG" ]] || fail "the target got: $(cat "$UDP_LOG")"
	# Direct on purpose: the target is reached from the program itself.
	guard_allow "$TARGET" "$UDP_PORT"
	printf '%s\n' "direct = $TARGET/32" "proxy = socks5://127.0.0.2:$SOCKSIFYD_PORT" >"$SFY_CONF"
	run app burst 3
	assert_success
	assert_output "burst ok 3 source=$TARGET:$UDP_PORT"
	run awk '$1 != "127.0.0.2"' "$UDP_LOG"
	[[ -n "$output" ]] || fail "the direct datagrams came through the proxy"
	assert_no_session
}

@test "udp leak guard self-check: with udp = direct the program's own datagrams to the target are caught" {
	udp_target
	udp_socksifyd 127.0.0.2
	sfy_conf "udp = direct" "proxy = socks5://127.0.0.2:$SOCKSIFYD_PORT"
	run app burst 1
	assert_success
	udp_allow_proxies
	run guard_check
	assert_failure
	assert_output --regexp "IP 127\.0\.0\.1\.[0-9]+ > $TARGET\.$UDP_PORT: UDP"
	assert_no_session
	# Made on purpose above: the teardown's own check must not fail on it.
	guard_allow "$TARGET" "$UDP_PORT"
}
