#!/usr/bin/env bats
# server_proxychains.bats: proxychains4 (proxychains-ng from Debian) using
# socksifyd as its proxy, running curl.  proxychains hooks curl's connect()
# and speaks SOCKS itself, so this is a second client implementation.

load lib/common
load lib/dns

setup() {
	e2e_setup
}

teardown() {
	e2e_teardown
}

# pc_conf TYPE [USER PASS]: write a strict_chain proxychains config with
# socksifyd as the only proxy; print its path.
pc_conf() {
	local f="$E2E_TMP/proxychains.conf"
	{
		echo "strict_chain"
		echo "proxy_dns"
		echo "remote_dns_subnet 224"
		echo "tcp_read_time_out 8000"
		echo "tcp_connect_time_out 5000"
		echo "[ProxyList]"
		echo "$1 127.0.0.1 $SOCKSIFYD_PORT ${2:-} ${3:-}"
	} >"$f"
	echo "$f"
}

pc() {
	timeout 30 proxychains4 -q -f "$@"
}

# pc_client_ns: the files lib/dns.bash's in_client_ns mounts for a client:
# an /etc/hosts that knows localhost only, and an /etc/resolv.conf whose
# only name server is a counting one on loopback (start_dns_counter), so a
# name the client tried to resolve itself shows up in $DNS_LOG and no query
# leaves the machine.
pc_client_ns() {
	CLIENT_HOSTS="$E2E_TMP/client.hosts"
	CLIENT_RESOLV="$E2E_TMP/client.resolv.conf"
	DNS_LOG="$E2E_TMP/dns_queries.log"
	: >"$DNS_LOG"
	printf '%s\n' "127.0.0.1 localhost" "::1 localhost" >"$CLIENT_HOSTS"
	start_dns_counter
}

# with_ns_files HOSTS RESOLV CMD [ARGS...]: like with_hosts_file, with
# RESOLV over /etc/resolv.conf as well (exec, same PID).
with_ns_files() {
	local hosts="$1" resolv="$2"
	shift 2
	exec unshare -m sh -c 'mount --bind "$0" /etc/hosts &&
		mount --bind "$1" /etc/resolv.conf && shift && exec "$@"' "$hosts" "$resolv" "$@"
}

@test "proxychains4: socks5 proxy, curl to an IPv4 address" {
	start_socksifyd
	start_http_server
	run pc "$(pc_conf socks5)" curl -sS --max-time 10 "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	assert_session proto=socks5 cmd=connect "target=127.0.0.1:$HTTP_PORT" result=ok
}

@test "proxychains4: socks5 proxy with proxy_dns, curl to a name (sent to the proxy)" {
	# proxychains answers names in /etc/hosts itself, so use one that only
	# socksifyd's private /etc/hosts knows: it must travel to the proxy.
	# Client and proxy run in mount namespaces whose only name server is the
	# counting one on loopback: nothing asks the machine's resolver.
	pc_client_ns
	printf '%s\n' "127.0.0.1 localhost pc-remote.test" "::1 localhost" >"$E2E_TMP/proxy.hosts"
	SOCKSIFYD_WRAP=(with_ns_files "$E2E_TMP/proxy.hosts" "$CLIENT_RESOLV")
	start_socksifyd
	start_http_server
	run in_client_ns proxychains4 -q -f "$(pc_conf socks5)" \
		curl -sS --max-time 10 "http://pc-remote.test:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	# The name itself reached socksifyd, and nobody looked it up by DNS.
	assert_session proto=socks5 cmd=connect "target=pc-remote.test:$HTTP_PORT" result=ok
	assert_no_queries
	# The client side cannot resolve the name, and a lookup it made would
	# have been counted: the check above could have failed.
	run in_client_ns getent hosts pc-remote.test
	assert_failure
	wait_for_log "$DNS_LOG" '^(udp|tcp) pc-remote\.test ' 5 ||
		fail "the client's lookup did not reach the counting name server"
}

@test "proxychains4: a rate-limited upload and its echo cross the relay in many chunks, byte for byte" {
	# --limit-rate spreads 128 KiB over many writes (and reads) each way: a
	# relay that passed on only its first read of a direction would leave
	# the upload or the echo short.
	start_socksifyd
	start_http_server
	head -c 131072 /dev/urandom >"$E2E_TMP/up.bin"
	run pc "$(pc_conf socks5)" curl -sS --max-time 10 --limit-rate 256k \
		--data-binary "@$E2E_TMP/up.bin" -H 'Content-Type: application/octet-stream' \
		-o "$E2E_TMP/echo.bin" "http://127.0.0.1:$HTTP_PORT/echo"
	assert_success
	run cmp "$E2E_TMP/up.bin" "$E2E_TMP/echo.bin"
	assert_success
	assert_session proto=socks5 cmd=connect "target=127.0.0.1:$HTTP_PORT" result=ok
}

@test "proxychains4: socks4 proxy, curl to an IPv4 address" {
	start_socksifyd
	start_http_server
	run pc "$(pc_conf socks4)" curl -sS --max-time 10 "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	assert_session proto=socks4 cmd=connect "target=127.0.0.1:$HTTP_PORT" result=ok
}

@test "proxychains4: socks5 proxy with username and password, right and wrong" {
	start_socksifyd -u carol:pc-pass
	start_http_server
	run pc "$(pc_conf socks5 carol pc-pass)" curl -sS --max-time 10 "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	assert_session proto=socks5 user=carol "target=127.0.0.1:$HTTP_PORT" result=ok
	run pc "$(pc_conf socks5 carol wrong)" curl -sS --max-time 10 "http://127.0.0.1:$HTTP_PORT/"
	assert_failure
	assert_session result=auth-failed
	[ "$(http_request_count)" -eq 1 ]
}
