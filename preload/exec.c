/* exec.c: the exec hooks.  The library follows the program into every
 * program it starts, or refuses to start what it cannot follow.
 *
 * The dynamic loader finds the library through LD_PRELOAD, and the library
 * finds its settings in SOCKSIFY_*: a program that drops them (env -i,
 * env -u LD_PRELOAD, a daemon that cleans its environment) would start
 * children whose connections go out directly.  So every exec function libc
 * exports comes through here, and the new environment gets back what it
 * lacks: this library, appended to LD_PRELOAD; and, when it names none of
 * the settings, the ones this process started with.  One that names any
 * SOCKSIFY_* variable made its own choice (socksify run inside socksify
 * sets its own) and keeps it.  The caller's array is never changed.
 *
 * A program the library cannot reach (exe_kind.h: static, set-ID, file
 * capabilities, another ELF class, Go) is refused with EACCES and one
 * error line, before anything runs: its connections would go direct.
 *
 * These hooks run in vfork children (dash execs from one), which share
 * the parent's memory and stack: nothing here takes from the heap or
 * changes the library's state there (a real function looked up on first
 * use is stored as the parent would store it).  The new environment is
 * built on the stack, or, when it is too large for that, in an anonymous
 * mapping that a failed exec unmaps (a successful exec from a vfork child
 * leaves it to the parent: a rare, bounded cost, where malloc would not be
 * safe).
 */
#include <sys/mman.h>
#include <sys/syscall.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exe_kind.h"
#include "lib.h"
#include "secret.h"

#define PRELOAD_VAR "LD_PRELOAD="
#define PRELOAD_VAR_LEN (sizeof(PRELOAD_VAR) - 1)
/* The environment array a hook builds on its stack: 2 KiB, room for the
 * environments programs usually have. */
#define ENV_STACK_PTRS 256
/* What exec*p search when PATH is unset (glibc's default). */
#define DEFAULT_PATH "/bin:/usr/bin"

/* What the library puts back, in this order. */
static const char *const setting_names[] = {
	"SOCKSIFY_CONF", SECRET_ENV, "SOCKSIFY_CHAIN", "SOCKSIFY_PROXY",
	"SOCKSIFY_LOG", "SOCKSIFY_LOG_FILE",
};
#define NSETTINGS (sizeof(setting_names) / sizeof(setting_names[0]))

/* Filled by the constructor, read-only afterwards. */
static char preload_var[PRELOAD_VAR_LEN + PATH_MAX]; /* "LD_PRELOAD=<self>" */
/* This library's absolute path, or NULL.  A relative spelling in
 * LD_PRELOAD does not count as this library: it breaks as soon as the
 * program changes directory. */
static const char *self;
static char *settings[NSETTINGS]; /* "NAME=value", as the process started */
static size_t nsettings;
static char settings_buf[32768];

/* ---- the real functions ---- */

typedef int execve_fn(const char *, char *const[], char *const[]);
typedef int execveat_fn(int, const char *, char *const[], char *const[], int);
typedef int fexecve_fn(int, char *const[], char *const[]);
typedef int posix_spawn_fn(pid_t *, const char *, const posix_spawn_file_actions_t *,
    const posix_spawnattr_t *, char *const[], char *const[]);

/* ---- the new environment ---- */

struct new_env {
	char *const *envp;  /* what exec gets */
	void *map;          /* the mapping it lives in, when not the stack */
	size_t maplen;
	char *stack[ENV_STACK_PTRS];
};

/* True when the LD_PRELOAD value v lists this library (the loader splits
 * it at blanks and colons). */
static bool
preload_has_self(const char *v)
{
	size_t len = self != NULL ? strlen(self) : 0;

	while (*v != '\0') {
		size_t n = strcspn(v, " :");

		if (len > 0 && n == len && memcmp(v, self, n) == 0)
			return true;
		v += n;
		v += strspn(v, " :");
	}
	return false;
}

static bool
is_setting(const char *entry)
{
	for (size_t i = 0; i < NSETTINGS; i++) {
		size_t n = strlen(setting_names[i]);

		if (strncmp(entry, setting_names[i], n) == 0 && entry[n] == '=')
			return true;
	}
	return false;
}

/* Sets ne->envp to envp, or to a copy with what it lacks.  0, or -1 with
 * errno (ENOMEM; ELIBACC when the library does not know its own path and
 * so cannot put itself back). */
