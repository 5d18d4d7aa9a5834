#!/usr/bin/env bats
# dns_map.bats: issue bullet "the map at its bound: the documented policy
# holds and no live address is reused".
#
# With dns_cache_size = 256: names with open sockets keep their addresses,
# no name is given an address another name had, the least recently used
# unused names are forgotten (their old address maps to nothing and is
# never sent anywhere; asked again they get a fresh address), and when
# every slot is held by an open socket the next lookup fails with
# EAI_AGAIN (gethostbyname: TRY_AGAIN).  progs/dns_map.c drives the map.

load lib/common
load lib/client
load lib/dns
load lib/guard

CAP=256

setup_file() {
	dns_build_progs
}

setup() {
	dns_setup
	guard_setup
	start_dns_counter
	awk 'BEGIN { for (i = 1; i <= 300; i++) printf "127.0.0.1 p%03d.test\n", i }' >>"$PROXY_HOSTS"
	start_tcp_echo
	start_proxy_socksifyd
	dns_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT" "dns_cache_size = $CAP"
}

teardown() {
	guard_teardown
}

@test "map at its bound: pinned names kept, LRU unused names forgotten, no address reused" {
	drun dsfy "$DNS_PROGS/dns_map" lru "$ECHO_PORT"
	assert_success
	refute_line --partial "not a stand-in"
	# 630 names, every one a new address: nothing was handed out twice.
	assert_line "reused=0"
	# The ten names with open sockets kept their addresses and sockets.
	assert_line "pinned ok=10 of 10"
	# 256 slots: the 10 pinned names and the 246 most recently used
	# others; the older flood names and every unused name are gone.
	assert_line "flood live=$((CAP - 10)) first=$((600 - CAP + 11)) last=600 gaps=0"
	assert_line "unused live=0"
	# A forgotten stand-in is refused, never sent direct or to the proxy.
	assert_line "forgotten connect rc=-1 errno=EHOSTUNREACH"
	# Asked again, a forgotten name gets a fresh address that maps to it.
	assert_line "re-resolve new maps=yes"
	refute_line --partial "re-resolve took the address"
	# The proxy saw the ten pinned names, and nothing else.
	assert_equal "$(session_count cmd=connect target=~'p0(0[1-9]|10)\.test:'"$ECHO_PORT" result=ok)" 10
	assert_equal "$(session_count cmd=connect)" 10
	assert_no_queries
}

@test "map at its bound: every slot pinned gives EAI_AGAIN and TRY_AGAIN until a socket closes" {
	drun dsfy "$DNS_PROGS/dns_map" full "$ECHO_PORT" "$CAP"
	assert_success
	assert_line "pinned $CAP"
	assert_line "overflow gai rc=EAI_AGAIN"
	assert_line "overflow ghbn TRY_AGAIN"
	assert_line "pinned still mapped=$CAP"
	assert_line "after close gai rc=0"
	assert_line "after close new address fresh, p001 maps=no"
	assert_line "others still mapped=$((CAP - 1))"
	assert_no_queries
}
