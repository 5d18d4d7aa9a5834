/* dns_probe.c: runs resolver calls given on the command line, in order, in
 * one process, and prints what each returned, for the remote-DNS suites.
 *
 * Each argument is one command, its fields separated by spaces ("-" means
 * NULL):
 *   gai NODE SERV FAM FLAGS SOCKTYPE   getaddrinfo; FAM nohints|unspec|inet|inet6,
 *                                      FLAGS 0 or a comma list (numerichost,
 *                                      passive,canonname,addrconfig,v4mapped,
 *                                      all,numericserv), SOCKTYPE 0|stream|dgram|raw
 *   gni ADDR PORT FLAGS                getnameinfo on a numeric address; FLAGS 0 or
 *                                      namereqd,numerichost,numericserv,dgram
 *   rgni NAME FAM FLAGS                getaddrinfo(NAME, FAM) then getnameinfo on
 *                                      every result
 *   ghbn NAME / ghbn2 NAME FAM         gethostbyname / gethostbyname2
 *   ghbnr NAME BUFLEN                  gethostbyname_r with a BUFLEN-byte buffer
 *   ghbn2r NAME FAM BUFLEN             gethostbyname2_r
 *   ghba ADDR                          gethostbyaddr on a numeric address
 *   ghbar ADDR BUFLEN                  gethostbyaddr_r
 *   rghba NAME FAM                     gethostbyname2 then gethostbyaddr on its
 *                                      first address
 *   conn NAME PORT FAM                 getaddrinfo, connect, one echo round trip
 *   connaddr ADDR PORT                 connect to a numeric address, round trip
 *   udp ADDR PORT                      sendto a numeric address
 *   fork CMD                           run CMD (a command of this list, with ':'
 *                                      for spaces) in a forked child
 *   sh CMD                             system(CMD)
 * A field "@" stands for the first address the last gai, ghbn*, or rghba
 * printed, so a stand-in can be looked up again in the same process.
 * Output: one or more lines per command, each starting with its name.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXF 8

static char last_addr[INET6_ADDRSTRLEN] = "none";

static const char *eai_name(int rc)
{
	switch (rc) {
	case 0: return "0";
	case EAI_NONAME: return "EAI_NONAME";
	case EAI_AGAIN: return "EAI_AGAIN";
	case EAI_FAIL: return "EAI_FAIL";
	case EAI_FAMILY: return "EAI_FAMILY";
	case EAI_SERVICE: return "EAI_SERVICE";
	case EAI_BADFLAGS: return "EAI_BADFLAGS";
	case EAI_SOCKTYPE: return "EAI_SOCKTYPE";
	case EAI_ADDRFAMILY: return "EAI_ADDRFAMILY";
	case EAI_NODATA: return "EAI_NODATA";
	case EAI_MEMORY: return "EAI_MEMORY";
	case EAI_SYSTEM: return "EAI_SYSTEM";
	case EAI_OVERFLOW: return "EAI_OVERFLOW";
	default: return "EAI_OTHER";
	}
}

static const char *herr_name(int h)
{
	switch (h) {
	case 0: return "0";
	case HOST_NOT_FOUND: return "HOST_NOT_FOUND";
	case TRY_AGAIN: return "TRY_AGAIN";
	case NO_RECOVERY: return "NO_RECOVERY";
	case NO_DATA: return "NO_DATA";
	case NETDB_INTERNAL: return "NETDB_INTERNAL";
	default: return "H_OTHER";
	}
}

static const char *err_name(int e)
{
	static char buf[32];

	switch (e) {
	case 0: return "0";
	case ERANGE: return "ERANGE";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ENETUNREACH: return "ENETUNREACH";
	case EACCES: return "EACCES";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EAGAIN: return "EAGAIN";
	case ENOENT: return "ENOENT";
	default:
		snprintf(buf, sizeof(buf), "E%d", e);
		return buf;
	}
}

static const char *fam_name(int f)
{
	return f == AF_INET ? "inet" : f == AF_INET6 ? "inet6" : "other";
}

static int fam_parse(const char *s)
{
	if (strcmp(s, "inet") == 0)
		return AF_INET;
	if (strcmp(s, "inet6") == 0)
		return AF_INET6;
	return AF_UNSPEC;
}

static const char *st_name(int t)
{
	return t == SOCK_STREAM ? "stream" : t == SOCK_DGRAM ? "dgram" :
	    t == SOCK_RAW ? "raw" : "0";
}

static int st_parse(const char *s)
{
	if (strcmp(s, "stream") == 0)
		return SOCK_STREAM;
	if (strcmp(s, "dgram") == 0)
		return SOCK_DGRAM;
	if (strcmp(s, "raw") == 0)
		return SOCK_RAW;
	return 0;
}

static int flags_parse(const char *s)
{
	static const struct { const char *n; int v; } t[] = {
		{ "numerichost", AI_NUMERICHOST }, { "passive", AI_PASSIVE },
		{ "canonname", AI_CANONNAME }, { "addrconfig", AI_ADDRCONFIG },
		{ "v4mapped", AI_V4MAPPED }, { "all", AI_ALL },
		{ "numericserv", AI_NUMERICSERV }, { "namereqd", NI_NAMEREQD },
		{ "dgram", NI_DGRAM }, { "nofqdn", NI_NOFQDN },
	};
	char buf[256], *tok, *save;
	int v = 0;
	size_t i;

	/* NI_NUMERICHOST and NI_NUMERICSERV share no value with AI_*: keep
	 * the getnameinfo ones apart by name. */
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "ni_numerichost") == 0)
			v |= NI_NUMERICHOST;
		else if (strcmp(tok, "ni_numericserv") == 0)
			v |= NI_NUMERICSERV;
		for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
			if (strcmp(tok, t[i].n) == 0)
				v |= t[i].v;
	}
	return v;
}

