/* main.c: socksifyd's options, start-up, signals and clean exit. */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "srv.h"

#ifndef SOCKSIFY_VERSION
#define SOCKSIFY_VERSION "0"
#endif

#define RESOLVER_THREADS 4
#define RESOLVER_QUEUE 1024
#define MAX_THREADS 256
/* Seconds.  Two hours of silence on a relay almost always means its ends
 * are gone without a FIN or a reset (a machine switched off, a network or
 * NAT state lost); it is also when TCP keepalive starts probing. */
#define IDLE_DEFAULT 7200
#define HALF_CLOSE_DEFAULT 60
#define STR_(x) #x
#define STR(x) STR_(x)

struct srv srv_g;

static const char usage_text[] =
	"usage: socksifyd [--config FILE] [-l ADDR:PORT]... [-u USER:PASS]...\n"
	"                 [--users FILE] [--socks4-userid]\n"
	"                 [--allow CIDR]... [--deny-dest CIDR]... [--no-bind] [--no-udp]\n"
	"                 [--max-conns N] [--max-per-client N] [--max-binds-per-client N]\n"
	"                 [--max-udp-per-client N] [--auth-delay SECONDS]\n"
	"                 [--auth-fail-limit N] [--timeout SECONDS]\n"
	"                 [--idle-timeout SECONDS] [--half-close-timeout SECONDS]\n"
	"                 [--dns-ttl SECONDS] [--dns-negative-ttl SECONDS]\n"
	"                 [--dns-cache N] [--connect-attempt-timeout SECONDS]\n"
	"                 [-e ADDR]... [--port-file FILE] [--threads N] [--run-as NAME]\n"
	"                 [-v] [-q] [-h] [--version]\n"
	"\n"
	"      --config FILE        options from FILE first, one per line, the long\n"
	"                           names without dashes (\"listen 127.0.0.1:1080\")\n"
	"  -l, --listen ADDR:PORT   listen here (repeatable; default 127.0.0.1:1080;\n"
	"                           [::1]:PORT for IPv6; port 0 picks a free port)\n"
	"  -u, --user USER:PASS     require RFC 1929 authentication (repeatable)\n"
	"      --users FILE         users from FILE, one user:pass per line\n"
	"      --socks4-userid      with users, let SOCKS4 in on a user id that names\n"
	"                           one (no password: default is to refuse SOCKS4)\n"
	"      --allow CIDR         clients allowed (repeatable; default everyone, but\n"
	"                           a non-loopback -l needs --allow or users)\n"
	"      --deny-dest CIDR     destinations refused (repeatable; 0.0.0.0, ::,\n"
	"                           IPv4-mapped IPv6 and names are checked as the\n"
	"                           address reached); the server's own listening\n"
	"                           addresses are always refused\n"
	"  -e, --external ADDR      leave from ADDR (an IP; repeatable, IPv4 and IPv6)\n"
	"                           for CONNECT, BIND and UDP (default: the system's\n"
	"                           choice); a family with no ADDR is unreachable\n"
	"      --no-bind            refuse BIND\n"
	"      --no-udp             refuse UDP ASSOCIATE\n"
	"      --max-conns N        at most N sessions at once (default no limit)\n"
	"      --max-per-client N   sessions per client address (default 1024)\n"
	"      --max-binds-per-client N  BINDs waiting per client address (default 16)\n"
	"      --max-udp-per-client N    UDP associations per client address (default 32)\n"
	"      --auth-fail-limit N  failed logins per client address in a minute; then\n"
	"                           it is refused until the minute is over (default 10)\n"
	"                           (a client address: IPv4 address or IPv6 /64;\n"
	"                           0 turns a limit off)\n"
	"      --auth-delay SECONDS wait before answering a failed login (default 1)\n"
	"      --timeout SECONDS    negotiation, connect and BIND wait limit (default 10)\n"
	"      --idle-timeout SECONDS  end a session that moves no byte for this long\n"
	"                           (default " STR(IDLE_DEFAULT) ", two hours: a relay this quiet\n"
	"                           has almost always lost its ends; 0: never)\n"
	"      --half-close-timeout SECONDS  once one side has closed, end the session\n"
	"                           when the other stays quiet this long (default " STR(HALF_CLOSE_DEFAULT) ";\n"
	"                           0: only --idle-timeout applies)\n"
	"      --port-file FILE     write the first listener's port to FILE\n"
	"      --threads N          event-loop threads (default: one per CPU)\n"
	"      --run-as NAME        become user NAME once the listeners are bound\n"
	"      --dns-ttl SECONDS    keep a name's addresses this long (default 60)\n"
	"      --dns-negative-ttl SECONDS  keep \"no such name\" this long (default 10)\n"
	"      --dns-cache N        names kept at most (default 4096; 0: no cache)\n"
	"      --connect-attempt-timeout SECONDS  give up one address of a name\n"
	"                           after this long when others remain (default 2;\n"
	"                           the next one starts after 0.25 s regardless)\n"
	"  -v, --verbose            debug log\n"
	"  -q, --quiet              no log\n"
	"  -h, --help               this help\n"
	"      --version            print the version\n";

