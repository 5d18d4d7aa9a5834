#!/usr/bin/env bats
# server_pysocks.bats: PySocks (python3-socks, /usr/bin/python3) as the
# client: CONNECT with remote DNS on and off, SOCKS4, RFC 1929, and UDP
# through UDP ASSOCIATE to a local echo server.

load lib/common

setup() {
	e2e_setup
}

teardown() {
	e2e_teardown
}

pysocks() {
	timeout 30 "$PYTHON" "$TOOLS/pysocks_client.py" "$@"
}

@test "PySocks: CONNECT with rdns off (client resolves, IPv4 sent)" {
	local hosts
	hosts="$(loopback_hosts)"
	start_socksifyd
	start_http_server
	# The client resolves the name, in a namespace where it means 127.0.0.1.
	run with_hosts_file "$hosts" timeout 30 "$PYTHON" "$TOOLS/pysocks_client.py" \
		tcp --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "$V4NAME:$HTTP_PORT"
	assert_success
	assert_output "$HTTP_BODY"
	assert_session proto=socks5 cmd=connect "target=127.0.0.1:$HTTP_PORT" result=ok
	refute_session "target=$V4NAME:$HTTP_PORT"
}

@test "PySocks: CONNECT with rdns on (name sent to the proxy)" {
	start_socksifyd
	start_http_server
	run pysocks tcp --rdns --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "localhost:$HTTP_PORT"
	assert_success
	assert_output "$HTTP_BODY"
	assert_session proto=socks5 cmd=connect "target=localhost:$HTTP_PORT" result=ok
}

@test "PySocks: CONNECT over SOCKS4 and SOCKS4a (rdns off and on)" {
	start_socksifyd
	start_http_server
	run pysocks tcp --socks4 --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "127.0.0.1:$HTTP_PORT"
	assert_success
	assert_output "$HTTP_BODY"
	assert_session proto=socks4 "target=127.0.0.1:$HTTP_PORT" result=ok
	run pysocks tcp --socks4 --rdns --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "localhost:$HTTP_PORT"
	assert_success
	assert_output "$HTTP_BODY"
	assert_session proto=socks4a "target=localhost:$HTTP_PORT" result=ok
}

@test "PySocks: CONNECT with username and password (rdns on)" {
	start_socksifyd -u bob:pw-bob
	start_http_server
	run pysocks tcp --rdns --user bob --pass pw-bob --proxy "127.0.0.1:$SOCKSIFYD_PORT" \
		--target "localhost:$HTTP_PORT"
	assert_success
	assert_output "$HTTP_BODY"
	assert_session user=bob "target=localhost:$HTTP_PORT" result=ok
	run pysocks tcp --rdns --user bob --pass nope --proxy "127.0.0.1:$SOCKSIFYD_PORT" \
		--target "localhost:$HTTP_PORT"
	assert_failure
	assert_session result=auth-failed
	[ "$(http_request_count)" -eq 1 ]
}

@test "PySocks: UDP through UDP ASSOCIATE to a local UDP echo server" {
	start_socksifyd
	start_udp_echo
	run pysocks udp --count 5 --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "127.0.0.1:$UDP_PORT"
	assert_success
	assert_line "udp ok 5 from 127.0.0.1:$UDP_PORT"
	# The echo server saw the relay, not the client's own socket.
	local local_port
	local_port="$(sed -n 's/^local=//p' <<<"$output")"
	[ "$(wc -l <"$UDP_LOG")" -eq 5 ]
	run awk '{print $1, $2}' "$UDP_LOG"
	refute_output --partial "127.0.0.1 $local_port"
	assert_session proto=socks5 cmd=udp result=ok
}

@test "PySocks: UDP with rdns sends the name, the relay resolves it" {
	SOCKSIFYD_WRAP=(with_hosts_file "$(loopback_hosts)")
	start_socksifyd
	start_udp_echo
	run pysocks udp --rdns --count 2 --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "$V4NAME:$UDP_PORT"
	assert_success
	assert_line --partial "udp ok 2 from"
	[ "$(wc -l <"$UDP_LOG")" -eq 2 ]
	assert_session proto=socks5 cmd=udp result=ok
}

@test "PySocks: UDP to an IPv6 echo server" {
	start_socksifyd
	start_udp_echo ::1
	run pysocks udp --count 2 --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "[::1]:$UDP_PORT"
	assert_success
	assert_line "udp ok 2 from ::1:$UDP_PORT"
	[ "$(wc -l <"$UDP_LOG")" -eq 2 ]
	assert_session proto=socks5 cmd=udp result=ok
}

@test "PySocks: CONNECT carries 40 spaced writes each way byte for byte (SOCKS5, SOCKS4a)" {
	# Each write goes 20 ms after the last and is echoed while the next are
	# sent, so the relay carries many separate chunks in both directions.
	start_socksifyd
	start_tcp_echo
	run pysocks tcp --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "127.0.0.1:$ECHO_PORT" \
		--echo 40000 --chunks 40 --gap 0.02
	assert_success
	assert_output "echo ok 40000 in 40 writes"
	run pysocks tcp --socks4 --rdns --proxy "127.0.0.1:$SOCKSIFYD_PORT" \
		--target "localhost:$ECHO_PORT" --echo 40000 --chunks 40 --gap 0.02
	assert_success
	assert_output "echo ok 40000 in 40 writes"
	assert_session proto=socks5 "target=127.0.0.1:$ECHO_PORT" result=ok
	assert_session proto=socks4a "target=localhost:$ECHO_PORT" result=ok
}
