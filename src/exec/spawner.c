/* spawner.c: ntflow-spawn, the local runner's process spawner, a program of its own. Linux's
 * execve keeps the high-water RSS of the memory a process leaves in its rusage, and a
 * vfork child leaves its parent's: a stage started by ntflow itself would report ntflow's
 * peak (11 MB, 137 MB at 100 000 nodes) as its MAXRSS. Started from this small process
 * (libc only, a few hundred KB), a stage's MAXRSS is its own. The runner execs it once
 * (runner-local.c), with the protocol of spawn-proto.h on fds 3, 4 and 5: it starts each
 * stage with vfork as spawn-child.c says, replies with the pid and start time, and on the
 * stage's exit sends its wait status and rusage, then closes its own copy of the stage's
 * output, so that the runner's end of it and the exit come together. When ntflow dies it
 * is told (PDEATHSIG, set by the runner to SIGTERM, which it reads from its signalfd), and
 * when the runner closes the requests socket it hears that too: either way it kills the
 * stages left, each with its process group, reaps them and exits (if it is killed itself,
 * the stages' own PDEATHSIG takes their leaders). A deferred request
 * (NF_SPAWN_DEFER) waits in a queue, and the oldest is started as soon as a child has been
 * reaped, before that child's exit is sent (which names it): the next stage starts without
 * a round trip through the runner.
 * Each exit is sent as soon as its child is reaped, but the runner reads the exits only
 * when it is rung (a byte on fd 5): while that queue is more than half full, the ring for
 * children that succeeded is held a little (exits_due), so that the runner wakes once for
 * several. An exit sent and not yet rung for is not lost if we die: the runner reads the
 * socket to its end when the bell's pipe closes. */
#include "config.h"
#include "spawn-child.h"
#include "spawn-proto.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQ_BYTES (UINT64_C(1) << 30)   /* far beyond ARG_MAX: a broken request */

/* A live child, and its output's write end, held until the runner is rung for its exit: it
 * then sees the exit and the output's end in one wakeup, not the end first and the exit
 * after. */
struct sp_child {
	pid_t pid;
	int out;
	bool prompt;                 /* NF_SPAWN_PROMPT: its exit is never held */
};

/* An exit reaped and not yet rung for, with the output's write end held until it is. */
struct sp_exit {
	nf_spawn_exit ex;            /* its reaped_ns: CLOCK_MONOTONIC */
	int out;
};

/* How long the ring for an exit may be held: far below what a person or a stage's timeout could notice,
 * and above the time the half of a queue of short stages takes on a busy machine (about
 * 0.5 ms each, six at -j 2): a 2 ms hold ended by its timer before the queue was down to
 * half about as often as not, a wakeup of the spawner each time.
 * NTFLOW_SPAWN_HOLD_MS sets another (0 to 60 000), for tests that must see an exit held. */
#define HOLD_NS (5 * 1000000LL)

/* A deferred request: its header, strings and fds, until it starts or is withdrawn. */
struct sp_queued {
	nf_spawn_req req;
	char *buf;
	int fds[2];
};

static struct {
	struct sp_child *kids;       /* the live children, unordered */
	size_t n, cap;
	struct sp_queued *q;         /* the deferred requests, oldest first */
	size_t qn, qcap;
	size_t q_high;               /* the queue's length at its fullest since exits were last sent */
	int64_t last_reap_ns;        /* when a child was last reaped (at first: our start) */
	struct sp_exit *ex;          /* the exits reaped and not rung for yet, oldest first */
	size_t exn, excap;
	size_t exsent;               /* the first exsent of them are sent: the rest wait for room */
	int64_t ex_since;            /* when the oldest of them was reaped (CLOCK_MONOTONIC ns) */
	bool ex_now;                 /* the runner must be rung at once (exits_due) */
	int64_t hold_ns;             /* HOLD_NS, or NTFLOW_SPAWN_HOLD_MS's */
	char *buf;                   /* the strings of the last request */
	size_t buf_cap;
	char **ptrs;                 /* words, NULL, environment, NULL */
	size_t ptrs_cap;
	const char **xargv;
	size_t xargv_cap;
	int devnull;
	pid_t self;
	sigset_t not_dfl;            /* the signals not at SIG_DFL, for the children to reset */
} sp;

/* Grows *p to hold n items of size; exits on no memory (the runner then sees the sockets
 * close and reports it). */
