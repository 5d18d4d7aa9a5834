/* internal.h: the private interfaces between the parts of libsocksify.
 *
 * Nothing here is exported from the library: the build hides every symbol
 * but the hooks marked SFY_EXPORT in hooks.c.
 */
#ifndef SOCKSIFY_PRELOAD_INTERNAL_H
#define SOCKSIFY_PRELOAD_INTERNAL_H

#include <sys/types.h>
#include <sys/socket.h>
#include <netdb.h>

#include <stdbool.h>
#include <stdint.h>

#include "socksify/addr.h"
#include "socksify/config.h"
#include "socksify/wire.h"

#define SFY_EXPORT __attribute__((visibility("default")))

/* ---- real.c: the functions the hooks stand in front of ----
 * Each is looked up with dlsym(RTLD_NEXT) on first use, so they work from
 * a hook that runs before our constructor (another library's constructor
 * may connect).  A lookup that fails falls back to the raw system call. */
int real_connect(int fd, const struct sockaddr *sa, socklen_t len);
int real_getpeername(int fd, struct sockaddr *sa, socklen_t *len);
int real_close(int fd);
int real_dup(int fd);
int real_dup2(int oldfd, int newfd);
int real_dup3(int oldfd, int newfd, int flags);
int real_fcntl(int fd, int cmd, long arg);
int real_fcntl64(int fd, int cmd, long arg);
int real_close_range(unsigned first, unsigned last, int flags);
void real_closefrom(int lowfd);
ssize_t real_sendto(int fd, const void *buf, size_t n, int flags,
    const struct sockaddr *sa, socklen_t len);
ssize_t real_sendmsg(int fd, const struct msghdr *msg, int flags);
int real_sendmmsg(int fd, struct mmsghdr *vec, unsigned n, int flags);
int real_getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res);
void real_freeaddrinfo(struct addrinfo *res);
int real_getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host,
    socklen_t hostlen, char *serv, socklen_t servlen, int flags);
int real_gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf,
    size_t buflen, struct hostent **result, int *h_errnop);
int real_gethostbyaddr_r(const void *addr, socklen_t len, int type, struct hostent *ret,
    char *buf, size_t buflen, struct hostent **result, int *h_errnop);

/* ---- fdtable.c: what we know about the application's fds ----
 * A flat table indexed by fd, grown in chunks that are never freed, so a
 * reader needs no lock: it loads a chunk pointer and a flag. */
bool fdt_is_proxied(int fd);
/* Records that fd is proxied and that its peer is sa. */
void fdt_set(int fd, const struct sockaddr *sa, socklen_t len);
/* Copies the peer recorded for fd into sa (truncated to *len, *len set to
 * the full length).  False when fd is not proxied, or when the record is
 * stale (the fd was closed behind our back and now names another socket). */
bool fdt_get_peer(int fd, struct sockaddr *sa, socklen_t *len);
void fdt_clear(int fd);
void fdt_clear_range(unsigned first, unsigned last);
/* newfd now refers to oldfd's socket: copy (or clear) its record. */
void fdt_copy(int oldfd, int newfd);

