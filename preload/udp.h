/* udp.h: the parts of UDP through the chain that share one association
 * (udp_assoc.c keeps the associations; udp.c sends and connects; udp_recv.c
 * receives).  Private to those files.
 */
#ifndef SOCKSIFY_PRELOAD_UDP_H
#define SOCKSIFY_PRELOAD_UDP_H

#include <sys/socket.h>
#include <netinet/in.h>

#include "lib.h"

/* The outer headers of a chain: a relay address each (22 bytes for
 * IPv6); a relay that answers with a long name could need more. */
#define UDP_PREFIX_MAX 1024
#define UDP_HDR_MAX (UDP_PREFIX_MAX + 3 + 1 + 1 + 255 + 2)
/* Every datagram fits, with its headers: so the real length is known. */
#define UDP_RBUF (65536 + UDP_HDR_MAX)
/* Longer scatter lists get a heap array for the header's extra entry. */
#define UDP_IOV_STACK 32
/* Stand-ins an association remembers sending to, for naming replies. */
#define UDP_NAMES 8

/* What a socket's datagrams go through: the relay to send them to and the
 * headers they carry.  Or, for DNS queries to a name server the rules
 * send direct (with dns = remote), the process itself: "local", no hop,
 * no header; the answers come from an internal socket (the "relay") and
 * are reported as the name server's. */
struct udp_assoc {
	struct udp_assoc *next;
	int fd;                           /* the program's socket: the key */
	bool local;                       /* DNS answered in the process */
	int inj;                          /* local: where the answers come from */
	struct sockaddr_storage ns;       /* local: the name server asked */
	socklen_t nslen;
	unsigned nhops;
	uint8_t hops[CFG_MAX_PROXIES];    /* config indexes, first hop first */
	int ctl[CFG_MAX_PROXIES];         /* hop k's control connection */
	struct sockaddr_storage relay;    /* hop 1's relay, in the socket's family */
	socklen_t relaylen;
	uint16_t prefixlen;
	uint8_t prefix[UDP_PREFIX_MAX];   /* the headers for hops 2..n's relays */
	/* The last stand-ins datagrams went to: a relay that answers from
	 * the name's address (not the name) is reported as the stand-in
	 * when exactly one of them has the reply's port. */
	struct sockaddr_in6 names[UDP_NAMES];
	socklen_t nameslen[UDP_NAMES];
	unsigned namesnext;
};

/* A copy of fd's association into *v: true when there is one. */
bool udpa_get(int fd, struct udp_assoc *v);
/* fd's association, made when there is none (and fd recorded as a UDP
 * socket of the chain, unless recorded already).  0 with *v filled, 1 when
 * it is new, or -1 with errno (logged).  sa is for the log. */
int udpa_ensure(const struct cfg *cfg, int fd, const struct sockaddr *sa, bool recorded,
    struct udp_assoc *v);
/* fd's local association (DNS answered in the process) for name server
 * ns, made when there is none: 0 or 1 (new) with *v filled, or -1 with
 * errno.  A socket with a chain association already is refused (EACCES). */
int udpa_ensure_local(int fd, const struct sockaddr *ns, socklen_t nslen, bool recorded,
    struct udp_assoc *v);
/* True when one of v's control connections is gone. */
bool udpa_ctl_dead(const struct udp_assoc *v);
/* v died: it goes, with a log line.  -1 with ECONNRESET. */
int udpa_lost(const struct cfg *cfg, const struct udp_assoc *v);
/* A datagram went to stand-in sa on fd's association. */
void udpa_note_standin(int fd, const struct sockaddr *sa, socklen_t len);
/* w as a sockaddr of a socket of family (IPv4 v4-mapped for AF_INET6). */
int udpa_relay_sockaddr(int family, const struct wire_addr *w, struct sockaddr_storage *ss,
    socklen_t *len);
/* The socket's family (SO_DOMAIN). */
int udpa_socket_family(int fd);
/* Records fd as a UDP socket of the chain connected to peer (NULL: not
 * connected); the record takes over *pin. */
int udpa_record(int fd, int family, const struct sockaddr *peer, socklen_t len, void **pin);

#endif
