#!/usr/bin/env bats
# server_udp_hop.bats: socksifyd as a UDP hop (issue 10's socksifyd
# bullet): outgoing UDP leaves from the --external address; datagrams to
# names go through a cache per association and a bounded lookup queue, so
# a client alternating two names costs one lookup per name and one client
# cannot starve another's names; associations per client address are
# limited.  Names are answered by tools/dns_names.py (a table, a log of
# every query, slow answers for some names), which socksifyd asks from a
# mount namespace whose resolv.conf names it.  Clients: PySocks's UDP
# socket where it is enough, tools/udp_hop_client.py for bursts, floods and
# source addresses.

load lib/common

setup() {
	e2e_setup
}

teardown() {
	e2e_teardown
}

hop() {
	timeout 60 "$PYTHON" "$TOOLS/udp_hop_client.py" "$@"
}

# start_names_dns ARGS...: tools/dns_names.py (ARGS: --record NAME=ADDR,
# --slow-suffix, --delay) on port 53 of an address of 127.54.0.0/16 that
# nothing else uses, and a resolv.conf and hosts file that send every name
# to it.  Sets DNS_LOG, NAMES_RESOLV, NAMES_HOSTS.
start_names_dns() {
	local try ready addr
	DNS_LOG="$E2E_TMP/dns_names.log"
	: >"$DNS_LOG"
	for ((try = 0; try < 5; try++)); do
		addr="127.54.$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))"
		ready="$E2E_TMP/dns_names.$try.ready"
		start_bg "dns_names.$try" "$PYTHON" "$TOOLS/dns_names.py" \
			--host "$addr" --log "$DNS_LOG" --ready-file "$ready" "$@"
		wait_until 5 ready_or_dead "$ready" "$BG_PID" || true
		[[ -f "$ready" ]] && break
	done
	[[ -f "$ready" ]] || fail "dns_names did not start: $(cat "$BG_LOG")"
	NAMES_RESOLV="$E2E_TMP/names.resolv.conf"
	NAMES_HOSTS="$E2E_TMP/names.hosts"
	printf '%s\n' "nameserver $addr" "options timeout:5 attempts:1" >"$NAMES_RESOLV"
	printf '%s\n' "127.0.0.1 localhost" >"$NAMES_HOSTS"
}

ready_or_dead() {
	[[ -f "$1" ]] || ! pid_alive "$2"
}

# with_names_resolver CMD...: run CMD (exec, same PID) with $NAMES_RESOLV
# and $NAMES_HOSTS bind-mounted over /etc's, in a mount namespace of its
# own.
with_names_resolver() {
	exec unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf &&
		mount --bind "$2" /etc/hosts && shift 2 && exec "$@"' \
		sh "$NAMES_RESOLV" "$NAMES_HOSTS" "$@"
}

# start_names_socksifyd ARGS...: socksifyd asking the name server of
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

# udp_sources: the distinct source addresses the UDP echo server saw.
udp_sources() {
	awk '{ print $1 }' "$UDP_LOG" | sort -u
}

@test "udp hop: outgoing UDP leaves from the --external address, to addresses and to names" {
	start_names_dns --record both.e2e.test=::1 --record both.e2e.test=127.0.0.1 \
		--record v4.e2e.test=127.0.0.1
	start_udp_echo
	start_names_socksifyd -e 127.0.0.2
	local p="127.0.0.1:$SOCKSIFYD_PORT"
	run hop pysocks --proxy "$p" --names 127.0.0.1 --port "$UDP_PORT" --count 3
	assert_success
	assert_output "sent 3 got 3 source=127.0.0.1:$UDP_PORT"
	run hop pysocks --proxy "$p" --names v4.e2e.test --port "$UDP_PORT" --count 3
	assert_success
	assert_output "sent 3 got 3 source=127.0.0.1:$UDP_PORT"
	# A name with an IPv6 and an IPv4 address: with only an IPv4 --external
	# the datagrams go to the IPv4 one, whichever the resolver put first.
	run hop pysocks --proxy "$p" --names both.e2e.test --port "$UDP_PORT" --count 3
	assert_success
	assert_output "sent 3 got 3 source=127.0.0.1:$UDP_PORT"
	# The target saw every datagram come from the chosen address.
	[ "$(wc -l <"$UDP_LOG")" -eq 9 ]
	run udp_sources
	assert_output "127.0.0.2"
	assert_session cmd=udp result=ok dropped=0
}

@test "udp hop: with two --external addresses of a family, associations take turns" {
	start_names_dns --record v4.e2e.test=127.0.0.1
	start_udp_echo
	start_names_socksifyd -e 127.0.0.2 -e 127.0.0.3 -e ::1
	local p="127.0.0.1:$SOCKSIFYD_PORT" i
	for ((i = 0; i < 4; i++)); do
		run hop pysocks --proxy "$p" --names v4.e2e.test --port "$UDP_PORT" --count 2
		assert_success
		assert_output "sent 2 got 2 source=127.0.0.1:$UDP_PORT"
	done
	# Each association's socket stays on one address: two datagrams
	# each from 127.0.0.2 and 127.0.0.3, in turn.
	run awk '{ print $1 }' "$UDP_LOG"
	assert_output "$(printf '%s\n' 127.0.0.{2,2,3,3,2,2,3,3})"
}

