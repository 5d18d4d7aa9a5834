/* resquery.h: the raw resolver calls (res_query, res_send and their kin)
 * and getaddrinfo_a, answered inside the process with remote DNS.
 *
 * With remote DNS on (resolve.h), no packet leaves the process: A and AAAA
 * questions of class IN are answered as getaddrinfo would (hosts file
 * addresses for names listed there, stand-ins for any other name), and
 * every other question is refused.  With remote DNS off, each function is
 * libc's own, found with dlsym(RTLD_NEXT).
 */
#ifndef SOCKSIFY_RESQUERY_H
#define SOCKSIFY_RESQUERY_H

#include <netinet/in.h>
#include <netdb.h>
#include <resolv.h>
#include <signal.h>

/* Which of the res_query family a hook stands for: they differ only in
 * how the name is formed when libc answers (search list, joined domain). */
enum dns_rq_call {
	DNS_RQ_QUERY,
	DNS_RQ_SEARCH,
	DNS_RQ_QUERYDOMAIN,
};

/* res_query, res_search, res_querydomain (statp NULL: the forms without
 * "n", which use the thread's own state) and res_nquery, res_nsearch,
 * res_nquerydomain.  domain is used by DNS_RQ_QUERYDOMAIN only.  Returns
 * the length of the answer written to answer, or -1 with h_errno (and
 * statp->res_h_errno) set as libc sets it for the response: NO_DATA for a
 * name without an address of that family, NO_RECOVERY for a refused
 * question, TRY_AGAIN when the name map is full, HOST_NOT_FOUND for a name
 * the map refuses, NETDB_INTERNAL with errno for a buffer too small for
 * any answer.  Either way the response is left in answer. */
int dns_res_query(enum dns_rq_call call, res_state statp, const char *name,
    const char *domain, int cls, int type, unsigned char *answer, int anslen);

/* res_send and res_nsend: answers the query in msg with a complete DNS
 * response in answer (TC set when the records do not all fit) and returns
 * its length, or -1 with errno EINVAL when msg is shorter than a DNS
 * header or answer cannot hold one. */
int dns_res_send(res_state statp, const unsigned char *msg, int msglen,
    unsigned char *answer, int anslen);

/* getaddrinfo_a: each request is answered through dns_getaddrinfo before
 * this returns (a lookup never waits on the network), so gai_error,
 * gai_suspend, gai_cancel and freeaddrinfo work on the results as on any
 * finished request.  GAI_NOWAIT notifications (SIGEV_SIGNAL, SIGEV_THREAD)
 * are sent as libc sends them once every request is done. */
int dns_getaddrinfo_a(int mode, struct gaicb *list[], int ent, struct sigevent *sig);

#endif
