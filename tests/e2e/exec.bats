#!/usr/bin/env bats
# exec.bats: a socksified program's children stay socksified even when they
# are started with LD_PRELOAD or the SOCKSIFY_* settings removed (env -u,
# env -i, every exec function); and a program the library cannot follow
# into (static, set-ID, file capabilities, 32-bit, Go) is refused with its
# reason by the library when a socksified shell execs it, so nothing of it
# reaches the target.  At the top, the launcher refuses set-ID, file
# capability and 32-bit programs too, and runs static and Go programs under
# its seccomp supervisor instead (seccomp.bats tests that backend).  The config is
# `direct = none`, so a connection to loopback that skipped the chain would
# show in the HTTP server's log without a proxy session.

load lib/common
load lib/client
load lib/guard

GO_SRC="$REPO/tests/e2e/go/exec_get.go"

setup_file() {
	client_build_progs || return 1
	# exec_get linked statically, beside the dynamic build every program gets.
	cc -static -O1 -o "$PROGS/exec_get_static" "$PROGS_SRC/exec_get.c" || return 1
	# A 32-bit program with a loader, from binutils alone.
	as --32 -o "$PROGS/exec_class32.o" "$PROGS_SRC/exec_class32.s" || return 1
	ld -m elf_i386 -pie --dynamic-linker /lib/ld-linux.so.2 \
		-o "$PROGS/exec_class32" "$PROGS/exec_class32.o" || return 1
	# Go, static (no cgo) and dynamic (cgo, which net then uses); the
	# tests that need them fail with a message when go is missing.
	if command -v go >/dev/null 2>&1; then
		local g="$BATS_FILE_TMPDIR/go"
		mkdir -p "$g"
		(
			export HOME="$g" GOCACHE="$g/cache" GOPATH="$g/path" GOPROXY=off GOFLAGS=
			CGO_ENABLED=0 go build -o "$PROGS/exec_get_go_static" "$GO_SRC" &&
				CGO_ENABLED=1 go build -o "$PROGS/exec_get_go_dynamic" "$GO_SRC"
		) || return 1
	fi
}

setup() {
	client_setup
	guard_setup
	start_http_server
	start_socksifyd
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
}

teardown() {
	guard_teardown
}

# assert_requests_stay N: the HTTP server saw exactly N requests, waiting a
# moment first so that a late connection would be counted.
assert_requests_stay() {
	sleep 0.2
	assert_http_requests "$1"
}

# direct_control PROG: PROG, run without socksify, reaches the target
# (so the refusals below keep a program that would connect from running).
direct_control() {
	run timeout 30 "$1" 127.0.0.1 "$HTTP_PORT"
	assert_success
	assert_output --partial "$HTTP_BODY"
}

# refused_by_both PROG REASON_REGEX: the launcher refuses PROG (exit 2, a
# "socksify:" line naming it with the reason and what to do), and so does
# the library when a socksified shell execs it (EACCES: the shell's 126 and
# "Permission denied", one error line with the reason); no proxy session,
# and the target sees nothing new.
refused_by_both() {
	local prog="$1" why="$2" before
	before="$(http_request_count)"
	run timeout 30 "$LAUNCHER" -f "$SFY_CONF" -- "$prog" 127.0.0.1 "$HTTP_PORT"
	assert_failure 2
	assert_output --partial "socksify: $prog "
	assert_output --regexp "$why"
	assert_output --partial "not go through the proxy"
	assert_output --partial "instead"
	refute_output --partial "$HTTP_BODY"

	run sfy sh -c '"$0" 127.0.0.1 "$1"; echo "status $?"' "$prog" "$HTTP_PORT"
	assert_success
	assert_line "status 126"
	assert_output --partial "Permission denied"
	assert_output --partial "socksify: exec refused (EACCES): $prog "
	assert_output --regexp "$why"
	(($(grep -c 'exec refused' <<<"$output") == 1)) || fail "expected one log line: $output"
	refute_output --partial "$HTTP_BODY"

	assert_no_session
	assert_requests_stay "$before"
}

# supervised_refused_by_library PROG REASON_REGEX: the launcher runs PROG
# under its supervisor, through the chain (one proxy session, one request
# at the target); the library refuses it when a socksified shell execs it
# (EACCES: the shell's 126 and "Permission denied", one error line with
# the reason), and that attempt reaches nothing.
supervised_refused_by_library() {
	local prog="$1" why="$2" before
	run timeout 30 "$LAUNCHER" -v -f "$SFY_CONF" -- "$prog" 127.0.0.1 "$HTTP_PORT"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_output --partial "backend seccomp for $prog"
	assert_output --regexp "$why"
	wait_until 5 session_count_is -eq 1 cmd=connect target="127.0.0.1:$HTTP_PORT" result=ok ||
		fail "expected one proxy session: $(session_lines)"
	assert_http_requests 1
	before="$(http_request_count)"

	run sfy sh -c '"$0" 127.0.0.1 "$1"; echo "status $?"' "$prog" "$HTTP_PORT"
	assert_success
	assert_line "status 126"
	assert_output --partial "Permission denied"
	assert_output --partial "socksify: exec refused (EACCES): $prog "
	assert_output --regexp "$why"
	(($(grep -c 'exec refused' <<<"$output") == 1)) || fail "expected one log line: $output"
	refute_output --partial "$HTTP_BODY"
	wait_until 5 session_count_is -eq 1 cmd=connect target="127.0.0.1:$HTTP_PORT" result=ok ||
		fail "expected no new proxy session: $(session_lines)"
	assert_requests_stay "$before"
}