static int
env_build(struct new_env *ne, char *const *envp)
{
	static char *const empty[] = { NULL };
	char *const *in = envp != NULL ? envp : empty;
	const char *last_pre = NULL;
	size_t n, npre = 0, ptrs, extra = 0, bytes, k = 0;
	bool pre_ok = true, named = false, add_settings, combine;
	char **out;

	ne->envp = envp;
	ne->map = NULL;
	for (n = 0; in[n] != NULL; n++) {
		if (strncmp(in[n], PRELOAD_VAR, PRELOAD_VAR_LEN) == 0) {
			/* Every copy must list us: which one the loader reads
			 * is its business. */
			npre++;
			last_pre = in[n] + PRELOAD_VAR_LEN;
			if (!preload_has_self(last_pre))
				pre_ok = false;
		} else if (!named && strncmp(in[n], "SOCKSIFY_", 9) == 0 && is_setting(in[n])) {
			named = true;
		}
	}
	pre_ok = pre_ok && npre > 0;
	add_settings = !named && nsettings > 0;
	if (pre_ok && !add_settings)
		return 0;
	if (!pre_ok && self == NULL) {
		errno = ELIBACC;
		return -1;
	}
	/* The LD_PRELOAD copies go; one takes their place, the last one's
	 * value (what the loader reads) with this library appended. */
	combine = !pre_ok && last_pre != NULL && last_pre[strspn(last_pre, " :")] != '\0';
	ptrs = n - (pre_ok ? 0 : npre) + (pre_ok ? 0 : 1) + (add_settings ? nsettings : 0) + 1;
	if (combine)
		extra = PRELOAD_VAR_LEN + strlen(last_pre) + 1 + strlen(self) + 1;
	bytes = ptrs * sizeof(char *) + extra;
	if (bytes <= sizeof(ne->stack)) {
		out = ne->stack;
	} else {
		void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);

		if (m == MAP_FAILED) {
			errno = ENOMEM;
			return -1;
		}
		ne->map = m;
		ne->maplen = bytes;
		out = m;
	}
	for (size_t i = 0; i < n; i++)
		if (pre_ok || strncmp(in[i], PRELOAD_VAR, PRELOAD_VAR_LEN) != 0)
			out[k++] = in[i];
	if (combine) {
		char *s = (char *)(out + ptrs);

		snprintf(s, extra, "%s%s:%s", PRELOAD_VAR, last_pre, self);
		out[k++] = s;
	} else if (!pre_ok) {
		out[k++] = preload_var;
	}
	for (size_t i = 0; add_settings && i < nsettings; i++)
		out[k++] = settings[i];
	out[k] = NULL;
	ne->envp = out;
	return 0;
}

static void
env_release(struct new_env *ne)
{
	int saved = errno;

	if (ne->map != NULL)
		munmap(ne->map, ne->maplen);
	ne->map = NULL;
	errno = saved;
}

/* ---- what may run ---- */

/* One error line for a refused program.  The level and the log file come
 * from the config, loaded here if it was not yet; a vfork child must not
 * load it into its parent's memory, and goes by SOCKSIFY_LOG alone.  Not
 * inlined: its buffer is needed only when a program is refused. */
static __attribute__((noinline)) void
report(const char *name, const struct exe_verdict *v)
{
	char what[768];
	const char *lvl;

	if (proc_owns_state())
		(void)env_cfg(NULL);
	else if ((lvl = env_setting("SOCKSIFY_LOG")) != NULL &&
	    cfg_log_level_parse(lvl) == CFG_LOG_NONE)
		return;
	log_msg(CFG_LOG_ERROR, "exec refused (EACCES): %s; its connections would not go "
	    "through the proxy", exe_describe(v, name, what, sizeof(what)));
}

/* 0 when the library can follow exec into the file (as execveat takes
 * dirfd, path and flags); else one error line and -1 with EACCES.  Not
 * inlined: its buffers are gone before the real exec runs. */
static __attribute__((noinline)) int
exec_check(int dirfd, const char *path, int flags)
{
	struct exe_verdict v;
	char fdname[40];

	exe_classify(dirfd, path, flags, &v);
	if (v.kind == EXE_REACHABLE)
		return 0;
	if ((flags & AT_EMPTY_PATH) && path[0] == '\0') {
		snprintf(fdname, sizeof(fdname), "file descriptor %d", dirfd);
		path = fdname;
	}
	report(path, &v);
	errno = EACCES;
	return -1;
}