static const char *nul(const char *s)
{
	return strcmp(s, "-") == 0 ? NULL : s;
}

/* Formats the address of sa (no port) into out. */
static void sa_addr(const struct sockaddr *sa, char *out, size_t cap)
{
	const void *a = sa->sa_family == AF_INET ?
	    (const void *)&((const struct sockaddr_in *)sa)->sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;

	if (inet_ntop(sa->sa_family, a, out, cap) == NULL)
		snprintf(out, cap, "?");
}

static int sa_port(const struct sockaddr *sa)
{
	return ntohs(sa->sa_family == AF_INET ?
	    ((const struct sockaddr_in *)sa)->sin_port :
	    ((const struct sockaddr_in6 *)sa)->sin6_port);
}

/* Builds a sockaddr from a numeric address, without the resolver. */
static socklen_t sa_make(const char *addr, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)port);
		return sizeof(*s4);
	}
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)port);
		return sizeof(*s6);
	}
	fprintf(stderr, "dns_probe: not a numeric address: %s\n", addr);
	exit(2);
}

static void print_hostent(const char *tag, const struct hostent *h)
{
	char a[INET6_ADDRSTRLEN];
	int i;

	printf("%s name=%s type=%s len=%d aliases=", tag, h->h_name,
	    fam_name(h->h_addrtype), h->h_length);
	for (i = 0; h->h_aliases && h->h_aliases[i]; i++)
		printf("%s%s", i ? "," : "", h->h_aliases[i]);
	printf(" addrs=");
	for (i = 0; h->h_addr_list[i]; i++) {
		inet_ntop(h->h_addrtype, h->h_addr_list[i], a, sizeof(a));
		printf("%s%s", i ? "," : "", a);
		if (i == 0)
			memcpy(last_addr, a, sizeof(a));
	}
	printf("\n");
}

static void cmd_gai(char **f, int n)
{
	struct addrinfo hints, *res = NULL, *ai;
	char a[INET6_ADDRSTRLEN];
	int rc;

	if (n < 6)
		exit(2);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = fam_parse(f[3]);
	hints.ai_flags = flags_parse(f[4]);
	hints.ai_socktype = st_parse(f[5]);
	rc = getaddrinfo(nul(f[1]), nul(f[2]),
	    strcmp(f[3], "nohints") == 0 ? NULL : &hints, &res);
	printf("gai rc=%s\n", eai_name(rc));
	if (rc != 0)
		return;
	for (ai = res; ai; ai = ai->ai_next) {
		sa_addr(ai->ai_addr, a, sizeof(a));
		printf("ai %s %s %d %s %d\n", fam_name(ai->ai_family), a,
		    sa_port(ai->ai_addr), st_name(ai->ai_socktype), ai->ai_protocol);
		if (ai == res)
			memcpy(last_addr, a, sizeof(a));
	}
	if (res->ai_canonname)
		printf("canon %s\n", res->ai_canonname);
	freeaddrinfo(res);
}

static void do_gni(const char *tag, const struct sockaddr *sa, socklen_t len, int flags)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	int rc;

	rc = getnameinfo(sa, len, host, sizeof(host), serv, sizeof(serv), flags);
	if (rc == 0)
		printf("%s rc=0 host=%s serv=%s\n", tag, host, serv);
	else
		printf("%s rc=%s\n", tag, eai_name(rc));
}

static void cmd_gni(char **f, int n)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (n < 4)
		exit(2);
	len = sa_make(f[1], atoi(f[2]), &ss);
	do_gni("gni", (struct sockaddr *)&ss, len, flags_parse(f[3]));
}

