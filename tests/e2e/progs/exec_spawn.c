/* exec_spawn.c: starts a program through one chosen exec function, with
 * LD_PRELOAD and the SOCKSIFY_* settings taken out of its environment, for
 * the exec tests.
 *
 *     exec_spawn FUNCTION PROGRAM ARG1 ARG2
 *
 * runs PROGRAM ARG1 ARG2 with FUNCTION: execve, execv, execvp, execvpe,
 * execveat, fexecve, execl, execlp, execle, posix_spawn or posix_spawnp.
 * The functions that take an environment get an empty one; the others run
 * after the process's own environment was emptied.  For the exec*p
 * functions PROGRAM is a name looked up in $PATH, which is all that is
 * kept.  A refused exec prints "ERRNO NAME" and exits 126; posix_spawn*
 * wait and exit with the child's status.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prog_util.h"

int main(int argc, char **argv)
{
	char *const empty[] = { NULL };
	char *args[4], path_var[4096], dir[4096], base[4096];
	const char *fn, *path;
	pid_t pid;
	int st, rc = 0;

	if (argc != 5) {
		fprintf(stderr, "usage: exec_spawn FUNCTION PROGRAM ARG1 ARG2\n");
		return 64;
	}
	fn = argv[1];
	args[0] = argv[2];
	args[1] = argv[3];
	args[2] = argv[4];
	args[3] = NULL;
	snprintf(dir, sizeof(dir), "%s", argv[2]);
	snprintf(base, sizeof(base), "%s", argv[2]);
	path = getenv("PATH");
	snprintf(path_var, sizeof(path_var), "%s", path != NULL ? path : "");
	/* Nothing of socksify's is left for what this starts. */
	clearenv();
	if (strcmp(fn, "execvp") == 0 || strcmp(fn, "execvpe") == 0 ||
	    strcmp(fn, "execlp") == 0 || strcmp(fn, "posix_spawnp") == 0)
		setenv("PATH", path_var, 1);

	if (strcmp(fn, "execve") == 0) {
		execve(args[0], args, empty);
	} else if (strcmp(fn, "execv") == 0) {
		execv(args[0], args);
	} else if (strcmp(fn, "execvp") == 0) {
		execvp(args[0], args);
	} else if (strcmp(fn, "execvpe") == 0) {
		execvpe(args[0], args, empty);
	} else if (strcmp(fn, "execveat") == 0) {
		int dfd = open(dirname(dir), O_PATH | O_DIRECTORY | O_CLOEXEC);

		execveat(dfd, basename(base), args, empty, 0);
	} else if (strcmp(fn, "fexecve") == 0) {
		int fd = open(args[0], O_RDONLY | O_CLOEXEC);

		fexecve(fd, args, empty);
	} else if (strcmp(fn, "execl") == 0) {
		execl(args[0], args[0], args[1], args[2], (char *)NULL);
	} else if (strcmp(fn, "execlp") == 0) {
		execlp(args[0], args[0], args[1], args[2], (char *)NULL);
	} else if (strcmp(fn, "execle") == 0) {
		execle(args[0], args[0], args[1], args[2], (char *)NULL, empty);
	} else if (strcmp(fn, "posix_spawn") == 0 || strcmp(fn, "posix_spawnp") == 0) {
		rc = fn[11] == 'p' ? posix_spawnp(&pid, args[0], NULL, NULL, args, empty) :
		    posix_spawn(&pid, args[0], NULL, NULL, args, empty);
		if (rc != 0) {
			printf("ERRNO %s\n", prog_errname(rc));
			return 126;
		}
		if (waitpid(pid, &st, 0) != pid)
			return 125;
		return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	} else {
		fprintf(stderr, "exec_spawn: unknown function %s\n", fn);
		return 64;
	}
	printf("ERRNO %s\n", prog_errname(errno));
	return 126;
}