/* The same for the exec*p functions: the file they would find through
 * PATH.  None found: exec reports that itself. */
static __attribute__((noinline)) int
exec_check_search(const char *file)
{
	char found[PATH_MAX];
	const char *search;

	if (strchr(file, '/') != NULL)
		return exec_check(AT_FDCWD, file, 0);
	search = getenv("PATH");
	if (file[0] == '\0' ||
	    exe_search(file, search != NULL ? search : DEFAULT_PATH, found, sizeof(found)) != 0)
		return 0;
	return exec_check(AT_FDCWD, found, 0);
}

/* ---- the exec calls, with the new environment ---- */

static int
run_execve(const char *path, char *const argv[], char *const envp[])
{
	static void *slot;
	execve_fn *f = (execve_fn *)real_lookup(&slot, "execve");
	struct new_env ne;

	if (env_build(&ne, envp) != 0)
		return -1;
	if (f != NULL)
		f(path, argv, ne.envp);
	else
		real_syscall(SYS_execve, (long)path, (long)argv, (long)ne.envp, 0, 0, 0);
	env_release(&ne);
	return -1;
}

static int
run_execvpe(const char *file, char *const argv[], char *const envp[])
{
	static void *slot;
	execve_fn *f = (execve_fn *)real_lookup(&slot, "execvpe");
	struct new_env ne;

	if (f == NULL) {
		errno = ENOSYS;
		return -1;
	}
	if (env_build(&ne, envp) != 0)
		return -1;
	f(file, argv, ne.envp);
	env_release(&ne);
	return -1;
}

static int
run_spawn(const char *name, pid_t *pid, const char *path,
    const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
    char *const argv[], char *const envp[], void **slot)
{
	posix_spawn_fn *f = (posix_spawn_fn *)real_lookup(slot, name);
	struct new_env ne;
	int saved = errno, r;

	if (f == NULL)
		return ENOSYS;
	if (env_build(&ne, envp) != 0) {
		r = errno;
		errno = saved;
		return r;
	}
	r = f(pid, path, fa, attr, argv, ne.envp);
	env_release(&ne);
	return r;
}

/* execl and its kin: the list as an argv array on the stack, as libc
 * builds it.  argc counts arg and what follows it up to the NULL. */
static void
collect(char **argv, size_t argc, const char *arg, va_list ap)
{
	if (argc > 0)
		argv[0] = (char *)arg;
	for (size_t i = 1; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	argv[argc] = NULL;
}

/* ---- the hooks ---- */

SFY_EXPORT int
execve(const char *path, char *const argv[], char *const envp[])
{
	if (exec_check(AT_FDCWD, path, 0) != 0)
		return -1;
	return run_execve(path, argv, envp);
}

SFY_EXPORT int
execv(const char *path, char *const argv[])
{
	if (exec_check(AT_FDCWD, path, 0) != 0)
		return -1;
	return run_execve(path, argv, environ);
}

SFY_EXPORT int
execvpe(const char *file, char *const argv[], char *const envp[])
{
	if (exec_check_search(file) != 0)
		return -1;
	return run_execvpe(file, argv, envp);
}

SFY_EXPORT int
execvp(const char *file, char *const argv[])
{
	if (exec_check_search(file) != 0)
		return -1;
	return run_execvpe(file, argv, environ);
}

SFY_EXPORT int
execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	static void *slot;
	execveat_fn *f;
	struct new_env ne;

	if (exec_check(dirfd, path, flags) != 0 || env_build(&ne, envp) != 0)
		return -1;
	f = (execveat_fn *)real_lookup(&slot, "execveat");
	if (f != NULL)
		f(dirfd, path, argv, ne.envp, flags);
	else
		real_syscall(SYS_execveat, dirfd, (long)path, (long)argv, (long)ne.envp, flags, 0);
	env_release(&ne);
	return -1;
}

SFY_EXPORT int
fexecve(int fd, char *const argv[], char *const envp[])
{
	static void *slot;
	fexecve_fn *f;
	struct new_env ne;

	if (exec_check(fd, "", AT_EMPTY_PATH) != 0 || env_build(&ne, envp) != 0)
		return -1;
	f = (fexecve_fn *)real_lookup(&slot, "fexecve");
	if (f != NULL)
		f(fd, argv, ne.envp);
	else
		real_syscall(SYS_execveat, fd, (long)"", (long)argv, (long)ne.envp, AT_EMPTY_PATH, 0);
	env_release(&ne);
	return -1;
}