enum {
	OPT_USERS = 256, OPT_ALLOW, OPT_DENY, OPT_NO_BIND, OPT_NO_UDP, OPT_MAX_CONNS,
	OPT_TIMEOUT, OPT_IDLE, OPT_HALF, OPT_PORT_FILE, OPT_THREADS, OPT_VERSION,
	OPT_S4_USERID, OPT_RUN_AS, OPT_CONFIG,
	OPT_PER_CLIENT, OPT_BINDS_PER_CLIENT, OPT_UDP_PER_CLIENT, OPT_AUTH_FAILS,
	OPT_AUTH_DELAY, OPT_DNS_TTL, OPT_DNS_NEG_TTL, OPT_DNS_CACHE, OPT_ATTEMPT,
};

static const struct option long_opts[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "listen", required_argument, NULL, 'l' },
	{ "external", required_argument, NULL, 'e' },
	{ "user", required_argument, NULL, 'u' },
	{ "users", required_argument, NULL, OPT_USERS },
	{ "socks4-userid", no_argument, NULL, OPT_S4_USERID },
	{ "allow", required_argument, NULL, OPT_ALLOW },
	{ "deny-dest", required_argument, NULL, OPT_DENY },
	{ "no-bind", no_argument, NULL, OPT_NO_BIND },
	{ "no-udp", no_argument, NULL, OPT_NO_UDP },
	{ "max-conns", required_argument, NULL, OPT_MAX_CONNS },
	{ "max-per-client", required_argument, NULL, OPT_PER_CLIENT },
	{ "max-binds-per-client", required_argument, NULL, OPT_BINDS_PER_CLIENT },
	{ "max-udp-per-client", required_argument, NULL, OPT_UDP_PER_CLIENT },
	{ "auth-fail-limit", required_argument, NULL, OPT_AUTH_FAILS },
	{ "auth-delay", required_argument, NULL, OPT_AUTH_DELAY },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE },
	{ "half-close-timeout", required_argument, NULL, OPT_HALF },
	{ "port-file", required_argument, NULL, OPT_PORT_FILE },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "run-as", required_argument, NULL, OPT_RUN_AS },
	{ "dns-ttl", required_argument, NULL, OPT_DNS_TTL },
	{ "dns-negative-ttl", required_argument, NULL, OPT_DNS_NEG_TTL },
	{ "dns-cache", required_argument, NULL, OPT_DNS_CACHE },
	{ "connect-attempt-timeout", required_argument, NULL, OPT_ATTEMPT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* Keys a config file cannot hold: another file, and what only prints. */
static const char *const conf_refused[] = { "config", "help", "version", NULL };

/* The config file's options, kept for the life of the process: the
 * configuration points into them (--port-file, --run-as). */
static struct srv_conf_args conf_args;
/* While the config file's options are parsed: the file, and each
 * argument's line, for the error messages. */
static const char *where_file;
static const unsigned *where_line;
static int where_at;

/* Set while SIGHUP re-reads the options: a wrong one then abandons the
 * reload, with a log line, instead of ending the server. */
static jmp_buf *reload_jmp;

static void __attribute__((noreturn))
reload_abandon(void)
{
	jmp_buf *jb = reload_jmp;

	reload_jmp = NULL;
	longjmp(*jb, 1);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	char msg[512], at[PATH_MAX + 16] = "";
	va_list ap;

	if (where_file != NULL)
		snprintf(at, sizeof(at), "%s:%u: ", where_file, where_line[where_at]);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (reload_jmp != NULL) {
		srv_warn("reload: %s%s; the users and rules in force stay", at, msg);
		reload_abandon();
	}
	fprintf(stderr, "socksifyd: %s%s\nTry 'socksifyd --help'.\n", at, msg);
	exit(2);
}

/* Seconds, possibly fractional, into milliseconds. */
static unsigned
parse_seconds(const char *opt, const char *s, bool zero_ok)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < 0 ||
	    v > 86400.0 * 365 || (!zero_ok && v * 1000 < 1))
		usage_error("bad %s value '%s': want seconds %s", opt, s,
		    zero_ok ? ">= 0" : "> 0");
	return (unsigned)(v * 1000 + 0.5);
}

