/* prog_util.h: address parsing and one echo round trip, shared by the e2e test programs. */
#ifndef PROG_UTIL_H
#define PROG_UTIL_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Print an errno as its symbolic name, so tests can match it exactly. */
static inline const char *prog_errname(int e)
{
	switch (e) {
	case ECONNREFUSED: return "ECONNREFUSED";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EACCES: return "EACCES";
	case EPROTO: return "EPROTO";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	case ENETUNREACH: return "ENETUNREACH";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case EINTR: return "EINTR";
	case EINPROGRESS: return "EINPROGRESS";
	case EPIPE: return "EPIPE";
	case ECONNRESET: return "ECONNRESET";
	case EAGAIN: return "EAGAIN";
	case EBADF: return "EBADF";
	case EMFILE: return "EMFILE";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default: return "EOTHER";
	}
}

/* Fill SS from a numeric HOST and PORT; returns its length, exits on error. */
static inline socklen_t prog_addr(const char *host, const char *port,
				  struct sockaddr_storage *ss)
{
	struct addrinfo hints, *res;
	socklen_t len;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "bad address %s %s: %s\n", host, port,
			gai_strerror(rc));
		exit(64);
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	len = res->ai_addrlen;
	freeaddrinfo(res);
	return len;
}

/* Write all of BUF, retrying EINTR; 0 or -1 with errno. */
static inline int prog_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read exactly N bytes, retrying EINTR; 0, or -1 with errno (EPIPE at EOF). */
static inline int prog_read_all(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			errno = EPIPE;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Send MSG on a connected FD and check the echo server sends it back. */
static inline int prog_echo(int fd, const char *msg)
{
	char buf[256];
	size_t n = strlen(msg);

	if (n > sizeof(buf) || prog_write_all(fd, msg, n) < 0 ||
	    prog_read_all(fd, buf, n) < 0)
		return -1;
	if (memcmp(buf, msg, n) != 0) {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

/* Blocking connect to SS and one echo of MSG; returns fd or -1 (errno set). */
static inline int prog_connect_echo(const struct sockaddr_storage *ss,
				    socklen_t len, const char *msg)
{
	int fd, e;

	fd = socket(ss->ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)ss, len) < 0 ||
	    prog_echo(fd, msg) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

#endif
