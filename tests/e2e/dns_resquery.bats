#!/usr/bin/env bats
# dns_resquery.bats: the raw resolver calls under socksify: res_query,
# res_search, res_querydomain, res_send, their res_n* forms, the __res_*
# names older binaries call, and getaddrinfo_a.  Since glibc 2.34 they
# live in libc, where they reach the name server without passing through
# getaddrinfo; with dns = remote they must be answered inside the process.
#
# progs/dns_resquery.c makes the calls and prints each answer as glibc's
# own parser (ns_initparse, ns_parserr) reads it.  It runs in the client's
# mount namespace (a hosts file that knows only localhost and
# hosts-only.test, a resolv.conf naming only a counting name server), and
# every remote-DNS test checks that no query reached that server; the
# dns = local test checks that they do, so the others can fail.

load lib/common
load lib/client
load lib/dns
load lib/guard

T=echo-target.test
V4='10\.250\.[0-9]+\.[0-9]+'
V6='fd00:5eed::[0-9a-f:]+'

setup_file() {
	dns_build_progs
	if command -v clang >/dev/null 2>&1; then
		clang -D_GNU_SOURCE -O1 -g -fsanitize=address,undefined -pthread \
			-o "$DNS_PROGS/dns_resquery_asan" "$REPO/tests/e2e/progs/dns_resquery.c"
	fi
}

setup() {
	dns_setup
	guard_setup
	start_dns_counter
	printf '%s\n' "127.0.0.1 $T" >>"$PROXY_HOSTS"
	start_tcp_echo
	start_proxy_socksifyd
	dns_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT" \
		"fake_ipv4 = 10.250.0.0/16" "fake_ipv6 = fd00:5eed::/64"
}

teardown() {
	guard_teardown
}

# probe CMD...: run dns_resquery under socksify (sets output/lines/status).
probe() {
	drun dsfy "$DNS_PROGS/dns_resquery" "$@"
	assert_success
}

# an_addrs TYPE: the addresses of the "an" lines of $output of TYPE (a or
# aaaa), one per line, in order.
an_addrs() {
	printf '%s\n' "${lines[@]}" | awk -v t="$1" '$1 == "an" && $3 == t { print $6 }'
}

# ai_addrs FAM: the addresses of the "ai" lines (getaddrinfo_a) of FAM.
ai_addrs() {
	printf '%s\n' "${lines[@]}" | awk -v f="$1" '$1 == "ai" && $2 == f { print $3 }'
}

# one_addr TYPE REGEX: print the one address all TYPE answers gave, after
# checking there is one and it matches REGEX.
one_addr() {
	local all
	all="$(an_addrs "$1" | sort -u)"
	[[ -n "$all" && "$all" != *$'\n'* ]] || fail "$1 answers differ or are missing: $all"
	[[ "$all" =~ ^$2$ ]] || fail "$1 answer $all does not match $2"
	echo "$all"
}

# connections_to NAME PORT N: wait (5 s) until socksifyd logged N
# successful CONNECTs to NAME:PORT, and no more.
connections_to() {
	wait_until 5 session_count_is -ge "$3" cmd=connect target="$1:$2" result=ok || true
	assert_equal "$(session_count cmd=connect target="$1:$2" result=ok)" "$3"
}