static void *
grow(void *p, size_t size, size_t n, size_t *cap)
{
	if (n <= *cap)
		return p;
	*cap = n < 16 ? 16 : n * 2;
	if (!(p = realloc(p, *cap * size)))
		_exit(70);
	return p;
}

/* The runner has gone (its sockets closed, or its death's signal came): kills every child
 * left with its whole group, reaps them and exits. A runner that ended normally had killed
 * them already; one that died, killed, could not, and what its stages started would run on
 * until the next command's recovery, which for a weekly run is a week. Race-free: a leader
 * not reaped yet keeps its group's id from being reused. */
NF_NORETURN static void
finish(int code)
{
	for (size_t i = 0; i < sp.n; i++) {
		(void)kill(-sp.kids[i].pid, SIGKILL);
		(void)kill(sp.kids[i].pid, SIGKILL);
	}
	for (size_t i = 0; i < sp.n; i++)
		while (waitpid(sp.kids[i].pid, NULL, 0) < 0 && errno == EINTR)
			;
	_exit(code);
}

/* The PATH of an environment, or execvp's default. */
static const char *
env_path(char *const *envp)
{
	for (; *envp; envp++)
		if (strncmp(*envp, "PATH=", 5) == 0)
			return *envp + 5;
	return "/bin:/usr/bin";
}

/* Reads one request with its fds (fds[0] the output, fds[1] the procs record or -1).
 * 0; -1 at the end of the requests (or a broken one, which ends them too). */
static int
read_request(nf_spawn_req *req, int fds[2])
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} ctl;
	struct iovec iov = { req, sizeof(*req) };
	struct msghdr msg = { 0 };
	struct cmsghdr *cm;
	ssize_t r;
	int want;

	fds[0] = fds[1] = -1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	do
		r = recvmsg(NF_SPAWN_CTL_FD, &msg, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return -1;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			memcpy(fds, CMSG_DATA(cm), (k > 2 ? 2 : k) * sizeof(int));
		}
	/* More fds than a request carries: the kernel closed those that did not fit, and the
	 * request is not one the runner sends. */
	if (msg.msg_flags & MSG_CTRUNC)
		return -1;
	if ((size_t)r < sizeof(*req) && nf_spawn_read_all(NF_SPAWN_CTL_FD, (char *)req + r, sizeof(*req) - (size_t)r) < 0)
		return -1;
	if (req->magic != NF_SPAWN_MAGIC)
		return -1;
	if (req->flags & (NF_SPAWN_PROMOTE | NF_SPAWN_WITHDRAW))   /* a token alone */
		return req->token == 0 || req->len != 0 || fds[0] >= 0 || fds[1] >= 0 ? -1 : 0;
	want = req->flags & NF_SPAWN_PROCS ? 2 : 1;
	if (req->len > MAX_REQ_BYTES || fds[0] < 0 || (want == 2) != (fds[1] >= 0) || req->nargs == 0 ||
	    ((req->flags & NF_SPAWN_DEFER) && req->token == 0))
		return -1;
	sp.buf = grow(sp.buf, 1, (size_t)req->len + 1, &sp.buf_cap);
	if (nf_spawn_read_all(NF_SPAWN_CTL_FD, sp.buf, (size_t)req->len) < 0)
		return -1;
	sp.buf[req->len] = '\0';
	return 0;
}

/* Splits the request's strings into words, environment and cwd in c. -1 when they do not
 * add up (a broken request). */
