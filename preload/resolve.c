/* resolve.c: getaddrinfo and friends with names kept for the proxy.
 *
 * Locks and fork().  Three mutexes sit behind these functions: the name
 * map's (dnsmap.c), the hosts file's (hostsfile.c) and the set of our
 * addrinfo lists (blocks_lock, here).  Each file registers fork handlers
 * for its own lock, once (pthread_once), from a constructor and in any
 * case before the lock's first use: prepare takes the lock, the parent
 * releases it, the child makes it anew.  libc runs prepare handlers in the
 * reverse order of registration; the constructors' priorities register
 * map, hosts file, blocks, so fork() takes blocks_lock, then the hosts
 * lock, then the map lock.  (Only when a hook runs before our constructors
 * does first use decide the order instead.)  No order can deadlock, since
 * each lock is a leaf: no code holds one of them while it takes any other
 * lock of the library, and code under them calls only into libc (malloc,
 * stdio, stat), whose own fork locks are taken after every prepare
 * handler.  Code elsewhere that calls in here while holding a lock of its
 * own must register its handlers later (a constructor without priority
 * does), so that its prepare runs first: outer locks before inner ones.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* uthash would call exit() inside the host program when an allocation
 * fails.  Non-fatal mode leaves the set as it was and calls
 * uthash_nonfatal_oom, which notes it; adds run under blocks_lock. */
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(elt) ((void)(elt), blocks_add_failed = true)
#include <uthash.h>

#include "dnsmap.h"
#include "hostsfile.h"
#include "internal.h"
#include "resolve.h"

/* ---- our addrinfo lists ----
 * A list we make is one allocation: a header, the addrinfo nodes, their
 * socket addresses and the canonical name.  freeaddrinfo() must know ours
 * from libc's, so the headers sit in a set keyed by the list's address. */

struct ai_block {
	UT_hash_handle hh;
	struct addrinfo *key;
	struct addrinfo ai[];
};

static struct ai_block *blocks;
static pthread_mutex_t blocks_lock = PTHREAD_MUTEX_INITIALIZER;
static bool blocks_add_failed;  /* set by uthash under blocks_lock */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void fork_prepare(void) { pthread_mutex_lock(&blocks_lock); }
static void fork_parent(void) { pthread_mutex_unlock(&blocks_lock); }

static void
fork_child(void)
{
	/* The set is whole (prepare held the lock); the child's lists are
	 * still ours to free, and the lock is made anew (released first for
	 * lock-tracking tools, as in dnsmap.c). */
	pthread_mutex_unlock(&blocks_lock);
	pthread_mutex_init(&blocks_lock, NULL);
}

