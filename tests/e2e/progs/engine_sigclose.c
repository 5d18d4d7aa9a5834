/* engine_sigclose.c: close() from a signal handler that interrupts the
 * resolver.
 *
 * Usage: engine_sigclose PORT K
 *
 * Opens K connections to the names e001.test .. eKKK.test (names only the
 * proxy resolves, so each socket pins its name's stand-in), each checked
 * with a one-byte echo from the server on PORT.  Then the main thread
 * loops getaddrinfo, getnameinfo and freeaddrinfo on new names while a
 * helper thread sends it SIGUSR1 as fast as it can take them; the handler
 * close()s the next of the K sockets.  close() is async-signal-safe, so a
 * program may do this at any moment, also while the interrupted code
 * holds a lock of the library's.
 *
 * alarm() bounds the run: on SIGALRM the program prints how far it got
 * and exits 3.  Otherwise it prints "closed=N of K bad=N still_open=N
 * lookups=N" (still_open: how many of the K sockets /proc/self/fd still
 * shows) and exits 0 when every close succeeded and none of the K sockets
 * is left open.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "prog_util.h"

#define RUN_LIMIT_S 20
#define K_MAX 999 /* the names are e001 .. e999 */

static int fds[K_MAX];
static unsigned long inodes[K_MAX];
static int k;
static atomic_int next_close, closed_ok, closed_bad;
static atomic_long lookups;
static atomic_int stop;
static pthread_t main_thread;

static void on_usr1(int sig)
{
	int saved = errno, i;

	(void)sig;
	i = atomic_fetch_add(&next_close, 1);
	if (i < k) {
		if (close(fds[i]) == 0)
			atomic_fetch_add(&closed_ok, 1);
		else
			atomic_fetch_add(&closed_bad, 1);
	}
	errno = saved;
}

/* Formats N into BUF (async-signal-safe); returns the length. */
static size_t fmt_num(char *buf, long n)
{
	char tmp[24];
	size_t len = 0, i;

	do {
		tmp[len++] = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0 && len < sizeof(tmp));
	for (i = 0; i < len; i++)
		buf[i] = tmp[len - 1 - i];
	return len;
}

/* A hang (the handler waiting for a lock its own thread holds) ends here,
 * with the progress made, instead of in the test's outer timeout. */
static void on_alarm(int sig)
{
	char msg[128];
	size_t n = 0;

	(void)sig;
	memcpy(msg, "TIMEOUT closed=", 15);
	n = 15;
	n += fmt_num(msg + n, atomic_load(&closed_ok) + atomic_load(&closed_bad));
	memcpy(msg + n, " lookups=", 9);
	n += 9;
	n += fmt_num(msg + n, atomic_load(&lookups));
	msg[n++] = '\n';
	if (write(STDOUT_FILENO, msg, n) < 0)
		_exit(4);
	_exit(3);
}

static void *signaller(void *arg)
{
	struct timespec nap = { 0, 50000 };

	(void)arg;
	while (!atomic_load(&stop) && atomic_load(&next_close) < k) {
		pthread_kill(main_thread, SIGUSR1);
		nanosleep(&nap, NULL);
	}
	return NULL;
}

/* Counts how many of the K sockets (by inode, so that an fd number the
 * program or the library reused meanwhile is not mistaken for one) are
 * still open in /proc/self/fd. */
static int still_open(void)
{
	char link[64];
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");
	unsigned long ino;
	int n = 0, i;
	ssize_t r;

	if (dir == NULL)
		return -1;
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		r = readlinkat(dirfd(dir), d->d_name, link, sizeof(link) - 1);
		if (r <= 0)
			continue;
		link[r] = '\0';
		if (sscanf(link, "socket:[%lu]", &ino) != 1)
			continue;
		for (i = 0; i < k; i++)
			if (inodes[i] == ino)
				n++;
	}
	closedir(dir);
	return n;
}

static int open_one(const char *name, const char *port)
{
	struct addrinfo hints, *res;
	int fd, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(name, port, &hints, &res);
	if (rc != 0) {
		printf("FAIL resolve %s: %s\n", name, gai_strerror(rc));
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0 || prog_echo(fd, "x") != 0) {
		printf("FAIL connect %s: %s\n", name, strerror(errno));
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return fd;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct stat st;
	struct addrinfo hints, *res;
	char name[64], host[NI_MAXHOST];
	pthread_t helper;
	long i;
	int left;

	if (argc != 3) {
		fprintf(stderr, "usage: engine_sigclose PORT K\n");
		return 64;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	k = atoi(argv[2]);
	if (k < 1 || k > K_MAX)
		return 64;
	for (i = 0; i < k; i++) {
		snprintf(name, sizeof(name), "e%03ld.test", i + 1);
		fds[i] = open_one(name, argv[1]);
		if (fds[i] < 0 || fstat(fds[i], &st) != 0)
			return 1;
		inodes[i] = (unsigned long)st.st_ino;
	}
	printf("opened %d\n", k);

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	alarm(RUN_LIMIT_S);

	main_thread = pthread_self();
	if (pthread_create(&helper, NULL, signaller, NULL) != 0) {
		perror("pthread_create");
		return 1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	for (i = 0; atomic_load(&closed_ok) + atomic_load(&closed_bad) < k; i++) {
		snprintf(name, sizeof(name), "g%07ld.test", i);
		if (getaddrinfo(name, argv[1], &hints, &res) == 0) {
			getnameinfo(res->ai_addr, res->ai_addrlen, host, sizeof(host), NULL, 0, 0);
			freeaddrinfo(res);
		}
		atomic_fetch_add(&lookups, 1);
	}
	atomic_store(&stop, 1);
	pthread_join(helper, NULL);
	alarm(0);

	left = still_open();
	printf("closed=%d of %d bad=%d still_open=%d lookups=%ld\n", atomic_load(&closed_ok), k,
	       atomic_load(&closed_bad), left, atomic_load(&lookups));
	return atomic_load(&closed_ok) == k && atomic_load(&closed_bad) == 0 && left == 0 ? 0 : 1;
}
