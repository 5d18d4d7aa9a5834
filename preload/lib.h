/* lib.h: the parts of libsocksify that live only inside the program (the
 * launcher shares the engine of internal.h, not these).
 */
#ifndef SOCKSIFY_PRELOAD_LIB_H
#define SOCKSIFY_PRELOAD_LIB_H

#include "internal.h"

/* ---- proc.c: which process the library's state belongs to ----
 * A vfork() child, posix_spawn's clone(CLONE_VM) and anything else that
 * shares the parent's memory must never change the parent's records: they
 * run with the parent's memory but their own fd table.  A fork() child has
 * its own copy of everything and owns it. */
void proc_init(void);
bool proc_owns_state(void);

/* ---- nouring.c: io_uring_setup fails with ENOSYS in this process and
 * its descendants (a seccomp filter, installed once at start-up). */
void nouring_init(void);

/* ---- env.c: settings from the environment, and the configuration ----
 * Loaded once (the first hook that needs it, or the constructor).  Never
 * NULL; when the configuration is unusable, *ok is false and connections
 * the rules would proxy fail closed. */
const struct cfg *env_cfg(bool *ok);
/* Logs the configuration error once, at error level. */
void env_report_error(void);
/* The value NAME (one of SOCKSIFY_CONF, SOCKSIFY_CHAIN_FD, SOCKSIFY_CHAIN,
 * SOCKSIFY_PROXY, SOCKSIFY_LOG, SOCKSIFY_LOG_FILE) had when the process
 * started, or NULL when it was unset.  SOCKSIFY_CHAIN is NULL when the
 * chain came from the memfd, so no password goes back into an
 * environment. */
const char *env_setting(const char *name);

/* ---- sock.c: one record per socket ----
 * A flat table indexed by fd.  Each entry has a flag byte that hot paths
 * read first with no lock, and a record kept under a sequence lock. */
enum sock_kind {
	SOCK_KIND_NONE = 0,
	SOCK_KIND_TCP,       /* TCP through the chain */
	SOCK_KIND_UDP,       /* a UDP socket with an association (udp.c) */
	SOCK_KIND_LISTEN,    /* a listener through the chain (SOCKS BIND) */
};
/* Where a SOCK_KIND_LISTEN socket is. */
enum listen_state {
	LISTEN_BOUND = 0,    /* bind() noted, nothing asked yet */
	LISTEN_WAITING,      /* BIND's first reply in: waiting for the peer */
	LISTEN_IDLE,         /* the peer was accepted: the next accept asks again */
};
struct sock_rec {
	uint8_t kind;                 /* enum sock_kind */
	uint8_t family;               /* of the socket the program made */
	uint8_t swapped;              /* a socket of another family stands in */
	uint8_t nhops;
	uint8_t lstate;               /* enum listen_state (SOCK_KIND_LISTEN) */
	uint8_t hops[CFG_MAX_PROXIES]; /* config indexes, first hop first */
	socklen_t peerlen, locallen;
	struct sockaddr_in6 peer;     /* what the program connected to */
	struct sockaddr_in6 local;    /* what getsockname answers: the last
	                               * hop's address (BND) for a proxied
	                               * connection, where the peer is to come
	                               * for a listener */
	void *pin;                    /* the peer's stand-in name, pinned */
	int assoc_fd;                 /* UDP: the association's key (udp.c) */
	ino_t ino;                    /* the socket, to notice a stale record */
	dev_t dev;
};
/* True when the library knows anything of fd: the one check hot paths
 * make before anything else. */
bool sock_flagged(int fd);
/* True when fd has a UDP record: the one check the datagram and the
 * read/write hooks make for sockets that are not proxied. */
bool sock_udp_flagged(int fd);
/* Copies fd's record; false when there is none or it is stale (the fd was
 * closed where we could not see it and now names another file). */
bool sock_get(int fd, struct sock_rec *r);
/* A handshake starts on fd: 1 when its outcome will be recorded, 0 when
 * not (a process sharing its parent's memory), -1 with EALREADY when one
 * is under way already. */
