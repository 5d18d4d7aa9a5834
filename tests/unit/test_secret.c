/* test_secret.c: finding and reading the chain memfd the launcher hands
 * down (preload/secret.c): the number from SOCKSIFY_CHAIN_FD, the search
 * when a program moved the memfd, the look-alikes that must not count,
 * and reads that leave the shared file offset alone.
 */
#include <sys/mman.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>

#include "check.h"
#include "secret.h"

/* secret.c calls libc through the library's real_* table; here libc is
 * all there is. */
int real_fcntl(int fd, int cmd, long arg);
int real_close(int fd);

int
real_fcntl(int fd, int cmd, long arg)
{
	return fcntl(fd, cmd, arg);
}

int
real_close(int fd)
{
	return close(fd);
}

#define URLS "socks5://user:secret@127.0.0.1:1080 http://u:p@[::1]:3128"

/* A memfd named name holding text, with the given seals, moved to number
 * at (when at >= 0). */
static int
make_memfd(const char *name, const char *text, int seals, int at)
{
	int fd = memfd_create(name, MFD_ALLOW_SEALING | MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    (seals != 0 && fcntl(fd, F_ADD_SEALS, seals) != 0)) {
		close(fd);
		return -1;
	}
	if (at >= 0 && at != fd) {
		if (dup3(fd, at, O_CLOEXEC) != at) {
			close(fd);
			return -1;
		}
		close(fd);
		fd = at;
	}
	return fd;
}

static int
launcher_memfd(int at)
{
	return make_memfd(SECRET_MEMFD_NAME, URLS, SECRET_SEALS, at);
}

static void
set_env_fd(int fd)
{
	char num[16];

	snprintf(num, sizeof(num), "%d", fd);
	setenv(SECRET_ENV, num, 1);
}

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* -1 and the errno secret_find() left. */
static int
find_errno(void)
{
	errno = 0;
	return secret_find() == -1 ? errno : -1;
}

static void
no_variable(void)
{
	unsetenv(SECRET_ENV);
	CHECK_EQ_INT(find_errno(), ENOENT);
	setenv(SECRET_ENV, "", 1);
	CHECK_EQ_INT(find_errno(), ENOENT);
}

static void
not_a_number(void)
{
	const char *bad[] = { "x", "12a", "-1", " 200", "200 ", "+3", "99999999999" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv(SECRET_ENV, bad[i], 1);
		if (!CHECK_EQ_INT(find_errno(), EINVAL))
			printf("  value '%s'\n", bad[i]);
	}
}

static void
found_at_its_number(void)
{
	int fd = launcher_memfd(200);

	if (!CHECK(fd == 200))
		return;
	set_env_fd(fd);
	errno = 1234;
	CHECK_EQ_INT(secret_find(), 200);
	CHECK_EQ_INT(errno, 1234);
}

static void
found_after_a_move(void)
{
	int fd = launcher_memfd(300), other[2];

	if (!CHECK(fd == 300) || !CHECK(pipe(other) == 0))
		return;
	/* The number names nothing, then something else. */
	set_env_fd(200);
	CHECK_EQ_INT(secret_find(), 300);
	set_env_fd(other[0]);
	CHECK_EQ_INT(secret_find(), 300);
}

static void
a_dup_is_the_same_memfd(void)
{
	int fd = launcher_memfd(300);

	if (!CHECK(fd == 300) || !CHECK(dup3(fd, 310, O_CLOEXEC) == 310))
		return;
	set_env_fd(200);
	CHECK_EQ_INT(secret_find(), 300);
}

static void
two_memfds_and_a_wrong_number(void)
{
	CHECK(launcher_memfd(300) == 300);
	CHECK(launcher_memfd(310) == 310);
	set_env_fd(200);
	CHECK_EQ_INT(find_errno(), ENOTUNIQ);
	/* Named, either one is taken at its word (nested launchers). */
	set_env_fd(310);
	CHECK_EQ_INT(secret_find(), 310);
}