static void
register_atfork(void)
{
	(void)pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* Registered from a constructor, before the program has threads: libc
 * skips handlers registered while a fork() in another thread is under way.
 * The priority makes this the last of the three (see the top). */
static void __attribute__((constructor(103)))
register_early(void)
{
	pthread_once(&atfork_once, register_atfork);
}

/* The pthread_once covers a hook that runs before our constructor.  It is
 * never called with blocks_lock held: some libcs keep the handler list
 * locked while prepare waits for blocks_lock. */
static void
lock_blocks(void)
{
	pthread_once(&atfork_once, register_atfork);
	pthread_mutex_lock(&blocks_lock);
}

static void
unlock_blocks(void)
{
	pthread_mutex_unlock(&blocks_lock);
}

struct ai_want {
	int socktype, protocol;
	uint16_t port;
};

/* Looks service up in /etc/services (a local file, not the network) for
 * proto.  The entry is parsed into a heap buffer, grown while libc says
 * ERANGE, to keep hooks' stacks small.  Returns 0 with *port (host order),
 * 1 when there is no such service, or EAI_MEMORY. */
static int
service_port(const char *service, const char *proto, char **buf, size_t *cap,
    uint16_t *port)
{
	struct servent se, *sp;
	char *nb;
	int rc;

	if (*buf == NULL) {
		*buf = malloc(1024);
		if (*buf == NULL)
			return EAI_MEMORY;
		*cap = 1024;
	}
	for (;;) {
		sp = NULL;
		rc = getservbyname_r(service, proto, &se, *buf, *cap, &sp);
		if (rc != ERANGE)
			break;
		if (*cap >= 64 * 1024)
			return 1;   /* no sane entry is this long */
		nb = realloc(*buf, *cap * 2);
		if (nb == NULL)
			return EAI_MEMORY;
		*buf = nb;
		*cap *= 2;
	}
	if (rc != 0 || sp == NULL)
		return 1;
	*port = ntohs((uint16_t)sp->s_port);
	return 0;
}

/* Works out the (socktype, protocol, port) triples a hint and a service
 * ask for, as libc does for a numeric host.  Returns how many, or a
 * negative EAI_* code. */
static int
service_triples(const char *service, const struct addrinfo *hints, struct ai_want out[3])
{
	static const struct { int st, proto; const char *name; } kinds[] = {
		{ SOCK_STREAM, IPPROTO_TCP, "tcp" },
		{ SOCK_DGRAM, IPPROTO_UDP, "udp" },
		{ SOCK_RAW, 0, NULL },
	};
	int st = hints ? hints->ai_socktype : 0;
	int proto = hints ? hints->ai_protocol : 0;
	int flags = hints ? hints->ai_flags : 0;
	long numeric = -1;
	int n = 0, rc;
	char *sbuf = NULL;
	size_t scap = 0;

	if (service != NULL && *service != '\0') {
		char *end;
		long v = strtol(service, &end, 10);
		if (*end == '\0' && v >= 0 && v <= 65535)
			numeric = v;
		else if (flags & AI_NUMERICSERV)
			return EAI_NONAME;
	}
	for (size_t i = 0; i < 3; i++) {
		uint16_t port = 0;

		if (st != 0 && st != kinds[i].st)
			continue;
		if (proto != 0 && kinds[i].proto != 0 && proto != kinds[i].proto)
			continue;
		if (service != NULL && *service != '\0') {
			/* As libc: a raw socket takes a port number but
			 * has no service names. */
			if (kinds[i].st == SOCK_RAW && numeric < 0)
				continue;
			if (numeric >= 0) {
				port = (uint16_t)numeric;
			} else {
				rc = service_port(service, kinds[i].name, &sbuf, &scap,
				    &port);
				if (rc == EAI_MEMORY) {
					n = EAI_MEMORY;
					goto out;
				}
				if (rc != 0)
					continue;
			}
		}
		out[n].socktype = kinds[i].st;
		out[n].protocol = proto != 0 ? proto : kinds[i].proto;
		out[n].port = port;
		n++;
	}
	if (n == 0)
		n = service != NULL && *service != '\0' ? EAI_SERVICE : EAI_SOCKTYPE;
out:
	free(sbuf);
	return n;
}

/* Makes one list from nv4 IPv4 and nv6 IPv6 addresses. */
static int
make_list(const uint8_t (*v4)[4], size_t nv4, const uint8_t (*v6)[16], size_t nv6,
    const char *canon, const struct ai_want *want, int nwant, int flags,
    struct addrinfo **res)
{
	size_t naddr = nv4 + nv6, nai = naddr * (size_t)nwant, cl = 0, size;
	struct ai_block *b;
	struct sockaddr_in6 *sas;
	char *cn = NULL;
	size_t k = 0;
	bool added;

	if (naddr == 0)
		return EAI_NONAME;
	if ((flags & AI_CANONNAME) && canon != NULL)
		cl = strlen(canon) + 1;
	size = sizeof(*b) + nai * (sizeof(struct addrinfo) + sizeof(struct sockaddr_in6)) + cl;
	b = calloc(1, size);
	if (b == NULL)
		return EAI_MEMORY;
	sas = (struct sockaddr_in6 *)(b->ai + nai);
	if (cl) {
		cn = (char *)(sas + nai);
		memcpy(cn, canon, cl);
	}
	for (size_t a = 0; a < naddr; a++) {
		for (int w = 0; w < nwant; w++, k++) {
			struct addrinfo *ai = &b->ai[k];
			ai->ai_socktype = want[w].socktype;
			ai->ai_protocol = want[w].protocol;
			ai->ai_addr = (struct sockaddr *)&sas[k];
			if (a < nv4) {
				struct sockaddr_in *in = (struct sockaddr_in *)&sas[k];
				in->sin_family = AF_INET;
				in->sin_port = htons(want[w].port);
				memcpy(&in->sin_addr, v4[a], 4);
				ai->ai_family = AF_INET;
				ai->ai_addrlen = sizeof(*in);
			} else {
				sas[k].sin6_family = AF_INET6;
				sas[k].sin6_port = htons(want[w].port);
				memcpy(&sas[k].sin6_addr, v6[a - nv4], 16);
				ai->ai_family = AF_INET6;
				ai->ai_addrlen = sizeof(sas[k]);
			}
			ai->ai_next = k + 1 < nai ? &b->ai[k + 1] : NULL;
		}
	}
	b->ai[0].ai_canonname = cn;
	b->key = b->ai;
	lock_blocks();
	blocks_add_failed = false;
	HASH_ADD_PTR(blocks, key, b);
	added = !blocks_add_failed;
	unlock_blocks();
	if (!added) {
		/* Not in the set, freeaddrinfo could not tell it is ours. */
		free(b);
		return EAI_MEMORY;
	}
	*res = b->ai;
	return 0;
}

/* True for every form libc takes as a number: dotted quads and their
 * inet_aton() shorthands ("127.1"), IPv6, IPv6 with a %scope. */
static bool
is_numeric_host(const char *node)
{
	char v6[INET6_ADDRSTRLEN + IF_NAMESIZE + 1];
	struct in_addr a4;
	uint8_t a6[16];
	const char *pct = strchr(node, '%');
	size_t n = pct ? (size_t)(pct - node) : strlen(node);

	if (inet_aton(node, &a4) == 1)
		return true;
	if (n >= sizeof(v6))
		return false;
	memcpy(v6, node, n);
	v6[n] = '\0';
	return inet_pton(AF_INET6, v6, a6) == 1;
}

static void
v4_mapped(const uint8_t v4[4], uint8_t out[16])
{
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, v4, 4);
}