static void cmd_rgni(char **f, int n)
{
	struct addrinfo hints, *res = NULL, *ai;
	char a[INET6_ADDRSTRLEN], tag[80];
	int rc;

	if (n < 4)
		exit(2);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = fam_parse(f[2]);
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(f[1], "80", &hints, &res);
	if (rc != 0) {
		printf("rgni gai rc=%s\n", eai_name(rc));
		return;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		sa_addr(ai->ai_addr, a, sizeof(a));
		snprintf(tag, sizeof(tag), "rgni %s", a);
		do_gni(tag, ai->ai_addr, ai->ai_addrlen, flags_parse(f[3]));
	}
	freeaddrinfo(res);
}

static void cmd_ghbn(char **f, int n, int two)
{
	struct hostent *h;

	if (n < 2 + two)
		exit(2);
	h_errno = 0;
	h = two ? gethostbyname2(f[1], fam_parse(f[2])) : gethostbyname(f[1]);
	if (h)
		print_hostent(two ? "ghbn2" : "ghbn", h);
	else
		printf("%s h_errno=%s\n", two ? "ghbn2" : "ghbn", herr_name(h_errno));
}

static void cmd_ghbnr(char **f, int n, int two)
{
	struct hostent he, *res = NULL;
	size_t len;
	char *buf;
	int rc, herr = 0;

	if (n < 3 + two)
		exit(2);
	len = (size_t)atol(f[2 + two]);
	buf = malloc(len ? len : 1);
	errno = 0;
	if (two)
		rc = gethostbyname2_r(f[1], fam_parse(f[2]), &he, buf, len, &res, &herr);
	else
		rc = gethostbyname_r(f[1], &he, buf, len, &res, &herr);
	if (rc == 0 && res)
		print_hostent(two ? "ghbn2r" : "ghbnr", res);
	else
		printf("%s rc=%s result=%s h_errno=%s\n", two ? "ghbn2r" : "ghbnr",
		    err_name(rc), res ? "set" : "null", herr_name(herr));
	free(buf);
}

static void do_ghba(const char *tag, const void *addr, socklen_t alen, int af)
{
	struct hostent *h;

	h_errno = 0;
	h = gethostbyaddr(addr, alen, af);
	if (h)
		print_hostent(tag, h);
	else
		printf("%s h_errno=%s\n", tag, herr_name(h_errno));
}

static void cmd_ghba(char **f, int n)
{
	struct sockaddr_storage ss;

	if (n < 2)
		exit(2);
	sa_make(f[1], 0, &ss);
	if (ss.ss_family == AF_INET)
		do_ghba("ghba", &((struct sockaddr_in *)&ss)->sin_addr, 4, AF_INET);
	else
		do_ghba("ghba", &((struct sockaddr_in6 *)&ss)->sin6_addr, 16, AF_INET6);
}

static void cmd_ghbar(char **f, int n)
{
	struct sockaddr_storage ss;
	struct hostent he, *res = NULL;
	size_t len;
	char *buf;
	int rc, herr = 0;

	if (n < 3)
		exit(2);
	sa_make(f[1], 0, &ss);
	len = (size_t)atol(f[2]);
	buf = malloc(len ? len : 1);
	if (ss.ss_family == AF_INET)
		rc = gethostbyaddr_r(&((struct sockaddr_in *)&ss)->sin_addr, 4, AF_INET,
		    &he, buf, len, &res, &herr);
	else
		rc = gethostbyaddr_r(&((struct sockaddr_in6 *)&ss)->sin6_addr, 16,
		    AF_INET6, &he, buf, len, &res, &herr);
	if (rc == 0 && res)
		print_hostent("ghbar", res);
	else
		printf("ghbar rc=%s result=%s h_errno=%s\n", err_name(rc),
		    res ? "set" : "null", herr_name(herr));
	free(buf);
}

static void cmd_rghba(char **f, int n)
{
	struct hostent *h;
	char addr[16], a[INET6_ADDRSTRLEN], tag[80];
	int af, len;

	if (n < 3)
		exit(2);
	h = gethostbyname2(f[1], fam_parse(f[2]));
	if (h == NULL || h->h_addr_list[0] == NULL) {
		printf("rghba ghbn2 h_errno=%s\n", herr_name(h_errno));
		return;
	}
	/* Copy out: gethostbyaddr may reuse the same static buffer. */
	af = h->h_addrtype;
	len = h->h_length;
	memcpy(addr, h->h_addr_list[0], (size_t)len);
	inet_ntop(af, addr, a, sizeof(a));
	memcpy(last_addr, a, sizeof(a));
	snprintf(tag, sizeof(tag), "rghba %s", a);
	do_ghba(tag, addr, (socklen_t)len, af);
}

