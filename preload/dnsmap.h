/* dnsmap.h: the two-way map between names and the stand-in addresses
 * that represent them inside a process (remote DNS).
 *
 * Each name gets an index; the index picks one IPv4 address in the fake
 * IPv4 range and one IPv6 address in the fake IPv6 range, so a name has
 * the same number in both families.  The map holds at most `cap` names.
 * When it is full, the least recently used name that no open socket uses
 * (pin count zero) is forgotten; indexes are handed out by a cursor that
 * walks the whole range before it comes back, so a forgotten address is
 * reused as late as possible, and a pinned address is never reused.  If
 * every name is pinned, a new name is refused.
 *
 * Thread-safe: one mutex, with fork handlers, so the child of a threaded
 * program keeps the parent's map and can use it at once.  Releasing and
 * reading a held pin take no lock (dns_map_unpin, dns_map_pin_name).  Nothing here exits or aborts: a failed allocation is a
 * failed call.
 */
#ifndef SOCKSIFY_DNSMAP_H
#define SOCKSIFY_DNSMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "socksify/addr.h"

/* Sets the ranges and the bound.  Ranges must leave room for at least
 * 256 addresses; cap is clipped to half the range size.  Until it is
 * called the map uses the configuration defaults (config.h).  Returns 0 or -1 with
 * *why set.  May be called again: the map is then emptied as by
 * dns_map_reset(). */
int dns_map_setup(const struct addr_cidr *v4, const struct addr_cidr *v6,
    size_t cap, const char **why);

/* Returns the index for name (creating it when new), or 0 with errno
 * EAGAIN when the map is full of pinned names, ENOMEM when memory ran out,
 * EINVAL for an empty or over-long name.  Names are compared without case
 * and without a trailing dot. */
uint32_t dns_map_get(const char *name);

/* If sa is a stand-in address that maps to a live name, copies the name
 * (NUL terminated) and returns its index; otherwise returns 0. */
uint32_t dns_map_lookup_addr(const struct sockaddr *sa, char *name, size_t cap);

/* True when sa lies inside one of the fake ranges, mapped or not. */
bool dns_map_in_range(const struct sockaddr *sa);

/* The stand-in addresses of an index, network order. */
void dns_map_addr4(uint32_t idx, uint8_t out[4]);
void dns_map_addr6(uint32_t idx, uint8_t out[16]);

/* Pins the live name that stand-in sa stands for, so the map never
 * forgets it while a socket uses it.  Returns an opaque pin, or NULL when
 * sa is no live stand-in.  Takes the map's lock: not for signal handlers. */
void *dns_map_pin(const struct sockaddr *sa);

/* Releases a pin: lock-free and async-signal-safe (an atomic decrement),
 * so close() may call it from a signal handler that interrupted this
 * thread inside the map's lock.  NULL is a no-op.  Each pin is released
 * once; the name may be forgotten as soon as its last pin goes. */
void dns_map_unpin(void *pin);


/* The name a pin holds (normalised, NUL terminated).  Lock-free; the
 * string stays valid and unchanged for as long as the pin is held. */
const char *dns_map_pin_name(const void *pin);

/* Figures for tests and --check. */
size_t dns_map_count(void);
size_t dns_map_capacity(void);
void dns_map_ranges(struct addr_cidr *v4, struct addr_cidr *v6);

/* Forgets every name (tests only).  A pinned name leaves the map too (its
 * address may be handed out again) but its memory stays until it is
 * unpinned, so outstanding pins remain safe to release. */
void dns_map_reset(void);

#endif
