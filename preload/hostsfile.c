/* hostsfile.c: a cached, change-aware reading of /etc/hosts.
 *
 * One mutex guards the cache.  It is a leaf lock (nothing else of the
 * library is locked while it is held; code under it calls only libc:
 * stat, stdio, malloc), and fork handlers hold it across fork() so that
 * the child of a threaded program can read the file again.
 */
#include <arpa/inet.h>
#include <sys/stat.h>

#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Without this uthash calls exit() inside the host program when an
 * allocation fails.  Non-fatal mode leaves the table as it was and calls
 * uthash_nonfatal_oom, which notes it (adds run under H.lock). */
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(elt) ((void)(elt), H.add_failed = true)
#include <uthash.h>

#include "hostsfile.h"

struct hosts_name {
	UT_hash_handle hh;
	struct hosts_addrs a;
	char name[];            /* lowercased key */
};

struct hosts_rev {
	UT_hash_handle hh;
	uint8_t key[17];        /* family tag + address */
	char name[256];
};

static struct {
	pthread_mutex_t lock;
	struct hosts_name *names;
	struct hosts_rev *revs;
	struct stat seen;
	int loaded;
	bool add_failed;        /* set by uthash when an add ran out of memory */
	bool incomplete;        /* this reading lost lines (memory, read error) */
} H = { .lock = PTHREAD_MUTEX_INITIALIZER };

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void fork_prepare(void) { pthread_mutex_lock(&H.lock); }
static void fork_parent(void) { pthread_mutex_unlock(&H.lock); }

static void
fork_child(void)
{
	/* The forking thread took the lock in prepare: the cache is whole,
	 * and the lock is made anew for the only thread left (released first
	 * for lock-tracking tools, as in dnsmap.c). */
	pthread_mutex_unlock(&H.lock);
	pthread_mutex_init(&H.lock, NULL);
}

static void
register_atfork(void)
{
	(void)pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* Registered from a constructor, before the program has threads: libc
 * skips handlers registered while a fork() in another thread is under way.
 * The priority fixes the order (see resolve.c). */
static void __attribute__((constructor(102)))
register_early(void)
{
	pthread_once(&atfork_once, register_atfork);
}

/* The pthread_once covers a hook that runs before our constructor.  It is
 * never called with H.lock held: some libcs keep the handler list locked
 * while prepare waits for H.lock. */
static void
lock_hosts(void)
{
	pthread_once(&atfork_once, register_atfork);
	pthread_mutex_lock(&H.lock);
}

static void
unlock_hosts(void)
{
	pthread_mutex_unlock(&H.lock);
}

const char *
hosts_path(void)
{
	const char *p = getenv("SOCKSIFY_HOSTS");

	return p && *p ? p : "/etc/hosts";
}

static void
clear_locked(void)
{
	struct hosts_name *n, *tn;
	struct hosts_rev *r, *tr;

	HASH_ITER(hh, H.names, n, tn) {
		HASH_DEL(H.names, n);
		free(n);
	}
	HASH_ITER(hh, H.revs, r, tr) {
		HASH_DEL(H.revs, r);
		free(r);
	}
}

/* A failed allocation leaves the name out and marks the reading incomplete. */
static void
add_name(const char *name, const char *canon, int fam, const uint8_t *ip)
{
	char key[256];
	struct hosts_name *e;
	size_t n = strlen(name);

	if (n == 0 || n >= sizeof(key))
		return;
	for (size_t i = 0; i <= n; i++)
		key[i] = (char)tolower((unsigned char)name[i]);
	HASH_FIND(hh, H.names, key, n, e);
	if (e == NULL) {
		e = calloc(1, sizeof(*e) + n + 1);
		if (e == NULL) {
			H.incomplete = true;
			return;
		}
		memcpy(e->name, key, n + 1);
		snprintf(e->a.canon, sizeof(e->a.canon), "%s", canon);
		H.add_failed = false;
		HASH_ADD_KEYPTR(hh, H.names, e->name, n, e);
		if (H.add_failed) {
			free(e);
			H.incomplete = true;
			return;
		}
	}
	if (fam == AF_INET && e->a.n4 < HOSTS_MAX_ADDRS)
		memcpy(e->a.v4[e->a.n4++], ip, 4);
	else if (fam == AF_INET6 && e->a.n6 < HOSTS_MAX_ADDRS)
		memcpy(e->a.v6[e->a.n6++], ip, 16);
}

static void
add_rev(int fam, const uint8_t *ip, const char *name)
{
	struct hosts_rev *r, *old;

	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		H.incomplete = true;
		return;
	}
	r->key[0] = (uint8_t)fam;
	memcpy(r->key + 1, ip, fam == AF_INET ? 4 : 16);
	HASH_FIND(hh, H.revs, r->key, sizeof(r->key), old);
	if (old != NULL) {      /* the first line for an address wins */
		free(r);
		return;
	}
	snprintf(r->name, sizeof(r->name), "%s", name);
	H.add_failed = false;
	HASH_ADD(hh, H.revs, key, sizeof(r->key), r);
	if (H.add_failed) {
		free(r);
		H.incomplete = true;
	}
}

