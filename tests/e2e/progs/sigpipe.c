/* sigpipe.c: a program with SIGPIPE at its default and signals flying.
 *
 * Usage: sigpipe ok|fail|intr HOST PORT
 *   ok    connect and echo; SIGPIPE must still be SIG_DFL and the signal
 *         mask unchanged afterwards
 *   fail  the connect is expected to fail (a broken proxy): prints
 *         "ERRNO NAME" and "alive" (a SIGPIPE inside connect() would have
 *         killed the process before that)
 *   intr  a SIGALRM handler without SA_RESTART fires every 2 ms while 20
 *         connects run; an interrupted connect is finished the POSIX way
 *         (poll for POLLOUT, read SO_ERROR); every echo must come back
 * Prints "ok" lines and exits 0 on success. */
#include <sys/time.h>
#include <poll.h>
#include <signal.h>

#include "prog_util.h"

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static int check_signals(const sigset_t *mask0)
{
	struct sigaction sa;
	sigset_t mask;
	int s;

	if (sigaction(SIGPIPE, NULL, &sa) < 0 || sa.sa_handler != SIG_DFL) {
		printf("SIGPIPE disposition changed\n");
		return -1;
	}
	sigemptyset(&mask);
	sigprocmask(SIG_BLOCK, NULL, &mask);
	for (s = 1; s < NSIG; s++) {
		if (sigismember(&mask, s) != sigismember(mask0, s)) {
			printf("signal mask changed (signal %d)\n", s);
			return -1;
		}
	}
	return 0;
}

/* Connect, finishing an interrupted connect as POSIX says. */
static int connect_intr(int fd, const struct sockaddr_storage *ss,
			socklen_t len, int *interrupted)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t sl = sizeof(int);
	int err = 0, rc, i;

	if (connect(fd, (const struct sockaddr *)ss, len) == 0)
		return 0;
	if (errno != EINTR)
		return -1;
	(*interrupted)++;
	for (i = 0; i < 1000; i++) {	/* EINTR retries, bounded */
		rc = poll(&pfd, 1, 10000);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
		return -1;
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

static int run_intr(const struct sockaddr_storage *ss, socklen_t len)
{
	struct itimerval it = { { 0, 2000 }, { 0, 2000 } };
	struct sigaction sa;
	char msg[64];
	int i, fd, interrupted = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART on purpose */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	for (i = 0; i < 20; i++) {
		fd = socket(ss->ss_family, SOCK_STREAM, 0);
		snprintf(msg, sizeof(msg), "interrupted handshake %d\n", i);
		if (fd < 0 || connect_intr(fd, ss, len, &interrupted) < 0 ||
		    prog_echo(fd, msg) < 0) {
			printf("connect %d: %s (%s)\n", i, prog_errname(errno),
			       strerror(errno));
			return 1;
		}
		close(fd);
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	printf("intr ok connects=20 alarms=%d eintr=%d\n", (int)alarms,
	       interrupted);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	sigset_t mask0;
	socklen_t len;
	int fd, rc;

	if (argc != 4)
		return 64;
	setvbuf(stdout, NULL, _IONBF, 0);
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&mask0);
	sigprocmask(SIG_BLOCK, NULL, &mask0);
	len = prog_addr(argv[2], argv[3], &ss);
	if (strcmp(argv[1], "ok") == 0) {
		fd = prog_connect_echo(&ss, len, "sigpipe default\n");
		if (fd < 0) {
			printf("ERRNO %s (%s)\n", prog_errname(errno), strerror(errno));
			return 1;
		}
		close(fd);
		if (check_signals(&mask0) < 0)
			return 1;
		printf("ok\n");
		return 0;
	}
	if (strcmp(argv[1], "fail") == 0) {
		fd = socket(ss.ss_family, SOCK_STREAM, 0);
		rc = connect(fd, (struct sockaddr *)&ss, len);
		if (rc == 0) {
			printf("connected (unexpected)\n");
			return 1;
		}
		printf("ERRNO %s\n", prog_errname(errno));
		/* The app's own write on the failed socket must not kill it
		 * either: it is a plain unconnected socket. */
		if (check_signals(&mask0) < 0)
			return 1;
		printf("alive\n");
		return 0;
	}
	if (strcmp(argv[1], "intr") == 0) {
		rc = run_intr(&ss, len);
		if (rc == 0 && check_signals(&mask0) < 0)
			return 1;
		return rc;
	}
	return 64;
}
