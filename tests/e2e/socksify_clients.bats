#!/usr/bin/env bats
# socksify_clients.bats: real programs (curl, wget, nc, python3, node) under
# the launcher reach an HTTP server on loopback through socksifyd, Dante and
# microsocks; each test proves the proxy logged the session and the server
# saw exactly the one request.

load lib/common
load lib/client

setup() {
	client_setup
	start_http_server
	NC_REQ="$E2E_TMP/nc.req"
	printf 'GET / HTTP/1.0\r\nHost: e2e\r\n\r\n' >"$NC_REQ"
}

teardown() {
	e2e_teardown
}

# use_proxy KIND: start socksifyd, danted or microsocks and write a config
# whose one hop is it.
use_proxy() {
	PROXY_KIND="$1"
	case "$1" in
	socksifyd)
		start_socksifyd
		sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
		;;
	danted)
		start_danted
		sfy_conf "proxy = socks5://127.0.0.1:$DANTED_PORT"
		;;
	microsocks)
		start_microsocks
		sfy_conf "proxy = socks5://127.0.0.1:$MICROSOCKS_PORT"
		;;
	esac
}

# assert_via KIND: KIND logged the CONNECT to the HTTP server, which saw
# one request.
assert_via() {
	case "$1" in
	socksifyd) assert_session cmd=connect target="127.0.0.1:$HTTP_PORT" result=ok ;;
	danted) assert_danted_connect 127.0.0.1 "$HTTP_PORT" ;;
	microsocks) assert_microsocks_connect 127.0.0.1 "$HTTP_PORT" ;;
	esac
	assert_http_requests 1
}

# run_client NAME: run one client program against the HTTP server.
run_client() {
	local url="http://127.0.0.1:$HTTP_PORT/"
	case "$1" in
	curl) run sfy_curl "$url" ;;
	wget) run sfy wget -q -O - --no-proxy -t 1 -T 20 "$url" ;;
	nc)
		if [[ "$PROXY_KIND" == microsocks ]]; then
			# microsocks closes both ways on a half-close, so keep
			# nc's stdin open until the response is in.
			run sfy sh -c '(cat "$1"; sleep 1) | nc -w 10 127.0.0.1 "$2"' sh \
				"$NC_REQ" "$HTTP_PORT"
		else
			run sfy nc -N -w 10 127.0.0.1 "$HTTP_PORT" <"$NC_REQ"
		fi
		;;
	python3) run sfy_py --get / 127.0.0.1 "$HTTP_PORT" ;;
	asyncio) run sfy_py --asyncio --get / 127.0.0.1 "$HTTP_PORT" ;;
	node)
		run sfy node -e '
			const http = require("http");
			http.get(process.argv[1], (res) => {
				let b = "";
				res.on("data", (d) => b += d);
				res.on("end", () => process.stdout.write(b));
			}).on("error", (e) => { console.log("ERR " + e.code); process.exit(3); });
		' "$url"
		;;
	esac
}

check() {
	use_proxy "$1"
	run_client "$2"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_via "$1"
}

@test "clients: curl through socksifyd" { check socksifyd curl; }
@test "clients: wget through socksifyd" { check socksifyd wget; }
@test "clients: nc through socksifyd" { check socksifyd nc; }
@test "clients: python3 blocking socket through socksifyd" { check socksifyd python3; }
@test "clients: python3 asyncio non-blocking connect through socksifyd" { check socksifyd asyncio; }
@test "clients: node http.get to an IP through socksifyd" { check socksifyd node; }

@test "clients: curl through danted" { check danted curl; }
@test "clients: wget through danted" { check danted wget; }
@test "clients: nc through danted" { check danted nc; }
@test "clients: python3 blocking socket through danted" { check danted python3; }
@test "clients: python3 asyncio non-blocking connect through danted" { check danted asyncio; }
@test "clients: node http.get to an IP through danted" { check danted node; }

@test "clients: curl through microsocks" { check microsocks curl; }
@test "clients: wget through microsocks" { check microsocks wget; }
@test "clients: nc through microsocks" { check microsocks nc; }
@test "clients: python3 blocking socket through microsocks" { check microsocks python3; }
@test "clients: python3 asyncio non-blocking connect through microsocks" { check microsocks asyncio; }
@test "clients: node http.get to an IP through microsocks" { check microsocks node; }

@test "clients: with direct = none and no reachable proxy nothing goes direct" {
	sfy_conf "proxy = socks5://127.0.0.1:$(free_port)"
	run_client curl
	assert_failure 7
	assert_http_requests 0
}
