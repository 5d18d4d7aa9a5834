#!/usr/bin/env bats
# server_lifetime.bats: every socksifyd session ends.  A half-closed one
# after --half-close-timeout of silence; one whose client or target resets
# at once, whatever it was doing; a BIND as soon as its client leaves; an
# idle one after an idle time that is on by default.  Timeouts are set
# short, every wait is bounded, and what is checked is what a user would
# look at: the session's log line, socksifyd's open descriptors
# (/proc/PID/fd) and the socket table (ss).

load lib/common

setup() {
	e2e_setup
}

teardown() {
	e2e_teardown
}

# start_quiet [ARGS...]: tools/tcp_quiet.py, a target that never closes on
# its own.  Sets QUIET_PID, QUIET_PORT, QUIET_LOG.
start_quiet() {
	start_port_tool quiet "$PYTHON" "$TOOLS/tcp_quiet.py" "$@"
	QUIET_PID=$TOOL_PID QUIET_PORT=$TOOL_PORT QUIET_LOG=$TOOL_LOG
}

# close_waits PORT...: the TCP connections in CLOSE-WAIT whose local port is
# one of PORTs.  no_close_wait PORT...: true when there are none.
close_waits() {
	local f="" p
	for p in "$@"; do
		f+="${f:+ or }sport = :$p"
	done
	ss -Htan state close-wait "( $f )"
}

no_close_wait() {
	[[ -z "$(close_waits "$@")" ]]
}

# fds_back BASE: wait (3 s) until socksifyd holds no more descriptors than
# BASE, or fail showing them.
fds_back() {
	wait_until 3 fd_count_le "$SOCKSIFYD_PID" "$1" && return 0
	{
		echo "socksifyd holds $(fd_count "$SOCKSIFYD_PID") fds, $1 before the session:"
		ls -l "/proc/$SOCKSIFYD_PID/fd"
	} | fail
}

# session_within SECS FILTER...: wait SECS for one session line matching
# FILTER, or fail showing the log.
session_within() {
	local secs="$1"
	shift
	wait_until "$secs" session_count_is -eq 1 "$@" && return 0
	{
		echo "no session line with $* within ${secs}s:"
		cat "$SOCKSIFYD_LOG"
	} | fail
}

@test "lifetime: a half-closed session ends after --half-close-timeout of silence" {
	start_socksifyd --half-close-timeout 1
	# After the client's EOF the target sends 25 chunks 0.1 s apart (2.4 s,
	# more than twice the timeout), then stays silent and open.
	start_quiet --send-after-eof 25:0.1
	local base
	base="$(fd_count "$SOCKSIFYD_PID")"
	run timeout 30 "$PYTHON" -c '
import socket, sys, time
sys.path.insert(0, sys.argv[3])
import socksraw as sr
s = sr.connect(sys.argv[1], timeout=10)
rep, h, p = sr.handshake5(s, sr.SOCKS5_CONNECT, "127.0.0.1", int(sys.argv[2]))
assert rep == 0, "reply %d" % rep
s.sendall(b"hello")
s.shutdown(socket.SHUT_WR)
t0 = last = time.monotonic()
got, end = 0, None
s.settimeout(0.2)
while time.monotonic() - last < 10:
    try:
        b = s.recv(4096)
    except socket.timeout:
        continue
    except OSError:
        b = b""
    if not b:
        end = time.monotonic()
        break
    got += len(b)
    last = time.monotonic()
print("got %d" % got)
if end is None:
    print("still open 10 s after the last byte")
else:
    print("flowed %.2f then eof after %.2f" % (last - t0, end - last))
' "127.0.0.1:$SOCKSIFYD_PORT" "$QUIET_PORT" "$TOOLS"
	assert_success
	assert_line "got 2500"
	refute_line --partial "still open"
	# Bytes kept moving for more than twice the timeout after the EOF: the
	# limit is on silence, not on how long the session has been half-closed.
	[[ "$output" =~ flowed\ ([0-9.]+)\ then\ eof ]]
	awk -v f="${BASH_REMATCH[1]}" -v t=1 'BEGIN { exit !(f >= 2 * t) }'
	session_within 3 cmd=connect "target=127.0.0.1:$QUIET_PORT"
	assert_session cmd=connect "target=127.0.0.1:$QUIET_PORT" up=5 down=2500 result=timeout
	fds_back "$base"
}