@test "resolver: a C program calling res_query, res_search, res_send and getaddrinfo_a: zero queries counted, and A/AAAA answers carry stand-ins" {
	start_capture
	probe "q query $T a" "conn @4 $ECHO_PORT" "q search $T aaaa" "conn @6 $ECHO_PORT" \
		"send send $T a" "send send $T aaaa" "gaia wait none $T" "conn @4 $ECHO_PORT"
	assert_line --index 0 "query rc=50"
	assert_line --index 1 --regexp '^hdr id=[0-9]+ qr=1 opcode=0 aa=0 tc=0 rd=1 ra=1 rcode=NOERROR qd=1 an=1 ns=0 ar=0$'
	assert_line --index 2 "qd $T a 1"
	assert_line --index 3 --regexp "^an $T a 1 60 $V4 ptr=1\$"
	assert_line --index 4 "conn ok"
	assert_line --index 5 "search rc=62"
	assert_line --index 7 "qd $T aaaa 1"
	assert_line --index 8 --regexp "^an $T aaaa 1 60 $V6 ptr=1\$"
	assert_line --index 9 "conn ok"
	assert_line --index 10 "send len=50"
	assert_line --index 11 'hdr id=match qr=1 opcode=0 aa=0 tc=0 rd=1 ra=1 rcode=NOERROR qd=1 an=1 ns=0 ar=0'
	assert_line "send len=62"
	# One name, one stand-in per family, whichever call asked.
	local a4 a6
	a4="$(one_addr a "$V4")"
	a6="$(one_addr aaaa "$V6")"
	assert_equal "$(ai_addrs inet)" "$a4"
	assert_equal "$(ai_addrs inet6)" "$a6"
	assert_line "cb $T err=0"
	assert_equal "$(grep -c '^conn ok$' <<<"$output")" 3
	# The proxy was asked for the name each time.
	connections_to "$T" "$ECHO_PORT" 3
	assert_no_leak
}

@test "resolver: res_nquery, res_nsearch, res_nquerydomain and res_nsend answer from the stand-in map" {
	probe "q nquery $T a" "q nsearch $T aaaa" "q nquerydomain echo-target aaaa test" \
		"send nsend $T a" "send nsend $T aaaa" "q query $T a" "conn @4 $ECHO_PORT"
	assert_line --index 0 "nquery rc=50"
	assert_line "nsearch rc=62"
	assert_line "nquerydomain rc=62"
	assert_equal "$(grep -c "^qd $T aaaa 1\$" <<<"$output")" 3
	assert_equal "$(grep -c '^hdr id=match .* rcode=NOERROR qd=1 an=1 ' <<<"$output")" 2
	refute_line --regexp 'ptr=0|parse error|rc=-1'
	one_addr a "$V4" >/dev/null
	one_addr aaaa "$V6" >/dev/null
	assert_line "conn ok"
	connections_to "$T" "$ECHO_PORT" 1
	assert_no_queries
}

@test "resolver: res_querydomain asks for name.domain, or the name alone without a domain" {
	probe "q querydomain echo-target a test" "q querydomain $T a -" \
		"q querydomain $T. aaaa -" "q query $T a" "q querydomain other a test" \
		"q querydomain echo-target a test" "conn @4 $ECHO_PORT"
	assert_equal "$(grep -c "^qd $T a 1\$" <<<"$output")" 4
	assert_line "qd $T aaaa 1"
	assert_line "qd other.test a 1"
	# echo-target + test is the name itself: same stand-in as res_query's.
	local a4 other
	a4="$(printf '%s\n' "${lines[@]}" | awk -v n="$T" '$1 == "an" && $2 == n && $3 == "a" { print $6 }' | sort -u)"
	[[ "$a4" =~ ^$V4$ ]] || fail "answers for $T differ: $a4"
	other="$(printf '%s\n' "${lines[@]}" | awk '$1 == "an" && $2 == "other.test" { print $6 }')"
	[[ "$other" =~ ^$V4$ && "$other" != "$a4" ]] || fail "other.test got $other ($T: $a4)"
	assert_line "conn ok"
	connections_to "$T" "$ECHO_PORT" 1
	assert_no_queries
}

