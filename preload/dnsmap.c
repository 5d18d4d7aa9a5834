/* dnsmap.c: names <-> stand-in addresses for remote DNS (see dnsmap.h). */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "socksify/config.h"
#include "dnsmap.h"

struct dns_entry {
	UT_hash_handle hh_name;
	UT_hash_handle hh_idx;
	struct dns_entry *older, *newer; /* recency list: oldest at the head */
	uint32_t idx;
	uint32_t pins;
	char name[];                     /* normalised, NUL terminated */
};

static struct {
	pthread_mutex_t lock;
	struct dns_entry *by_name, *by_idx;
	struct dns_entry *oldest, *newest;
	struct addr_cidr v4, v6;
	uint32_t base4;     /* first address of the IPv4 range, host order */
	uint32_t range;     /* usable indexes are 1..range */
	uint32_t cursor;    /* last index handed out */
	size_t cap, count;
	int ready;
} M = { .lock = PTHREAD_MUTEX_INITIALIZER };

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void lock_map(void) { pthread_mutex_lock(&M.lock); }
static void unlock_map(void) { pthread_mutex_unlock(&M.lock); }

static void
child_after_fork(void)
{
	/* Only the forking thread exists in the child; the lock was taken
	 * in prepare, so the map is consistent and simply ours now. */
	pthread_mutex_init(&M.lock, NULL);
}

static void
register_atfork(void)
{
	pthread_atfork(lock_map, unlock_map, child_after_fork);
}

static uint64_t
host_count(const struct addr_cidr *c)
{
	unsigned bits = (c->family == AF_INET ? 32u : 128u) - c->prefix;

	return bits >= 33 ? (uint64_t)1 << 33 : (uint64_t)1 << bits;
}

static void
forget_all(void)
{
	struct dns_entry *e, *tmp;

	HASH_ITER(hh_name, M.by_name, e, tmp) {
		HASH_DELETE(hh_name, M.by_name, e);
		HASH_DELETE(hh_idx, M.by_idx, e);
		free(e);
	}
	M.oldest = M.newest = NULL;
	M.count = 0;
	M.cursor = 0;
}

static int
setup_locked(const struct addr_cidr *v4, const struct addr_cidr *v6, size_t cap,
    const char **why)
{
	uint64_t n4, n6, range;

	if (v4->family != AF_INET || v6->family != AF_INET6) {
		*why = "fake ranges must be one IPv4 and one IPv6 range";
		return -1;
	}
	n4 = host_count(v4);
	n6 = host_count(v6);
	range = (n4 < n6 ? n4 : n6);
	/* Leave out the range's first and last address (network and
	 * broadcast-looking ones) and keep indexes within 32 bits. */
	range = range > 2 ? range - 2 : 0;
	if (range > UINT32_MAX - 1)
		range = UINT32_MAX - 1;
	if (range < 256) {
		*why = "fake range too small (needs at least 256 addresses)";
		return -1;
	}
	if (cap == 0) {
		*why = "dns_cache_size must be at least 1";
		return -1;
	}
	forget_all();
	M.v4 = *v4;
	M.v6 = *v6;
	M.base4 = (uint32_t)M.v4.addr[0] << 24 | (uint32_t)M.v4.addr[1] << 16 |
	    (uint32_t)M.v4.addr[2] << 8 | M.v4.addr[3];
	M.range = (uint32_t)range;
	/* Half the range at most, so a free index is always near the cursor. */
	M.cap = cap < range / 2 ? cap : (size_t)(range / 2);
	M.ready = 1;
	return 0;
}

static void
setup_defaults_locked(void)
{
	struct cfg c;
	const char *why;

	cfg_defaults(&c);
	setup_locked(&c.fake_ipv4, &c.fake_ipv6, c.dns_cache_size, &why);
}

int
dns_map_setup(const struct addr_cidr *v4, const struct addr_cidr *v6, size_t cap,
    const char **why)
{
	int rc;

	pthread_once(&atfork_once, register_atfork);
	lock_map();
	rc = setup_locked(v4, v6, cap, why);
	unlock_map();
	return rc;
}

static void
ensure_ready_locked(void)
{
	if (!M.ready)
		setup_defaults_locked();
}

static void
list_unlink(struct dns_entry *e)
{
	if (e->older)
		e->older->newer = e->newer;
	else
		M.oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		M.newest = e->older;
	e->older = e->newer = NULL;
}

static void
list_push_newest(struct dns_entry *e)
{
	e->older = M.newest;
	e->newer = NULL;
	if (M.newest)
		M.newest->newer = e;
	else
		M.oldest = e;
	M.newest = e;
}

/* Lowercases name into buf without one trailing dot; returns the length
 * or 0 for an empty or over-long name. */
static size_t
normalise(const char *name, char *buf)
{
	size_t n = strnlen(name, WIRE_NAME_MAX + 2);

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > WIRE_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)tolower((unsigned char)name[i]);
	buf[n] = '\0';
	return n;
}

static int
evict_one_locked(void)
{
	for (struct dns_entry *e = M.oldest; e != NULL; e = e->newer) {
		if (e->pins != 0)
			continue;
		list_unlink(e);
		HASH_DELETE(hh_name, M.by_name, e);
		HASH_DELETE(hh_idx, M.by_idx, e);
		free(e);
		M.count--;
		return 0;
	}
	return -1;
}

static uint32_t
next_free_index_locked(void)
{
	struct dns_entry *hit;

	/* count < cap <= range/2, so this ends after a few steps. */
	for (;;) {
		M.cursor = M.cursor >= M.range ? 1 : M.cursor + 1;
		HASH_FIND(hh_idx, M.by_idx, &M.cursor, sizeof(M.cursor), hit);
		if (hit == NULL)
			return M.cursor;
	}
}