static void
load_locked(FILE *f)
{
	/* The line lives on the heap: this runs inside getaddrinfo, whose
	 * caller's stack may be small, and a line may be of any length. */
	char *line = NULL;
	size_t cap = 0;

	while (getline(&line, &cap, f) != -1) {
		char *save = NULL, *tok, *canon;
		uint8_t ip[16];
		int fam;
		char *hash = strchr(line, '#');

		if (hash)
			*hash = '\0';
		tok = strtok_r(line, " \t\r\n", &save);
		if (tok == NULL)
			continue;
		if (inet_pton(AF_INET, tok, ip) == 1)
			fam = AF_INET;
		else if (inet_pton(AF_INET6, tok, ip) == 1)
			fam = AF_INET6;
		else
			continue;
		canon = strtok_r(NULL, " \t\r\n", &save);
		if (canon == NULL)
			continue;
		add_rev(fam, ip, canon);
		for (tok = canon; tok != NULL; tok = strtok_r(NULL, " \t\r\n", &save))
			add_name(tok, canon, fam, ip);
	}
	if (!feof(f))
		H.incomplete = true;    /* a read error, or no memory for the line */
	free(line);
}

/* Reads the file again if it changed since the last look.  A reading that
 * could not finish (no memory, no fd left) is not kept as the file's
 * contents: the next look tries again, so a moment of pressure does not
 * hide local names until the file next changes. */
static void
refresh_locked(void)
{
	struct stat st;
	FILE *f;
	int found = stat(hosts_path(), &st) == 0;

	if (!found) {
		memset(&st, 0, sizeof(st));
	} else if (H.loaded && st.st_ino == H.seen.st_ino && st.st_size == H.seen.st_size &&
	    st.st_mtim.tv_sec == H.seen.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == H.seen.st_mtim.tv_nsec && st.st_dev == H.seen.st_dev) {
		return;
	}
	clear_locked();
	H.seen = st;
	H.loaded = 1;
	if (!found)
		return;     /* no file, no names: stat tells when one appears */
	f = fopen(hosts_path(), "re");
	if (f == NULL) {
		H.loaded = 0;
		return;
	}
	H.incomplete = false;
	load_locked(f);
	fclose(f);
	if (H.incomplete)
		H.loaded = 0;
}

static bool
is_localhost(const char *name)
{
	size_t n = strlen(name);

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 9 && strncasecmp(name, "localhost", 9) == 0)
		return true;
	return n > 10 && strncasecmp(name + n - 10, ".localhost", 10) == 0;
}

bool
hosts_lookup(const char *name, struct hosts_addrs *out)
{
	char key[256];
	struct hosts_name *e;
	size_t n = strlen(name);
	bool found = false;

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n >= sizeof(key))
		return false;
	for (size_t i = 0; i < n; i++)
		key[i] = (char)tolower((unsigned char)name[i]);
	key[n] = '\0';
	lock_hosts();
	refresh_locked();
	HASH_FIND(hh, H.names, key, n, e);
	if (e != NULL) {
		*out = e->a;
		found = true;
	}
	unlock_hosts();
	if (!found && is_localhost(name)) {
		/* RFC 6761: localhost names never leave the machine. */
		memset(out, 0, sizeof(*out));
		out->n4 = out->n6 = 1;
		inet_pton(AF_INET, "127.0.0.1", out->v4[0]);
		inet_pton(AF_INET6, "::1", out->v6[0]);
		snprintf(out->canon, sizeof(out->canon), "%.*s", (int)n, name);
		found = true;
	}
	return found;
}

bool
hosts_reverse(int family, const void *addr, char *name, size_t cap)
{
	uint8_t key[17] = { 0 };
	struct hosts_rev *r;
	bool found = false;

	if (family != AF_INET && family != AF_INET6)
		return false;
	key[0] = (uint8_t)family;
	memcpy(key + 1, addr, family == AF_INET ? 4 : 16);
	lock_hosts();
	refresh_locked();
	HASH_FIND(hh, H.revs, key, sizeof(key), r);
	if (r != NULL && strlen(r->name) < cap) {
		memcpy(name, r->name, strlen(r->name) + 1);
		found = true;
	}
	unlock_hosts();
	return found;
}
