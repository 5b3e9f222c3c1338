/* spawn-child.c: ntflow-spawn's child between vfork and execve, which becomes a stage: its
 * own process group (so one kill reaches everything it spawns), PR_SET_PDEATHSIG so that
 * the spawner's death (it dies with ntflow) takes it along, stdin from /dev/null, stdout
 * and stderr into the runner's pipe, its group appended to the run's procs record before
 * it execs (so a crash of ntflow at any later point leaves no group that recovery cannot
 * find), then the command: words exec'd directly with the job's PATH as execvp does, or
 * /bin/sh -c COMMAND. Async-signal-safe calls only: the spawner's memory is shared until
 * execve. Part of ntflow-spawn only, which links libc, nf_proc_stat_start and
 * signals-child.c alone. */
#include "config.h"
#include "spawn-child.h"
#include "ntflow/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

/* Writes the pieces of a message, up to a NULL, to fd 2 (the log). */
static void
child_say(const char *a, const char *b, const char *c)
{
	const char *parts[3] = { a, b, c };
	ssize_t r;

	for (int i = 0; i < 3 && parts[i]; i++)
		r = write(2, parts[i], strlen(parts[i]));
	(void)r;
}

static void
child_fail(const char *what, int err)
{
	/* Into the log (already on fd 2 when this can happen); strerror is not safe here. */
	char num[16];
	int i = (int)sizeof(num);
	ssize_t r;

	num[--i] = '\n';
	do {
		num[--i] = (char)('0' + err % 10);
		err /= 10;
	} while (err && i > 0);
	r = write(2, "ntflow: ", 8);
	r = write(2, what, strlen(what));
	r = write(2, ": errno ", 8);
	r = write(2, num + i, sizeof(num) - (size_t)i);
	(void)r;
	_exit(127);
}

/* Appends "PGID START\n" for the child's new group to the procs record, START being its
 * start time from /proc/self/stat: after this, whatever the command starts in the group
 * can be found and told from a later process that reuses the id. No allocation, no stdio:
 * the parent's memory is shared until execve. */
static void
child_record(int fd, volatile long long *start)
{
	char stat[1024], line[48], digits[24];
	long long v[2];
	ssize_t len;
	size_t n = 0;
	int sfd;

	/* Without /proc the start is 0: recovery then judges by the run's own start. */
	len = (sfd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC)) < 0 ? -1 : read(sfd, stat, sizeof(stat));
	if (sfd >= 0)
		close(sfd);
	v[0] = (long long)getpid();
	v[1] = len > 0 ? (long long)nf_proc_stat_start(stat, (size_t)len) : 0;
	*start = v[1];   /* the parent's memory (vfork): it records the attempt without /proc */
	for (int k = 0; k < 2; k++) {
		int d = 0;

		do {
			digits[d++] = (char)('0' + v[k] % 10);
			v[k] /= 10;
		} while (v[k] > 0);
		while (d > 0)
			line[n++] = digits[--d];
		line[n++] = k == 0 ? ' ' : '\n';
	}
	/* O_APPEND: one write, one whole line, even if another ntflow wrote the same file. */
	if (write(fd, line, n) != (ssize_t)n)
		child_fail("cannot record the process group in the run's procs file", errno);
}

/* Whether file is a binary, not a script without #!: a NUL byte before the end of its first
 * line, within its first 128 bytes, as dash judges one (which then refuses it rather than
 * run it as shell code: a download cut short, a program for another machine). */
static bool
child_binary(const char *file)
{
	char head[128];
	ssize_t n;
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return false;
	n = read(fd, head, sizeof(head));
	close(fd);
	for (ssize_t i = 0; i < n && head[i] != '\n'; i++)
		if (head[i] == '\0')
			return true;
	return false;
}

/* execve as the shell does it for a simple command: a text file no format of the kernel's
 * (a script without #!) is run by /bin/sh. Returns with errno set when it could not. */
static void
child_execve(const nf_spawn_child *c, const char *file)
{
	execve(file, c->words, c->envp);
	if (errno == ENOEXEC && !child_binary(file)) {
		c->xargv[1] = file;   /* the parent's scratch array: it waits until we exec */
		execve("/bin/sh", (char *const *)c->xargv, c->envp);
		errno = ENOEXEC;
	}
}

