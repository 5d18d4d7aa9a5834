/* secret.h: proxy credentials handed from the launcher to the library
 * without putting them in the environment.
 *
 * The launcher writes the chain given with -p into a sealed memfd that
 * every descendant inherits; SOCKSIFY_CHAIN_FD names its number.  The
 * library finds it at start-up (even if a program moved it) and treats it
 * as an internal fd the program cannot close.
 */
#ifndef SOCKSIFY_PRELOAD_SECRET_H
#define SOCKSIFY_PRELOAD_SECRET_H

#include <stddef.h>

/* The inherited chain memfd, or -1 when there is none.  Called once, from
 * the constructor; reads SOCKSIFY_CHAIN_FD and checks that the fd really is
 * the launcher's memfd. */
int secret_find(void);

/* Reads the chain (proxy URLs, space separated) from the memfd fd into
 * buf, NUL terminated.  0, or -1 with errno (E2BIG when it does not fit). */
int secret_read(int fd, char *buf, size_t cap);

#endif
