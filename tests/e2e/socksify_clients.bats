#!/usr/bin/env bats
# socksify_clients.bats: real programs (curl, wget, nc, python3, node) under
# the launcher reach an HTTP server through socksifyd, Dante and
# microsocks; each test proves the proxy logged the session and the server
# saw exactly the one request, from the proxy.
#
# They run in the leak detector's topology (lib/leak.bash): the program in
# namespace C, the proxy in P, the server in T, which C reaches only
# through P.  C owns the server's address itself and a trap counts
# whatever arrives there, so each test also proves that nothing went
# around the proxy (assert_no_leak).

load lib/common
load lib/client
load lib/leak

setup() {
	leak_setup
	NC_REQ="$E2E_TMP/nc.req"
	printf 'GET / HTTP/1.0\r\nHost: e2e\r\n\r\n' >"$NC_REQ"
}

teardown() {
	leak_teardown
}

# use_proxy KIND: the socksifyd leak_setup started in P, or danted or
# microsocks started there, and a config whose one hop is it.
use_proxy() {
	PROXY_KIND="$1"
	case "$1" in
	socksifyd)
		leak_conf
		;;
	danted)
		leak_start_danted
		leak_conf_via "socks5://$LEAK_P4:$DANTED_PORT"
		;;
	microsocks)
		leak_start_microsocks
		leak_conf_via "socks5://$LEAK_P4:$MICROSOCKS_PORT"
		;;
	esac
}

# assert_via KIND: KIND logged the CONNECT to the HTTP server, which saw
# one request, from the proxy.
assert_via() {
	case "$1" in
	socksifyd) assert_session cmd=connect target="$LEAK_T4:$HTTP_PORT" result=ok ;;
	danted) assert_danted_connect "$LEAK_T4" "$HTTP_PORT" ;;
	microsocks) assert_microsocks_connect "$LEAK_T4" "$HTTP_PORT" ;;
	esac
	assert_http_requests 1
	assert_via_proxy 1
}

# run_client NAME: run one client program in C against the HTTP server in T.
run_client() {
	local url="http://$LEAK_T4:$HTTP_PORT/"
	case "$1" in
	curl) run leak_run curl -sS --noproxy '*' --max-time 20 "$url" ;;
	wget) run leak_run wget -q -O - --no-proxy -t 1 -T 20 "$url" ;;
	nc)
		if [[ "$PROXY_KIND" == microsocks ]]; then
			# microsocks closes both ways on a half-close, so keep
			# nc's stdin open until the response is in.
			run leak_run sh -c '(cat "$1"; sleep 1) | nc -w 10 "$2" "$3"' sh \
				"$NC_REQ" "$LEAK_T4" "$HTTP_PORT"
		else
			run leak_run nc -N -w 10 "$LEAK_T4" "$HTTP_PORT" <"$NC_REQ"
		fi
		;;
	python3) run leak_run "$PYTHON" "$TOOLS/client_connect.py" --get / "$LEAK_T4" "$HTTP_PORT" ;;
	asyncio)
		run leak_run "$PYTHON" "$TOOLS/client_connect.py" --asyncio --get / \
			"$LEAK_T4" "$HTTP_PORT"
		;;
	node)
		run leak_run node -e '
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
	assert_no_leak
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
	# Nothing listens on port 1 of C's loopback: the proxy refuses at once.
	leak_conf_via "socks5://127.0.0.1:1" "direct = none"
	run_client curl
	assert_failure 7
	assert_http_requests 0
	assert_no_leak
}