@test "udp hop: Dante's client (/usr/bin/socksify) sends UDP through socksifyd, leaving from the --external address" {
	start_udp_echo
	start_socksifyd -e 127.0.0.2
	cat >"$E2E_TMP/dante-client.conf" <<-EOF2
		route {
			from: 0.0.0.0/0 to: 0.0.0.0/0 via: 127.0.0.1 port = $SOCKSIFYD_PORT
			proxyprotocol: socks_v5
			command: udpassociate
		}
	EOF2
	run env SOCKS_CONF="$E2E_TMP/dante-client.conf" SOCKS_AUTOADD_LANROUTES=no \
		timeout 30 /usr/bin/socksify "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
got = 0
for i in range(5):
    s.sendto(b"dante %d" % i, ("127.0.0.1", int(sys.argv[1])))
    data, src = s.recvfrom(2048)
    got += data == b"dante %d" % i
print("got", got, "from", src[0])
' "$UDP_PORT"
	assert_success
	assert_line "got 5 from 127.0.0.1"
	# It went through socksifyd: the target saw the --external address.
	run udp_sources
	assert_output "127.0.0.2"
	assert_session cmd=udp result=ok up=35 dropped=0
}

@test "udp hop: without --external, outgoing UDP leaves from the kernel's choice; an IPv6 target with only an IPv4 --external is dropped and counted" {
	start_udp_echo ::1
	start_socksifyd
	run hop pysocks --proxy "127.0.0.1:$SOCKSIFYD_PORT" --names ::1 --port "$UDP_PORT" --count 2
	assert_success
	assert_output "sent 2 got 2 source=::1:$UDP_PORT"
	stop_pid "$SOCKSIFYD_PID"
	start_socksifyd -e 127.0.0.2
	run hop pysocks --proxy "127.0.0.1:$SOCKSIFYD_PORT" --names ::1 --port "$UDP_PORT" --count 2
	assert_success
	assert_output "sent 2 got 0 source=-"
	[ "$(wc -l <"$UDP_LOG")" -eq 2 ]
	assert_session cmd=udp result=ok dropped=2
}

@test "udp hop: a client alternating two names over 200 datagrams costs one lookup per name" {
	start_names_dns --record a.e2e.test=127.0.0.1 --record b.e2e.test=127.0.0.1
	start_udp_echo
	start_names_socksifyd -v
	run hop pysocks --proxy "127.0.0.1:$SOCKSIFYD_PORT" --names a.e2e.test,b.e2e.test \
		--port "$UDP_PORT" --count 200
	assert_success
	assert_output "sent 200 got 200 source=127.0.0.1:$UDP_PORT"
	# One lookup asks at most one question per address family.
	(($(name_queries a.e2e.test) <= 2)) || fail "a.e2e.test: $(name_queries a.e2e.test) queries"
	(($(name_queries b.e2e.test) <= 2)) || fail "b.e2e.test: $(name_queries b.e2e.test) queries"
	# The association asked the resolver once per name: the other 198
	# datagrams were sent from its own cache, not even the shared cache's.
	assert_session cmd=udp result=ok lookups=2 dropped=0 up=1690
	local hits
	hits="$(grep -c 'resolve [ab]\.e2e\.test: from the cache' "$SOCKSIFYD_LOG")" || true
	((hits <= 2)) || fail "$hits answers from the shared cache"
}

@test "udp hop: an association keeps a name no longer than --dns-ttl" {
	start_names_dns --record a.e2e.test=127.0.0.1 --record b.e2e.test=127.0.0.1
	start_udp_echo
	start_names_socksifyd --dns-ttl 2
	run hop pysocks --proxy "127.0.0.1:$SOCKSIFYD_PORT" --names a.e2e.test,b.e2e.test \
		--port "$UDP_PORT" --count 20 --pause-after 10 --pause 2.5
	assert_success
	assert_output "sent 20 got 20 source=127.0.0.1:$UDP_PORT"
	# Asked again after the pause, once per name.
	assert_session cmd=udp result=ok lookups=4 dropped=0
	(($(name_queries a.e2e.test) >= 2)) || fail "a.e2e.test asked once"
	(($(name_queries a.e2e.test) <= 4)) || fail "a.e2e.test: $(name_queries a.e2e.test) queries"
}

@test "udp hop: a name whose addresses --deny-dest refuses is looked up once; its datagrams are dropped and counted" {
	start_names_dns --record denied.e2e.test=127.0.0.9
	start_udp_echo
	start_names_socksifyd --deny-dest 127.0.0.9/32
	run hop burst --proxy "127.0.0.1:$SOCKSIFYD_PORT" --name denied.e2e.test --port "$UDP_PORT" \
		--count 20 --wait 1
	assert_success
	assert_output "sent 20 got 0"
	(($(name_queries denied.e2e.test) <= 2))
	assert_session cmd=udp result=ok lookups=1 dropped=20 up=0
}

