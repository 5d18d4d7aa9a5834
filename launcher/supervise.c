/* supervise.c: the seccomp backend's process side.
 *
 * socksify forks; the child installs the filter, says so over a
 * socketpair (the parent then takes the listener fd with pidfd_getfd),
 * waits for the parent's word and execs the program.
 * The parent stays as an invisible parent: it answers the notifications
 * (notify.c), forwards the signals it is sent, and exits with the
 * program's status or dies by the program's signal.
 *
 * Nothing runs unsupervised: the child dies with the parent
 * (PR_SET_PDEATHSIG, set before the filter, checked after), and when the
 * parent is gone its listener fd closes, so a call waiting for an answer
 * fails (ENOSYS) and later ones too.  The filter is inherited by every
 * descendant of the program; the ones that outlive it run on with their
 * network calls failing once socksify has exited.
 */
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "launcher.h"
#include "supervise.h"

#if defined(__x86_64__)
#define SUP_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SUP_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "the seccomp backend knows x86_64 and aarch64 only"
#endif

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
/* x32 system calls have this bit in their number on x86_64. */
#define X32_BIT 0x40000000u

/* The child's report: which filter went in, or why none did. */
struct sup_hello {
	int err;        /* 0, or the errno of the step that failed */
	int killable;   /* WAIT_KILLABLE_RECV is on */
	int fd;         /* the listener, in the child's fd table */
	char step[32];  /* what failed */
};

/* Signals sent to socksify that go on to the program. */
static const int forwarded[] = {
	SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGUSR1, SIGUSR2, SIGALRM, SIGCONT,
};

static long
sys_seccomp(unsigned op, unsigned flags, void *arg)
{
	return syscall(SYS_seccomp, op, flags, arg);
}

int
sup_check_kernel(char *why, size_t cap)
{
	unsigned action = SECCOMP_RET_USER_NOTIF;
	int pfd, fd;

	if (sys_seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &action) != 0) {
		snprintf(why, cap, "this kernel has no seccomp user notification "
		    "(SECCOMP_RET_USER_NOTIF: %s)", strerror(errno));
		return -1;
	}
	pfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (pfd < 0) {
		snprintf(why, cap, "this kernel has no pidfd_open (%s)", strerror(errno));
		return -1;
	}
	fd = (int)syscall(SYS_pidfd_getfd, pfd, pfd, 0);
	if (fd < 0) {
		snprintf(why, cap, "this kernel has no usable pidfd_getfd (%s)", strerror(errno));
		close(pfd);
		return -1;
	}
	close(fd);
	close(pfd);
	return 0;
}

/* The filter: the calls that can send to an address go to the
 * supervisor (sendto only with an address: without one it sends on a
 * connected socket, which connect() already vetted), and getpeername, so
 * that a socket connected through the chain reports the destination the
 * program asked for, not the first hop; io_uring_setup fails
 * as on a kernel without it; system calls of another ABI (x32, i386 from
 * int 0x80) fail with ENOSYS, as they could go around everything. */
static int
install_filter(unsigned flags)
{
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define JEQ(k, t, f) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f))
#define LD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
	/* Jump offsets count from the next instruction. */
	struct sock_filter f[] = {
		/* 0 */ LD(offsetof(struct seccomp_data, arch)),
		/* 1 */ JEQ(SUP_AUDIT_ARCH, 1, 0),
		/* 2 */ RET(SECCOMP_RET_ERRNO | ENOSYS),
		/* 3 */ LD(offsetof(struct seccomp_data, nr)),
		/* 4 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_BIT, 0, 1),
		/* 5 */ RET(SECCOMP_RET_ERRNO | ENOSYS),
		/* 6 */ JEQ(__NR_connect, 9, 0),        /* -> 16 */
		/* 7 */ JEQ(__NR_sendmsg, 8, 0),        /* -> 16 */
		/* 8 */ JEQ(__NR_sendmmsg, 7, 0),       /* -> 16 */
		/* 9 */ JEQ(__NR_getpeername, 6, 0),    /* -> 16 */
		/* 10 */ JEQ(__NR_io_uring_setup, 7, 0), /* -> 18 */
		/* 11 */ JEQ(__NR_sendto, 0, 5),        /* else -> 17 */
		/* 12 */ LD(offsetof(struct seccomp_data, args[4])),
		/* 13 */ JEQ(0, 0, 2),                  /* low word set -> 16 */
		/* 14 */ LD(offsetof(struct seccomp_data, args[4]) + 4),
		/* 15 */ JEQ(0, 1, 0),                  /* NULL -> 17 */
		/* 16 */ RET(SECCOMP_RET_USER_NOTIF),
		/* 17 */ RET(SECCOMP_RET_ALLOW),
		/* 18 */ RET(SECCOMP_RET_ERRNO | ENOSYS),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
#undef RET
#undef JEQ
#undef LD
	return (int)sys_seccomp(SECCOMP_SET_MODE_FILTER,
	    SECCOMP_FILTER_FLAG_NEW_LISTENER | flags, &prog);
}

