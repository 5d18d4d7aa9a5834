/* env.c: the settings the process runs with, from its environment, and the
 * configuration they name.
 *
 * The launcher passes everything through the environment, so it survives
 * exec: SOCKSIFY_CONF (config file; set but empty: none), SOCKSIFY_CHAIN_FD
 * (an inherited memfd with the proxy URLs given with -p, which may hold
 * passwords: see secret.h), SOCKSIFY_CHAIN (proxy URLs replacing the
 * file's chain, set by hand), SOCKSIFY_PROXY (URLs used when nothing else
 * gives a proxy), SOCKSIFY_LOG and SOCKSIFY_LOG_FILE.  The
 * variables are copied in the constructor, before the program can clear
 * or change its environment.  The config is loaded once: by the first hook
 * that needs it when the launcher named the file (an absolute path), in the
 * constructor otherwise (the search looks in the current directory and
 * $HOME, which the program may change).  A bad config never stops the
 * program: it is logged once and proxied connections fail.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsmap.h"
#include "lib.h"
#include "resolve.h"
#include "secret.h"

#define ENV_MAX 8192

static struct cfg the_cfg;
static bool cfg_ok;
static char cfg_err[512];
static int err_reported;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* Copies an environment variable; false when unset.  A value too long to
 * copy is treated as a configuration error by the caller. */
static bool
env_copy(const char *name, char *buf, size_t cap, bool *too_long)
{
	const char *v = getenv(name);

	if (v == NULL)
		return false;
	if (strlen(v) >= cap) {
		*too_long = true;
		buf[0] = '\0';
		return true;
	}
	strcpy(buf, v);
	return true;
}

static void __attribute__((format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cfg_err, sizeof(cfg_err), fmt, ap);
	va_end(ap);
	cfg_ok = false;
	cfg_defaults(&the_cfg);
}

/* The SOCKSIFY_* variables as the process started with them. */
static struct {
	char conf[CFG_PATH_MAX], chain[ENV_MAX], proxy[ENV_MAX];
	char lvl[32], lfile[CFG_PATH_MAX];
	bool has_conf, has_chain, has_proxy, has_lvl, has_lfile, long_env;
	bool lost_chain;    /* SOCKSIFY_CHAIN_FD named a memfd that is gone */
	int chain_errno;    /* ... and why */
} env;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

static void
copy_env(void)
{
	env.has_conf = env_copy("SOCKSIFY_CONF", env.conf, sizeof(env.conf), &env.long_env);
	env.has_chain = env_copy("SOCKSIFY_CHAIN", env.chain, sizeof(env.chain), &env.long_env);
	env.has_proxy = env_copy("SOCKSIFY_PROXY", env.proxy, sizeof(env.proxy), &env.long_env);
	env.has_lvl = env_copy("SOCKSIFY_LOG", env.lvl, sizeof(env.lvl), &env.long_env);
	env.has_lfile = env_copy("SOCKSIFY_LOG_FILE", env.lfile, sizeof(env.lfile),
	    &env.long_env);
	if (getenv(SECRET_ENV) != NULL) {
		/* The chain from -p: read now, and the fd kept out of the
		 * program's reach so that our own children inherit it. */
		int fd = secret_find();

		if (fd >= 0 && secret_read(fd, env.chain, sizeof(env.chain)) == 0) {
			env.has_chain = true;
			(void)sock_internal_add(fd);
		} else {
			env.chain_errno = errno;
			env.has_chain = false;
			env.lost_chain = true;
		}
	}
}

