/* resquery.c: res_query, res_send and their kin, and getaddrinfo_a,
 * answered from the hosts file and the name map (remote DNS).
 *
 * An A or AAAA question of class IN is answered as getaddrinfo answers
 * the name (resolve.c): a name in the hosts file gets its addresses from
 * there, a number is its own address, any other name gets its stand-in.
 * Every other question is refused with RCODE REFUSED, which RFC 1035
 * (4.1.1) gives to a server that "refuses to perform the specified
 * operation for policy reasons": that is the case here, since no local
 * name server may be asked and a proxy answers no MX or TXT question.
 * NOTIMP is kept for opcodes other than QUERY, and FORMERR for a query
 * that cannot be read.
 *
 * A response is built in the caller's buffer: the header (the query's id,
 * QR, its opcode, RD and CD copied, RA set), the question echoed, and one
 * answer record per address, owned by a compression pointer to the
 * question name, with a TTL of DNS_TTL.  When the records do not all fit,
 * the response keeps those that do and sets TC.
 */
#include <sys/syscall.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dnsmap.h"
#include "hostsfile.h"
#include "internal.h"
#include "resolve.h"
#include "resquery.h"

/* Header flags (RFC 1035 4.1.1). */
#define DNS_QR      0x8000
#define DNS_OPCODE  0x7800
#define DNS_TC      0x0200
#define DNS_RD      0x0100
#define DNS_RA      0x0080
#define DNS_CD      0x0010
#define DNS_RCODE   0x000f

/* Short: a stand-in holds only while the process keeps its name, and a
 * hosts file change should be seen soon by a program that caches. */
#define DNS_TTL 60

/* ---- libc's own functions, for remote DNS off ----
 * Found on first use and stored atomically (as in real.c).  glibc 2.34
 * and later export res_query and keep __res_query only as a compat
 * version, which dlsym does not return; older ones export both from
 * libresolv.  Either name reaches the same function. */

static void *
real_sym(void **slot, const char *name, const char *alias)
{
	void *f = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (f == NULL) {
		f = dlsym(RTLD_NEXT, name);
		if (f == NULL && alias != NULL)
			f = dlsym(RTLD_NEXT, alias);
		if (f != NULL)
			__atomic_store_n(slot, f, __ATOMIC_RELEASE);
	}
	return f;
}

/* The way the res_query family fails: -1, with h_errno and the state's
 * copy of it set, as libc sets both. */
static int
query_fail(res_state st, int h)
{
	h_errno = h;
	if (st != NULL)
		st->res_h_errno = h;
	return -1;
}

static int
real_query(enum dns_rq_call call, res_state statp, const char *name,
    const char *domain, int cls, int type, unsigned char *answer, int anslen)
{
	static void *slots[2][3];
	static const char *const syms[2][3][2] = {
		{ { "res_query", "__res_query" }, { "res_search", "__res_search" },
		  { "res_querydomain", "__res_querydomain" } },
		{ { "res_nquery", "__res_nquery" }, { "res_nsearch", "__res_nsearch" },
		  { "res_nquerydomain", "__res_nquerydomain" } },
	};
	int n = statp != NULL;
	void *f = real_sym(&slots[n][call], syms[n][call][0], syms[n][call][1]);

	if (f == NULL) {
		errno = ENOSYS;
		return query_fail(statp, NETDB_INTERNAL);
	}
	if (call == DNS_RQ_QUERYDOMAIN && n)
		return ((__typeof__(res_nquerydomain) *)f)(statp, name, domain, cls, type,
		    answer, anslen);
	if (call == DNS_RQ_QUERYDOMAIN)
		return ((__typeof__(res_querydomain) *)f)(name, domain, cls, type, answer,
		    anslen);
	if (n)
		return ((__typeof__(res_nquery) *)f)(statp, name, cls, type, answer, anslen);
	return ((__typeof__(res_query) *)f)(name, cls, type, answer, anslen);
}

static int
real_send(res_state statp, const unsigned char *msg, int msglen,
    unsigned char *answer, int anslen)
{
	static void *slots[2];
	int n = statp != NULL;
	void *f = n ? real_sym(&slots[1], "res_nsend", "__res_nsend") :
	    real_sym(&slots[0], "res_send", "__res_send");

	if (f == NULL) {
		errno = ENOSYS;
		return -1;
	}
	if (n)
		return ((__typeof__(res_nsend) *)f)(statp, msg, msglen, answer, anslen);
	return ((__typeof__(res_send) *)f)(msg, msglen, answer, anslen);
}

