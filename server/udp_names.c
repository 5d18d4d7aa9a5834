/* udp_names.c: UDP datagrams addressed to a name.
 *
 * Each association keeps the answers for the last few names it sent to,
 * for as long as the resolver says they hold, so a client that goes back
 * and forth between names costs one lookup per name, not one per datagram.
 * A name not known yet is looked up through the shared resolver, in the
 * client address's share of it, so one client's names cannot hold up
 * another's; an association looks up a few names at once, and the
 * datagrams waiting for them are held in a bounded queue and sent in order
 * when the answer comes.  Whatever does not fit is dropped and counted:
 * nothing here ever makes the event loop wait. */
#include <sys/socket.h>
#include <netdb.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "srv.h"

#define UDPN_CACHE 8             /* names kept per association */
#define UDPN_LOOKUPS 4           /* names looked up at once per association */
#define UDPN_WAIT 64             /* datagrams waiting for their names, */
#define UDPN_WAIT_BYTES 65536    /* and their payload bytes, at most */

/* The answer for a name: where its datagrams go, or that they cannot. */
struct udpn_entry {
	uint64_t expire;             /* 0: an empty slot */
	uint64_t used;               /* n->tick when last used */
	bool ok;                     /* addr is the destination (port 0) */
	union srv_sa addr;
	char name[WIRE_NAME_MAX + 1];
};

/* A datagram waiting for its name. */
struct udpn_dgram {
	struct udpn_dgram *next;
	size_t len;
	uint16_t port;
	uint8_t data[];
};

/* A name being looked up, and the datagrams waiting for it. */
struct udpn_look {
	struct srv_rjob *job;        /* NULL: a free slot */
	struct udpn_dgram *head, *tail;
};

struct srv_udp_names {
	struct srv_udp *u;
	union srv_sa client;         /* whose share of the resolver is used */
	uint64_t tick;
	unsigned nwait;
	size_t wait_bytes;
	unsigned long lookups, dropped;
	struct udpn_look look[UDPN_LOOKUPS];
	struct udpn_entry cache[UDPN_CACHE];
};

struct srv_udp_names *
srv_udp_names_new(struct srv_udp *u, const union srv_sa *client)
{
	struct srv_udp_names *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->u = u;
	n->client = *client;
	return n;
}

static struct udpn_entry *
cache_find(struct srv_udp_names *n, const char *name)
{
	for (int i = 0; i < UDPN_CACHE; i++) {
		struct udpn_entry *e = &n->cache[i];
		if (e->expire == 0)
			continue;
		if (e->expire <= srv_w->loop.now) {
			e->expire = 0;
			continue;
		}
		if (strcasecmp(e->name, name) == 0) {
			e->used = ++n->tick;
			return e;
		}
	}
	return NULL;
}

/* The first address of the answer that a datagram may go to: one the
 * rules allow, in a family the server can send from. */
static const union srv_sa *
answer_pick(const struct srv_rjob *j)
{
	if (j->err != 0)
		return NULL;
	for (unsigned i = 0; i < j->addrs->n; i++) {
		const union srv_sa *a = &j->addrs->a[i];
		if (srv_acl_dest_ok(srv_w->rules, &a->sa) &&
		    srv_external_has(a->sa.sa_family))
			return a;
	}
	return NULL;
}

/* Keeps j's answer until it expires, in place of an expired entry or the
 * least recently used one. */
static void
cache_put(struct srv_udp_names *n, const struct srv_rjob *j, const union srv_sa *dst)
{
	struct udpn_entry *e = NULL;

	if (j->expire <= srv_w->loop.now)
		return;
	for (int i = 0; i < UDPN_CACHE && e == NULL; i++)
		if (n->cache[i].expire != 0 && strcasecmp(n->cache[i].name, j->name) == 0)
			e = &n->cache[i];
	for (int i = 0; i < UDPN_CACHE && e == NULL; i++)
		if (n->cache[i].expire <= srv_w->loop.now)
			e = &n->cache[i];
	if (e == NULL) {
		e = &n->cache[0];
		for (int i = 1; i < UDPN_CACHE; i++)
			if (n->cache[i].used < e->used)
				e = &n->cache[i];
	}
	e->expire = j->expire;
	e->used = ++n->tick;
	e->ok = dst != NULL;
	if (dst != NULL)
		e->addr = *dst;
	strcpy(e->name, j->name);
}

static void
send_to(struct srv_udp_names *n, const union srv_sa *addr, uint16_t port,
    const uint8_t *p, size_t len)
{
	union srv_sa dst = *addr;

	if (dst.sa.sa_family == AF_INET)
		dst.in.sin_port = htons(port);
	else
		dst.in6.sin6_port = htons(port);
	srv_udp_send_out(n->u, &dst, p, len);
}

