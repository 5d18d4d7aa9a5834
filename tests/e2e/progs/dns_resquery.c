/* dns_resquery.c: runs the raw resolver calls (res_query and its kin,
 * res_send, getaddrinfo_a) given on the command line, in order, in one
 * process, and prints what came back, for dns_resquery.bats.
 *
 * Each argument is one command, its fields separated by spaces ("-" means
 * NULL):
 *   q CALL NAME TYPE [DOMAIN [BUFLEN]]  CALL query|search|querydomain, their n
 *                                      forms (nquery ...), or the pre-2.34 names
 *                                      (oquery, osearch, oquerydomain, onquery,
 *                                      onsearch, onquerydomain); TYPE a|aaaa|mx|
 *                                      txt|srv|ptr|any or a number
 *   send CALL NAME TYPE [BUFLEN]       res_mkquery, then CALL send|nsend|osend|
 *                                      onsend; also prints the response in hex
 *   sendraw HEX                        res_send of the bytes HEX
 *   gaia MODE NOTIFY NAME,NAME...      getaddrinfo_a (AF_UNSPEC, SOCK_STREAM);
 *                                      MODE wait|nowait, NOTIFY none|signal|thread;
 *                                      then gai_error, gai_suspend, gai_cancel,
 *                                      freeaddrinfo on every request
 *   conn ADDR PORT                     connect to a numeric address, echo once
 * A field "@4" ("@6") stands for the last IPv4 (IPv6) address printed.
 *
 * Answers are read with glibc's own parser (ns_initparse, ns_parserr from
 * libresolv, opened at run time so this links like the other programs):
 *   CALL rc=N | CALL rc=-1 h_errno=H [state=H]
 *   hdr id=match|ID qr= opcode= aa= tc= rd= ra= rcode= qd= an= ns= ar=
 *   qd NAME TYPE CLASS
 *   an NAME TYPE CLASS TTL ADDR ptr=0|1  (ptr=1: the owner is a pointer to
 *                                        offset 12, the question name)
 *   parse error                          ns_initparse or ns_parserr refused it
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <resolv.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "prog_util.h"

#define MAXF 8
#define ANSMAX 4096

/* The names <resolv.h> mapped these calls to before glibc 2.34, bound
 * to those old versions, as a binary built then binds them. */
__asm__(".symver compat_res_query,__res_query@GLIBC_2.2.5");
__asm__(".symver compat_res_search,__res_search@GLIBC_2.2.5");
__asm__(".symver compat_res_querydomain,__res_querydomain@GLIBC_2.2.5");
__asm__(".symver compat_res_send,__res_send@GLIBC_2.2.5");
__asm__(".symver compat_res_nquery,__res_nquery@GLIBC_2.2.5");
__asm__(".symver compat_res_nsearch,__res_nsearch@GLIBC_2.2.5");
__asm__(".symver compat_res_nquerydomain,__res_nquerydomain@GLIBC_2.2.5");
__asm__(".symver compat_res_nsend,__res_nsend@GLIBC_2.2.5");
int compat_res_query(const char *, int, int, unsigned char *, int);
int compat_res_search(const char *, int, int, unsigned char *, int);
int compat_res_querydomain(const char *, const char *, int, int, unsigned char *, int);
int compat_res_send(const unsigned char *, int, unsigned char *, int);
int compat_res_nquery(res_state, const char *, int, int, unsigned char *, int);
int compat_res_nsearch(res_state, const char *, int, int, unsigned char *, int);
int compat_res_nquerydomain(res_state, const char *, const char *, int, int,
			    unsigned char *, int);
int compat_res_nsend(res_state, const unsigned char *, int, unsigned char *, int);

static char last4[INET6_ADDRSTRLEN] = "none";
static char last6[INET6_ADDRSTRLEN] = "none";
static struct __res_state state;
static unsigned char ans[ANSMAX];

static int (*p_initparse)(const unsigned char *, int, ns_msg *);
static int (*p_parserr)(ns_msg *, ns_sect, int, ns_rr *);

