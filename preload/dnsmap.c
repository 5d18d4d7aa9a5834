/* dnsmap.c: names <-> stand-in addresses for remote DNS (see dnsmap.h).
 *
 * One mutex guards the map.  It is a leaf lock: nothing else of the library
 * is locked while it is held, and code under it calls out only to malloc
 * and free.  Fork handlers hold it across fork(), so the child gets a
 * consistent map and a fresh lock.
 *
 * Pin counts are the one thing changed without the lock.  An entry is
 * freed only under the lock and only when its count is zero.  A count goes
 * from zero to one only under the lock (dns_map_pin); releases
 * (dns_map_unpin) are atomic operations by the holder of a pin.  So an entry seen under the lock with no pins
 * cannot gain one before it is freed, and an entry with pins is never
 * freed: a pin holder may use it, and its name, without the lock.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Left to itself uthash calls exit() inside the host program when an
 * allocation fails.  Non-fatal mode leaves the table as it was and calls
 * uthash_nonfatal_oom instead; every add runs under M.lock, so the flag
 * it sets needs no lock of its own. */
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(elt) ((void)(elt), M.oom = true)
#include <uthash.h>

#include "socksify/config.h"
#include "dnsmap.h"

struct dns_entry {
	UT_hash_handle hh_name;
	UT_hash_handle hh_idx;
	struct dns_entry *older, *newer; /* recency list: oldest at the head */
	uint32_t idx;
	uint32_t pins;                   /* atomic: see the top of the file */
	char name[];                     /* normalised, NUL terminated */
};

/* dns_map_unpin must be a plain atomic instruction, never a hidden lock. */
_Static_assert(__atomic_always_lock_free(sizeof(uint32_t), 0),
    "pin counts need lock-free atomics");

static struct {
	pthread_mutex_t lock;
	struct dns_entry *by_name, *by_idx;
	struct dns_entry *oldest, *newest;
	struct dns_entry *retired;  /* forgotten while pinned, linked by newer */
	struct addr_cidr v4, v6;
	uint32_t base4;     /* first address of the IPv4 range, host order */
	uint32_t range;     /* usable indexes are 1..range */
	uint32_t cursor;    /* last index handed out */
	size_t cap, count;
	int ready;
	bool oom;           /* set by uthash when an add failed */
} M = { .lock = PTHREAD_MUTEX_INITIALIZER };

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void fork_prepare(void) { pthread_mutex_lock(&M.lock); }
static void fork_parent(void) { pthread_mutex_unlock(&M.lock); }

static void
fork_child(void)
{
	/* Only the forking thread exists in the child; it took the lock in
	 * prepare, so the map is consistent and simply ours now.  Releasing
	 * it before making it anew keeps lock-tracking tools (ThreadSanitizer
	 * does not treat init as a reset) in step with the truth. */
	pthread_mutex_unlock(&M.lock);
	pthread_mutex_init(&M.lock, NULL);
}

static void
register_atfork(void)
{
	/* If this fails (ENOMEM) there is nothing better to do than to run
	 * without handlers, as before. */
	(void)pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* Registered from a constructor, before the program has threads: libc
 * skips handlers registered while a fork() in another thread is under way,
 * and that child would inherit the lock held.  The priority puts the map
 * first, so its prepare runs last (the order is in resolve.c). */
static void __attribute__((constructor(101)))
register_early(void)
{
	pthread_once(&atfork_once, register_atfork);
}

/* The pthread_once here covers a hook that runs before our constructor
 * (another library's constructor may resolve).  It is never called with
 * M.lock held: some libcs keep the handler list locked while prepare waits
 * for M.lock. */
static void
lock_map(void)
{
	pthread_once(&atfork_once, register_atfork);
	pthread_mutex_lock(&M.lock);
}

static void
unlock_map(void)
{
	pthread_mutex_unlock(&M.lock);
}

static bool
pinned(struct dns_entry *e)
{
	/* Acquire pairs with the release in dns_map_unpin: whatever the
	 * last holder did with e happens before we free it. */
	return __atomic_load_n(&e->pins, __ATOMIC_ACQUIRE) != 0;
}

/* Frees the retired entries whose last pin has gone. */
static void
sweep_retired_locked(void)
{
	struct dns_entry **pp = &M.retired, *e;

	while ((e = *pp) != NULL) {
		if (pinned(e)) {
			pp = &e->newer;
			continue;
		}
		*pp = e->newer;
		free(e);
	}
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
		if (pinned(e)) {
			/* A socket still holds it: keep the memory until the
			 * pin is released, unreachable from the map. */
			e->older = NULL;
			e->newer = M.retired;
			M.retired = e;
		} else {
			free(e);
		}
	}
	sweep_retired_locked();
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
	struct cfg *c;
	const char *why;

	/* struct cfg is tens of KiB: far too big for the stack of a hook
	 * (this runs inside getaddrinfo when nothing configured the map). */
	c = malloc(sizeof(*c));
	if (c == NULL)
		return;     /* not ready: the caller fails, the next one retries */
	cfg_defaults(c);
	setup_locked(&c->fake_ipv4, &c->fake_ipv6, c->dns_cache_size, &why);
	free(c);
}