/* One echo round trip on a connected socket: the bytes came back. */
static int round_trip(int fd)
{
	char out[32], in[32];
	size_t got = 0;
	ssize_t r;

	snprintf(out, sizeof(out), "probe-%d", (int)getpid());
	if (send(fd, out, strlen(out), MSG_NOSIGNAL) != (ssize_t)strlen(out))
		return -1;
	while (got < strlen(out)) {
		r = recv(fd, in + got, strlen(out) - got, 0);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return memcmp(in, out, got) == 0 ? 0 : -1;
}

static void report_conn(const char *tag, int fd, int rc, int err)
{
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	char a[INET6_ADDRSTRLEN];

	if (rc != 0) {
		printf("%s errno=%s\n", tag, err_name(err));
		return;
	}
	getpeername(fd, (struct sockaddr *)&peer, &plen);
	sa_addr((struct sockaddr *)&peer, a, sizeof(a));
	printf("%s ok peer=%s echo=%s\n", tag, a, round_trip(fd) == 0 ? "ok" : "bad");
}

static void cmd_conn(char **f, int n)
{
	struct addrinfo hints, *res = NULL;
	int fd, rc, err;

	if (n < 4)
		exit(2);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = fam_parse(f[3]);
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(f[1], f[2], &hints, &res);
	if (rc != 0) {
		printf("conn gai rc=%s\n", eai_name(rc));
		return;
	}
	fd = socket(res->ai_family, SOCK_STREAM, 0);
	rc = connect(fd, res->ai_addr, res->ai_addrlen);
	err = errno;
	report_conn("conn", fd, rc, err);
	close(fd);
	freeaddrinfo(res);
}

static void cmd_connaddr(char **f, int n)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, rc, err;

	if (n < 3)
		exit(2);
	len = sa_make(f[1], atoi(f[2]), &ss);
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	rc = connect(fd, (struct sockaddr *)&ss, len);
	err = errno;
	report_conn("connaddr", fd, rc, err);
	close(fd);
}

static void cmd_udp(char **f, int n)
{
	struct sockaddr_storage ss;
	socklen_t len;
	ssize_t r;
	int fd;

	if (n < 3)
		exit(2);
	len = sa_make(f[1], atoi(f[2]), &ss);
	fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	r = sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len);
	if (r < 0)
		printf("udp errno=%s\n", err_name(errno));
	else
		printf("udp sent=%zd\n", r);
	close(fd);
}

static void run_cmd(const char *cmd);

static void cmd_fork(const char *rest)
{
	char buf[512];
	pid_t pid;
	size_t i;
	int st;

	snprintf(buf, sizeof(buf), "%s", rest);
	for (i = 0; buf[i]; i++)
		if (buf[i] == ':')
			buf[i] = ' ';
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		printf("child ");
		run_cmd(buf);
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &st, 0);
}

static void run_cmd(const char *cmd)
{
	char buf[512], *f[MAXF], *save;
	int n = 0, i;

	if (strncmp(cmd, "sh ", 3) == 0) {
		fflush(stdout);
		printf("sh rc=%d\n", system(cmd + 3));
		return;
	}
	if (strncmp(cmd, "fork ", 5) == 0) {
		cmd_fork(cmd + 5);
		return;
	}
	snprintf(buf, sizeof(buf), "%s", cmd);
	for (f[n] = strtok_r(buf, " ", &save); f[n] && n < MAXF - 1;)
		f[++n] = strtok_r(NULL, " ", &save);
	if (n == 0)
		return;
	for (i = 1; i < n; i++)
		if (strcmp(f[i], "@") == 0)
			f[i] = last_addr;
	if (strcmp(f[0], "gai") == 0)
		cmd_gai(f, n);
	else if (strcmp(f[0], "gni") == 0)
		cmd_gni(f, n);
	else if (strcmp(f[0], "rgni") == 0)
		cmd_rgni(f, n);
	else if (strcmp(f[0], "ghbn") == 0)
		cmd_ghbn(f, n, 0);
	else if (strcmp(f[0], "ghbn2") == 0)
		cmd_ghbn(f, n, 1);
	else if (strcmp(f[0], "ghbnr") == 0)
		cmd_ghbnr(f, n, 0);
	else if (strcmp(f[0], "ghbn2r") == 0)
		cmd_ghbnr(f, n, 1);
	else if (strcmp(f[0], "ghba") == 0)
		cmd_ghba(f, n);
	else if (strcmp(f[0], "ghbar") == 0)
		cmd_ghbar(f, n);
	else if (strcmp(f[0], "rghba") == 0)
		cmd_rghba(f, n);
	else if (strcmp(f[0], "conn") == 0)
		cmd_conn(f, n);
	else if (strcmp(f[0], "connaddr") == 0)
		cmd_connaddr(f, n);
	else if (strcmp(f[0], "udp") == 0)
		cmd_udp(f, n);
	else {
		fprintf(stderr, "dns_probe: unknown command: %s\n", f[0]);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc; i++)
		run_cmd(argv[i]);
	return 0;
}
