#!/usr/bin/env bats
# server_udp.bats: UDP ASSOCIATE byte by byte (tools/socks_client.py): one
# relay per association, datagrams only from the client's IP, 0.0.0.0:0
# pins to the first sender's port, FRAG != 0 dropped, names resolved by
# the relay, replies carry the real source, and the relay dies with the
# TCP control connection.

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

@test "UDP: associate 0.0.0.0:0, datagrams echo back with the target as their source" {
	start_socksifyd
	start_udp_echo
	run sc udp --count 4 --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "127.0.0.1:$UDP_PORT"
	assert_success
	assert_line "udp ok 4 source=127.0.0.1:$UDP_PORT"
	[ "$(wc -l <"$UDP_LOG")" -eq 4 ]
	assert_session proto=socks5 cmd=udp result=ok
}

@test "UDP: associate naming the client's real address and port" {
	start_socksifyd
	start_udp_echo
	run sc udp --declare --count 2 --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "127.0.0.1:$UDP_PORT"
	assert_success
	assert_line "udp ok 2 source=127.0.0.1:$UDP_PORT"
}

@test "UDP: a domain destination is resolved by the relay; the reply carries the real source" {
	SOCKSIFYD_WRAP=(with_hosts_file "$(loopback_hosts)")
	start_socksifyd
	start_udp_echo
	run sc udp --count 2 --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "$V4NAME:$UDP_PORT"
	assert_success
	# Not the name back: the address the datagram really came from.
	assert_line "udp ok 2 source=127.0.0.1:$UDP_PORT"
	[ "$(wc -l <"$UDP_LOG")" -eq 2 ]
}

@test "UDP: an IPv6 destination through an IPv4 control connection" {
	start_socksifyd
	start_udp_echo ::1
	run sc udp --count 2 --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "[::1]:$UDP_PORT"
	assert_success
	assert_line "udp ok 2 source=[::1]:$UDP_PORT"
}

@test "UDP: over an IPv6 listener to an IPv6 destination" {
	start_socksifyd -l '[::1]:0'
	start_udp_echo ::1
	run sc udp --count 2 --proxy "[::1]:$SOCKSIFYD_PORT" --target "[::1]:$UDP_PORT"
	assert_success
	assert_line "udp ok 2 source=[::1]:$UDP_PORT"
}

@test "UDP: datagrams with FRAG != 0 are dropped" {
	start_socksifyd
	start_udp_echo
	run sc udp --expect-drop --frag 1 --count 2 --proxy "127.0.0.1:$SOCKSIFYD_PORT" \
		--target "127.0.0.1:$UDP_PORT"
	assert_success
	assert_line "dropped ok 2"
	assert_line --partial "then good datagram ok"
	# Only the good datagram reached the echo server.
	[ "$(wc -l <"$UDP_LOG")" -eq 1 ]
}

@test "UDP: datagrams from another IP than the client's (127.0.0.2) are dropped" {
	start_socksifyd
	start_udp_echo
	run sc udp --expect-drop --from 127.0.0.2 --count 2 --proxy "127.0.0.1:$SOCKSIFYD_PORT" \
		--target "127.0.0.1:$UDP_PORT"
	assert_success
	assert_line "dropped ok 2"
	assert_line --partial "then good datagram ok"
	[ "$(wc -l <"$UDP_LOG")" -eq 1 ]
}

@test "UDP: an association of 0.0.0.0:0 pins to the first datagram's port" {
	start_socksifyd
	start_udp_echo
	run sc udp-pin --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "127.0.0.1:$UDP_PORT"
	assert_success
	assert_line "pin ok"
	[ "$(wc -l <"$UDP_LOG")" -eq 2 ]
}

@test "UDP: the relay dies with its TCP control connection" {
	start_socksifyd
	start_udp_echo
	run sc udp-close --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "127.0.0.1:$UDP_PORT"
	assert_success
	assert_line "closed ok"
	[ "$(wc -l <"$UDP_LOG")" -eq 1 ]
	assert_session cmd=udp result=ok
}

@test "UDP: each association gets its own relay port" {
	start_socksifyd
	# Two associations open at once.
	run timeout 20 "$PYTHON" -c '
import sys
sys.path.insert(0, sys.argv[2])
import socksraw as sr
a = sr.connect(sys.argv[1]); b = sr.connect(sys.argv[1])
ra = sr.handshake5(a, sr.SOCKS5_UDP, "0.0.0.0", 0)
rb = sr.handshake5(b, sr.SOCKS5_UDP, "0.0.0.0", 0)
print(ra[0], rb[0], ra[2] != rb[2])
' "127.0.0.1:$SOCKSIFYD_PORT" "$TOOLS"
	assert_success
	assert_output "0 0 True"
}
