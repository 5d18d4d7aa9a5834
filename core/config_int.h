/* config_int.h: helpers shared by the two config file formats. */
#ifndef SOCKSIFY_CONFIG_INT_H
#define SOCKSIFY_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "socksify/config.h"

/* Longest line accepted, without its newline. */
#define CFG_LINE_MAX 4096

struct cfg_parser {
	const char *name;
	unsigned line;
	char *err;
	size_t errlen;
	struct cfg *c;
	unsigned chain_len_line; /* where chain_len was set, for late checks */
	bool in_proxylist;       /* proxychains: inside [ProxyList] */
};

/* Writes "NAME:LINE: message" into p->err and returns -1. */
int cfg_perr(struct cfg_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Parses a decimal integer in [min, max]. */
int cfg_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out);
/* Parses "SECONDS" with up to three decimals into milliseconds (> 0). */
int cfg_parse_seconds(const char *s, unsigned *ms);

int cfg_add_direct(struct cfg_parser *p, const struct addr_cidr *r);

/* True when the text looks like a proxychains.conf. */
bool cfg_is_proxychains(const char *buf, size_t len);
/* Handles one comment-stripped, trimmed, non-empty proxychains line. */
int cfg_pc_line(struct cfg_parser *p, char *line);

#endif
