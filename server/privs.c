/* privs.c: socksifyd gives up root once its listeners are bound. */
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "srv.h"

int
srv_drop_privileges(const char *name)
{
	struct passwd *pw;
	uid_t uid;
	gid_t gid;

	errno = 0;
	pw = getpwnam(name);
	if (pw == NULL) {
		srv_fatal("--run-as %s: %s", name, errno != 0 ? strerror(errno) : "no such user");
		return -1;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (geteuid() != 0) {
		/* Already that user: nothing to give up. */
		if (geteuid() == uid && getegid() == gid)
			return 0;
		srv_fatal("--run-as %s: only root can change to another user", name);
		return -1;
	}
	/* Groups first, while root may still set them; the user's own
	 * supplementary groups are left out: a proxy needs none of them. */
	if (setgroups(1, &gid) != 0 || setresgid(gid, gid, gid) != 0 ||
	    setresuid(uid, uid, uid) != 0) {
		srv_fatal("--run-as %s: %s", name, strerror(errno));
		return -1;
	}
	/* A server that could get root back has not given it up. */
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		srv_fatal("--run-as %s: root could be taken back", name);
		return -1;
	}
	SRV_DEBUG("running as %s (uid %u, gid %u)", name, (unsigned)uid, (unsigned)gid);
	return 0;
}