static void
look_drain(struct srv_udp_names *n, struct udpn_look *l, const union srv_sa *dst)
{
	while (l->head != NULL) {
		struct udpn_dgram *d = l->head;
		l->head = d->next;
		n->nwait--;
		n->wait_bytes -= d->len;
		if (dst != NULL)
			send_to(n, dst, d->port, d->data, d->len);
		else
			n->dropped++;
		free(d);
	}
	l->tail = NULL;
}

/* Where the datagrams of j's name go (NULL: nowhere), kept for the
 * answer's lifetime. */
static const union srv_sa *
answer_take(struct srv_udp_names *n, const struct srv_rjob *j)
{
	const union srv_sa *dst = answer_pick(j);

	if (dst == NULL)
		SRV_DEBUG("udp: %s: %s", j->name, j->err != 0 ? gai_strerror(j->err) :
		    "no address allowed");
	cache_put(n, j, dst);
	return dst;
}

/* The resolver's answer for one of the association's names. */
static void
names_resolved(struct srv_rjob *j)
{
	struct srv_udp_names *n = j->owner;
	const union srv_sa *dst = answer_take(n, j);

	for (int i = 0; i < UDPN_LOOKUPS; i++) {
		struct udpn_look *l = &n->look[i];
		if (l->job == j) {
			look_drain(n, l, dst);
			l->job = NULL;
			break;
		}
	}
	srv_rjob_free(j);
}

/* Holds a datagram until the name of l is answered; false when the
 * queue is full. */
static bool
look_wait(struct srv_udp_names *n, struct udpn_look *l, uint16_t port,
    const uint8_t *p, size_t len)
{
	struct udpn_dgram *d;

	if (n->nwait >= UDPN_WAIT || len > UDPN_WAIT_BYTES - n->wait_bytes)
		return false;
	d = malloc(sizeof(*d) + len);
	if (d == NULL)
		return false;
	d->next = NULL;
	d->len = len;
	d->port = port;
	memcpy(d->data, p, len);
	if (l->tail != NULL)
		l->tail->next = d;
	else
		l->head = d;
	l->tail = d;
	n->nwait++;
	n->wait_bytes += len;
	return true;
}

void
srv_udp_names_send(struct srv_udp_names *n, const struct wire_addr *a,
    const uint8_t *p, size_t len)
{
	struct udpn_look *free_slot = NULL;
	struct udpn_entry *e;
	struct srv_rjob *j;
	int rc;

	if ((e = cache_find(n, a->u.name)) != NULL) {
		if (e->ok)
			send_to(n, &e->addr, a->port, p, len);
		else
			n->dropped++;
		return;
	}
	for (int i = 0; i < UDPN_LOOKUPS; i++) {
		struct udpn_look *l = &n->look[i];
		if (l->job == NULL) {
			if (free_slot == NULL)
				free_slot = l;
		} else if (strcasecmp(l->job->name, a->u.name) == 0) {
			if (!look_wait(n, l, a->port, p, len)) {
				SRV_DEBUG("udp: too many datagrams wait for names: dropped");
				n->dropped++;
			}
			return;
		}
	}
	if (free_slot == NULL) {
		SRV_DEBUG("udp: %s: too many names looked up at once: dropped", a->u.name);
		n->dropped++;
		return;
	}
	j = srv_rjob_new();
	if (j == NULL) {
		n->dropped++;
		return;
	}
	j->done = names_resolved;
	j->owner = n;
	j->client = n->client;
	j->port = 0;
	memcpy(j->name, a->u.name, (size_t)a->name_len + 1);
	n->lookups++;
	rc = srv_resolve_submit(j);
	if (rc < 0) {
		/* The client has its share of the resolver: its datagram goes,
		 * not another client's lookup. */
		SRV_DEBUG("udp: %s: resolver busy for the client: dropped", a->u.name);
		n->dropped++;
		srv_rjob_free(j);
		return;
	}
	if (rc > 0) {
		/* A numeric name, or one in the shared cache. */
		const union srv_sa *dst = answer_take(n, j);
		if (dst != NULL)
			send_to(n, dst, a->port, p, len);
		else
			n->dropped++;
		srv_rjob_free(j);
		return;
	}
	free_slot->job = j;
	if (!look_wait(n, free_slot, a->port, p, len))
		n->dropped++;
}

void
srv_udp_names_end(struct srv_udp_names *n, unsigned long *lookups, unsigned long *dropped)
{
	*lookups += n->lookups;
	/* Datagrams still waiting for a name are never sent. */
	*dropped += n->dropped + n->nwait;
	for (int i = 0; i < UDPN_LOOKUPS; i++) {
		struct udpn_look *l = &n->look[i];
		if (l->job == NULL)
			continue;
		srv_resolve_cancel(l->job);
		while (l->head != NULL) {
			struct udpn_dgram *d = l->head;
			l->head = d->next;
			free(d);
		}
	}
	free(n);
}
