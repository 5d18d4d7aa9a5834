/* exe.c: can LD_PRELOAD reach this command?
 *
 * The launcher's half of the check the library's exec hooks make
 * (preload/exe_kind.c judges both): a program the library cannot follow
 * into (statically linked, set-ID or with file capabilities where the
 * kernel honours them, of another ELF class, or written in Go) would send
 * its traffic direct if run with the library alone.  run.c decides what
 * to do with the verdict: static and Go programs go to the supervisor,
 * the others are refused with the reason written here.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exe_kind.h"
#include "launcher.h"

/* Where commands are looked for when PATH is unset. */
#define LAUNCH_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

int
exe_check(const char *cmd, char *out, size_t cap, char *why, size_t whylen,
    struct exe_verdict *v)
{
	const char *path = getenv("PATH");
	struct stat st;
	char what[512];

	if (strchr(cmd, '/') != NULL) {
		snprintf(out, cap, "%s", cmd);
	} else if (cmd[0] == '\0' ||
	    exe_search(cmd, path != NULL ? path : LAUNCH_DEFAULT_PATH, out, cap) != 0) {
		snprintf(why, whylen, "%s: command not found", cmd);
		return -1;
	}
	if (stat(out, &st) != 0) {
		snprintf(why, whylen, "%s: %s", out, strerror(errno));
		return -1;
	}
	exe_classify(AT_FDCWD, out, 0, v);
	why[0] = '\0';
	if (v->kind != EXE_REACHABLE)
		snprintf(why, whylen, "%s: its connections would not go through the proxy, "
		    "so it is not run. %s", exe_describe(v, out, what, sizeof(what)),
		    exe_advice(v->kind));
	return 0;
}