/* A count from 0 to max. */
static unsigned
parse_count(const char *opt, const char *s, unsigned max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max)
		usage_error("bad %s value '%s': want 0..%u", opt, s, max);
	return (unsigned)v;
}

static void
listen_add(struct srv_cfg *cfg, const char *text)
{
	struct wire_addr w, *l;
	const char *why = NULL;

	/* A bare port means the loopback address. */
	if (text[0] != '\0' && strspn(text, "0123456789") == strlen(text)) {
		char buf[32];
		snprintf(buf, sizeof(buf), "127.0.0.1:%s", text);
		if (addr_parse_hostport(buf, false, &w, &why) != 0)
			usage_error("bad listen address '%s': %s", text, why);
	} else if (addr_parse_hostport(text, false, &w, &why) != 0) {
		usage_error("bad listen address '%s': %s", text, why);
	}
	l = realloc(cfg->listen, (cfg->nlisten + 1) * sizeof(*l));
	if (l == NULL)
		usage_error("out of memory");
	l[cfg->nlisten++] = w;
	cfg->listen = l;
}

/* One event loop per CPU this process may run on (taskset counts). */
static unsigned
default_threads(void)
{
	cpu_set_t set;
	long n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	else
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	return n > MAX_THREADS ? MAX_THREADS : (unsigned)n;
}

