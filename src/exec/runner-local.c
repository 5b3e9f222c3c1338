/* runner-local.c: the local runner. Each attempt is /bin/sh -c COMMAND started with
 * vfork+execve in a process group of its own (so one kill reaches everything it spawned),
 * with PR_SET_PDEATHSIG so a SIGKILLed ntflow takes its direct children along, stdin from
 * /dev/null and stdout+stderr in the attempt's log. Before it execs, the child appends its
 * group to the run's procs record, so a crash of ntflow at any later point leaves no group
 * that recovery cannot find. Attached to an event loop, it watches the signal self-pipe and
 * reaps when it is readable; a pid -> job hash keeps each event O(1). */
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
	char *log_path;              /* set when the log has a limit */
	uint64_t log_limit;
	bool capped;
} local_job;

typedef struct local_runner {
	nf_runner base;
	nf_clock *clock;
	int devnull;                 /* read-only, kept open for every child's stdin */
	local_job *jobs;
	size_t njobs, cap;           /* cells used (live or free), capacity */
	size_t free_head;            /* (size_t)-1: no free cell */
	size_t running;
	size_t limited;              /* running jobs whose log has a limit */
	imap by_pid, by_node;
	int procs_fd;                /* -1, or the run's procs record (append) */
	nf_loop *loop;               /* attached to: NULL when not */
	nf_job_done_fn done;
	void *done_ctx;
	int64_t log_timer;           /* the log check's timer on loop, 0 when none */
} local_runner;

static void arm_log_check(local_runner *lr);

/* Everything the vfork child needs, prepared by the parent: the child may not allocate. */
typedef struct child_spec {
	const char *argv[4];
	char *const *envp;
	const char *cwd;
	int devnull, log_fd, procs_fd;
	pid_t parent;
} child_spec;

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
child_record(int fd)
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
	if (dup2(c->devnull, 0) < 0 || dup2(c->log_fd, 1) < 0 || dup2(c->log_fd, 2) < 0)
		child_fail("dup2", errno);
	if (c->procs_fd >= 0)
		child_record(c->procs_fd);   /* after the dup2s: a failure is said in the log */
	if (c->cwd && chdir(c->cwd) < 0)
		child_fail(c->cwd, errno);
	nf_signals_reset_child();
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

/* Opens the log for writing, making its folder when missing; append-only when it has a
 * limit, so that the writes after a cut land at the cut. */
static int
open_log(int *out, const char *path, bool append)
{
	int flags = O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | (append ? O_APPEND : 0);
	int fd;

	if (!path)
		path = "/dev/null";
	/* Private to the owner, as the state directory it lives in: a stage's output may hold
	 * what it was given. */
	fd = open(path, flags, 0600);
	if (fd < 0 && errno == ENOENT) {
		const char *slash = strrchr(path, '/');

		if (slash && slash != path) {
			char *dir = xstrndup(path, (size_t)(slash - path));
			int err = nf_mkdir_p(dir, 0700);

			free(dir);
			if (err < 0)
				return err;
			fd = open(path, flags, 0600);
		}
	}
	if ((fd = above_stdio(fd)) < 0)
		return nf_error_set_io(NF_EIO, path, "cannot open log '%s'", path);
	*out = fd;
	return 0;
}