@test "resolver: a question other than A or AAAA fails cleanly: NO_RECOVERY, REFUSED, zero queries" {
	probe "q query $T mx" "q search $T txt" "q nquery $T srv" "q querydomain echo-target ptr test" \
		"send send $T mx" "send nsend 1.0.0.127.in-addr.arpa ptr" "send send $T any" \
		"q query $T a"
	assert_line --index 0 "query rc=-1 h_errno=NO_RECOVERY"
	assert_line --index 1 "search rc=-1 h_errno=NO_RECOVERY"
	assert_line --index 2 "nquery rc=-1 h_errno=NO_RECOVERY state=NO_RECOVERY"
	assert_line --index 3 "querydomain rc=-1 h_errno=NO_RECOVERY"
	# res_send: a whole response, the question echoed, no answer.
	assert_line --index 4 "send len=34"
	assert_line --index 5 'hdr id=match qr=1 opcode=0 aa=0 tc=0 rd=1 ra=1 rcode=REFUSED qd=1 an=0 ns=0 ar=0'
	assert_line --index 6 "qd $T mx 1"
	assert_line "qd 1.0.0.127.in-addr.arpa ptr 1"
	assert_line "qd $T any 1"
	assert_equal "$(grep -c '^hdr id=match .* rcode=REFUSED qd=1 an=0 ' <<<"$output")" 3
	# The lookups that were refused took nothing from the name map.
	assert_line --regexp "^an $T a 1 60 10\\.250\\.0\\.1 ptr=1\$"
	assert_no_queries
}

@test "resolver: res_send answers NOTIMP to another opcode and FORMERR to a query it cannot read" {
	# An UPDATE (opcode 5), a query with two questions and none present,
	# a question cut short, and a packet shorter than a header.
	probe "sendraw abcd28000001000000000000" "sendraw abcd01000002000000000000" \
		"sendraw abcd010000010000000000000565" "sendraw abcd0100"
	assert_line --index 1 'hdr id=match qr=1 opcode=5 aa=0 tc=0 rd=0 ra=1 rcode=NOTIMP qd=0 an=0 ns=0 ar=0'
	assert_line --index 4 'hdr id=match qr=1 opcode=0 aa=0 tc=0 rd=1 ra=1 rcode=FORMERR qd=0 an=0 ns=0 ar=0'
	assert_line --index 7 'hdr id=match qr=1 opcode=0 aa=0 tc=0 rd=1 ra=1 rcode=FORMERR qd=0 an=0 ns=0 ar=0'
	assert_line --index 9 "sendraw len=-1 errno=22"
	assert_no_queries
}

@test "resolver: an answer that does not fit: res_query says NETDB_INTERNAL, res_send sets TC" {
	# The header and question of $T take 34 bytes, its A record 16 more.
	probe "q query $T a - 49" "send send $T a 49" "send send $T a 20" \
		"send send $T a 11" "q query $T a - 50"
	assert_line --index 0 "query rc=-1 h_errno=NETDB_INTERNAL"
	assert_line --index 1 "send len=34"
	assert_line --index 2 'hdr id=match qr=1 opcode=0 aa=0 tc=1 rd=1 ra=1 rcode=NOERROR qd=1 an=0 ns=0 ar=0'
	# No room for the question: the header alone says TC.
	assert_line --index 5 "send len=12"
	assert_line --index 6 'hdr id=match qr=1 opcode=0 aa=0 tc=1 rd=1 ra=1 rcode=NOERROR qd=0 an=0 ns=0 ar=0'
	assert_line "send len=-1 errno=22"
	# Exactly enough room: the whole answer.
	assert_line "query rc=50"
	assert_line --regexp "^an $T a 1 60 $V4 ptr=1\$"
	assert_no_queries
}

@test "resolver: hosts file names and localhost answer their hosts file addresses" {
	probe "q query $HOSTS_ONLY a" "q search HOSTS-ONLY.TEST aaaa" "send send hosts-alias.test a" \
		"q query localhost aaaa" "q nquery foo.localhost a" "gaia wait none $HOSTS_ONLY"
	assert_line "an $HOSTS_ONLY a 1 60 127.0.0.7 ptr=1"
	assert_line "an HOSTS-ONLY.TEST aaaa 1 60 ::7 ptr=1"
	assert_line "an hosts-alias.test a 1 60 127.0.0.7 ptr=1"
	assert_line "an localhost aaaa 1 60 ::1 ptr=1"
	assert_line "an foo.localhost a 1 60 127.0.0.1 ptr=1"
	assert_line "ai inet 127.0.0.7"
	assert_line "ai inet6 ::7"
	refute_line --regexp "$V4|$V6"
	assert_no_queries
}