static void
parse_args(struct srv_cfg *cfg, int argc, char **argv)
{
	const char *why = NULL;
	int c;

	/* 0: glibc's getopt starts over (the config file's vector, then the
	 * command line). */
	optind = 0;
	for (;;) {
		where_at = optind > 0 ? optind : 1;
		c = getopt_long(argc, argv, "l:u:e:vqh", long_opts, NULL);
		if (c == -1)
			break;
		switch (c) {
		case OPT_CONFIG:
			break;   /* read before everything else */
		case 'l':
			listen_add(cfg, optarg);
			break;
		case 'e':
			if (srv_external_add(cfg, optarg) != 0)
				usage_error("bad --external address '%s': want an IPv4 or IPv6 address",
				    optarg);
			break;
		case 'u':
			if (srv_users_add(cfg, optarg, &why) != 0)
				usage_error("bad -u value: %s", why);
			break;
		case OPT_USERS:
			if (srv_users_load(cfg, optarg) != 0) {
				if (reload_jmp != NULL) {
					srv_warn("reload: the users in force stay");
					reload_abandon();
				}
				exit(1);
			}
			break;
		case OPT_ALLOW:
			if (srv_acl_add(&cfg->allow, &cfg->nallow, optarg, &why) != 0)
				usage_error("bad --allow range '%s': %s", optarg, why);
			break;
		case OPT_DENY:
			if (srv_acl_add(&cfg->deny, &cfg->ndeny, optarg, &why) != 0)
				usage_error("bad --deny-dest range '%s': %s", optarg, why);
			break;
		case OPT_S4_USERID:
			cfg->socks4_userid = true;
			break;
		case OPT_NO_BIND:
			cfg->no_bind = true;
			break;
		case OPT_NO_UDP:
			cfg->no_udp = true;
			break;
		case OPT_MAX_CONNS: {
			char *end;
			unsigned long v;
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || optarg[0] == '-' ||
			    v > INT_MAX)
				usage_error("bad --max-conns value '%s'", optarg);
			cfg->max_conns = v;
			break;
		}
		case OPT_PER_CLIENT:
			cfg->max_per_client = parse_count("--max-per-client", optarg, INT_MAX);
			break;
		case OPT_BINDS_PER_CLIENT:
			cfg->max_binds_per_client = parse_count("--max-binds-per-client",
			    optarg, UINT16_MAX);
			break;
		case OPT_UDP_PER_CLIENT:
			cfg->max_udp_per_client = parse_count("--max-udp-per-client",
			    optarg, UINT16_MAX);
			break;
		case OPT_AUTH_FAILS:
			cfg->auth_fail_limit = parse_count("--auth-fail-limit", optarg, INT_MAX);
			break;
		case OPT_AUTH_DELAY:
			cfg->auth_delay_ms = parse_seconds("--auth-delay", optarg, true);
			break;
		case OPT_TIMEOUT:
			cfg->timeout_ms = parse_seconds("--timeout", optarg, false);
			break;
		case OPT_IDLE:
			cfg->idle_ms = parse_seconds("--idle-timeout", optarg, true);
			break;
		case OPT_HALF:
			cfg->half_ms = parse_seconds("--half-close-timeout", optarg, true);
			break;
		case OPT_PORT_FILE:
			cfg->port_file = optarg;
			break;
		case OPT_RUN_AS:
			cfg->run_as = optarg;
			break;
		case OPT_THREADS: {
			char *end;
			unsigned long v;
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || optarg[0] == '-' ||
			    v < 1 || v > MAX_THREADS)
				usage_error("bad --threads value '%s': want 1..%d", optarg,
				    MAX_THREADS);
			cfg->threads = (unsigned)v;
			break;
		}
		case OPT_DNS_TTL:
			cfg->dns_ttl_ms = parse_seconds("--dns-ttl", optarg, true);
			break;
		case OPT_DNS_NEG_TTL:
			cfg->dns_neg_ttl_ms = parse_seconds("--dns-negative-ttl", optarg, true);
			break;
		case OPT_DNS_CACHE: {
			char *end;
			unsigned long v;
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || optarg[0] == '-' ||
			    v > 1000000)
				usage_error("bad --dns-cache value '%s': want 0..1000000", optarg);
			cfg->dns_cache = v;
			break;
		}
		case OPT_ATTEMPT:
			cfg->attempt_ms = parse_seconds("--connect-attempt-timeout", optarg, false);
			break;
		case 'v':
			srv_verbosity = 1;
			break;
		case 'q':
			srv_verbosity = -1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case OPT_VERSION:
			printf("socksifyd %s\n", SOCKSIFY_VERSION);
			exit(0);
		default:
			fprintf(stderr, "Try 'socksifyd --help'.\n");
			exit(2);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
}

/* The file of --config FILE (or --config=FILE) on the command line, or
 * NULL. */
static const char *
config_path(int argc, char **argv)
{
	const char *path = NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			path = argv[i] + 9;
	}
	return path;
}

/* The config file is parsed before the command line, so that the
 * command line adds to it and has the last word.  args keeps its text. */
static int
parse_config(struct srv_cfg *cfg, const char *path, struct srv_conf_args *args)
{
	if (srv_conf_read(path, long_opts, conf_refused, args) != 0)
		return -1;
	where_file = path;
	where_line = args->line;
	parse_args(cfg, args->argc, args->argv);
	where_file = NULL;
	return 0;
}

static void
finish_args(struct srv_cfg *cfg)
{
	if (cfg->nlisten == 0)
		listen_add(cfg, "127.0.0.1:1080");
	if (cfg->threads == 0)
		cfg->threads = default_threads();
	SRV_DEBUG("timeouts: negotiation %g s, idle %g s, half-close %g s (0: none)",
	    cfg->timeout_ms / 1000.0, cfg->idle_ms / 1000.0, cfg->half_ms / 1000.0);
}