int sock_begin(int fd);
/* The handshake on fd ended.  Unless the program closed fd meanwhile,
 * install(arg) runs (it may put another socket at fd) and, when r is not
 * NULL, r becomes fd's record (it takes over r->pin).  Returns 0, or -1
 * with EBADF when fd was closed (nothing installed, nothing recorded). */
int sock_end(int fd, int tracked, const struct sock_rec *r,
    int (*install)(void *arg, int fd), void *arg);
/* A handshake started by sock_begin runs in the engine thread (async.c):
 * sock_async is true while it does and the program has not closed fd (no
 * lock: the wait and I/O hooks ask it first); sock_abandoned says the
 * program closed fd meanwhile. */
bool sock_async(int fd);
bool sock_abandoned(int fd);
void sock_set_async(int fd, bool on);
/* That handshake failed and SO_ERROR has not told the program yet. */
bool sock_failed(int fd);
void sock_set_failed(int fd, bool on);
/* The hooks' work: close, close_range, closefrom, dup and its kin. */
int sock_close(int fd);
int sock_close_range(unsigned first, unsigned last, int flags);
void sock_closefrom(int lowfd);
/* Before newfd is replaced by a dup2/dup3: a handshake on it lets go, and
 * an internal fd moves away from it.  0, or -1 with errno. */
int sock_dup_target(int newfd);
/* After newfd became a copy of oldfd. */
void sock_copy(int oldfd, int newfd);
/* fd no longer goes through the chain (a direct connect on it). */
void sock_forget(int fd);
/* fd is the library's own: close, close_range, closefrom and dup2 onto it
 * leave it alone (it moves out of dup2's way).  0, or -1 with EMFILE
 * when the table of internal fds is full. */
int sock_internal_add(int fd);
/* Closes an internal fd and lets go of its slot. */
void sock_internal_close(int fd);

/* ---- dest.c: what the program passed, classified once ---- */
enum dest_verdict {
	DEST_PROXY,      /* through the chain, to wire */
	DEST_DIRECT,     /* a direct rule */
	DEST_DENY,       /* a deny rule */
	DEST_FORGOTTEN,  /* a stand-in address with no name: never routed */
};
struct dest {
	enum dest_verdict verdict;
	bool standin;              /* wire is the name a stand-in stands for */
	struct wire_addr wire;     /* what the last hop is asked for */
	void *pin;                 /* the stand-in's name, pinned while in use */
};
/* sa is an AF_INET or AF_INET6 address of full length. */
enum dest_verdict dest_classify(struct dest *d, const struct cfg *cfg,
    const struct sockaddr *sa);
/* Lets go of what dest_classify took (a pin), unless it was handed on. */
void dest_release(struct dest *d);

/* ---- connect.c: the engine behind the hooks ---- */
/* fd is a TCP stream socket (hooks.c checked) and sa an IPv4 or IPv6
 * address of full length. */
int sfy_connect(int fd, const struct sockaddr *sa, socklen_t len);
/* sendto/sendmsg with MSG_FASTOPEN on a TCP socket to sa: 1 when sa goes
 * direct (the kernel's Fast Open may run), 0 once fd is connected through
 * the chain (send the data without the flag), -1 with errno. */
int sfy_fastopen(int fd, const struct sockaddr *sa, socklen_t len);

/* ---- udp.c: UDP through the chain (SOCKS5 UDP ASSOCIATE) ----
 * Errors the program sees: EACCES (udp = refuse, a deny rule, no usable
 * configuration), EPROTONOSUPPORT (a hop that is not SOCKS5: nothing is
 * sent), EAFNOSUPPORT (a stand-in with udp = direct), ECONNRESET (the
 * association's control connection closed: the next send makes a new
 * one), EMSGSIZE (the datagram and its headers do not fit), and the
 * chain's own (ECONNREFUSED, ETIMEDOUT, ...). */
/* sendmsg on fd to msg->msg_name (NULL: the peer a proxied connect
 * named).  *handled false: not the chain's, the caller sends it as it is;
 * else what sendmsg returns. */
