#!/usr/bin/env bats
# dns_connect.bats: what happens to stand-in addresses after resolution:
# the configured ranges, connect() to an address that maps to no name,
# sendto() to a stand-in, a proxychains.conf with proxy_dns, and the DNS
# line of `socksify --check`.

load lib/common
load lib/client
load lib/dns
load lib/guard

setup_file() {
	dns_build_progs
}

setup() {
	dns_setup
	guard_setup
	start_dns_counter
	printf '%s\n' "127.0.0.1 echo-target.test" >>"$PROXY_HOSTS"
	start_tcp_echo
	start_proxy_socksifyd
	dns_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
}

teardown() {
	guard_teardown
}

@test "stand-ins come from fake_ipv4 and fake_ipv6 when configured, and connect by name" {
	dns_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT" \
		"fake_ipv4 = 10.250.0.0/16" "fake_ipv6 = fd00:5eed::/64"
	drun dsfy "$DNS_PROGS/dns_probe" "gai echo-target.test - unspec 0 stream" \
		"conn echo-target.test $ECHO_PORT inet" "conn echo-target.test $ECHO_PORT inet6"
	assert_success
	assert_line --index 1 --regexp '^ai inet 10\.250\.[0-9]+\.[0-9]+ 0 stream 6$'
	assert_line --index 2 --regexp '^ai inet6 fd00:5eed::[0-9a-f:]+ 0 stream 6$'
	assert_line --index 3 --regexp '^conn ok peer=10\.250\.[0-9]+\.[0-9]+ echo=ok$'
	assert_line --index 4 --regexp '^conn ok peer=fd00:5eed::[0-9a-f:]+ echo=ok$'
	assert_equal "$(session_count cmd=connect target="echo-target.test:$ECHO_PORT" result=ok)" 2
	assert_no_queries
}

@test "connect to a stand-in that maps to no name fails with EHOSTUNREACH and goes nowhere" {
	drun dsfy "$DNS_PROGS/dns_probe" "connaddr 240.77.77.77 $ECHO_PORT" \
		"connaddr 100::7777:7777 $ECHO_PORT"
	assert_success
	assert_line --index 0 "connaddr errno=EHOSTUNREACH"
	assert_line --index 1 "connaddr errno=EHOSTUNREACH"
	assert_equal "$(session_count)" 0
	assert_equal "$(wc -l <"$ECHO_LOG")" 0
}

@test "a stand-in from another process maps to no name here: EHOSTUNREACH" {
	local a
	drun dsfy "$DNS_PROGS/dns_probe" "gai echo-target.test - inet 0 stream"
	assert_success
	a="$(awk '$1 == "ai" { print $3; exit }' <<<"$output")"
	[[ "$a" =~ ^240\. ]] || fail "not a stand-in: $a"
	drun dsfy "$DNS_PROGS/dns_probe" "connaddr $a $ECHO_PORT"
	assert_line "connaddr errno=EHOSTUNREACH"
	assert_equal "$(session_count)" 0
}

@test "sendto a stand-in with udp = direct fails with EAFNOSUPPORT" {
	# (With the default udp = chain the name goes to the proxy instead:
	# udp_client.bats.)
	dns_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT" "udp = direct"
	drun dsfy "$DNS_PROGS/dns_probe" "gai echo-target.test 53 inet 0 dgram" "udp @ 53"
	assert_success
	assert_line --index 1 --regexp '^ai inet 240\.'
	assert_line --index 2 "udp errno=EAFNOSUPPORT"
	assert_no_queries
}

@test "a proxychains.conf with proxy_dns sends names to the proxy" {
	local pc="$E2E_TMP/proxychains.conf"
	printf '%s\n' strict_chain proxy_dns "[ProxyList]" "socks5 127.0.0.1 $SOCKSIFYD_PORT" >"$pc"
	SFY_CONF="$pc"
	drun dsfy "$DNS_PROGS/dns_probe" "conn echo-target.test $ECHO_PORT unspec"
	assert_success
	assert_line --regexp '^conn ok peer=240\.[0-9.]+ echo=ok$'
	assert_session cmd=connect target="echo-target.test:$ECHO_PORT" result=ok
	assert_no_queries
}

@test "socksify --check prints the DNS mode and ranges" {
	run in_client_ns "$LAUNCHER" -f "$SFY_CONF" --check
	assert_success
	# The contract's example line; the wording between mode and ranges may vary.
	assert_line --regexp '^dns remote: (.*)?stand-ins 240\.0\.0\.0/8 and 100::/64, up to 65536 names$'
	dns_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT" "fake_ipv4 = 10.250.0.0/16" \
		"fake_ipv6 = fd00:5eed::/64" "dns_cache_size = 1000"
	run in_client_ns "$LAUNCHER" -f "$SFY_CONF" --check
	assert_success
	assert_line --regexp '^dns remote: (.*)?stand-ins 10\.250\.0\.0/16 and fd00:5eed::/64, up to 1000 names$'
	dns_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT" "dns = local"
	run in_client_ns "$LAUNCHER" -f "$SFY_CONF" --check
	assert_success
	assert_line --regexp '^dns local'
}