int
dns_getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res)
{
	struct addrinfo num;
	struct ai_want want[3];
	struct hosts_addrs ha;
	uint8_t (*v6)[16] = ha.v6;
	size_t nv4 = 0, nv6 = 0;
	int family = hints ? hints->ai_family : AF_UNSPEC;
	int flags = hints ? hints->ai_flags : 0;
	int nwant;

	if (!dns_remote_enabled() || node == NULL ||
	    (family != AF_UNSPEC && family != AF_INET && family != AF_INET6))
		return real_getaddrinfo(node, service, hints, res);
	/* Numbers are libc's to parse; with AI_NUMERICHOST it never asks a
	 * name server.  Anything else that is not a number is a name. */
	if (is_numeric_host(node)) {
		if (hints)
			num = *hints;
		else {
			memset(&num, 0, sizeof(num));
			num.ai_flags = AI_V4MAPPED | AI_ADDRCONFIG;
		}
		num.ai_flags |= AI_NUMERICHOST;
		return real_getaddrinfo(node, service, &num, res);
	}
	if (flags & AI_NUMERICHOST)
		return EAI_NONAME;

	nwant = service_triples(service, hints, want);
	if (nwant < 0)
		return nwant;
	if (hosts_lookup(node, &ha)) {
		nv4 = family == AF_INET6 ? 0 : ha.n4;
		nv6 = family == AF_INET ? 0 : ha.n6;
		if (family == AF_INET6 && nv6 == 0 && (flags & AI_V4MAPPED)) {
			for (size_t i = 0; i < ha.n4; i++)
				v4_mapped(ha.v4[i], ha.v6[i]);
			nv6 = ha.n4;
		}
		return make_list((const uint8_t (*)[4])ha.v4, nv4,
		    (const uint8_t (*)[16])v6, nv6, ha.canon, want, nwant, flags, res);
	} else {
		uint8_t f4[1][4], f6[1][16];
		uint32_t idx = dns_map_get(node);

		if (idx == 0) {
			if (errno == ENOMEM)
				return EAI_MEMORY;
			/* Not a name (empty, too long), or a map full of
			 * names that sockets use. */
			return errno == EINVAL ? EAI_NONAME : EAI_AGAIN;
		}
		dns_map_addr4(idx, f4[0]);
		dns_map_addr6(idx, f6[0]);
		/* IPv4 first: most programs use the first answer, and an
		 * IPv4 socket can reach every kind of proxy. */
		return make_list((const uint8_t (*)[4])f4, family == AF_INET6 ? 0 : 1,
		    (const uint8_t (*)[16])f6, family == AF_INET ? 0 : 1, node,
		    want, nwant, flags, res);
	}
}