@test "udp hop: datagrams waiting for a name are queued up to a bound; the rest are dropped and counted" {
	start_names_dns --record w.slow.e2e.test=127.0.0.1 --slow-suffix .slow.e2e.test --delay 1
	start_udp_echo
	start_names_socksifyd
	run hop burst --proxy "127.0.0.1:$SOCKSIFYD_PORT" --name w.slow.e2e.test --port "$UDP_PORT" \
		--count 100 --wait 5
	assert_success
	# 64 wait for the answer and then go out; the other 36 are dropped.
	assert_output "sent 100 got 64"
	[ "$(wc -l <"$UDP_LOG")" -eq 64 ]
	(($(name_queries w.slow.e2e.test) <= 2))
	assert_session cmd=udp result=ok lookups=1 dropped=36
}

@test "udp hop: a client flooding the relay with names does not starve another client's names" {
	start_names_dns --record fast.e2e.test=127.0.0.1 --slow-suffix .slow.e2e.test --delay 5
	start_udp_echo
	start_names_socksifyd
	local p="127.0.0.1:$SOCKSIFYD_PORT" t0 t1
	# 127.0.0.2: 16 associations, 400 names whose answers take 5 s each:
	# far more than its share of the resolver.
	start_bg flood timeout 30 "$PYTHON" "$TOOLS/udp_hop_client.py" flood --proxy "$p" \
		--src 127.0.0.2 --assocs 16 --count 400 --name 'n%d.slow.e2e.test' \
		--port "$UDP_PORT" --hold 8
	local flood_log=$BG_LOG
	wait_for_log "$flood_log" '^ready' 20 || fail "the flood did not start: $(cat "$flood_log")"
	# 127.0.0.3, meanwhile: its names are looked up at once.
	t0="$(date +%s%N)"
	run hop burst --proxy "$p" --src 127.0.0.3 --name fast.e2e.test --port "$UDP_PORT" \
		--count 5 --wait 5
	t1="$(date +%s%N)"
	assert_success
	assert_output "sent 5 got 5"
	# Well before any of the slow names could have been answered.
	(((t1 - t0) / 1000000 < 4000)) || fail "took $(((t1 - t0) / 1000000)) ms"
	wait_for_log "$flood_log" '^done' 20 || fail "the flood did not end"
	wait_until 10 session_count_is -eq 16 cmd=udp "client=~127\\.0\\.0\\.2:[0-9]+" ||
		fail "not 16 sessions from 127.0.0.2: $(session_lines)"
	# The flood's datagrams beyond its bounds were dropped, and counted.
	local dropped
	dropped="$(session_filter cmd=udp "client=~127\\.0\\.0\\.2:[0-9]+" |
		sed -nE 's/.* dropped=([0-9]+) .*/\1/p' | awk '{ s += $1 } END { print s }')"
	# None of the slow names resolves: every datagram of the flood was
	# dropped, beyond a bound at once or when its name failed or its
	# association ended.
	((dropped == 400)) || fail "$dropped of 400 dropped: $(session_lines)"
	# Only the fast name reached the target.
	[ "$(wc -l <"$UDP_LOG")" -eq 5 ]
	assert_session cmd=udp "client=~127\\.0\\.0\\.3:[0-9]+" lookups=1 dropped=0 result=ok
}

@test "udp hop: associations per client address are limited (--max-udp-per-client); other addresses are not" {
	start_socksifyd --max-udp-per-client 2
	local stop="$E2E_TMP/hold.stop"
	start_bg hold "$PYTHON" "$TOOLS/brakes_client.py" open --proxy "127.0.0.1:$SOCKSIFYD_PORT" \
		--src 127.0.0.2 --cmd udp --count 3 --stop-file "$stop" --hold 30
	local hold_pid=$BG_PID hold_log=$BG_LOG
	wait_for_log "$hold_log" '^granted=' 20 || fail "no counts: $(cat "$hold_log")"
	run cat "$hold_log"
	# The third is refused: SOCKS5 reply 2 (not allowed).
	assert_line "granted=2 refused=1 closed=0 codes=2"
	assert_session cmd=udp "client=~127\\.0\\.0\\.2:[0-9]+" result=client-limit
	# Another address is served while the first holds its two.
	run timeout 30 "$PYTHON" "$TOOLS/brakes_client.py" open --proxy "127.0.0.1:$SOCKSIFYD_PORT" \
		--src 127.0.0.3 --cmd udp --count 2 --hold 0
	assert_line --regexp '^granted=2 refused=0 '
	# Once the first address lets go, it may associate again.
	touch "$stop"
	wait_until 10 eval '! pid_alive '"$hold_pid" || fail "the holder did not stop"
	wait_until 5 session_count_is -eq 2 cmd=udp "client=~127\\.0\\.0\\.2:[0-9]+" result=ok ||
		fail "the held associations did not end: $(session_lines)"
	run timeout 30 "$PYTHON" "$TOOLS/brakes_client.py" open --proxy "127.0.0.1:$SOCKSIFYD_PORT" \
		--src 127.0.0.2 --cmd udp --count 2 --hold 0
	assert_line --regexp '^granted=2 refused=0 '
}