static int
local_start(nf_runner *r, const nf_job *job, pid_t *pgid)
{
	local_runner *lr = (local_runner *)r;
	child_spec c = { { "sh", "-c", job->command, NULL }, job->envp ? job->envp : environ,
			 job->cwd, lr->devnull, -1, lr->procs_fd, getpid() };
	sigset_t all, old;
	size_t slot;
	pid_t pid;
	int err, saved;

	*pgid = 0;
	if (!job->command)
		return nf_error_set(NF_EINVALID, "no command to run");
	if (imap_find(&lr->by_node, job->node) != (size_t)-1)
		return nf_error_set(NF_EEXISTS, "node %zu is already running", job->node);
	if ((err = open_log(&c.log_fd, job->log_path, job->log_path && job->log_limit > 0)) < 0)
		return err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = vfork();
	if (pid == 0)
		child_exec(&c);
	saved = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(c.log_fd);
	if (pid < 0) {
		errno = saved;
		return nf_error_set_errno(NF_ERROR, "cannot start a process");
	}
	/* The child exec'd or died already (vfork waits for that); EACCES/ESRCH then: fine. */
	(void)setpgid(pid, pid);

	if (lr->free_head != (size_t)-1) {
		slot = lr->free_head;
		lr->free_head = lr->jobs[slot].next_free;
	} else {
		slot = lr->njobs;
		lr->jobs = xgrow(lr->jobs, sizeof(*lr->jobs), ++lr->njobs, &lr->cap);
	}
	lr->jobs[slot] = (local_job){ pid, job->node, job->attempt, lr->clock->now_ms(lr->clock), 0, NULL, 0, false };
	if (job->log_path && job->log_limit > 0) {
		lr->jobs[slot].log_path = xstrdup(job->log_path);
		lr->jobs[slot].log_limit = job->log_limit;
		lr->limited++;
		arm_log_check(lr);
	}
	imap_put(&lr->by_pid, (uint64_t)pid, slot);
	imap_put(&lr->by_node, job->node, slot);
	lr->running++;
	*pgid = pid;
	return 0;
}

/* Cuts a job's log back to its limit when it grew past it. */
static void
cut_log(local_job *j)
{
	struct stat st;

	if (j->log_path && stat(j->log_path, &st) == 0 && (uint64_t)st.st_size > j->log_limit &&
	    truncate(j->log_path, (off_t)j->log_limit) == 0)
		j->capped = true;
}

static void
cut_logs(local_runner *lr)
{
	for (size_t i = 0; lr->limited && i < lr->njobs; i++)
		if (lr->jobs[i].pid > 0)
			cut_log(&lr->jobs[i]);
}

/* When a job whose log has a limit ended: the last cut, and the note that says so. */
static void
close_log(local_runner *lr, local_job *j)
{
	char size[32], *note;
	int fd;

	if (!j->log_path)
		return;
	cut_log(j);
	if (j->capped && (fd = open(j->log_path, O_WRONLY | O_APPEND | O_CLOEXEC)) >= 0) {
		nf_format_bytes(size, sizeof(size), j->log_limit);
		note = xasprintf("\nntflow: this log was capped at %s (log_limit): what the stage wrote after that "
				 "was discarded\n", size);
		if (write(fd, note, strlen(note)) < 0) {
			/* A full disk: the cut is still noted in the attempt's record. */
		}
		free(note);
		close(fd);
	}
	free(j->log_path);
	j->log_path = NULL;
	lr->limited--;
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
		close_log(lr, j);
		res.log_capped = j->capped;

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
on_log_check(nf_loop *l, int64_t id, void *ctx)
{
	local_runner *lr = ctx;

	(void)l;
	(void)id;
	lr->log_timer = 0;
	cut_logs(lr);
	arm_log_check(lr);
}

/* While jobs with a log limit run on an attached runner, their logs are looked at every
 * NF_LOG_CHECK_MS. */
static void
arm_log_check(local_runner *lr)
{
	nf_clock *c;

	if (!lr->loop || lr->limited == 0 || lr->log_timer)
		return;
	c = nf_loop_clock(lr->loop);
	lr->log_timer = nf_loop_add_timer(lr->loop, c->now_ms(c) + NF_LOG_CHECK_MS, on_log_check, lr);
}

static void
local_detach(nf_runner *r)
{
	local_runner *lr = (local_runner *)r;

	if (!lr->loop)
		return;
	nf_loop_del_file(lr->loop, nf_signals_fd());
	nf_loop_del_timer(lr->loop, lr->log_timer);
	lr->log_timer = 0;
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
	lr->loop = loop;
	lr->done = done;
	lr->done_ctx = ctx;
	arm_log_check(lr);
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
	for (size_t i = 0; i < lr->njobs; i++)
		free(lr->jobs[i].log_path);
	if (lr->devnull >= 0)
		close(lr->devnull);
	imap_release(&lr->by_pid);
	imap_release(&lr->by_node);
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
	lr->devnull = above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC));
	if (lr->devnull < 0) {
		err = nf_error_set_errno(NF_EIO, "cannot open '/dev/null'");
		free(lr);
		return err;
	}
	*out = &lr->base;
	return 0;
}