static int
real_getaddrinfo_a(int mode, struct gaicb *list[], int ent, struct sigevent *sig)
{
	static void *slot;
	void *f = real_sym(&slot, "getaddrinfo_a", NULL);

	if (f == NULL) {
		errno = ENOSYS;
		return EAI_SYSTEM;
	}
	return ((__typeof__(getaddrinfo_a) *)f)(mode, list, ent, sig);
}

/* ---- names in wire form ---- */

struct dns_name {
	uint8_t b[NS_MAXCDNAME];
	size_t len;              /* bytes used; the root byte once ended */
};

struct dns_q {
	struct dns_name name;
	uint16_t type, cls;
};

/* Appends the labels of a name in text form, as res_mkquery reads it
 * ("\." and "\DDD" escapes, one trailing dot allowed, "" and "." the
 * root).  -1 for an empty or over-long label or an over-long name. */
static int
name_append(struct dns_name *w, const char *s)
{
	if (s[0] == '\0' || (s[0] == '.' && s[1] == '\0'))
		return 0;
	for (;;) {
		size_t lab = w->len, n = 0;

		/* Labels and their length bytes leave room for the root. */
		if (lab >= NS_MAXCDNAME - 1)
			return -1;
		w->len++;
		while (*s != '\0' && *s != '.') {
			unsigned c = (unsigned char)*s++;

			if (c == '\\') {
				if (s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' &&
				    s[2] >= '0' && s[2] <= '9') {
					c = (unsigned)(s[0] - '0') * 100 + (unsigned)(s[1] - '0') * 10 +
					    (unsigned)(s[2] - '0');
					s += 3;
					if (c > 255)
						return -1;
				} else if (*s != '\0') {
					c = (unsigned char)*s++;
				} else {
					return -1;
				}
			}
			if (n == NS_MAXLABEL || w->len >= NS_MAXCDNAME - 1)
				return -1;
			w->b[w->len++] = (uint8_t)c;
			n++;
		}
		if (n == 0)
			return -1;
		w->b[lab] = (uint8_t)n;
		if (*s == '\0' || *++s == '\0')
			return 0;
	}
}

static void
name_end(struct dns_name *w)
{
	w->b[w->len++] = 0;
}

/* Reads the uncompressed name at *off of a query.  A question is the
 * first thing after the header, so a compression pointer there can only
 * point into the header: malformed. */
static int
name_read(const uint8_t *msg, size_t len, size_t *off, struct dns_name *w)
{
	size_t p = *off;

	w->len = 0;
	for (;;) {
		uint8_t n;

		if (p >= len)
			return -1;
		n = msg[p++];
		if (n == 0)
			break;
		if (n > NS_MAXLABEL || len - p < n || w->len + 1 + n > NS_MAXCDNAME - 1)
			return -1;
		w->b[w->len++] = n;
		memcpy(w->b + w->len, msg + p, n);
		w->len += n;
		p += n;
	}
	name_end(w);
	*off = p;
	return 0;
}

/* The host name a wire name spells, labels joined by dots, as
 * getaddrinfo takes it.  False for the root and for a label with a dot,
 * a backslash, a space or a control byte: no host name spells it, and it
 * could not be handed to a proxy either. */
static bool
name_host(const struct dns_name *w, char *out, size_t cap)
{
	size_t p = 0, o = 0;

	while (w->b[p] != 0) {
		uint8_t n = w->b[p++];

		if (o + n + 1 > cap)
			return false;
		if (o > 0)
			out[o++] = '.';
		for (uint8_t i = 0; i < n; i++, p++) {
			uint8_t c = w->b[p];
			if (c <= ' ' || c >= 0x7f || c == '.' || c == '\\')
				return false;
			out[o++] = (char)c;
		}
	}
	if (o == 0 || o >= cap)
		return false;
	out[o] = '\0';
	return true;
}

/* ---- building a response ---- */

struct dns_reply {
	uint8_t *buf;
	size_t cap, len;
	uint16_t ancount;
	bool cut;                /* a record did not fit: TC is set */
};

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Writes the header and, when q is not NULL and it fits, the question.
 * cap is at least HFIXEDSZ.  flags are the query's. */
