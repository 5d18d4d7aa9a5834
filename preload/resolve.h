/* resolve.h: the resolver entry points with remote DNS.
 *
 * With remote DNS on, a name that is neither numeric nor in the hosts
 * file is never resolved here: callers get stand-in addresses from the
 * name map (dnsmap.h), and connect() later sends the name to the proxy.
 * Reverse lookups answer from the name map and the hosts file only.
 * With remote DNS off, each function is libc's.
 *
 * Safe in threads and across fork() (see resolve.c).  Nothing here exits:
 * no memory is EAI_MEMORY from dns_getaddrinfo, and ENOMEM with
 * NETDB_INTERNAL from dns_gethostbyname2_r.
 */
#ifndef SOCKSIFY_RESOLVE_H
#define SOCKSIFY_RESOLVE_H

#include <netdb.h>
#include <stdbool.h>
#include <sys/socket.h>

/* Whether names go to the proxy (dns = remote, the default). */
bool dns_remote_enabled(void);

int dns_getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res);
void dns_freeaddrinfo(struct addrinfo *res);
int dns_getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host,
    socklen_t hostlen, char *serv, socklen_t servlen, int flags);
int dns_gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf,
    size_t buflen, struct hostent **result, int *h_errnop);
int dns_gethostbyaddr_r(const void *addr, socklen_t len, int type, struct hostent *ret,
    char *buf, size_t buflen, struct hostent **result, int *h_errnop);
/* The non-reentrant forms, with a buffer per thread. */
struct hostent *dns_gethostbyname2(const char *name, int af);
struct hostent *dns_gethostbyaddr(const void *addr, socklen_t len, int type);

#endif
