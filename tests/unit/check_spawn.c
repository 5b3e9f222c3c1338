/* check_spawn.c: unit tests of ntflow-spawn's protocol (src/exec/spawn-proto.h), driving the
 * real program ($NTFLOW_SPAWN, the build's) as the local runner does: the ready byte, a
 * request of words with environment, cwd and output fd and its reply and exit; sh -c with
 * the procs record; a stage's rusage its own; a stage's signals at their defaults, whatever
 * the spawner inherited; deferred requests, started in a reaped child's place, promoted and
 * withdrawn; exits held while the queue is full, not a prompt job's; the end of the
 * requests killing what is left; a broken request ending the spawner; and the refusal of
 * a start by hand. */
#include "config.h"
#include "ntflow/util.h"
#include "../../src/exec/spawn-proto.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc-fixture.h"

static char tmpdir[64];

typedef struct spawner {
	pid_t pid;
	int ctl, exits, bell;
} spawner;

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_spawn.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	int rc = system(cmd);

	(void)rc;
	free(cmd);
}

static const char *
spawn_path(void)
{
	const char *p = getenv("NTFLOW_SPAWN");

	ck_assert_msg(p && *p, "NTFLOW_SPAWN names the build's ntflow-spawn (make check sets it)");
	return p;
}

/* Starts the spawner on two fresh sockets and a bell, as the runner does, and reads its
 * ready byte. */
static spawner
sp_start(void)
{
	int ctl[2], ex[2], bell[2];
	spawner s;
	char ready = 0, pid[24];
	const char *path = spawn_path();   /* here: Check's asserts write to fd 3 */

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ex), 0);
	ck_assert_int_eq(pipe2(bell, O_CLOEXEC), 0);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	s.pid = fork();
	ck_assert_int_ge(s.pid, 0);
	if (s.pid == 0) {
		int a = fcntl(ctl[1], F_DUPFD, 10), b = fcntl(ex[1], F_DUPFD, 10), c = fcntl(bell[1], F_DUPFD, 10);

		if (a < 0 || b < 0 || c < 0 || dup2(a, NF_SPAWN_CTL_FD) < 0 || dup2(b, NF_SPAWN_EXIT_FD) < 0 ||
		    dup2(c, NF_SPAWN_BELL_FD) < 0)
			_exit(99);
		execl(path, "ntflow-spawn", pid, (char *)NULL);
		_exit(98);
	}
	close(ctl[1]);
	close(ex[1]);
	close(bell[1]);
	s.ctl = ctl[0];
	s.exits = ex[0];
	s.bell = bell[0];
	ck_assert_int_eq(read(s.ctl, &ready, 1), 1);
	ck_assert_int_eq(ready, NF_SPAWN_READY);
	return s;
}

/* Sends a request: strs[0..n) joined with NULs, the fds with the header. A spawner
 * that may end at the header (a broken request) may be gone before the body is sent:
 * then EPIPE or ECONNRESET on the body is its answer, not a failure of the test. */
static void
sp_send_as(spawner *s, nf_spawn_req req, const char *const *strs, size_t n, const int *fds, size_t nfds,
	   bool may_end)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} ctl;
	struct msghdr msg = { 0 };
	struct iovec iov = { &req, sizeof(req) };
	char body[4096];
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(strs[i]) + 1;

		ck_assert_uint_lt(len + l, sizeof(body));
		memcpy(body + len, strs[i], l);
		len += l;
	}
	if (req.len == 0)
		req.len = len;
	ck_assert_uint_le(nfds, 4);
	memset(ctl.buf, 0, sizeof(ctl.buf));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
	CMSG_FIRSTHDR(&msg)->cmsg_level = SOL_SOCKET;
	CMSG_FIRSTHDR(&msg)->cmsg_type = SCM_RIGHTS;
	CMSG_FIRSTHDR(&msg)->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(CMSG_FIRSTHDR(&msg)), fds, nfds * sizeof(int));
	ck_assert_int_eq(sendmsg(s->ctl, &msg, MSG_NOSIGNAL), (ssize_t)sizeof(req));
	if (len) {
		ssize_t sent = send(s->ctl, body, len, MSG_NOSIGNAL);

		if (may_end && sent < 0 && (errno == EPIPE || errno == ECONNRESET))
			return;
		ck_assert_int_eq(sent, (ssize_t)len);
	}
}

static void
sp_send(spawner *s, nf_spawn_req req, const char *const *strs, size_t n, const int *fds, size_t nfds)
{
	sp_send_as(s, req, strs, n, fds, nfds, false);
}

static nf_spawn_reply
sp_reply(spawner *s)
{
	nf_spawn_reply rep;

	ck_assert_int_eq(read(s->ctl, &rep, sizeof(rep)), (ssize_t)sizeof(rep));
	return rep;
}

