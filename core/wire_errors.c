/* wire_errors.c: what reply codes mean, to people and to errno. */
#include <errno.h>

#include "socksify/wire.h"

const char *
socks4_strerror(uint8_t code)
{
	switch (code) {
	case SOCKS4_REP_GRANTED:
		return "request granted";
	case SOCKS4_REP_REJECTED:
		return "request rejected or failed";
	case SOCKS4_REP_NO_IDENTD:
		return "rejected: server cannot reach the client's identd";
	case SOCKS4_REP_IDENT_MISMATCH:
		return "rejected: identd and client user id differ";
	default:
		return "unknown SOCKS4 reply code";
	}
}

const char *
socks5_strerror(uint8_t code)
{
	switch (code) {
	case SOCKS5_REP_SUCCEEDED:
		return "succeeded";
	case SOCKS5_REP_GENERAL_FAILURE:
		return "general SOCKS server failure";
	case SOCKS5_REP_NOT_ALLOWED:
		return "connection not allowed by ruleset";
	case SOCKS5_REP_NET_UNREACH:
		return "network unreachable";
	case SOCKS5_REP_HOST_UNREACH:
		return "host unreachable";
	case SOCKS5_REP_CONN_REFUSED:
		return "connection refused";
	case SOCKS5_REP_TTL_EXPIRED:
		return "TTL expired";
	case SOCKS5_REP_CMD_UNSUPPORTED:
		return "command not supported";
	case SOCKS5_REP_ATYP_UNSUPPORTED:
		return "address type not supported";
	default:
		return "unknown SOCKS5 reply code";
	}
}

int
socks4_rep_errno(uint8_t code)
{
	switch (code) {
	case SOCKS4_REP_GRANTED:
		return 0;
	case SOCKS4_REP_NO_IDENTD:
	case SOCKS4_REP_IDENT_MISMATCH:
		return EACCES;
	default:
		return ECONNREFUSED;
	}
}

int
socks5_rep_errno(uint8_t code)
{
	switch (code) {
	case SOCKS5_REP_SUCCEEDED:
		return 0;
	case SOCKS5_REP_NOT_ALLOWED:
		return EACCES;
	case SOCKS5_REP_NET_UNREACH:
		return ENETUNREACH;
	case SOCKS5_REP_HOST_UNREACH:
		return EHOSTUNREACH;
	case SOCKS5_REP_TTL_EXPIRED:
		return ETIMEDOUT;
	case SOCKS5_REP_CMD_UNSUPPORTED:
		return EOPNOTSUPP;
	case SOCKS5_REP_ATYP_UNSUPPORTED:
		return EAFNOSUPPORT;
	case SOCKS5_REP_GENERAL_FAILURE:
	case SOCKS5_REP_CONN_REFUSED:
	default:
		return ECONNREFUSED;
	}
}

int
http_status_errno(int status)
{
	if (status >= 200 && status <= 299)
		return 0;
	switch (status) {
	case 401:
	case 403:
	case 407:
		return EACCES;
	case 504:
		return ETIMEDOUT;
	default:
		return ECONNREFUSED;
	}
}

uint8_t
socks5_rep_from_errno(int err)
{
	/* err is a failure: 0 here is a caller's bug, never "succeeded". */
	switch (err) {
	case EACCES:
	case EPERM:
		return SOCKS5_REP_NOT_ALLOWED;
	case ENETUNREACH:
	case ENETDOWN:
		return SOCKS5_REP_NET_UNREACH;
	case EHOSTUNREACH:
	case EHOSTDOWN:
		return SOCKS5_REP_HOST_UNREACH;
	case ECONNREFUSED:
		return SOCKS5_REP_CONN_REFUSED;
	case ETIMEDOUT:
		return SOCKS5_REP_TTL_EXPIRED;
	case EOPNOTSUPP:
		return SOCKS5_REP_CMD_UNSUPPORTED;
	case EAFNOSUPPORT:
		return SOCKS5_REP_ATYP_UNSUPPORTED;
	default:
		return SOCKS5_REP_GENERAL_FAILURE;
	}
}
