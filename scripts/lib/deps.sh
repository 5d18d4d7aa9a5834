# deps.sh: install the Debian packages the build, tests and demo need.
#
# Source it, then call `deps_ensure PKG...` (or `deps_ensure` for the whole
# test list in SOCKSIFY_TEST_PACKAGES).  Only packages that dpkg does not
# already list as installed are fetched, so a machine that has everything
# never touches apt.  As root the missing ones are installed with apt-get;
# otherwise the function says what to install and returns 1.

# Everything scripts/test needs; add new peers here.
SOCKSIFY_TEST_PACKAGES="cmake gcc libc6-dev binutils clang libclang-rt-14-dev llvm make uthash-dev
bats bats-assert bats-support curl wget python3 python3-socks netcat-openbsd
dnsutils dante-server dante-client microsocks proxychains4 nodejs tcpdump
iproute2 procps util-linux netbase valgrind golang-go libcap2-bin busybox-static
python3-pyftpdlib"

# What the demo needs.
SOCKSIFY_DEMO_PACKAGES="cmake gcc libc6-dev make uthash-dev curl python3 netbase"

# deps_missing PKG...: print the packages of the list that are not installed.
deps_missing() {
	local p st
	for p in "$@"; do
		st="$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
		[[ "$st" == installed ]] || echo "$p"
	done
}

# deps_ensure [PKG...]: make sure every package is installed (default: the
# test list).  Returns 1 when something is missing and cannot be installed.
deps_ensure() {
	local want missing
	if (($# > 0)); then
		want=("$@")
	else
		# shellcheck disable=SC2206
		want=($SOCKSIFY_TEST_PACKAGES)
	fi
	if ! command -v dpkg-query >/dev/null 2>&1; then
		echo "deps: no dpkg-query: not Debian; install by hand: ${want[*]}" >&2
		return 0
	fi
	mapfile -t missing < <(deps_missing "${want[@]}")
	((${#missing[@]} == 0)) && return 0
	if ((EUID != 0)); then
		echo "deps: missing packages: ${missing[*]}" >&2
		echo "deps: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
		return 1
	fi
	echo "deps: installing ${missing[*]}"
	apt-get update -q || return 1
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}" || return 1
}