static void
load(void)
{
	static char found[CFG_PATH_MAX];
	char err[400];
	int saved = errno, l;

	pthread_once(&env_once, copy_env);
	cfg_ok = true;
	cfg_defaults(&the_cfg);
	if (env.long_env) {
		fail("an environment variable SOCKSIFY_* is too long");
	} else if (env.lost_chain) {
		fail("SOCKSIFY_CHAIN_FD: the proxy chain given with -p is not here (%s)",
		    strerror(env.chain_errno));
	} else if (env.has_conf && env.conf[0] != '\0') {
		if (cfg_load_file(env.conf, &the_cfg, err, sizeof(err)) != 0)
			fail("%s", err);
	} else if (!env.has_conf) {
		/* Not started by the launcher: look where it would look. */
		if (cfg_find_file(false, found, sizeof(found), err, sizeof(err)) == 1 &&
		    cfg_load_file(found, &the_cfg, err, sizeof(err)) != 0)
			fail("%s", err);
	}
	if (cfg_ok && env.has_chain && env.chain[0] != '\0') {
		if (cfg_set_chain(&the_cfg, env.chain, err, sizeof(err)) != 0)
			fail("SOCKSIFY_CHAIN: %s", err);
	} else if (cfg_ok && the_cfg.nproxies == 0 && env.has_proxy && env.proxy[0] != '\0') {
		if (cfg_set_chain(&the_cfg, env.proxy, err, sizeof(err)) != 0)
			fail("SOCKSIFY_PROXY: %s", err);
	}
	if (cfg_ok && the_cfg.nproxies == 0)
		fail("no proxy configured (SOCKSIFY_CONF, SOCKSIFY_CHAIN or "
		    "SOCKSIFY_PROXY)");
	if (env.has_lvl && (l = cfg_log_level_parse(env.lvl)) >= 0)
		the_cfg.log_level = (enum cfg_log)l;
	if (env.has_lfile)
		snprintf(the_cfg.log_file, sizeof(the_cfg.log_file), "%s", env.lfile);
	/* socks5h:// promises that names always go to the proxy. */
	the_cfg.dns = cfg_effective_dns(&the_cfg);
	{
		const char *why = "bad stand-in ranges";
		if (dns_map_setup(&the_cfg.fake_ipv4, &the_cfg.fake_ipv6,
		    the_cfg.dns_cache_size, &why) != 0 && cfg_ok)
			fail("dns: %s", why);
	}
	log_configure(the_cfg.log_level, the_cfg.log_file);
	errno = saved;
}

/* Only the environment is copied at start-up: a program that never opens
 * a socket or resolves a name (most of what a socksified shell script
 * runs) never pays for reading the config. */
__attribute__((constructor)) static void
env_init(void)
{
	proc_init();
	nouring_init();
	pthread_once(&env_once, copy_env);
	if (!env.has_conf)
		pthread_once(&once, load);
}

const struct cfg *
env_cfg(bool *ok)
{
	pthread_once(&once, load);
	if (ok != NULL)
		*ok = cfg_ok;
	return &the_cfg;
}

bool
dns_remote_enabled(void)
{
	bool ok;
	const struct cfg *cfg = env_cfg(&ok);

	/* Without a usable config, never ask a name server: names get
	 * stand-ins, and connecting to them fails closed. */
	return !ok || cfg->dns == CFG_DNS_REMOTE;
}

void
env_report_error(void)
{
	if (__atomic_exchange_n(&err_reported, 1, __ATOMIC_RELAXED) == 0)
		log_msg(CFG_LOG_ERROR, "%s; connections that need a proxy will fail",
		    cfg_err);
}

/* ---- the settings as the process started with them, for exec.c ----
 * copy_env reads SOCKSIFY_CHAIN_FD's memfd but keeps no copy of the
 * variable: its value is taken here, by the first call, which exec.c
 * makes from its constructor, before the program runs. */
static char chain_fd_var[24];
static bool has_chain_fd_var;
static pthread_once_t chain_fd_once = PTHREAD_ONCE_INIT;

static void
copy_chain_fd_var(void)
{
	const char *v = getenv(SECRET_ENV);

	has_chain_fd_var = v != NULL;
	if (v != NULL && strlen(v) < sizeof(chain_fd_var))
		strcpy(chain_fd_var, v);
}

const char *
env_setting(const char *name)
{
	pthread_once(&env_once, copy_env);
	pthread_once(&chain_fd_once, copy_chain_fd_var);
	if (strcmp(name, "SOCKSIFY_CONF") == 0)
		return env.has_conf ? env.conf : NULL;
	if (strcmp(name, SECRET_ENV) == 0)
		return has_chain_fd_var ? chain_fd_var : NULL;
	/* With SOCKSIFY_CHAIN_FD, env.chain is the memfd's chain, passwords
	 * and all: it never goes into an environment. */
	if (strcmp(name, "SOCKSIFY_CHAIN") == 0)
		return env.has_chain && !has_chain_fd_var ? env.chain : NULL;
	if (strcmp(name, "SOCKSIFY_PROXY") == 0)
		return env.has_proxy ? env.proxy : NULL;
	if (strcmp(name, "SOCKSIFY_LOG") == 0)
		return env.has_lvl ? env.lvl : NULL;
	if (strcmp(name, "SOCKSIFY_LOG_FILE") == 0)
		return env.has_lfile ? env.lfile : NULL;
	return NULL;
}
