/* srv.h: socksifyd's private header: configuration, event loop, sessions. */
#ifndef SOCKSIFY_SRV_H
#define SOCKSIFY_SRV_H

#include <sys/socket.h>
#include <netinet/in.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "socksify/addr.h"
#include "socksify/wire.h"

#define SRV_CONTAINER(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

/* ---- configuration (main.c, auth.c, acl.c) ---- */

struct srv_user {
	char *name;
	char *pass;
	size_t name_len;
	size_t pass_len;
};

struct srv_cfg {
	struct wire_addr *listen;   /* -l, in order; 127.0.0.1:1080 when none */
	size_t nlisten;
	struct srv_user *users;
	size_t nusers;
	struct addr_cidr *allow;    /* clients; empty means everyone */
	size_t nallow;
	struct addr_cidr *deny;     /* destinations refused */
	size_t ndeny;
	bool no_bind;
	bool no_udp;
	bool socks4_userid;         /* with users, a SOCKS4 user id is enough */
	size_t max_conns;           /* 0: no limit */
	/* Per client address (IPv4 address or IPv6 /64); 0: no limit. */
	unsigned max_per_client;    /* sessions */
	unsigned max_binds_per_client;   /* BINDs waiting for their peer */
	unsigned max_udp_per_client;     /* UDP associations */
	unsigned auth_fail_limit;   /* failed logins per minute, then banned */
	unsigned auth_delay_ms;     /* before a failed login is answered */
	unsigned timeout_ms;        /* negotiation, connect and BIND wait */
	unsigned idle_ms;           /* 0: no idle limit */
	unsigned half_ms;           /* silence allowed once one way ended; 0: idle_ms */
	const char *port_file;
	const char *run_as;         /* --run-as: the user after binding */
	union srv_sa *external;     /* --external: where connections leave from */
	size_t nexternal;
	unsigned threads;           /* event-loop threads */
	unsigned dns_ttl_ms;        /* how long a name's addresses are kept */
	unsigned dns_neg_ttl_ms;    /* how long "no such name" is kept */
	size_t dns_cache;           /* names kept at most; 0: no cache */
	unsigned attempt_ms;        /* one connect attempt, when more remain */
};

/* auth.c */
int srv_users_add(struct srv_cfg *cfg, const char *userpass, const char **why);
int srv_users_load(struct srv_cfg *cfg, const char *path);
/* The configured user matching name and password, or NULL.  The time it
 * takes does not depend on where or whether the strings differ. */
const struct srv_user *srv_users_check(const struct srv_cfg *cfg,
    const char *name, const char *pass);
/* The configured user called name (SOCKS4 user ids), or NULL. */
const struct srv_user *srv_users_find(const struct srv_cfg *cfg, const char *name);
void srv_users_free(struct srv_cfg *cfg);

/* acl.c */
union srv_sa;
struct srv_listener;
int srv_acl_add(struct addr_cidr **list, size_t *n, const char *text, const char **why);
bool srv_acl_client_ok(const struct srv_cfg *cfg, const struct sockaddr *sa);
/* The address a connect() or sendto() to sa reaches, in the one form the
 * rules compare: IPv4-mapped and IPv4-compatible IPv6 become IPv4,
 * 0.0.0.0/8 becomes 127.0.0.1 and :: becomes ::1 (where Linux sends
 * them).  The port is kept; anything but IPv4 and IPv6 gives AF_UNSPEC.
 * Every destination rule goes through it. */
void srv_acl_canon(union srv_sa *out, const struct sockaddr *sa);
/* False when sa, canonical, is in a --deny-dest range. */
bool srv_acl_dest_ok(const struct srv_cfg *cfg, const struct sockaddr *sa);
/* True when a connect to sa would reach one of the listeners ls: same
 * port, and the same address, or for a listener on 0.0.0.0 or :: any
 * address of this host in its family. */
bool srv_acl_is_listener(const struct srv_listener *ls, size_t nls,
    const struct sockaddr *sa);
