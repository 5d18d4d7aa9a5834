#!/usr/bin/env bats
# dns_clients.bats: a name that only the proxy can resolve works under
# socksify with curl, wget, python3 and node, through socksifyd and danted,
# and the client never asks a name server.
#
# The proxy runs in a mount namespace whose /etc/hosts maps
# only-the-proxy.test to 127.0.0.1 (where the HTTP server listens); the
# client runs in one whose /etc/hosts does not know the name and whose
# /etc/resolv.conf names only a counting name server.  Every test checks
# that the proxy logged the NAME as its target, that the page arrived, and
# (issue bullet "no leak") that the counting server got no query and a
# capture on lo holds no UDP to port 53 for it.

load lib/common
load lib/client
load lib/dns
load lib/guard

setup() {
	dns_setup
	guard_setup
	start_http_server
	start_dns_counter
	start_capture
	URL="http://$ONLY_PROXY:$HTTP_PORT/"
}

teardown() {
	guard_teardown
}

# use_proxy socksifyd|danted: start the proxy in its namespace and write a
# config whose one hop is it (SOCKS5: Dante does not speak SOCKS4a).
use_proxy() {
	PROXY_KIND="$1"
	case "$1" in
	socksifyd)
		start_proxy_socksifyd
		dns_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
		;;
	danted)
		start_proxy_danted
		dns_conf "proxy = socks5://127.0.0.1:$DANTED_PORT"
		;;
	esac
}

# assert_proxy_saw_name: the proxy logged a CONNECT to the name (not to an
# address), and the HTTP server saw the request.
assert_proxy_saw_name() {
	case "$PROXY_KIND" in
	socksifyd) assert_session cmd=connect target="$ONLY_PROXY:$HTTP_PORT" result=ok ;;
	danted) assert_danted_name "$ONLY_PROXY" "$HTTP_PORT" ;;
	esac
	assert_equal "$(http_request_count /)" 1
}

# run_client KIND: one client fetching $URL, or for python3 the given mode.
run_client() {
	case "$1" in
	curl) drun dsfy curl -sS --noproxy '*' --max-time 20 "$URL" ;;
	wget) drun dsfy wget -q -O - --no-proxy -t 1 -T 20 "$URL" ;;
	py-*) drun dsfy "$PYTHON" "$TOOLS/dns_pyclient.py" "${1#py-}" "$ONLY_PROXY" "$HTTP_PORT" ;;
	node)
		drun dsfy node -e '
			const dns = require("dns"), http = require("http");
			const [name, port] = process.argv.slice(1);
			dns.lookup(name, { all: true }, (err, addrs) => {
				if (err) { console.log("ERR lookup " + err.code); process.exit(3); }
				for (const a of addrs) console.log("lookup " + a.family + " " + a.address);
				http.get({ host: name, port: port, path: "/" }, (res) => {
					let b = "";
					res.on("data", (d) => b += d);
					res.on("end", () => process.stdout.write(b));
				}).on("error", (e) => { console.log("ERR " + e.code); process.exit(3); });
			});
		' "$ONLY_PROXY" "$HTTP_PORT"
		;;
	esac
}

# check_client PROXY CLIENT: the whole check for one bullet-1 case.
check_client() {
	use_proxy "$1"
	run_client "$2"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_proxy_saw_name
	assert_no_leak
}

@test "proxy-only name (+no leak): curl via socksifyd" {
	check_client socksifyd curl
}

@test "proxy-only name (+no leak): curl via danted" {
	check_client danted curl
}

@test "proxy-only name (+no leak): wget via socksifyd" {
	check_client socksifyd wget
}

@test "proxy-only name (+no leak): wget via danted" {
	check_client danted wget
}

@test "proxy-only name (+no leak): python3 socket.create_connection via socksifyd" {
	check_client socksifyd py-create_connection
}

@test "proxy-only name (+no leak): python3 socket.create_connection via danted" {
	check_client danted py-create_connection
}

@test "proxy-only name (+no leak): python3 getaddrinfo AF_UNSPEC via socksifyd" {
	check_client socksifyd py-gai-unspec
	# The IPv4 stand-in first, then the IPv6 one; the socket was
	# connected to the first, and getpeername reports it.
	assert_line --index 0 --regexp '^gai inet 240\.[0-9]+\.[0-9]+\.[0-9]+$'
	assert_line --regexp '^gai inet6 100::[0-9a-f:]+$'
	local v4="${lines[0]#gai inet }"
	assert_line "peer $v4"
}