void
dns_freeaddrinfo(struct addrinfo *res)
{
	struct ai_block *b = NULL;

	if (res == NULL)
		return;
	lock_blocks();
	if (blocks != NULL) {
		HASH_FIND_PTR(blocks, &res, b);
		if (b != NULL)
			HASH_DEL(blocks, b);
	}
	unlock_blocks();
	if (b != NULL)
		free(b);
	else
		real_freeaddrinfo(res);
}

static int
copy_name(char *dst, socklen_t cap, const char *name)
{
	size_t n = strlen(name);

	if (n + 1 > cap)
		return EAI_OVERFLOW;
	memcpy(dst, name, n + 1);
	return 0;
}

int
dns_getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host,
    socklen_t hostlen, char *serv, socklen_t servlen, int flags)
{
	char name[WIRE_NAME_MAX + 1];
	const void *ip;
	int rc, fam;

	if (!dns_remote_enabled() || host == NULL || hostlen == 0 || sa == NULL ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) ||
	    (flags & NI_NUMERICHOST))
		return real_getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
	if ((sa->sa_family == AF_INET && salen < sizeof(struct sockaddr_in)) ||
	    (sa->sa_family == AF_INET6 && salen < sizeof(struct sockaddr_in6)))
		return EAI_FAMILY;
	/* The service part never needs the network. */
	if (serv != NULL && servlen > 0) {
		rc = real_getnameinfo(sa, salen, NULL, 0, serv, servlen, flags);
		if (rc != 0)
			return rc;
	}
	if (dns_map_lookup_addr(sa, name, sizeof(name)) != 0)
		return copy_name(host, hostlen, name);
	fam = sa->sa_family;
	ip = fam == AF_INET ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (hosts_reverse(fam, ip, name, sizeof(name)))
		return copy_name(host, hostlen, name);
	/* No reverse query leaves this machine: numbers, or no name. */
	if (flags & NI_NAMEREQD)
		return EAI_NONAME;
	return real_getnameinfo(sa, salen, host, hostlen, NULL, 0, flags | NI_NUMERICHOST);
}

/* Lays out a hostent with one name and naddr addresses in buf. */
static int
fill_hostent(struct hostent *ret, char *buf, size_t buflen, const char *name, int af,
    const uint8_t *addrs, size_t naddr, struct hostent **result, int *h_errnop)
{
	size_t alen = af == AF_INET ? 4 : 16;
	size_t nl = strlen(name) + 1;
	uintptr_t p = (uintptr_t)buf, end = (uintptr_t)buf + buflen;
	char **aliases, **list;

	*result = NULL;
	p = (p + sizeof(char *) - 1) & ~(uintptr_t)(sizeof(char *) - 1);
	if (p > end || end - p < sizeof(char *) * (naddr + 2) + naddr * alen + nl) {
		*h_errnop = NETDB_INTERNAL;
		return ERANGE;
	}
	aliases = (char **)p;
	aliases[0] = NULL;
	list = aliases + 1;
	p = (uintptr_t)(list + naddr + 1);
	for (size_t i = 0; i < naddr; i++) {
		list[i] = (char *)p;
		memcpy(list[i], addrs + i * alen, alen);
		p += alen;
	}
	list[naddr] = NULL;
	memcpy((char *)p, name, nl);
	ret->h_name = (char *)p;
	ret->h_aliases = aliases;
	ret->h_addrtype = af;
	ret->h_length = (int)alen;
	ret->h_addr_list = list;
	*result = ret;
	*h_errnop = 0;
	return 0;
}

