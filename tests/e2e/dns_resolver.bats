#!/usr/bin/env bats
# dns_resolver.bats: the resolver calls under socksify with dns = remote,
# one hints case or call per test (issue bullet "getnameinfo and
# gethostbyaddr on a stand-in address return the name; numeric lookups
# return numbers; gethostbyname_r with a too-small buffer gives ERANGE").
#
# progs/dns_probe.c makes the calls and prints what they returned.  It runs
# in the client's mount namespace (a hosts file that knows only localhost
# and hosts-only.test, a resolv.conf naming only a counting name server),
# and every test ends by checking that no query reached that server.
# Where libc's own answer is the right one (numbers, NULL node, hosts file
# names) the same calls run without socksify for comparison.

load lib/common
load lib/client
load lib/dns
load lib/guard

V4='240\.[0-9]+\.[0-9]+\.[0-9]+'
V6='100::[0-9a-f:]+'
NAME=remote-name.test

setup_file() {
	dns_build_progs
	if command -v clang >/dev/null 2>&1; then
		clang -D_GNU_SOURCE -O1 -g -fsanitize=address,undefined -pthread \
			-o "$DNS_PROGS/dns_probe_asan" "$REPO/tests/e2e/progs/dns_probe.c"
	fi
}

setup() {
	dns_setup
	guard_setup
	start_dns_counter
	# Nothing listens there: these tests resolve, they do not connect.
	dns_conf "proxy = socks5://127.0.0.1:1"
}

teardown() {
	guard_teardown
}

# probe CMD...: run dns_probe under socksify (sets output/lines/status).
probe() {
	drun dsfy "$DNS_PROGS/dns_probe" "$@"
	assert_success
}

# native CMD...: print what dns_probe says without socksify, in the same
# namespace (libc's own answer).
native() {
	in_client_ns "$DNS_PROGS/dns_probe" "$@"
}

# shape: the "ai" lines of $output without their address field.
shape() {
	printf '%s\n' "${lines[@]}" | awk '$1 == "ai" { $3 = ""; print }'
}

# native_shape CMD...: the same for libc's answer.
native_shape() {
	native "$@" | awk '$1 == "ai" { $3 = ""; print }'
}

# ai_addrs: the addresses of the "ai" lines of $output, one per line.
ai_addrs() {
	printf '%s\n' "${lines[@]}" | awk '$1 == "ai" { print $3 }'
}

# assert_all_standins: every "ai" address of $output is a stand-in.
assert_all_standins() {
	local a
	for a in $(ai_addrs); do
		[[ "$a" =~ ^($V4|$V6)$ ]] || fail "not a stand-in: $a"
	done
}

@test "reverse: getnameinfo on IPv4 and IPv6 stand-ins returns the name" {
	probe "rgni $NAME unspec 0" "rgni $NAME unspec namereqd"
	assert_line --regexp "^rgni $V4 rc=0 host=$NAME serv=http\$"
	assert_line --regexp "^rgni $V6 rc=0 host=$NAME serv=http\$"
	refute_line --regexp 'rc=EAI'
	assert_equal "${#lines[@]}" 4
	assert_no_queries
}

@test "reverse: getnameinfo with NI_NUMERICHOST on a stand-in returns its number" {
	probe "gai $NAME - inet 0 stream" "gni @ 80 ni_numerichost"
	local a="${lines[1]#ai inet }"
	a="${a%% *}"
	assert_line "gni rc=0 host=$a serv=http"
	assert_no_queries
}

@test "reverse: gethostbyaddr on IPv4 and IPv6 stand-ins returns the name" {
	probe "rghba $NAME inet" "rghba $NAME inet6"
	assert_line --index 0 --regexp "^rghba $V4 name=$NAME type=inet len=4 aliases= addrs=$V4\$"
	assert_line --index 1 --regexp "^rghba $V6 name=$NAME type=inet6 len=16 aliases= addrs=$V6\$"
	assert_no_queries
}

@test "reverse: gethostbyaddr_r on a stand-in returns the name, ERANGE when the buffer is too small" {
	probe "gai $NAME - inet 0 stream" "ghbar @ 1024" "ghbar @ 8"
	assert_line --index 2 --regexp "^ghbar name=$NAME type=inet len=4 aliases= addrs=$V4\$"
	assert_line --index 3 "ghbar rc=ERANGE result=null h_errno=NETDB_INTERNAL"
	assert_no_queries
}

