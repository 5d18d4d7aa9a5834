/* launcher.h: the parts of socksify-run, the launcher's compiled half. */
#ifndef SOCKSIFY_LAUNCHER_H
#define SOCKSIFY_LAUNCHER_H

#include <stddef.h>

#include "socksify/config.h"

/* Exit status of every launcher error. */
#define LAUNCH_ERR 2

/* Finds cmd through PATH (unless it holds a '/') and checks that LD_PRELOAD
 * can reach it (preload/exe_kind.h): dynamically linked, of this machine's
 * ELF class, not set-ID, without file capabilities, not a Go program; for
 * a #! script, its interpreter is what runs and is checked.  Returns 0 with
 * the path in out, or -1 with a message in why that says why and what to
 * do instead. */
int exe_check(const char *cmd, char *out, size_t cap, char *why, size_t whylen);

/* --check: validates by probing each hop; prints one line per hop and
 * returns the exit status (0 all answered, 1 otherwise). */
int probe_hops(const struct cfg *cfg);

#endif
