/* run.c: socksify-run, the launcher's compiled half.
 *
 * scripts/socksify execs this.  It parses the options, finds and checks
 * the config (errors as FILE:LINE before anything runs), puts everything
 * the library needs into the environment (so it survives further execs),
 * except the chain given with -p, which may hold passwords and goes in an
 * inherited memfd instead, checks that LD_PRELOAD can reach the command,
 * and execs it.  A static or Go program, which LD_PRELOAD cannot reach,
 * runs under the seccomp supervisor instead (supervise.c; --backend
 * seccomp asks for it for any program).  The exit status is the
 * command's own; every launcher error exits 2.
 */
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "launcher.h"
#include "secret.h"
#include "supervise.h"

#define CHAIN_MAX 8192
/* Where the chain memfd goes: above the low numbers scripts redirect
 * (3..9) and the ones shells keep for themselves (10 and up; bash's
 * script at 255 is not searched from here), so a redirection does not
 * land on it by accident. */
#define CHAIN_FD_MIN 200

static const char usage[] =
    "usage: socksify [-f FILE] [-p URL]... [-q] [-v]... [--backend NAME] [--check]\n"
    "                [--] command [args...]\n"
    "\n"
    "Runs command with its TCP connections sent through a chain of proxies.\n"
    "\n"
    "  -f FILE    config file (socksify.conf or proxychains.conf format)\n"
    "  -p URL     add a proxy hop (repeatable, in order); replaces the config's chain\n"
    "             socks5://[user:pass@]host:port, socks5h://, socks4://,\n"
    "             socks4a://[user@]host:port, http://[user:pass@]host:port\n"
    "  -q         quiet: the library logs nothing\n"
    "  -v         more log (-v info, -vv debug)\n"
    "  --backend NAME  preload (LD_PRELOAD) or seccomp (a supervisor; static and\n"
    "             Go programs always run under it); default: chosen per program\n"
    "  --check    validate the config, probe every hop, and exit (0: all answer)\n"
    "  -h, --help this help;  --version  the version\n"
    "\n"
    "Config search: -f, $SOCKSIFY_CONF, ./socksify.conf,\n"
    "${XDG_CONFIG_HOME:-~/.config}/socksify/socksify.conf, /etc/socksify.conf;\n"
    "with no config and no -p: $SOCKSIFY_PROXY (space-separated URLs).\n";

static void __attribute__((format(printf, 1, 2), noreturn))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("socksify: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(LAUNCH_ERR);
}

static void
add_url(char *chain, const char *url)
{
	size_t l = strlen(chain);

	if (strpbrk(url, " \t\n") != NULL)
		die("-p: a proxy URL cannot contain blanks (percent-escape them)");
	if (l + strlen(url) + 2 > CHAIN_MAX)
		die("-p: too many proxy URLs");
	snprintf(chain + l, CHAIN_MAX - l, "%s%s", l ? " " : "", url);
}

/* Hands the chain to the command in a sealed memfd and names its number
 * in SOCKSIFY_CHAIN_FD: in the environment, the passwords of -p URLs
 * would be in /proc/PID/environ of every descendant.  The memfd is
 * inherited (not close-on-exec) by the command and everything it starts;
 * the seals stop anyone from changing the chain under them. */