static nf_spawn_exit
sp_exit(spawner *s)
{
	nf_spawn_exit ex;

	ck_assert_int_eq(recv(s->exits, &ex, sizeof(ex), 0), (ssize_t)sizeof(ex));
	return ex;
}

/* Whether the bell rang within ms (drained): the spawner says "read the exits". */
static bool
sp_rung(spawner *s, int ms)
{
	struct pollfd pf = { s->bell, POLLIN, 0 };
	char buf[64];
	bool rung = false;

	if (poll(&pf, 1, ms) == 1 && (pf.revents & POLLIN)) {
		ssize_t n;

		while ((n = read(s->bell, buf, sizeof(buf))) < 0 && errno == EINTR)
			;
		rung = n > 0;
	}
	return rung;
}

/* Closes the requests and waits for the spawner; its wait status. */
static int
sp_stop(spawner *s)
{
	int status = -1;

	close(s->ctl);
	close(s->exits);
	close(s->bell);
	ck_assert_int_eq(waitpid(s->pid, &status, 0), s->pid);
	return status;
}

static char *
read_fd(int fd)
{
	static char buf[4096];
	size_t n = 0;
	ssize_t r;

	while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	return buf;
}

/* Starts strs with its output into a pipe and reads that to its end: the reply, and in
 * *text the output (read_fd's buffer). */
static nf_spawn_reply
sp_run_out(spawner *s, nf_spawn_req req, const char *const *strs, size_t n, const char **text)
{
	nf_spawn_reply rep;
	int out[2];

	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	sp_send(s, req, strs, n, &out[1], 1);
	close(out[1]);
	rep = sp_reply(s);
	*text = read_fd(out[0]);
	close(out[0]);
	return rep;
}

START_TEST(test_words_env_cwd)
{
	spawner s = sp_start();
	const char *strs[] = { "sh", "-c", "echo \"$X\"; pwd; echo err >&2; exit 3", "X=hello", "PATH=/usr/bin:/bin",
			       tmpdir };
	nf_spawn_req req = { NF_SPAWN_MAGIC, NF_SPAWN_WORDS | NF_SPAWN_CWD, 3, 2, 0, 0 };
	nf_spawn_reply rep;
	nf_spawn_exit ex;
	char *want = xasprintf("hello\n%s\nerr\n", tmpdir);
	int out[2];

	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	sp_send(&s, req, strs, 6, &out[1], 1);
	close(out[1]);
	rep = sp_reply(&s);
	ck_assert_int_eq(rep.err, 0);
	ck_assert_int_gt(rep.pid, 0);
	ck_assert_int_eq(rep.start, 0);   /* read for the procs record only */
	ck_assert_str_eq(read_fd(out[0]), want);   /* EOF: the spawner closed its copy after the exit */
	ex = sp_exit(&s);
	ck_assert_int_eq(ex.pid, rep.pid);
	ck_assert(WIFEXITED(ex.status));
	ck_assert_int_eq(WEXITSTATUS(ex.status), 3);
	ck_assert_int_gt(ex.max_rss_kb, 0);
	ck_assert_int_lt(ex.max_rss_kb, 8192);
	/* a program not found: sh's status and message, in the output */
	{
		const char *nf[] = { "no-such-program-here", "PATH=/usr/bin:/bin" };
		nf_spawn_req r2 = { NF_SPAWN_MAGIC, NF_SPAWN_WORDS, 1, 1, 0, 0 };

		ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
		sp_send(&s, r2, nf, 2, &out[1], 1);
		close(out[1]);
		ck_assert_int_eq(sp_reply(&s).err, 0);
		ck_assert_str_eq(read_fd(out[0]), "ntflow: no-such-program-here: not found\n");
		ex = sp_exit(&s);
		ck_assert_int_eq(WEXITSTATUS(ex.status), 127);
		close(out[0]);
	}
	ck_assert(WIFEXITED(sp_stop(&s)));
	free(want);
}
END_TEST

/* sh -c with the procs record: the child appends "PGID START" before it execs. */
START_TEST(test_shell_procs_record)
{
	spawner s = sp_start();
	char *path = xasprintf("%s/procs", tmpdir);
	const char *strs[] = { "exit 0", "PATH=/usr/bin:/bin" };
	nf_spawn_req req = { NF_SPAWN_MAGIC, NF_SPAWN_PROCS, 1, 1, 0, 0 };
	int fds[2] = { open("/dev/null", O_WRONLY | O_CLOEXEC), open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) };
	nf_spawn_reply rep;
	char *text = NULL;
	size_t len;
	long long pg = 0, start = 0;

	ck_assert_int_ge(fds[0], 0);
	ck_assert_int_ge(fds[1], 0);
	sp_send(&s, req, strs, 2, fds, 2);
	close(fds[0]);
	close(fds[1]);
	rep = sp_reply(&s);
	ck_assert_int_eq(rep.err, 0);
	ck_assert_int_eq(sp_exit(&s).pid, rep.pid);
	ck_assert_int_eq(nf_read_file(&text, &len, path, 0), 0);
	ck_assert_int_eq(sscanf(text, "%lld %lld\n", &pg, &start), 2);
	ck_assert_int_eq(pg, rep.pid);
	ck_assert_int_gt(start, 0);
	ck_assert_int_eq(start, rep.start);
	ck_assert(WIFEXITED(sp_stop(&s)));
	free(text);
	free(path);
}
END_TEST

