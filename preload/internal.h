/* internal.h: the private interfaces between the parts of libsocksify.
 *
 * Nothing here is exported from the library: the build hides every symbol
 * but the hooks marked SFY_EXPORT in hooks.c.  Data flows one way: a hook
 * classifies what the program passed (dest.c), the chain is built on the
 * program's socket (chain.c, hs.c, io.c), and the outcome is recorded
 * against the fd (sock.c).  Nothing below calls back up.
 */
#ifndef SOCKSIFY_PRELOAD_INTERNAL_H
#define SOCKSIFY_PRELOAD_INTERNAL_H

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
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
 * may connect).  A lookup that fails falls back to the raw system call.
 * Code inside the library calls these, never the hooked names: a call to
 * getsockopt() from here would land in our own hook. */
/* The next definition of name after this library, looked up once and kept
 * in *slot (for the hooks of other files). */
void *real_lookup(void **slot, const char *name);
int real_connect(int fd, const struct sockaddr *sa, socklen_t len);
int real_getpeername(int fd, struct sockaddr *sa, socklen_t *len);
int real_getsockname(int fd, struct sockaddr *sa, socklen_t *len);
int real_getsockopt(int fd, int level, int name, void *val, socklen_t *len);
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
ssize_t real_recvmsg(int fd, struct msghdr *msg, int flags);
int real_sendmmsg(int fd, struct mmsghdr *vec, unsigned n, int flags);
long real_syscall(long nr, long a, long b, long c, long d, long e, long f);
int real_getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res);
void real_freeaddrinfo(struct addrinfo *res);
int real_getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host,
    socklen_t hostlen, char *serv, socklen_t servlen, int flags);
int real_gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf,
    size_t buflen, struct hostent **result, int *h_errnop);
int real_gethostbyaddr_r(const void *addr, socklen_t len, int type, struct hostent *ret,
    char *buf, size_t buflen, struct hostent **result, int *h_errnop);

