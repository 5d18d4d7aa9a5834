/* hooks_res.c: the interposed raw resolver calls and getaddrinfo_a.
 *
 * Each hook hands over to resquery.c, which answers inside the process
 * with remote DNS and calls libc's own function otherwise.  glibc 2.34
 * moved these from libresolv and libanl into libc, where its own
 * getaddrinfo_a threads and res_* internals no longer pass through any
 * symbol we could stand in front of: these hooks are the only way in.
 *
 * The __res_* names are the ones <resolv.h> mapped res_query and its kin
 * to before glibc 2.34; binaries built then still call them (glibc keeps
 * them as compat versions).  Our unversioned definitions satisfy those
 * versioned references, as they do for every other hook.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netdb.h>
#include <resolv.h>

#include "internal.h"
#include "resquery.h"

/* Not declared by any header since glibc 2.34. */
int __res_query(const char *, int, int, unsigned char *, int);
int __res_search(const char *, int, int, unsigned char *, int);
int __res_querydomain(const char *, const char *, int, int, unsigned char *, int);
int __res_send(const unsigned char *, int, unsigned char *, int);
int __res_nquery(res_state, const char *, int, int, unsigned char *, int);
int __res_nsearch(res_state, const char *, int, int, unsigned char *, int);
int __res_nquerydomain(res_state, const char *, const char *, int, int,
    unsigned char *, int);
int __res_nsend(res_state, const unsigned char *, int, unsigned char *, int);

/* ---- the forms that use the thread's own resolver state ---- */

SFY_EXPORT int
res_query(const char *name, int cls, int type, unsigned char *answer, int anslen)
{
	return dns_res_query(DNS_RQ_QUERY, NULL, name, NULL, cls, type, answer, anslen);
}

SFY_EXPORT int
res_search(const char *name, int cls, int type, unsigned char *answer, int anslen)
{
	return dns_res_query(DNS_RQ_SEARCH, NULL, name, NULL, cls, type, answer, anslen);
}

SFY_EXPORT int
res_querydomain(const char *name, const char *domain, int cls, int type,
    unsigned char *answer, int anslen)
{
	return dns_res_query(DNS_RQ_QUERYDOMAIN, NULL, name, domain, cls, type, answer,
	    anslen);
}

SFY_EXPORT int
res_send(const unsigned char *msg, int msglen, unsigned char *answer, int anslen)
{
	return dns_res_send(NULL, msg, msglen, answer, anslen);
}

/* ---- the forms with a resolver state of the program's ---- */

SFY_EXPORT int
res_nquery(res_state statp, const char *name, int cls, int type, unsigned char *answer,
    int anslen)
{
	return dns_res_query(DNS_RQ_QUERY, statp, name, NULL, cls, type, answer, anslen);
}

SFY_EXPORT int
res_nsearch(res_state statp, const char *name, int cls, int type, unsigned char *answer,
    int anslen)
{
	return dns_res_query(DNS_RQ_SEARCH, statp, name, NULL, cls, type, answer, anslen);
}

SFY_EXPORT int
res_nquerydomain(res_state statp, const char *name, const char *domain, int cls,
    int type, unsigned char *answer, int anslen)
{
	return dns_res_query(DNS_RQ_QUERYDOMAIN, statp, name, domain, cls, type, answer,
	    anslen);
}

SFY_EXPORT int
res_nsend(res_state statp, const unsigned char *msg, int msglen, unsigned char *answer,
    int anslen)
{
	return dns_res_send(statp, msg, msglen, answer, anslen);
}

/* ---- the names binaries built before glibc 2.34 call ---- */

SFY_EXPORT int
__res_query(const char *name, int cls, int type, unsigned char *answer, int anslen)
{
	return dns_res_query(DNS_RQ_QUERY, NULL, name, NULL, cls, type, answer, anslen);
}

SFY_EXPORT int
__res_search(const char *name, int cls, int type, unsigned char *answer, int anslen)
{
	return dns_res_query(DNS_RQ_SEARCH, NULL, name, NULL, cls, type, answer, anslen);
}

SFY_EXPORT int
__res_querydomain(const char *name, const char *domain, int cls, int type,
    unsigned char *answer, int anslen)
{
	return dns_res_query(DNS_RQ_QUERYDOMAIN, NULL, name, domain, cls, type, answer,
	    anslen);
}

SFY_EXPORT int
__res_send(const unsigned char *msg, int msglen, unsigned char *answer, int anslen)
{
	return dns_res_send(NULL, msg, msglen, answer, anslen);
}

SFY_EXPORT int
__res_nquery(res_state statp, const char *name, int cls, int type, unsigned char *answer,
    int anslen)
{
	return dns_res_query(DNS_RQ_QUERY, statp, name, NULL, cls, type, answer, anslen);
}

SFY_EXPORT int
__res_nsearch(res_state statp, const char *name, int cls, int type, unsigned char *answer,
    int anslen)
{
	return dns_res_query(DNS_RQ_SEARCH, statp, name, NULL, cls, type, answer, anslen);
}

SFY_EXPORT int
__res_nquerydomain(res_state statp, const char *name, const char *domain, int cls,
    int type, unsigned char *answer, int anslen)
{
	return dns_res_query(DNS_RQ_QUERYDOMAIN, statp, name, domain, cls, type, answer,
	    anslen);
}

SFY_EXPORT int
__res_nsend(res_state statp, const unsigned char *msg, int msglen,
    unsigned char *answer, int anslen)
{
	return dns_res_send(statp, msg, msglen, answer, anslen);
}

/* ---- asynchronous getaddrinfo ---- */

SFY_EXPORT int
getaddrinfo_a(int mode, struct gaicb *list[], int ent, struct sigevent *sig)
{
	return dns_getaddrinfo_a(mode, list, ent, sig);
}
