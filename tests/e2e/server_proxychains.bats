#!/usr/bin/env bats
# server_proxychains.bats: proxychains4 (proxychains-ng from Debian) using
# socksifyd as its proxy, running curl.  proxychains hooks curl's connect()
# and speaks SOCKS itself, so this is a second client implementation.

load lib/common

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
	{
		echo "127.0.0.1 pc-remote.test"
		cat /etc/hosts
	} >"$E2E_TMP/hosts"
	SOCKSIFYD_WRAP=(with_hosts_file "$E2E_TMP/hosts")
	start_socksifyd
	start_http_server
	! getent hosts pc-remote.test
	run pc "$(pc_conf socks5)" curl -sS --max-time 10 "http://pc-remote.test:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	assert_session proto=socks5 cmd=connect "target=pc-remote.test:$HTTP_PORT" result=ok
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
