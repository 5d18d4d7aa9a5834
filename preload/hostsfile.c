/* hostsfile.c: a cached, change-aware reading of /etc/hosts. */
#include <arpa/inet.h>
#include <sys/stat.h>

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
} H = { .lock = PTHREAD_MUTEX_INITIALIZER };

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
		if (e == NULL)
			return;
		memcpy(e->name, key, n + 1);
		snprintf(e->a.canon, sizeof(e->a.canon), "%s", canon);
		HASH_ADD_KEYPTR(hh, H.names, e->name, n, e);
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
	if (r == NULL)
		return;
	r->key[0] = (uint8_t)fam;
	memcpy(r->key + 1, ip, fam == AF_INET ? 4 : 16);
	HASH_FIND(hh, H.revs, r->key, sizeof(r->key), old);
	if (old != NULL) {      /* the first line for an address wins */
		free(r);
		return;
	}
	snprintf(r->name, sizeof(r->name), "%s", name);
	HASH_ADD(hh, H.revs, key, sizeof(r->key), r);
}

static void
load_locked(FILE *f)
{
	char line[1024];

	while (fgets(line, sizeof(line), f) != NULL) {
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
}

/* Reads the file again if it changed since the last look. */
static void
refresh_locked(void)
{
	struct stat st;
	FILE *f;

	if (stat(hosts_path(), &st) != 0) {
		memset(&st, 0, sizeof(st));
	} else if (H.loaded && st.st_ino == H.seen.st_ino && st.st_size == H.seen.st_size &&
	    st.st_mtim.tv_sec == H.seen.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == H.seen.st_mtim.tv_nsec && st.st_dev == H.seen.st_dev) {
		return;
	}
	clear_locked();
	H.seen = st;
	H.loaded = 1;
	f = fopen(hosts_path(), "re");
	if (f == NULL)
		return;
	load_locked(f);
	fclose(f);
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
	pthread_mutex_lock(&H.lock);
	refresh_locked();
	HASH_FIND(hh, H.names, key, n, e);
	if (e != NULL) {
		*out = e->a;
		found = true;
	}
	pthread_mutex_unlock(&H.lock);
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
	pthread_mutex_lock(&H.lock);
	refresh_locked();
	HASH_FIND(hh, H.revs, key, sizeof(key), r);
	if (r != NULL && strlen(r->name) < cap) {
		memcpy(name, r->name, strlen(r->name) + 1);
		found = true;
	}
	pthread_mutex_unlock(&H.lock);
	return found;
}
