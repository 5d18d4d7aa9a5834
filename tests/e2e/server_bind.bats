#!/usr/bin/env bats
# server_bind.bats: BIND as RFC 1928 and the SOCKS4 memo describe it: the
# client asks for BIND, reads the first reply (the address to give the
# peer), the peer connects there, the client reads the second reply, and
# data flows both ways.  tools/bind_client.py plays client and peer.

load lib/common

setup() {
	e2e_setup
}

teardown() {
	e2e_teardown
}

bind_client() {
	timeout 30 "$PYTHON" "$TOOLS/bind_client.py" "$@"
}

@test "BIND: SOCKS5 first reply, peer connects, second reply names the peer, data both ways" {
	start_socksifyd
	run bind_client --proxy "127.0.0.1:$SOCKSIFYD_PORT" --proto socks5
	assert_success
	assert_line --partial "first reply: bound 127.0.0.1:"
	assert_line --partial "second reply: peer 127.0.0.1:"
	assert_line "bind ok: 200000 bytes up, 150000 bytes down"
	assert_session proto=socks5 cmd=bind result=ok
	# The relay's byte counts cover what crossed it.
	local up down
	up="$(session_field up cmd=bind result=ok)"
	down="$(session_field down cmd=bind result=ok)"
	[ "$up" -eq 200000 ]
	[ "$down" -eq 150000 ]
}

@test "BIND: SOCKS4 first reply, peer connects, second reply, data both ways" {
	start_socksifyd
	run bind_client --proxy "127.0.0.1:$SOCKSIFYD_PORT" --proto socks4
	assert_success
	assert_line --partial "first reply: bound 127.0.0.1:"
	assert_line "bind ok: 200000 bytes up, 150000 bytes down"
	assert_session proto=socks4 cmd=bind result=ok
}

@test "BIND: SOCKS5 with username and password" {
	start_socksifyd -u dave:bindpw
	run bind_client --proxy "127.0.0.1:$SOCKSIFYD_PORT" --user dave --pass bindpw
	assert_success
	assert_line "bind ok: 200000 bytes up, 150000 bytes down"
	assert_session proto=socks5 cmd=bind user=dave result=ok
}

@test "BIND: SOCKS5 through an IPv6 listener announces an IPv6 address" {
	start_socksifyd -l '[::1]:0'
	run bind_client --proxy "[::1]:$SOCKSIFYD_PORT" --expect ::1 --peer-src ::1
	assert_success
	assert_line --partial "first reply: bound [::1]:"
	assert_line "bind ok: 200000 bytes up, 150000 bytes down"
	assert_session proto=socks5 cmd=bind result=ok
}

# The refused BIND below stays open until --timeout; a short one lets
# refute_session see its final line without a long wait.
@test "BIND: expected-peer rule: a SOCKS5 peer from 127.0.0.2 when 127.0.0.1 was named is not relayed" {
	start_socksifyd --timeout 4
	run bind_client --proxy "127.0.0.1:$SOCKSIFYD_PORT" --expect 127.0.0.1 \
		--peer-src 127.0.0.2 --wrong-peer
	assert_success
	assert_line --partial "not relayed"
	refute_session cmd=bind result=ok
}

@test "BIND: expected-peer rule: a SOCKS4 peer from 127.0.0.2 when 127.0.0.1 was named is not relayed" {
	start_socksifyd --timeout 4
	run bind_client --proxy "127.0.0.1:$SOCKSIFYD_PORT" --proto socks4 \
		--expect 127.0.0.1 --peer-src 127.0.0.2 --wrong-peer
	assert_success
	assert_line --partial "not relayed"
	refute_session cmd=bind result=ok
}

@test "BIND: expected-peer rule with a port: a peer from the named address but another port is not relayed (SOCKS5 and SOCKS4)" {
	start_socksifyd --timeout 4
	local proto want
	want="$(free_port)"
	for proto in socks5 socks4; do
		run bind_client --proxy "127.0.0.1:$SOCKSIFYD_PORT" --proto "$proto" \
			--expect 127.0.0.1 --expect-port "$want" --wrong-peer
		assert_success
		assert_line --partial "not relayed"
	done
	refute_session cmd=bind result=ok
}

@test "BIND: expected-peer rule with a port: the peer from the named address and port is relayed (SOCKS5 and SOCKS4)" {
	start_socksifyd
	local proto want
	for proto in socks5 socks4; do
		want="$(free_port)"
		run bind_client --proxy "127.0.0.1:$SOCKSIFYD_PORT" --proto "$proto" \
			--expect 127.0.0.1 --expect-port "$want" --peer-port "$want"
		assert_success
		assert_line "bind ok: 200000 bytes up, 150000 bytes down"
		assert_session proto="$proto" cmd=bind result=ok
	done
}

@test "BIND: no peer within --timeout ends the session with result=timeout" {
	start_socksifyd --timeout 2
	run timeout 20 "$PYTHON" -c '
import sys, time
sys.path.insert(0, sys.argv[2])
import socksraw as sr
s = sr.connect(sys.argv[1], timeout=10)
rep, h, p = sr.handshake5(s, sr.SOCKS5_BIND, "127.0.0.1", 0)
print("first", rep)
t0 = time.monotonic()
try:
    rest = s.recv(100)
except OSError:
    rest = b""
print("after %.1f got %r" % (time.monotonic() - t0, rest[:2]))
' "127.0.0.1:$SOCKSIFYD_PORT" "$TOOLS"
	assert_success
	assert_line "first 0"
	# Either a failure reply or a close, about when --timeout says.
	[[ "$output" =~ after\ ([0-9.]+)\ got ]]
	awk -v t="${BASH_REMATCH[1]}" 'BEGIN { exit !(t >= 1.5 && t <= 6) }'
	refute_line --partial "got b'\\x05\\x00'"
	assert_session cmd=bind result=timeout
}

@test "BIND: 30 spaced writes each way cross the relay byte for byte" {
	# Writes 20 ms apart, each read on the other end while the next are
	# sent: the relay carries many separate chunks in both directions.
	start_socksifyd
	run timeout 30 "$PYTHON" -c '
import os, socket, sys
sys.path.insert(0, sys.argv[2])
import socksraw as sr
s = sr.connect(sys.argv[1], timeout=10)
rep, h, p = sr.handshake5(s, sr.SOCKS5_BIND, "127.0.0.1", 0)
assert rep == 0, "first reply %d" % rep
peer = socket.create_connection(("127.0.0.1" if h == "0.0.0.0" else h, p), timeout=10)
rep, h, p = sr.read_reply5(s)
assert rep == 0, "second reply %d" % rep
for name, tx, rx in (("up", s, peer), ("down", peer, s)):
    data = os.urandom(30 * 1000)
    got = sr.transfer_spaced(tx, rx, sr.split_parts(data, 30), 0.02, len(data))
    diff = sr.compare_bytes(data, got)
    print("%s %s" % (name, diff or "ok 30000 in 30 writes"))
' "127.0.0.1:$SOCKSIFYD_PORT" "$TOOLS"
	assert_success
	assert_line "up ok 30000 in 30 writes"
	assert_line "down ok 30000 in 30 writes"
	assert_session proto=socks5 cmd=bind result=ok
}