static void
reply_start(struct dns_reply *r, uint8_t *buf, size_t cap, uint16_t id, uint16_t flags,
    const struct dns_q *q)
{
	r->buf = buf;
	r->cap = cap;
	r->ancount = 0;
	r->cut = false;
	memset(buf, 0, HFIXEDSZ);
	put16(buf, id);
	put16(buf + 2, (uint16_t)(DNS_QR | DNS_RA | (flags & (DNS_OPCODE | DNS_RD | DNS_CD))));
	r->len = HFIXEDSZ;
	if (q == NULL)
		return;
	if (cap - HFIXEDSZ < q->name.len + QFIXEDSZ) {
		buf[2] |= DNS_TC >> 8;
		r->cut = true;
		return;
	}
	memcpy(buf + r->len, q->name.b, q->name.len);
	r->len += q->name.len;
	put16(buf + r->len, q->type);
	put16(buf + r->len + 2, q->cls);
	r->len += QFIXEDSZ;
	put16(buf + 4, 1);
}

static void
reply_rcode(struct dns_reply *r, int rcode)
{
	r->buf[3] = (uint8_t)((r->buf[3] & ~DNS_RCODE) | (rcode & DNS_RCODE));
}

/* One address record for the question (which starts at offset 12). */
static void
reply_add(struct dns_reply *r, uint16_t type, const uint8_t *rdata, uint16_t rdlen)
{
	uint8_t *p;

	if (r->cut || r->cap - r->len < 2u + RRFIXEDSZ + rdlen) {
		r->buf[2] |= DNS_TC >> 8;
		r->cut = true;
		return;
	}
	p = r->buf + r->len;
	put16(p, NS_CMPRSFLGS << 8 | HFIXEDSZ);
	put16(p + 2, type);
	put16(p + 4, ns_c_in);
	put16(p + 6, 0);
	put16(p + 8, DNS_TTL);
	put16(p + 10, rdlen);
	memcpy(p + 12, rdata, rdlen);
	r->len += 2u + RRFIXEDSZ + rdlen;
	put16(r->buf + 6, ++r->ancount);
}

/* ---- answering a question ---- */

static bool
answerable(const struct dns_q *q)
{
	return q->cls == ns_c_in && (q->type == ns_t_a || q->type == ns_t_aaaa);
}

/* Adds the answers to an A or AAAA question; returns the RCODE. */
static int
answer_addrs(struct dns_reply *r, const struct dns_q *q)
{
	char host[NS_MAXCDNAME + 1];
	struct hosts_addrs ha;
	uint8_t a[16];
	int af = q->type == ns_t_a ? AF_INET : AF_INET6;
	uint16_t alen = af == AF_INET ? 4 : 16;
	uint32_t idx;

	if (!name_host(&q->name, host, sizeof(host)))
		return ns_r_refused;
	/* A number is its own address, as getaddrinfo takes it; a number
	 * of the other family has none of this one. */
	if (inet_pton(af, host, a) == 1) {
		reply_add(r, q->type, a, alen);
		return ns_r_noerror;
	}
	if (inet_pton(af == AF_INET ? AF_INET6 : AF_INET, host, a) == 1)
		return ns_r_noerror;
	if (hosts_lookup(host, &ha)) {
		size_t n = af == AF_INET ? ha.n4 : ha.n6;

		for (size_t i = 0; i < n; i++)
			reply_add(r, q->type, af == AF_INET ? ha.v4[i] : ha.v6[i], alen);
		return ns_r_noerror;
	}
	idx = dns_map_get(host);
	if (idx == 0) {
		/* Not a name (empty, over-long), or a map full of names
		 * that sockets use, or no memory: try again later. */
		return errno == EINVAL ? ns_r_nxdomain : ns_r_servfail;
	}
	if (af == AF_INET)
		dns_map_addr4(idx, a);
	else
		dns_map_addr6(idx, a);
	reply_add(r, q->type, a, alen);
	return ns_r_noerror;
}

static int
respond(struct dns_reply *r, const struct dns_q *q)
{
	int rcode = answerable(q) ? answer_addrs(r, q) : ns_r_refused;

	reply_rcode(r, rcode);
	return rcode;
}

/* Says which question was refused, so that a user can tell why a
 * program's MX or TXT lookup failed.  Kept out of the callers' frames. */
static __attribute__((noinline)) void
log_refused(const char *call, const struct dns_q *q)
{
	char text[NS_MAXCDNAME + 1];
	size_t p = 0, o = 0;

	if (!log_enabled(CFG_LOG_INFO))
		return;
	while (q->name.b[p] != 0 && o + 2 < sizeof(text)) {
		uint8_t n = q->name.b[p++];
		for (uint8_t i = 0; i < n && o + 2 < sizeof(text); i++, p++) {
			uint8_t c = q->name.b[p];
			text[o++] = c > ' ' && c < 0x7f ? (char)c : '?';
		}
		text[o++] = '.';
	}
	if (o == 0)
		text[o++] = '.';
	text[o] = '\0';
	log_msg(CFG_LOG_INFO, "%s %s class %u type %u refused: with remote DNS only "
	    "A and AAAA questions are answered, and only here", call, text, q->cls, q->type);
}