/* ---- log.c: the one way the library speaks ---- */
void log_configure(enum cfg_log level, const char *file);
bool log_enabled(enum cfg_log level);
void log_msg(enum cfg_log level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- io.c: exact-length socket I/O under one deadline ----
 * Deadlines are CLOCK_MONOTONIC milliseconds.  Every function returns 0 or
 * -1 with errno: ETIMEDOUT past the deadline, ECONNRESET when the peer
 * closed (EOF) or reset the connection, or what the kernel said. */
int64_t io_now_ms(void);
int64_t io_deadline_min(int64_t a, int64_t b);
int io_connect(int fd, const struct sockaddr *sa, socklen_t len, int64_t deadline);
int io_write_all(int fd, const void *buf, size_t n, int64_t deadline);
int io_read_exact(int fd, void *buf, size_t n, int64_t deadline);
/* Reads an HTTP response head, up to and including its empty line and not
 * one byte further (the tunnel's first bytes stay in the socket). */
int io_read_http_head(int fd, char *buf, size_t cap, size_t *len, int64_t deadline);

/* ---- handshake.c: one hop's client side, through the core codecs ----
 * why (cap bytes) receives a short reason for the log on failure; errno
 * follows the documented mapping (EACCES, ECONNREFUSED, EPROTO, ...). */
#define HS_WHY_MAX 192
/* Greets hop p (SOCKS5 method negotiation and RFC 1929 login; nothing
 * for SOCKS4 and HTTP, which authenticate in the request). */
int hs_greet(int fd, const struct proxy_url *p, int64_t deadline, char *why);
/* Asks hop p to CONNECT to dst and reads its answer. */
int hs_connect(int fd, const struct proxy_url *p, const struct wire_addr *dst,
    int64_t deadline, char *why);

/* ---- sock.c: socket plumbing ---- */
/* Replaces the socket at fd with a fresh, non-blocking TCP socket of
 * family, keeping fd's number, FD_CLOEXEC and the options that matter. */
int sock_replace(int fd, int family);
/* Resolves a proxy's address (IP or name) for a direct TCP connect. */
int sock_resolve(const struct wire_addr *w, struct sockaddr_storage *ss,
    socklen_t *len, int prefer_family);

/* ---- chain.c: picking hops and building the chain on the app's fd ---- */
struct chain_result {
	unsigned nhops;
	unsigned hops[CFG_MAX_PROXIES]; /* config indexes of the hops used */
	int orig_family;                /* the app socket's family */
	unsigned fail_hop;              /* 1-based hop that failed, or 0 */
	char why[2 * HS_WHY_MAX];       /* why, for the log line */
};
/* Connects fd to dst through the chain cfg describes.  fd's file status
 * flags are as before on return (the socket may have been swapped for one
 * of another family, see sock_replace).  0 or -1 with errno. */
int chain_connect(int fd, const struct cfg *cfg, const struct wire_addr *dst,
    struct chain_result *res);
/* Opens a fresh socket to hop `hop` (through the hops before it when
 * through_previous) and greets it: the --check probe.  Returns the
 * connected fd or -1 with errno and why filled. */
int chain_probe(const struct cfg *cfg, unsigned hop, bool through_previous,
    char *why, size_t cap);
/* "socks5://a:1 -> http://b:2" for the log. */
void chain_describe(const struct cfg *cfg, const struct chain_result *res,
    char *buf, size_t cap);

/* ---- rules.c ---- */
enum rule_verdict { RULE_PROXY, RULE_DIRECT, RULE_DENY };
enum rule_verdict rules_check(const struct cfg *cfg, const struct sockaddr *sa);

/* ---- dns.c: remote DNS seen from connect() and sendto() ----
 * What a destination address stands for. */
enum dns_fake {
	DNS_NOT_FAKE = 0,   /* a real address */
	DNS_FAKE_NAME,      /* a stand-in: *name holds the name and the port */
	DNS_FAKE_UNKNOWN,   /* in the stand-in ranges but no name (forgotten,
	                     * or made by another process): never route it */
};
enum dns_fake dns_fake_lookup(const struct sockaddr *sa, struct wire_addr *name);
/* An open socket starts or stops using the stand-in sa (no-op for other
 * addresses): a stand-in in use is never forgotten by the name map. */
void dns_fake_ref(const struct sockaddr *sa, int delta);
/* Sets the name map up from the configuration (state.c calls it once). */
int dns_configure(const struct cfg *cfg, char *err, size_t errlen);

/* ---- state.c: the configuration the process runs with ----
 * Loaded once (constructor, or the first hook that needs it).  Never NULL;
 * when the configuration is unusable, *ok is false and the connections the
 * rules would proxy fail closed. */
const struct cfg *state_cfg(bool *ok);
/* Logs the configuration error once, at error level. */
void state_report_error(void);

/* ---- connect.c: the engine behind the hooks ---- */
/* fd is a TCP stream socket (hooks.c checked) and sa an IPv4 or IPv6
 * address of full length. */
int sfy_connect(int fd, const struct sockaddr *sa, socklen_t len);
/* For sendto/sendmsg on datagram sockets: 0 to let it go, or -1 with
 * errno EACCES when udp = refuse (or a deny rule) forbids it. */
int sfy_udp_check(int fd, const struct sockaddr *sa, socklen_t len);

#endif