@test "reverse: a stand-in address that maps to no name gives numbers, NI_NAMEREQD gives EAI_NONAME" {
	probe "gni 240.201.202.203 80 0" "gni 240.201.202.203 80 namereqd" \
		"ghba 240.201.202.203"
	assert_line --index 0 "gni rc=0 host=240.201.202.203 serv=http"
	assert_line --index 1 "gni rc=EAI_NONAME"
	assert_line --index 2 "ghba h_errno=HOST_NOT_FOUND"
	assert_no_queries
}

@test "reverse: numeric lookups return numbers and never send a PTR query" {
	probe "gni 10.1.2.3 80 0" "gni 10.1.2.3 80 namereqd" "gni 2001:db8::5 443 0" \
		"ghba 10.9.9.9" "gni 10.1.2.3 53 dgram"
	assert_line --index 0 "gni rc=0 host=10.1.2.3 serv=http"
	assert_line --index 1 "gni rc=EAI_NONAME"
	assert_line --index 2 "gni rc=0 host=2001:db8::5 serv=https"
	assert_line --index 3 "ghba h_errno=HOST_NOT_FOUND"
	assert_line --index 4 "gni rc=0 host=10.1.2.3 serv=domain"
	assert_no_queries
}

@test "reverse: hosts file addresses give their hosts file names" {
	probe "gni 127.0.0.7 80 0" "ghba 127.0.0.7" "gni 127.0.0.1 80 namereqd"
	assert_line --index 0 "gni rc=0 host=$HOSTS_ONLY serv=http"
	assert_line --index 1 --regexp "^ghba name=$HOSTS_ONLY type=inet len=4 .*addrs=127\.0\.0\.7\$"
	assert_line --index 2 "gni rc=0 host=localhost serv=http"
	assert_no_queries
}

@test "ERANGE: gethostbyname_r and gethostbyname2_r with a too-small buffer" {
	probe "ghbnr $NAME 8" "ghbnr $NAME 4096" "ghbn2r $NAME inet6 8" \
		"ghbn2r $NAME inet6 4096"
	assert_line --index 0 "ghbnr rc=ERANGE result=null h_errno=NETDB_INTERNAL"
	assert_line --index 1 --regexp "^ghbnr name=$NAME type=inet len=4 aliases= addrs=$V4\$"
	assert_line --index 2 "ghbn2r rc=ERANGE result=null h_errno=NETDB_INTERNAL"
	assert_line --index 3 --regexp "^ghbn2r name=$NAME type=inet6 len=16 aliases= addrs=$V6\$"
	assert_no_queries
}

@test "getaddrinfo: NULL hints give the IPv4 stand-in first, then the IPv6 one, shaped as libc's" {
	probe "gai $NAME - nohints 0 0"
	assert_line --index 0 "gai rc=0"
	assert_line --index 1 --regexp "^ai inet $V4 0 stream 6\$"
	assert_line --regexp "^ai inet6 $V6 "
	# Same families, socket types and protocols, in the same order, as
	# libc gives for an IPv4 and an IPv6 address.
	assert_equal "$(shape)" "$(native_shape "gai 127.0.0.1 - nohints 0 0" "gai ::1 - nohints 0 0")"
	assert_no_queries
}

@test "getaddrinfo: AF_UNSPEC gives one IPv4 then one IPv6 stand-in" {
	probe "gai $NAME http unspec 0 stream"
	assert_equal "${#lines[@]}" 3
	assert_line --index 1 --regexp "^ai inet $V4 80 stream 6\$"
	assert_line --index 2 --regexp "^ai inet6 $V6 80 stream 6\$"
	assert_no_queries
}

@test "getaddrinfo: AF_INET gives one IPv4 stand-in" {
	probe "gai $NAME 443 inet 0 stream"
	assert_equal "${#lines[@]}" 2
	assert_line --index 1 --regexp "^ai inet $V4 443 stream 6\$"
	assert_no_queries
}

@test "getaddrinfo: AF_INET6 gives one IPv6 stand-in" {
	probe "gai $NAME 443 inet6 0 stream"
	assert_equal "${#lines[@]}" 2
	assert_line --index 1 --regexp "^ai inet6 $V6 443 stream 6\$"
	assert_no_queries
}

