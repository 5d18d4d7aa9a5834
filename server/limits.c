/* limits.c: brakes on hostile clients: per-address caps on sessions, BINDs
 * waiting and UDP associations, and a delay and a ban for failed logins.
 *
 * Counts are kept per IPv4 address and per IPv6 /64: one host is usually
 * given a whole /64, so counting single IPv6 addresses would hand it 2^64
 * budgets.  The table has a fixed size, set-associative (a bucket of a few
 * entries per hash value), so a flood of addresses cannot make it grow.
 * The hash is keyed with a random seed, so no one can aim many addresses
 * at one bucket.  Every event loop uses the table: each bucket is guarded
 * by one of a few mutexes, held only for a scan of one bucket.
 */
#include <sys/random.h>
#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "srv.h"

#define LIM_BUCKETS 4096         /* a power of two */
#define LIM_WAYS 8               /* entries per bucket */
#define LIM_LOCKS 64
#define LIM_WINDOW_MS 60000      /* --auth-fail-limit counts per minute */
#define LIM_WARN_MS 60000

/* One client address.  It is free to be taken by another address when it
 * holds nothing and its failures are from a past window. */
struct srv_lim {
	uint64_t key;                /* IPv4 address, or an IPv6 /64 prefix */
	uint64_t win;                /* when the failures' window began (ms) */
	uint32_t sess;
	uint32_t fails;              /* this window, checks under way included */
	uint16_t binds;
	uint16_t udp;
	uint8_t fam;                 /* 0: never used, 4 or 6 */
};

static struct srv_lim *lim_tab;
static pthread_mutex_t lim_mu[LIM_LOCKS];
static uint64_t lim_seed[3];
static bool lim_on;
static atomic_uint_fast64_t lim_warned;