static int
parse_request(const nf_spawn_req *req, char *buf, nf_spawn_child *c)
{
	size_t nargs = req->nargs, nenv = req->nenv, nstr = nargs + nenv + (req->flags & NF_SPAWN_CWD ? 1 : 0);
	char *p = buf, *end = buf + req->len;

	if (nargs > MAX_REQ_BYTES || nenv > MAX_REQ_BYTES)
		return -1;
	/* words, NULL, environment, NULL */
	sp.ptrs = grow(sp.ptrs, sizeof(*sp.ptrs), nargs + nenv + 2, &sp.ptrs_cap);
	for (size_t i = 0; i < nstr; i++) {
		char *s = p;

		if (p >= end)
			return -1;
		p += strlen(p) + 1;   /* buf[len] is a NUL: an unterminated last string overshoots */
		if (i < nargs)
			sp.ptrs[i] = s;
		else if (i < nargs + nenv)
			sp.ptrs[i + 1] = s;
		else
			c->cwd = s;
	}
	if (p != end)
		return -1;
	sp.ptrs[nargs] = NULL;
	sp.ptrs[nargs + nenv + 1] = NULL;
	c->envp = sp.ptrs + req->nargs + 1;
	if (req->flags & NF_SPAWN_WORDS) {
		c->words = sp.ptrs;
		c->path = strchr(sp.ptrs[0], '/') ? "" : env_path(c->envp);
		/* "/bin/sh", a hole for the script, the words after the first: the arguments of a
		 * file the kernel will not run (no #!), as execvp gives it to the shell. */
		sp.xargv = grow(sp.xargv, sizeof(*sp.xargv), req->nargs + 2, &sp.xargv_cap);
		sp.xargv[0] = "/bin/sh";
		for (size_t i = 0; i <= req->nargs; i++)
			sp.xargv[i + 1] = sp.ptrs[i];
		c->xargv = sp.xargv;
	} else {
		if (req->nargs != 1)
			return -1;
		c->argv[0] = "sh";
		c->argv[1] = "-c";
		c->argv[2] = sp.ptrs[0];
		c->argv[3] = NULL;
	}
	return 0;
}

/* Starts the child of a request whose strings are buf (checked by parse_request when it
 * arrived) with its fds (the procs record closed here; the output kept with the child, or
 * closed when it did not start). 0 and the child's pid and start time, or an errno. */
static int
launch(const nf_spawn_req *req, char *buf, const int fds[2], pid_t *pid_out, int64_t *start_out)
{
	nf_spawn_child c;
	volatile long long start = 0;   /* written by the vfork child */
	sigset_t all, old;
	int saved;
	pid_t pid;

	memset(&c, 0, sizeof(c));
	if (parse_request(req, buf, &c) < 0) {   /* cannot be: it parsed when it came */
		close(fds[0]);
		if (fds[1] >= 0)
			close(fds[1]);
		return EINVAL;
	}
	c.devnull = sp.devnull;
	c.out_fd = fds[0];
	c.procs_fd = fds[1];
	c.parent = sp.self;
	c.start = &start;
	c.reset = &sp.not_dfl;
	sp.kids = grow(sp.kids, sizeof(*sp.kids), sp.n + 1, &sp.cap);
	/* Every signal blocked, so no handler of ours runs in the child on the shared memory. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = vfork();
	if (pid == 0)
		nf_spawn_child_exec(&c);
	saved = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (fds[1] >= 0)
		close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return saved ? saved : EAGAIN;
	}
	/* The child exec'd or died already (vfork waits for that); EACCES/ESRCH: fine. */
	(void)setpgid(pid, pid);
	sp.kids[sp.n++] = (struct sp_child){ pid, fds[0], (req->flags & NF_SPAWN_PROMPT) != 0 };
	*pid_out = pid;
	*start_out = start;
	return 0;
}

/* The queued request of token, or -1. */
static long
queued_at(uint64_t token)
{
	for (size_t i = 0; i < sp.qn; i++)
		if (sp.q[i].req.token == token)
			return (long)i;
	return -1;
}

/* Takes the queued request at i out of the queue into *out. */
static void
unqueue(size_t i, struct sp_queued *out)
{
	*out = sp.q[i];
	memmove(&sp.q[i], &sp.q[i + 1], (sp.qn - i - 1) * sizeof(*sp.q));
	sp.qn--;
}

/* Starts the oldest queued request, if any: its token into *token (0: none), with its
 * pid, start and errno as launch gives them. */
static void
start_queued(uint64_t *token, int32_t *pid, int32_t *err, int64_t *start, bool *prompt)
{
	struct sp_queued j;
	pid_t p = 0;

	*token = 0;
	*pid = *err = 0;
	*start = 0;
	if (sp.qn == 0)
		return;
	unqueue(0, &j);
	*token = j.req.token;
	*prompt = (j.req.flags & NF_SPAWN_PROMPT) != 0;
	*err = launch(&j.req, j.buf, j.fds, &p, start);
	*pid = p;
	free(j.buf);
}

static void send_exits(void);
static void ring(void);

/* A promote or a withdraw: answered at once, after a ring for the exits sent (one may name
 * the job: the runner hears of that start before it reads the answer that says it
 * happened). */
