/* runner-local.c: the local runner. Each attempt is started by ntflow-spawn (spawner.c), a
 * small process the runner execs once and talks to over two sockets and a bell (spawn-proto.h): why
 * not vfork from ntflow itself is that Linux's execve keeps the high-water RSS of the
 * memory a process leaves, a vfork child's being ntflow's, so every stage's MAXRSS would
 * be at least ntflow's peak; from the spawner it is the stage's own. The spawner starts
 * each attempt as ntflow did (spawn-child.c): a process group of its own (one kill reaches
 * everything it spawned, and the runner, same uid, signals it directly), PR_SET_PDEATHSIG
 * (the spawner is told of ntflow's death and kills every stage's group before it goes; the
 * stage dies with the spawner), stdin from /dev/null, its
 * group appended to the run's procs record before it execs; words (nf_job.argv) exec'd
 * directly with the job's PATH, any other job /bin/sh -c COMMAND. stdout+stderr go into a
 * pipe the runner makes and reads from its event loop, creating the attempt's log at the
 * first byte: a stage that prints nothing leaves no file, and the log limit is kept as the
 * bytes arrive. Attached to an event loop, it watches the spawner's bell, reading the exits
 * socket when it rings or closes (each exit: pid, wait status, rusage), and the signal
 * self-pipe (the spawner's own death);
 * pid -> job and fd -> job hashes keep each event O(1). The spawner is started at the
 * first job, not with the runner: a run whose stages are all cached starts no process at
 * all, as ninja's no-op does not. Without a spawner program there is no local runner:
 * nf_runner_local_new fails and says where it looked; one that is no spawner (it does not
 * say it is ready) fails the first start, and every start after it the same way. A deferred job
 * (defer) has its cell and pipe from the request on but no pid: the spawner starts it in
 * the place of the next child it reaps and names it in that child's exit, and the start
 * is reported (nf_runner.started) right after that exit's result. */
#include "config.h"
#include "ntflow/exec.h"
#include "spawn-proto.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
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
	pid_t pid;                   /* 0: free cell of the jobs array, or deferred */
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
	bool deferred;               /* queued in the spawner, not started (pid 0) */
} local_job;

/* A cell in use: a job started, or deferred. */
static bool
job_live(const local_job *j)
{
	return j->pid > 0 || j->deferred;
}

typedef struct local_runner {
	nf_runner base;
	nf_clock *clock;
	int devnull;                 /* read-only, kept open for every child's stdin */
	int devnull_w;               /* the output of a job without a log */
	local_job *jobs;
	size_t njobs, cap;           /* cells used (live or free), capacity */
	size_t free_head;            /* (size_t)-1: no free cell */
	imap by_pid, by_node, by_fd;
	int procs_fd;                /* -1, or the run's procs record (append) */
	pid_t spawner;               /* ntflow-spawn; 0 once reaped */
	char *spawner_path;
	int ctl, exits;              /* its sockets: requests and replies, exits; -1 once closed */
	int bell;                    /* the read end of its bell: read the exits; -1 once closed */
	bool spawner_lost;           /* it died: no more starts */
	char *spawner_failed;        /* it could not be started: why, for every start */
	nf_loop *loop;               /* attached to: NULL when not */
	nf_job_done_fn done;
	void *done_ctx;
	char *log_dir;               /* the folder of the last log, known to exist */
	char iobuf[65536];           /* one read of a job's output */
} local_runner;

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
	/* No log (output to /dev/null): nothing to keep, not even the spawner's death note. */
	if (n == 0 || j->log_errno || !j->log_path)
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

static int
lost_error(local_runner *lr)
{
	lr->spawner_lost = true;
	return nf_error_set(NF_ERROR, "the process spawner '%s' has gone: cannot start a process", lr->spawner_path);
}

/* A deferred job's name in the protocol. */
static uint64_t
token_of(size_t node)
{
	return (uint64_t)node + 1;
}