/* 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104, as given (0.0.0.0 is not). */
bool srv_acl_is_loopback(const struct sockaddr *sa);
/* Same IP address (ports ignored; IPv4-mapped IPv6 equals IPv4). */
bool srv_sa_same_ip(const struct sockaddr *a, const struct sockaddr *b);
/* An IPv4 or IPv6 address of all zeros (names are never zero). */
bool srv_wire_is_zero(const struct wire_addr *w);

/* rules.c: the users, --allow and --deny-dest in force (a srv_cfg whose
 * other fields are the start-up ones), counted by who holds them.
 * srv_rules_get takes the set in force, srv_rules_ref one more hold on a
 * set, srv_rules_put lets go (the last frees it).  srv_rules_refresh
 * swaps *held for the set in force when it changed since *gen.
 * srv_rules_replace puts fresh's users and rules in force (taking its
 * arrays) for whoever takes the rules next. */
int srv_rules_init(const struct srv_cfg *cfg);
const struct srv_cfg *srv_rules_get(void);
const struct srv_cfg *srv_rules_ref(const struct srv_cfg *c);
void srv_rules_put(const struct srv_cfg *c);
void srv_rules_refresh(const struct srv_cfg **held, unsigned *gen);
int srv_rules_replace(struct srv_cfg *fresh);
void srv_rules_fini(void);

/* conf.c: a config file as an argument vector ("socksifyd", "--key",
 * "value", ...) for getopt_long with opts, and the line of each element;
 * keys in refused (NULL-terminated) are not allowed.  -1 with the reason
 * logged as "file:line: ..." when the file cannot be read or a line is
 * wrong. */
struct option;
struct srv_conf_args {
	int argc;
	char **argv;
	unsigned *line;
};
int srv_conf_read(const char *path, const struct option *opts, const char *const *refused,
    struct srv_conf_args *a);
void srv_conf_free(struct srv_conf_args *a);

/* external.c: --external ADDR (an IP literal, -1 if not one); the
 * address of a family to leave from (in turn when there are several, NULL
 * when none); and binding an outgoing socket to it before connect or
 * sendto: 0 when done or when no --external was given, -1 with errno
 * (ENETUNREACH when none has the family: going out from another address
 * would dodge the choice). */
int srv_external_add(struct srv_cfg *cfg, const char *text);
const union srv_sa *srv_external_pick(int family);
int srv_external_bind(int fd, int family, bool stream);
/* True when connections of family may leave: no --external was given, or
 * one of that family was. */
bool srv_external_has(int family);

/* privs.c: become user name (its uid and gid, no other group) for good;
 * -1, with the reason logged, when that cannot be done. */
int srv_drop_privileges(const char *name);

/* ---- log.c ---- */

/* -1: quiet (-q), 0: session lines, 1: debug (-v). */
extern int srv_verbosity;

void srv_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void srv_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void srv_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* From here on lines are queued and written by a thread of their own:
 * nothing that logs waits on stderr.  -1 with errno when it cannot. */
int srv_log_start(void);
/* Writes out what is queued (waiting at most 2 s for a blocked stderr). */
void srv_log_stop(void);
#define SRV_DEBUG(...) do { if (srv_verbosity > 0) srv_debug(__VA_ARGS__); } while (0)

/* ---- loop.c: epoll and fixed-duration timer lists ---- */

struct srv_ev {
	void (*fn)(struct srv_ev *ev, uint32_t events);
};

struct srv_tnode {
	struct srv_tnode *prev, *next;
	uint64_t deadline;
};

/* All timers of one list share one duration, so appending keeps the list
 * sorted by deadline and the head is always the next to expire. */
struct srv_tlist {
	struct srv_tnode head;
	uint64_t dur_ms;
	void (*expire)(struct srv_tnode *n);
};

struct srv_loop {
	int epfd;
	uint64_t now;                /* CLOCK_MONOTONIC in ms, per wake-up */
	struct srv_tlist *tl[8];
	int ntl;
	bool stop;
	bool busy;                   /* work left over: poll without sleeping */
	void (*after)(void *arg);    /* runs after every batch of events */
	void *after_arg;
};

