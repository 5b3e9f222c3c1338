/* runner-local.c: the local runner. Each attempt is started with vfork+execve in a process
 * group of its own (so one kill reaches everything it spawned), with PR_SET_PDEATHSIG so a
 * SIGKILLed ntflow takes its direct children along, and stdin from /dev/null. A job given as
 * words (nf_job.argv) is exec'd directly, its program searched in the job's PATH as execvp
 * does; any other is /bin/sh -c COMMAND. stdout+stderr go into a pipe that the runner reads
 * from its event loop, creating the attempt's log at the first byte: a stage that prints
 * nothing leaves no file, nothing is created in the log folder before vfork, and the log
 * limit is kept as the bytes arrive. Before it execs, the child appends its group to the
 * run's procs record, so a crash of ntflow at any later point leaves no group that recovery
 * cannot find. Attached to an event loop, it watches the signal self-pipe and reaps when it
 * is readable; pid -> job and fd -> job hashes keep each event O(1). */
#include "config.h"
#include "ntflow/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Open addressing with linear probing from integer keys to job indexes; keys are stored
 * plus one so that 0 marks an empty cell. Deletion shifts the cluster back (no tombstones). */
typedef struct imap {
	uint64_t *keys;
	size_t *vals;
	size_t cap;                  /* a power of two */
	size_t n;
} imap;

static size_t
imap_hash(uint64_t k, size_t cap)
{
	k ^= k >> 33;
	k *= UINT64_C(0xff51afd7ed558ccd);
	k ^= k >> 33;
	return (size_t)k & (cap - 1);
}

static void imap_put(imap *m, uint64_t key, size_t val);

static void
imap_grow(imap *m)
{
	imap old = *m;

	m->cap = old.cap ? old.cap * 2 : 16;
	m->keys = xcalloc(m->cap, sizeof(*m->keys));
	m->vals = xcalloc(m->cap, sizeof(*m->vals));
	m->n = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.keys[i])
			imap_put(m, old.keys[i] - 1, old.vals[i]);
	free(old.keys);
	free(old.vals);
}

static void
imap_put(imap *m, uint64_t key, size_t val)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap)
		imap_grow(m);
	for (i = imap_hash(key, m->cap); m->keys[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key + 1)
			break;
	if (!m->keys[i])
		m->n++;
	m->keys[i] = key + 1;
	m->vals[i] = val;
}

/* The cell holding key, or (size_t)-1. */
static size_t
imap_find(const imap *m, uint64_t key)
{
	if (!m->cap)
		return (size_t)-1;
	for (size_t i = imap_hash(key, m->cap); m->keys[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key + 1)
			return i;
	return (size_t)-1;
}

static void
imap_del(imap *m, uint64_t key)
{
	size_t i = imap_find(m, key), j, home, mask = m->cap - 1;

	if (i == (size_t)-1)
		return;
	m->keys[i] = 0;
	m->n--;
	/* Move back every later member of the cluster whose home is not between i and j. */
	for (j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
		home = imap_hash(m->keys[j] - 1, m->cap);
		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			m->keys[j] = 0;
			i = j;
		}
	}
}

