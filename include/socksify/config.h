/* config.h: the socksify configuration and its parsers.
 *
 * One parser for both file formats (socksify.conf and proxychains.conf),
 * shared by the launcher and the library.  cfg_parse_buffer() is pure: it
 * reads a buffer, fills a struct cfg (no allocation, fixed-size arrays) and
 * reports the first error as "NAME:LINE: what is wrong".  cfg_load_file()
 * and cfg_find_file() are the only functions that touch the file system.
 */
#ifndef SOCKSIFY_CONFIG_H
#define SOCKSIFY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "socksify/addr.h"

#define CFG_MAX_PROXIES 32
#define CFG_MAX_RULES 64
#define CFG_PATH_MAX 1024
/* Largest config file read: anything bigger is certainly not a config. */
#define CFG_FILE_MAX (1024 * 1024)
#define CFG_DNS_CACHE_DEFAULT 65536
#define CFG_DNS_CACHE_MAX (16u * 1024 * 1024)

enum cfg_chain {
	CFG_CHAIN_STRICT = 0,
	CFG_CHAIN_DYNAMIC,
	CFG_CHAIN_RANDOM,
	CFG_CHAIN_ROUND_ROBIN,
};

/* Log levels, most severe first.  CFG_LOG_NONE silences the library. */
enum cfg_log {
	CFG_LOG_NONE = 0,
	CFG_LOG_ERROR,
	CFG_LOG_WARN,
	CFG_LOG_INFO,
	CFG_LOG_DEBUG,
};

enum cfg_udp { CFG_UDP_DIRECT = 0, CFG_UDP_REFUSE, CFG_UDP_CHAIN };
/* Which listening sockets go through the chain (SOCKS BIND). */
enum cfg_bind { CFG_BIND_AUTO = 0, CFG_BIND_CHAIN, CFG_BIND_LOCAL };
enum cfg_dns { CFG_DNS_LOCAL = 0, CFG_DNS_REMOTE };

enum cfg_format { CFG_FORMAT_SOCKSIFY = 0, CFG_FORMAT_PROXYCHAINS };

struct cfg {
	enum cfg_format format;
	enum cfg_chain chain;
	unsigned chain_len;          /* 0: all hops */
	unsigned nproxies;
	struct proxy_url proxies[CFG_MAX_PROXIES];
	/* direct_set: the file gave direct lines (or "none"), which replace the
	 * default loopback ranges; ndirect may then be 0. */
	bool direct_set;
	unsigned ndirect;
	struct addr_cidr direct[CFG_MAX_RULES];
	unsigned ndeny;
	struct addr_cidr deny[CFG_MAX_RULES];
	unsigned connect_timeout_ms;
	unsigned handshake_timeout_ms;
	enum cfg_log log_level;
	char log_file[CFG_PATH_MAX];
	enum cfg_udp udp;
	enum cfg_dns dns;
	/* Remote DNS: the ranges stand-in addresses come from, and how many
	 * names the map holds (see the name map in preload/dnsmap.h). */
	struct addr_cidr fake_ipv4;
	struct addr_cidr fake_ipv6;
	unsigned dns_cache_size;
	unsigned remote_dns_subnet;  /* proxychains only: accepted, kept */
	/* The SOCKS5 greeting goes in one write with the request, to the last
	 * hop of a strict chain, when it needs no login. */
	bool pipeline;
	enum cfg_bind bind;
};

/* Fills c with the defaults: strict chain, no proxies, direct 127.0.0.0/8
 * and ::1/128, connect 5 s, handshake 15 s, log warn, udp chain, dns
 * remote with stand-ins from 240.0.0.0/8 and 100::/64, 65536 names.
 * (A proxychains.conf resolves locally unless it says proxy_dns.) */
void cfg_defaults(struct cfg *c);

/* Parses a whole config (either format; proxychains is recognised by its
 * [ProxyList] section or its bare keywords) into out, which is reset to
 * the defaults first.  name is used in error messages.  Returns 0, or -1
 * with err holding "NAME:LINE: what is wrong". */
int cfg_parse_buffer(const char *buf, size_t len, const char *name,
    struct cfg *out, char *err, size_t errlen);

/* Replaces c's chain with the space-separated proxy URLs in urls (the -p
 * options, SOCKSIFY_CHAIN or SOCKSIFY_PROXY).  chain_len is capped to the
 * new number of hops.  Returns 0, or -1 with err naming the bad URL. */
int cfg_set_chain(struct cfg *c, const char *urls, char *err, size_t errlen);

/* Parses a level name (error, warn, info, debug, and none/quiet).  -1 if
 * unknown. */
/* The dns mode in force: remote when any hop is socks5h:// (whose promise
 * is that names always go to the proxy), else what the config says. */
enum cfg_dns cfg_effective_dns(const struct cfg *c);
int cfg_log_level_parse(const char *s);
const char *cfg_log_level_name(enum cfg_log l);
const char *cfg_chain_name(enum cfg_chain m);

/* The default rules apply when the config gave no direct line. */
unsigned cfg_direct_rules(const struct cfg *c, const struct addr_cidr **rules);

/* Reads and parses the file at path.  Errors (cannot open, too big, parse
 * errors) come back in err as "PATH: why" or "PATH:LINE: why". */
int cfg_load_file(const char *path, struct cfg *out, char *err, size_t errlen);

/* Looks for a config file in the standard places: $SOCKSIFY_CONF (when
 * use_env), ./socksify.conf, ${XDG_CONFIG_HOME:-~/.config}/socksify/
 * socksify.conf, /etc/socksify.conf.  Returns 1 and the path in out when
 * a file exists, 0 when none does, -1 when $SOCKSIFY_CONF names a file that
 * cannot be read (err says why). */
int cfg_find_file(bool use_env, char *out, size_t cap, char *err, size_t errlen);

#endif