int srv_loop_init(struct srv_loop *l);
void srv_loop_fini(struct srv_loop *l);
int srv_loop_add(struct srv_loop *l, int fd, uint32_t events, struct srv_ev *ev);
int srv_loop_mod(struct srv_loop *l, int fd, uint32_t events, struct srv_ev *ev);
/* One turn: the timers that are due, then one batch of events, waited
 * for at most max_wait ms (-1: as long as the timers allow).  -1 when
 * epoll_wait failed for good (said why). */
int srv_loop_turn(struct srv_loop *l, int max_wait);
/* Turns until l->stop or an epoll failure. */
void srv_loop_run(struct srv_loop *l);
/* clock.c: CLOCK_MONOTONIC in ms. */
uint64_t srv_clock_ms(void);

void srv_tlist_init(struct srv_loop *l, struct srv_tlist *tl, uint64_t dur_ms,
    void (*expire)(struct srv_tnode *n));
void srv_timer_arm(struct srv_tlist *tl, struct srv_tnode *n, uint64_t now);
/* Deadline now + the list's duration; _at takes an earlier one. */
void srv_timer_arm_at(struct srv_tlist *tl, struct srv_tnode *n, uint64_t deadline);
void srv_timer_disarm(struct srv_tnode *n);
static inline bool srv_timer_armed(const struct srv_tnode *n) { return n->next != NULL; }

/* ---- resolve.c: getaddrinfo on worker threads, and its cache ---- */