static void
control(const nf_spawn_req *req)
{
	nf_spawn_reply rep = { 0, 0, 0, 0, 0 };
	long at;

	send_exits();
	ring();
	at = queued_at(req->token);

	if (at >= 0) {
		struct sp_queued j;

		unqueue((size_t)at, &j);
		rep.queued = 1;
		if (req->flags & NF_SPAWN_PROMOTE) {
			pid_t pid = 0;

			rep.err = launch(&j.req, j.buf, j.fds, &pid, &rep.start);
			rep.pid = pid;
		} else {
			close(j.fds[0]);
			if (j.fds[1] >= 0)
				close(j.fds[1]);
		}
		free(j.buf);
	}
	if (nf_spawn_write_all(NF_SPAWN_CTL_FD, &rep, sizeof(rep)) < 0)
		finish(0);
}

/* One request: start its child and reply, queue it (deferred), or a control. */
static void
serve(void)
{
	nf_spawn_req req;
	nf_spawn_child c;
	nf_spawn_reply rep = { 0, 0, 0, 0, 0 };
	int fds[2];
	pid_t pid = 0;

	memset(&c, 0, sizeof(c));
	if (read_request(&req, fds) < 0 ||
	    (!(req.flags & (NF_SPAWN_PROMOTE | NF_SPAWN_WITHDRAW)) && parse_request(&req, sp.buf, &c) < 0)) {
		if (fds[0] >= 0)
			close(fds[0]);
		if (fds[1] >= 0)
			close(fds[1]);
		finish(0);
	}
	if (req.flags & (NF_SPAWN_PROMOTE | NF_SPAWN_WITHDRAW)) {
		control(&req);
		return;
	}
	if (req.flags & NF_SPAWN_DEFER) {
		/* The strings stay with the queued request; the next request gets a new buffer. */
		sp.q = grow(sp.q, sizeof(*sp.q), sp.qn + 1, &sp.qcap);
		sp.q[sp.qn++] = (struct sp_queued){ req, sp.buf, { fds[0], fds[1] } };
		if (sp.qn > sp.q_high)
			sp.q_high = sp.qn;
		sp.buf = NULL;
		sp.buf_cap = 0;
		return;
	}
	rep.err = launch(&req, sp.buf, fds, &pid, &rep.start);
	rep.pid = pid;
	if (nf_spawn_write_all(NF_SPAWN_CTL_FD, &rep, sizeof(rep)) < 0)
		finish(0);
}

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Reaps one ended child into *ex, its output's write end into *out (-1: none), whether its
 * exit is never held into *prompt: its own job's, or the one started in its place (the
 * runner times that one from the start this exit reports). 1: one; 0: none ended. */
static int
reap_one(nf_spawn_exit *ex, int *out, bool *prompt)
{
	for (;;) {
		siginfo_t si;
		struct rusage ru;
		int status;
		pid_t pid;

		memset(&si, 0, sizeof(si));
		/* Look before reaping: while the leader is a zombie its pid, and so the group
		 * id, cannot be reused, so killing what it left behind is race-free. */
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
			if (errno == EINTR)
				continue;
			return 0;   /* ECHILD */
		}
		if (si.si_pid == 0)
			return 0;
		pid = si.si_pid;
		(void)kill(-pid, SIGKILL);   /* leftovers of a finished stage */
		if (wait4(pid, &status, WNOHANG, &ru) <= 0)
			continue;
		*out = -1;
		*prompt = false;
		for (size_t i = 0; i < sp.n; i++)
			if (sp.kids[i].pid == pid) {
				*out = sp.kids[i].out;
				*prompt = sp.kids[i].prompt;
				sp.kids[i] = sp.kids[--sp.n];
				break;
			}
		ex->pid = pid;
		ex->status = status;
		ex->reaped_ns = mono_ns();   /* before the next start, which may take a while */
		ex->user_us = (int64_t)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec;
		ex->sys_us = (int64_t)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
		ex->max_rss_kb = ru.ru_maxrss;
		/* Its place to the oldest deferred request, before its exit goes out; not the place
		 * of one that failed, which may stop the run: the runner decides then (promote or
		 * withdraw). */
		ex->next_token = 0;
		ex->next_pid = ex->next_err = 0;
		ex->next_start = 0;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			bool next_prompt = false;

			start_queued(&ex->next_token, &ex->next_pid, &ex->next_err, &ex->next_start, &next_prompt);
			*prompt = *prompt || next_prompt;
		}
		return 1;
	}
}