@test "lifetime: a client reset after its direction saw EOF ends the session at once" {
	start_socksifyd
	start_quiet
	local base
	base="$(fd_count "$SOCKSIFYD_PID")"
	run timeout 30 "$PYTHON" -c '
import socket, struct, sys, time
sys.path.insert(0, sys.argv[4])
import socksraw as sr
s = sr.connect(sys.argv[1], timeout=10)
rep, h, p = sr.handshake5(s, sr.SOCKS5_CONNECT, "127.0.0.1", int(sys.argv[2]))
assert rep == 0, "reply %d" % rep
s.sendall(b"abc")
s.shutdown(socket.SHUT_WR)
# The EOF has crossed the relay once the target logs it.
t0 = time.monotonic()
while "eof " not in open(sys.argv[3]).read():
    if time.monotonic() - t0 > 10:
        sys.exit("the target never saw the EOF")
    time.sleep(0.05)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
print("reset")
' "127.0.0.1:$SOCKSIFYD_PORT" "$QUIET_PORT" "$QUIET_LOG" "$TOOLS"
	assert_success
	assert_line reset
	# The target stays silent and the half-close limit is far off (60 s by
	# default): only the reset can end the session this soon.
	session_within 3 cmd=connect "target=127.0.0.1:$QUIET_PORT"
	assert_session cmd=connect "target=127.0.0.1:$QUIET_PORT" up=3 down=0 result=ok
	fds_back "$base"
}

@test "lifetime: a target reset after its direction saw EOF ends the session at once" {
	start_socksifyd
	# The target shuts its sending half at once and resets 0.5 s later.
	start_quiet --shut-reset 0.5
	local base
	base="$(fd_count "$SOCKSIFYD_PID")"
	start_bg client "$PYTHON" -c '
import sys, time
sys.path.insert(0, sys.argv[3])
import socksraw as sr
s = sr.connect(sys.argv[1], timeout=10)
rep, h, p = sr.handshake5(s, sr.SOCKS5_CONNECT, "127.0.0.1", int(sys.argv[2]))
assert rep == 0, "reply %d" % rep
print("eof" if sr.wait_eof(s, 10) is not None else "no eof", flush=True)
time.sleep(30)  # the client stays, silent
' "127.0.0.1:$SOCKSIFYD_PORT" "$QUIET_PORT" "$TOOLS"
	wait_for_log "$BG_LOG" '^(eof|no eof)$' 15 || fail "client: $(cat "$BG_LOG")"
	run cat "$BG_LOG"
	assert_line eof
	wait_for_log "$QUIET_LOG" '^reset ' 10 || fail "the target did not reset"
	session_within 3 cmd=connect "target=127.0.0.1:$QUIET_PORT"
	assert_session cmd=connect "target=127.0.0.1:$QUIET_PORT" result=ok
	fds_back "$base"
}

@test "lifetime: a client reset while its CONNECT is still under way ends the session at once" {
	start_socksifyd --timeout 30
	local base port
	base="$(fd_count "$SOCKSIFYD_PID")"
	start_bg client "$PYTHON" -c '
import socket, struct, sys, time
sys.path.insert(0, sys.argv[2])
import socksraw as sr
# A listener whose accept queue is full drops further SYNs: a connect to it
# stays under way.
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(0)
port = ls.getsockname()[1]
fill = socket.create_connection(("127.0.0.1", port), timeout=5)
s = sr.connect(sys.argv[1], timeout=10)
s.sendall(sr.greeting5())
assert sr.read_method5(s) == 0
s.sendall(sr.request5(sr.SOCKS5_CONNECT, "127.0.0.1", port) + b"early")
s.shutdown(socket.SHUT_WR)
s.settimeout(0.5)
try:
    print("early answer %r" % s.recv(64), flush=True)
except socket.timeout:
    print("still connecting", flush=True)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
print("reset %d" % port, flush=True)
time.sleep(30)  # keeps the listener, so the connect stays under way
' "127.0.0.1:$SOCKSIFYD_PORT" "$TOOLS"
	wait_for_log "$BG_LOG" '^reset [0-9]+$' 15 || fail "client: $(cat "$BG_LOG")"
	run cat "$BG_LOG"
	assert_line "still connecting"
	port="$(sed -n 's/^reset //p' "$BG_LOG")"
	# Left alone, the connect would go on until --timeout (30 s).
	session_within 3 cmd=connect "target=127.0.0.1:$port"
	fds_back "$base"
}