@test "proxy-only name (+no leak): python3 getaddrinfo AF_UNSPEC via danted" {
	check_client danted py-gai-unspec
	assert_line --index 0 --regexp '^gai inet 240\.'
}

@test "proxy-only name (+no leak): python3 getaddrinfo AF_INET via socksifyd" {
	check_client socksifyd py-gai-inet
	assert_line --index 0 --regexp '^gai inet 240\.[0-9]+\.[0-9]+\.[0-9]+$'
	refute_line --regexp '^gai inet6'
}

@test "proxy-only name (+no leak): python3 getaddrinfo AF_INET via danted" {
	check_client danted py-gai-inet
	refute_line --regexp '^gai inet6'
}

@test "proxy-only name (+no leak): python3 getaddrinfo AF_INET6 via socksifyd" {
	check_client socksifyd py-gai-inet6
	assert_line --index 0 --regexp '^gai inet6 100::[0-9a-f:]+$'
	refute_line --regexp '^gai inet '
	local v6="${lines[0]#gai inet6 }"
	assert_line "peer $v6"
}

@test "proxy-only name (+no leak): python3 getaddrinfo AF_INET6 via danted" {
	check_client danted py-gai-inet6
	refute_line --regexp '^gai inet '
}

@test "proxy-only name (+no leak): node dns.lookup (thread pool getaddrinfo) via socksifyd" {
	check_client socksifyd node
	assert_line --index 0 --regexp '^lookup 4 240\.[0-9]+\.[0-9]+\.[0-9]+$'
}

@test "proxy-only name (+no leak): node dns.lookup (thread pool getaddrinfo) via danted" {
	check_client danted node
	assert_line --index 0 --regexp '^lookup 4 240\.'
}

@test "proxy-only name (+no leak): curl via a SOCKS4a hop of socksifyd" {
	use_proxy socksifyd
	dns_conf "proxy = socks4a://127.0.0.1:$SOCKSIFYD_PORT"
	run_client curl
	assert_success
	assert_output "$HTTP_BODY"
	assert_session cmd=connect proto=socks4a target="$ONLY_PROXY:$HTTP_PORT" result=ok
	assert_no_leak
}

@test "proxy-only name (+no leak): curl via an HTTP CONNECT hop" {
	start_proxy_httpconnect
	dns_conf "proxy = http://127.0.0.1:$HCP_PORT"
	run_client curl
	assert_success
	assert_output "$HTTP_BODY"
	grep -qxF "CONNECT $ONLY_PROXY:$HTTP_PORT user=- result=ok" "$HCP_LOG" ||
		fail "the HTTP proxy logged no CONNECT to the name: $(cat "$HCP_LOG")"
	assert_no_leak
}

@test "proxy-only name to a SOCKS4 (not 4a) last hop fails with EAFNOSUPPORT" {
	use_proxy socksifyd
	dns_conf "proxy = socks4://127.0.0.1:$SOCKSIFYD_PORT"
	drun dsfy "$PYTHON" "$TOOLS/dns_pyclient.py" gai-inet "$ONLY_PROXY" "$HTTP_PORT"
	assert_failure 3
	assert_output --partial "Errno $(errno_num EAFNOSUPPORT)"
	assert_equal "$(http_request_count)" 0
	refute_session target="$ONLY_PROXY:$HTTP_PORT"
	assert_no_leak
}

@test "no leak can fail: with dns = local the counting name server sees the queries" {
	use_proxy socksifyd
	dns_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT" "dns = local"
	run_client curl
	# curl: could not resolve host (the counter refuses every query).
	assert_failure 6
	stop_capture
	(($(dns_query_count) > 0)) || fail "the counting name server saw no query"
	grep -qE "^udp $ONLY_PROXY 1\$" "$DNS_LOG" || fail "no A query for $ONLY_PROXY: $(cat "$DNS_LOG")"
	[[ -n "$(capture_to_counter)" ]] || fail "the capture on lo holds no UDP to $DNS_ADDR:53"
	assert_equal "$(http_request_count)" 0
}

# errno_num NAME: the number of an errno name (python3 shows numbers).
errno_num() {
	"$PYTHON" -c 'import errno,sys; print(getattr(errno, sys.argv[1]))' "$1"
}
