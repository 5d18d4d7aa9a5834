/* hostsfile.h: /etc/hosts, read by us so that names listed there keep
 * their local addresses while every other name goes to the proxy. */
#ifndef SOCKSIFY_HOSTSFILE_H
#define SOCKSIFY_HOSTSFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HOSTS_MAX_ADDRS 8

struct hosts_addrs {
	size_t n4, n6;
	uint8_t v4[HOSTS_MAX_ADDRS][4];
	uint8_t v6[HOSTS_MAX_ADDRS][16];
	char canon[256];            /* the first name on the matching line */
};

/* Looks name up (case-insensitively) in the hosts file; "localhost" and
 * names ending in ".localhost" always answer 127.0.0.1 and ::1.  The file
 * is read again whenever its size, time or inode changes, or when the last
 * reading could not finish (no memory, no fd).  A name whose entry could
 * not be stored for want of memory is simply not there.  Returns true when
 * the name is there (with at least one address).  Thread-safe, with fork
 * handlers; never exits or aborts. */
bool hosts_lookup(const char *name, struct hosts_addrs *out);

/* Finds the first name for an address (family AF_INET or AF_INET6). */
bool hosts_reverse(int family, const void *addr, char *name, size_t cap);

/* Path of the file (tests point it elsewhere with SOCKSIFY_HOSTS). */
const char *hosts_path(void);

#endif