static void load_parser(void)
{
	void *h = dlopen("libresolv.so.2", RTLD_NOW);

	if (h != NULL) {
		p_initparse = (int (*)(const unsigned char *, int, ns_msg *))
			dlsym(h, "ns_initparse");
		p_parserr = (int (*)(ns_msg *, ns_sect, int, ns_rr *))dlsym(h, "ns_parserr");
	}
	if (p_initparse == NULL || p_parserr == NULL) {
		fprintf(stderr, "no ns_initparse in libresolv.so.2\n");
		exit(3);
	}
}

static res_state nstate(void)
{
	if (!(state.options & RES_INIT) && res_ninit(&state) != 0) {
		fprintf(stderr, "res_ninit failed\n");
		exit(3);
	}
	return &state;
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

static const char *rcode_name(int r)
{
	static const char *const n[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					 "NOTIMP", "REFUSED" };
	return r >= 0 && r < 6 ? n[r] : "RCODE_OTHER";
}

static const char *eai_name(int rc)
{
	switch (rc) {
	case 0: return "0";
	case EAI_NONAME: return "EAI_NONAME";
	case EAI_AGAIN: return "EAI_AGAIN";
	case EAI_FAIL: return "EAI_FAIL";
	case EAI_NODATA: return "EAI_NODATA";
	case EAI_SYSTEM: return "EAI_SYSTEM";
	case EAI_INPROGRESS: return "EAI_INPROGRESS";
	case EAI_ALLDONE: return "EAI_ALLDONE";
	case EAI_CANCELED: return "EAI_CANCELED";
	case EAI_NOTCANCELED: return "EAI_NOTCANCELED";
	default: return "EAI_OTHER";
	}
}

static const struct { const char *name; int type; } types[] = {
	{ "a", ns_t_a }, { "aaaa", ns_t_aaaa }, { "mx", ns_t_mx }, { "txt", ns_t_txt },
	{ "srv", ns_t_srv }, { "ptr", ns_t_ptr }, { "any", ns_t_any }, { "ns", ns_t_ns },
};

static int type_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(s, types[i].name) == 0)
			return types[i].type;
	return atoi(s);
}

static void type_print(int t, char *buf, size_t cap)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == t) {
			snprintf(buf, cap, "%s", types[i].name);
			return;
		}
	snprintf(buf, cap, "%d", t);
}

/* Prints a DNS message as glibc's parser reads it.  qid: the query's id,
 * or -1 when there was none to compare. */
static void print_msg(const unsigned char *m, int len, int qid)
{
	ns_msg msg;
	ns_rr rr;
	char ts[16], ids[16];
	int id;

	if (len < HFIXEDSZ || p_initparse(m, len, &msg) != 0) {
		printf("parse error\n");
		return;
	}
	id = m[0] << 8 | m[1];
	if (id == qid)
		snprintf(ids, sizeof(ids), "match");
	else
		snprintf(ids, sizeof(ids), "%d", id);
	printf("hdr id=%s qr=%d opcode=%d aa=%d tc=%d rd=%d ra=%d rcode=%s "
	       "qd=%d an=%d ns=%d ar=%d\n",
	       ids,
	       m[2] >> 7, (m[2] >> 3) & 15, (m[2] >> 2) & 1, (m[2] >> 1) & 1, m[2] & 1,
	       m[3] >> 7, rcode_name(m[3] & 15), ns_msg_count(msg, ns_s_qd),
	       ns_msg_count(msg, ns_s_an), ns_msg_count(msg, ns_s_ns),
	       ns_msg_count(msg, ns_s_ar));
	for (int i = 0; i < ns_msg_count(msg, ns_s_qd); i++) {
		if (p_parserr(&msg, ns_s_qd, i, &rr) != 0) {
			printf("parse error\n");
			return;
		}
		type_print(ns_rr_type(rr), ts, sizeof(ts));
		printf("qd %s %s %d\n", ns_rr_name(rr), ts, ns_rr_class(rr));
	}
	for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		char a[INET6_ADDRSTRLEN] = "?";
		const unsigned char *owner;

		if (p_parserr(&msg, ns_s_an, i, &rr) != 0) {
			printf("parse error\n");
			return;
		}
		if (ns_rr_type(rr) == ns_t_a && ns_rr_rdlen(rr) == 4) {
			inet_ntop(AF_INET, ns_rr_rdata(rr), a, sizeof(a));
			snprintf(last4, sizeof(last4), "%s", a);
		} else if (ns_rr_type(rr) == ns_t_aaaa && ns_rr_rdlen(rr) == 16) {
			inet_ntop(AF_INET6, ns_rr_rdata(rr), a, sizeof(a));
			snprintf(last6, sizeof(last6), "%s", a);
		}
		/* The owner name sits just before the fixed part (10 bytes). */
		owner = ns_rr_rdata(rr) - NS_RRFIXEDSZ - 2;
		type_print(ns_rr_type(rr), ts, sizeof(ts));
		printf("an %s %s %d %lu %s ptr=%d\n", ns_rr_name(rr), ts, ns_rr_class(rr),
		       (unsigned long)ns_rr_ttl(rr), a,
		       owner >= m && owner[0] == 0xc0 && owner[1] == HFIXEDSZ);
	}
}

