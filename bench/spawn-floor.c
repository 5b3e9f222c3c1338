/* bench/spawn-floor.c: the spawn floor of bench/compare.sh: starts N `touch out/fI`
 * processes, at most J at a time, directly (exec) or through `/bin/sh -c` (sh), and does
 * nothing else, so that no scheduler can run the same commands faster. sh-and runs
 * `/bin/sh -c 'touch out/fI && :'`, a command the shell cannot exec in its own place: the
 * floor of compare.sh's "full, sh" run.
 *
 * usage: spawn-floor exec|sh|sh-and N J      (in the folder where out/ is made)
 * Exits 0 when every process exited 0. Built by bench/compare.sh with `cc -O2`.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* The absolute path of PROG on PATH, so that each spawn is one execve as make's is. */
static int
find_on_path(const char *prog, char *buf, size_t size)
{
	const char *path = getenv("PATH");
	const char *p = path ? path : "/usr/bin:/bin";

	while (*p) {
		size_t len = strcspn(p, ":");
		if (len > 0 && (size_t)snprintf(buf, size, "%.*s/%s", (int)len, p, prog) < size &&
		    access(buf, X_OK) == 0)
			return 0;
		p += len;
		if (*p == ':')
			p++;
	}
	return -1;
}

int
main(int argc, char **argv)
{
	char touch[4096], target[64], cmd[96];
	long n, j, started = 0, running = 0, failed = 0;
	int use_sh, and;

	if (argc != 4 || (strcmp(argv[1], "exec") != 0 && strcmp(argv[1], "sh") != 0 &&
			  strcmp(argv[1], "sh-and") != 0)) {
		fprintf(stderr, "usage: spawn-floor exec|sh|sh-and N J\n");
		return 2;
	}
	and = strcmp(argv[1], "sh-and") == 0;
	use_sh = and || strcmp(argv[1], "sh") == 0;
	n = strtol(argv[2], NULL, 10);
	j = strtol(argv[3], NULL, 10);
	if (n < 1 || j < 1) {
		fprintf(stderr, "spawn-floor: N and J must be positive\n");
		return 2;
	}
	if (find_on_path("touch", touch, sizeof touch) < 0) {
		fprintf(stderr, "spawn-floor: no touch on PATH\n");
		return 1;
	}
	if (mkdir("out", 0777) < 0 && errno != EEXIST) {
		perror("spawn-floor: out");
		return 1;
	}
	while (started < n || running > 0) {
		while (started < n && running < j) {
			char *exec_argv[] = { touch, target, NULL };
			char *sh_argv[] = { "/bin/sh", "-c", cmd, NULL };
			pid_t pid;
			int rc;

			snprintf(target, sizeof target, "out/f%ld", started);
			snprintf(cmd, sizeof cmd, "touch out/f%ld%s", started, and ? " && :" : "");
			rc = use_sh ? posix_spawn(&pid, "/bin/sh", NULL, NULL, sh_argv, environ)
				    : posix_spawn(&pid, touch, NULL, NULL, exec_argv, environ);
			if (rc != 0) {
				fprintf(stderr, "spawn-floor: posix_spawn: %s\n", strerror(rc));
				return 1;
			}
			started++;
			running++;
		}
		{
			int status;
			pid_t pid = wait(&status);

			if (pid < 0) {
				if (errno == EINTR)
					continue;
				perror("spawn-floor: wait");
				return 1;
			}
			running--;
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				failed++;
		}
	}
	if (failed) {
		fprintf(stderr, "spawn-floor: %ld of %ld processes failed\n", failed, n);
		return 1;
	}
	return 0;
}