need_go() {
	[[ -x "$PROGS/exec_get_go_static" && -x "$PROGS/exec_get_go_dynamic" ]] ||
		fail "go is not installed (scripts/lib/deps.sh installs golang-go)"
}

@test "exec: env -u LD_PRELOAD and env -i children of a socksified shell go through the chain" {
	run sfy sh -c '
		env -u LD_PRELOAD curl -sS --noproxy "*" --max-time 20 "http://127.0.0.1:$0/"
		env -i /usr/bin/curl -sS --noproxy "*" --max-time 20 "http://127.0.0.1:$0/"
	' "$HTTP_PORT"
	assert_success
	(($(grep -c "$HTTP_BODY" <<<"$output") == 2)) || fail "expected two bodies: $output"
	wait_until 5 session_count_is -eq 2 cmd=connect target="127.0.0.1:$HTTP_PORT" result=ok ||
		fail "expected 2 proxy sessions: $(session_lines)"
	assert_http_requests 2
}

@test "exec: the library and its settings are put back, the chain given with -p too, and no password goes into the environment" {
	start_socksifyd -u alice:s3cret-pw
	run timeout 30 "$LAUNCHER" -p "socks5://alice:s3cret-pw@127.0.0.1:$SOCKSIFYD_PORT" -- sh -c '
		env -i /usr/bin/curl -sS --noproxy "*" --max-time 20 "http://0.0.0.0:$0/"
		env -i /usr/bin/env
	' "$HTTP_PORT"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_session cmd=connect user=alice target="0.0.0.0:$HTTP_PORT" result=ok
	assert_line --regexp '^LD_PRELOAD=/.*/libsocksify\.so$'
	assert_line --regexp '^SOCKSIFY_CHAIN_FD=[0-9]+$'
	assert_line --regexp '^SOCKSIFY_CONF='
	refute_line --regexp '^SOCKSIFY_CHAIN='

	refute_output --partial "s3cret-pw"
}

@test "exec: LD_PRELOAD without the library gets it appended; an environment that names a setting keeps its own" {
	local first=$SOCKSIFYD_LOG first_port=$SOCKSIFYD_PORT
	start_socksifyd
	printf '%s\n' "direct = none" "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT" >"$E2E_TMP/own.conf"
	# The command gets a -p chain (SOCKSIFY_CHAIN_FD); the child names its
	# own config and nothing else: it gets no chain of ours back, so its
	# connection goes through its own config's proxy.
	run timeout 30 "$LAUNCHER" -p "socks5://127.0.0.1:$first_port" -- sh -c '
		env -i LD_PRELOAD=libm.so.6 SOCKSIFY_CONF="$1" \
			/usr/bin/curl -sS --noproxy "*" --max-time 20 "http://127.0.0.1:$0/"
		env -i LD_PRELOAD=libm.so.6 SOCKSIFY_CONF="$1" /usr/bin/env
	' "$HTTP_PORT" "$E2E_TMP/own.conf"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_line --regexp '^LD_PRELOAD=libm\.so\.6:/.*/libsocksify\.so$'
	assert_line "SOCKSIFY_CONF=$E2E_TMP/own.conf"
	refute_line --regexp '^SOCKSIFY_CHAIN_FD='
	assert_session cmd=connect target="127.0.0.1:$HTTP_PORT" result=ok
	SOCKSIFYD_LOG=$first assert_no_session
}

@test "exec: every exec function puts the library back into an emptied environment" {
	local fn n=0 prog
	for fn in execve execv execvp execvpe execveat fexecve execl execlp execle \
		posix_spawn posix_spawnp; do
		case "$fn" in
		*p | *pe) prog=exec_get ;; # found through PATH
		*) prog="$PROGS/exec_get" ;;
		esac
		PATH="$PROGS:$PATH" run sfy "$PROGS/exec_spawn" "$fn" "$prog" 127.0.0.1 "$HTTP_PORT"
		[[ "$status" == 0 && "$output" == *"$HTTP_BODY"* ]] ||
			fail "$fn: status $status: $output"
		n=$((n + 1))
		wait_until 5 session_count_is -eq "$n" cmd=connect \
			target="127.0.0.1:$HTTP_PORT" result=ok || fail "$fn: no proxy session"
	done
	assert_http_requests "$n"
}

