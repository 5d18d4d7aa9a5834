/* notify.c: the supervisor's answers to the program's system calls.
 *
 * Every call that can send to an address is answered here, and never by
 * letting the kernel run it on the program's memory after a decision was
 * made on that memory (another thread could change it in between):
 *
 *   - connect() on an IPv4/IPv6 socket: the address is read once into our
 *     memory, the notification is checked to be still alive, and then
 *     either the chain is built on the program's socket (taken with
 *     pidfd_getfd) with the library's engine, or the supervisor connects
 *     the socket itself to what it read (direct rules; a name server's
 *     port 53, which goes to our own responder instead), or the call
 *     fails (deny rules, UDP through the chain, a forgotten stand-in).
 *     The answer is 0 or -errno; a non-blocking socket ends connected or
 *     failed too (never EINPROGRESS after the chain).
 *   - sendto() with an address, sendmsg(), sendmmsg() on IPv4/IPv6
 *     datagram sockets: the data and the address are copied, and the
 *     supervisor sends them itself when the destination is direct (or
 *     the socket's connected peer); a destination the rules send through
 *     the chain is refused with EACCES, since UDP does not go through it
 *     from here.
 *   - The same calls on stream sockets without MSG_FASTOPEN, and on
 *     sockets of other families (AF_UNIX, netlink): the kernel ignores or
 *     cannot use an IPv4/IPv6 address there, so whatever the memory holds
 *     when it reads it, nothing goes out directly; the call continues
 *     (SECCOMP_USER_NOTIF_FLAG_CONTINUE).  TCP Fast Open is refused
 *     (EOPNOTSUPP).
 *
 * getpeername() on a socket connected through the chain answers the
 * address the program connected to (the stand-in, for a name), as the
 * library does; on any other socket the call continues.
 *
 * Every decision is made on the receiving thread; only what may wait (a
 * chain, a blocking direct connect) goes to a pool of workers, so that
 * hundreds of connects at once do not queue behind each other.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <linux/seccomp.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dnsmap.h"
#include "lib.h"
#include "supervise.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
/* Workers for the calls that may wait: made on demand, up to this many
 * (beyond, calls queue for the next free one); an idle one leaves after
 * SUP_IDLE_SECS. */
#define SUP_MAX_THREADS 512
#define SUP_IDLE_SECS 10
/* The largest datagram and control data copied for a send. */
#define SUP_DGRAM_MAX 65536
#define SUP_CTRL_MAX 4096
#define SUP_IOV_MAX 1024
/* sendmmsg: messages handled per call (the program sends the rest again). */
#define SUP_MMSG_MAX 64

/* The sockets connected through the chain, by inode, for getpeername:
 * a fixed table where a newer socket takes the slot of an older one (the
 * older then reports its first hop, as it would without the table). */
#define SUP_PEER_SLOTS 4096

struct peer {
	ino_t ino;
	socklen_t len;
	struct sockaddr_storage sa;
};
static struct peer peers[SUP_PEER_SLOTS];
static pthread_mutex_t peer_lock = PTHREAD_MUTEX_INITIALIZER;

static void
peer_set(ino_t ino, const struct sockaddr_storage *sa, socklen_t len)
{
	struct peer *p = &peers[ino % SUP_PEER_SLOTS];

	pthread_mutex_lock(&peer_lock);
	if (sa != NULL) {
		p->ino = ino;
		p->len = len;
		memcpy(&p->sa, sa, sizeof(p->sa));
	} else if (p->ino == ino) {
		p->ino = 0;
	}
	pthread_mutex_unlock(&peer_lock);
}

static bool
peer_get(ino_t ino, struct sockaddr_storage *sa, socklen_t *len)
{
	struct peer *p = &peers[ino % SUP_PEER_SLOTS];
	bool found;

	pthread_mutex_lock(&peer_lock);
	found = ino != 0 && p->ino == ino;
	if (found) {
		memcpy(sa, &p->sa, sizeof(*sa));
		*len = p->len;
	}
	pthread_mutex_unlock(&peer_lock);
	return found;
}

static ino_t
ino_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

struct job {
	struct sup_ctx *ctx;
	uint64_t id;
	pid_t pid;
	int nr;
	uint64_t args[6];
};