uint32_t
dns_map_get(const char *name)
{
	char norm[WIRE_NAME_MAX + 1];
	struct dns_entry *e;
	size_t n = normalise(name, norm);
	uint32_t idx = 0;

	if (n == 0)
		return 0;
	pthread_once(&atfork_once, register_atfork);
	lock_map();
	ensure_ready_locked();
	HASH_FIND(hh_name, M.by_name, norm, n, e);
	if (e != NULL) {
		list_unlink(e);
		list_push_newest(e);
		idx = e->idx;
		goto out;
	}
	if (M.count >= M.cap && evict_one_locked() != 0)
		goto out;
	e = malloc(sizeof(*e) + n + 1);
	if (e == NULL)
		goto out;
	memset(e, 0, sizeof(*e));
	memcpy(e->name, norm, n + 1);
	e->idx = next_free_index_locked();
	HASH_ADD_KEYPTR(hh_name, M.by_name, e->name, n, e);
	HASH_ADD(hh_idx, M.by_idx, idx, sizeof(e->idx), e);
	list_push_newest(e);
	M.count++;
	idx = e->idx;
out:
	unlock_map();
	return idx;
}

/* The index sa would have if it were a stand-in, or 0. */
static uint32_t
index_of_locked(const struct sockaddr *sa)
{
	struct sockaddr_in in;
	uint64_t idx;

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		const uint8_t *a = in6->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			memset(&in, 0, sizeof(in));
			in.sin_family = AF_INET;
			memcpy(&in.sin_addr, a + 12, 4);
			return index_of_locked((const struct sockaddr *)&in);
		}
		if (!addr_cidr_match(&M.v6, sa))
			return 0;
		/* The index lives in the last 32 bits; anything between
		 * the prefix and those bits must be zero. */
		for (unsigned i = M.v6.prefix / 8; i < 12; i++)
			if ((a[i] & (i == M.v6.prefix / 8 ?
			    (uint8_t)(0xff >> (M.v6.prefix % 8)) : 0xff)) != 0)
				return 0;
		idx = (uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 |
		    (uint32_t)a[14] << 8 | a[15];
		idx -= ((uint32_t)M.v6.addr[12] << 24 | (uint32_t)M.v6.addr[13] << 16 |
		    (uint32_t)M.v6.addr[14] << 8 | M.v6.addr[15]);
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;
		if (!addr_cidr_match(&M.v4, sa))
			return 0;
		idx = (uint32_t)(ntohl(in4->sin_addr.s_addr) - M.base4);
	} else {
		return 0;
	}
	return idx >= 1 && idx <= M.range ? (uint32_t)idx : 0;
}

bool
dns_map_in_range(const struct sockaddr *sa)
{
	bool in;

	lock_map();
	ensure_ready_locked();
	in = index_of_locked(sa) != 0;
	unlock_map();
	return in;
}

uint32_t
dns_map_lookup_addr(const struct sockaddr *sa, char *name, size_t cap)
{
	struct dns_entry *e = NULL;
	uint32_t idx;

	lock_map();
	ensure_ready_locked();
	idx = index_of_locked(sa);
	if (idx != 0)
		HASH_FIND(hh_idx, M.by_idx, &idx, sizeof(idx), e);
	if (e == NULL || strlen(e->name) >= cap) {
		idx = 0;
	} else {
		memcpy(name, e->name, strlen(e->name) + 1);
		list_unlink(e);
		list_push_newest(e);
	}
	unlock_map();
	return idx;
}

void
dns_map_addr4(uint32_t idx, uint8_t out[4])
{
	uint32_t a;

	lock_map();
	ensure_ready_locked();
	a = M.base4 + idx;
	unlock_map();
	out[0] = a >> 24;
	out[1] = (a >> 16) & 0xff;
	out[2] = (a >> 8) & 0xff;
	out[3] = a & 0xff;
}

void
dns_map_addr6(uint32_t idx, uint8_t out[16])
{
	uint32_t low;

	lock_map();
	ensure_ready_locked();
	memcpy(out, M.v6.addr, 16);
	unlock_map();
	low = ((uint32_t)out[12] << 24 | (uint32_t)out[13] << 16 |
	    (uint32_t)out[14] << 8 | out[15]) + idx;
	out[12] = low >> 24;
	out[13] = (low >> 16) & 0xff;
	out[14] = (low >> 8) & 0xff;
	out[15] = low & 0xff;
}

void
dns_map_ref_addr(const struct sockaddr *sa, int delta)
{
	struct dns_entry *e = NULL;
	uint32_t idx;

	lock_map();
	ensure_ready_locked();
	idx = index_of_locked(sa);
	if (idx != 0)
		HASH_FIND(hh_idx, M.by_idx, &idx, sizeof(idx), e);
	if (e != NULL && (delta > 0 || e->pins > 0))
		e->pins += (uint32_t)delta;
	unlock_map();
}

size_t
dns_map_count(void)
{
	size_t n;

	lock_map();
	n = M.count;
	unlock_map();
	return n;
}

size_t
dns_map_capacity(void)
{
	size_t n;

	lock_map();
	ensure_ready_locked();
	n = M.cap;
	unlock_map();
	return n;
}

void
dns_map_ranges(struct addr_cidr *v4, struct addr_cidr *v6)
{
	lock_map();
	ensure_ready_locked();
	*v4 = M.v4;
	*v6 = M.v6;
	unlock_map();
}

void
dns_map_reset(void)
{
	lock_map();
	forget_all();
	unlock_map();
}