@test "lifetime: a BIND whose client exits before the peer comes closes its listening socket at once" {
	start_socksifyd --timeout 30
	local base port
	base="$(fd_count "$SOCKSIFYD_PID")"
	run timeout 30 "$PYTHON" -c '
import sys
sys.path.insert(0, sys.argv[2])
import socksraw as sr
s = sr.connect(sys.argv[1], timeout=10)
rep, h, p = sr.handshake5(s, sr.SOCKS5_BIND, "127.0.0.1", 0)
assert rep == 0, "first reply %d" % rep
print("bound %d" % p)
s.close()
' "127.0.0.1:$SOCKSIFYD_PORT" "$TOOLS"
	assert_success
	port="$(sed -n 's/^bound //p' <<<"$output")"
	[[ "$port" =~ ^[0-9]+$ ]]
	# The wait for the peer would last until --timeout (30 s).
	session_within 3 cmd=bind
	fds_back "$base"
	# Nobody listens there any more: a late peer is refused instead of
	# being accepted into a session nobody is left to serve.
	run ss -Hltn "sport = :$port"
	assert_output ""
	run timeout 10 "$PYTHON" -c '
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    print("accepted")
except ConnectionRefusedError:
    print("refused")
' "$port"
	assert_output refused
	run close_waits "$SOCKSIFYD_PORT" "$port"
	assert_output ""
}

@test "lifetime: a BIND whose client exits leaves no socket of socksifyd in CLOSE-WAIT after one second" {
	start_socksifyd
	local base port
	base="$(fd_count "$SOCKSIFYD_PID")"
	start_bg bind "$PYTHON" -c '
import socket, sys, time
sys.path.insert(0, sys.argv[2])
import socksraw as sr
s = sr.connect(sys.argv[1], timeout=10)
rep, h, p = sr.handshake5(s, sr.SOCKS5_BIND, "127.0.0.1", 0)
assert rep == 0, "first reply %d" % rep
peer = socket.create_connection(("127.0.0.1", p), timeout=10)
rep, h, pp = sr.read_reply5(s)
assert rep == 0, "second reply %d" % rep
print("bound %d" % p, flush=True)
s.sendall(b"last words")
s.close()
peer.settimeout(10)
data = b""
try:
    while True:
        b = peer.recv(100)
        if not b:
            break
        data += b
    print("peer got %r then eof" % data, flush=True)
except OSError as e:
    print("peer got %r then %s" % (data, e), flush=True)
time.sleep(30)  # the peer stays and never closes its side
' "127.0.0.1:$SOCKSIFYD_PORT" "$TOOLS"
	wait_for_log "$BG_LOG" '^peer got ' 20 || fail "bind client: $(cat "$BG_LOG")"
	run cat "$BG_LOG"
	assert_line "peer got b'last words' then eof"
	port="$(sed -n 's/^bound //p' "$BG_LOG")"
	session_within 3 cmd=bind
	assert_session cmd=bind up=10 result=ok
	wait_until 1 no_close_wait "$SOCKSIFYD_PORT" "$port" ||
		fail "CLOSE-WAIT left: $(close_waits "$SOCKSIFYD_PORT" "$port")"
	fds_back "$base"
}

@test "lifetime: the idle timeout has a default, shown by --help and by -v at start" {
	local idle
	run "$SOCKSIFYD" --help
	assert_success
	assert_output --partial "--half-close-timeout SECONDS"
	[[ "$output" =~ --idle-timeout\ SECONDS[^-]*default\ ([0-9]+) ]] ||
		fail "--help gives no default for --idle-timeout"
	idle="${BASH_REMATCH[1]}"
	((idle > 0))
	# The running server says the same.
	start_socksifyd -v
	wait_for_log "$SOCKSIFYD_LOG" 'debug: timeouts' 5 || fail "no timeouts line"
	grep -E "debug: timeouts.* idle $idle[,. ]" "$SOCKSIFYD_LOG"
	# And 0 still turns it off.
	start_socksifyd -v --idle-timeout 0
	wait_for_log "$SOCKSIFYD_LOG" 'debug: timeouts' 5 || fail "no timeouts line"
	grep -E "debug: timeouts.* idle 0[,. ]" "$SOCKSIFYD_LOG"
}