@test "getaddrinfo: a name keeps its address (case, trailing dot, other calls, forked child); other names differ" {
	local up="${NAME^^}"
	probe "gai $NAME - inet 0 stream" "gai $up - inet 0 stream" "gai $NAME. - inet 0 stream" \
		"ghbn $NAME" "gai other-$NAME - inet 0 stream" \
		"fork gai:$NAME:-:inet:0:stream" \
		"gai $NAME - inet6 0 stream" "ghbn2 $NAME inet6"
	local a
	a="$(ai_addrs | head -n 1)"
	[[ "$a" =~ ^$V4$ ]] || fail "not a stand-in: $a"
	assert_equal "$(ai_addrs | sed -n 2p)" "$a"
	assert_equal "$(ai_addrs | sed -n 3p)" "$a"
	assert_line --regexp "^ghbn name=$NAME .*addrs=${a//./\\.}\$"
	local other
	other="$(ai_addrs | sed -n 4p)"
	[[ "$other" =~ ^$V4$ && "$other" != "$a" ]] || fail "other name got $other (name: $a)"
	assert_line "child gai rc=0"
	assert_line --index 10 "ai inet $a 0 stream 6"
	local a6
	a6="$(ai_addrs | sed -n 6p)"
	[[ "$a6" =~ ^$V6$ ]] || fail "not an IPv6 stand-in: $a6"
	assert_line --regexp "^ghbn2 name=$NAME type=inet6 .*addrs=$a6\$"
	assert_no_queries
}

@test "getaddrinfo: AI_NUMERICHOST with a name gives EAI_NONAME and sends no query" {
	probe "gai $NAME 80 unspec numerichost stream" "gai $NAME 80 inet numerichost 0"
	assert_line --index 0 "gai rc=EAI_NONAME"
	assert_line --index 1 "gai rc=EAI_NONAME"
	assert_no_queries
}

@test "getaddrinfo: AI_PASSIVE with a NULL node gives the wildcard addresses, as libc" {
	local c=("gai - 8080 unspec passive stream" "gai - 8080 inet passive dgram"
		"gai - 8080 inet6 passive 0" "gai - 8080 unspec 0 stream")
	probe "${c[@]}"
	assert_output "$(native "${c[@]}")"
	assert_line "ai inet 0.0.0.0 8080 stream 6"
	assert_line "ai inet6 :: 8080 stream 6"
	assert_no_queries
}

@test "getaddrinfo: AI_CANONNAME gives the name" {
	probe "gai $NAME 80 unspec canonname stream" "gai $NAME 80 inet6 canonname stream"
	assert_line --index 0 "gai rc=0"
	assert_line --index 3 "canon $NAME"
	assert_line --index 6 "canon $NAME"
	assert_no_queries
}

@test "getaddrinfo: AI_ADDRCONFIG still gives stand-ins" {
	probe "gai $NAME 80 unspec addrconfig stream" "gai $NAME 80 inet addrconfig stream"
	assert_line --index 0 "gai rc=0"
	assert_line --index 1 --regexp "^ai inet $V4 80 stream 6\$"
	assert_all_standins
	assert_no_queries
}

@test "getaddrinfo: AF_INET6 with AI_V4MAPPED (and AI_ALL) gives IPv6 addresses that map back to the name" {
	probe "gai $NAME 80 inet6 v4mapped stream" "gai $NAME 80 inet6 v4mapped,all stream"
	assert_line --index 0 "gai rc=0"
	assert_line --index 1 --regexp "^ai inet6 ($V6|::ffff:$V4) 80 stream 6\$"
	refute_line --regexp '^ai inet '
	local a
	for a in $(ai_addrs | sort -u); do
		[[ "$a" =~ ^($V6|::ffff:$V4)$ ]] || fail "not a stand-in: $a"
		drun dsfy "$DNS_PROGS/dns_probe" "gai $NAME 80 inet6 v4mapped,all stream" "gni $a 80 0"
		assert_line "gni rc=0 host=$NAME serv=http"
	done
	assert_no_queries
}

@test "getaddrinfo: service names and numbers give the ports libc gives" {
	local svc st
	for svc in http 8080 https domain; do
		for st in stream dgram; do
			probe "gai $NAME $svc inet 0 $st"
			assert_equal "$(shape)" "$(native_shape "gai 127.0.0.1 $svc inet 0 $st")"
		done
	done
	probe "gai $NAME http inet 0 stream"
	assert_line --index 1 --regexp "^ai inet $V4 80 stream 6\$"
	probe "gai $NAME no-such-service inet 0 stream" "gai $NAME http inet numericserv stream" \
		"gai $NAME 53 inet numericserv dgram"
	assert_line --index 0 "gai rc=$(native "gai 127.0.0.1 no-such-service inet 0 stream" | head -n 1 | sed 's/^gai rc=//')"
	assert_line --index 1 "gai rc=EAI_NONAME"
	assert_line --index 3 --regexp "^ai inet $V4 53 dgram 17\$"
	assert_no_queries
}