@test "resolver: a numeric name is its own A answer and has no AAAA" {
	probe "q query 10.1.2.3 a" "q query 10.1.2.3 aaaa" "q query 2001:db8::5 aaaa"
	assert_line "an 10.1.2.3 a 1 60 10.1.2.3 ptr=1"
	assert_line "query rc=-1 h_errno=NO_DATA"
	assert_line "an 2001:db8::5 aaaa 1 60 2001:db8::5 ptr=1"
	assert_no_queries
}

@test "resolver: getaddrinfo_a notifies through SIGEV_NONE, SIGEV_SIGNAL and SIGEV_THREAD; gai_error, gai_suspend, gai_cancel and freeaddrinfo work" {
	probe "gaia nowait none $T,other.test" "gaia nowait signal $T" \
		"gaia nowait thread $T,$HOSTS_ONLY" "gaia wait none other.test"
	assert_equal "$(grep -c '^gaia ret=0$' <<<"$output")" 4
	assert_line "gaia note=signal"
	assert_line "gaia note=thread"
	refute_line --regexp 'note=(no-|.*-bad)'
	refute_line --regexp '^cb .* err=[^0]'
	assert_equal "$(grep -c "^cb $T err=0\$" <<<"$output")" 3
	assert_line "ai inet 127.0.0.7"
	# Finished requests, as glibc reports them for its own finished ones.
	assert_equal "$(grep -c '^gaia suspend=EAI_ALLDONE cancel=EAI_ALLDONE$' <<<"$output")" 4
	assert_equal "$(in_client_ns "$DNS_PROGS/dns_resquery" "gaia wait none localhost" | tail -n 1)" \
		"gaia suspend=EAI_ALLDONE cancel=EAI_ALLDONE"
	# Two names, two stand-ins per family: $T's and other.test's.
	local a
	assert_equal "$(ai_addrs inet | grep -vxF 127.0.0.7 | sort -u | wc -l)" 2
	assert_equal "$(ai_addrs inet6 | grep -vxF ::7 | sort -u | wc -l)" 2
	for a in $(ai_addrs inet | grep -vxF 127.0.0.7) $(ai_addrs inet6 | grep -vxF ::7); do
		[[ "$a" =~ ^($V4|$V6)$ ]] || fail "not a stand-in: $a"
	done
	assert_no_queries
}

@test "resolver: the names binaries built before glibc 2.34 call (__res_query ... __res_nsend) are answered too" {
	probe "q oquery $T a" "q osearch $T aaaa" "q oquerydomain echo-target a test" \
		"q onquery $T a" "q onsearch $T aaaa" "q onquerydomain echo-target aaaa test" \
		"send osend $T a" "send onsend $T mx" "conn @6 $ECHO_PORT"
	assert_line --index 0 "oquery rc=50"
	assert_line "osearch rc=62"
	assert_line "oquerydomain rc=50"
	assert_line "onquery rc=50"
	assert_line "onsearch rc=62"
	assert_line "onquerydomain rc=62"
	assert_line "osend len=50"
	assert_line 'hdr id=match qr=1 opcode=0 aa=0 tc=0 rd=1 ra=1 rcode=REFUSED qd=1 an=0 ns=0 ar=0'
	one_addr a "$V4" >/dev/null
	one_addr aaaa "$V6" >/dev/null
	assert_line "conn ok"
	connections_to "$T" "$ECHO_PORT" 1
	assert_no_queries
}

@test "resolver: with dns = local, res_query, res_search, res_send, the n and __res forms, and getaddrinfo_a ask the name server" {
	dns_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT" "dns = local" \
		"fake_ipv4 = 10.250.0.0/16" "fake_ipv6 = fd00:5eed::/64"
	drun dsfy "$DNS_PROGS/dns_resquery" "q query local-a.test a" "q search local-b.test aaaa" \
		"send send local-c.test a" "q nquery local-d.test a" "q querydomain local-e mx test" \
		"send nsend local-f.test a" "q oquery local-g.test a" "send onsend local-h.test a" \
		"gaia wait none local-i.test"
	assert_success
	refute_line --regexp "$V4|$V6"
	local n
	for n in "local-a.test 1" "local-b.test 28" "local-c.test 1" "local-d.test 1" \
		"local-e.test 15" "local-f.test 1" "local-g.test 1" "local-h.test 1" "local-i.test 1"; do
		wait_for_log "$DNS_LOG" "^(udp|tcp) $n\$" 5 || {
			echo "the name server got no query for $n:"
			cat "$DNS_LOG"
		} | fail
	done
}