/* Reads the reply to the last request. */
static int
read_reply(local_runner *lr, nf_spawn_reply *rep)
{
	if (nf_spawn_read_all(lr->ctl, rep, sizeof(*rep)) < 0)
		return lost_error(lr);
	return 0;
}

/* Sends the request for job (its output into out_fd) and, unless it is deferred (no reply
 * then; pid and start untouched), reads the reply: the child's pid and start time. */
static int
spawn_request(local_runner *lr, const nf_job *job, int out_fd, bool defer, pid_t *pid, int64_t *start)
{
	char *const *envp = job->envp ? job->envp : environ;
	char *const *words = job->argv && job->argv[0] ? job->argv : NULL;
	nf_spawn_req req = { NF_SPAWN_MAGIC, defer ? NF_SPAWN_DEFER : 0, 0, 0, 0, defer ? token_of(job->node) : 0 };
	nf_spawn_reply rep;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} ctl;
	struct msghdr msg = { 0 };
	struct iovec iov[2];
	int fds[2] = { out_fd, lr->procs_fd };
	size_t len = 0, off = 0;
	char *strs, *p;
	ssize_t w;

	/* The strings: the words (or the command), the environment, the cwd. */
	if (words) {
		req.flags |= NF_SPAWN_WORDS;
		for (; words[req.nargs]; req.nargs++)
			len += strlen(words[req.nargs]) + 1;
	} else {
		req.nargs = 1;
		len += strlen(job->command) + 1;
	}
	for (; envp[req.nenv]; req.nenv++)
		len += strlen(envp[req.nenv]) + 1;
	if (job->cwd) {
		req.flags |= NF_SPAWN_CWD;
		len += strlen(job->cwd) + 1;
	}
	if (lr->procs_fd >= 0)
		req.flags |= NF_SPAWN_PROCS;
	/* Its timeout runs in the scheduler from its start, which a held exit would report
	 * late, and an end held in the spawner could come after it; a job of several cpus
	 * frees slots the queued job started in its place does not take: the scheduler fills
	 * them. */
	if (job->timeout_ms > 0 || job->cpus > 1)
		req.flags |= NF_SPAWN_PROMPT;
	req.len = len;
	p = strs = xmalloc(len ? len : 1);
	for (uint32_t k = 0; k < req.nargs; k++)
		p = stpcpy(p, words ? words[k] : job->command) + 1;
	for (uint32_t k = 0; k < req.nenv; k++)
		p = stpcpy(p, envp[k]) + 1;
	if (job->cwd)
		p = stpcpy(p, job->cwd) + 1;

	/* The fds go with the first bytes; a stream may take the rest in pieces. */
	iov[0] = (struct iovec){ &req, sizeof(req) };
	iov[1] = (struct iovec){ strs, len };
	msg.msg_iov = iov;
	msg.msg_iovlen = 2;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = CMSG_SPACE((lr->procs_fd >= 0 ? 2 : 1) * sizeof(int));
	memset(ctl.buf, 0, sizeof(ctl.buf));
	CMSG_FIRSTHDR(&msg)->cmsg_level = SOL_SOCKET;
	CMSG_FIRSTHDR(&msg)->cmsg_type = SCM_RIGHTS;
	CMSG_FIRSTHDR(&msg)->cmsg_len = CMSG_LEN((lr->procs_fd >= 0 ? 2 : 1) * sizeof(int));
	memcpy(CMSG_DATA(CMSG_FIRSTHDR(&msg)), fds, (lr->procs_fd >= 0 ? 2 : 1) * sizeof(int));
	while ((w = sendmsg(lr->ctl, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (w > 0) {
		off = (size_t)w;
		while (off < sizeof(req) + len) {
			const char *from = off < sizeof(req) ? (const char *)&req + off : strs + (off - sizeof(req));
			size_t n = off < sizeof(req) ? sizeof(req) - off : len - (off - sizeof(req));

			if ((w = send(lr->ctl, from, n, MSG_NOSIGNAL)) < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			off += (size_t)w;
		}
	}
	free(strs);
	if (off < sizeof(req) + len)
		return lost_error(lr);
	if (defer)
		return 0;
	if (read_reply(lr, &rep) < 0)
		return NF_ERROR;
	if (rep.err) {
		errno = rep.err;
		return nf_error_set_errno(NF_ERROR, "cannot start a process");
	}
	*pid = (pid_t)rep.pid;
	*start = rep.start;
	return 0;
}

static int spawner_ready(local_runner *lr);

/* What a start or a defer checks first, and the pipe for the job's log (pipefd: -1, -1
 * when it has none). */
static int
job_pipe(local_runner *lr, const nf_job *job, int pipefd[2])
{
	int err;

	pipefd[0] = pipefd[1] = -1;
	if (!job->command && !(job->argv && job->argv[0]))
		return nf_error_set(NF_EINVALID, "no command to run");
	if (imap_find(&lr->by_node, job->node) != (size_t)-1)
		return nf_error_set(NF_EEXISTS, "node %zu is already running", job->node);
	if ((err = spawner_ready(lr)) < 0)
		return err;
	if (job->log_path) {
		if ((err = log_folder(lr, job->log_path)) < 0)
			return err;
		if (pipe2(pipefd, O_CLOEXEC) < 0)
			return nf_error_set_errno(NF_EIO, "cannot make a pipe for the log '%s'", job->log_path);
		(void)fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	}
	return 0;
}

/* A job's cell, deferred (job_started makes it a started one), its output's read end
 * (-1: none) watched. */
static size_t
job_cell(local_runner *lr, const nf_job *job, int out_fd)
{
	size_t slot;

	if (lr->free_head != (size_t)-1) {
		slot = lr->free_head;
		lr->free_head = lr->jobs[slot].next_free;
	} else {
		slot = lr->njobs;
		lr->jobs = xgrow(lr->jobs, sizeof(*lr->jobs), ++lr->njobs, &lr->cap);
	}
	lr->jobs[slot] = (local_job){ 0, job->node, job->attempt, lr->clock->now_ms(lr->clock), 0,
				      job->log_path ? xstrdup(job->log_path) : NULL, out_fd, -1,
				      job->log_limit, 0, 0, false, true };
	imap_put(&lr->by_node, job->node, slot);
	if (out_fd >= 0) {
		imap_put(&lr->by_fd, (uint64_t)out_fd, slot);
		if (lr->loop)
			(void)nf_loop_add_file(lr->loop, out_fd, on_output, lr);   /* a new fd: never NF_EEXISTS */
	}
	return slot;
}

/* A job's cell has its process: pid, from now. */
static void
job_started(local_runner *lr, size_t slot, pid_t pid, int64_t start, int64_t late_ms)
{
	local_job *j = &lr->jobs[slot];

	if (start > 0)
		nf_proc_note_start(pid, start);
	j->pid = pid;
	j->deferred = false;
	j->start_ms = lr->clock->now_ms(lr->clock) - late_ms;
	imap_put(&lr->by_pid, (uint64_t)pid, slot);
}

/* A deferred job that will not start: its cell freed, its output closed. */
static void
job_unstarted(local_runner *lr, size_t slot)
{
	local_job *j = &lr->jobs[slot];

	output_close(lr, j);
	free(j->log_path);
	j->log_path = NULL;
	imap_del(&lr->by_node, j->node);
	j->deferred = false;
	j->next_free = lr->free_head;
	lr->free_head = slot;
}

/* A start or a defer: the job's pipe made, its request sent (a start's reply read: pid and
 * start), the pipe's write end given away; *out: the read end (-1: no log). */
static int
send_job(local_runner *lr, const nf_job *job, bool defer, pid_t *pid, int64_t *start, int *out)
{
	int pipefd[2], err;

	*out = -1;
	if ((err = job_pipe(lr, job, pipefd)) < 0)
		return err;
	err = spawn_request(lr, job, pipefd[1] >= 0 ? pipefd[1] : lr->devnull_w, defer, pid, start);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (err < 0) {
		if (pipefd[0] >= 0)
			close(pipefd[0]);
		return err;
	}
	*out = pipefd[0];
	return 0;
}

static int
local_start(nf_runner *r, const nf_job *job, pid_t *pgid)
{
	local_runner *lr = (local_runner *)r;
	int64_t start = 0;
	pid_t pid = 0;
	int out, err;

	*pgid = 0;
	if ((err = send_job(lr, job, false, &pid, &start, &out)) < 0)
		return err;
	job_started(lr, job_cell(lr, job, out), pid, start, 0);
	*pgid = pid;
	return 0;
}

static int
local_defer(nf_runner *r, const nf_job *job)
{
	local_runner *lr = (local_runner *)r;
	int out, err;

	if ((err = send_job(lr, job, true, NULL, NULL, &out)) < 0)
		return err;
	(void)job_cell(lr, job, out);
	return 0;
}

/* Sends a promote or a withdraw for node's deferred job and reads the answer into *rep,
 * *slot: its cell. 1 when the job was still queued (it is started now, or dropped), 0
 * when it had started already in an ended job's place (that exit says so), or an error. */
static int
control_request(local_runner *lr, size_t node, uint32_t flag, size_t *slot, nf_spawn_reply *rep)
{
	nf_spawn_req req = { NF_SPAWN_MAGIC, flag, 0, 0, 0, token_of(node) };
	size_t cell = imap_find(&lr->by_node, node);

	if (cell == (size_t)-1 || !lr->jobs[lr->by_node.vals[cell]].deferred)
		return nf_error_set(NF_EINVALID, "node %zu has no deferred job", node);
	*slot = lr->by_node.vals[cell];
	if (lr->spawner_lost)
		return lost_error(lr);
	if (nf_spawn_write_all(lr->ctl, &req, sizeof(req)) < 0)
		return lost_error(lr);
	if (read_reply(lr, rep) < 0)
		return NF_ERROR;
	return rep->queued ? 1 : 0;
}

static int
local_promote(nf_runner *r, size_t node, pid_t *pgid)
{
	local_runner *lr = (local_runner *)r;
	nf_spawn_reply rep;
	size_t slot;
	int rc;

	*pgid = 0;
	if ((rc = control_request(lr, node, NF_SPAWN_PROMOTE, &slot, &rep)) <= 0)
		return rc;
	if (rep.err) {
		job_unstarted(lr, slot);
		errno = rep.err;
		return nf_error_set_errno(NF_ERROR, "cannot start a process");
	}
	job_started(lr, slot, (pid_t)rep.pid, rep.start, 0);
	*pgid = (pid_t)rep.pid;
	return 1;
}

static int
local_withdraw(nf_runner *r, size_t node)
{
	local_runner *lr = (local_runner *)r;
	nf_spawn_reply rep;
	size_t slot;
	int rc;

	if ((rc = control_request(lr, node, NF_SPAWN_WITHDRAW, &slot, &rep)) == 1)
		job_unstarted(lr, slot);
	return rc;
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

/* A job ended (the spawner said so, or it died): its result through done. */
static void
job_ended(local_runner *lr, size_t slot, int status, int64_t user_us, int64_t sys_us, long max_rss_kb,
	  int64_t late_ms)
{
	local_job *j = &lr->jobs[slot];
	nf_job_result res;

	memset(&res, 0, sizeof(res));
	res.node = j->node;
	res.attempt = j->attempt;
	res.exited = WIFEXITED(status);
	res.exit_code = res.exited ? WEXITSTATUS(status) : 0;
	res.term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	res.wall_ms = lr->clock->now_ms(lr->clock) - late_ms - j->start_ms;
	if (res.wall_ms < 0)
		res.wall_ms = 0;
	res.user_ms = user_us / 1000;
	res.sys_ms = sys_us / 1000;
	res.max_rss_kb = max_rss_kb;
	res.late_ms = late_ms;
	/* What the group wrote before it ended is in the pipe; a process that left the
	 * group (setsid) and still holds it is not waited for. */
	close_log(lr, j);
	res.log_capped = j->capped;
	res.log_errno = j->log_errno;

	imap_del(&lr->by_pid, (uint64_t)j->pid);
	imap_del(&lr->by_node, j->node);
	j->pid = 0;
	j->next_free = lr->free_head;
	lr->free_head = slot;
	lr->done(lr->done_ctx, &res);
}

static void on_bell(nf_loop *l, int fd, void *ctx);

/* The spawner died (killed by someone: it leaves only with ntflow or the runner). Its
 * stages died with it (PDEATHSIG), what they left is killed here; each ends killed, its
 * MAXRSS unknown (0), the reason in its log; later starts fail. */
static void
spawner_lost(local_runner *lr)
{
	static const char note[] = "\nntflow: the process spawner (ntflow-spawn) died: the stage was killed\n";

	lr->spawner_lost = true;
	if (lr->bell >= 0) {
		if (lr->loop)
			nf_loop_del_file(lr->loop, lr->bell);
		close(lr->bell);
		lr->bell = -1;
	}
	if (lr->exits >= 0) {
		close(lr->exits);
		lr->exits = -1;
	}
	for (size_t i = 0; i < lr->njobs && lr->done; i++)
		if (lr->jobs[i].pid > 0) {
			(void)kill(-lr->jobs[i].pid, SIGKILL);
			output_pump(lr, &lr->jobs[i], true);
			log_write(lr, &lr->jobs[i], note, sizeof(note) - 1);
			job_ended(lr, i, SIGKILL, 0, 0, 0, 0);   /* a wait status: killed by SIGKILL */
		}
	/* The queued ones will not start: each fails to, saying why. */
	(void)lost_error(lr);
	for (size_t i = 0; i < lr->njobs && lr->done; i++)
		if (lr->jobs[i].deferred) {
			size_t node = lr->jobs[i].node;
			int attempt = lr->jobs[i].attempt;

			job_unstarted(lr, i);
			if (lr->base.started)
				lr->base.started(lr->done_ctx, node, attempt, 0, 0, nf_error_last());
		}
}

/* How long ago an exit's child was reaped (ms): the runner hears of it when it is rung.
 * Both processes read CLOCK_MONOTONIC. */
static int64_t
exit_late_ms(const nf_spawn_exit *ex)
{
	int64_t late = ex->reaped_ns > 0 ? nf_now_monotonic_ms() - ex->reaped_ns / 1000000 : 0;

	return late > 0 ? late : 0;
}

/* The start an exit names (the spawner started a deferred job in the ended one's place),
 * reported after that exit. */
static void
next_started(local_runner *lr, const nf_spawn_exit *ex, int64_t late_ms)
{
	size_t cell = imap_find(&lr->by_node, ex->next_token - 1), slot, node;
	int attempt;

	if (cell == (size_t)-1 || !lr->jobs[lr->by_node.vals[cell]].deferred)
		return;   /* not ours (a token is a node + 1; a withdrawn one is no longer queued) */
	slot = lr->by_node.vals[cell];
	node = lr->jobs[slot].node;
	attempt = lr->jobs[slot].attempt;
	if (ex->next_err) {
		job_unstarted(lr, slot);
		errno = ex->next_err;
		(void)nf_error_set_errno(NF_ERROR, "cannot start a process");
		if (lr->base.started)
			lr->base.started(lr->done_ctx, node, attempt, 0, 0, nf_error_last());
		return;
	}
	job_started(lr, slot, (pid_t)ex->next_pid, ex->next_start, late_ms);
	if (lr->base.started)
		lr->base.started(lr->done_ctx, node, attempt, (pid_t)ex->next_pid, late_ms, NULL);
}

/* Each exit the spawner sent, reported through done, until the socket is empty; its end
 * (the spawner gone, and all it sent read) is the spawner lost. */
static void
read_exits(local_runner *lr)
{
	while (lr->done && lr->exits >= 0) {
		nf_spawn_exit ex;
		ssize_t n = recv(lr->exits, &ex, sizeof(ex), MSG_DONTWAIT);
		int64_t late_ms;
		size_t cell;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n != (ssize_t)sizeof(ex)) {
			spawner_lost(lr);
			return;
		}
		late_ms = exit_late_ms(&ex);
		if ((cell = imap_find(&lr->by_pid, (uint64_t)ex.pid)) != (size_t)-1)
			job_ended(lr, lr->by_pid.vals[cell], ex.status, ex.user_us, ex.sys_us, (long)ex.max_rss_kb,
				  late_ms);
		if (ex.next_token && lr->done)
			next_started(lr, &ex, late_ms);
	}
}

/* The bell rang (or its pipe closed: the spawner has gone, and what it sent before is still
 * in the exits socket): the exits are read. */
static void
on_bell(nf_loop *l, int fd, void *ctx)
{
	local_runner *lr = ctx;
	char buf[64];
	ssize_t n;

	(void)l;
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		;
	read_exits(lr);
	if (n == 0 && lr->bell >= 0 && lr->done)
		spawner_lost(lr);   /* closed, yet the exits socket not: gone all the same */
}

/* The signal pipe is readable: drain it, and reap the spawner if it died (its exits socket
 * says so to the jobs). Interrupts are only counted by the pipe's handler: the scheduler
 * takes them after the turn. */
static void
on_signal_pipe(nf_loop *l, int fd, void *ctx)
{
	local_runner *lr = ctx;

	(void)l;
	(void)fd;
	nf_signals_drain();
	if (lr->spawner > 0 && waitpid(lr->spawner, NULL, WNOHANG) == lr->spawner)
		lr->spawner = 0;
}

static void
local_detach(nf_runner *r)
{
	local_runner *lr = (local_runner *)r;

	if (!lr->loop)
		return;
	nf_loop_del_file(lr->loop, nf_signals_fd());
	if (lr->bell >= 0)
		nf_loop_del_file(lr->loop, lr->bell);
	for (size_t i = 0; i < lr->njobs; i++)
		if (job_live(&lr->jobs[i]) && lr->jobs[i].out_fd >= 0)
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
	lr->loop = loop;
	if (lr->bell >= 0 && (err = nf_loop_add_file(loop, lr->bell, on_bell, lr)) < 0) {
		nf_loop_del_file(loop, nf_signals_fd());
		lr->loop = NULL;
		return err;
	}
	for (size_t i = 0; i < lr->njobs; i++)
		if (job_live(&lr->jobs[i]) && lr->jobs[i].out_fd >= 0 &&
		    (err = nf_loop_add_file(loop, lr->jobs[i].out_fd, on_output, lr)) < 0) {
			local_detach(r);
			return err;
		}
	lr->done = done;
	lr->done_ctx = ctx;
	return 0;
}

static int
local_signal(nf_runner *r, size_t node, int sig)
{
	local_runner *lr = (local_runner *)r;
	size_t cell = imap_find(&lr->by_node, node);

	if (cell == (size_t)-1 || lr->jobs[lr->by_node.vals[cell]].pid <= 0)
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
	/* Nothing we started may outlive us: kill every group; the spawner, seeing its requests
	 * end, kills the leaders left, reaps them and exits, and we wait for that. */
	for (size_t i = 0; i < lr->njobs; i++)
		if (lr->jobs[i].pid > 0)
			(void)kill(-lr->jobs[i].pid, SIGKILL);
	if (lr->ctl >= 0)
		close(lr->ctl);
	if (lr->exits >= 0)
		close(lr->exits);
	if (lr->bell >= 0)
		close(lr->bell);
	if (lr->spawner > 0)
		while (waitpid(lr->spawner, NULL, 0) < 0 && errno == EINTR)
			;
	for (size_t i = 0; i < lr->njobs; i++) {
		if (!job_live(&lr->jobs[i]))
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
	free(lr->spawner_path);
	free(lr->spawner_failed);
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
	.defer = local_defer,
	.promote = local_promote,
	.withdraw = local_withdraw,
};

/* Where ntflow-spawn is: $NTFLOW_SPAWN, else beside the running program (the build tree),
 * else where `make install` puts it. */
static char *
spawner_path(void)
{
	const char *env = getenv("NTFLOW_SPAWN");
	char self[PATH_MAX], *path;
	ssize_t n;

	if (env && *env)
		return xstrdup(env);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		char *slash;

		self[n] = '\0';
		if ((slash = strrchr(self, '/'))) {
			path = xasprintf("%.*s/ntflow-spawn", (int)(slash - self), self);
			if (access(path, X_OK) == 0)
				return path;
			free(path);
		}
	}
	return xstrdup(NF_PKGLIBEXECDIR "/ntflow-spawn");
}

/* Execs the spawner with its two sockets on fds 3 and 4 and its bell on 5, and waits until
 * it is ready. */
static int
spawner_start(local_runner *lr)
{
	int ctl[2] = { -1, -1 }, ex[2] = { -1, -1 }, bell[2] = { -1, -1 }, mine[3] = { -1, -1, -1 }, err = 0;
	volatile int exec_err = 0;   /* written by the vfork child */
	char pidtext[24], ready = 0;
	const char *argv[3] = { "ntflow-spawn", pidtext, NULL };
	sigset_t all, old;
	pid_t self = getpid();

	snprintf(pidtext, sizeof(pidtext), "%d", (int)self);
	/* Its ends above 5, so that the child's dup2 onto 3, 4 and 5 overwrites none. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ex) < 0 || pipe2(bell, O_CLOEXEC) < 0 ||
	    (mine[0] = fcntl(ctl[1], F_DUPFD_CLOEXEC, 6)) < 0 || (mine[1] = fcntl(ex[1], F_DUPFD_CLOEXEC, 6)) < 0 ||
	    (mine[2] = fcntl(bell[1], F_DUPFD_CLOEXEC, 6)) < 0) {
		err = nf_error_set_errno(NF_ERROR, "cannot make the sockets of the process spawner");
		goto done;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	lr->spawner = vfork();
	if (lr->spawner == 0) {
		/* A group of its own: a Ctrl-C at the terminal is ntflow's to handle, not the
		 * spawner's to die of (its stages would die with it). */
		if (setpgid(0, 0) < 0 || prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != self ||
		    dup2(lr->devnull, 0) < 0 || dup2(lr->devnull_w, 1) < 0 || dup2(lr->devnull_w, 2) < 0 ||
		    dup2(mine[0], NF_SPAWN_CTL_FD) < 0 || dup2(mine[1], NF_SPAWN_EXIT_FD) < 0 ||
		    dup2(mine[2], NF_SPAWN_BELL_FD) < 0) {
			exec_err = errno ? errno : ESRCH;
			_exit(127);
		}
		nf_signals_reset_child();
		execve(lr->spawner_path, (char *const *)argv, environ);
		exec_err = errno;
		_exit(127);
	}
	err = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (lr->spawner < 0) {
		errno = err;
		lr->spawner = 0;
		err = nf_error_set_errno(NF_ERROR, "cannot start the process spawner '%s'", lr->spawner_path);
		goto done;
	}
	err = 0;
	close(ctl[1]);
	close(ex[1]);
	close(bell[1]);
	close(mine[0]);
	close(mine[1]);
	close(mine[2]);
	ctl[1] = ex[1] = bell[1] = mine[0] = mine[1] = mine[2] = -1;
	lr->ctl = ctl[0];
	lr->exits = ex[0];
	lr->bell = bell[0];
	(void)fcntl(lr->exits, F_SETFL, O_NONBLOCK);
	(void)fcntl(lr->bell, F_SETFL, O_NONBLOCK);
	if (exec_err || nf_spawn_read_all(lr->ctl, &ready, 1) < 0 || ready != NF_SPAWN_READY) {
		errno = exec_err;
		if (exec_err) {
			err = nf_error_set_errno(NF_ERROR, "cannot start the process spawner '%s' (set NTFLOW_SPAWN, or "
						 "reinstall ntflow)", lr->spawner_path);
		} else if (ready) {
			/* It waits for requests: not to be waited for. */
			(void)kill(lr->spawner, SIGKILL);
			err = nf_error_set(NF_ERROR, "the process spawner '%s' is not this ntflow's (another version?): "
					   "set NTFLOW_SPAWN to the ntflow-spawn built with it, or reinstall ntflow",
					   lr->spawner_path);
		} else {
			err = nf_error_set(NF_ERROR, "the process spawner '%s' ended before it was ready: is it "
					   "ntflow-spawn?", lr->spawner_path);
		}
		while (waitpid(lr->spawner, NULL, 0) < 0 && errno == EINTR)
			;
		lr->spawner = 0;
	}
done:
	if (err < 0) {
		int fds[] = { ctl[0], ctl[1], ex[0], ex[1], bell[0], bell[1], mine[0], mine[1], mine[2] };

		for (size_t i = 0; i < NF_ARRAY_SIZE(fds); i++)
			if (fds[i] >= 0)
				close(fds[i]);
		lr->ctl = lr->exits = lr->bell = -1;
	}
	return err;
}

/* The spawner running, started now if this is the first job; its exits watched when the
 * runner is attached. A spawner that could not start is not tried again: each later start
 * fails with the first one's reason. */
static int
spawner_ready(local_runner *lr)
{
	int err;

	if (lr->spawner_lost)
		return lost_error(lr);
	if (lr->spawner_failed)
		return nf_error_set(NF_ERROR, "%s", lr->spawner_failed);
	if (lr->ctl >= 0)
		return 0;
	if ((err = spawner_start(lr)) < 0) {
		lr->spawner_failed = xstrdup(nf_error_last());
		return err;
	}
	if (lr->loop && (err = nf_loop_add_file(lr->loop, lr->bell, on_bell, lr)) < 0) {
		/* unwatched, its exits would never be heard: it goes, as at the runner's free */
		close(lr->ctl);
		close(lr->exits);
		close(lr->bell);
		lr->ctl = lr->exits = lr->bell = -1;
		while (waitpid(lr->spawner, NULL, 0) < 0 && errno == EINTR)
			;
		lr->spawner = 0;
		lr->spawner_failed = xstrdup(nf_error_last());
		return err;
	}
	return 0;
}

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
	lr->ctl = lr->exits = lr->bell = -1;
	lr->devnull = above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC));
	lr->devnull_w = lr->devnull < 0 ? -1 : above_stdio(open("/dev/null", O_WRONLY | O_CLOEXEC));
	if (lr->devnull < 0 || lr->devnull_w < 0) {
		err = nf_error_set_errno(NF_EIO, "cannot open '/dev/null'");
		if (lr->devnull >= 0)
			close(lr->devnull);
		free(lr);
		return err;
	}
	/* The spawner starts with the first job; a program that is not there fails now. */
	lr->spawner_path = spawner_path();
	if (access(lr->spawner_path, X_OK) < 0) {
		err = nf_error_set_errno(NF_ERROR, "cannot start the process spawner '%s' (set NTFLOW_SPAWN, or "
					 "reinstall ntflow)", lr->spawner_path);
		local_free(&lr->base);
		return err;
	}
	*out = &lr->base;
	return 0;
}
