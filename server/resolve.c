/* resolve.c: getaddrinfo on a few threads shared by all event loops, so
 * no loop ever waits for a name, with a cache of answers in front.
 *
 * A name asked for while its lookup is under way joins that lookup: one
 * getaddrinfo answers everyone waiting.  Lookups wait in one queue per
 * client address and the threads serve those queues in turn; a client may
 * hold a small share of the queue and half the threads at most, so one
 * that asks for many slow names holds up only itself.  A finished job goes
 * back to the worker that asked, through that worker's list and wake
 * eventfd. */
#include <sys/socket.h>
#include <netdb.h>
#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "srv.h"

#define RESOLVE_MAX_THREADS 8
#define RESOLVE_MAX_ADDRS 16      /* addresses of one name that are kept */
#define RESOLVE_SHARE 32          /* a client may queue 1/32 of the queue, */
#define RESOLVE_SHARE_MIN 8       /* but never fewer than this */
#define RESOLVE_BUCKETS 256       /* client and lookup hash tables */

struct rclient;

/* A name being looked up (queued or on a thread), with its askers. */
struct rlook {
	struct rlook *hnext;          /* R.look bucket */
	struct rlook *qnext;          /* its client's queue */
	struct rclient *c;            /* whose share it counts in */
	struct srv_rjob *waiters;
	uint32_t hash;
	char name[];
};

/* A client address with lookups queued or running. */
struct rclient {
	struct rclient *hnext;        /* R.clients bucket */
	struct rclient *rnext, *rprev;  /* the ring of clients with a queue */
	struct rlook *qhead, *qtail;
	unsigned queued, running;
	uint32_t hash;
	uint8_t fam;                  /* 4 or 6 */
	uint8_t ip[16];
};

/* One cached answer: the addresses (port 0), or the error. */
struct rcache {
	struct rcache *hnext;
	struct rcache *prev, *next;   /* most recently used first */
	uint64_t expire;
	uint32_t hash;
	int err;
	unsigned n;
	union srv_sa a[];             /* then the name */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t th[RESOLVE_MAX_THREADS];
	unsigned nth;
	unsigned qlen, qmax;          /* lookups queued, all clients together */
	unsigned nrun;                /* lookups a thread is running */
	unsigned cl_qmax, cl_run;     /* one client's share: queued, running */
	struct rclient *ring;         /* the next client a thread serves */
	struct rclient *clients[RESOLVE_BUCKETS];
	struct rlook *look[RESOLVE_BUCKETS];
	struct rcache **cache;        /* cache_nb buckets, NULL: no cache */
	size_t cache_nb, cache_n, cache_max;
	struct rcache *lru_head, *lru_tail;
	bool stop;
} R = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

struct srv_rjob *
srv_rjob_new(void)
{
	return calloc(1, sizeof(struct srv_rjob));
}

void
srv_rjob_free(struct srv_rjob *j)
{
	if (j == NULL)
		return;
	free(j->addrs);
	free(j);
}

/* FNV-1a over the name in lower case: names are compared without case. */
static uint32_t
hash_bytes(uint32_t h, const uint8_t *p, size_t len, bool fold)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t c = p[i];
		if (fold && c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		h = (h ^ c) * 16777619u;
	}
	return h;
}

static uint32_t
name_hash(const char *name)
{
	return hash_bytes(2166136261u, (const uint8_t *)name, strlen(name), true);
}

/* A copy of n addresses with every port set to port (host order). */
static struct srv_addrs *
addrs_copy(const union srv_sa *a, unsigned n, uint16_t port)
{
	struct srv_addrs *out = malloc(sizeof(*out) + n * sizeof(out->a[0]));

	if (out == NULL)
		return NULL;
	out->n = n;
	memcpy(out->a, a, n * sizeof(out->a[0]));
	for (unsigned i = 0; i < n; i++) {
		if (out->a[i].sa.sa_family == AF_INET)
			out->a[i].in.sin_port = htons(port);
		else
			out->a[i].in6.sin6_port = htons(port);
	}
	return out;
}

/* getaddrinfo's answer as at most RESOLVE_MAX_ADDRS addresses, in its
 * order.  0, or getaddrinfo's error (a name with no IPv4 or IPv6 address
 * is EAI_NONAME). */