static void
answer(const struct job *j, long val, int err, bool cont)
{
	struct seccomp_notif_resp r;

	memset(&r, 0, sizeof(r));
	r.id = j->id;
	if (cont) {
		r.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	} else if (err != 0) {
		r.error = -err;
	} else {
		r.val = val;
	}
	/* ENOENT: the caller is gone, or a signal took it away. */
	(void)ioctl(j->ctx->notify_fd, SECCOMP_IOCTL_NOTIF_SEND, &r);
}

/* True while the notification still stands: its process did not die
 * and its pid was not reused, so what was read was the caller's. */
static bool
still_valid(const struct job *j)
{
	uint64_t id = j->id;

	return ioctl(j->ctx->notify_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/* The caller's fd in our fd table (same open file), or -1 with errno. */
static int
take_fd(const struct job *j, int fd)
{
	int pfd, out, e;

	pfd = (int)syscall(SYS_pidfd_open, j->pid, PIDFD_THREAD);
	if (pfd < 0 && errno == EINVAL)
		pfd = (int)syscall(SYS_pidfd_open, j->pid, 0);
	if (pfd < 0)
		return -1;
	out = (int)syscall(SYS_pidfd_getfd, pfd, fd, 0);
	e = errno;
	close(pfd);
	if (out >= 0)
		(void)fcntl(out, F_SETFD, FD_CLOEXEC);
	errno = e;
	return out;
}

static int
read_mem(const struct job *j, uint64_t addr, void *buf, size_t len)
{
	struct iovec l = { .iov_base = buf, .iov_len = len };
	struct iovec r = { .iov_base = (void *)(uintptr_t)addr, .iov_len = len };

	if (len == 0)
		return 0;
	if (process_vm_readv(j->pid, &l, 1, &r, 1, 0) != (ssize_t)len) {
		errno = EFAULT;
		return -1;
	}
	return 0;
}

static int
write_mem(const struct job *j, uint64_t addr, const void *buf, size_t len)
{
	struct iovec l = { .iov_base = (void *)buf, .iov_len = len };
	struct iovec r = { .iov_base = (void *)(uintptr_t)addr, .iov_len = len };

	if (process_vm_writev(j->pid, &l, 1, &r, 1, 0) != (ssize_t)len) {
		errno = EFAULT;
		return -1;
	}
	return 0;
}

static void __attribute__((noinline))
log_refused(enum cfg_log level, const struct job *j, const char *what,
    const struct sockaddr *sa, const char *why)
{
	char dname[ADDR_STRLEN];

	log_msg(level, "%s %s %s (supervised pid %d)", what,
	    addr_format_sa(dname, sizeof(dname), sa), why, (int)j->pid);
}

static bool
full_inet(const struct sockaddr_storage *ss, socklen_t len)
{
	return (ss->ss_family == AF_INET && len >= sizeof(struct sockaddr_in)) ||
	    (ss->ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6));
}

static uint16_t
port_of(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port :
	    ((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* Our responder's address in the socket's family (v4-mapped for an IPv6
 * socket). */
static socklen_t
responder(const struct sockaddr_in *r, int family, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (family == AF_INET) {
		memcpy(out, r, sizeof(*r));
		return sizeof(*r);
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = r->sin_port;
	s6->sin6_addr.s6_addr[10] = s6->sin6_addr.s6_addr[11] = 0xff;
	memcpy(&s6->sin6_addr.s6_addr[12], &r->sin_addr, 4);
	return sizeof(*s6);
}

/* connect() through the chain, on our copy of the program's socket. */
static int
via_chain(const struct job *j, int fd, int family, struct dest *d)
{
	const struct cfg *cfg = j->ctx->cfg;
	char dname[ADDR_STRLEN], what[ADDR_STRLEN + 48], via[CFG_MAX_PROXIES * 24];
	struct sfy_fail f;
	struct chain *c;
	int e = 0;

	addr_format(dname, sizeof(dname), &d->wire);
	c = chain_new(cfg, fd, family, HS_CMD_CONNECT, &d->wire, &f);
	if (c == NULL || chain_run(c) != 0) {
		const struct sfy_fail *ff = c != NULL ? chain_failure(c) : &f;

		e = ff->err != 0 ? ff->err : ECONNREFUSED;
		snprintf(what, sizeof(what), "connect %s (supervised pid %d)", dname,
		    (int)j->pid);
		log_failure(cfg, what, ff);
	} else if (chain_swapped(c)) {
		/* The program's socket cannot reach the first hop (an IPv4
		 * socket, an IPv6-only hop): the library swaps in a socket of
		 * the other family, which the supervisor does not do, since
		 * the program's event loop may hold the old one already. */
		e = EAFNOSUPPORT;
		log_msg(CFG_LOG_ERROR, "connect %s (supervised pid %d): the first hop cannot "
		    "be reached from an IPv%c socket", dname, (int)j->pid,
		    family == AF_INET ? '4' : '6');
	} else if (log_enabled(CFG_LOG_INFO)) {
		chain_describe(c, via, sizeof(via));
		log_msg(CFG_LOG_INFO, "connect %s via %s ok (supervised pid %d)", dname, via,
		    (int)j->pid);
	}
	chain_free(c);
	return e;
}

/* Our own connect of the program's socket: 0 or the errno. */
static int
connect_copy(int fd, const struct sockaddr_storage *ss, socklen_t len)
{
	int rc;

	do
		rc = connect(fd, (const struct sockaddr *)ss, len);
	while (rc != 0 && errno == EINTR);
	return rc == 0 ? 0 : errno;
}

/* What a connect needs once it is decided (the part that may wait). */
struct slow {
	struct slow *next;          /* in the workers' queue */
	struct job j;
	int fd, domain;
	bool chain;                 /* else a direct connect to ss */
	socklen_t len;
	struct sockaddr_storage ss;
	struct dest d;
};

/* The part of a connect that may wait: the chain, or a direct connect of
 * a blocking socket.  Answers, and lets go of s's fd and pin. */
static void
connect_slow(struct slow *s)
{
	int e;

	if (s->chain) {
		e = via_chain(&s->j, s->fd, s->domain, &s->d);
		if (e == 0)
			peer_set(ino_of(s->fd), &s->ss, s->len);
	} else
		e = connect_copy(s->fd, &s->ss, s->len);
	dest_release(&s->d);
	close(s->fd);
	answer(&s->j, 0, e, false);
}

/* Decides a connect on the receiving thread: everything that cannot wait
 * is answered here; true when s was filled for connect_slow. */
static bool
connect_decide(const struct job *j, struct slow *s)
{
	struct sockaddr_storage r;
	socklen_t len = (socklen_t)j->args[2], l = sizeof(int);
	int fd, domain = 0, type = 0, e = 0, fl;
	enum dest_verdict v;

	fd = take_fd(j, (int)j->args[0]);
	if (fd < 0) {
		answer(j, 0, errno, false);
		return false;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l) != 0 ||
	    (domain != AF_INET && domain != AF_INET6)) {
		/* Not a socket, or not one that reaches the network by
		 * address: the kernel does what it does with it. */
		close(fd);
		answer(j, 0, 0, true);
		return false;
	}
	l = sizeof(type);
	(void)getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l);
	memset(&s->ss, 0, sizeof(s->ss));
	s->d.pin = NULL;
	if (len > sizeof(s->ss)) {
		e = EINVAL;
		goto out;
	}
	if (read_mem(j, j->args[1], &s->ss, len) != 0) {
		e = EFAULT;
		goto out;
	}
	if (!still_valid(j)) {
		close(fd);
		return false;
	}
	if (!full_inet(&s->ss, len)) {
		/* AF_UNSPEC (dissolve), or what the kernel refuses. */
		e = connect_copy(fd, &s->ss, len);
		goto out;
	}
	if (j->ctx->dns_remote && port_of(&s->ss) == 53 &&
	    !dns_map_in_range((struct sockaddr *)&s->ss) &&
	    (type == SOCK_DGRAM || type == SOCK_STREAM)) {
		/* A name server: our responder answers instead (on
		 * loopback, a connect that does not wait). */
		socklen_t rl = responder(type == SOCK_DGRAM ? &j->ctx->dns_udp : &j->ctx->dns_tcp,
		    domain, &r);
		if (log_enabled(CFG_LOG_DEBUG))
			log_refused(CFG_LOG_DEBUG, j, "dns: connect", (struct sockaddr *)&s->ss,
			    "answered by the supervisor");
		e = connect_copy(fd, &r, rl);
		goto out;
	}
	peer_set(ino_of(fd), NULL, 0);
	v = dest_classify(&s->d, j->ctx->cfg, (struct sockaddr *)&s->ss);
	switch (v) {
	case DEST_DIRECT:
		fl = fcntl(fd, F_GETFL);
		if (type == SOCK_STREAM && fl >= 0 && !(fl & O_NONBLOCK))
			break; /* a blocking TCP connect waits: not here */
		e = connect_copy(fd, &s->ss, len);
		goto out;
	case DEST_DENY:
		log_refused(CFG_LOG_WARN, j, "connect", (struct sockaddr *)&s->ss,
		    "denied by a deny rule");
		e = EACCES;
		goto out;
	case DEST_FORGOTTEN:
		log_refused(CFG_LOG_ERROR, j, "connect", (struct sockaddr *)&s->ss,
		    "refused: a stand-in address with no name");
		e = EHOSTUNREACH;
		goto out;
	case DEST_PROXY:
		if (type != SOCK_STREAM) {
			/* Go and glibc connect a UDP socket to each address
			 * they got, to sort them: for a stand-in, routine. */
			log_refused(s->d.standin ? CFG_LOG_INFO : CFG_LOG_WARN, j, "udp connect",
			    (struct sockaddr *)&s->ss,
			    "refused: UDP from a supervised program does not go through the chain");
			e = EACCES;
			goto out;
		}
		break;
	}
	s->j = *j;
	s->fd = fd;
	s->domain = domain;
	s->len = len;
	s->chain = v == DEST_PROXY;
	return true;
out:
	dest_release(&s->d);
	close(fd);
	answer(j, 0, e, false);
	return false;
}

/* May a datagram go to ss?  0, or the errno (logged). */
static int
dgram_allowed(const struct job *j, const struct sockaddr_storage *ss, socklen_t len)
{
	struct dest d;
	enum dest_verdict v;

	if (!full_inet(ss, len))
		return 0; /* AF_UNSPEC and the like: the kernel refuses */
	if (j->ctx->dns_remote && port_of(ss) == 53 && !dns_map_in_range((const struct sockaddr *)ss)) {
		log_refused(CFG_LOG_WARN, j, "udp to", (const struct sockaddr *)ss,
		    "refused: a name server is only asked through a connected socket");
		return EACCES;
	}
	v = dest_classify(&d, j->ctx->cfg, (const struct sockaddr *)ss);
	dest_release(&d);
	if (v == DEST_DIRECT)
		return 0;
	log_refused(CFG_LOG_WARN, j, "udp to", (const struct sockaddr *)ss,
	    v == DEST_DENY ? "refused: deny rule" :
	    "refused: UDP from a supervised program does not go through the chain");
	return EACCES;
}

/* One message copied out of the program. */
struct copied {
	struct msghdr m;
	struct sockaddr_storage name;
	struct iovec iov[SUP_IOV_MAX];
	uint8_t ctrl[SUP_CTRL_MAX];
	uint8_t data[SUP_DGRAM_MAX];
};

/* Copies the message at addr: 0 or the errno. */
static int
copy_msg(const struct job *j, uint64_t addr, struct copied *c)
{
	struct msghdr m;
	size_t total = 0;
	struct iovec *rv;

	if (read_mem(j, addr, &m, sizeof(m)) != 0)
		return EFAULT;
	memset(&c->m, 0, sizeof(c->m));
	if (m.msg_name != NULL && m.msg_namelen > 0) {
		if (m.msg_namelen > sizeof(c->name))
			return EINVAL;
		memset(&c->name, 0, sizeof(c->name));
		if (read_mem(j, (uintptr_t)m.msg_name, &c->name, m.msg_namelen) != 0)
			return EFAULT;
		c->m.msg_name = &c->name;
		c->m.msg_namelen = m.msg_namelen;
	}
	if (m.msg_iovlen > SUP_IOV_MAX)
		return EMSGSIZE;
	rv = c->iov; /* the program's iovecs first, then rewritten to ours */
	if (read_mem(j, (uintptr_t)m.msg_iov, rv, m.msg_iovlen * sizeof(*rv)) != 0)
		return EFAULT;
	for (size_t i = 0; i < m.msg_iovlen; i++) {
		size_t n = rv[i].iov_len;

		if (n > SUP_DGRAM_MAX - total)
			return EMSGSIZE;
		if (read_mem(j, (uintptr_t)rv[i].iov_base, c->data + total, n) != 0)
			return EFAULT;
		total += n;
	}
	c->iov[0].iov_base = c->data;
	c->iov[0].iov_len = total;
	c->m.msg_iov = c->iov;
	c->m.msg_iovlen = 1;
	if (m.msg_control != NULL && m.msg_controllen > 0) {
		if (m.msg_controllen > sizeof(c->ctrl))
			return EINVAL;
		if (read_mem(j, (uintptr_t)m.msg_control, c->ctrl, m.msg_controllen) != 0)
			return EFAULT;
		c->m.msg_control = c->ctrl;
		c->m.msg_controllen = m.msg_controllen;
	}
	return 0;
}

/* Sends one copied message on fd after the checks: the count, or -errno. */
static long
send_copy(const struct job *j, int fd, struct copied *c, int flags)
{
	ssize_t n;
	int e;

	if (c->m.msg_name != NULL) {
		e = dgram_allowed(j, &c->name, c->m.msg_namelen);
		if (e != 0)
			return -e;
	}
	do
		n = sendmsg(fd, &c->m, flags | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* sendto, sendmsg, sendmmsg. */
static void
do_send(const struct job *j)
{
	int fd, domain = 0, type = 0, flags, e = 0;
	socklen_t l = sizeof(int);
	struct copied *c = NULL;
	long r = 0;

	fd = take_fd(j, (int)j->args[0]);
	if (fd < 0) {
		answer(j, 0, errno, false);
		return;
	}
	flags = (int)(j->nr == __NR_sendto ? j->args[3] : j->args[j->nr == __NR_sendmsg ? 2 : 3]);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l) != 0 ||
	    (domain != AF_INET && domain != AF_INET6)) {
		close(fd);
		answer(j, 0, 0, true);
		return;
	}
	l = sizeof(type);
	(void)getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l);
	if (type == SOCK_STREAM) {
		close(fd);
		if (flags & MSG_FASTOPEN) {
			log_msg(CFG_LOG_WARN, "TCP Fast Open refused (supervised pid %d): "
			    "connect first", (int)j->pid);
			answer(j, 0, EOPNOTSUPP, false);
		} else {
			/* TCP ignores the address: nothing to decide on. */
			answer(j, 0, 0, true);
		}
		return;
	}
	c = malloc(sizeof(*c));
	if (c == NULL) {
		e = ENOMEM;
		goto out;
	}
	if (j->nr == __NR_sendto) {
		socklen_t alen = (socklen_t)j->args[5];
		size_t n = (size_t)j->args[2];

		memset(&c->m, 0, sizeof(c->m));
		if (alen > sizeof(c->name)) {
			e = EINVAL;
			goto out;
		}
		if (n > SUP_DGRAM_MAX) {
			e = EMSGSIZE;
			goto out;
		}
		memset(&c->name, 0, sizeof(c->name));
		if (read_mem(j, j->args[4], &c->name, alen) != 0 ||
		    read_mem(j, j->args[1], c->data, n) != 0) {
			e = EFAULT;
			goto out;
		}
		c->iov[0].iov_base = c->data;
		c->iov[0].iov_len = n;
		c->m.msg_iov = c->iov;
		c->m.msg_iovlen = 1;
		c->m.msg_name = &c->name;
		c->m.msg_namelen = alen;
		if (!still_valid(j))
			goto gone;
		r = send_copy(j, fd, c, flags);
	} else if (j->nr == __NR_sendmsg) {
		e = copy_msg(j, j->args[1], c);
		if (e != 0)
			goto out;
		if (!still_valid(j))
			goto gone;
		r = send_copy(j, fd, c, flags);
	} else {
		unsigned vlen = (unsigned)j->args[2], i;

		if (vlen > SUP_MMSG_MAX)
			vlen = SUP_MMSG_MAX;
		for (i = 0; i < vlen; i++) {
			uint64_t at = j->args[1] + i * sizeof(struct mmsghdr);
			unsigned sent;
			long one;

			e = copy_msg(j, at, c);
			if (e == 0 && !still_valid(j))
				goto gone;
			one = e != 0 ? -e : send_copy(j, fd, c, flags);
			if (one < 0) {
				e = i == 0 ? (int)-one : 0;
				break;
			}
			sent = (unsigned)one;
			if (write_mem(j, at + offsetof(struct mmsghdr, msg_len), &sent,
			    sizeof(sent)) != 0) {
				e = i == 0 ? EFAULT : 0;
				break;
			}
		}
		r = i;
		if (e != 0)
			goto out;
	}
	if (r < 0) {
		e = (int)-r;
		r = 0;
	}
out:
	free(c);
	close(fd);
	answer(j, r, e, false);
	return;
gone:
	free(c);
	close(fd);
}

/* The workers' queue: one lock, one condition. */
static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cond = PTHREAD_COND_INITIALIZER;
static struct slow *q_head, *q_tail;
static unsigned q_len, q_idle, q_workers;

/* getpeername: the destination of a socket connected through the chain;
 * any other socket is the kernel's. */
static void
do_getpeername(const struct job *j)
{
	struct sockaddr_storage sa;
	socklen_t len, have;
	int fd = take_fd(j, (int)j->args[0]);
	bool ours;

	if (fd < 0) {
		answer(j, 0, 0, true);
		return;
	}
	ours = peer_get(ino_of(fd), &sa, &len);
	close(fd);
	if (!ours) {
		answer(j, 0, 0, true);
		return;
	}
	if (read_mem(j, j->args[2], &have, sizeof(have)) != 0) {
		answer(j, 0, EFAULT, false);
		return;
	}
	if ((int)have < 0) {
		answer(j, 0, EINVAL, false);
		return;
	}
	if (!still_valid(j))
		return;
	if (write_mem(j, j->args[1], &sa, have < len ? have : len) != 0 ||
	    write_mem(j, j->args[2], &len, sizeof(len)) != 0) {
		answer(j, 0, EFAULT, false);
		return;
	}
	answer(j, 0, 0, false);
}

static void *
worker(void *arg)
{
	struct timespec until;
	struct slow *s;

	pthread_mutex_lock(&q_lock);
	for (;;) {
		while (q_head == NULL) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += SUP_IDLE_SECS;
			q_idle++;
			int rc = pthread_cond_timedwait(&q_cond, &q_lock, &until);
			q_idle--;
			if (rc == ETIMEDOUT && q_head == NULL) {
				q_workers--;
				pthread_mutex_unlock(&q_lock);
				return NULL;
			}
		}
		s = q_head;
		q_head = s->next;
		if (q_head == NULL)
			q_tail = NULL;
		q_len--;
		pthread_mutex_unlock(&q_lock);
		connect_slow(s);
		free(s);
		pthread_mutex_lock(&q_lock);
	}
}

/* Hands s to a worker, making one when every one is busy. */
static void
submit(struct slow *s)
{
	pthread_attr_t a;
	pthread_t t;
	bool alone = false;

	pthread_mutex_lock(&q_lock);
	s->next = NULL;
	if (q_tail != NULL)
		q_tail->next = s;
	else
		q_head = s;
	q_tail = s;
	q_len++;
	if (q_len > q_idle && q_workers < SUP_MAX_THREADS) {
		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&a, 256 * 1024);
		if (pthread_create(&t, &a, worker, NULL) == 0)
			q_workers++;
		else
			alone = q_workers == 0;
		pthread_attr_destroy(&a);
	} else {
		pthread_cond_signal(&q_cond);
	}
	if (alone) {
		/* No worker and none can be made: this thread does it. */
		q_head = q_tail = NULL;
		q_len = 0;
	}
	pthread_mutex_unlock(&q_lock);
	if (alone) {
		connect_slow(s);
		free(s);
	}
}

void
sup_handle(struct sup_ctx *ctx, const struct seccomp_notif *req)
{
	struct job one;
	struct slow *s;

	one.ctx = ctx;
	one.id = req->id;
	one.pid = (pid_t)req->pid;
	one.nr = req->data.nr;
	memcpy(one.args, req->data.args, sizeof(one.args));
	if (one.nr == __NR_getpeername) {
		do_getpeername(&one);
		return;
	}
	if (one.nr != __NR_connect) {
		do_send(&one);
		return;
	}
	s = malloc(sizeof(*s));
	if (s == NULL) {
		answer(&one, 0, ENOMEM, false);
		return;
	}
	if (!connect_decide(&one, s)) {
		free(s);
		return;
	}
	submit(s);
}