int
dns_map_setup(const struct addr_cidr *v4, const struct addr_cidr *v6, size_t cap,
    const char **why)
{
	int rc;

	lock_map();
	rc = setup_locked(v4, v6, cap, why);
	unlock_map();
	return rc;
}

/* False only when the defaults could not be set up (memory ran out). */
static bool
ensure_ready_locked(void)
{
	if (!M.ready)
		setup_defaults_locked();
	return M.ready;
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
		if (pinned(e))
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

/* Puts e in both tables.  False, with e in neither, when memory ran out. */
static bool
add_entry_locked(struct dns_entry *e, size_t n)
{
	M.oom = false;
	HASH_ADD_KEYPTR(hh_name, M.by_name, e->name, n, e);
	if (M.oom)
		return false;
	HASH_ADD(hh_idx, M.by_idx, idx, sizeof(e->idx), e);
	if (M.oom) {
		HASH_DELETE(hh_name, M.by_name, e);
		return false;
	}
	return true;
}

uint32_t
dns_map_get(const char *name)
{
	char norm[WIRE_NAME_MAX + 1];
	struct dns_entry *e;
	size_t n = normalise(name, norm);
	uint32_t idx = 0;
	int err = ENOMEM;

	if (n == 0) {
		errno = EINVAL;
		return 0;
	}
	lock_map();
	if (!ensure_ready_locked())
		goto out;
	HASH_FIND(hh_name, M.by_name, norm, n, e);
	if (e != NULL) {
		list_unlink(e);
		list_push_newest(e);
		idx = e->idx;
		goto out;
	}
	if (M.retired != NULL)
		sweep_retired_locked();
	if (M.count >= M.cap && evict_one_locked() != 0) {
		err = EAGAIN;
		goto out;
	}
	e = malloc(sizeof(*e) + n + 1);
	if (e == NULL)
		goto out;
	memset(e, 0, sizeof(*e));
	memcpy(e->name, norm, n + 1);
	e->idx = next_free_index_locked();
	if (!add_entry_locked(e, n)) {
		free(e);
		goto out;
	}
	list_push_newest(e);
	M.count++;
	idx = e->idx;
out:
	unlock_map();
	if (idx == 0)
		errno = err;
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

/* The live entry stand-in sa stands for, or NULL. */
static struct dns_entry *
find_addr_locked(const struct sockaddr *sa)
{
	struct dns_entry *e = NULL;
	uint32_t idx;

	if (!ensure_ready_locked())
		return NULL;
	idx = index_of_locked(sa);
	if (idx != 0)
		HASH_FIND(hh_idx, M.by_idx, &idx, sizeof(idx), e);
	return e;
}

bool
dns_map_in_range(const struct sockaddr *sa)
{
	bool in;

	lock_map();
	in = ensure_ready_locked() && index_of_locked(sa) != 0;
	unlock_map();
	return in;
}

uint32_t
dns_map_lookup_addr(const struct sockaddr *sa, char *name, size_t cap)
{
	struct dns_entry *e;
	uint32_t idx = 0;

	lock_map();
	e = find_addr_locked(sa);
	if (e != NULL && strlen(e->name) < cap) {
		memcpy(name, e->name, strlen(e->name) + 1);
		list_unlink(e);
		list_push_newest(e);
		idx = e->idx;
	}
	unlock_map();
	return idx;
}

void
dns_map_addr4(uint32_t idx, uint8_t out[4])
{
	uint32_t a;

	lock_map();
	(void)ensure_ready_locked();
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
	(void)ensure_ready_locked();
	memcpy(out, M.v6.addr, 16);
	unlock_map();
	low = ((uint32_t)out[12] << 24 | (uint32_t)out[13] << 16 |
	    (uint32_t)out[14] << 8 | out[15]) + idx;
	out[12] = low >> 24;
	out[13] = (low >> 16) & 0xff;
	out[14] = (low >> 8) & 0xff;
	out[15] = low & 0xff;
}

void *
dns_map_pin(const struct sockaddr *sa)
{
	struct dns_entry *e;

	lock_map();
	e = find_addr_locked(sa);
	/* Relaxed is enough: a count leaves zero only here, under the lock,
	 * and the lock orders this with every look at the count that may
	 * free. */
	if (e != NULL)
		__atomic_add_fetch(&e->pins, 1, __ATOMIC_RELAXED);
	unlock_map();
	return e;
}

void
dns_map_unpin(void *pin)
{
	struct dns_entry *e = pin;

	/* Release: our last use of e happens before whoever frees it sees
	 * the count at zero (the acquire in pinned()). */
	if (e != NULL)
		__atomic_sub_fetch(&e->pins, 1, __ATOMIC_RELEASE);
}

const char *
dns_map_pin_name(const void *pin)
{
	/* A name never changes once its entry exists. */
	return ((const struct dns_entry *)pin)->name;
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
	(void)ensure_ready_locked();
	n = M.cap;
	unlock_map();
	return n;
}

void
dns_map_ranges(struct addr_cidr *v4, struct addr_cidr *v6)
{
	lock_map();
	(void)ensure_ready_locked();
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