static int
lookup(const char *name, int flags, union srv_sa *out, unsigned *n)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
		.ai_flags = flags };
	struct addrinfo *res, *ai;
	int err = getaddrinfo(name, NULL, &hints, &res);

	*n = 0;
	if (err != 0)
		return err;
	for (ai = res; ai != NULL && *n < RESOLVE_MAX_ADDRS; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(out[0]))
			continue;
		memset(&out[*n], 0, sizeof(out[0]));
		memcpy(&out[*n], ai->ai_addr, ai->ai_addrlen);
		(*n)++;
	}
	freeaddrinfo(res);
	return *n > 0 ? 0 : EAI_NONAME;
}

/* ---- the cache (R.lock held) ---- */

static char *
cache_name(struct rcache *e)
{
	return (char *)&e->a[e->n];
}

static void
lru_unlink(struct rcache *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		R.lru_head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		R.lru_tail = e->prev;
	e->prev = e->next = NULL;
}

static void
lru_push(struct rcache *e)
{
	e->prev = NULL;
	e->next = R.lru_head;
	if (R.lru_head != NULL)
		R.lru_head->prev = e;
	else
		R.lru_tail = e;
	R.lru_head = e;
}

static void
cache_drop(struct rcache *e)
{
	struct rcache **pp = &R.cache[e->hash & (R.cache_nb - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(e);
	R.cache_n--;
	free(e);
}

static struct rcache *
cache_find(const char *name, uint32_t hash)
{
	struct rcache *e;

	for (e = R.cache[hash & (R.cache_nb - 1)]; e != NULL; e = e->hnext)
		if (e->hash == hash && strcasecmp(cache_name(e), name) == 0)
			return e;
	return NULL;
}

/* The live entry for name, made the most recently used; NULL if none. */
static struct rcache *
cache_get(const char *name, uint32_t hash, uint64_t now)
{
	struct rcache *e;

	if (R.cache == NULL || (e = cache_find(name, hash)) == NULL)
		return NULL;
	if (e->expire <= now) {
		cache_drop(e);
		return NULL;
	}
	lru_unlink(e);
	lru_push(e);
	return e;
}

/* How long an answer is kept (ms): addresses for --dns-ttl, "no such
 * name" for --dns-negative-ttl.  Other failures (a name server that did
 * not answer) may be gone by the next try and are not kept (0), and
 * nothing is with --dns-cache 0. */
static unsigned
answer_ttl(int err)
{
	if (srv_g.cfg.dns_cache == 0)
		return 0;
	if (err == 0)
		return srv_g.cfg.dns_ttl_ms;
	if (err == EAI_NONAME
#ifdef EAI_NODATA
	    || err == EAI_NODATA
#endif
	    )
		return srv_g.cfg.dns_neg_ttl_ms;
	return 0;
}

/* Keeps an answer for answer_ttl(err); the time it expires, or 0 when it
 * is not kept. */
static uint64_t
cache_put(const char *name, uint32_t hash, int err, const union srv_sa *a, unsigned n)
{
	unsigned ttl = answer_ttl(err);
	size_t nlen = strlen(name) + 1;
	struct rcache *e, *old;
	uint64_t expire;

	if (ttl == 0 || R.cache == NULL)
		return 0;
	expire = srv_clock_ms() + ttl;
	if (err != 0)
		n = 0;
	if ((old = cache_find(name, hash)) != NULL)
		cache_drop(old);
	while (R.cache_n >= R.cache_max && R.lru_tail != NULL)
		cache_drop(R.lru_tail);
	e = malloc(sizeof(*e) + n * sizeof(e->a[0]) + nlen);
	if (e == NULL)
		return expire;
	e->expire = expire;
	e->hash = hash;
	e->err = err;
	e->n = n;
	memcpy(e->a, a, n * sizeof(e->a[0]));
	memcpy(cache_name(e), name, nlen);
	e->hnext = R.cache[hash & (R.cache_nb - 1)];
	R.cache[hash & (R.cache_nb - 1)] = e;
	lru_push(e);
	R.cache_n++;
	return expire;
}

/* ---- clients and their queues (R.lock held) ---- */

/* The client's address as a key: IPv4-mapped IPv6 is its IPv4 address. */
static void
client_key(const union srv_sa *sa, uint8_t *fam, uint8_t ip[16])
{
	memset(ip, 0, 16);
	*fam = 0;
	if (sa->sa.sa_family == AF_INET) {
		*fam = 4;
		memcpy(ip, &sa->in.sin_addr, 4);
	} else if (sa->sa.sa_family == AF_INET6) {
		if (IN6_IS_ADDR_V4MAPPED(&sa->in6.sin6_addr)) {
			*fam = 4;
			memcpy(ip, sa->in6.sin6_addr.s6_addr + 12, 4);
		} else {
			*fam = 6;
			memcpy(ip, &sa->in6.sin6_addr, 16);
		}
	}
}

static struct rclient *
client_get(const union srv_sa *sa)
{
	struct rclient *c;
	uint8_t fam, ip[16];
	uint32_t hash;

	client_key(sa, &fam, ip);
	hash = hash_bytes(hash_bytes(2166136261u, &fam, 1, false), ip, 16, false);
	for (c = R.clients[hash % RESOLVE_BUCKETS]; c != NULL; c = c->hnext)
		if (c->hash == hash && c->fam == fam && memcmp(c->ip, ip, 16) == 0)
			return c;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->hash = hash;
	c->fam = fam;
	memcpy(c->ip, ip, 16);
	c->hnext = R.clients[hash % RESOLVE_BUCKETS];
	R.clients[hash % RESOLVE_BUCKETS] = c;
	return c;
}

/* Forgets a client with nothing queued or running. */
static void
client_release(struct rclient *c)
{
	struct rclient **pp;

	if (c->queued > 0 || c->running > 0)
		return;
	for (pp = &R.clients[c->hash % RESOLVE_BUCKETS]; *pp != c; pp = &(*pp)->hnext)
		;
	*pp = c->hnext;
	free(c);
}

static void
ring_add(struct rclient *c)
{
	if (R.ring == NULL) {
		c->rnext = c->rprev = c;
		R.ring = c;
		return;
	}
	/* Just behind the next one served: a new client waits one round. */
	c->rnext = R.ring;
	c->rprev = R.ring->rprev;
	c->rprev->rnext = c;
	R.ring->rprev = c;
}

static void
ring_del(struct rclient *c)
{
	if (c->rnext == c) {
		R.ring = NULL;
	} else {
		c->rprev->rnext = c->rnext;
		c->rnext->rprev = c->rprev;
		if (R.ring == c)
			R.ring = c->rnext;
	}
	c->rnext = c->rprev = NULL;
}

/* The next lookup to run: the clients with a queue take turns, skipping
 * those that already have their share of the threads.  NULL if none. */
static struct rlook *
pick(void)
{
	struct rclient *c = R.ring;

	if (c == NULL)
		return NULL;
	do {
		if (c->running < R.cl_run) {
			struct rlook *l = c->qhead;
			c->qhead = l->qnext;
			if (c->qhead == NULL)
				c->qtail = NULL;
			l->qnext = NULL;
			c->queued--;
			c->running++;
			R.nrun++;
			R.qlen--;
			R.ring = c->rnext;
			if (c->queued == 0)
				ring_del(c);
			return l;
		}
		c = c->rnext;
	} while (c != R.ring);
	return NULL;
}

static struct rlook *
look_find(const char *name, uint32_t hash)
{
	struct rlook *l;

	for (l = R.look[hash % RESOLVE_BUCKETS]; l != NULL; l = l->hnext)
		if (l->hash == hash && strcasecmp(l->name, name) == 0)
			return l;
	return NULL;
}

static void
look_unhash(struct rlook *l)
{
	struct rlook **pp = &R.look[l->hash % RESOLVE_BUCKETS];

	while (*pp != l)
		pp = &(*pp)->hnext;
	*pp = l->hnext;
}

static bool
look_live(const struct rlook *l)
{
	for (const struct srv_rjob *j = l->waiters; j != NULL; j = j->next)
		if (j->owner != NULL)
			return true;
	return false;
}

/* Frees a lookup and its jobs (no one is left to answer). */
static void
look_free(struct rlook *l)
{
	while (l->waiters != NULL) {
		struct srv_rjob *j = l->waiters;
		l->waiters = j->next;
		srv_rjob_free(j);
	}
	free(l);
}

/* Hands every asker its own copy of the answer, on its own worker. */
static void
look_answer(struct rlook *l, int err, const union srv_sa *a, unsigned n, uint64_t expire)
{
	while (l->waiters != NULL) {
		struct srv_rjob *j = l->waiters;
		struct srv_worker *w = j->w;
		bool wake;

		l->waiters = j->next;
		if (j->owner == NULL) {
			srv_rjob_free(j);
			continue;
		}
		j->err = err;
		j->expire = expire;
		if (err == 0 && (j->addrs = addrs_copy(a, n, j->port)) == NULL)
			j->err = EAI_MEMORY;
		wake = w->rdone == NULL;
		j->next = w->rdone;
		w->rdone = j;
		if (wake) {
			uint64_t one = 1;
			ssize_t k = write(w->wakefd, &one, sizeof(one));
			(void)k;
		}
	}
}

static void *
resolve_worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&R.lock);
	for (;;) {
		union srv_sa a[RESOLVE_MAX_ADDRS];
		unsigned n = 0;
		struct rlook *l = NULL;
		bool live;
		int err = EAI_NONAME;
		uint64_t expire = 0;

		while (!R.stop && (l = pick()) == NULL)
			pthread_cond_wait(&R.cond, &R.lock);
		if (R.stop)
			break;
		/* Everyone who asked may have gone while it was queued. */
		live = look_live(l);
		if (live) {
			pthread_mutex_unlock(&R.lock);
			err = lookup(l->name, 0, a, &n);
			pthread_mutex_lock(&R.lock);
			/* Left behind at exit: the workers and the client
			 * records may be gone; the lookup is only ours. */
			if (R.stop) {
				look_free(l);
				break;
			}
			expire = cache_put(l->name, l->hash, err, a, n);
		}
		look_unhash(l);
		l->c->running--;
		R.nrun--;
		client_release(l->c);
		look_answer(l, err, a, n, expire);
		free(l);
		/* The client may have another lookup that a thread waiting
		 * for its share can take now. */
		pthread_cond_signal(&R.cond);
	}
	pthread_mutex_unlock(&R.lock);
	return NULL;
}