@test "exec: every exec function refuses a program the library cannot follow" {
	need_go
	local fn prog
	for fn in execve execv execvp execvpe execveat fexecve execl execlp execle \
		posix_spawn posix_spawnp; do
		case "$fn" in
		*p | *pe) prog=exec_get_go_dynamic ;;
		*) prog="$PROGS/exec_get_go_dynamic" ;;
		esac
		PATH="$PROGS:$PATH" run sfy "$PROGS/exec_spawn" "$fn" "$prog" 127.0.0.1 "$HTTP_PORT"
		[[ "$status" == 126 && "$output" == *"ERRNO EACCES"* &&
			"$output" == *"exec refused (EACCES): "*"is a Go program"* ]] ||
			fail "$fn: status $status: $output"
	done
	assert_no_session
	assert_requests_stay 0
}

@test "exec: an environment too large for the stack is rebuilt as well" {
	local vars=() i
	for ((i = 0; i < 400; i++)); do
		vars+=("EXEC_FILLER_$i=$i")
	done
	run sfy env "${vars[@]}" sh -c \
		'env -u LD_PRELOAD curl -sS --noproxy "*" --max-time 20 "http://127.0.0.1:$0/"' \
		"$HTTP_PORT"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_session cmd=connect target="127.0.0.1:$HTTP_PORT" result=ok
}

@test "exec: a static program runs under the launcher's supervisor, through the chain; the library refuses it" {
	! readelf -lW "$PROGS/exec_get_static" | grep -q INTERP || fail "not a static program"
	supervised_refused_by_library "$PROGS/exec_get_static" "is statically linked"
}

@test "exec: setuid and setgid programs are refused by the launcher and by the library, and reach nothing" {
	cp "$PROGS/exec_get" "$E2E_TMP/suid-get"
	chmod 4755 "$E2E_TMP/suid-get"
	cp "$PROGS/exec_get" "$E2E_TMP/sgid-get"
	chmod 2755 "$E2E_TMP/sgid-get"
	direct_control "$E2E_TMP/suid-get"
	refused_by_both "$E2E_TMP/suid-get" "is setuid"
	refused_by_both "$E2E_TMP/sgid-get" "is setgid"
}

@test "exec: a program with file capabilities is refused by the launcher and by the library, and reaches nothing" {
	cp "$PROGS/exec_get" "$E2E_TMP/cap-get"
	setcap cap_net_raw+ep "$E2E_TMP/cap-get"
	getcap "$E2E_TMP/cap-get" | grep -q cap_net_raw || fail "setcap did not take"
	direct_control "$E2E_TMP/cap-get"
	refused_by_both "$E2E_TMP/cap-get" "has file capabilities"
}

@test "exec: a 32-bit program is refused by the launcher and by the library" {
	readelf -hlW "$PROGS/exec_class32" | grep -q 'ELF32' || fail "not a 32-bit program"
	readelf -lW "$PROGS/exec_class32" | grep -q INTERP || fail "no loader: it would be static"
	refused_by_both "$PROGS/exec_class32" "is a 32-bit program"
}

@test "exec: a static Go program runs under the launcher's supervisor, through the chain; the library refuses it" {
	need_go
	! readelf -lW "$PROGS/exec_get_go_static" | grep -q INTERP || fail "Go build is not static"
	supervised_refused_by_library "$PROGS/exec_get_go_static" "is a Go program"
}

@test "exec: a dynamic Go program runs under the launcher's supervisor, through the chain; the library refuses it" {
	need_go
	readelf -lW "$PROGS/exec_get_go_dynamic" | grep -q INTERP || fail "Go build is not dynamic"
	supervised_refused_by_library "$PROGS/exec_get_go_dynamic" "is a Go program"
}

@test "exec: a #! script is judged by its interpreter" {
	printf '#!%s\n' "$PROGS/exec_get_static" >"$E2E_TMP/static-script"
	printf '#!/bin/sh\nexec curl -sS --noproxy "*" --max-time 20 "http://127.0.0.1:$1/"\n' \
		>"$E2E_TMP/sh-script"
	chmod 755 "$E2E_TMP/static-script" "$E2E_TMP/sh-script"
	# The launcher runs it under the supervisor: the interpreter gets the
	# script's path as its first argument, which exec_get takes for its
	# host and stops at (usage, 64: its own status, passed on).
	run timeout 30 "$LAUNCHER" -v -f "$SFY_CONF" -- "$E2E_TMP/static-script" 127.0.0.1 "$HTTP_PORT"
	assert_failure 64
	assert_output --partial "usage: exec_get"
	assert_output --partial "backend seccomp for $E2E_TMP/static-script: $E2E_TMP/static-script is a script run by $PROGS/exec_get_static, which is statically linked"
	# The library refuses it.
	run sfy sh -c '"$0" 127.0.0.1 "$1"; echo "status $?"' "$E2E_TMP/static-script" "$HTTP_PORT"
	assert_success
	assert_line "status 126"
	assert_output --partial "socksify: exec refused (EACCES): $E2E_TMP/static-script "
	assert_output --partial "is a script run by $PROGS/exec_get_static, which is statically linked"
	assert_no_session
	assert_requests_stay 0
	# A script whose interpreter the library reaches runs, through the chain.
	run sfy "$E2E_TMP/sh-script" "$HTTP_PORT"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_session cmd=connect target="127.0.0.1:$HTTP_PORT" result=ok
}
