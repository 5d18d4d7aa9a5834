/* check.h: a tiny assert/report harness for the C unit tests.
 *
 * Each test is a void function listed in a CHECK_MAIN table.  Every failed
 * check prints one "file:line: test: what" line and the test goes on, so
 * one run shows every broken case.  Each test runs in its own child process
 * with an alarm, so a crash or a hang in the code under test fails that
 * test alone and the others still report.  The runner ends with
 * "N passed, N failed" and exits non-zero when anything failed.
 *
 * Usage: ./test_x [name-substring]   (CHECK_NOFORK=1 runs in-process, for gdb)
 */
#ifndef SOCKSIFY_CHECK_H
#define SOCKSIFY_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>

/* Past this many lines per test, further failures are counted, not shown:
 * a loop over every truncation can otherwise bury the first real cause. */
#define CHECK_MAX_LINES 25
#define CHECK_TIMEOUT_S 20
#define CHECK_FAILED_EXIT 3

struct check_test {
	const char *name;
	void (*fn)(void);
};

static const char *check_cur_test = "?";
static unsigned long check_nfail;
static unsigned long check_ncheck;

__attribute__((format(printf, 4, 5), unused))
static bool check_at(bool ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	check_ncheck++;
	if (ok)
		return true;
	if (++check_nfail <= CHECK_MAX_LINES) {
		fprintf(stdout, "%s:%d: %s: FAIL: ", file, line, check_cur_test);
		va_start(ap, fmt);
		vfprintf(stdout, fmt, ap);
		va_end(ap);
		fputc('\n', stdout);
		fflush(stdout);
	}
	return false;
}

/* Hex dump used when two byte strings differ (bounded, for readability). */
static void __attribute__((unused)) check_hex(FILE *f, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n && i < 64; i++)
		fprintf(f, "%02x", b[i]);
	if (n > 64)
		fprintf(f, "...(%zu bytes)", n);
}

__attribute__((unused))
static bool check_mem_at(const char *file, int line, const char *ea, const char *eb,
    const void *a, const void *b, size_t n)
{
	bool ok = (a != NULL && b != NULL && memcmp(a, b, n) == 0);

	if (!check_at(ok, file, line, "%s == %s (%zu bytes)", ea, eb, n))
		if (check_nfail <= CHECK_MAX_LINES && a != NULL && b != NULL) {
			fputs("    got:  ", stdout);
			check_hex(stdout, a, n);
			fputs("\n    want: ", stdout);
			check_hex(stdout, b, n);
			fputc('\n', stdout);
		}
	return ok;
}

/* The _AT forms take the caller's file and line, for helpers. */
#define CHECK_AT(file, line, cond) \
	check_at(!!(cond), file, line, "%s", #cond)
#define CHECK(cond) CHECK_AT(__FILE__, __LINE__, cond)

#define CHECK_EQ_INT_AT(file, line, a, b) __extension__ ({ \
	long long check_a_ = (long long)(a), check_b_ = (long long)(b); \
	check_at(check_a_ == check_b_, file, line, "%s == %s (got %lld, want %lld)", \
	    #a, #b, check_a_, check_b_); })
#define CHECK_EQ_INT(a, b) CHECK_EQ_INT_AT(__FILE__, __LINE__, a, b)

#define CHECK_MEM_AT(file, line, a, b, n) \
	check_mem_at(file, line, #a, #b, a, b, n)
#define CHECK_MEM(a, b, n) CHECK_MEM_AT(__FILE__, __LINE__, a, b, n)

#define CHECK_STR_AT(file, line, a, b) __extension__ ({ \
	const char *check_sa_ = (a), *check_sb_ = (b); \
	check_at(check_sa_ != NULL && check_sb_ != NULL && \
	    strcmp(check_sa_, check_sb_) == 0, file, line, \
	    "%s == %s (got \"%s\", want \"%s\")", #a, #b, \
	    check_sa_ ? check_sa_ : "(null)", check_sb_ ? check_sb_ : "(null)"); })
#define CHECK_STR(a, b) CHECK_STR_AT(__FILE__, __LINE__, a, b)

static int check_run_one(const struct check_test *t)
{
	check_cur_test = t->name;
	check_nfail = 0;
	t->fn();
	if (check_nfail > CHECK_MAX_LINES)
		printf("%s: ... %lu more failures not shown\n", t->name,
		    check_nfail - CHECK_MAX_LINES);
	return check_nfail ? 1 : 0;
}

/* Runs one test in a child so that a crash is a failure, not the end. */
static int check_run_forked(const struct check_test *t)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return check_run_one(t);
	}
	if (pid == 0) {
		alarm(CHECK_TIMEOUT_S);
		/* exit, not _exit: LeakSanitizer checks the child at exit. */
		exit(check_run_one(t) ? CHECK_FAILED_EXIT : 0);
	}
	while (waitpid(pid, &st, 0) < 0)
		;
	if (WIFSIGNALED(st)) {
		printf("%s: FAIL: killed by signal %d (%s)\n", t->name, WTERMSIG(st),
		    strsignal(WTERMSIG(st)));
		return 1;
	}
	/* The child exits CHECK_FAILED_EXIT after its own report; any other
	 * status is a sanitizer or an exit() inside the code under test. */
	if (WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != CHECK_FAILED_EXIT)
		printf("%s: FAIL: exited with status %d (see the report above)\n", t->name,
		    WEXITSTATUS(st));
	return WEXITSTATUS(st) != 0;
}

static int check_main(const struct check_test *tests, size_t n, int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	bool nofork = getenv("CHECK_NOFORK") != NULL;
	int passed = 0, failed = 0;
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < n; i++) {
		int bad;

		if (only && !strstr(tests[i].name, only))
			continue;
		bad = nofork ? check_run_one(&tests[i]) : check_run_forked(&tests[i]);
		if (bad)
			failed++;
		else
			passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

#define CHECK_TEST(fn) { #fn, fn }
#define CHECK_MAIN(...) \
	int main(int argc, char **argv) \
	{ \
		static const struct check_test tests_[] = { __VA_ARGS__ }; \
		return check_main(tests_, sizeof(tests_) / sizeof(tests_[0]), argc, argv); \
	}

#endif