static void
look_alikes_do_not_count(void)
{
	int fd;

	/* Right name, not sealed (still writable by anyone who has it). */
	fd = make_memfd(SECRET_MEMFD_NAME, URLS, 0, 200);
	CHECK(fd == 200);
	set_env_fd(200);
	CHECK_EQ_INT(find_errno(), EBADF);
	close(fd);
	/* Right name, some seals missing. */
	fd = make_memfd(SECRET_MEMFD_NAME, URLS, F_SEAL_WRITE | F_SEAL_SEAL, 200);
	CHECK(fd == 200);
	CHECK_EQ_INT(find_errno(), EBADF);
	close(fd);
	/* Sealed, another name, and a name that only starts the same. */
	fd = make_memfd("other", URLS, SECRET_SEALS, 200);
	CHECK(fd == 200);
	CHECK_EQ_INT(find_errno(), EBADF);
	close(fd);
	fd = make_memfd(SECRET_MEMFD_NAME "-2", URLS, SECRET_SEALS, 200);
	CHECK(fd == 200);
	CHECK_EQ_INT(find_errno(), EBADF);
	close(fd);
	/* A plain file at the number. */
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && dup3(fd, 200, O_CLOEXEC) == 200);
	CHECK_EQ_INT(find_errno(), EBADF);
}

static void
no_fd_left_open(void)
{
	int before;

	CHECK(launcher_memfd(300) == 300);
	before = count_fds();
	set_env_fd(300);
	CHECK_EQ_INT(secret_find(), 300);
	set_env_fd(200);
	CHECK_EQ_INT(secret_find(), 300);
	close(300);
	CHECK_EQ_INT(find_errno(), EBADF);
	CHECK_EQ_INT(count_fds(), before - 1);
}

static void
read_whole_chain(void)
{
	char buf[256];
	int fd = launcher_memfd(-1);

	if (!CHECK(fd >= 0))
		return;
	/* Another process may have moved the shared offset: no matter. */
	CHECK(lseek(fd, 5, SEEK_SET) == 5);
	memset(buf, 'x', sizeof(buf));
	errno = 1234;
	CHECK_EQ_INT(secret_read(fd, buf, sizeof(buf)), 0);
	CHECK_EQ_INT(errno, 1234);
	CHECK_STR(buf, URLS);
	/* ... and nor does the read move it. */
	CHECK(lseek(fd, 0, SEEK_CUR) == 5);
	/* Exactly the room it needs. */
	CHECK_EQ_INT(secret_read(fd, buf, strlen(URLS) + 1), 0);
	CHECK_STR(buf, URLS);
}

static void
read_too_big(void)
{
	char buf[sizeof(URLS) + 8];
	int fd = launcher_memfd(-1);

	if (!CHECK(fd >= 0))
		return;
	memset(buf, 'x', sizeof(buf));
	errno = 0;
	CHECK_EQ_INT(secret_read(fd, buf, strlen(URLS)), -1);
	CHECK_EQ_INT(errno, E2BIG);
	CHECK(buf[0] == '\0');
	errno = 0;
	CHECK_EQ_INT(secret_read(fd, buf, 0), -1);
	CHECK_EQ_INT(errno, E2BIG);
}

static void
read_refuses_a_nul(void)
{
	char buf[64];
	int fd = memfd_create(SECRET_MEMFD_NAME, MFD_ALLOW_SEALING | MFD_CLOEXEC);

	memset(buf, 'x', sizeof(buf));
	if (!CHECK(fd >= 0) || !CHECK(write(fd, "socks5://a:b@h\0:1", 17) == 17))
		return;
	errno = 0;
	CHECK_EQ_INT(secret_read(fd, buf, sizeof(buf)), -1);
	CHECK_EQ_INT(errno, EINVAL);
	/* Nothing of it is left behind. */
	CHECK(memchr(buf, 'b', sizeof(buf)) == NULL);
}

static void
read_bad_fd(void)
{
	char buf[16];

	errno = 0;
	CHECK_EQ_INT(secret_read(999, buf, sizeof(buf)), -1);
	CHECK_EQ_INT(errno, EBADF);
	CHECK(buf[0] == '\0');
}

CHECK_MAIN(
	CHECK_TEST(no_variable),
	CHECK_TEST(not_a_number),
	CHECK_TEST(found_at_its_number),
	CHECK_TEST(found_after_a_move),
	CHECK_TEST(a_dup_is_the_same_memfd),
	CHECK_TEST(two_memfds_and_a_wrong_number),
	CHECK_TEST(look_alikes_do_not_count),
	CHECK_TEST(no_fd_left_open),
	CHECK_TEST(read_whole_chain),
	CHECK_TEST(read_too_big),
	CHECK_TEST(read_refuses_a_nul),
	CHECK_TEST(read_bad_fd),
)