/* ---- log.c: the one way the library speaks ---- */
void log_configure(enum cfg_log level, const char *file);
bool log_enabled(enum cfg_log level);
void log_msg(enum cfg_log level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- failures as values ----
 * What went wrong in a chain, filled where it happened and logged in one
 * place (log_failure).  Code decides on kind, stage and err, never on the
 * text in detail, which is for people. */
enum fail_stage {
	STAGE_NONE = 0,
	STAGE_TCP,      /* the TCP connect to the first hop */
	STAGE_GREET,    /* SOCKS5 method negotiation */
	STAGE_LOGIN,    /* RFC 1929 */
	STAGE_REQUEST,  /* sending the request */
	STAGE_REPLY,    /* the (first) reply */
	STAGE_REPLY2,   /* BIND's second reply */
};
enum fail_kind {
	FAIL_IO = 1,    /* the socket said err (ETIMEDOUT for a deadline) */
	FAIL_CLOSED,    /* the proxy closed the connection */
	FAIL_REFUSED,   /* the proxy answered no: code is its reply code */
	FAIL_AUTH,      /* authentication rejected or required */
	FAIL_MALFORMED, /* a reply the decoders reject */
	FAIL_CARRY,     /* the chain cannot carry this destination or command */
	FAIL_NO_LIVE,   /* a non-strict chain ran out of live hops */
	FAIL_LOCAL,     /* a local resource (socket, memory, the proxy's name) */
};
struct sfy_fail {
	uint8_t hop;        /* 1-based config index of the hop, 0: none */
	uint8_t stage;      /* enum fail_stage */
	uint8_t kind;       /* enum fail_kind */
	int err;            /* the errno the program gets */
	int code;           /* FAIL_REFUSED: the SOCKS reply code or HTTP status */
	char detail[112];   /* for the log only */
};
const char *fail_stage_name(enum fail_stage s);
/* "hop 2 (socks5://h:p): proxy refused: ..." or the detail alone. */
void fail_format(const struct sfy_fail *f, const struct cfg *cfg, char *buf, size_t cap);
/* One error line: "<what> failed: <fail_format>". */
void log_failure(const struct cfg *cfg, const char *what, const struct sfy_fail *f);

/* ---- io.c: time and waiting ----
 * Deadlines are CLOCK_MONOTONIC milliseconds. */
int64_t io_now_ms(void);
int64_t io_deadline_min(int64_t a, int64_t b);
/* Waits until fd is ready for events (POLLIN or POLLOUT) or the deadline
 * passes: 0, or -1 with errno (ETIMEDOUT).  EINTR is retried. */
int io_wait(int fd, short events, int64_t deadline);

/* ---- hs.c: one hop's client handshake, as a state machine ----
 * Driven by readiness: hs_step does what it can without blocking and says
 * what it waits for.  Every message goes through the core codecs; replies
 * are read in stages (fixed head, then the tail the head announces) and
 * nothing past a reply is consumed, so tunnel bytes stay in the socket.
 * Nothing is pipelined unless the config says `pipeline = yes` (some
 * servers read one message per recv and drop the rest). */
enum hs_cmd {
	HS_CMD_CONNECT = SOCKS5_CMD_CONNECT,
	HS_CMD_BIND = SOCKS5_CMD_BIND,
	HS_CMD_UDP = SOCKS5_CMD_UDP_ASSOCIATE,
};
enum hs_result { HS_FAILED = -1, HS_DONE = 0, HS_WANT_READ = 1, HS_WANT_WRITE = 4 };
#define HS_BUF (WIRE_HTTP_HEAD_MAX + 8)
struct hs {
	const struct proxy_url *p;
	uint8_t hop;              /* 1-based, for logs and failures */
	uint8_t op;               /* greet, request, second reply */
	uint8_t cmd;              /* enum hs_cmd */
	uint8_t step;
	uint8_t await;            /* a request went: wait before reading */
	uint8_t pipeline;         /* the greeting may wait for the request */
	uint8_t pre;              /* bytes of the greeting waiting in buf */
	uint8_t choice;           /* a method choice comes before the reply */
	uint16_t off, len;        /* progress in buf */
	struct wire_addr target;  /* what the request asks for */
	struct wire_addr bnd;     /* the reply's address (BND) */
	union {                   /* what a message is encoded from: here,
	                           * not on the stack of a hook */
		struct socks5_greeting greeting;
		struct socks5_auth auth;
		struct socks5_msg s5;
		struct socks4_req s4;
		struct socks4_rep s4rep;
		struct http_connect_req http;
	} msg;
	uint8_t buf[HS_BUF];
};
/* SOCKS5: method negotiation and login; the others have no greeting.
 * With h->pipeline set and no login, the greeting is only encoded: it
 * goes out in one write with the next request, whose reply read then
 * starts with the method choice (one round trip fewer). */
void hs_start_greet(struct hs *h, const struct proxy_url *p, unsigned hop);
/* A request (cmd) for target; on success h->bnd holds the reply's address. */
void hs_start_request(struct hs *h, const struct proxy_url *p, unsigned hop,
    enum hs_cmd cmd, const struct wire_addr *target);
/* BIND: the second reply (the peer that connected), into h->bnd. */
void hs_start_reply2(struct hs *h);
/* One round: HS_DONE, HS_WANT_READ/HS_WANT_WRITE (poll events), or
 * HS_FAILED with *f filled. */
int hs_step(struct hs *h, int fd, struct sfy_fail *f);
/* The deadline passed while h waited: fills *f. */
void hs_timed_out(const struct hs *h, struct sfy_fail *f);

/* ---- swap.c: a socket of another family under the program's fd ----
 * Only when the first hop cannot be reached from the program's socket (an
 * AF_INET socket and an IPv6-only hop).  The new socket takes the old one's
 * options, its FD_CLOEXEC, and its epoll registrations, so an epoll set
 * the program made before connect() still reports it. */
int swap_new_socket(int family, int proto);
/* Puts sock at fd (the program's number; old is a private dup of the
 * program's socket, used to copy options and find its registrations). */
int swap_install(int fd, int old, int sock);
/* The epoll registrations of fd (whose socket has inode ino) in every
 * epoll set of the process, read from /proc/self/fdinfo: how many (at
 * most EPREG_MAX). */
struct epreg {
	int epfd;
	uint32_t events;
	uint64_t data;
};
#define EPREG_MAX 16
unsigned swap_find_registrations(int fd, ino_t ino, struct epreg *out);

/* ---- chain.c: picking hops and building the chain ---- */
struct chain;
/* A chain for the program's socket fd, of family (the family of the
 * address the program passed, which is its socket's), to run cmd for dst
 * (NULL: only build the path, the --check probe).  NULL with *f filled
 * when the chain cannot start (nothing configured, a hop that cannot
 * carry dst). */
struct chain *chain_new(const struct cfg *cfg, int fd, int family, enum hs_cmd cmd,
    const struct wire_addr *dst, struct sfy_fail *f);
/* Makes c go through exactly these hops (config indexes, first hop
 * first), any failure final: hop k of a UDP chain is asked for its
 * association over the path the last hop's association took. */
void chain_fix_path(struct chain *c, const uint8_t *hops, unsigned n);
/* Runs the chain to the end, waiting as needed: 0, or -1 with errno and
 * the failure in chain_failure().  Leaves the program's file flags as
 * they were. */
int chain_run(struct chain *c);
/* For a caller that waits itself (async.c): chain_step advances as far as
 * it can without blocking (HS_DONE, HS_WANT_READ/HS_WANT_WRITE on
 * chain_fd, or HS_FAILED); chain_deadline is when the step under way
 * times out, and chain_expire is called once it has: HS_FAILED, or
 * HS_DONE when a non-strict chain skips the hop and goes on. */
int chain_step(struct chain *c);
int chain_fd(const struct chain *c);
int64_t chain_deadline(const struct chain *c);
int chain_expire(struct chain *c);
const struct sfy_fail *chain_failure(const struct chain *c);
/* After success: the socket that now carries the tunnel; when it is not
 * the program's own (a family swap), chain_install puts it at the fd. */
bool chain_swapped(const struct chain *c);
/* The program's socket was non-blocking before the chain took it. */
bool chain_app_nonblocking(const struct chain *c);
int chain_install(struct chain *c, int fd);
/* The last hop's reply address, and the path for the record and the log. */
const struct wire_addr *chain_bound(const struct chain *c);
unsigned chain_path(const struct chain *c, uint8_t *hops);
void chain_describe(const struct chain *c, char *buf, size_t cap);
/* Frees c; a chain that did not succeed leaves the program's socket
 * unconnected, as a failed connect() does. */
void chain_free(struct chain *c);
/* Opens a fresh socket to hop `hop` (through the hops before it when
 * through_previous) and greets it: the --check probe.  The connected fd,
 * or -1 with errno and why filled. */
int chain_probe(const struct cfg *cfg, unsigned hop, bool through_previous,
    char *why, size_t cap);

/* ---- rules.c ---- */
enum rule_verdict { RULE_PROXY, RULE_DIRECT, RULE_DENY };
enum rule_verdict rules_check(const struct cfg *cfg, const struct sockaddr *sa);

#endif