static uint16_t
next_id(void)
{
	static uint16_t id;

	return __atomic_add_fetch(&id, 1, __ATOMIC_RELAXED);
}

int
dns_res_query(enum dns_rq_call call, res_state statp, const char *name,
    const char *domain, int cls, int type, unsigned char *answer, int anslen)
{
	static const char *const what[2][3] = {
		{ "res_query", "res_search", "res_querydomain" },
		{ "res_nquery", "res_nsearch", "res_nquerydomain" },
	};
	struct dns_q q;
	struct dns_reply r;
	res_state st;
	uint16_t flags = 0;
	int saved = errno, rcode;

	if (!dns_remote_enabled())
		return real_query(call, statp, name, domain, cls, type, answer, anslen);
	/* The forms without "n" keep their state in the thread's _res. */
	st = statp != NULL ? statp : &_res;
	if (name == NULL || answer == NULL || anslen < HFIXEDSZ) {
		errno = EINVAL;
		return query_fail(st, NETDB_INTERNAL);
	}
	/* res_search applies no search list: which of the expanded names
	 * exists only a name server could tell, and the proxy resolves the
	 * name as given, as it does for getaddrinfo.  "name" and "name."
	 * are the same question.  res_querydomain asks for name.domain. */
	q.name.len = 0;
	if (name_append(&q.name, name) != 0 ||
	    (call == DNS_RQ_QUERYDOMAIN && domain != NULL && name_append(&q.name, domain) != 0) ||
	    cls < 0 || cls > 0xffff || type < 0 || type > 0xffff) {
		/* No question can be made of it: res_mkquery's failure. */
		errno = EMSGSIZE;
		return query_fail(st, NO_RECOVERY);
	}
	name_end(&q.name);
	q.cls = (uint16_t)cls;
	q.type = (uint16_t)type;
	/* The query res_mkquery would have made asks for recursion unless
	 * the program turned RES_RECURSE off. */
	if (!(st->options & RES_INIT) || (st->options & RES_RECURSE))
		flags |= DNS_RD;
	reply_start(&r, answer, (size_t)anslen, next_id(), flags, &q);
	rcode = respond(&r, &q);
	if (rcode == ns_r_refused)
		log_refused(what[statp != NULL][call], &q);
	errno = saved;
	if (r.ancount > 0 && rcode == ns_r_noerror)
		return (int)r.len;
	/* As libc's res_query, the response stays in answer and the RCODE
	 * becomes h_errno.  A refused question is NO_RECOVERY, not NO_DATA:
	 * NO_DATA would claim the name has no such record, and a program
	 * may cache that or act on it (an MX lookup falling back to the
	 * address), where it should see that the lookup could not be made. */
	switch (rcode) {
	case ns_r_noerror:
		if (r.cut) {
			errno = EMSGSIZE;
			return query_fail(st, NETDB_INTERNAL);
		}
		return query_fail(st, NO_DATA);
	case ns_r_nxdomain:
		return query_fail(st, HOST_NOT_FOUND);
	case ns_r_servfail:
		return query_fail(st, TRY_AGAIN);
	default:
		return query_fail(st, NO_RECOVERY);
	}
}

int
dns_res_send(res_state statp, const unsigned char *msg, int msglen,
    unsigned char *answer, int anslen)
{
	struct dns_q q;
	struct dns_reply r;
	size_t off = HFIXEDSZ, len;
	uint16_t id, flags;
	int saved = errno, rcode;

	if (!dns_remote_enabled())
		return real_send(statp, msg, msglen, answer, anslen);
	if (msg == NULL || msglen < HFIXEDSZ || answer == NULL || anslen < HFIXEDSZ) {
		errno = EINVAL;
		return -1;
	}
	/* Everything is read before anything is written: answer may be
	 * msg's own buffer. */
	len = (size_t)msglen;
	id = get16(msg);
	flags = get16(msg + 2);
	if ((flags & DNS_OPCODE) != ns_o_query << 11) {
		reply_start(&r, answer, (size_t)anslen, id, flags, NULL);
		reply_rcode(&r, ns_r_notimpl);
		return (int)r.len;
	}
	if ((flags & DNS_QR) || get16(msg + 4) != 1 ||
	    name_read(msg, len, &off, &q.name) != 0 || len - off < QFIXEDSZ) {
		reply_start(&r, answer, (size_t)anslen, id, flags, NULL);
		reply_rcode(&r, ns_r_formerr);
		return (int)r.len;
	}
	q.type = get16(msg + off);
	q.cls = get16(msg + off + 2);
	reply_start(&r, answer, (size_t)anslen, id, flags, &q);
	rcode = respond(&r, &q);
	if (rcode == ns_r_refused)
		log_refused(statp != NULL ? "res_nsend" : "res_send", &q);
	errno = saved;
	return (int)r.len;
}