/* Sends the hello to the parent.  With write(), not sendmsg(): once the
 * filter is in, the child's own sendmsg() would wait for an answer from
 * a parent that does not hold the listener yet; the parent takes the
 * listener with pidfd_getfd instead of receiving it with SCM_RIGHTS. */
static void
send_hello(int sock, const struct sup_hello *h)
{
	while (write(sock, h, sizeof(*h)) < 0 && errno == EINTR)
		;
}

static void __attribute__((noreturn))
child_fail(int sock, const char *step, int err)
{
	struct sup_hello h;

	memset(&h, 0, sizeof(h));
	h.err = err != 0 ? err : EINVAL;
	snprintf(h.step, sizeof(h.step), "%s", step);
	send_hello(sock, &h);
	_exit(LAUNCH_ERR);
}

/* The child: dies with the parent, installs the filter, hands the
 * listener over, waits for the parent to hold it, execs the program. */
static void __attribute__((noreturn))
child_main(int sock, pid_t parent, const sigset_t *oldmask, const char *exe, char **argv)
{
	struct sup_hello h;
	char go;
	int fd;

	memset(&h, 0, sizeof(h));
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		child_fail(sock, "prctl(PR_SET_PDEATHSIG)", errno);
	if (getppid() != parent)
		_exit(LAUNCH_ERR); /* the parent died already */
	/* no_new_privs: needed for a filter without CAP_SYS_ADMIN, and
	 * wanted anyway, since a set-ID program the child execs would run
	 * with privileges under a filter its owner did not choose. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		child_fail(sock, "prctl(PR_SET_NO_NEW_PRIVS)", errno);
	h.killable = 1;
	fd = install_filter(SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
	if (fd < 0 && errno == EINVAL) {
		/* Before Linux 5.19: a signal may interrupt a call the
		 * supervisor is answering, which is then made again. */
		h.killable = 0;
		fd = install_filter(0);
	}
	if (fd < 0)
		child_fail(sock, "seccomp(SECCOMP_SET_MODE_FILTER)", errno);
	h.fd = fd;
	send_hello(sock, &h);
	/* The parent's word that it holds the listener: without it the
	 * program's first connect would wait for an answer that never
	 * comes (it would be killed with the parent anyway). */
	if (read(sock, &go, 1) != 1)
		_exit(LAUNCH_ERR);
	close(fd);
	close(sock);
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	execv(exe, argv);
	fprintf(stderr, "socksify: %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/* The parent's side of the hello: the listener fd, taken from the
 * child, or -1 with the child's failure in h. */
static int
recv_hello(int sock, pid_t pid, struct sup_hello *h)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	int pfd, fd;

	memset(h, 0, sizeof(*h));
	/* The child does a few system calls: 10 s is far more than enough. */
	if (poll(&p, 1, 10000) != 1 || read(sock, h, sizeof(*h)) != (ssize_t)sizeof(*h))
		return -1;
	if (h->err != 0)
		return -1;
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0) {
		h->err = errno;
		snprintf(h->step, sizeof(h->step), "pidfd_open");
		return -1;
	}
	fd = (int)syscall(SYS_pidfd_getfd, pfd, h->fd, 0);
	if (fd < 0) {
		h->err = errno;
		snprintf(h->step, sizeof(h->step), "pidfd_getfd");
	} else {
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	close(pfd);
	return fd;
}

/* Exits as the program did: by the same signal when it was killed. */
static int __attribute__((noreturn))
exit_like(int status)
{
	struct rlimit no_core = { 0, 0 };
	sigset_t all;
	int sig;

	if (WIFEXITED(status))
		exit(WEXITSTATUS(status));
	sig = WTERMSIG(status);
	/* The program dumped its core if it was going to: not us again. */
	(void)setrlimit(RLIMIT_CORE, &no_core);
	signal(sig, SIG_DFL);
	sigemptyset(&all);
	sigaddset(&all, sig);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	raise(sig);
	exit(128 + sig);
}

/* Waits on the program: true once it is gone (*status set).  A program
 * stopped (Ctrl-Z) stops socksify too, and both go on together. */