SFY_EXPORT int
execl(const char *path, const char *arg, ...)
{
	va_list ap;
	size_t argc = 0;

	va_start(ap, arg);
	for (const char *a = arg; a != NULL; a = va_arg(ap, const char *))
		argc++;
	va_end(ap);
	{
		char *argv[argc + 1];

		va_start(ap, arg);
		collect(argv, argc, arg, ap);
		va_end(ap);
		if (exec_check(AT_FDCWD, path, 0) != 0)
			return -1;
		return run_execve(path, argv, environ);
	}
}

SFY_EXPORT int
execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	size_t argc = 0;

	va_start(ap, arg);
	for (const char *a = arg; a != NULL; a = va_arg(ap, const char *))
		argc++;
	va_end(ap);
	{
		char *argv[argc + 1];

		va_start(ap, arg);
		collect(argv, argc, arg, ap);
		va_end(ap);
		if (exec_check_search(file) != 0)
			return -1;
		return run_execvpe(file, argv, environ);
	}
}

SFY_EXPORT int
execle(const char *path, const char *arg, ...)
{
	va_list ap;
	size_t argc = 0;
	char *const *envp;

	va_start(ap, arg);
	for (const char *a = arg; a != NULL; a = va_arg(ap, const char *))
		argc++;
	envp = va_arg(ap, char *const *);
	va_end(ap);
	{
		char *argv[argc + 1];

		va_start(ap, arg);
		collect(argv, argc, arg, ap);
		va_end(ap);
		if (exec_check(AT_FDCWD, path, 0) != 0)
			return -1;
		return run_execve(path, argv, envp);
	}
}

SFY_EXPORT int
posix_spawn(pid_t *restrict pid, const char *restrict path,
    const posix_spawn_file_actions_t *restrict fa, const posix_spawnattr_t *restrict attr,
    char *const argv[restrict], char *const envp[restrict])
{
	static void *slot;
	int saved = errno;

	if (exec_check(AT_FDCWD, path, 0) != 0) {
		errno = saved;
		return EACCES;
	}
	return run_spawn("posix_spawn", pid, path, fa, attr, argv, envp, &slot);
}

SFY_EXPORT int
posix_spawnp(pid_t *restrict pid, const char *restrict file,
    const posix_spawn_file_actions_t *restrict fa, const posix_spawnattr_t *restrict attr,
    char *const argv[restrict], char *const envp[restrict])
{
	static void *slot;
	int saved = errno;

	if (exec_check_search(file) != 0) {
		errno = saved;
		return EACCES;
	}
	return run_spawn("posix_spawnp", pid, file, fa, attr, argv, envp, &slot);
}

/* ---- start-up ---- */

/* This library's own path (the loader's name for it, made absolute while
 * the working directory is still the one it was loaded from) and the
 * settings as "NAME=value" strings: copied now, before the program can
 * change its environment or its directory. */
__attribute__((constructor)) static void
exec_init(void)
{
	static char abs[PATH_MAX];
	Dl_info di;
	size_t used = 0;

	if (dladdr((void *)exec_init, &di) != 0 && di.dli_fname != NULL &&
	    di.dli_fname[0] != '\0') {
		const char *p = di.dli_fname;

		if (p[0] != '/')
			p = realpath(p, abs);
		/* The loader splits LD_PRELOAD at blanks and colons: such a
		 * path cannot be put back. */
		if (p != NULL && strpbrk(p, " :") == NULL &&
		    strlen(p) < sizeof(preload_var) - PRELOAD_VAR_LEN) {
			snprintf(preload_var, sizeof(preload_var), "%s%s", PRELOAD_VAR, p);
			self = preload_var + PRELOAD_VAR_LEN;
		}
	}
	for (size_t i = 0; i < NSETTINGS; i++) {
		const char *v = env_setting(setting_names[i]);
		size_t need;

		if (v == NULL)
			continue;
		need = strlen(setting_names[i]) + 1 + strlen(v) + 1;
		if (need > sizeof(settings_buf) - used)
			continue;
		snprintf(settings_buf + used, need, "%s=%s", setting_names[i], v);
		settings[nsettings++] = settings_buf + used;
		used += need;
	}
}