/* A listener beyond loopback with neither --allow nor users would serve
 * anyone who can reach it: that has to be asked for, not be a default.
 * Checked before anything is bound. */
static void
check_exposure(const struct srv_cfg *cfg)
{
	if (cfg->nallow > 0 || cfg->nusers > 0)
		return;
	for (size_t i = 0; i < cfg->nlisten; i++) {
		struct sockaddr_storage ss;
		socklen_t len;
		char txt[ADDR_STRLEN];

		if (srv_listen_sockaddr(&cfg->listen[i], &ss, &len) != 0)
			exit(1);
		if (!srv_acl_is_loopback((struct sockaddr *)&ss))
			usage_error("refusing to listen on %s with no --allow and no users: "
			    "anyone who can reach it could use the proxy; say who may, "
			    "with --allow CIDR (--allow 0.0.0.0/0 --allow ::/0 for "
			    "everyone) or -u/--users",
			    addr_format(txt, sizeof(txt), &cfg->listen[i]));
	}
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			SRV_DEBUG("setrlimit: %s", strerror(errno));
	}
}

static int
write_port_file(const char *path, const union srv_sa *a)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 5);
	FILE *f;
	int rc = -1;

	if (tmp == NULL)
		return -1;
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp", 5);
	f = fopen(tmp, "w");
	if (f == NULL)
		goto out;
	fprintf(f, "%u\n", ntohs(a->sa.sa_family == AF_INET ? a->in.sin_port :
	    a->in6.sin6_port));
	if (fclose(f) != 0)
		goto out;
	/* rename() makes the file appear whole: a poller never reads half. */
	if (rename(tmp, path) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0) {
		srv_fatal("%s: %s", path, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	return rc;
}

static int main_argc;
static char **main_argv;

/* SIGHUP: the users (-u, --users files) and the rules (--allow,
 * --deny-dest) are read again, from the config file and the command line
 * as at start-up; everything else keeps its start-up value.  New
 * connections and requests see the new ones; a session keeps the user it
 * logged in as.  Anything wrong keeps the ones in force. */
static void
reload(void)
{
	struct srv_cfg fresh, check;
	struct srv_conf_args args;
	const char *path = config_path(main_argc, main_argv);
	size_t nusers, nallow, ndeny;
	jmp_buf jb;

	memset(&fresh, 0, sizeof(fresh));
	memset(&args, 0, sizeof(args));
	if (setjmp(jb) != 0)
		goto out;
	reload_jmp = &jb;
	if (path != NULL && parse_config(&fresh, path, &args) != 0) {
		srv_warn("reload: the users and rules in force stay");
		goto out;
	}
	parse_args(&fresh, main_argc, main_argv);
	/* The listeners are the ones bound at start-up: the new rules must
	 * still say who may use them. */
	check = srv_g.cfg;
	check.nallow = fresh.nallow;
	check.nusers = fresh.nusers;
	check_exposure(&check);
	reload_jmp = NULL;
	nusers = fresh.nusers;
	nallow = fresh.nallow;
	ndeny = fresh.ndeny;
	if (srv_rules_replace(&fresh) != 0) {
		srv_warn("reload: %s; the users and rules in force stay", strerror(errno));
		goto out;
	}
	/* An idle loop would otherwise take the new set only after its next
	 * batch of events, with the first of them checked by the old one. */
	srv_workers_wake();
	srv_warn("reload: %zu users, %zu --allow and %zu --deny-dest ranges in force",
	    nusers, nallow, ndeny);
out:
	reload_jmp = NULL;
	where_file = NULL;
	srv_users_free(&fresh);
	free(fresh.allow);
	free(fresh.deny);
	free(fresh.listen);
	srv_conf_free(&args);
}

static void
signal_event(struct srv_ev *ev, uint32_t events)
{
	struct signalfd_siginfo si;

	(void)ev;
	(void)events;
	while (read(srv_g.sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload();
			continue;
		}
		SRV_DEBUG("signal %u: stopping", si.ssi_signo);
		srv_workers_stop();
	}
}

static int
setup_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	/* A shell may start us with SIGINT ignored; an ignored signal never
	 * becomes pending, so the signalfd would not see it. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked before any thread starts, so only the signalfd sees them. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	srv_g.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (srv_g.sigfd < 0)
		return -1;
	srv_g.sigev.fn = signal_event;
	return srv_loop_add(&srv_g.w[0]->loop, srv_g.sigfd, EPOLLIN, &srv_g.sigev);
}

static void
cleanup(void)
{
	/* Workers first (their sessions end and are logged), then the
	 * resolver that might still answer them, then what they own. */
	srv_workers_join();
	srv_resolve_fini();
	if (srv_g.sigfd >= 0)
		close(srv_g.sigfd);
	srv_workers_free();
	srv_rules_fini();
	srv_limits_fini();
	srv_log_stop();
	srv_users_free(&srv_g.cfg);
	free(srv_g.cfg.allow);
	free(srv_g.cfg.deny);
	free(srv_g.cfg.listen);
	free(srv_g.cfg.external);
	srv_conf_free(&conf_args);
}