bool
srv_resolve_idle(const struct srv_worker *w)
{
	bool idle;

	pthread_mutex_lock(&R.lock);
	idle = R.qlen == 0 && R.nrun == 0 && w->rdone == NULL;
	pthread_mutex_unlock(&R.lock);
	return idle;
}

void
srv_resolve_deliver(struct srv_worker *w)
{
	struct srv_rjob *list, *rev = NULL;

	pthread_mutex_lock(&R.lock);
	list = w->rdone;
	w->rdone = NULL;
	pthread_mutex_unlock(&R.lock);
	/* The list is newest first; answer in the order jobs finished. */
	while (list != NULL) {
		struct srv_rjob *j = list;
		list = j->next;
		j->next = rev;
		rev = j;
	}
	while (rev != NULL) {
		struct srv_rjob *j = rev;
		rev = j->next;
		j->next = NULL;
		/* owner is only ever cleared by this thread: no lock needed. */
		if (j->owner != NULL)
			j->done(j);
		else
			srv_rjob_free(j);
	}
}

int
srv_resolve_init(unsigned threads, unsigned max_queue)
{
	if (threads > RESOLVE_MAX_THREADS)
		threads = RESOLVE_MAX_THREADS;
	R.qmax = max_queue;
	R.cl_qmax = max_queue / RESOLVE_SHARE;
	if (R.cl_qmax < RESOLVE_SHARE_MIN)
		R.cl_qmax = RESOLVE_SHARE_MIN;
	R.cl_run = threads / 2 > 0 ? threads / 2 : 1;
	R.cache_max = srv_g.cfg.dns_cache;
	if (R.cache_max > 0) {
		/* A power of two, about one bucket per entry. */
		for (R.cache_nb = 16; R.cache_nb < R.cache_max && R.cache_nb < (1u << 20); )
			R.cache_nb <<= 1;
		R.cache = calloc(R.cache_nb, sizeof(*R.cache));
		if (R.cache == NULL)
			return -1;
	}
	for (R.nth = 0; R.nth < threads; R.nth++) {
		int err = pthread_create(&R.th[R.nth], NULL, resolve_worker, NULL);
		if (err != 0) {
			errno = err;
			return -1;
		}
	}
	return 0;
}