/* The mask in hex of a SigIgn: or SigBlk: line of /proc/PID/status (what = "SigIgn"). */
static unsigned long long
proc_sigs(pid_t pid, const char *what)
{
	char *path = xasprintf("/proc/%d/status", (int)pid), *text = NULL, *line;
	unsigned long long v = ~0ULL;
	size_t len;

	ck_assert_int_eq(nf_read_file(&text, &len, path, 0), 0);
	line = strstr(text, what);
	ck_assert_ptr_nonnull(line);
	ck_assert_int_eq(sscanf(line + strlen(what), ": %llx", &v), 1);
	free(text);
	free(path);
	return v;
}

/* A stage starts with no signal ignored or blocked, through sh -c and exec'd directly,
 * though the spawner was started with SIGHUP, SIGINT and SIGUSR1 ignored (nohup, a
 * background job) and SIGUSR2 blocked, and ignores SIGPIPE itself: its children reset
 * only the signals it found not at SIG_DFL, which must be all of these. */
START_TEST(test_signals_reset)
{
	/* grep's own status, what the shell passed on: a dash that forks blocks every signal
	 * until its child has exec'd, so the shell's (/proc/$$) would race */
	const char *sh[] = { "grep -E '^Sig(Blk|Ign):' /proc/self/status", "PATH=/usr/bin:/bin" };
	const char *words[] = { "grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status", "PATH=/usr/bin:/bin" };
	nf_spawn_req rsh = { NF_SPAWN_MAGIC, 0, 1, 1, 0, 0 }, rwords = { NF_SPAWN_MAGIC, NF_SPAWN_WORDS, 4, 1, 0, 0 };
	const int ignore[] = { SIGHUP, SIGINT, SIGUSR1 };
	unsigned long long libc = 0;
	sigset_t block, old;
	spawner s;

	/* libc's own signals (32 up to SIGRTMIN) are out of reach of its sigaction: a process
	 * started by posix_spawn (make's) has them ignored, and so has everything under it */
	for (int sig = 32; sig < SIGRTMIN; sig++)
		libc |= 1ULL << (sig - 1);
	/* What the suite inherited ignored is not the test's: a suite started as a background
	 * job of a shell without job control has SIGINT and SIGQUIT ignored */
	for (int sig = 1; sig < 32; sig++) {
		struct sigaction sa;

		if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
			signal(sig, SIG_DFL);
	}
	for (size_t i = 0; i < NF_ARRAY_SIZE(ignore); i++)
		signal(ignore[i], SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, &old);
	s = sp_start();
	for (size_t i = 0; i < NF_ARRAY_SIZE(ignore); i++)
		signal(ignore[i], SIG_DFL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	/* the spawner has them: SIGHUP 1, SIGINT 2, SIGUSR1 10, SIGPIPE 13; SIGUSR2 12, and
	 * SIGCHLD 17 and SIGTERM 15 of its own (read from a signalfd) */
	ck_assert_uint_eq(proc_sigs(s.pid, "SigIgn") & ~libc, 0x1203);
	ck_assert_uint_eq(proc_sigs(s.pid, "SigBlk"), 0x800 | 1ULL << (SIGCHLD - 1) | 1ULL << (SIGTERM - 1));
	for (int k = 0; k < 2; k++) {
		unsigned long long blk = 1, ign = 1;
		const char *text;

		if (k == 0)
			ck_assert_int_eq(sp_run_out(&s, rsh, sh, NF_ARRAY_SIZE(sh), &text).err, 0);
		else
			ck_assert_int_eq(sp_run_out(&s, rwords, words, NF_ARRAY_SIZE(words), &text).err, 0);
		ck_assert_int_eq(sscanf(text, "SigBlk: %llx SigIgn: %llx", &blk, &ign), 2);
		ck_assert_msg(blk == 0, "blocked: %llx", blk);
		ck_assert_msg((ign & ~libc) == 0, "ignored: %llx", ign);
		ck_assert_int_eq(WEXITSTATUS(sp_exit(&s).status), 0);
	}
	ck_assert(WIFEXITED(sp_stop(&s)));
}
END_TEST

/* The spawner holds a stage's output open until it has sent the stage's exit: when the
 * output ends, the exit is there to read, and the runner wakes once for both. Twenty
 * stages in turn, each checked: before, the output ended with the stage and the exit came
 * after the spawner's turn. */
START_TEST(test_output_ends_after_exit)
{
	spawner s = sp_start();
	const char *strs[] = { "exit 3", "PATH=/usr/bin:/bin" };
	nf_spawn_req req = { NF_SPAWN_MAGIC, 0, 1, 1, 0, 0 };

	for (int k = 0; k < 20; k++) {
		const char *text;
		nf_spawn_reply rep = sp_run_out(&s, req, strs, 2, &text);   /* the output to its end */
		nf_spawn_exit ex;

		ck_assert_int_eq(rep.err, 0);
		ck_assert_str_eq(text, "");
		ck_assert_int_eq(recv(s.exits, &ex, sizeof(ex), MSG_DONTWAIT), (ssize_t)sizeof(ex));
		ck_assert_int_eq(ex.pid, rep.pid);
		ck_assert_int_eq(WEXITSTATUS(ex.status), 3);
	}
	ck_assert(WIFEXITED(sp_stop(&s)));
}
END_TEST

/* The end of the requests: the spawner kills every child it started (the leader; the
 * runner kills the groups), reaps them and exits. */
/* A promote or a withdraw of token: its reply. */
static nf_spawn_reply
sp_control(spawner *s, uint32_t flag, uint64_t token)
{
	nf_spawn_req req = { NF_SPAWN_MAGIC, flag, 0, 0, 0, token };

	ck_assert_int_eq(send(s->ctl, &req, sizeof(req), MSG_NOSIGNAL), (ssize_t)sizeof(req));
	return sp_reply(s);
}

/* Waits until the spawner has read every request sent before: a withdraw of a token never
 * queued, answered after them (one stream, read in order). Without it a busy machine may
 * have the spawner reap a child before it has queued the requests that were to follow. */
static void
sp_barrier(spawner *s)
{
	ck_assert_int_eq(sp_control(s, NF_SPAWN_WITHDRAW, 999).queued, 0);
}

/* A deferred request of sh -c cmd (token) with flags besides NF_SPAWN_DEFER, its output
 * into a new pipe: the read end. */
static int
sp_defer_as(spawner *s, uint64_t token, const char *cmd, uint32_t flags)
{
	const char *strs[] = { cmd, "PATH=/usr/bin:/bin" };
	nf_spawn_req req = { NF_SPAWN_MAGIC, NF_SPAWN_DEFER | flags, 1, 1, 0, token };
	int out[2];

	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	sp_send(s, req, strs, 2, &out[1], 1);
	close(out[1]);
	return out[0];
}

static int
sp_defer(spawner *s, uint64_t token, const char *cmd)
{
	return sp_defer_as(s, token, cmd, 0);
}

/* Deferred requests: queued, not started, no reply; the oldest started in the place of the
 * next child reaped that exited 0, named in that child's exit (a failed child leaves its
 * place to the runner); promote and withdraw by token, answered at once, and a token no
 * longer queued answered so. */
START_TEST(test_deferred)
{
	spawner s = sp_start();
	char *gate = xasprintf("%s/gate", tmpdir), *cmd = xasprintf("exec cat '%s'", gate);
	const char *strs[] = { cmd, "PATH=/usr/bin:/bin" };
	nf_spawn_req req = { NF_SPAWN_MAGIC, 0, 1, 1, 0, 0 };
	nf_spawn_reply rep;
	nf_spawn_exit ex, exb;
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC), pb, pc, pd, pe, fd;
	char c;

	ck_assert_int_eq(mkfifo(gate, 0600), 0);
	/* A runs until the gate opens; B and C wait behind it. */
	sp_send(&s, req, strs, 2, &devnull, 1);
	rep = sp_reply(&s);
	ck_assert_int_eq(rep.err, 0);
	pb = sp_defer(&s, 7, "echo B");
	pc = sp_defer(&s, 8, "echo C");
	usleep(100 * 1000);
	ck_assert_int_eq(recv(s.exits, &ex, sizeof(ex), MSG_DONTWAIT), -1);
	ck_assert_int_eq(fcntl(pb, F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(read(pb, &c, 1), -1);   /* B has not started: no output, no end */
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(fcntl(pb, F_SETFL, 0), 0);
	ck_assert_int_ge(fd = open(gate, O_WRONLY), 0);
	close(fd);
	ex = sp_exit(&s);
	ck_assert_int_eq(ex.pid, rep.pid);
	ck_assert_uint_eq(ex.next_token, 7);
	ck_assert_int_eq(ex.next_err, 0);
	ck_assert_int_gt(ex.next_pid, 0);
	ck_assert_int_eq(ex.next_start, 0);   /* read by a child only for a procs record */
	exb = sp_exit(&s);   /* B, with C in its place */
	ck_assert_int_eq(exb.pid, ex.next_pid);
	ck_assert_uint_eq(exb.next_token, 8);
	ex = sp_exit(&s);   /* C, nothing after it */
	ck_assert_int_eq(ex.pid, exb.next_pid);
	ck_assert_uint_eq(ex.next_token, 0);
	ck_assert_str_eq(read_fd(pb), "B\n");
	ck_assert_str_eq(read_fd(pc), "C\n");

	/* A child that failed leaves its place to the runner: the queued one waits. */
	pd = sp_defer(&s, 12, "echo F");
	{
		const char *fail[] = { "exit 3", "PATH=/usr/bin:/bin" };

		sp_send(&s, req, fail, 2, &devnull, 1);
		rep = sp_reply(&s);
		ex = sp_exit(&s);
		ck_assert_int_eq(ex.pid, rep.pid);
		ck_assert_int_eq(WEXITSTATUS(ex.status), 3);
		ck_assert_uint_eq(ex.next_token, 0);
		rep = sp_control(&s, NF_SPAWN_PROMOTE, 12);
		ck_assert_int_eq(rep.queued, 1);
		ex = sp_exit(&s);
		ck_assert_int_eq(ex.pid, rep.pid);
		ck_assert_str_eq(read_fd(pd), "F\n");
		close(pd);
	}

	/* Promoted: started now, once. */
	pd = sp_defer(&s, 9, "echo D");
	rep = sp_control(&s, NF_SPAWN_PROMOTE, 9);
	ck_assert_int_eq(rep.queued, 1);
	ck_assert_int_eq(rep.err, 0);
	ck_assert_int_gt(rep.pid, 0);
	ex = sp_exit(&s);
	ck_assert_int_eq(ex.pid, rep.pid);
	ck_assert_str_eq(read_fd(pd), "D\n");
	rep = sp_control(&s, NF_SPAWN_PROMOTE, 9);
	ck_assert_int_eq(rep.queued, 0);
	ck_assert_int_eq(rep.pid, 0);

	/* Withdrawn: never started, its output closed. */
	pe = sp_defer(&s, 10, "echo E");
	rep = sp_control(&s, NF_SPAWN_WITHDRAW, 10);
	ck_assert_int_eq(rep.queued, 1);
	ck_assert_int_eq(rep.pid, 0);
	ck_assert_str_eq(read_fd(pe), "");
	rep = sp_control(&s, NF_SPAWN_WITHDRAW, 10);
	ck_assert_int_eq(rep.queued, 0);
	ck_assert_int_eq(recv(s.exits, &ex, sizeof(ex), MSG_DONTWAIT), -1);

	ck_assert_int_eq(sp_stop(&s), 0);
	close(pb);
	close(pc);
	close(pd);
	close(pe);
	close(devnull);
	free(cmd);
	free(gate);
}
END_TEST

/* The spawner with exits held up to a minute, and A, a direct job that runs until its gate
 * (a fifo) is opened for writing. */
typedef struct held_fixture {
	spawner s;
	char *gate_a, *cmd_a;
	nf_spawn_reply rep_a;
	int devnull;
} held_fixture;

static void
held_start(held_fixture *h)
{
	const char *strs[2];
	nf_spawn_req req = { NF_SPAWN_MAGIC, 0, 1, 1, 0, 0 };

	h->gate_a = xasprintf("%s/gate-a", tmpdir);
	h->cmd_a = xasprintf("exec cat '%s'", h->gate_a);
	h->devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	ck_assert_int_eq(mkfifo(h->gate_a, 0600), 0);
	ck_assert_int_eq(setenv("NTFLOW_SPAWN_HOLD_MS", "60000", 1), 0);
	h->s = sp_start();
	unsetenv("NTFLOW_SPAWN_HOLD_MS");
	strs[0] = h->cmd_a;
	strs[1] = "PATH=/usr/bin:/bin";
	sp_send(&h->s, req, strs, 2, &h->devnull, 1);
	h->rep_a = sp_reply(&h->s);
	ck_assert_int_eq(h->rep_a.err, 0);
}

/* Opens the fifo path for writing, which waits for its reader, and closes it: the reader
 * has started, and reads its end. */
static void
open_gate(const char *path)
{
	int fd;

	ck_assert_int_ge(fd = open(path, O_WRONLY), 0);
	close(fd);
}

static void
held_stop(held_fixture *h, int *pipes, size_t n)
{
	ck_assert_int_eq(sp_stop(&h->s), 0);   /* kills what is left */
	for (size_t i = 0; i < n; i++)
		close(pipes[i]);
	close(h->devnull);
	free(h->cmd_a);
	free(h->gate_a);
}

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Rings held: each exit is sent as its child is reaped, but while the queue is more than
 * half as full as at its fullest, a child that succeeded and left its place to a queued one
 * does not ring the bell (the runner would only wake to find nothing to do), up to
 * NTFLOW_SPAWN_HOLD_MS; a promote or a withdraw rings before its answer; an exit the runner
 * must act on rings at once: a failure, or one with nothing started in its place. The hold
 * is set to a minute here, so a ring that must come at once and did not would fail the
 * waits of 5 s below. */
START_TEST(test_exits_held)
{
	char *gate_1 = xasprintf("%s/gate-1", tmpdir), *cmd_1 = xasprintf("exec cat '%s'", gate_1);
	nf_spawn_reply rep;
	nf_spawn_exit ex;
	held_fixture h;
	int p[4], fd;

	held_start(&h);
	ck_assert_int_eq(mkfifo(gate_1, 0600), 0);
	p[0] = sp_defer(&h.s, 1, cmd_1);
	p[1] = sp_defer(&h.s, 2, "exit 3");
	p[2] = sp_defer(&h.s, 3, "true");
	p[3] = sp_defer(&h.s, 4, "true");
	sp_barrier(&h.s);

	/* A ends, 1 starts in its place (3 of 4 still queued): A's exit is sent, the ring held.
	 * 1 has started once the gate it reads opens, and it starts only after A was reaped; a
	 * spawner that rang for A's exit would have rung well within the 100 ms waited. */
	open_gate(h.gate_a);
	ck_assert_int_ge(fd = open(gate_1, O_WRONLY), 0);
	usleep(100 * 1000);
	ck_assert(!sp_rung(&h.s, 0));
	ck_assert_int_eq(recv(h.s.exits, &ex, sizeof(ex), MSG_DONTWAIT), (ssize_t)sizeof(ex));
	ck_assert_int_eq(ex.pid, h.rep_a.pid);
	ck_assert_uint_eq(ex.next_token, 1);
	ck_assert_int_ge(mono_ns() - ex.reaped_ns, 100 * 1000000LL);

	/* A withdraw rings first. */
	rep = sp_control(&h.s, NF_SPAWN_WITHDRAW, 4);
	ck_assert_int_eq(rep.queued, 1);
	ck_assert(sp_rung(&h.s, 0));

	/* 1 ends, 2 starts (1 of 3 queued) and fails: rung for at once, though the queue is as
	 * full as when the bell last rang. */
	close(fd);
	ck_assert(sp_rung(&h.s, 5000));
	ex = sp_exit(&h.s);
	ck_assert_uint_eq(ex.next_token, 2);
	ex = sp_exit(&h.s);
	ck_assert_int_eq(WEXITSTATUS(ex.status), 3);
	ck_assert_uint_eq(ex.next_token, 0);

	/* 3, promoted into the failure's place, ends with nothing queued: rung for at once. */
	rep = sp_control(&h.s, NF_SPAWN_PROMOTE, 3);
	ck_assert_int_eq(rep.queued, 1);
	ck_assert(sp_rung(&h.s, 5000));   /* nothing was left to ring for at the promote */
	ex = sp_exit(&h.s);
	ck_assert_int_eq(ex.pid, rep.pid);
	ck_assert_int_eq(ex.status, 0);
	ck_assert_uint_eq(ex.next_token, 0);

	held_stop(&h, p, 4);
	free(cmd_1);
	free(gate_1);
}
END_TEST

/* A job with NF_SPAWN_PROMPT (one the runner times) rings for its exit at once, where one
 * without would not (for a minute here). */
START_TEST(test_exits_prompt)
{
	char *gate_q = xasprintf("%s/gate-q", tmpdir), *cmd_q = xasprintf("exec cat '%s'", gate_q);
	char *gate_1 = xasprintf("%s/gate-1", tmpdir), *cmd_1 = xasprintf("exec cat '%s'", gate_1);
	nf_spawn_exit ex;
	held_fixture h;
	int p[6], fd;

	held_start(&h);
	ck_assert_int_eq(mkfifo(gate_q, 0600), 0);
	ck_assert_int_eq(mkfifo(gate_1, 0600), 0);
	p[0] = sp_defer(&h.s, 1, cmd_1);
	p[1] = sp_defer_as(&h.s, 2, "true", NF_SPAWN_PROMPT);
	for (int i = 2; i < 6; i++)
		p[i] = sp_defer(&h.s, (uint64_t)i + 1, cmd_q);
	sp_barrier(&h.s);

	/* A ends: 1 starts (5 of 6 queued): no ring. */
	open_gate(h.gate_a);
	ck_assert_int_ge(fd = open(gate_1, O_WRONLY), 0);   /* 1 has started: A was reaped */
	ck_assert(!sp_rung(&h.s, 100));
	close(fd);
	/* 1 ends: 2 (prompt) starts in its place: rung at once (the start of a job the runner
	 * times); 2 ends at once: 3 starts (3 of 6 queued, still half): rung at once. */
	ck_assert(sp_rung(&h.s, 5000));
	ex = sp_exit(&h.s);
	ck_assert_int_eq(ex.pid, h.rep_a.pid);
	ck_assert_uint_eq(ex.next_token, 1);
	ex = sp_exit(&h.s);
	ck_assert_uint_eq(ex.next_token, 2);
	ex = sp_exit(&h.s);   /* sent as 2 was reaped */
	ck_assert_int_eq(ex.status, 0);
	ck_assert_uint_eq(ex.next_token, 3);

	held_stop(&h, p, 6);   /* 3 still reads its gate */
	free(cmd_q);
	free(gate_q);
	free(cmd_1);
	free(gate_1);
}
END_TEST

/* The exit that reports the start of a job with NF_SPAWN_PROMPT in the ended one's place
 * rings at once too: the runner times that job from the start it hears of. */
START_TEST(test_exits_prompt_start)
{
	char *gate_q = xasprintf("%s/gate-q", tmpdir), *cmd_q = xasprintf("exec cat '%s'", gate_q);
	nf_spawn_exit ex;
	held_fixture h;
	int p[6];

	held_start(&h);
	ck_assert_int_eq(mkfifo(gate_q, 0600), 0);
	p[0] = sp_defer_as(&h.s, 1, cmd_q, NF_SPAWN_PROMPT);
	for (int i = 1; i < 6; i++)
		p[i] = sp_defer(&h.s, (uint64_t)i + 1, "true");
	sp_barrier(&h.s);

	/* A ends: 1 starts in its place (5 of 6 queued, where A's ring would be held). */
	open_gate(h.gate_a);
	ck_assert(sp_rung(&h.s, 5000));
	ex = sp_exit(&h.s);
	ck_assert_int_eq(ex.pid, h.rep_a.pid);
	ck_assert_uint_eq(ex.next_token, 1);
	ck_assert_int_gt(ex.next_pid, 0);

	held_stop(&h, p, 6);   /* 1 still reads its gate */
	free(cmd_q);
	free(gate_q);
}
END_TEST

START_TEST(test_end_kills)
{
	spawner s = sp_start();
	const char *strs[] = { "sleep 100", "PATH=/usr/bin:/bin" };
	nf_spawn_req req = { NF_SPAWN_MAGIC, 0, 1, 1, 0, 0 };
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	nf_spawn_reply rep;
	int status;

	sp_send(&s, req, strs, 2, &devnull, 1);
	rep = sp_reply(&s);
	ck_assert_int_gt(rep.pid, 0);
	ck_assert_int_eq(kill(rep.pid, 0), 0);
	status = sp_stop(&s);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_ne(kill(rep.pid, 0), 0);   /* gone: reaped by the spawner before it left */
	close(devnull);
}
END_TEST

/* The pid a stage's background process wrote to pidfile, once it is there; alive. */
static pid_t
bg_started(const char *pidfile)
{
	FILE *f = NULL;
	pid_t bg = 0;

	for (int i = 0; i < 300 && !(f = fopen(pidfile, "r")); i++)
		usleep(10 * 1000);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%d", &bg), 1);
	fclose(f);
	ck_assert(!is_dead(bg));
	return bg;
}

/* ntflow's death (the spawner's PDEATHSIG is SIGTERM, set by the runner): the spawner kills
 * each stage with its whole group, here a process the stage started in the background, and
 * exits; the requests socket is still open (a runner killed closes it too, but not first). */
START_TEST(test_death_kills_groups)
{
	char *pidfile = xasprintf("%s/bg-death.pid", tmpdir);
	char *cmd = xasprintf("sleep 100 & echo $! > '%s.tmp' && mv '%s.tmp' '%s'; wait", pidfile, pidfile, pidfile);
	const char *strs[] = { cmd, "PATH=/usr/bin:/bin" };
	nf_spawn_req req = { NF_SPAWN_MAGIC, 0, 1, 1, 0, 0 };
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC), status;
	spawner s = sp_start();
	nf_spawn_reply rep;
	pid_t bg = 0;

	sp_send(&s, req, strs, 2, &devnull, 1);
	rep = sp_reply(&s);
	ck_assert_int_gt(rep.pid, 0);
	bg = bg_started(pidfile);
	ck_assert_int_eq(kill(s.pid, SIGTERM), 0);
	ck_assert_int_eq(waitpid(s.pid, &status, 0), s.pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (int i = 0; i < 300 && !is_dead(bg); i++)
		usleep(10 * 1000);
	ck_assert(is_dead(bg));
	close(s.ctl);
	close(s.exits);
	close(s.bell);
	close(devnull);
	free(cmd);
	free(pidfile);
}
END_TEST

/* A stage started in the place of an end the spawner still holds: the runner has not heard
 * of it and cannot kill its group, so at the end of the requests the spawner kills the
 * group too (here a process the stage started in the background). */
START_TEST(test_end_kills_unreported)
{
	char *pidfile = xasprintf("%s/bg.pid", tmpdir);
	char *cmd = xasprintf("sleep 100 & echo $! > '%s.tmp' && mv '%s.tmp' '%s'; wait", pidfile, pidfile, pidfile);
	held_fixture h;
	pid_t bg = 0;
	int p[4];

	held_start(&h);
	p[0] = sp_defer(&h.s, 1, cmd);
	for (int i = 1; i < 4; i++)
		p[i] = sp_defer(&h.s, (uint64_t)i + 1, "true");
	sp_barrier(&h.s);
	open_gate(h.gate_a);   /* A ends, 1 starts in its place: A's exit held */
	bg = bg_started(pidfile);
	held_stop(&h, p, 4);
	for (int i = 0; i < 300 && !is_dead(bg); i++)
		usleep(10 * 1000);
	ck_assert(is_dead(bg));
	free(cmd);
	free(pidfile);
}
END_TEST

/* A request that does not add up (bad magic, strings short of their count, no fd) ends
 * the spawner without starting anything. */
START_TEST(test_broken_requests)
{
	const char *strs[] = { "true", "PATH=/bin" };
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	nf_spawn_req bad[] = {
		{ 0x12345678, 0, 1, 1, 0, 0 },
		{ NF_SPAWN_MAGIC, 0, 1, 5, 0, 0 },            /* five environment entries, one sent */
		{ NF_SPAWN_MAGIC, 0, 2, 0, 0, 0 },            /* sh -c takes one command */
		{ NF_SPAWN_MAGIC, NF_SPAWN_PROCS, 1, 1, 0, 0 },   /* a procs record promised, not sent */
		{ NF_SPAWN_MAGIC, NF_SPAWN_DEFER, 1, 1, 0, 0 },   /* deferred without a token */
	};

	for (size_t i = 0; i < NF_ARRAY_SIZE(bad); i++) {
		spawner s = sp_start();
		nf_spawn_reply rep;
		int status;

		sp_send_as(&s, bad[i], strs, 2, &devnull, 1, true);
		/* the end (or a reset: it left what it had not read) */
		ck_assert_msg(read(s.ctl, &rep, sizeof(rep)) <= 0, "request %zu got a reply", i);
		status = sp_stop(&s);
		ck_assert(WIFEXITED(status));
	}
	/* Three fds where a request carries at most two (the kernel drops the third): refused
	 * too, not started with what came. */
	{
		spawner s = sp_start();
		nf_spawn_req req = { NF_SPAWN_MAGIC, NF_SPAWN_PROCS, 1, 1, 0, 0 };
		int three[3] = { devnull, devnull, devnull }, status;
		nf_spawn_reply rep;

		sp_send_as(&s, req, strs, 2, three, 3, true);
		ck_assert_msg(read(s.ctl, &rep, sizeof(rep)) <= 0, "three fds got a reply");
		status = sp_stop(&s);
		ck_assert(WIFEXITED(status));
	}
	close(devnull);
}
END_TEST

/* By hand (no parent pid, or not its parent's), it says what it is and does nothing. */
START_TEST(test_by_hand)
{
	char *cmd = xasprintf("'%s' 2>&1; echo \"rc=$?\"; '%s' 1 2>/dev/null; echo \"rc=$?\"", spawn_path(),
			      spawn_path());
	FILE *f = popen(cmd, "r");
	char *out;

	ck_assert_ptr_nonnull(f);
	out = read_fd(fileno(f));
	pclose(f);
	ck_assert_str_eq(out, "ntflow-spawn: ntflow's process spawner, started by ntflow itself\nrc=2\nrc=2\n");
	free(cmd);
}
END_TEST

static Suite *
spawn_suite(void)
{
	Suite *s = suite_create("spawn");
	TCase *tc = tcase_create("protocol");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_words_env_cwd);
	tcase_add_test(tc, test_shell_procs_record);
	tcase_add_test(tc, test_signals_reset);
	tcase_add_test(tc, test_output_ends_after_exit);
	tcase_add_test(tc, test_deferred);
	tcase_add_test(tc, test_exits_held);
	tcase_add_test(tc, test_exits_prompt);
	tcase_add_test(tc, test_exits_prompt_start);
	tcase_add_test(tc, test_end_kills);
	tcase_add_test(tc, test_end_kills_unreported);
	tcase_add_test(tc, test_death_kills_groups);
	tcase_add_test(tc, test_broken_requests);
	tcase_add_test(tc, test_by_hand);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(spawn_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