int
main(int argc, char **argv)
{
	struct srv_cfg *cfg = &srv_g.cfg;
	int rc = 1;

	srv_g.sigfd = -1;
	cfg->timeout_ms = 10000;
	cfg->idle_ms = IDLE_DEFAULT * 1000;
	cfg->half_ms = HALF_CLOSE_DEFAULT * 1000;
	/* Generous for one host or a small network behind one address, and
	 * far below what one address would need to starve the others. */
	cfg->max_per_client = 1024;
	cfg->max_binds_per_client = 16;
	cfg->max_udp_per_client = 32;
	cfg->auth_fail_limit = 10;
	cfg->auth_delay_ms = 1000;
	cfg->dns_ttl_ms = 60000;
	cfg->dns_neg_ttl_ms = 10000;
	cfg->dns_cache = 4096;
	cfg->attempt_ms = 2000;
	main_argc = argc;
	main_argv = argv;
	if (config_path(argc, argv) != NULL &&
	    parse_config(cfg, config_path(argc, argv), &conf_args) != 0)
		exit(2);
	parse_args(cfg, argc, argv);
	finish_args(cfg);
	check_exposure(cfg);
	raise_nofile();
	if (srv_limits_init() != 0) {
		srv_fatal("client table: %s", strerror(errno));
		goto out;
	}
	if (srv_rules_init(cfg) != 0) {
		srv_fatal("rules: %s", strerror(errno));
		goto out;
	}
	if (srv_workers_init(cfg->threads) != 0) {
		srv_fatal("event loop: %s", strerror(errno));
		goto out;
	}
	/* Before any thread starts, so every thread blocks the signals. */
	if (setup_signals() != 0) {
		srv_fatal("signals: %s", strerror(errno));
		goto out;
	}
	if (srv_resolve_init(RESOLVER_THREADS, RESOLVER_QUEUE) != 0) {
		srv_fatal("resolver: %s", strerror(errno));
		goto out;
	}
	if (srv_workers_listen() != 0)
		goto out;
	for (size_t i = 0; i < srv_g.w[0]->nls; i++) {
		char txt[ADDR_STRLEN];
		printf("listening %s\n", addr_format_sa(txt, sizeof(txt), &srv_g.w[0]->ls[i].addr.sa));
	}
	fflush(stdout);
	if (cfg->port_file != NULL && write_port_file(cfg->port_file, &srv_g.w[0]->ls[0].addr) != 0)
		goto out;
	/* After binding (a port below 1024 needs root) and before any
	 * client's byte is read. */
	if (cfg->run_as != NULL && srv_drop_privileges(cfg->run_as) != 0)
		goto out;
	if (srv_log_start() != 0) {
		srv_fatal("log: %s", strerror(errno));
		goto out;
	}
	if (srv_workers_start() != 0) {
		srv_fatal("threads: %s", strerror(errno));
		goto out;
	}
	srv_loop_run(&srv_w->loop);
	SRV_DEBUG("stopped");
	rc = 0;
out:
	cleanup();
	return rc;
}