int
srv_resolve_submit(struct srv_rjob *j)
{
	union srv_sa a[RESOLVE_MAX_ADDRS];
	struct rcache *e;
	struct rlook *l;
	struct rclient *c;
	unsigned n;
	uint32_t hash;
	size_t nlen;

	j->next = NULL;
	j->w = srv_w;
	j->addrs = NULL;
	j->expire = 0;
	/* An address written as a name needs no thread. */
	if (lookup(j->name, AI_NUMERICHOST, a, &n) == 0) {
		j->err = 0;
		/* Kept as long as a looked-up name would be, no longer. */
		if (answer_ttl(0) > 0)
			j->expire = srv_w->loop.now + answer_ttl(0);
		if ((j->addrs = addrs_copy(a, n, j->port)) == NULL)
			j->err = EAI_MEMORY;
		return 1;
	}
	hash = name_hash(j->name);
	nlen = strlen(j->name) + 1;
	pthread_mutex_lock(&R.lock);
	if (R.nth == 0 || R.stop)
		goto busy;
	if ((e = cache_get(j->name, hash, srv_w->loop.now)) != NULL) {
		j->err = e->err;
		j->expire = e->expire;
		if (e->err == 0 && (j->addrs = addrs_copy(e->a, e->n, j->port)) == NULL)
			j->err = EAI_MEMORY;
		pthread_mutex_unlock(&R.lock);
		SRV_DEBUG("resolve %s: from the cache", j->name);
		return 1;
	}
	if ((l = look_find(j->name, hash)) != NULL) {
		j->next = l->waiters;
		l->waiters = j;
		pthread_mutex_unlock(&R.lock);
		return 0;
	}
	if ((c = client_get(&j->client)) == NULL)
		goto busy;
	if (R.qlen >= R.qmax || c->queued >= R.cl_qmax ||
	    (l = malloc(sizeof(*l) + nlen)) == NULL) {
		client_release(c);
		goto busy;
	}
	memcpy(l->name, j->name, nlen);
	l->hash = hash;
	l->c = c;
	l->waiters = j;
	l->qnext = NULL;
	l->hnext = R.look[hash % RESOLVE_BUCKETS];
	R.look[hash % RESOLVE_BUCKETS] = l;
	if (c->qtail != NULL)
		c->qtail->qnext = l;
	else
		c->qhead = l;
	c->qtail = l;
	if (c->queued++ == 0)
		ring_add(c);
	R.qlen++;
	pthread_cond_signal(&R.cond);
	pthread_mutex_unlock(&R.lock);
	return 0;
busy:
	pthread_mutex_unlock(&R.lock);
	errno = EAGAIN;
	return -1;
}