int
dns_gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf,
    size_t buflen, struct hostent **result, int *h_errnop)
{
	struct hosts_addrs ha;
	uint8_t tmp[16];
	uint32_t idx;

	if (!dns_remote_enabled() || name == NULL || (af != AF_INET && af != AF_INET6) ||
	    inet_pton(af, name, tmp) == 1 || (af == AF_INET6 && inet_pton(AF_INET, name, tmp) == 1))
		return real_gethostbyname2_r(name, af, ret, buf, buflen, result, h_errnop);
	if (hosts_lookup(name, &ha)) {
		size_t n = af == AF_INET ? ha.n4 : ha.n6;
		if (n == 0) {
			*result = NULL;
			*h_errnop = NO_ADDRESS;
			return 0;
		}
		return fill_hostent(ret, buf, buflen, ha.canon, af,
		    af == AF_INET ? &ha.v4[0][0] : &ha.v6[0][0], n, result, h_errnop);
	}
	idx = dns_map_get(name);
	if (idx == 0) {
		*result = NULL;
		if (errno == ENOMEM) {
			*h_errnop = NETDB_INTERNAL;
			return ENOMEM;
		}
		if (errno == EINVAL) {      /* empty or over-long: no such host */
			*h_errnop = HOST_NOT_FOUND;
			return 0;
		}
		*h_errnop = TRY_AGAIN;
		return EAGAIN;
	}
	if (af == AF_INET)
		dns_map_addr4(idx, tmp);
	else
		dns_map_addr6(idx, tmp);
	return fill_hostent(ret, buf, buflen, name, af, tmp, 1, result, h_errnop);
}

int
dns_gethostbyaddr_r(const void *addr, socklen_t len, int type, struct hostent *ret,
    char *buf, size_t buflen, struct hostent **result, int *h_errnop)
{
	struct sockaddr_storage ss;
	char name[WIRE_NAME_MAX + 1];

	if (!dns_remote_enabled() || addr == NULL ||
	    !((type == AF_INET && len == 4) || (type == AF_INET6 && len == 16)))
		return real_gethostbyaddr_r(addr, len, type, ret, buf, buflen, result, h_errnop);
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)type;
	if (type == AF_INET)
		memcpy(&((struct sockaddr_in *)&ss)->sin_addr, addr, 4);
	else
		memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, addr, 16);
	if (dns_map_lookup_addr((struct sockaddr *)&ss, name, sizeof(name)) != 0 ||
	    hosts_reverse(type, addr, name, sizeof(name)))
		return fill_hostent(ret, buf, buflen, name, type, addr, 1, result, h_errnop);
	/* Anything else would be a PTR query to a local name server. */
	*result = NULL;
	*h_errnop = HOST_NOT_FOUND;
	return 0;
}

/* ---- the non-reentrant forms ---- */

struct tls_host {
	struct hostent he;
	char buf[1024];
};
static __thread struct tls_host tls_host;

struct hostent *
dns_gethostbyname2(const char *name, int af)
{
	struct hostent *res = NULL;
	int herr = 0;

	dns_gethostbyname2_r(name, af, &tls_host.he, tls_host.buf, sizeof(tls_host.buf),
	    &res, &herr);
	if (res == NULL)
		h_errno = herr ? herr : HOST_NOT_FOUND;
	return res;
}

struct hostent *
dns_gethostbyaddr(const void *addr, socklen_t len, int type)
{
	struct hostent *res = NULL;
	int herr = 0;

	dns_gethostbyaddr_r(addr, len, type, &tls_host.he, tls_host.buf,
	    sizeof(tls_host.buf), &res, &herr);
	if (res == NULL)
		h_errno = herr ? herr : HOST_NOT_FOUND;
	return res;
}