static void
pass_chain(const char *chain)
{
	size_t len = strlen(chain), off = 0;
	struct rlimit rl;
	int fd, hi, min = CHAIN_FD_MIN;
	char num[16];

	fd = memfd_create(SECRET_MEMFD_NAME, MFD_ALLOW_SEALING);
	if (fd < 0)
		die("-p: cannot create a memfd to hand the chain down: %s", strerror(errno));
	while (off < len) {
		ssize_t n = write(fd, chain + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("-p: cannot write the chain to its memfd: %s",
			    n < 0 ? strerror(errno) : "no progress");
		off += (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, SECRET_SEALS) != 0)
		die("-p: cannot seal the chain's memfd: %s", strerror(errno));
	/* F_DUPFD refuses a number at or above the soft limit: under a low
	 * limit, take the highest one there is. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur <= CHAIN_FD_MIN)
		min = (int)rl.rlim_cur - 1;
	if (fd < min && (hi = fcntl(fd, F_DUPFD, min)) >= 0) {
		close(fd);
		fd = hi;
	}
	/* Otherwise (every number from min up taken) it stays where it is. */
	snprintf(num, sizeof(num), "%d", fd);
	setenv(SECRET_ENV, num, 1);
}

/* The library: $SOCKSIFY_LIB, else next to this program (the build tree),
 * else in the directory it was installed to. */
static void
find_library(char *out, size_t cap)
{
	const char *env = getenv("SOCKSIFY_LIB");
	char self[PATH_MAX];
	ssize_t n;

	if (env != NULL && env[0] != '\0') {
		if (env[0] != '/')
			die("SOCKSIFY_LIB must be an absolute path, not '%s'", env);
		snprintf(out, cap, "%s", env);
		if (access(out, R_OK) != 0)
			die("library %s (SOCKSIFY_LIB): %s", out, strerror(errno));
	} else {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			die("cannot find my own location: %s", strerror(errno));
		self[n] = '\0';
		*strrchr(self, '/') = '\0';
		if ((size_t)snprintf(out, cap, "%.*s/libsocksify.so", PATH_MAX - 32, self) >= cap)
			die("path of my own location is too long");
		/* Next to this program (the build tree): /proc/self/exe is
		 * already a canonical path, so there is nothing to resolve. */
		if (access(out, R_OK) == 0)
			goto found;
		/* Installed: bin/../lib/socksify, wherever the prefix went. */
		snprintf(out, cap, "%.*s/../%s/libsocksify.so", PATH_MAX - 64, self,
		    SOCKSIFY_PKGLIBDIR_REL);
		if (access(out, R_OK) != 0) {
			snprintf(out, cap, "%s/libsocksify.so", SOCKSIFY_PKGLIBDIR);
			if (access(out, R_OK) != 0)
				die("cannot find libsocksify.so next to %s or in %s (build it, "
				    "or set SOCKSIFY_LIB)", self, SOCKSIFY_PKGLIBDIR);
		}
		if (realpath(out, self) != NULL)
			snprintf(out, cap, "%s", self);
	}
found:
	/* The loader splits LD_PRELOAD at blanks and colons. */
	if (strpbrk(out, " :\t") != NULL)
		die("library path %s contains a blank or ':', which LD_PRELOAD cannot hold", out);
}

/* Appends lib to LD_PRELOAD (once): preloads already there stay first. */
static void
set_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *v;
	size_t n;

	if (old != NULL && old[0] != '\0') {
		const char *p = old;
		size_t ll = strlen(lib);
		while ((p = strstr(p, lib)) != NULL) {
			bool start = p == old || strchr(" :", p[-1]) != NULL;
			bool end = p[ll] == '\0' || strchr(" :", p[ll]) != NULL;
			if (start && end)
				return;
			p += ll;
		}
		n = strlen(old) + ll + 2;
		v = malloc(n);
		if (v == NULL)
			die("out of memory");
		snprintf(v, n, "%s:%s", old, lib);
		setenv("LD_PRELOAD", v, 1);
		free(v);
		return;
	}
	setenv("LD_PRELOAD", lib, 1);
}

/* Which backend runs exe: true for the supervisor.  Programs the
 * supervisor cannot run either (set-ID, file capabilities, another ELF
 * class) are refused with the reason in why. */
static bool
use_supervisor(const struct cfg *cfg, const struct exe_verdict *v, const char *exe,
    const char *backend, const char *why)
{
	const char *env = getenv("SOCKSIFY_LOG");
	char what[512];
	bool forced = backend != NULL && strcmp(backend, "seccomp") == 0;
	int level = cfg->log_level;

	if (env != NULL && env[0] != '\0')
		level = cfg_log_level_parse(env);
	log_configure((enum cfg_log)level, getenv("SOCKSIFY_LOG_FILE") != NULL ?
	    getenv("SOCKSIFY_LOG_FILE") : cfg->log_file);
	switch (v->kind) {
	case EXE_REACHABLE:
		if (forced) {
			log_msg(CFG_LOG_INFO, "backend seccomp for %s: asked for with --backend",
			    exe);
			return true;
		}
		log_msg(CFG_LOG_INFO, "backend preload for %s: dynamically linked, "
		    "LD_PRELOAD reaches it", exe);
		return false;
	case EXE_STATIC:
	case EXE_GO:
		if (backend != NULL && strcmp(backend, "preload") == 0)
			die("%s", why);
		log_msg(CFG_LOG_INFO, "backend seccomp for %s: %s", exe,
		    exe_describe(v, exe, what, sizeof(what)));
		return true;
	default:
		die("%s", why);
	}
}