static void
imap_release(imap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

typedef struct local_job {
	pid_t pid;                   /* 0: free cell of the jobs array */
	size_t node;
	int attempt;
	int64_t start_ms;
	size_t next_free;
	char *log_path;              /* NULL: the output goes to /dev/null */
	int out_fd;                  /* the output pipe's read end; -1 once closed */
	int log_fd;                  /* -1 until the first byte arrives */
	uint64_t log_limit, written;
	int log_errno;               /* the log could not be written: the rest is discarded */
	bool capped;
} local_job;

typedef struct local_runner {
	nf_runner base;
	nf_clock *clock;
	int devnull;                 /* read-only, kept open for every child's stdin */
	int devnull_w;               /* the output of a job without a log */
	local_job *jobs;
	size_t njobs, cap;           /* cells used (live or free), capacity */
	size_t free_head;            /* (size_t)-1: no free cell */
	size_t running;
	imap by_pid, by_node, by_fd;
	int procs_fd;                /* -1, or the run's procs record (append) */
	pid_t self;                  /* getpid(), for the child's check that we still live */
	nf_loop *loop;               /* attached to: NULL when not */
	nf_job_done_fn done;
	void *done_ctx;
	char *log_dir;               /* the folder of the last log, known to exist */
	const char **xargv;          /* "/bin/sh", SCRIPT, the words after the first: ENOEXEC */
	size_t xargv_cap;
	char iobuf[65536];           /* one read of a job's output */
} local_runner;

/* Everything the vfork child needs, prepared by the parent: the child may not allocate. */
typedef struct child_spec {
	const char *argv[4];         /* sh -c COMMAND */
	char *const *words;          /* non-NULL: exec these directly instead */
	const char *path;            /* PATH of the job's environment (words without a '/') */
	const char **xargv;          /* words[0] run by /bin/sh when the kernel refuses it (ENOEXEC) */
	char *const *envp;
	const char *cwd;
	int devnull, out_fd, procs_fd;
	pid_t parent;
	volatile long long *start;   /* the parent's: the child's start time, read for the record */
} child_spec;

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

/* execve as the shell does it for a simple command: a file no format of the kernel's (a
 * script without #!) is run by /bin/sh. Returns with errno set when it could not. */
static void
child_execve(const child_spec *c, const char *file)
{
	execve(file, c->words, c->envp);
	if (errno == ENOEXEC) {
		c->xargv[1] = file;   /* the parent's scratch array: it waits until we exec */
		execve("/bin/sh", (char *const *)c->xargv, c->envp);
		errno = ENOEXEC;
	}
}

/* Execs c->words as execvp does, with the PATH of the job's environment rather than ours,
 * and when that fails says so as sh would, with sh's status: 127 for a program not found,
 * 126 for one found but not runnable ("ntflow: NAME: not found" where dash says
 * "sh: 1: NAME: not found"). */
NF_NORETURN static void
child_direct(const child_spec *c)
{
	const char *file = c->words[0], *p;
	size_t flen = strlen(file);
	char buf[4096], num[16];
	bool eacces = false;
	int err = ENOENT, i;

	if (strchr(file, '/')) {
		child_execve(c, file);
		err = errno;
	} else {
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
				if (errno == EACCES)
					eacces = true;
				else if (errno != ENOENT && errno != ENOTDIR && errno != ESTALE && errno != ENODEV &&
					 errno != ETIMEDOUT && errno != ELOOP && errno != ENAMETOOLONG) {
					err = errno;
					break;
				}
			}
			if (!*(p = end))
				break;
		}
		if (err == ENOENT && eacces)
			err = EACCES;
	}
	if (err == ENOENT || err == ENOTDIR) {
		child_say("ntflow: ", file, ": not found\n");
		_exit(127);
	}
	if (err == EACCES) {
		child_say("ntflow: ", file, ": Permission denied\n");
		_exit(126);
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
	_exit(126);
}

/* The child between vfork and execve: async-signal-safe calls only. Every signal is
 * blocked on entry (the parent blocked them), so no handler of ours runs in this child
 * and touches the shared memory. */
NF_NORETURN static void
child_exec(const child_spec *c)
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
	nf_signals_reset_child();
	if (c->words)
		child_direct(c);
	execve("/bin/sh", (char *const *)c->argv, c->envp);
	child_fail("/bin/sh", errno);
	_exit(127);
}

/* Moves fd above 2 when it is 0-2 (our own stdio was closed), so the child's dup2 onto
 * 0-2 never lands on itself and always clears close-on-exec. -1 on failure. */
static int
above_stdio(int fd)
{
	int moved;

	if (fd < 0 || fd > 2)
		return fd;
	moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return moved;
}

