#!/usr/bin/env bats
# bind_client.bats: listening sockets through the chain (SOCKS BIND): an
# unmodified active-FTP client (curl, wget, Python's ftplib) against a real
# FTP server, a C program with epoll and accept4, SOCKS4 and HTTP last
# hops, and a server on a fixed port that stays local.  Every test runs
# under the leak guard: nothing listens or connects directly.

load lib/common
load lib/client
load lib/guard

setup_file() {
	client_build_progs
}

setup() {
	client_setup
	guard_setup
	FTP_ROOT="$(mktemp -d "$E2E_TMP/ftp.XXXXXX")"
	FTP_BODY="socksify-ftp-body-$RANDOM$RANDOM"
	echo "$FTP_BODY" >"$FTP_ROOT/file.txt"
	start_port_tool ftp "$PYTHON" "$TOOLS/ftpd.py" --root "$FTP_ROOT"
	FTP_PID=$TOOL_PID FTP_PORT=$TOOL_PORT FTP_LOG=$TOOL_LOG
	FTP_URL="ftp://e2e:e2e-pw@127.0.0.1:$FTP_PORT/file.txt"
}

teardown() {
	guard_teardown
}

# assert_active N: the FTP server saw N active-mode transfers (PORT or
# EPRT, never PASV or EPSV) to a BIND address and sent the file N times.
assert_active() {
	run grep -cE '^(PORT|EPRT) ' "$FTP_LOG"
	assert_output "$1"
	run grep -cE '^(PASV|EPSV)$' "$FTP_LOG"
	assert_output 0
	run grep -c '^sent file.txt$' "$FTP_LOG"
	assert_output "$1"
}

ftp_curl() {
	sfy curl -sS --noproxy '*' --max-time 20 --ftp-port - "$@" "$FTP_URL"
}

@test "ftp: curl --ftp-port - (EPRT) and with --disable-eprt (PORT) download through socksifyd" {
	start_socksifyd
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	run ftp_curl
	assert_success
	assert_output "$FTP_BODY"
	run ftp_curl --disable-eprt
	assert_success
	assert_output "$FTP_BODY"
	assert_active 2
	run grep -c '^EPRT |1|127.0.0.1|' "$FTP_LOG"
	assert_output 1
	run grep -c '^PORT 127,0,0,1,' "$FTP_LOG"
	assert_output 1
	# The data connections came to socksifyd's BIND listeners.
	run grep -c 'cmd=bind.*result=ok' "$SOCKSIFYD_LOG"
	assert_output 2
}

@test "ftp: curl --ftp-port - (EPRT and PORT) downloads through danted" {
	start_danted
	sfy_conf "proxy = socks5://127.0.0.1:$DANTED_PORT"
	run ftp_curl
	assert_success
	assert_output "$FTP_BODY"
	run ftp_curl --disable-eprt
	assert_success
	assert_output "$FTP_BODY"
	assert_active 2
}

@test "ftp: curl --ftp-port - (EPRT and PORT) downloads through the 2-hop chain socksifyd -> danted" {
	start_socksifyd
	start_danted
	sfy_conf "chain = strict" "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT" \
		"proxy = socks5://127.0.0.1:$DANTED_PORT"
	run ftp_curl
	assert_success
	assert_output "$FTP_BODY"
	run ftp_curl --disable-eprt
	assert_success
	assert_output "$FTP_BODY"
	assert_active 2
	# socksifyd carried every control and BIND connection to danted.
	refute_session target="127.0.0.1:$FTP_PORT"
	assert_session cmd=connect target="127.0.0.1:$DANTED_PORT" result=ok
}

@test "ftp: wget --no-passive-ftp downloads through socksifyd" {
	start_socksifyd
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	run sfy wget -q -O - --no-passive-ftp --timeout=20 --tries=1 "$FTP_URL"
	assert_success
	assert_output "$FTP_BODY"
	assert_active 1
}

@test "ftp: /usr/bin/python3 ftplib with set_pasv(False) downloads through socksifyd" {
	start_socksifyd
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	run sfy "$PYTHON" -c '
import ftplib, sys
f = ftplib.FTP()
f.connect("127.0.0.1", int(sys.argv[1]), timeout=20)
f.login("e2e", "e2e-pw")
f.set_pasv(False)
out = []
f.retrlines("RETR file.txt", out.append)
print("\n".join(out))
f.quit()
' "$FTP_PORT"
	assert_success
	assert_output "$FTP_BODY"
	assert_active 1
}