void
srv_resolve_cancel(struct srv_rjob *j)
{
	/* Threads read owner under the lock before deciding to resolve. */
	pthread_mutex_lock(&R.lock);
	j->owner = NULL;
	pthread_mutex_unlock(&R.lock);
}

static void
free_list(struct srv_rjob *j)
{
	while (j != NULL) {
		struct srv_rjob *next = j->next;
		srv_rjob_free(j);
		j = next;
	}
}

void
srv_resolve_fini(void)
{
	struct timespec dl;

	pthread_mutex_lock(&R.lock);
	R.stop = true;
	pthread_cond_broadcast(&R.cond);
	pthread_mutex_unlock(&R.lock);
	/* A thread stuck in a slow lookup is left behind rather than holding
	 * up the exit; everything else is joined and freed. */
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 2;
	for (unsigned i = 0; i < R.nth; i++) {
		if (pthread_timedjoin_np(R.th[i], NULL, &dl) != 0)
			pthread_detach(R.th[i]);
	}
	R.nth = 0;
	pthread_mutex_lock(&R.lock);
	/* Queued lookups hang off their clients; a running one belongs to
	 * its thread, which frees it when it sees R.stop. */
	for (unsigned i = 0; i < RESOLVE_BUCKETS; i++) {
		while (R.clients[i] != NULL) {
			struct rclient *c = R.clients[i];
			R.clients[i] = c->hnext;
			while (c->qhead != NULL) {
				struct rlook *l = c->qhead;
				c->qhead = l->qnext;
				look_free(l);
			}
			free(c);
		}
		R.look[i] = NULL;
	}
	R.ring = NULL;
	R.qlen = 0;
	while (R.lru_head != NULL) {
		struct rcache *e = R.lru_head;
		R.lru_head = e->next;
		free(e);
	}
	R.lru_tail = NULL;
	R.cache_n = 0;
	free(R.cache);
	R.cache = NULL;
	/* Under the lock: a thread left behind sees R.stop and never touches
	 * a worker again. */
	for (unsigned i = 0; i < srv_g.nw; i++) {
		if (srv_g.w[i] != NULL) {
			free_list(srv_g.w[i]->rdone);
			srv_g.w[i]->rdone = NULL;
		}
	}
	pthread_mutex_unlock(&R.lock);
}