@test "resolver: dig reads the res_send responses: the stand-in answer and the REFUSED one" {
	probe "send send $T a" "send send $T mx"
	local a4 hex_a hex_mx
	a4="$(one_addr a "$V4")"
	hex_a="$(printf '%s\n' "${lines[@]}" | awk '$1 == "hex" { print $2 }' | sed -n 1p)"
	hex_mx="$(printf '%s\n' "${lines[@]}" | awk '$1 == "hex" { print $2 }' | sed -n 2p)"
	serve_once "$hex_a"
	run dig +tries=1 +timeout=5 -p "$STUB_PORT" @127.0.0.1 "$T" A
	assert_success
	assert_line --partial "status: NOERROR"
	assert_line --partial "flags: qr rd ra; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 0"
	assert_line --regexp "^${T//./\\.}\\.[[:space:]]+60[[:space:]]+IN[[:space:]]+A[[:space:]]+${a4//./\\.}\$"
	serve_once "$hex_mx"
	run dig +tries=1 +timeout=5 -p "$STUB_PORT" @127.0.0.1 "$T" MX
	assert_success
	assert_line --partial "status: REFUSED"
	assert_line --partial "QUERY: 1, ANSWER: 0"
	assert_no_queries
}

@test "resolver: every raw resolver call under ASan and UBSan: no report, no leak" {
	local asan
	asan="$(sanitizer_build "${SOCKSIFY_BUILD_ASAN:-}" "$REPO/build-asan")" ||
		skip "no AddressSanitizer build of the library (set SOCKSIFY_BUILD_ASAN or build $REPO/build-asan with -DSOCKSIFY_SANITIZE=address)"
	[[ -x "$DNS_PROGS/dns_resquery_asan" ]] || fail "clang could not build dns_resquery with -fsanitize=address"
	local c=("q query $T a" "q search $T. aaaa" "q querydomain echo-target a test"
		"q nquery $T mx" "q nquerydomain echo-target aaaa test" "q oquery $T a - 40"
		"send send $T a" "send nsend $T txt" "send send $T a 30" "sendraw abcd0100"
		"sendraw abcd010000010000000000000565" "sendraw abcd28000001000000000000"
		"q query $HOSTS_ONLY aaaa" "q query 10.1.2.3 a"
		"gaia nowait thread $T,$HOSTS_ONLY" "gaia nowait signal $T" "gaia wait none $T")
	run in_client_ns env SOCKSIFY_BUILD="$asan" ASAN_OPTIONS="detect_leaks=1:abort_on_error=0" \
		UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" "$LAUNCHER" -f "$SFY_CONF" -- \
		"$DNS_PROGS/dns_resquery_asan" "${c[@]}"
	if [[ "$output" =~ (ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:) ]]; then
		fail "sanitizer report: $output"
	fi
	assert_success
	assert_line "gaia note=thread"
	assert_line --regexp "^an $T a 1 60 $V4 ptr=1\$"
	assert_no_queries
}

# serve_once HEX: a name server on 127.0.0.1 (port in STUB_PORT) that
# answers one query with the response HEX under the query's own id.
serve_once() {
	local pf="$E2E_TMP/stub.$RANDOM.port"
	start_bg stub "$PYTHON" -c 'import socket, sys
r = bytes.fromhex(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
import os
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
s.settimeout(20)
q, peer = s.recvfrom(4096)
s.sendto(q[:2] + r[2:], peer)' "$1" "$pf"
	wait_for_file "$pf" 10 || fail "the stub name server did not start: $(cat "$BG_LOG")"
	STUB_PORT="$(cat "$pf")"
}