int
srv_limits_init(void)
{
	const struct srv_cfg *c = &srv_g.cfg;
	struct timespec ts;
	size_t got = 0;

	lim_on = c->max_per_client > 0 || c->max_binds_per_client > 0 ||
	    c->max_udp_per_client > 0 || (c->auth_fail_limit > 0 && c->nusers > 0);
	if (!lim_on)
		return 0;
	/* The seed only has to be unknown to clients: when the kernel has no
	 * randomness yet, the clock and pid are better than nothing. */
	while (got < sizeof(lim_seed)) {
		ssize_t n = getrandom((char *)lim_seed + got, sizeof(lim_seed) - got,
		    GRND_NONBLOCK);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < sizeof(lim_seed)) {
		clock_gettime(CLOCK_REALTIME, &ts);
		lim_seed[0] ^= (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL;
		lim_seed[1] ^= (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 32);
		lim_seed[2] ^= lim_seed[0] + lim_seed[1];
	}
	/* Zero pages are not touched until an address lands in them. */
	lim_tab = calloc((size_t)LIM_BUCKETS * LIM_WAYS, sizeof(*lim_tab));
	if (lim_tab == NULL)
		return -1;
	for (int i = 0; i < LIM_LOCKS; i++)
		pthread_mutex_init(&lim_mu[i], NULL);
	return 0;
}

void
srv_limits_fini(void)
{
	if (lim_tab == NULL)
		return;
	for (int i = 0; i < LIM_LOCKS; i++)
		pthread_mutex_destroy(&lim_mu[i]);
	free(lim_tab);
	lim_tab = NULL;
}

/* The key of a client address; -1 for a family that is not counted. */
static int
lim_key(const struct sockaddr *sa, uint64_t *key, uint8_t *fam)
{
	struct wire_addr w;

	/* Through a wire address, so an IPv4-mapped client counts as IPv4. */
	if (addr_wire_from_sockaddr(&w, sa) != 0)
		return -1;
	*key = 0;
	if (w.type == WIRE_ATYP_IPV4) {
		memcpy(key, w.u.ip4, 4);
		*fam = 4;
	} else {
		memcpy(key, w.u.ip6, 8);
		*fam = 6;
	}
	return 0;
}

static size_t
lim_bucket(uint64_t key, uint8_t fam)
{
	/* Multiplications by random odd numbers with shifts in between: every
	 * bit of the key reaches the top bits, which pick the bucket. */
	uint64_t h = (key ^ lim_seed[0]) + fam;

	h *= lim_seed[1] | 1;
	h ^= h >> 31;
	h *= lim_seed[2] | 1;
	h ^= h >> 29;
	return (size_t)(h >> 40) & (LIM_BUCKETS - 1);
}

static pthread_mutex_t *
lim_mutex(const struct srv_lim *e)
{
	size_t b = (size_t)(e - lim_tab) / LIM_WAYS;

	return &lim_mu[b % LIM_LOCKS];
}

static bool
lim_window_open(const struct srv_lim *e, uint64_t now)
{
	return e->fails > 0 && now < e->win + LIM_WINDOW_MS;
}

/* The entry of key in bucket b, made if need be (lock held).  NULL when
 * every entry of the bucket holds something for another address. */
static struct srv_lim *
lim_get(size_t b, uint64_t key, uint8_t fam, uint64_t now)
{
	struct srv_lim *e = &lim_tab[b * LIM_WAYS], *spare = NULL, *old = NULL;

	for (int i = 0; i < LIM_WAYS; i++) {
		struct srv_lim *x = &e[i];
		if (x->fam == fam && x->key == key)
			return x;
		if (x->sess > 0 || x->binds > 0 || x->udp > 0)
			continue;
		if (!lim_window_open(x, now)) {
			if (spare == NULL)
				spare = x;
		} else if (old == NULL || x->win < old->win) {
			old = x;
		}
	}
	/* Failures alone may be forgotten, the oldest first, so that a
	 * bucket full of them never stops new addresses from being counted. */
	if (spare == NULL)
		spare = old;
	if (spare != NULL) {
		memset(spare, 0, sizeof(*spare));
		spare->key = key;
		spare->fam = fam;
	}
	return spare;
}

static void
lim_warn_full(uint64_t now)
{
	uint_fast64_t last = atomic_load_explicit(&lim_warned, memory_order_relaxed);

	if ((last == 0 || now >= last + LIM_WARN_MS) &&
	    atomic_compare_exchange_strong(&lim_warned, &last, now))
		srv_warn("client address table full: new addresses are not limited");
}

enum srv_result
srv_limits_admit(const union srv_sa *peer, struct srv_lim **lim)
{
	const struct srv_cfg *c = &srv_g.cfg;
	uint64_t now = srv_w->loop.now, key;
	enum srv_result r = SRV_R_OK;
	struct srv_lim *e;
	pthread_mutex_t *mu;
	uint8_t fam;
	size_t b;

	*lim = NULL;
	if (!lim_on || lim_key(&peer->sa, &key, &fam) != 0)
		return SRV_R_OK;
	b = lim_bucket(key, fam);
	mu = &lim_mu[b % LIM_LOCKS];
	pthread_mutex_lock(mu);
	e = lim_get(b, key, fam, now);
	if (e == NULL) {
		/* Fail open: --max-conns still bounds the whole server, and
		 * refusing here would let many addresses lock out everyone. */
		pthread_mutex_unlock(mu);
		lim_warn_full(now);
		return SRV_R_OK;
	}
	if (c->auth_fail_limit > 0 && e->fails >= c->auth_fail_limit &&
	    lim_window_open(e, now))
		r = SRV_R_AUTH_BANNED;
	else if (c->max_per_client > 0 && e->sess >= c->max_per_client)
		r = SRV_R_CLIENT_LIMIT;
	else
		e->sess++;
	pthread_mutex_unlock(mu);
	if (r == SRV_R_OK)
		*lim = e;
	else
		SRV_DEBUG("client turned away: %s", srv_result_word(r));
	return r;
}

void
srv_limits_drop(struct srv_lim *lim)
{
	pthread_mutex_t *mu;

	if (lim == NULL)
		return;
	mu = lim_mutex(lim);
	pthread_mutex_lock(mu);
	lim->sess--;
	pthread_mutex_unlock(mu);
}

int
srv_limits_take(struct srv_session *s, unsigned what)
{
	struct srv_lim *e = s->lim;
	unsigned cap = what == SRV_LIM_BIND ? srv_g.cfg.max_binds_per_client :
	    srv_g.cfg.max_udp_per_client;
	pthread_mutex_t *mu;
	int rc = 0;

	if (e == NULL || (s->lim_held & what) != 0)
		return 0;
	mu = lim_mutex(e);
	pthread_mutex_lock(mu);
	if (what == SRV_LIM_BIND) {
		if (cap > 0 && e->binds >= cap)
			rc = -1;
		else
			e->binds++;
	} else {
		if (cap > 0 && e->udp >= cap)
			rc = -1;
		else
			e->udp++;
	}
	pthread_mutex_unlock(mu);
	if (rc == 0)
		s->lim_held |= (uint8_t)what;
	else
		SRV_DEBUG("%s limit (%u) reached for the client",
		    what == SRV_LIM_BIND ? "bind" : "udp", cap);
	return rc;
}

static void
lim_give_locked(struct srv_session *s, unsigned what)
{
	if ((s->lim_held & what & SRV_LIM_BIND) != 0)
		s->lim->binds--;
	if ((s->lim_held & what & SRV_LIM_UDP) != 0)
		s->lim->udp--;
	s->lim_held &= (uint8_t)~what;
}

void
srv_limits_give(struct srv_session *s, unsigned what)
{
	pthread_mutex_t *mu;

	if (s->lim == NULL || (s->lim_held & what) == 0)
		return;
	mu = lim_mutex(s->lim);
	pthread_mutex_lock(mu);
	lim_give_locked(s, what);
	pthread_mutex_unlock(mu);
}

void
srv_limits_release(struct srv_session *s)
{
	pthread_mutex_t *mu;

	if (s->lim == NULL)
		return;
	mu = lim_mutex(s->lim);
	pthread_mutex_lock(mu);
	lim_give_locked(s, SRV_LIM_BIND | SRV_LIM_UDP);
	s->lim->sess--;
	pthread_mutex_unlock(mu);
	s->lim = NULL;
}

int
srv_limits_auth_try(struct srv_session *s)
{
	struct srv_lim *e = s->lim;
	unsigned limit = srv_g.cfg.auth_fail_limit;
	uint64_t now = srv_w->loop.now;
	pthread_mutex_t *mu;
	int rc = 0;

	if (e == NULL || limit == 0)
		return 0;
	mu = lim_mutex(e);
	pthread_mutex_lock(mu);
	if (!lim_window_open(e, now)) {
		e->fails = 0;
		e->win = now;
	}
	/* Counted before the check: clients that send their guesses on many
	 * connections at once get no more checks than one client in turn. */
	if (e->fails >= limit)
		rc = -1;
	else
		e->fails++;
	pthread_mutex_unlock(mu);
	if (rc != 0)
		SRV_DEBUG("auth: the client is banned for now");
	return rc;
}

void
srv_limits_auth_ok(struct srv_session *s)
{
	pthread_mutex_t *mu;

	if (s->lim == NULL || srv_g.cfg.auth_fail_limit == 0)
		return;
	mu = lim_mutex(s->lim);
	pthread_mutex_lock(mu);
	if (s->lim->fails > 0)
		s->lim->fails--;
	pthread_mutex_unlock(mu);
}

/* The failure reply, then the end of the session once it is out. */
static void
auth_answer(struct srv_session *s)
{
	if (s->proto == SRV_P_SOCKS5) {
		uint8_t rep[2];
		wire_enc_socks5_auth_rep(rep, sizeof(rep), SOCKS5_AUTH_FAILED);
		srv_out_queue(s, rep, 2);
		srv_close_after_flush(s, SRV_R_AUTH_FAILED);
	} else {
		srv_fail(s, SOCKS5_REP_NOT_ALLOWED, SRV_R_AUTH_FAILED);
	}
}

void
srv_limits_auth_failed(struct srv_session *s)
{
	/* The delay is a timer of the loop, so other clients are served
	 * meanwhile; the client's own bytes wait unread. */
	if (srv_g.cfg.auth_delay_ms == 0) {
		auth_answer(s);
		return;
	}
	s->state = SRV_ST_AUTH_WAIT;
	s->tlist = &srv_w->t_auth;
	srv_timer_arm(&srv_w->t_auth, &s->timer, srv_w->loop.now);
}

void
srv_limits_auth_expired(struct srv_tnode *n)
{
	struct srv_session *s = SRV_CONTAINER(n, struct srv_session, timer);

	/* The negotiation deadline again, in case the reply never leaves. */
	s->tlist = &srv_w->t_nego;
	srv_timer_arm(&srv_w->t_nego, &s->timer, srv_w->loop.now);
	auth_answer(s);
}