/* Reaps every child that ended into the exits to send. */
static void
reap_all(void)
{
	nf_spawn_exit e;
	bool prompt;
	int out;

	while (reap_one(&e, &out, &prompt)) {
		int64_t now = e.reaped_ns;

		sp.ex = grow(sp.ex, sizeof(*sp.ex), sp.exn + 1, &sp.excap);
		if (sp.exn == 0)
			sp.ex_since = now;
		sp.ex[sp.exn++] = (struct sp_exit){ e, out };
		/* Nothing started in its place (it failed, or the queue was empty), or what was to
		 * start did not: the runner has a slot to fill or a failure to decide on. A prompt
		 * one: the runner times it, or has slots to fill. Ends further apart than the
		 * hold: the next would rarely come before the hold is over, and holding would
		 * only delay this one and wake us once more. */
		if (e.next_token == 0 || e.next_err || prompt || now - sp.last_reap_ns > sp.hold_ns)
			sp.ex_now = true;
		sp.last_reap_ns = now;
	}
}

/* Whether the runner is to be rung now. Each ring wakes it, and a wakeup was an eighth of
 * what it does for a stage. It needs to hear of an exit at once only when it must act: a
 * slot to fill or a failure (ex_now), or the queue down to half of what it held when it
 * was last rung, when it may send more (its deferred starts are topped up from half:
 * sched.c). Else the ring waits, hold_ns at most. */
static bool
exits_due(int64_t now)
{
	return sp.exn > 0 && (sp.ex_now || sp.qn * 2 <= sp.q_high || now - sp.ex_since >= sp.hold_ns);
}

/* Sends the exits not sent yet, in order, as far as the socket takes them (when it is full
 * the runner is rung, to read it, and the rest go when it drains). */
static void
send_exits(void)
{
	while (sp.exsent < sp.exn) {
		struct mmsghdr mm[32];
		struct iovec iov[32];
		size_t batch = sp.exn - sp.exsent < 32 ? sp.exn - sp.exsent : 32;
		int r;

		memset(mm, 0, sizeof(mm));
		for (size_t i = 0; i < batch; i++) {
			iov[i] = (struct iovec){ &sp.ex[sp.exsent + i].ex, sizeof(sp.ex[sp.exsent + i].ex) };
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		r = sendmmsg(NF_SPAWN_EXIT_FD, mm, (unsigned)batch, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
				sp.ex_now = true;
				return;
			}
			finish(0);   /* the runner is gone */
		}
		sp.exsent += (size_t)r;
	}
}

/* Rings the runner for the exits sent, each output's write end closed with it: its end
 * comes with its exit. */
static void
ring(void)
{
	size_t n = sp.exsent;

	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (sp.ex[i].out >= 0)
			close(sp.ex[i].out);
	memmove(sp.ex, sp.ex + n, (sp.exn - n) * sizeof(*sp.ex));
	sp.exn -= n;
	sp.exsent = 0;
	/* Full, the pipe holds a ring not read yet: one is enough. */
	if (write(NF_SPAWN_BELL_FD, "", 1) < 0 && errno != EAGAIN && errno != EINTR)
		finish(0);   /* the runner is gone */
	/* Measured from here: after a ring the timer or a failure forced, the next waits for
	 * half of what is left, not of the scheduler's limit. The queue then runs lower than
	 * the scheduler's half before the runner tops it up (never empty: an exit with nothing
	 * queued after it is rung for at once), for fewer wakeups of the runner: 0.33 a stage,
	 * where counting from the queue's fullest gave 0.45 (layered 10 000, -j 2). */
	if (sp.exn == 0) {
		sp.ex_now = false;
		sp.q_high = sp.qn;
	} else {
		sp.ex_since = sp.ex[0].ex.reaped_ns;
	}
}