@test "getaddrinfo: socket types stream, dgram and 0 give the entries libc gives" {
	local st fam num
	for fam in inet inet6; do
		num=127.0.0.1
		[[ "$fam" == inet6 ]] && num=::1
		for st in stream dgram 0; do
			probe "gai $NAME 80 $fam 0 $st"
			assert_line --index 0 "gai rc=0"
			assert_equal "$(shape)" "$(native_shape "gai $num 80 $fam 0 $st")"
		done
	done
	assert_no_queries
}

@test "gethostbyname and gethostbyname2 give stand-ins with the name" {
	probe "ghbn $NAME" "ghbn2 $NAME inet" "ghbn2 $NAME inet6" "gai $NAME - inet 0 stream"
	assert_line --index 0 --regexp "^ghbn name=$NAME type=inet len=4 aliases= addrs=$V4\$"
	assert_line --index 1 --regexp "^ghbn2 name=$NAME type=inet len=4 aliases= addrs=$V4\$"
	assert_line --index 2 --regexp "^ghbn2 name=$NAME type=inet6 len=16 aliases= addrs=$V6\$"
	local a="${lines[0]##*addrs=}"
	assert_line --index 4 "ai inet $a 0 stream 6"
	assert_no_queries
}

@test "hosts file names and localhost keep their local addresses" {
	local cases=(
		"gai $HOSTS_ONLY 80 inet 0 stream|ai inet 127\.0\.0\.7 80 stream 6"
		"gai hosts-alias.test 80 inet 0 stream|ai inet 127\.0\.0\.7 80 stream 6"
		"gai HOSTS-ONLY.TEST 80 inet 0 stream|ai inet 127\.0\.0\.7 80 stream 6"
		"gai $HOSTS_ONLY 80 inet6 0 stream|ai inet6 ::7 80 stream 6"
		"gai $HOSTS_ONLY 80 unspec 0 stream|ai inet 127\.0\.0\.7 80 stream 6"
		"gai localhost 80 inet 0 stream|ai inet 127\.0\.0\.1 80 stream 6"
		"gai localhost 80 inet6 0 stream|ai inet6 ::1 80 stream 6"
		"gai foo.localhost 80 inet 0 stream|ai inet 127\.0\.0\.1 80 stream 6"
		"ghbn $HOSTS_ONLY|ghbn name=$HOSTS_ONLY type=inet len=4 .*addrs=127\.0\.0\.7"
		"ghbn2 localhost inet|ghbn2 name=localhost type=inet len=4 .*addrs=127\.0\.0\.1(,.*)?"
	)
	local c
	for c in "${cases[@]}"; do
		probe "${c%%|*}"
		assert_line --index 0 --regexp '^(gai rc=0|ghbn)'
		assert_line --regexp "^${c#*|}\$"
		refute_line --regexp "$V4|$V6"
	done
	assert_no_queries
}

@test "a change to the hosts file is seen without restarting" {
	probe "gai late-name.test - inet 0 stream" \
		"sh sleep 1.1; echo '127.0.0.9 late-name.test' >>/etc/hosts" \
		"gai late-name.test - inet 0 stream" "gni 127.0.0.9 80 0"
	assert_line --index 1 --regexp "^ai inet $V4 0 stream 6\$"
	assert_line --index 2 "sh rc=0"
	assert_line --index 4 "ai inet 127.0.0.9 0 stream 6"
	assert_line --index 5 "gni rc=0 host=late-name.test serv=http"
	grep -q late-name.test "$CLIENT_HOSTS" || fail "the hosts file was not changed"
	assert_no_queries
}

@test "numeric hosts are never remapped (also inside the stand-in ranges)" {
	local c=("gai 10.1.2.3 80 unspec 0 stream" "gai 240.1.2.3 80 unspec 0 stream"
		"gai 100::5 80 unspec 0 stream" "gai ::ffff:10.1.2.3 80 inet6 0 stream"
		"gai 10.1.2.3 80 inet6 v4mapped stream" "gai 127.0.0.1 - nohints 0 0"
		"ghbn 10.1.2.3" "ghbn2 2001:db8::1 inet6" "gai 10.1.2.3 80 unspec numerichost stream")
	probe "${c[@]}"
	assert_output "$(native "${c[@]}")"
	assert_line "ai inet 10.1.2.3 80 stream 6"
	assert_line "ai inet 240.1.2.3 80 stream 6"
	assert_line "ai inet6 100::5 80 stream 6"
	assert_no_queries
}