# bind_peer ADDR_FILE: the peer, outside the client's namespace: waits for
# the listening address, connects from 127.0.0.1 (the control connection's
# destination), reads the acceptor's line and answers.
bind_peer() {
	timeout 30 "$PYTHON" -c '
import socket, sys, time
for _ in range(200):
    try:
        ip, port = open(sys.argv[1]).read().split()
        break
    except (OSError, ValueError):
        time.sleep(0.1)
else:
    sys.exit("no address")
s = socket.create_connection((ip, int(port)), timeout=10,
                             source_address=("127.0.0.1", 0))
got = b""
while not got.endswith(b"\n"):
    b = s.recv(100)
    if not b:
        break
    got += b
print("peer got %r" % got)
s.sendall(b"from-peer\n")
s.close()
' "$1"
}

@test "progs: bind(port 0), listen, getsockname, a peer connects to the reported address, accept4(SOCK_NONBLOCK) after epoll; bytes both ways" {
	start_socksifyd
	start_echo_server
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	local addr="$E2E_TMP/bind.addr"
	start_bg peer bind_peer "$addr"
	run sfy "$PROGS/bind_listen" 127.0.0.1 "$ECHO_PORT" "$addr"
	assert_success
	assert_line "bind ok"
	# The listener is where socksifyd listens, the peer came from the
	# control connection's destination, the control connection reports
	# the address socksifyd connects from.
	assert_line --regexp '^listening 127\.0\.0\.1:[1-9][0-9]*$'
	assert_line --regexp '^accepted from 127\.0\.0\.1:[1-9][0-9]*$'
	assert_line --regexp '^control local 127\.0\.0\.1:[1-9][0-9]*$'
	wait_for_log "$BG_LOG" '^peer got ' 10
	run cat "$BG_LOG"
	assert_line "peer got b'from-acceptor\\n'"
	assert_session cmd=bind result=ok up=14 down=10
}

@test "hops: a SOCKS4 last hop does BIND (curl --ftp-port - through socks4://socksifyd)" {
	start_socksifyd
	sfy_conf "proxy = socks4://127.0.0.1:$SOCKSIFYD_PORT"
	run ftp_curl --disable-eprt
	assert_success
	assert_output "$FTP_BODY"
	assert_active 1
	assert_session proto=socks4 cmd=bind result=ok
}

@test "hops: an HTTP CONNECT last hop refuses BIND with EOPNOTSUPP and a log line; nothing listens locally" {
	start_httpconnect
	sfy_conf "proxy = http://127.0.0.1:$HCP_PORT"
	run --separate-stderr sfy curl -sS --noproxy '*' --max-time 20 --ftp-port - "$FTP_URL"
	assert_failure
	[[ "$stderr" == *"HTTP CONNECT cannot carry BIND"* ]] || fail "stderr: $stderr"
	# The control connection went through the proxy, no data connection
	# was ever offered to the server.
	run grep -cE '^(PORT|EPRT) ' "$FTP_LOG"
	assert_output 0
	run grep -c "CONNECT 127.0.0.1:$FTP_PORT" "$HCP_LOG"
	assert_output 1
}

@test "local: python3 -m http.server on a fixed port under socksify still serves locally" {
	start_socksifyd
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	local port root="$E2E_TMP/www-local"
	mkdir -p "$root"
	echo "served-locally-$RANDOM" >"$root/index.html"
	port="$(free_port)"
	start_bg httpserver sfy "$PYTHON" -m http.server "$port" --bind 0.0.0.0 --directory "$root"
	guard_allow 127.0.0.1 "$port"
	wait_until 10 in_guard curl -s -o /dev/null "http://127.0.0.1:$port/" || fail "$(cat "$BG_LOG")"
	run in_guard curl -sS --max-time 10 "http://127.0.0.1:$port/"
	assert_success
	assert_output "$(cat "$root/index.html")"
	refute_session cmd=bind
}

