/* launcher.h: the parts of socksify-run, the launcher's compiled half. */
#ifndef SOCKSIFY_LAUNCHER_H
#define SOCKSIFY_LAUNCHER_H

#include <stddef.h>

#include "exe_kind.h"
#include "socksify/config.h"

/* Exit status of every launcher error. */
#define LAUNCH_ERR 2

/* Finds cmd through PATH (unless it holds a '/') and judges whether
 * LD_PRELOAD can reach it (preload/exe_kind.h): dynamically linked, of
 * this machine's ELF class, not set-ID, without file capabilities, not a
 * Go program; for a #! script, its interpreter is what runs and is
 * judged.  Returns 0 with the path in out and the verdict in v (when it is
 * not EXE_REACHABLE, why says why and what to do instead), or -1 with a
 * message in why when there is no such command. */
int exe_check(const char *cmd, char *out, size_t cap, char *why, size_t whylen,
    struct exe_verdict *v);

/* --check: validates by probing each hop; prints one line per hop and
 * returns the exit status (0 all answered, 1 otherwise). */
int probe_hops(const struct cfg *cfg);

#endif