ssize_t udp_sendmsg(int fd, const struct msghdr *msg, int flags, bool *handled);
/* connect on a datagram socket.  *handled false: the caller connects. */
int udp_connect(int fd, const struct sockaddr *sa, socklen_t len, bool *handled);
/* recvmsg and recvmmsg on a socket sock_udp_flagged() names: headers
 * stripped, the real source reported, datagrams from others dropped. */
ssize_t udp_recvmsg(int fd, struct msghdr *msg, int flags);
int udp_recvmmsg(int fd, struct mmsghdr *vec, unsigned n, int flags);
/* The association keyed by fd ends (its record was dropped). */
void udp_end(int fd);
/* An internal fd moved out of the way of a dup2. */
void udp_ctl_moved(int oldfd, int newfd);

/* ---- listen.c: listeners through the chain (SOCKS BIND) ----
 * fd is a TCP socket (hooks checked) and sa an IPv4 or IPv6 address of
 * full length.  sfy_bind: 1 to let the kernel bind, 0 when the address is
 * kept for a BIND through the chain, -1 with errno. */
int sfy_bind(int fd, const struct sockaddr *sa, socklen_t len);
/* 1 when fd is not ours (the kernel's listen), 0 when the BIND is up
 * (started now for a listener only bound), -1 with errno (the hop's
 * failure; EOPNOTSUPP when a hop cannot BIND). */
int sfy_listen(int fd);
/* The accepted fd, -1 with errno, or -2 when fd is not ours. */
int sfy_accept(int fd, struct sockaddr *sa, socklen_t *len, int flags);
/* connect.c tells of each proxied connection: its destination (the peer
 * a BIND expects) and the local name getsockname reports for it. */
void sfy_note_proxied(const struct wire_addr *peer, const struct sockaddr *local);

/* The end of a connect through the chain, however the chain ran (c
 * succeeded when ok): the record goes in (or the failure is logged), and
 * c is freed.  *kept, when not NULL, says whether fd was still the
 * program's socket at the end.  0, or -1 with errno. */
int sfy_connect_end(int fd, int tracked, const struct cfg *cfg, struct dest *d,
    const struct sockaddr *sa, socklen_t len, struct chain *c, bool ok, bool *kept);

/* ---- async.c: non-blocking connects, built by the engine thread ----
 * async_running counts the handshakes in the engine: when it is zero,
 * nothing below is needed (one atomic load). */
extern unsigned async_running;
/* fd's handshake runs in the engine: I/O on it would be early. */
static inline bool
async_busy(int fd)
{
	return __atomic_load_n(&async_running, __ATOMIC_ACQUIRE) != 0 && sock_async(fd);
}
/* fd's handshake failed and the program has not been told: SO_ERROR, a
 * read, a write or another connect get the errno (async_take_error). */
extern unsigned async_failed;
static inline bool
async_failed_fd(int fd)
{
	return __atomic_load_n(&async_failed, __ATOMIC_ACQUIRE) != 0 && sock_failed(fd);
}
/* Hands c (built for d on fd, of which sock_begin said tracked) to the
 * engine, which takes over c and d's pin: -1 with EINPROGRESS, 0 when the
 * chain was up at once. */
int async_connect(int fd, int tracked, const struct cfg *cfg, struct dest *d,
    const struct sockaddr *sa, socklen_t len, struct chain *c);
/* The failed handshake's errno for fd, once (SO_ERROR, a second
 * connect). */
bool async_take_error(int fd, int *err);
/* The program closed an fd: the engine looks for abandoned handshakes. */
void async_kick(void);
/* A thread about to wait on fds, some in progress: it waits on w->efd too,
 * which the engine signals on every completion. */
struct async_waiter {
	struct async_waiter *next, *prev;
	int efd;
};
int async_waiter_add(struct async_waiter *w);
void async_waiter_del(struct async_waiter *w);
/* epoll_ctl on fd whose handshake runs: the registration is kept, with
 * its events masked until the chain is up. */
struct epoll_event;
int async_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev);
/* The program made an epoll set: registrations made before connect()
 * are looked for from now on. */
void async_note_epoll(void);

#endif
