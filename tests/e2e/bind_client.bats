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