/* Whether err from a search of the PATH means no file there: the search goes on. */
static bool
not_there(int err)
{
	return err == ENOENT || err == ENOTDIR || err == ESTALE || err == ENODEV || err == ETIMEDOUT ||
	       err == ELOOP || err == ENAMETOOLONG;
}

/* Execs c->words as execvp does, with the PATH of the job's environment rather than ours,
 * and when that fails says so with dash's status and words ("ntflow: NAME: not found" where
 * dash says "sh: 1: NAME: not found"): a name searched in the PATH and not run, 127 ("not
 * found", or "Permission denied" when only a folder or a file that cannot be run had it);
 * a path that leads nowhere (missing, a loop of links, too long), 127; one that leads to
 * something that cannot be run, or a name found that failed to run, 126 with the system's
 * reason ("Exec format error" for a binary of another machine). */
NF_NORETURN static void
child_direct(const nf_spawn_child *c)
{
	const char *file = c->words[0], *p, *why;
	size_t flen = strlen(file);
	char buf[4096], num[16];
	bool eacces = false, searched = false;
	int err = ENOENT, failed = 0, i;

	if (strchr(file, '/')) {
		child_execve(c, file);
		err = errno;
	} else {
		searched = true;
		for (p = c->path;; p++) {
			const char *end = p;
			size_t n;

			while (*end && *end != ':')
				end++;
			n = (size_t)(end - p);
			/* An empty entry is the current folder, as for execvp. */
			if ((n ? n : 1) + 1 + flen < sizeof(buf)) {
				if (n)
					memcpy(buf, p, n);
				else
					buf[n++] = '.';
				buf[n++] = '/';
				memcpy(buf + n, file, flen + 1);
				child_execve(c, buf);
				/* One found that failed to run: dash goes on to the next, and says the
				 * last such failure when none ran. */
				if (errno == EACCES)
					eacces = true;
				else if (!not_there(errno))
					failed = errno;
			}
			if (!*(p = end))
				break;
		}
		if (failed) {
			err = failed;
			searched = false;   /* found, and it failed to run: 126 */
		} else if (eacces) {
			err = EACCES;
		}
	}
	if (err == ENOENT) {
		child_say("ntflow: ", file, ": not found\n");
		_exit(127);
	}
	/* strerror may translate, and so allocate: the description alone is a constant. */
	if ((why = strerrordesc_np(err)) != NULL) {
		child_say("ntflow: ", file, ": ");
		child_say(why, "\n", NULL);
		_exit(searched || not_there(err) ? 127 : 126);
	}
	i = (int)sizeof(num);
	num[--i] = '\0';
	num[--i] = ')';
	do {
		num[--i] = (char)('0' + err % 10);
		err /= 10;
	} while (err && i > 1);
	child_say("ntflow: ", file, ": cannot execute (errno ");
	child_say(num + i, "\n", NULL);
	_exit(searched ? 127 : 126);
}

/* The child between vfork and execve: async-signal-safe calls only. Every signal is
 * blocked on entry (the parent blocked them), so no handler of ours runs in this child
 * and touches the shared memory. */
void
nf_spawn_child_exec(const nf_spawn_child *c)
{
	if (setpgid(0, 0) < 0)
		child_fail("setpgid", errno);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		child_fail("prctl", errno);
	/* The parent may have died before prctl took effect: then nobody would kill us. */
	if (getppid() != c->parent)
		_exit(127);
	if (dup2(c->devnull, 0) < 0 || dup2(c->out_fd, 1) < 0 || dup2(c->out_fd, 2) < 0)
		child_fail("dup2", errno);
	if (c->procs_fd >= 0)
		child_record(c->procs_fd, c->start);   /* after the dup2s: a failure is said in the log */
	if (c->cwd && chdir(c->cwd) < 0)
		child_fail(c->cwd, errno);
	/* The spawner's dispositions are fixed once it is ready, and the signals it does not
	 * leave at SIG_DFL are known: resetting those alone (SIGPIPE, and whatever it was
	 * started with ignored; its SIGCHLD is blocked, not caught, and the mask is emptied)
	 * spares each stage's start ~60 system calls, in the child while the spawner waits in
	 * vfork. */
	if (c->reset)
		nf_signals_reset_some(c->reset);
	else
		nf_signals_reset_child();
	if (c->words)
		child_direct(c);
	execve("/bin/sh", (char *const *)c->argv, c->envp);
	child_fail("/bin/sh", errno);
	_exit(127);
}
