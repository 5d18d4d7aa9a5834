/* external.c: the addresses connections leave from (--external). */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "srv.h"

int
srv_external_add(struct srv_cfg *cfg, const char *text)
{
	union srv_sa a, *l;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, text, &a.in.sin_addr) == 1)
		a.in.sin_family = AF_INET;
	else if (inet_pton(AF_INET6, text, &a.in6.sin6_addr) == 1)
		a.in6.sin6_family = AF_INET6;
	else
		return -1;
	l = realloc(cfg->external, (cfg->nexternal + 1) * sizeof(*l));
	if (l == NULL)
		return -1;
	l[cfg->nexternal++] = a;
	cfg->external = l;
	return 0;
}

const union srv_sa *
srv_external_pick(int family)
{
	static atomic_uint turn;
	const struct srv_cfg *c = &srv_g.cfg;
	size_t n = 0, k;

	for (size_t i = 0; i < c->nexternal; i++)
		n += c->external[i].sa.sa_family == family;
	if (n == 0)
		return NULL;
	/* Several of one family take turns: each brings its own ports. */
	k = n > 1 ? atomic_fetch_add_explicit(&turn, 1, memory_order_relaxed) % n : 0;
	for (size_t i = 0; i < c->nexternal; i++)
		if (c->external[i].sa.sa_family == family && k-- == 0)
			return &c->external[i];
	return NULL;
}

int
srv_external_bind(int fd, int family, bool stream)
{
	const union srv_sa *a;
	socklen_t len;
	int one = 1;

	if (srv_g.cfg.nexternal == 0)
		return 0;
	a = srv_external_pick(family);
	if (a == NULL) {
		/* Going out from another address would dodge the choice. */
		errno = ENETUNREACH;
		return -1;
	}
	/* The port is then chosen by connect(), for the 4-tuple: bind()
	 * alone would take one port per socket out of the address's range. */
	if (stream)
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	len = family == AF_INET ? sizeof(a->in) : sizeof(a->in6);
	return bind(fd, &a->sa, len);
}

bool
srv_external_has(int family)
{
	const struct srv_cfg *c = &srv_g.cfg;

	/* Not srv_external_pick: asking must not move the turn on. */
	for (size_t i = 0; i < c->nexternal; i++)
		if (c->external[i].sa.sa_family == family)
			return true;
	return c->nexternal == 0;
}