union srv_sa {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/* The addresses of a name, in the resolver's order, each with the port
 * asked for.  One allocation (free()). */
struct srv_addrs {
	unsigned n;
	union srv_sa a[];
};

struct srv_rjob;
typedef void (*srv_rjob_done)(struct srv_rjob *j);

struct srv_rjob {
	struct srv_rjob *next;
	srv_rjob_done done;          /* owner's worker, only while owner != NULL */
	void *owner;                 /* NULL: cancelled, result is dropped */
	struct srv_worker *w;        /* whose loop gets the result */
	int err;                     /* getaddrinfo's code, 0 on success */
	uint64_t expire;             /* the answer holds until then (ms); 0: only now */
	struct srv_addrs *addrs;     /* on success: at least one address */
	union srv_sa client;         /* who asked: its share of the resolver */
	uint16_t port;
	char name[WIRE_NAME_MAX + 1];
};

struct srv_worker;
struct srv_rjob *srv_rjob_new(void);
void srv_rjob_free(struct srv_rjob *j);
/* Starts the threads; the cache is sized and timed from srv_g.cfg. */
int srv_resolve_init(unsigned threads, unsigned max_queue);
/* Looks j->name up for this thread's worker.  1: answered at once (a
 * numeric name or the cache; j->err, j->addrs and j->expire are set and
 * done is not called), 0: queued (done is called later on this thread,
 * with the same fields set), -1 with errno EAGAIN when the queue is full
 * or j->client has its share of it.  j->expire is when the answer stops
 * holding: what the cache would keep it for (--dns-ttl for addresses,
 * --dns-negative-ttl for "no such name"), 0 for an answer it would not
 * keep. */
int srv_resolve_submit(struct srv_rjob *j);
/* No lookup queued, running, or answered and not yet delivered to w: what
 * a test that steps the loop waits for. */
bool srv_resolve_idle(const struct srv_worker *w);
/* The owner is going away: j will be freed without calling done. */
void srv_resolve_cancel(struct srv_rjob *j);
/* The worker's wake eventfd fired: answers its finished lookups. */
void srv_resolve_deliver(struct srv_worker *w);
void srv_resolve_fini(void);

/* ---- sessions ---- */

enum srv_state {
	SRV_ST_GREET,        /* nothing decoded yet */
	SRV_ST_S5_METHODS,
	SRV_ST_S5_AUTH,
	SRV_ST_AUTH_WAIT,    /* a failed login waits out its delay */
	SRV_ST_S5_REQ,
	SRV_ST_S4_REQ,
	SRV_ST_RESOLVE,
	SRV_ST_CONNECT,
	SRV_ST_BIND_WAIT,
	SRV_ST_UDP,
	SRV_ST_RELAY,
	SRV_ST_CLOSING,      /* a failure reply is being written */
	SRV_ST_DEAD,
};

enum srv_proto { SRV_P_NONE, SRV_P_SOCKS4, SRV_P_SOCKS4A, SRV_P_SOCKS5 };
enum srv_cmd { SRV_CMD_NONE, SRV_CMD_CONNECT, SRV_CMD_BIND, SRV_CMD_UDP };

enum srv_result {
	SRV_R_OK,
	SRV_R_REFUSED,
	SRV_R_UNREACHABLE,
	SRV_R_NOT_ALLOWED,
	SRV_R_LOOP,          /* the destination is one of our own listeners */
	SRV_R_AUTH_FAILED,
	SRV_R_AUTH_REQUIRED, /* SOCKS4 while users are configured */
	SRV_R_BAD_COMMAND,
	SRV_R_BAD_ATYP,
	SRV_R_BAD_VERSION,
	SRV_R_MALFORMED,
	SRV_R_TIMEOUT,
	SRV_R_CLOSED,        /* the client left between negotiation messages */
	SRV_R_AUTH_BANNED,   /* too many failed logins from the address */
	SRV_R_CLIENT_LIMIT,  /* the address holds as many as it may */
	SRV_R_RESOLVER_BUSY, /* the client has its share of the resolver */
	SRV_R_ERROR,
};

/* One relay direction: held bytes live either in a pipe (splice mode) or in
 * pend (a heap copy of what the destination did not take, or the early
 * bytes left in the handshake buffer). */
struct srv_dir {
	int pipe[2];
	uint32_t pipe_len;
	uint32_t pend_off, pend_len;
	uint8_t *pend;
	bool pend_heap;
	bool eof;            /* source said EOF */
	bool done;           /* EOF passed on */
	bool no_splice;      /* pipe creation failed once: stay with buffers */
};

struct srv_bind;
struct srv_udp;
struct srv_lim;
struct srv_race;

/* Room for the largest single handshake message (a SOCKS4a request with a
 * 255-byte user id and a 255-byte name, or an RFC 1929 request). */
#define SRV_IN_CAP 528

#define SRV_SCRATCH 65536

struct srv_session {
	struct srv_session *prev, *next;     /* all live sessions */
	struct srv_session *dnext;           /* dead or again list */
	struct srv_ev ev[2];                 /* [0] client, [1] target */
	int fd[2];
	bool rd[2], wr[2];                   /* edge-triggered readiness */
	bool hup[2];                         /* peer shut down its side */
	uint8_t state, proto, cmd, result;
	bool on_again;
	bool hold_choice;                    /* method choice waits for the reply */
	uint8_t out_len;
	uint16_t in_len;
	struct srv_tnode timer;
	struct srv_tlist *tlist;
	uint64_t start_ms, last_ms;
	uint64_t bytes[2];                   /* [0] up, [1] down */
	const struct srv_user *user;         /* in rules */
	const struct srv_cfg *rules;         /* held: users and rules it began with */
	struct srv_lim *lim;                 /* its address's counts, or NULL */
	uint8_t lim_held;                    /* SRV_LIM_* taken from them */
	union srv_sa peer;
	struct wire_addr target;
	struct srv_dir dir[2];
	struct srv_rjob *job;
	struct srv_race *race;               /* only while connecting */
	struct srv_bind *bind;
	struct srv_udp *udp;
	uint8_t out[32];
	uint8_t in[SRV_IN_CAP];
};

struct srv_listener {
	int fd;
	struct srv_ev ev;
	union srv_sa addr;
};

/* One event-loop thread.  A session lives and dies in the worker that
 * accepted it, so nothing in here is shared: only the resolver touches
 * rdone (under its lock) and wakefd (to wake the loop). */
struct srv_worker {
	struct srv_loop loop;
	struct srv_listener *ls;     /* one per -l address (SO_REUSEPORT) */
	size_t nls;
	bool paused;
	struct srv_tlist t_nego, t_idle, t_half, t_pause, t_auth, t_race;
	/* The users and rules this loop checks against: the newest set, taken
	 * between batches of events (rules.c). */
	const struct srv_cfg *rules;
	unsigned rules_gen;
	struct srv_tnode pause_node;
	struct srv_session *all;
	struct srv_session *dead;
	struct srv_session *again;
	size_t nsess;
	size_t nsess_high;           /* most sessions at once since the last trim */
	int wakefd;                  /* eventfd: resolver results, stop */
	struct srv_ev wakeev;
	struct srv_rjob *rdone;      /* finished lookups, newest first */
	struct srv_race *race_dead;  /* freed after the batch of events */
	pthread_t th;
	bool started;
	/* A scratch buffer: every user finishes with it before returning to
	 * the loop. */
	uint8_t scratch[SRV_SCRATCH + 512];
};

struct srv {
	struct srv_cfg cfg;
	struct srv_worker **w;
	unsigned nw;
	atomic_size_t nsess;         /* counted only when max_conns is set */
	atomic_bool stop;
	int sigfd;
	struct srv_ev sigev;
};

extern struct srv srv_g;
/* The worker running on this thread. */
extern __thread struct srv_worker *srv_w;

/* worker.c */
/* The socket address of a -l address (a name is looked up); -1 after
 * saying why. */
int srv_listen_sockaddr(const struct wire_addr *w, struct sockaddr_storage *ss,
    socklen_t *len);
/* Makes n workers; the calling thread becomes worker 0. */
int srv_workers_init(unsigned n);
/* Listens on every -l address in every worker. */
int srv_workers_listen(void);
/* Starts the threads of workers 1..n-1 (worker 0 runs on the caller). */
int srv_workers_start(void);
/* Asks every worker to stop (any thread). */
void srv_workers_stop(void);
/* Every loop runs one turn (and so takes the newest rules). */
void srv_workers_wake(void);
/* Stops and joins the workers; their sessions end.  Main thread only. */
void srv_workers_join(void);
void srv_workers_free(void);

/* accept.c */
void srv_accept_event(struct srv_ev *ev, uint32_t events);
void srv_listeners_resume(struct srv_tnode *n);

/* session.c */
/* A session for an accepted client (fd non-blocking), owning lim (from
 * srv_limits_admit) once made; -1 if none could be made (the caller
 * closes fd and drops lim). */
int srv_session_new(int fd, const union srv_sa *peer, struct srv_lim *lim);
void srv_session_end(struct srv_session *s, enum srv_result r);
void srv_sessions_after(void *arg);
void srv_sessions_stop_all(void);
void srv_nego_expired(struct srv_tnode *n);
/* t_idle and t_half: the session moved no byte for its list's time. */
void srv_idle_expired(struct srv_tnode *n);
/* Queues the reply to a request: code is a SOCKS5 reply code (SOCKS4
 * sessions turn it into granted or rejected); bnd is the bound address
 * (NULL: zeros). Returns -1 if the session ended. */
int srv_reply(struct srv_session *s, uint8_t code, const struct sockaddr *bnd);
/* Sends the failure reply for err and ends the session. */
void srv_fail(struct srv_session *s, uint8_t code, enum srv_result r);
enum srv_result srv_result_from_errno(int err);
int srv_flush_out(struct srv_session *s);
/* Arms the limit on silence for a served session: the idle time, or the
 * half-close time once a direction has ended, whichever is shorter. */
void srv_arm_idle(struct srv_session *s);
void srv_ready_again(struct srv_session *s);
void srv_out_queue(struct srv_session *s, const uint8_t *buf, size_t len);
/* Ends the session (with r) once what is queued has gone out. */
void srv_close_after_flush(struct srv_session *s, enum srv_result r);

/* negotiate.c */
/* Reads and decodes handshake messages as far as they go. */
void srv_nego_run(struct srv_session *s);
/* While the target is being reached: early client bytes are kept. */
void srv_nego_hold(struct srv_session *s);

/* connect.c */
void srv_connect_start(struct srv_session *s);
/* Closes the attempts still pending; their memory goes after the batch. */
void srv_connect_cancel(struct srv_session *s);
/* After a batch of events: frees what srv_connect_cancel left. */
void srv_connect_after(void);
void srv_race_expired(struct srv_tnode *n);

/* relay.c: s->fd[0] and s->fd[1] both open and registered. */
void srv_relay_start(struct srv_session *s);
void srv_relay_pump(struct srv_session *s);
void srv_relay_free(struct srv_session *s);

/* bind.c */
/* _close releases fds when the session ends; _free the memory after the
 * batch of events (which may still point into it). */
void srv_bind_start(struct srv_session *s);
/* Client events while the peer is awaited: early bytes are kept; a client
 * that has closed its connection wants no peer any more, and the session
 * (listening socket included) ends at once. */
void srv_bind_hold(struct srv_session *s);
void srv_bind_close(struct srv_session *s);
void srv_bind_free(struct srv_session *s);

/* udp.c */
void srv_udp_start(struct srv_session *s);
void srv_udp_client_event(struct srv_session *s);
void srv_udp_again(struct srv_session *s);
void srv_udp_close(struct srv_session *s);
void srv_udp_free(struct srv_session *s);
/* Sends a payload to dst (an IPv4 or IPv6 address with its port) from the
 * association's outgoing socket of dst's family, made when first needed
 * and bound to an --external address of that family; a datagram the rules
 * refuse or that cannot be sent is dropped and counted. */
void srv_udp_send_out(struct srv_udp *u, const union srv_sa *dst, const uint8_t *p,
    size_t len);
/* For the session line, once srv_udp_close ran: names the association
 * asked the resolver for, and client datagrams it did not send on. */
void srv_udp_stats(const struct srv_session *s, unsigned long *lookups,
    unsigned long *dropped);

/* udp_names.c: datagrams to names, for one association: a cache of the
 * last few answers, kept as long as the resolver says they hold, and a
 * few lookups at once in client's share of the resolver, with a bounded
 * queue of the datagrams waiting for them (beyond it they are dropped and
 * counted).  Nothing waits in the event loop. */
struct srv_udp_names;
/* NULL when out of memory; client is the address whose share of the
 * resolver the lookups take. */
struct srv_udp_names *srv_udp_names_new(struct srv_udp *u, const union srv_sa *client);
/* Sends, holds or drops a payload for a name destination (a->type is
 * WIRE_ATYP_NAME). */
void srv_udp_names_send(struct srv_udp_names *n, const struct wire_addr *a,
    const uint8_t *p, size_t len);
/* The association ends: cancels its lookups, drops what waits for them,
 * adds its counts to *lookups and *dropped (the datagrams that were
 * waiting included) and frees n. */
void srv_udp_names_end(struct srv_udp_names *n, unsigned long *lookups,
    unsigned long *dropped);

/* limits.c: brakes on hostile clients, counted per client address
 * (IPv4 address or IPv6 /64) in one fixed table shared by every loop. */
enum { SRV_LIM_BIND = 1, SRV_LIM_UDP = 2 };
int srv_limits_init(void);
void srv_limits_fini(void);
/* A new client: SRV_R_OK with a session slot of its address in *lim (NULL
 * when nothing is counted), or the result to log as it is turned away
 * (SRV_R_AUTH_BANNED, SRV_R_CLIENT_LIMIT). */
enum srv_result srv_limits_admit(const union srv_sa *peer, struct srv_lim **lim);
/* Gives back the slot of a client that got no session after all. */
void srv_limits_drop(struct srv_lim *lim);
/* Takes one of what (SRV_LIM_BIND, SRV_LIM_UDP) for the session's
 * address: 0, or -1 when the address holds as many as it may. */
int srv_limits_take(struct srv_session *s, unsigned what);
void srv_limits_give(struct srv_session *s, unsigned what);
/* The session ends: everything it holds goes back. */
void srv_limits_release(struct srv_session *s);
/* Before credentials are checked: 0, or -1 when the address is banned
 * (the check is not made).  A check counts as a failure until
 * srv_limits_auth_ok says it was not one. */
int srv_limits_auth_try(struct srv_session *s);
void srv_limits_auth_ok(struct srv_session *s);
/* The credentials were wrong: the failure reply goes out after the
 * delay, then the session ends. */
void srv_limits_auth_failed(struct srv_session *s);
void srv_limits_auth_expired(struct srv_tnode *n);

/* log.c */
void srv_log_session(const struct srv_session *s, uint64_t now);
const char *srv_result_word(enum srv_result r);

#endif