static void cmd_q(char **f, int n)
{
	const char *call, *name, *dom;
	int type, len, buflen;

	if (n < 4)
		exit(2);
	call = f[1];
	name = f[2];
	type = type_parse(f[3]);
	dom = n > 4 && strcmp(f[4], "-") != 0 ? f[4] : NULL;
	buflen = n > 5 ? atoi(f[5]) : ANSMAX;
	memset(ans, 0, sizeof(ans));
	h_errno = 0;
	if (strcmp(call, "query") == 0)
		len = res_query(name, ns_c_in, type, ans, buflen);
	else if (strcmp(call, "search") == 0)
		len = res_search(name, ns_c_in, type, ans, buflen);
	else if (strcmp(call, "querydomain") == 0)
		len = res_querydomain(name, dom, ns_c_in, type, ans, buflen);
	else if (strcmp(call, "nquery") == 0)
		len = res_nquery(nstate(), name, ns_c_in, type, ans, buflen);
	else if (strcmp(call, "nsearch") == 0)
		len = res_nsearch(nstate(), name, ns_c_in, type, ans, buflen);
	else if (strcmp(call, "nquerydomain") == 0)
		len = res_nquerydomain(nstate(), name, dom, ns_c_in, type, ans, buflen);
	else if (strcmp(call, "oquery") == 0)
		len = compat_res_query(name, ns_c_in, type, ans, buflen);
	else if (strcmp(call, "osearch") == 0)
		len = compat_res_search(name, ns_c_in, type, ans, buflen);
	else if (strcmp(call, "oquerydomain") == 0)
		len = compat_res_querydomain(name, dom, ns_c_in, type, ans, buflen);
	else if (strcmp(call, "onquery") == 0)
		len = compat_res_nquery(nstate(), name, ns_c_in, type, ans, buflen);
	else if (strcmp(call, "onsearch") == 0)
		len = compat_res_nsearch(nstate(), name, ns_c_in, type, ans, buflen);
	else if (strcmp(call, "onquerydomain") == 0)
		len = compat_res_nquerydomain(nstate(), name, dom, ns_c_in, type, ans, buflen);
	else
		exit(2);
	if (len < 0) {
		if (call[0] == 'n' || call[1] == 'n')
			printf("%s rc=-1 h_errno=%s state=%s\n", call, herr_name(h_errno),
			       herr_name(state.res_h_errno));
		else
			printf("%s rc=-1 h_errno=%s\n", call, herr_name(h_errno));
		return;
	}
	printf("%s rc=%d\n", call, len);
	print_msg(ans, len < buflen ? len : buflen, -1);
}

static void print_hex(const unsigned char *p, int len)
{
	printf("hex ");
	for (int i = 0; i < len; i++)
		printf("%02x", p[i]);
	printf("\n");
}

static int do_send(const char *call, const unsigned char *q, int qlen, int buflen)
{
	if (strcmp(call, "send") == 0)
		return res_send(q, qlen, ans, buflen);
	if (strcmp(call, "nsend") == 0)
		return res_nsend(nstate(), q, qlen, ans, buflen);
	if (strcmp(call, "osend") == 0)
		return compat_res_send(q, qlen, ans, buflen);
	if (strcmp(call, "onsend") == 0)
		return compat_res_nsend(nstate(), q, qlen, ans, buflen);
	exit(2);
}