static bool
reap(pid_t pid, int *status)
{
	pid_t r;

	for (;;) {
		r = waitpid(pid, status, WNOHANG | WUNTRACED);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0; /* ECHILD: gone */
		if (WIFSTOPPED(*status)) {
			(void)kill(getpid(), SIGSTOP);
			(void)kill(pid, SIGCONT);
			continue;
		}
		return true;
	}
}

static void
serve(struct sup_ctx *ctx, pid_t pid, int sfd, size_t notif_size)
{
	struct seccomp_notif *req = malloc(notif_size);
	struct pollfd p[2] = {
		{ .fd = sfd, .events = POLLIN },
		{ .fd = ctx->notify_fd, .events = POLLIN },
	};
	int status = 0;

	if (req == NULL) {
		fprintf(stderr, "socksify: out of memory\n");
		(void)kill(pid, SIGKILL);
		exit(LAUNCH_ERR);
	}
	for (;;) {
		int n = poll(p, p[1].fd >= 0 ? 2 : 1, -1);

		if (n < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGCHLD)
					continue;
				/* What the terminal sends (Ctrl-C) reaches the
				 * program's process group already; only what was
				 * sent to socksify by kill() goes on. */
				if (si.ssi_code == SI_USER || si.ssi_code == SI_QUEUE ||
				    si.ssi_code == SI_TKILL)
					if ((pid_t)si.ssi_pid != pid)
						(void)kill(pid, (int)si.ssi_signo);
			}
			if (reap(pid, &status))
				break;
		}
		if (p[1].fd >= 0 && (p[1].revents & POLLIN)) {
			memset(req, 0, notif_size);
			if (ioctl(ctx->notify_fd, SECCOMP_IOCTL_NOTIF_RECV, req) == 0)
				sup_handle(ctx, req);
		} else if (p[1].fd >= 0 && (p[1].revents & (POLLHUP | POLLERR))) {
			/* No process is left under the filter. */
			p[1].fd = -1;
		}
	}
	free(req);
	exit_like(status);
}

int
sup_run(const struct cfg *cfg, const char *exe, char **argv)
{
	static struct sup_ctx ctx;
	struct seccomp_notif_sizes sizes;
	struct sup_hello h;
	sigset_t set, old;
	char why[256], go = 1;
	int sv[2], sfd, fd;
	pid_t pid;

	if (sup_check_kernel(why, sizeof(why)) != 0) {
		fprintf(stderr, "socksify: %s: cannot run it under the supervisor: %s\n",
		    exe, why);
		return LAUNCH_ERR;
	}
	if (sys_seccomp(SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) {
		fprintf(stderr, "socksify: seccomp(SECCOMP_GET_NOTIF_SIZES): %s\n",
		    strerror(errno));
		return LAUNCH_ERR;
	}
	ctx.cfg = cfg;
	ctx.dns_remote = cfg->dns == CFG_DNS_REMOTE;
	/* The signals are taken from a signalfd, from before the fork on,
	 * so that none sent in between is lost. */
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&set, forwarded[i]);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGPIPE);
	if (sigprocmask(SIG_BLOCK, &set, &old) != 0)
		return LAUNCH_ERR;
	sigdelset(&set, SIGPIPE);
	/* After the mask: every thread made from here on keeps these
	 * signals blocked, so they all reach the signalfd. */
	if (ctx.dns_remote && dnsd_start(&ctx) != 0) {
		fprintf(stderr, "socksify: cannot start the supervisor's name server: %s\n",
		    strerror(errno));
		return LAUNCH_ERR;
	}
	sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		fprintf(stderr, "socksify: %s\n", strerror(errno));
		return LAUNCH_ERR;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "socksify: fork: %s\n", strerror(errno));
		return LAUNCH_ERR;
	}
	if (pid == 0) {
		close(sv[0]);
		child_main(sv[1], getppid(), &old, exe, argv);
	}
	close(sv[1]);
	fd = recv_hello(sv[0], pid, &h);
	if (fd < 0) {
		int status;

		(void)kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		fprintf(stderr, "socksify: %s: cannot run it under the supervisor: %s%s%s\n",
		    exe, h.step[0] ? h.step : "the child did not report",
		    h.err ? ": " : "", h.err ? strerror(h.err) : "");
		return LAUNCH_ERR;
	}
	ctx.notify_fd = fd;
	log_msg(CFG_LOG_INFO, "supervisor: pid %d runs %s%s", (int)pid, exe,
	    h.killable ? "" : " (no SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: "
	    "a signal may make a call start again)");
	if (write(sv[0], &go, 1) != 1) {
		(void)kill(pid, SIGKILL);
		return LAUNCH_ERR;
	}
	close(sv[0]);
	serve(&ctx, pid, sfd, sizes.seccomp_notif);
	return LAUNCH_ERR; /* not reached */
}