@test "every resolver call under ASan and UBSan: no report, no leak" {
	local asan
	asan="$(sanitizer_build "${SOCKSIFY_BUILD_ASAN:-}" "$REPO/build-asan")" ||
		skip "no AddressSanitizer build of the library (set SOCKSIFY_BUILD_ASAN or build $REPO/build-asan with -DSOCKSIFY_SANITIZE=address)"
	[[ -x "$DNS_PROGS/dns_probe_asan" ]] || fail "clang could not build dns_probe with -fsanitize=address"
	local c=("gai $NAME - nohints 0 0" "gai $NAME http unspec canonname stream"
		"gai $NAME 80 inet6 v4mapped,all 0" "gai $NAME 80 unspec addrconfig dgram"
		"gai $NAME 80 unspec numerichost stream" "gai - 80 unspec passive stream"
		"gai $HOSTS_ONLY 80 unspec canonname 0" "gai 10.1.2.3 80 unspec 0 0"
		"rgni $NAME unspec 0" "rgni $NAME unspec ni_numerichost" "gni 10.1.2.3 80 namereqd"
		"ghbn $NAME" "ghbn2 $NAME inet6" "ghbn $HOSTS_ONLY" "ghbnr $NAME 8" "ghbnr $NAME 4096"
		"ghbn2r $NAME inet6 16" "ghbn2r $NAME inet6 4096" "rghba $NAME inet" "rghba $NAME inet6"
		"gai $NAME - inet 0 stream" "ghbar @ 8" "ghbar @ 4096" "ghba 127.0.0.7"
		"fork gai:$NAME:-:inet:0:stream")
	run in_client_ns env SOCKSIFY_BUILD="$asan" ASAN_OPTIONS="detect_leaks=1:abort_on_error=0" \
		UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" "$LAUNCHER" -f "$SFY_CONF" -- "$DNS_PROGS/dns_probe_asan" "${c[@]}"
	if [[ "$output" =~ (ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:) ]]; then
		fail "sanitizer report: $output"
	fi
	assert_success
	assert_line --regexp "^ghbn2r name=$NAME type=inet6 "
	assert_line --regexp "^rghba $V6 name=$NAME "
	assert_no_queries
}

# ---- DNS over UDP to the local resolver, answered in the process ----

@test "udp dns: dig name with the local resolver configured gets a stand-in (A and AAAA) and the counting resolver sees nothing" {
	drun dsfy dig +time=3 +tries=1 "$NAME" A
	assert_success
	assert_line --regexp "^$NAME\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+$V4\$"
	# From the name server asked (the one resolv.conf names), as dig checks.
	assert_line --regexp "^;; SERVER: 127\.[0-9.]+#53\("
	drun dsfy dig +time=3 +tries=1 "$NAME" AAAA
	assert_success
	assert_line --regexp "^$NAME\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+AAAA[[:space:]]+$V6\$"
	# The same name, the same stand-in, in one process or the next: the
	# name map says so (getent goes through getaddrinfo).
	drun dsfy getent ahostsv4 "$NAME"
	assert_success
	assert_output --regexp "^$V4 "
}

@test "udp dns: dig asks the local resolver for other types (MX) and gets REFUSED; nothing reaches it" {
	drun dsfy dig +time=3 +tries=1 "$NAME" MX
	assert_success
	assert_line --partial "status: REFUSED"
}

@test "udp dns: a query over TCP to the local resolver (dig +tcp) is refused with a log line, never sent" {
	drun dsfy dig +tcp +time=3 +tries=1 "$NAME" A
	assert_failure
	assert_output --partial "connection refused"
	[[ "$stderr" == *"refused: a DNS query over TCP to a name server the rules send direct"* ]] ||
		fail "no log line: $stderr"
}

@test "udp dns: a resolver's connected UDP socket (python3) gets its answer from the local resolver's address" {
	drun dsfy "$PYTHON" -c '
import socket, struct, sys
name = sys.argv[1]
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
q += struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.connect((sys.argv[2], 53))
s.send(q)
data, src = s.recvfrom(512)
print("from %s:%d" % src)
print("id %04x ancount %d" % (struct.unpack(">H", data[:2])[0], struct.unpack(">H", data[6:8])[0]))
print("peer %s:%d" % s.getpeername())
print("addr %s" % socket.inet_ntoa(data[-4:]))
' "$NAME" "$DNS_ADDR"
	assert_success
	assert_line "from $DNS_ADDR:53"
	assert_line "peer $DNS_ADDR:53"
	assert_line "id 1234 ancount 1"
	assert_line --regexp "^addr $V4\$"
}
