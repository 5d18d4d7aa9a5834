/* leak_syscall.c: connects by the routes that bypass connect(), for the leak tests.
 *
 * Usage:
 *   leak_syscall connect HOST PORT     syscall(SYS_connect, ...), then GET /
 *   leak_syscall __connect HOST PORT   glibc's exported __connect, looked up
 *                                      with dlsym(RTLD_DEFAULT), then GET /
 *   leak_syscall io_uring              io_uring_setup through a bare
 *                                      `syscall` instruction (x86_64)
 *
 * Prints "MODE CONNECTED", one "MODE BODY LINE" per line of the HTTP body,
 * or "MODE ERRNO NAME" when a call failed (exit 3).  io_uring prints
 * "io_uring FD N" when the kernel handed out a ring, else "io_uring ERRNO
 * NAME", and exits 0 either way: the test decides which answer is right.
 * Exit 77: the mode cannot run here (no __connect, not x86_64).
 */
#include <dlfcn.h>
#include <sys/syscall.h>

#include "prog_util.h"

static const char request[] = "GET / HTTP/1.0\r\nHost: target.leak.test\r\n\r\n";

static const char *errname(int e)
{
	const char *n = strerrorname_np(e);

	return n != NULL ? n : "EOTHER";
}

static int fail_errno(const char *mode, int e)
{
	printf("%s ERRNO %s\n", mode, errname(e));
	return 3;
}

/* Send the request on a connected FD, read to EOF, print the body. */
static int get(const char *mode, int fd)
{
	static char buf[65536];
	size_t used = 0;
	char *body, *line, *save = NULL;
	ssize_t r;

	printf("%s CONNECTED\n", mode);
	if (prog_write_all(fd, request, sizeof(request) - 1) < 0)
		return fail_errno(mode, errno);
	while (used < sizeof(buf) - 1) {
		r = read(fd, buf + used, sizeof(buf) - 1 - used);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail_errno(mode, errno);
		if (r == 0)
			break;
		used += (size_t)r;
	}
	buf[used] = '\0';
	if (strncmp(buf, "HTTP/1.", 7) != 0 || (body = strstr(buf, "\r\n\r\n")) == NULL) {
		printf("%s NOT-HTTP %.40s\n", mode, buf);
		return 3;
	}
	for (line = strtok_r(body + 4, "\r\n", &save); line != NULL;
	     line = strtok_r(NULL, "\r\n", &save))
		printf("%s BODY %s\n", mode, line);
	return 0;
}

typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);

static int run_connect(const char *mode, const char *host, const char *port)
{
	struct sockaddr_storage ss;
	socklen_t len = prog_addr(host, port, &ss);
	connect_fn fn = NULL;
	long rc;
	int fd;

	if (strcmp(mode, "__connect") == 0) {
		Dl_info info;

		/* RTLD_DEFAULT: the same lookup a program linked against
		 * __connect would get, so a preloaded definition wins. */
		fn = (connect_fn)dlsym(RTLD_DEFAULT, "__connect");
		if (fn == NULL) {
			printf("%s SKIP not exported by this libc\n", mode);
			return 77;
		}
		if (dladdr((void *)fn, &info) != 0 && info.dli_fname != NULL)
			printf("%s FROM %s\n", mode, info.dli_fname);
	}
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return fail_errno(mode, errno);
	if (fn != NULL)
		rc = fn(fd, (const struct sockaddr *)&ss, len);
	else
		rc = syscall(SYS_connect, fd, (const struct sockaddr *)&ss, len);
	if (rc != 0)
		return fail_errno(mode, errno);
	rc = get(mode, fd);
	close(fd);
	return (int)rc;
}

#if defined(__x86_64__)
/* A system call the way a program with its own runtime makes it: no libc
 * wrapper, nothing for a preloaded library to interpose. */
static long raw_syscall2(long nr, long a1, long a2)
{
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a1), "S"(a2)
			 : "rcx", "r11", "memory");
	return ret;
}

static int run_io_uring(void)
{
	/* struct io_uring_params is 120 bytes that must be zero on entry;
	 * a zeroed buffer of that size avoids depending on the header. */
	static long params[16];
	long rc = raw_syscall2(425 /* io_uring_setup */, 4, (long)params);

	if (rc >= 0) {
		printf("io_uring FD %ld\n", rc);
		close((int)rc);
	} else {
		printf("io_uring ERRNO %s\n", errname((int)-rc));
	}
	return 0;
}
#else
static int run_io_uring(void)
{
	printf("io_uring SKIP the raw system call is written for x86_64\n");
	return 77;
}
#endif

int main(int argc, char **argv)
{
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && strcmp(argv[1], "io_uring") == 0)
		rc = run_io_uring();
	else if (argc == 4 && (strcmp(argv[1], "connect") == 0 ||
			       strcmp(argv[1], "__connect") == 0))
		rc = run_connect(argv[1], argv[2], argv[3]);
	else {
		fprintf(stderr, "usage: %s connect|__connect HOST PORT | io_uring\n", argv[0]);
		rc = 64;
	}
	return rc;
}