/* Makes the folder of a log exist, once per folder in a row (a run's logs share one). */
static int
log_folder(local_runner *lr, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	int err;

	if (n == 0 || (lr->log_dir && strlen(lr->log_dir) == n && memcmp(lr->log_dir, path, n) == 0))
		return 0;
	free(lr->log_dir);
	lr->log_dir = xstrndup(path, n);
	/* Private to the owner, as the state directory it lives in. */
	if ((err = nf_mkdir_p(lr->log_dir, 0700)) < 0) {
		free(lr->log_dir);
		lr->log_dir = NULL;
	}
	return err;
}

/* Creates (truncates) a job's log at its first byte; on failure the output is discarded and
 * the reason reported with the job's result. */
static void
open_log(local_runner *lr, local_job *j)
{
	/* Private to the owner: a stage's output may hold what it was given. */
	int fd = open(j->log_path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);

	if (fd < 0 && errno == ENOENT) {
		/* The folder went away since the job started. */
		free(lr->log_dir);
		lr->log_dir = NULL;
		if (log_folder(lr, j->log_path) == 0)
			fd = open(j->log_path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
	}
	if (fd < 0)
		j->log_errno = errno ? errno : EIO;
	j->log_fd = fd;
}

/* Keeps what the job wrote, up to its limit. */
static void
log_write(local_runner *lr, local_job *j, const char *p, size_t n)
{
	if (j->log_limit > 0 && j->written + n > j->log_limit) {
		j->capped = true;
		n = (size_t)(j->log_limit - j->written);
	}
	if (n == 0 || j->log_errno)
		return;
	if (j->log_fd < 0 && (open_log(lr, j), j->log_fd < 0))
		return;
	j->written += n;
	while (n > 0) {
		ssize_t w = write(j->log_fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			j->log_errno = w < 0 ? errno : EIO;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

static void on_output(nf_loop *l, int fd, void *ctx);

static void
output_close(local_runner *lr, local_job *j)
{
	if (j->out_fd < 0)
		return;
	if (lr->loop)
		nf_loop_del_file(lr->loop, j->out_fd);
	imap_del(&lr->by_fd, (uint64_t)j->out_fd);
	close(j->out_fd);
	j->out_fd = -1;
}

/* Reads what is in a job's pipe: a few reads a turn while it runs (one chatty job does not
 * hold up the loop), all of it once it ended, as much as a pipe holds and then some (a
 * process that left the group and writes on could otherwise keep us reading for ever). */
static void
output_pump(local_runner *lr, local_job *j, bool all)
{
	for (int k = 0; j->out_fd >= 0 && k < (all ? 64 : 4); k++) {
		ssize_t n = read(j->out_fd, lr->iobuf, sizeof(lr->iobuf));

		if (n > 0) {
			log_write(lr, j, lr->iobuf, (size_t)n);
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			return;
		} else {
			output_close(lr, j);   /* the end, or an error no read will mend */
		}
	}
}

static void
on_output(nf_loop *l, int fd, void *ctx)
{
	local_runner *lr = ctx;
	size_t cell = imap_find(&lr->by_fd, (uint64_t)fd);

	(void)l;
	if (cell != (size_t)-1)
		output_pump(lr, &lr->jobs[lr->by_fd.vals[cell]], false);
}

/* The words after the first, behind "/bin/sh" and a hole for the script: the arguments
 * of a file the kernel will not run (no #!), as execvp gives it to the shell. */
static const char **
script_argv(local_runner *lr, char *const *words)
{
	size_t n = 0;

	while (words[n])
		n++;
	lr->xargv = xgrow(lr->xargv, sizeof(*lr->xargv), n + 2, &lr->xargv_cap);
	lr->xargv[0] = "/bin/sh";
	lr->xargv[1] = words[0];
	for (size_t i = 1; i <= n; i++)
		lr->xargv[i + 1] = words[i];
	return lr->xargv;
}

/* PATH=... of envp (O(env): once per start), or execvp's default. */
static const char *
env_path(char *const *envp)
{
	for (; *envp; envp++)
		if (strncmp(*envp, "PATH=", 5) == 0)
			return *envp + 5;
	return "/bin:/usr/bin";
}

static int
local_start(nf_runner *r, const nf_job *job, pid_t *pgid)
{
	local_runner *lr = (local_runner *)r;
	child_spec c = { { "sh", "-c", job->command, NULL }, job->argv, NULL, NULL,
			 job->envp ? job->envp : environ, job->cwd, lr->devnull, lr->devnull_w, lr->procs_fd,
			 lr->self, NULL };
	volatile long long start = 0;   /* written by the vfork child: volatile, or the compiler
					 * may keep its 0 across vfork */
	int pipefd[2] = { -1, -1 };
	sigset_t all, old;
	size_t slot;
	pid_t pid;
	int err, saved;

	*pgid = 0;
	if (!job->command && !(job->argv && job->argv[0]))
		return nf_error_set(NF_EINVALID, "no command to run");
	if (imap_find(&lr->by_node, job->node) != (size_t)-1)
		return nf_error_set(NF_EEXISTS, "node %zu is already running", job->node);
	if (job->argv && job->argv[0]) {
		c.path = strchr(job->argv[0], '/') ? "" : env_path(c.envp);
		c.xargv = script_argv(lr, job->argv);
	} else {
		c.words = NULL;
	}
	if (job->log_path) {
		if ((err = log_folder(lr, job->log_path)) < 0)
			return err;
		if (pipe2(pipefd, O_CLOEXEC) < 0 || (pipefd[0] = above_stdio(pipefd[0])) < 0 ||
		    (pipefd[1] = above_stdio(pipefd[1])) < 0) {
			err = nf_error_set_errno(NF_EIO, "cannot make a pipe for the log '%s'", job->log_path);
			if (pipefd[0] >= 0)
				close(pipefd[0]);
			if (pipefd[1] >= 0)
				close(pipefd[1]);
			return err;
		}
		(void)fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
		c.out_fd = pipefd[1];
	}

	c.start = &start;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = vfork();
	if (pid == 0)
		child_exec(&c);
	saved = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (pid < 0) {
		if (pipefd[0] >= 0)
			close(pipefd[0]);
		errno = saved;
		return nf_error_set_errno(NF_ERROR, "cannot start a process");
	}
	/* The child exec'd or died already (vfork waits for that); EACCES/ESRCH then: fine. */
	(void)setpgid(pid, pid);
	if (start > 0)
		nf_proc_note_start(pid, (int64_t)start);

	if (lr->free_head != (size_t)-1) {
		slot = lr->free_head;
		lr->free_head = lr->jobs[slot].next_free;
	} else {
		slot = lr->njobs;
		lr->jobs = xgrow(lr->jobs, sizeof(*lr->jobs), ++lr->njobs, &lr->cap);
	}
	lr->jobs[slot] = (local_job){ pid, job->node, job->attempt, lr->clock->now_ms(lr->clock), 0,
				      job->log_path ? xstrdup(job->log_path) : NULL, pipefd[0], -1,
				      job->log_limit, 0, 0, false };
	imap_put(&lr->by_pid, (uint64_t)pid, slot);
	imap_put(&lr->by_node, job->node, slot);
	if (pipefd[0] >= 0) {
		imap_put(&lr->by_fd, (uint64_t)pipefd[0], slot);
		if (lr->loop)
			(void)nf_loop_add_file(lr->loop, pipefd[0], on_output, lr);   /* a new fd: never NF_EEXISTS */
	}
	lr->running++;
	*pgid = pid;
	return 0;
}

/* When a job ended: the rest of its output, and the note that says when the log was cut. */
static void
close_log(local_runner *lr, local_job *j)
{
	output_pump(lr, j, true);
	output_close(lr, j);
	if (j->capped && j->log_fd >= 0) {
		char size[32], *note;

		nf_format_bytes(size, sizeof(size), j->log_limit);
		note = xasprintf("\nntflow: this log was capped at %s (log_limit): what the stage wrote after that "
				 "was discarded\n", size);
		if (write(j->log_fd, note, strlen(note)) < 0) {
			/* A full disk: the cut is still noted in the attempt's record. */
		}
		free(note);
	}
	if (j->log_fd >= 0)
		close(j->log_fd);
	j->log_fd = -1;
	free(j->log_path);
	j->log_path = NULL;
}

static int64_t
tv_ms(struct timeval tv)
{
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Reaps ended children without blocking and reports each through done. Unknown children
 * (not started here) are reaped and dropped: while attached, the runner owns them all. */
static int
reap(local_runner *lr)
{
	for (;;) {
		siginfo_t si;
		struct rusage ru;
		nf_job_result res;
		int status;
		size_t cell;
		pid_t pid;

		memset(&si, 0, sizeof(si));
		/* Look before reaping: while the leader is a zombie its pid, and so the group
		 * id, cannot be reused, so killing what it left behind is race-free. */
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECHILD)
				return 0;
			return nf_error_set_errno(NF_ERROR, "waitid");
		}
		if (si.si_pid == 0)
			return 0;
		pid = si.si_pid;
		cell = imap_find(&lr->by_pid, (uint64_t)pid);
		if (cell != (size_t)-1)
			(void)kill(-pid, SIGKILL);   /* leftovers of a finished stage */
		if (wait4(pid, &status, WNOHANG, &ru) <= 0)
			continue;
		if (cell == (size_t)-1)
			continue;

		size_t slot = lr->by_pid.vals[cell];
		local_job *j = &lr->jobs[slot];

		memset(&res, 0, sizeof(res));
		res.node = j->node;
		res.attempt = j->attempt;
		res.exited = WIFEXITED(status);
		res.exit_code = res.exited ? WEXITSTATUS(status) : 0;
		res.term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
		res.wall_ms = lr->clock->now_ms(lr->clock) - j->start_ms;
		res.user_ms = tv_ms(ru.ru_utime);
		res.sys_ms = tv_ms(ru.ru_stime);
		res.max_rss_kb = ru.ru_maxrss;
		/* What the group wrote before it ended is in the pipe; a process that left the
		 * group (setsid) and still holds it is not waited for. */
		close_log(lr, j);
		res.log_capped = j->capped;
		res.log_errno = j->log_errno;

		imap_del(&lr->by_pid, (uint64_t)pid);
		imap_del(&lr->by_node, j->node);
		j->pid = 0;
		j->next_free = lr->free_head;
		lr->free_head = slot;
		lr->running--;
		lr->done(lr->done_ctx, &res);
	}
}

/* The signal pipe is readable: drain it first, then reap, so that a SIGCHLD coming after
 * the reap leaves a byte that wakes the next turn. Interrupts are only counted by the
 * pipe's handler: the scheduler takes them after the turn. */
static void
on_signal_pipe(nf_loop *l, int fd, void *ctx)
{
	local_runner *lr = ctx;
	int err;

	(void)fd;
	nf_signals_drain();
	if ((err = reap(lr)) < 0)
		nf_loop_stop(l, err);
}

static void
local_detach(nf_runner *r)
{
	local_runner *lr = (local_runner *)r;

	if (!lr->loop)
		return;
	nf_loop_del_file(lr->loop, nf_signals_fd());
	for (size_t i = 0; i < lr->njobs; i++)
		if (lr->jobs[i].pid > 0 && lr->jobs[i].out_fd >= 0)
			nf_loop_del_file(lr->loop, lr->jobs[i].out_fd);
	lr->loop = NULL;
	lr->done = NULL;
	lr->done_ctx = NULL;
}

static int
local_attach(nf_runner *r, nf_loop *loop, nf_job_done_fn done, void *ctx)
{
	local_runner *lr = (local_runner *)r;
	int err;

	if (!done)
		return nf_error_set(NF_EINVALID, "attaching a runner needs a done callback");
	local_detach(r);
	if ((err = nf_loop_add_file(loop, nf_signals_fd(), on_signal_pipe, lr)) < 0)
		return err;
	for (size_t i = 0; i < lr->njobs; i++)
		if (lr->jobs[i].pid > 0 && lr->jobs[i].out_fd >= 0 &&
		    (err = nf_loop_add_file(loop, lr->jobs[i].out_fd, on_output, lr)) < 0) {
			lr->loop = loop;
			local_detach(r);
			return err;
		}
	lr->loop = loop;
	lr->done = done;
	lr->done_ctx = ctx;
	return 0;
}

static int
local_signal(nf_runner *r, size_t node, int sig)
{
	local_runner *lr = (local_runner *)r;
	size_t cell = imap_find(&lr->by_node, node);

	if (cell == (size_t)-1)
		return nf_error_set(NF_ENOTFOUND, "node %zu is not running", node);
	if (kill(-lr->jobs[lr->by_node.vals[cell]].pid, sig) < 0 && errno != ESRCH)
		return nf_error_set_errno(NF_ERROR, "cannot signal process group %d",
					  (int)lr->jobs[lr->by_node.vals[cell]].pid);
	return 0;
}

static void
local_free(nf_runner *r)
{
	local_runner *lr = (local_runner *)r;

	if (!lr)
		return;
	local_detach(r);
	/* Nothing we started may outlive us: kill every group, then reap the leaders. */
	for (size_t i = 0; i < lr->njobs; i++)
		if (lr->jobs[i].pid > 0)
			(void)kill(-lr->jobs[i].pid, SIGKILL);
	for (size_t i = 0; i < lr->njobs; i++)
		if (lr->jobs[i].pid > 0)
			while (waitpid(lr->jobs[i].pid, NULL, 0) < 0 && errno == EINTR)
				;
	for (size_t i = 0; i < lr->njobs; i++) {
		if (lr->jobs[i].pid <= 0)
			continue;
		if (lr->jobs[i].out_fd >= 0)
			close(lr->jobs[i].out_fd);
		if (lr->jobs[i].log_fd >= 0)
			close(lr->jobs[i].log_fd);
		free(lr->jobs[i].log_path);
	}
	if (lr->devnull >= 0)
		close(lr->devnull);
	if (lr->devnull_w >= 0)
		close(lr->devnull_w);
	imap_release(&lr->by_pid);
	imap_release(&lr->by_node);
	imap_release(&lr->by_fd);
	free(lr->log_dir);
	free(lr->xargv);
	free(lr->jobs);
	free(lr);
}

void
nf_runner_local_procs_fd(nf_runner *r, int fd)
{
	((local_runner *)r)->procs_fd = fd;
}

static const nf_runner_ops local_ops = {
	.name = "local",
	.start = local_start,
	.attach = local_attach,
	.detach = local_detach,
	.signal = local_signal,
	.free = local_free,
};

int
nf_runner_local_new(nf_runner **out, nf_clock *clock)
{
	local_runner *lr;
	int err;

	*out = NULL;
	if ((err = nf_signals_install()) < 0)
		return err;
	lr = xcalloc(1, sizeof(*lr));
	lr->base.ops = &local_ops;
	lr->clock = clock ? clock : nf_clock_system();
	lr->free_head = (size_t)-1;
	lr->procs_fd = -1;
	lr->self = getpid();
	lr->devnull = above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC));
	lr->devnull_w = lr->devnull < 0 ? -1 : above_stdio(open("/dev/null", O_WRONLY | O_CLOEXEC));
	if (lr->devnull < 0 || lr->devnull_w < 0) {
		err = nf_error_set_errno(NF_EIO, "cannot open '/dev/null'");
		if (lr->devnull >= 0)
			close(lr->devnull);
		free(lr);
		return err;
	}
	*out = &lr->base;
	return 0;
}