# py_listener ADDR_FILE... : under the launcher, a non-blocking Python
# listener bound to 0.0.0.0 port ${LISTEN_PORT:-0} after a control
# connection to the echo server.  For each ADDR_FILE: after the first, an
# accept that finds no peer (it asks for the next BIND), then getsockname
# written there, a wait (20 s at most) until the listener is readable, one
# accepted peer sent "from-acceptor" and its line read.
py_listener() {
	sfy "$PYTHON" -c '
import os, select, socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
l = socket.socket()
l.bind(("0.0.0.0", int(sys.argv[2])))
l.listen(1)
l.setblocking(False)
for i, path in enumerate(sys.argv[3:]):
    if i > 0:
        try:
            l.accept()
            sys.exit("a peer before the address was given")
        except BlockingIOError:
            pass
    ip, port = l.getsockname()
    print("listening %s:%d" % (ip, port), flush=True)
    with open(path + ".tmp", "w") as f:
        f.write("%s %d\n" % (ip, port))
    os.rename(path + ".tmp", path)
    if not select.select([l], [], [], 20)[0]:
        sys.exit("no peer within 20 s")
    a, peer = l.accept()
    print("accepted from %s:%d" % peer, flush=True)
    a.settimeout(10)
    a.sendall(b"from-acceptor\n")
    print("read %r" % a.recv(100), flush=True)
    a.close()
l.close()
c.close()
' "$ECHO_PORT" "${LISTEN_PORT:-0}" "$@"
}

@test "listener: a second accept on the same listener asks for a new BIND, and getsockname names its address" {
	start_socksifyd
	start_echo_server
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	start_bg peer1 bind_peer "$E2E_TMP/a1"
	local p1=$BG_PID l1=$BG_LOG
	start_bg peer2 bind_peer "$E2E_TMP/a2"
	run py_listener "$E2E_TMP/a1" "$E2E_TMP/a2"
	assert_success
	assert_equal "$(grep -c '^accepted from 127.0.0.1:' <<<"$output")" 2
	assert_equal "$(grep -c "^read b'from-peer" <<<"$output")" 2
	# Two listening addresses, two BINDs at socksifyd.
	assert_equal "$(grep '^listening ' <<<"$output" | sort -u | wc -l)" 2
	run grep -c 'cmd=bind.*result=ok' "$SOCKSIFYD_LOG"
	assert_output 2
}

@test "listener: closing the listener before a peer comes ends the BIND at the proxy" {
	start_socksifyd
	start_echo_server
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	run sfy "$PYTHON" -c '
import socket, sys, time
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
l = socket.socket()
l.bind(("0.0.0.0", 0))
l.listen(1)
print("listening %s:%d" % l.getsockname(), flush=True)
l.close()
time.sleep(1)
' "$ECHO_PORT"
	assert_success
	local port
	port="$(sed -n 's/^listening 127\.0\.0\.1:\([0-9]*\)$/\1/p' <<<"$output")"
	[[ -n "$port" ]] || fail "no listening address: $output"
	wait_for_log "$SOCKSIFYD_LOG" 'cmd=bind.*result=closed' 5 ||
		fail "no closed BIND session: $(cat "$SOCKSIFYD_LOG")"
	# Nobody listens at the address any more.
	run "$PYTHON" -c '
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    print("still listening")
except OSError as e:
    print("refused")
' "$port"
	assert_output refused
}

@test "config: bind = chain sends a listener on a fixed port through the chain; bind = local keeps an FTP client's listener local" {
	start_socksifyd
	start_echo_server
	local fixed
	fixed="$(free_port)"
	sfy_conf "bind = chain" "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	start_bg peer bind_peer "$E2E_TMP/fixed"
	LISTEN_PORT=$fixed run py_listener "$E2E_TMP/fixed"
	assert_success
	assert_line --regexp '^accepted from 127\.0\.0\.1:'
	refute_line "listening 0.0.0.0:$fixed"
	run grep -c 'cmd=bind.*result=ok' "$SOCKSIFYD_LOG"
	assert_output 1
	# bind = local: curl listens in its own namespace, where the FTP server
	# cannot reach it; no BIND reaches the proxy.
	sfy_conf "bind = local" "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	run ftp_curl --connect-timeout 5 --max-time 10
	assert_failure
	run grep -c 'cmd=bind' "$SOCKSIFYD_LOG"
	assert_output 1
}

@test "getsockname: a proxied connection reports the address the last hop connects from (socksifyd -e 127.0.0.2), and an FTP client's PORT names it" {
	start_socksifyd -e 127.0.0.2
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	run ftp_curl --disable-eprt
	assert_success
	assert_output "$FTP_BODY"
	# The server saw the control connection come from 127.0.0.2, and was
	# sent to a BIND listener on 127.0.0.2, not to the client's address.
	run grep -c '^control 127.0.0.2$' "$FTP_LOG"
	assert_output 1
	run grep -c '^PORT 127,0,0,2,' "$FTP_LOG"
	assert_output 1
	assert_active 1
}