int
main(int argc, char **argv)
{
	static struct cfg cfg;
	static char chain[CHAIN_MAX];
	char conf[CFG_PATH_MAX] = "", abs[PATH_MAX], err[600], lib[PATH_MAX], exe[PATH_MAX];
	const char *file = NULL, *env, *backend = NULL;
	struct exe_verdict v;
	int i, verbose = 0, quiet = 0, check = 0, found;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		if (strcmp(a, "--check") == 0) {
			check = 1;
		} else if (strcmp(a, "--help") == 0) {
			fputs(usage, stdout);
			return 0;
		} else if (strcmp(a, "--version") == 0) {
			printf("socksify %s\n", SOCKSIFY_VERSION);
			return 0;
		} else if (strcmp(a, "--backend") == 0 || strncmp(a, "--backend=", 10) == 0) {
			backend = a[9] == '=' ? a + 10 : (i + 1 < argc ? argv[++i] : NULL);
			if (backend == NULL)
				die("--backend needs an argument: preload or seccomp");
			if (strcmp(backend, "preload") != 0 && strcmp(backend, "seccomp") != 0)
				die("--backend: '%s' is not preload or seccomp", backend);
		} else if (strcmp(a, "--quiet") == 0) {
			quiet = 1, verbose = 0;
		} else if (strcmp(a, "--verbose") == 0) {
			verbose++, quiet = 0;
		} else if (a[1] == '-') {
			die("unknown option %s (see socksify -h)", a);
		} else {
			for (const char *c = a + 1; *c != '\0'; c++) {
				const char *arg;
				switch (*c) {
				case 'q':
					quiet = 1, verbose = 0;
					continue;
				case 'v':
					verbose++, quiet = 0;
					continue;
				case 'h':
					fputs(usage, stdout);
					return 0;
				case 'f':
				case 'p':
					arg = c[1] ? c + 1 : (i + 1 < argc ? argv[++i] : NULL);
					if (arg == NULL)
						die("-%c needs an argument (see socksify -h)", *c);
					if (*c == 'f')
						file = arg;
					else
						add_url(chain, arg);
					break;
				default:
					die("unknown option -%c (see socksify -h)", *c);
				}
				break; /* -fFILE / -pURL used the rest of the word */
			}
		}
	}
	if (!check && i >= argc)
		die("no command given (usage: socksify [options] [--] command [args...])");

	/* The config: -f, or the standard places. */
	if (file != NULL) {
		snprintf(conf, sizeof(conf), "%s", file);
		found = 1;
	} else {
		found = cfg_find_file(true, conf, sizeof(conf), err, sizeof(err));
		if (found < 0)
			die("%s", err);
	}
	if (found) {
		if (cfg_load_file(conf, &cfg, err, sizeof(err)) != 0)
			die("%s", err);
		/* The library may run in another directory: give it a full path. */
		if (realpath(conf, abs) == NULL)
			die("%s: %s", conf, strerror(errno));
		setenv("SOCKSIFY_CONF", abs, 1);
	} else {
		cfg_defaults(&cfg);
		/* Set but empty: the library must not look for a file itself. */
		setenv("SOCKSIFY_CONF", "", 1);
	}
	/* The chain goes to the command through pass_chain() only: one
	 * inherited from an outer socksify, or set by hand, must not win. */
	unsetenv("SOCKSIFY_CHAIN");
	unsetenv(SECRET_ENV);
	if (chain[0] != '\0') {
		if (cfg_set_chain(&cfg, chain, err, sizeof(err)) != 0)
			die("-p: %s", err);
	} else {
		env = getenv("SOCKSIFY_PROXY");
		if (cfg.nproxies == 0 && env != NULL && env[0] != '\0' &&
		    cfg_set_chain(&cfg, env, err, sizeof(err)) != 0)
			die("SOCKSIFY_PROXY: %s", err);
	}
	if (cfg.nproxies == 0)
		die("no proxy configured: use -p URL (e.g. -p socks5://127.0.0.1:1080), "
		    "a config file with proxy lines (-f FILE, $SOCKSIFY_CONF, "
		    "./socksify.conf, ~/.config/socksify/socksify.conf, /etc/socksify.conf) "
		    "or $SOCKSIFY_PROXY");

	if (quiet)
		setenv("SOCKSIFY_LOG", "none", 1);
	else if (verbose)
		setenv("SOCKSIFY_LOG", verbose > 1 ? "debug" : "info", 1);
	env = getenv("SOCKSIFY_LOG");
	if (env != NULL && env[0] != '\0' && cfg_log_level_parse(env) < 0)
		die("SOCKSIFY_LOG: '%s' is not none, error, warn, info or debug", env);

	if (check) {
		if (env != NULL && cfg_log_level_parse(env) >= CFG_LOG_DEBUG)
			log_configure(CFG_LOG_DEBUG, NULL);
		else
			log_configure(CFG_LOG_NONE, NULL);
		return probe_hops(&cfg);
	}

	if (exe_check(argv[i], exe, sizeof(exe), err, sizeof(err), &v) != 0)
		die("%s", err);
	if (use_supervisor(&cfg, &v, exe, backend, err))
		return sup_run(&cfg, exe, argv + i);
	find_library(lib, sizeof(lib));
	set_preload(lib);
	if (chain[0] != '\0')
		pass_chain(chain);
	execv(exe, argv + i);
	die("%s: %s", argv[i], strerror(errno));
}