static void report_send(const char *call, int len, int qid)
{
	if (len < 0) {
		printf("%s len=-1 errno=%d\n", call, errno);
		return;
	}
	printf("%s len=%d\n", call, len);
	print_msg(ans, len, qid);
	print_hex(ans, len);
}

static void cmd_send(char **f, int n)
{
	unsigned char q[512];
	int qlen, len, buflen;

	if (n < 4)
		exit(2);
	buflen = n > 4 ? atoi(f[4]) : ANSMAX;
	if (f[1][0] == 'n' || f[1][1] == 'n')
		qlen = res_nmkquery(nstate(), ns_o_query, f[2], ns_c_in, type_parse(f[3]),
				    NULL, 0, NULL, q, sizeof(q));
	else
		qlen = res_mkquery(ns_o_query, f[2], ns_c_in, type_parse(f[3]), NULL, 0,
				   NULL, q, sizeof(q));
	if (qlen < 0) {
		printf("%s mkquery failed\n", f[1]);
		return;
	}
	memset(ans, 0, sizeof(ans));
	len = do_send(f[1], q, qlen, buflen);
	report_send(f[1], len, q[0] << 8 | q[1]);
}

static void cmd_sendraw(char **f, int n)
{
	unsigned char q[512];
	size_t qlen = 0;
	int len;

	if (n < 2)
		exit(2);
	for (const char *h = f[1]; h[0] && h[1] && qlen < sizeof(q); h += 2) {
		unsigned v;
		sscanf(h, "%2x", &v);
		q[qlen++] = (unsigned char)v;
	}
	memset(ans, 0, sizeof(ans));
	len = res_send(q, (int)qlen, ans, ANSMAX);
	report_send("sendraw", len, qlen >= 2 ? q[0] << 8 | q[1] : -1);
}

/* ---- getaddrinfo_a ---- */

static pthread_mutex_t note_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t note_cond = PTHREAD_COND_INITIALIZER;
static int note_done, note_value, note_other_thread;
static pthread_t main_thread;