int
main(int argc, char **argv)
{
	struct sigaction sa = { 0 };
	bool reap_wanted = true;
	sigset_t chld;
	int chld_fd;
	char *end;
	const char *hold;
	long parent;

	/* Started by the runner with its pid: by hand it would only wait for requests. */
	parent = argc == 2 ? strtol(argv[1], &end, 10) : 0;
	if (argc != 2 || *end || parent <= 1 || getppid() != (pid_t)parent) {
		static const char msg[] = "ntflow-spawn: ntflow's process spawner, started by ntflow itself\n";
		ssize_t r = write(2, msg, sizeof(msg) - 1);

		(void)r;
		return 2;
	}
	sp.self = getpid();
	sp.hold_ns = HOLD_NS;
	sp.last_reap_ns = mono_ns();
	if ((hold = getenv("NTFLOW_SPAWN_HOLD_MS")) && *hold) {
		long ms = strtol(hold, &end, 10);

		if (!*end && ms >= 0 && ms <= 60000)
			sp.hold_ns = ms * 1000000LL;
	}
	/* A child's end is read from a signalfd, SIGCHLD blocked: no handler to run, and so
	 * none to reset in each child, no self-pipe to write and drain, no poll cut short. */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigaddset(&chld, SIGTERM);   /* ntflow's death (PDEATHSIG), or a stop */
	if ((sp.devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0 || sigprocmask(SIG_BLOCK, &chld, NULL) < 0 ||
	    (chld_fd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		return 71;
	sa.sa_handler = SIG_DFL;
	sa.sa_flags = SA_NOCLDSTOP;   /* only ends wake us */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	sigaction(SIGPIPE, &sa, NULL);
	/* Our dispositions are final here (nothing below changes one): the signals not at
	 * SIG_DFL, ignored (SIGPIPE, or inherited so) or caught (none of ours now), are the
	 * only ones a child has to reset (spawn-child.c); its mask, SIGCHLD blocked, is
	 * emptied there too. EINVAL for libc's own: skipped, as the full reset cannot set them
	 * either. */
	sigemptyset(&sp.not_dfl);
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction old;

		if (sigaction(sig, NULL, &old) == 0 && old.sa_handler != SIG_DFL)
			sigaddset(&sp.not_dfl, sig);
	}
	/* The stages must not inherit the sockets: a stage holding them would keep the runner
	 * from seeing our end. */
	(void)fcntl(NF_SPAWN_CTL_FD, F_SETFD, FD_CLOEXEC);
	(void)fcntl(NF_SPAWN_EXIT_FD, F_SETFD, FD_CLOEXEC);
	(void)fcntl(NF_SPAWN_EXIT_FD, F_SETFL, O_NONBLOCK);
	(void)fcntl(NF_SPAWN_BELL_FD, F_SETFD, FD_CLOEXEC);
	(void)fcntl(NF_SPAWN_BELL_FD, F_SETFL, O_NONBLOCK);
	if (nf_spawn_write_all(NF_SPAWN_CTL_FD, &(char){ NF_SPAWN_READY }, 1) < 0)   /* the runner waits for this */
		return 0;
	for (;;) {
		struct pollfd pf[3] = { { NF_SPAWN_CTL_FD, POLLIN, 0 }, { chld_fd, POLLIN, 0 },
					{ NF_SPAWN_EXIT_FD, 0, 0 } };
		struct signalfd_siginfo drain[8];
		struct timespec wait, *tmo = NULL;
		int64_t now;

		if (reap_wanted) {
			reap_all();
			reap_wanted = false;
		}
		send_exits();
		now = sp.exn ? mono_ns() : 0;
		if (exits_due(now))
			ring();
		if (sp.exsent < sp.exn) {
			pf[2].events = POLLOUT;   /* the socket is full */
		} else if (sp.exn) {
			int64_t left = sp.ex_since + sp.hold_ns - now;

			wait.tv_sec = (time_t)(left / 1000000000LL);
			wait.tv_nsec = (long)(left % 1000000000LL);
			tmo = &wait;
		}
		if (ppoll(pf, 3, tmo, NULL) < 0) {
			if (errno == EINTR)
				continue;
			finish(71);
		}
		if (pf[1].revents & POLLIN) {
			ssize_t r;

			/* SIGCHLDs coalesce: reap_all takes every child that ended. */
			while ((r = read(chld_fd, drain, sizeof(drain))) > 0)
				for (size_t i = 0; i < (size_t)r / sizeof(drain[0]); i++)
					if (drain[i].ssi_signo == SIGTERM)
						finish(0);
			reap_wanted = true;
		}
		if (pf[2].revents & (POLLERR | POLLHUP))
			finish(0);
		if (pf[0].revents & (POLLIN | POLLHUP | POLLERR))
			serve();
	}
}