/* ---- getaddrinfo_a ---- */

/* A SIGEV_THREAD notification: the thread is made before any request is
 * answered, so that failing to make it leaves every request untouched,
 * and it waits on go until the last one is done. */
struct gai_note {
	sem_t go;
	void (*fn)(union sigval);
	union sigval val;
};

static void *
gai_note_run(void *arg)
{
	struct gai_note *n = arg;
	void (*fn)(union sigval);
	union sigval val;
	sigset_t none;

	while (sem_wait(&n->go) != 0 && errno == EINTR)
		;
	fn = n->fn;
	val = n->val;
	sem_destroy(&n->go);
	free(n);
	/* glibc runs the function with no signal blocked; programs
	 * written against it may count on that. */
	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &none, NULL);
	if (fn != NULL)
		fn(val);
	return NULL;
}

static struct gai_note *
gai_note_start(const struct sigevent *sig)
{
	struct gai_note *n = malloc(sizeof(*n));
	pthread_attr_t attr, *pa = sig->sigev_notify_attributes;
	pthread_t t;
	int rc;

	if (n == NULL)
		return NULL;
	n->fn = sig->sigev_notify_function;
	n->val = sig->sigev_value;
	sem_init(&n->go, 0, 0);
	if (pa == NULL) {
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pa = &attr;
	}
	rc = pthread_create(&t, pa, gai_note_run, n);
	if (pa == &attr)
		pthread_attr_destroy(&attr);
	if (rc != 0) {
		sem_destroy(&n->go);
		free(n);
		return NULL;
	}
	return n;
}

/* SIGEV_SIGNAL: queued to the process with the code and value glibc
 * gives it (SI_ASYNCNL), which sigqueue() cannot set. */
static void
gai_note_signal(const struct sigevent *sig)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	si.si_signo = sig->sigev_signo;
	si.si_code = SI_ASYNCNL;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value = sig->sigev_value;
	/* real_syscall: our own syscall() hook stands in front of libc's. */
	(void)real_syscall(SYS_rt_sigqueueinfo, si.si_pid, si.si_signo, (long)&si, 0, 0, 0);
}

int
dns_getaddrinfo_a(int mode, struct gaicb *list[], int ent, struct sigevent *sig)
{
	struct gai_note *note = NULL;
	int notify = SIGEV_NONE, saved, cancel;

	if (!dns_remote_enabled())
		return real_getaddrinfo_a(mode, list, ent, sig);
	if (mode != GAI_WAIT && mode != GAI_NOWAIT) {
		errno = EINVAL;
		return EAI_SYSTEM;
	}
	/* As glibc, GAI_WAIT notifies nobody. */
	if (mode == GAI_NOWAIT && sig != NULL)
		notify = sig->sigev_notify;
	if (notify == SIGEV_THREAD) {
		note = gai_note_start(sig);
		if (note == NULL)
			return EAI_AGAIN;   /* what glibc says when it cannot queue */
	}
	/* The notification thread waits for us: a cancelled caller would
	 * leave it waiting for ever.  glibc defers cancellation too. */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	saved = errno;
	/* Each lookup is local (hosts file, name map), so the requests are
	 * done here and now; glibc's gai_error reads __return, and its
	 * gai_suspend and gai_cancel see finished requests (EAI_ALLDONE),
	 * just as for a request its own threads finished. */
	for (int i = 0; list != NULL && i < ent; i++) {
		struct gaicb *cb = list[i];

		if (cb != NULL)
			cb->__return = dns_getaddrinfo(cb->ar_name, cb->ar_service,
			    cb->ar_request, &cb->ar_result);
	}
	if (note != NULL)
		sem_post(&note->go);
	else if (notify == SIGEV_SIGNAL)
		gai_note_signal(sig);
	pthread_setcancelstate(cancel, NULL);
	errno = saved;
	return 0;
}