static void note_fn(union sigval v)
{
	sigset_t usr1;

	/* The notification thread starts with no signal blocked (as glibc
	 * starts it) and lives on for a moment after this returns: a
	 * SIGEV_SIGNAL of the next step must not be taken, and kill the
	 * process, there.  Blocked here, it stays pending for sigtimedwait. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	pthread_mutex_lock(&note_lock);
	note_done = 1;
	note_value = v.sival_int;
	note_other_thread = !pthread_equal(pthread_self(), main_thread);
	pthread_cond_signal(&note_cond);
	pthread_mutex_unlock(&note_lock);
}

static void print_ai(const struct addrinfo *ai)
{
	char a[INET6_ADDRSTRLEN];

	for (; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, a,
				  sizeof(a));
			snprintf(last4, sizeof(last4), "%s", a);
		} else {
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr,
				  a, sizeof(a));
			snprintf(last6, sizeof(last6), "%s", a);
		}
		printf("ai %s %s\n", ai->ai_family == AF_INET ? "inet" : "inet6", a);
	}
}

static void cmd_gaia(char **f, int n)
{
	struct gaicb cbs[8], *list[8];
	const struct gaicb *clist[8];
	struct addrinfo hints;
	struct sigevent sev;
	sigset_t set, old;
	char names[256], *save = NULL, *tok;
	const char *note = "none";
	int ent = 0, mode, rc;

	if (n < 4)
		exit(2);
	mode = strcmp(f[1], "wait") == 0 ? GAI_WAIT : GAI_NOWAIT;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	memset(cbs, 0, sizeof(cbs));
	snprintf(names, sizeof(names), "%s", f[3]);
	for (tok = strtok_r(names, ",", &save); tok != NULL && ent < 8;
	     tok = strtok_r(NULL, ",", &save)) {
		cbs[ent].ar_name = tok;
		cbs[ent].ar_request = &hints;
		list[ent] = &cbs[ent];
		clist[ent] = &cbs[ent];
		ent++;
	}
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_NONE;
	sev.sigev_value.sival_int = 42;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (strcmp(f[2], "signal") == 0) {
		sev.sigev_notify = SIGEV_SIGNAL;
		sev.sigev_signo = SIGUSR1;
		pthread_sigmask(SIG_BLOCK, &set, &old);
	} else if (strcmp(f[2], "thread") == 0) {
		sev.sigev_notify = SIGEV_THREAD;
		sev.sigev_notify_function = note_fn;
		main_thread = pthread_self();
		note_done = 0;
	}
	rc = getaddrinfo_a(mode, list, ent, &sev);
	printf("gaia ret=%s\n", eai_name(rc));
	if (mode == GAI_NOWAIT && sev.sigev_notify == SIGEV_SIGNAL) {
		struct timespec ts = { 5, 0 };
		siginfo_t si;
		int s = sigtimedwait(&set, &si, &ts);

		if (s == SIGUSR1 && si.si_code == SI_ASYNCNL && si.si_value.sival_int == 42)
			note = "signal";
		else if (s == SIGUSR1)
			note = "signal-bad-info";
		else
			note = "no-signal";
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	} else if (mode == GAI_NOWAIT && sev.sigev_notify == SIGEV_THREAD) {
		struct timespec dl;

		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += 5;
		pthread_mutex_lock(&note_lock);
		while (!note_done &&
		       pthread_cond_timedwait(&note_cond, &note_lock, &dl) == 0)
			;
		note = !note_done ? "no-thread" :
		       note_value == 42 && note_other_thread ? "thread" : "thread-bad";
		pthread_mutex_unlock(&note_lock);
	} else if (mode == GAI_NOWAIT) {
		/* SIGEV_NONE: wait with gai_suspend, as a program would. */
		struct timespec ts = { 5, 0 };
		for (int i = 0; i < ent; i++)
			if (gai_error(&cbs[i]) == EAI_INPROGRESS)
				gai_suspend(clist, ent, &ts);
	}
	printf("gaia note=%s\n", note);
	for (int i = 0; i < ent; i++) {
		rc = gai_error(&cbs[i]);
		printf("cb %s err=%s\n", cbs[i].ar_name, eai_name(rc));
		if (rc == 0)
			print_ai(cbs[i].ar_result);
	}
	printf("gaia suspend=%s cancel=%s\n", eai_name(gai_suspend(clist, ent, NULL)),
	       ent > 0 ? eai_name(gai_cancel(&cbs[0])) : "-");
	for (int i = 0; i < ent; i++)
		if (gai_error(&cbs[i]) == 0)
			freeaddrinfo(cbs[i].ar_result);
}

static void cmd_conn(char **f, int n)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (n < 3)
		exit(2);
	len = prog_addr(f[1], f[2], &ss);
	fd = prog_connect_echo(&ss, len, "resquery");
	if (fd < 0) {
		printf("conn errno=%s\n", prog_errname(errno));
		return;
	}
	printf("conn ok\n");
	close(fd);
}

int main(int argc, char **argv)
{
	sigset_t usr1;

	/* SIGEV_SIGNAL sends a signal to the process, which any thread that
	 * does not block it may take: blocked from the start here, in every
	 * thread made later, and in note_fn's, it waits for sigtimedwait. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	load_parser();
	for (int i = 1; i < argc; i++) {
		char buf[1024], *f[MAXF], *save = NULL, *tok;
		int n = 0;

		snprintf(buf, sizeof(buf), "%s", argv[i]);
		for (tok = strtok_r(buf, " ", &save); tok != NULL && n < MAXF;
		     tok = strtok_r(NULL, " ", &save))
			f[n++] = strcmp(tok, "@4") == 0 ? last4 :
				 strcmp(tok, "@6") == 0 ? last6 : tok;
		if (n == 0)
			exit(2);
		if (strcmp(f[0], "q") == 0)
			cmd_q(f, n);
		else if (strcmp(f[0], "send") == 0)
			cmd_send(f, n);
		else if (strcmp(f[0], "sendraw") == 0)
			cmd_sendraw(f, n);
		else if (strcmp(f[0], "gaia") == 0)
			cmd_gaia(f, n);
		else if (strcmp(f[0], "conn") == 0)
			cmd_conn(f, n);
		else
			exit(2);
	}
	return 0;
}
