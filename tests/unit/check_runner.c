/* check_runner.c: unit tests of the local runner with real processes: logs, exit codes and
 * signals, rusage, process groups (grandchildren get the signals and never outlive their
 * stage), PR_SET_PDEATHSIG, cwd, environment, stdin, deadlines, the log check timer,
 * interrupts and errors, all through an event loop the runner is attached to (rwait); and
 * the scheduler driving it for real (timeouts, Ctrl-C). */
#include "config.h"
#include "ntflow/exec.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc-fixture.h"

static char tmpdir[64];

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_runner.XXXXXX");
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

/* A path inside the test's temporary folder (a static buffer per call site is enough). */
static char *
tpath(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static char *
slurp(const char *path)
{
	char *data = NULL;
	size_t len;

	ck_assert_msg(nf_read_file(&data, &len, path, 0) == 0, "%s: %s", path, nf_error_last());
	return data;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Polls until path holds a line (a pid written by a job); the pid. */
static pid_t
wait_pid_file(const char *path)
{
	for (int i = 0; i < 1000; i++) {
		FILE *f = fopen(path, "r");
		int pid = 0;

		if (f) {
			int got = fscanf(f, "%d", &pid);

			fclose(f);
			if (got == 1 && pid > 0)
				return (pid_t)pid;
		}
		sleep_ms(10);
	}
	ck_abort_msg("no pid in %s", path);
	return 0;
}

/* Polls until pid runs the program comm: a shell's background child catches the shell's
 * traps until it has exec'd, so signalling it before that proves nothing. */
static void
wait_exec(pid_t pid, const char *comm)
{
	char path[64], buf[64];

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	for (int i = 0; i < 1000; i++) {
		FILE *f = fopen(path, "r");

		if (f) {
			bool same = fgets(buf, sizeof(buf), f) && strcspn(buf, "\n") == strlen(comm) &&
				    !strncmp(buf, comm, strlen(comm));

			fclose(f);
			if (same)
				return;
		}
		sleep_ms(10);
	}
	ck_abort_msg("process %d never ran %s", (int)pid, comm);
}


static void
ck_dies(pid_t pid)
{
	for (int i = 0; i < 500 && !is_dead(pid); i++)
		sleep_ms(10);
	ck_assert_msg(is_dead(pid), "process %d is still alive", (int)pid);
}

/* Results the runner reported, kept for the next rwait. */
static nf_job_result sink[128];
static size_t nsink;

static void
sink_done(void *ctx, const nf_job_result *res)
{
	(void)ctx;
	ck_assert_uint_lt(nsink, NF_ARRAY_SIZE(sink));
	sink[nsink++] = *res;
}

/* The runner on an event loop of its own: turns it until a result came, an interrupt is
 * pending or deadline_ms (-1: none) passed. Up to max results go to out, the rest wait for
 * the next call. Returns 0, NF_EINTR (an interrupt pending, left to nf_signals_take) or the
 * loop's error. */
static int
rwait(nf_runner *r, nf_job_result *out, size_t max, size_t *n, int64_t deadline_ms)
{
	nf_loop *l = NULL;
	int err = 0;

	*n = 0;
	ck_assert_int_eq(nf_loop_new(&l, NULL), 0);
	ck_assert_int_eq(r->ops->attach(r, l, sink_done, NULL), 0);
	while (nsink == 0 && nf_signals_pending() == 0) {
		int k = nf_loop_turn(l, deadline_ms);

		if (k < 0)
			err = k;
		if (k <= 0)
			break;   /* an error, or the deadline came */
	}
	r->ops->detach(r);
	nf_loop_free(l);
	while (*n < max && *n < nsink) {
		out[*n] = sink[*n];
		++*n;
	}
	memmove(sink, sink + *n, (nsink - *n) * sizeof(*sink));
	nsink -= *n;
	if (err == 0 && *n == 0 && nf_signals_pending() > 0)
		err = NF_EINTR;
	return err;
}

/* Waits (no deadline) until one result comes. */
static nf_job_result
wait_one(nf_runner *r)
{
	nf_job_result res[4];
	size_t n = 0;
	int err;

	do {
		err = rwait(r, res, 1, &n, -1);
		ck_assert_msg(err == 0, "wait: %d %s", err, nf_error_last());
	} while (n == 0);
	return res[0];
}

static void
start(nf_runner *r, size_t node, const char *cmd, const char *log)
{
	nf_job job = { .node = node, .attempt = 1, .command = cmd, .log_path = log, .cpus = 1 };
	pid_t pgid = 0;

	ck_assert_msg(r->ops->start(r, &job, &pgid) == 0, "start: %s", nf_error_last());
	ck_assert_int_gt(pgid, 0);
}

START_TEST(test_log_and_exit)
{
	nf_runner *r = NULL;
	char *log = tpath("logs/run/a.1.log");   /* the folder does not exist yet */
	nf_job_result res;
	char *out;

	ck_assert_int_eq(nf_runner_local_new(&r, NULL), 0);
	ck_assert_str_eq(r->ops->name, "local");
	start(r, 3, "echo out; echo err >&2; exit 7", log);
	res = wait_one(r);
	ck_assert_uint_eq(res.node, 3);
	ck_assert_int_eq(res.attempt, 1);
	ck_assert(res.exited);
	ck_assert_int_eq(res.exit_code, 7);
	ck_assert_int_eq(res.term_signal, 0);
	out = slurp(log);
	ck_assert_str_eq(out, "out\nerr\n");
	free(out);

	/* a second attempt truncates the log */
	start(r, 3, "echo again", log);
	res = wait_one(r);
	ck_assert(res.exited && res.exit_code == 0);
	out = slurp(log);
	ck_assert_str_eq(out, "again\n");
	free(out);
	r->ops->free(r);
	free(log);
}
END_TEST

/* Runs words directly with envp and log; the result. */
static nf_job_result
run_words(nf_runner *r, char *const *words, char *const *envp, const char *log)
{
	nf_job job = { .node = 1, .attempt = 1, .argv = words, .envp = envp, .cwd = tmpdir,
		       .log_path = log, .cpus = 1 };
	pid_t pgid = 0;

	ck_assert_msg(r->ops->start(r, &job, &pgid) == 0, "start: %s", nf_error_last());
	return wait_one(r);
}

/* Words are exec'd without a shell, found in the PATH of the job's environment (empty
 * entries and folders without the program skipped); a value with blanks and shell syntax is
 * one argument and runs nothing. */
START_TEST(test_direct_exec)
{
	nf_runner *r = NULL;
	char *log = tpath("d/w.1.log"), *bin = tpath("bin"), *tool = tpath("bin/tool"), *out;
	char *path = xasprintf("PATH=/nonexistent::%s:/usr/bin:/bin", bin);
	char *envp[] = { path, NULL };
	char *words[] = { "tool", "a b", "$(touch pwned); *", "", NULL };
	nf_job_result res;
	FILE *f;

	ck_assert_int_eq(mkdir(bin, 0755), 0);
	ck_assert_ptr_nonnull(f = fopen(tool, "w"));
	fputs("#!/bin/sh\nfor a; do printf '[%s]' \"$a\"; done; echo\n", f);
	fclose(f);
	ck_assert_int_eq(chmod(tool, 0755), 0);
	ck_assert_int_eq(nf_runner_local_new(&r, NULL), 0);
	res = run_words(r, words, envp, log);
	ck_assert(res.exited);
	ck_assert_int_eq(res.exit_code, 0);
	out = slurp(log);
	ck_assert_str_eq(out, "[a b][$(touch pwned); *][]\n");
	free(out);
	{
		char *pwned = tpath("pwned");

		ck_assert_int_ne(access(pwned, F_OK), 0);
		free(pwned);
	}
	/* a script without #! is run by /bin/sh, as execvp does */
	ck_assert_ptr_nonnull(f = fopen(tool, "w"));
	fputs("echo \"plain script $1\"\n", f);
	fclose(f);
	res = run_words(r, words, envp, log);
	ck_assert(res.exited && res.exit_code == 0);
	out = slurp(log);
	ck_assert_str_eq(out, "plain script a b\n");
	free(out);
	r->ops->free(r);
	free(log);
	free(bin);
	free(tool);
	free(path);
}
END_TEST

/* A program not found: status 127 and "ntflow: NAME: not found", as sh gives; one found but
 * not executable: 126 and "Permission denied"; a path with a '/' is not searched. */
START_TEST(test_direct_not_found)
{
	nf_runner *r = NULL;
	char *log = tpath("nf.log"), *noexec = tpath("noexec"), *out;
	char *envp[] = { "PATH=/usr/bin:/bin", NULL };
	char *missing[] = { "ntflow-no-such-program", "x", NULL };
	char *slash[] = { "./ntflow-no-such-program", NULL };
	char *denied[] = { "./noexec", NULL };
	nf_job_result res;
	FILE *f;

	ck_assert_int_eq(nf_runner_local_new(&r, NULL), 0);
	res = run_words(r, missing, envp, log);
	ck_assert(res.exited);
	ck_assert_int_eq(res.exit_code, 127);
	out = slurp(log);
	ck_assert_str_eq(out, "ntflow: ntflow-no-such-program: not found\n");
	free(out);
	res = run_words(r, slash, envp, log);
	ck_assert_int_eq(res.exit_code, 127);
	out = slurp(log);
	ck_assert_str_eq(out, "ntflow: ./ntflow-no-such-program: not found\n");
	free(out);
	ck_assert_ptr_nonnull(f = fopen(noexec, "w"));
	fputs("echo no\n", f);
	fclose(f);
	res = run_words(r, denied, envp, log);
	ck_assert_int_eq(res.exit_code, 126);
	out = slurp(log);
	ck_assert_str_eq(out, "ntflow: ./noexec: Permission denied\n");
	free(out);
	r->ops->free(r);
	free(log);
	free(noexec);
}
END_TEST

/* A job that writes nothing leaves no log file, nor does a silent shell command. */
START_TEST(test_no_output_no_log)
{
	nf_runner *r = NULL;
	char *log = tpath("quiet/q.1.log");
	char *words[] = { "true", NULL };
	nf_job_result res;

	ck_assert_int_eq(nf_runner_local_new(&r, NULL), 0);
	res = run_words(r, words, NULL, log);
	ck_assert(res.exited && res.exit_code == 0);
	ck_assert_int_ne(access(log, F_OK), 0);
	ck_assert_int_eq(errno, ENOENT);
	start(r, 2, "x=1; exit 3", log);
	res = wait_one(r);
	ck_assert_int_eq(res.exit_code, 3);
	ck_assert_int_ne(access(log, F_OK), 0);
	r->ops->free(r);
	free(log);
}
END_TEST

START_TEST(test_killed_by_signal)
{
	nf_runner *r = NULL;
	nf_job_result res;

	ck_assert_int_eq(nf_runner_local_new(&r, NULL), 0);
	start(r, 0, "kill -9 $$", NULL);
	res = wait_one(r);
	ck_assert(!res.exited);
	ck_assert_int_eq(res.term_signal, SIGKILL);
	r->ops->free(r);
}
END_TEST

START_TEST(test_rusage)
{
	nf_runner *r = NULL;
	nf_job_result res;

	ck_assert_int_eq(nf_runner_local_new(&r, NULL), 0);
	start(r, 0, "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done", NULL);
	res = wait_one(r);
	ck_assert(res.exited && res.exit_code == 0);
	ck_assert_int_gt(res.user_ms + res.sys_ms, 0);
	ck_assert_int_ge(res.wall_ms, res.user_ms / 2);   /* one CPU, some rounding */
	ck_assert_int_gt(res.max_rss_kb, 100);
	ck_assert_int_lt(res.max_rss_kb, 1024 * 1024);

	start(r, 1, "sleep 0.2", NULL);
	res = wait_one(r);
	/* The start is read once the child runs (after vfork), in whole milliseconds: the wall
	 * time can fall a little short of the sleep, never by tens of milliseconds. */
	ck_assert_int_ge(res.wall_ms, 180);
	ck_assert_int_lt(res.wall_ms, 5000);
	ck_assert_int_lt(res.user_ms, 150);
	r->ops->free(r);
}
END_TEST

/* MAXRSS is the stage's own peak, not ours: with this process made large (96 MB touched),
 * a `true` stage reports well under 4 MB and one that allocates 16 MB at least that (its
 * peak, about 25 MB, short of ours). Started by vfork from here, both would report our 96 MB: execve keeps the
 * high-water RSS of the memory it leaves, a vfork child's being its parent's. */
START_TEST(test_rusage_own_peak)
{
	size_t ballast_len = (size_t)96 << 20;
	char *ballast = xmalloc(ballast_len);
	nf_runner *r = NULL;
	nf_job_result res;

	memset(ballast, 1, ballast_len);
	ck_assert_int_eq(nf_runner_local_new(&r, NULL), 0);
	start(r, 0, "true", NULL);
	res = wait_one(r);
	ck_assert(res.exited && res.exit_code == 0);
	ck_assert_int_gt(res.max_rss_kb, 0);
	ck_assert_msg(res.max_rss_kb < 4096, "a true stage reports %ld kB", res.max_rss_kb);
	start(r, 1, "awk 'BEGIN { s = \"x\"; while (length(s) < 16777216) s = s s; print length(s) }' >/dev/null", NULL);
	res = wait_one(r);
	ck_assert(res.exited && res.exit_code == 0);
	ck_assert_int_ge(res.max_rss_kb, 16384);
	ck_assert_int_lt(res.max_rss_kb, 96 * 1024);   /* its own, not ours */
	r->ops->free(r);
	free(ballast);
}
END_TEST

/* Without its spawner there is no local runner, and the error says where it looked; a
 * program that is no spawner fails the first start, and every start after it the same way. */
START_TEST(test_no_spawner)
{
	char *saved = getenv("NTFLOW_SPAWN") ? xstrdup(getenv("NTFLOW_SPAWN")) : NULL;
	char *missing = tpath("no-such-spawner"), *fake = tpath("fake-spawner"), *count = tpath("fake-count"), *text;
	nf_runner *r = NULL;

	setenv("NTFLOW_SPAWN", missing, 1);
	ck_assert_int_lt(nf_runner_local_new(&r, NULL), 0);
	ck_assert_ptr_null(r);
	ck_assert_msg(strstr(nf_error_last(), "cannot start the process spawner") &&
		      strstr(nf_error_last(), missing) && strstr(nf_error_last(), "No such file"), "%s",
		      nf_error_last());
	/* a program that is no spawner (it exits at once) is refused at the first start, and
	 * not tried again */
	{
		FILE *f = fopen(fake, "w");

		ck_assert_ptr_nonnull(f);
		fprintf(f, "#!/bin/sh\necho started >>'%s'\n", count);
		fclose(f);
		ck_assert_int_eq(chmod(fake, 0755), 0);
	}
	setenv("NTFLOW_SPAWN", fake, 1);
	ck_assert_int_eq(nf_runner_local_new(&r, NULL), 0);
	for (int i = 0; i < 2; i++) {
		nf_job job = { .node = (size_t)i, .attempt = 1, .command = "true" };
		pid_t pgid = 1;

		ck_assert_int_lt(r->ops->start(r, &job, &pgid), 0);
		ck_assert_int_eq(pgid, 0);
		ck_assert_msg(strstr(nf_error_last(), "ended before it was ready"), "%s", nf_error_last());
	}
	r->ops->free(r);
	text = slurp(count);
	ck_assert_str_eq(text, "started\n");
	free(text);
	/* one of another version (it says it is ready as the spawner before the bell did, and
	 * waits for requests): refused at once, not waited for */
	{
		FILE *f = fopen(fake, "w");

		ck_assert_ptr_nonnull(f);
		fprintf(f, "#!/bin/sh\nprintf R >&3\nexec sleep 100\n");
		fclose(f);
	}
	ck_assert_int_eq(nf_runner_local_new(&r, NULL), 0);
	{
		nf_job job = { .node = 0, .attempt = 1, .command = "true" };
		pid_t pgid = 1;

		ck_assert_int_lt(r->ops->start(r, &job, &pgid), 0);
		ck_assert_msg(strstr(nf_error_last(), "is not this ntflow's"), "%s", nf_error_last());
	}
	r->ops->free(r);
	if (saved)
		setenv("NTFLOW_SPAWN", saved, 1);
	else
		unsetenv("NTFLOW_SPAWN");
	free(saved);
	free(missing);
	free(fake);
	free(count);
}
END_TEST

/* Our child running ntflow-spawn, or 0. */
static pid_t
find_spawner(void)
{
	char cmd[128];
	FILE *f;
	int pid = 0;

	snprintf(cmd, sizeof(cmd), "pgrep -P %d -x ntflow-spawn", (int)getpid());
	if ((f = popen(cmd, "r"))) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		pclose(f);
	}
	return (pid_t)pid;
}

/* The spawner starts with the first job, not with the runner (a run that starts nothing
 * forks nothing), and a runner attached before that job hears its exit. */
START_TEST(test_spawner_at_first_job)
{
	nf_runner *r = NULL;
	nf_loop *l = NULL;

	ck_assert_int_eq(nf_runner_local_new(&r, NULL), 0);
	ck_assert_int_eq(find_spawner(), 0);
	ck_assert_int_eq(nf_loop_new(&l, NULL), 0);
	ck_assert_int_eq(r->ops->attach(r, l, sink_done, NULL), 0);
	start(r, 9, "exit 3", NULL);
	ck_assert_int_gt(find_spawner(), 0);
	while (nsink == 0)
		ck_assert_int_gt(nf_loop_turn(l, 10000), 0);   /* not the deadline: the exit came */
	ck_assert_uint_eq(nsink, 1);
	ck_assert_uint_eq(sink[0].node, 9);
	ck_assert(sink[0].exited && sink[0].exit_code == 3);
	nsink = 0;
	r->ops->detach(r);
	nf_loop_free(l);
	r->ops->free(r);
	ck_assert_int_eq(find_spawner(), 0);   /* reaped with the runner */
}
END_TEST

/* The spawner killed under a running stage: the stage dies too (and what it left), it ends
 * killed with the reason in its log, and later starts fail rather than hang. */
START_TEST(test_spawner_lost)
{
	char *log = tpath("lost.log"), *pidf = tpath("pid"), *text;
	char *cmd = xasprintf("echo started; sleep 100 & echo $! >'%s'; wait", pidf);
	nf_job job = { .node = 2, .attempt = 1, .command = "true" };
	nf_runner *r = NULL;
	nf_job_result res;
	pid_t spawner, bg, pgid;

	ck_assert_int_eq(nf_runner_local_new(&r, NULL), 0);
	start(r, 1, cmd, log);
	ck_assert_int_gt(spawner = find_spawner(), 0);
	bg = wait_pid_file(pidf);
	ck_assert_int_eq(kill(spawner, SIGKILL), 0);
	res = wait_one(r);
	ck_assert_uint_eq(res.node, 1);
	ck_assert(!res.exited);
	ck_assert_int_eq(res.term_signal, SIGKILL);
	ck_assert_int_eq(res.max_rss_kb, 0);   /* unknown */
	ck_dies(bg);
	text = slurp(log);
	ck_assert_msg(strstr(text, "started\n") && strstr(text, "process spawner (ntflow-spawn) died"), "%s", text);
	ck_assert_int_lt(r->ops->start(r, &job, &pgid), 0);
	ck_assert_msg(strstr(nf_error_last(), "has gone"), "%s", nf_error_last());
	r->ops->free(r);
	free(text);
	free(cmd);
	free(pidf);
	free(log);
}
END_TEST

/* The order of ends and deferred starts, as "e1 s2 e2 ...", and a deferred start's error. */
static char order[256];
static char start_err[256];

static void
order_done(void *ctx, const nf_job_result *res)
{
	size_t len = strlen(order);

	snprintf(order + len, sizeof(order) - len, "%se%zu", len ? " " : "", res->node);
	sink_done(ctx, res);
}

static void
order_started(void *ctx, size_t node, int attempt, pid_t pgid, int64_t late_ms, const char *err)
{
	size_t len = strlen(order);

	(void)ctx;
	ck_assert_int_eq(attempt, 1);
	ck_assert_int_ge(late_ms, 0);
	ck_assert(err ? pgid == 0 : pgid > 0);
	if (err)
		snprintf(start_err, sizeof(start_err), "%s", err);
	snprintf(order + len, sizeof(order) - len, "%s%s%zu", len ? " " : "", err ? "x" : "s", node);
}

/* Turns a loop with r attached (order_done) until n results came. */
static void
wait_ends(nf_runner *r, size_t n)
{
	nf_loop *l = NULL;

	ck_assert_int_eq(nf_loop_new(&l, NULL), 0);
	ck_assert_int_eq(r->ops->attach(r, l, order_done, NULL), 0);
	while (nsink < n)
		ck_assert_int_ge(nf_loop_turn(l, -1), 0);
	r->ops->detach(r);
	nf_loop_free(l);
	nsink = 0;
}

static void
defer(nf_runner *r, size_t node, const char *cmd, const char *log)
{
	nf_job job = { .node = node, .attempt = 1, .command = cmd, .log_path = log, .cpus = 1 };

	ck_assert_msg(r->ops->defer(r, &job) == 0, "defer: %s", nf_error_last());
}

/* Deferred jobs (the scheduler's when no slot is free): each starts in the place of a job
 * that ends, reported after that end; promoted, one starts now; withdrawn, it never runs;
 * a deferred job of a spawner that dies fails to start. */
START_TEST(test_deferred)
{
	char *l2 = tpath("two.log"), *l3 = tpath("three.log"), *l5 = tpath("five.log"), *text;
	nf_job job = { .node = 5, .attempt = 1, .command = "true", .cpus = 1 };
	nf_runner *r = NULL;
	pid_t pgid = 0, spawner;

	ck_assert_int_eq(nf_runner_local_new(&r, NULL), 0);
	r->started = order_started;
	order[0] = '\0';
	start(r, 1, "sleep 0.3", NULL);
	defer(r, 2, "echo two", l2);
	defer(r, 3, "echo three", l3);
	ck_assert_int_lt(r->ops->signal(r, 2, SIGTERM), 0);   /* not started: nothing to signal */
	wait_ends(r, 3);
	ck_assert_str_eq(order, "e1 s2 e2 s3 e3");
	text = slurp(l2);
	ck_assert_str_eq(text, "two\n");
	free(text);
	text = slurp(l3);
	ck_assert_str_eq(text, "three\n");
	free(text);

	order[0] = '\0';
	defer(r, 4, "true", NULL);
	ck_assert_int_eq(r->ops->promote(r, 4, &pgid), 1);
	ck_assert_int_gt(pgid, 0);
	wait_ends(r, 1);
	ck_assert_str_eq(order, "e4");

	defer(r, 5, "echo five", l5);
	ck_assert_int_eq(r->ops->withdraw(r, 5), 1);
	ck_assert_int_lt(r->ops->promote(r, 5, &pgid), 0);   /* no longer deferred */
	ck_assert_int_lt(r->ops->withdraw(r, 5), 0);
	ck_assert_int_ne(access(l5, F_OK), 0);
	ck_assert_int_eq(r->ops->start(r, &job, &pgid), 0);   /* the node is free again */
	order[0] = '\0';
	wait_ends(r, 1);
	ck_assert_str_eq(order, "e5");

	order[0] = '\0';
	ck_assert_int_gt(spawner = find_spawner(), 0);
	start(r, 6, "sleep 100", NULL);
	defer(r, 7, "echo seven", NULL);
	ck_assert_int_eq(kill(spawner, SIGKILL), 0);
	wait_ends(r, 1);
	ck_assert_str_eq(order, "e6 x7");
	ck_assert_msg(strstr(start_err, "has gone"), "%s", start_err);
	r->ops->free(r);
	free(l2);
	free(l3);
	free(l5);
}
END_TEST

/* The spawner killed while its ring for exits is held (a minute here): what it sent is read
 * all the same, so a stage that ended well is reported so, not killed, and the start made
 * in its place is heard of (that stage, killed with the spawner, ends killed); the queued
 * ones fail to start. */
START_TEST(test_spawner_lost_held)
{
	char *gate = tpath("gate"), *mark = tpath("two.started");
	char *cmd1 = xasprintf("exec cat '%s'", gate), *cmd2 = xasprintf("touch '%s'; exec sleep 100", mark);
	struct timespec ms = { 0, 1000000 };
	nf_runner *r = NULL;
	pid_t spawner;
	int fd;

	ck_assert_int_eq(mkfifo(gate, 0600), 0);
	ck_assert_int_eq(setenv("NTFLOW_SPAWN_HOLD_MS", "60000", 1), 0);
	ck_assert_int_eq(nf_runner_local_new(&r, NULL), 0);
	r->started = order_started;
	order[0] = '\0';
	start(r, 1, cmd1, NULL);   /* the spawner starts here, with the hold */
	unsetenv("NTFLOW_SPAWN_HOLD_MS");
	defer(r, 2, cmd2, NULL);
	defer(r, 3, "true", NULL);
	defer(r, 4, "true", NULL);
	defer(r, 5, "true", NULL);
	for (int i = 0; i < 50; i++)
		nanosleep(&ms, NULL);   /* all four queued before 1 ends (else the ring is not held) */
	ck_assert_int_ge(fd = open(gate, O_WRONLY), 0);
	close(fd);   /* 1 ends well, 2 starts in its place: 3 of 4 still queued, the ring held */
	for (int i = 0; i < 5000 && access(mark, F_OK) != 0; i++)
		nanosleep(&ms, NULL);
	ck_assert_int_eq(access(mark, F_OK), 0);
	ck_assert_int_gt(spawner = find_spawner(), 0);
	ck_assert_int_eq(kill(spawner, SIGKILL), 0);
	wait_ends(r, 2);
	ck_assert_str_eq(order, "e1 s2 e2 x3 x4 x5");
	ck_assert_uint_eq(sink[0].node, 1);
	ck_assert(sink[0].exited);
	ck_assert_int_eq(sink[0].exit_code, 0);
	ck_assert_uint_eq(sink[1].node, 2);
	ck_assert(!sink[1].exited);
	ck_assert_int_eq(sink[1].term_signal, SIGKILL);
	r->ops->free(r);
	free(cmd1);
	free(cmd2);
	free(mark);
	free(gate);
}
END_TEST

/* A signal to the job reaches its whole group: the leader traps TERM and lives on, and
 * reports that its background child died of it. */
START_TEST(test_group_signal)
{
	nf_runner *r = NULL;
	char *pidf = tpath("pid"), *log = tpath("g.log");
	char *cmd = xasprintf("trap 'echo term' TERM; sleep 100 & p=$!; echo $p >'%s'; "
			      "wait $p; wait $p; echo \"status=$?\"", pidf);
	nf_job_result res;
	pid_t grandchild;
	char *out;

	ck_assert_int_eq(nf_runner_local_new(&r, NULL), 0);
	start(r, 0, cmd, log);
	grandchild = wait_pid_file(pidf);
	wait_exec(grandchild, "sleep");
	ck_assert_int_eq(r->ops->signal(r, 0, SIGTERM), 0);
	res = wait_one(r);
	ck_assert(res.exited);
	ck_assert_int_eq(res.exit_code, 0);
	out = slurp(log);
	/* dash may also say "Terminated" somewhere */
	ck_assert_msg(strstr(out, "term\n") && strstr(out, "status=143\n"), "%s", out);
	ck_dies(grandchild);
	free(out);
	free(cmd);
	free(pidf);
	free(log);
	r->ops->free(r);
}
END_TEST

/* SIGKILL to the group takes the grandchild along. */
START_TEST(test_group_kill)
{
	nf_runner *r = NULL;
	char *pidf = tpath("pid");
	char *cmd = xasprintf("sleep 100 & echo $! >'%s'; wait", pidf);
	nf_job_result res;
	pid_t grandchild;

	ck_assert_int_eq(nf_runner_local_new(&r, NULL), 0);
	start(r, 0, cmd, NULL);
	grandchild = wait_pid_file(pidf);
	wait_exec(grandchild, "sleep");
	ck_assert_int_eq(r->ops->signal(r, 0, SIGKILL), 0);
	res = wait_one(r);
	ck_assert(!res.exited);
	ck_assert_int_eq(res.term_signal, SIGKILL);
	ck_dies(grandchild);
	free(cmd);
	free(pidf);
	r->ops->free(r);
}
END_TEST

/* What a stage leaves running in the background dies when the stage ends. */
START_TEST(test_leftovers_killed)
{
	nf_runner *r = NULL;
	char *pidf = tpath("pid");
	char *cmd = xasprintf("sleep 100 & echo $! >'%s'", pidf);
	nf_job_result res;

	ck_assert_int_eq(nf_runner_local_new(&r, NULL), 0);
	start(r, 0, cmd, NULL);
	res = wait_one(r);
	ck_assert(res.exited && res.exit_code == 0);
	ck_dies(wait_pid_file(pidf));
	free(cmd);
	free(pidf);
	r->ops->free(r);
}
END_TEST

/* free() kills and reaps what still runs, grandchildren included. */
START_TEST(test_free_kills)
{
	nf_runner *r = NULL;
	char *pidf = tpath("pid"), *pidf2 = tpath("pid2");
	char *cmd = xasprintf("echo $$ >'%s'; sleep 100 & echo $! >'%s'; wait", pidf, pidf2);
	pid_t leader, grandchild;

	ck_assert_int_eq(nf_runner_local_new(&r, NULL), 0);
	start(r, 0, cmd, NULL);
	leader = wait_pid_file(pidf);
	grandchild = wait_pid_file(pidf2);
	r->ops->free(r);
	ck_assert_int_eq(kill(leader, 0), -1);   /* reaped: gone entirely */
	ck_assert_int_eq(errno, ESRCH);
	ck_dies(grandchild);
	free(cmd);
	free(pidf);
	free(pidf2);
}
END_TEST

/* A SIGKILLed ntflow takes its direct children along (PR_SET_PDEATHSIG). */
START_TEST(test_parent_death)
{
	char *pidf = tpath("pid");
	char *cmd = xasprintf("echo $$ >'%s'; exec sleep 100", pidf);
	pid_t helper, job;
	int status;

	helper = fork();   /* a test's stand-in for ntflow; the runner itself never forks */
	ck_assert_int_ge(helper, 0);
	if (helper == 0) {
		nf_runner *r = NULL;
		nf_job j = { .node = 0, .attempt = 1, .command = cmd };
		pid_t pgid;

		if (nf_runner_local_new(&r, NULL) < 0 || r->ops->start(r, &j, &pgid) < 0)
			_exit(1);
		wait_pid_file(pidf);
		kill(getpid(), SIGKILL);
	}
	ck_assert_int_eq(waitpid(helper, &status, 0), helper);
	ck_assert(WIFSIGNALED(status));
	job = wait_pid_file(pidf);
	ck_dies(job);
	free(cmd);
	free(pidf);
}
END_TEST

START_TEST(test_cwd_env_stdin)
{
	nf_runner *r = NULL;
	char *log = tpath("e.log"), *expect;
	char *envp[] = { "FOO=bar baz", "PATH=/usr/bin:/bin", NULL };
	nf_job job = { .node = 0, .attempt = 1, .envp = envp, .cwd = tmpdir, .log_path = log,
		       .command = "pwd; echo \"$FOO\"; echo \"${HOME-unset}\"; "
				  "readlink /proc/$$/fd/0; cat; echo \"cat=$?\"" };
	nf_job_result res;
	pid_t pgid;
	char *out;

	ck_assert_int_eq(nf_runner_local_new(&r, NULL), 0);
	ck_assert_int_eq(r->ops->start(r, &job, &pgid), 0);
	res = wait_one(r);
	ck_assert(res.exited && res.exit_code == 0);
	out = slurp(log);
	expect = xasprintf("%s\nbar baz\nunset\n/dev/null\ncat=0\n", tmpdir);
	ck_assert_str_eq(out, expect);
	free(out);
	free(expect);

	/* no envp: ours; no cwd: ours */
	setenv("NFTEST_VALUE", "inherited", 1);
	job.envp = NULL;
	job.cwd = NULL;
	job.command = "echo \"$NFTEST_VALUE\"; pwd";
	ck_assert_int_eq(r->ops->start(r, &job, &pgid), 0);
	res = wait_one(r);
	ck_assert(res.exited && res.exit_code == 0);
	out = slurp(log);
	{
		char cwd[4096];

		ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
		expect = xasprintf("inherited\n%s\n", cwd);
	}
	ck_assert_str_eq(out, expect);
	free(out);
	free(expect);

	/* a missing cwd fails the job with a message in its log */
	job.cwd = "/nonexistent/dir";
	job.command = "true";
	ck_assert_int_eq(r->ops->start(r, &job, &pgid), 0);
	res = wait_one(r);
	ck_assert(res.exited);
	ck_assert_int_eq(res.exit_code, 127);
	out = slurp(log);
	ck_assert_str_eq(out, "ntflow: /nonexistent/dir: errno 2\n");
	free(out);
	free(log);
	r->ops->free(r);
}
END_TEST

/* The child starts with default dispositions and an empty mask, whatever ntflow had. */
START_TEST(test_signal_state_reset)
{
	nf_runner *r = NULL;
	char *log = tpath("s.log");
	sigset_t block, old;
	nf_job_result res;
	char *out;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, &old);
	ck_assert_int_eq(nf_runner_local_new(&r, NULL), 0);
	start(r, 0, "exec grep -E '^Sig(Blk|Ign):' /proc/self/status", log);
	res = wait_one(r);
	ck_assert(res.exited && res.exit_code == 0);
	out = slurp(log);
	{
		unsigned long long blk = 1, ign = 1, libc = 0;

		ck_assert_int_eq(sscanf(out, "SigBlk: %llx SigIgn: %llx", &blk, &ign), 2);
		/* libc's own signals (32 up to SIGRTMIN) cannot be reset through libc, and its
		 * start-up in the child takes them over anyway */
		for (int sig = 32; sig < SIGRTMIN; sig++)
			libc |= 1ULL << (sig - 1);
		ck_assert_msg(blk == 0, "blocked: %llx", blk);
		ck_assert_msg((ign & ~libc) == 0, "ignored: %llx", ign);
	}
	free(out);
	free(log);
	r->ops->free(r);
	sigprocmask(SIG_SETMASK, &old, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGUSR1, SIG_DFL);
}
END_TEST

static void
on_usr(int sig)
{
	(void)sig;
}

/* nf_signals_reset_some (ntflow-spawn's children): the signals of the set back to SIG_DFL,
 * ignored or caught, the others left as they were, the mask emptied. In a child: it
 * changes the process's signals. */
START_TEST(test_signals_reset_some)
{
	pid_t pid = fork();
	int status = -1;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct sigaction sa = { 0 }, now;
		sigset_t set, mask;

		signal(SIGPIPE, SIG_IGN);
		signal(SIGUSR1, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		sa.sa_handler = on_usr;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGCHLD, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigemptyset(&mask);
		sigaddset(&mask, SIGUSR2);
		sigprocmask(SIG_BLOCK, &mask, NULL);
		sigemptyset(&set);
		sigaddset(&set, SIGPIPE);
		sigaddset(&set, SIGUSR1);
		sigaddset(&set, SIGCHLD);
		nf_signals_reset_some(&set);
		/* 1-3: in the set, back to SIG_DFL */
		if (sigaction(SIGPIPE, NULL, &now) < 0 || now.sa_handler != SIG_DFL)
			_exit(1);
		if (sigaction(SIGUSR1, NULL, &now) < 0 || now.sa_handler != SIG_DFL)
			_exit(2);
		if (sigaction(SIGCHLD, NULL, &now) < 0 || now.sa_handler != SIG_DFL)
			_exit(3);
		/* 4-5: not in it, as they were */
		if (sigaction(SIGHUP, NULL, &now) < 0 || now.sa_handler != SIG_IGN)
			_exit(4);
		if (sigaction(SIGTERM, NULL, &now) < 0 || now.sa_handler != on_usr)
			_exit(5);
		/* 6: nothing blocked */
		if (sigprocmask(SIG_SETMASK, NULL, &mask) < 0)
			_exit(6);
		for (int sig = 1; sig < NSIG; sig++)
			if (sigismember(&mask, sig) == 1)
				_exit(6);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_msg(WEXITSTATUS(status) == 0, "check %d failed", WEXITSTATUS(status));
}
END_TEST

/* Many jobs at once: each reported once, with its own node. */
START_TEST(test_many_jobs)
{
	nf_runner *r = NULL;
	enum { N = 60 };
	bool seen[N] = { false };
	size_t got = 0;

	ck_assert_int_eq(nf_runner_local_new(&r, NULL), 0);
	for (size_t i = 0; i < N; i++)
		start(r, i * 7, i % 3 ? "exit 3" : "true", NULL);
	while (got < N) {
		nf_job_result res[8];
		size_t n = 0;

		ck_assert_int_eq(rwait(r, res, 8, &n, -1), 0);
		for (size_t k = 0; k < n; k++) {
			size_t i = res[k].node / 7;

			ck_assert_uint_eq(res[k].node % 7, 0);
			ck_assert(!seen[i]);
			seen[i] = true;
			ck_assert_int_eq(res[k].exit_code, i % 3 ? 3 : 0);
		}
		got += n;
	}
	/* nothing left: a wait ends at its deadline */
	{
		nf_job_result res[1];
		size_t n = 9;

		ck_assert_int_eq(rwait(r, res, 1, &n, nf_clock_system()->now_ms(nf_clock_system()) + 20), 0);
		ck_assert_uint_eq(n, 0);
	}
	r->ops->free(r);
}
END_TEST

/* A deadline ends the wait without results, not much later than asked. */
START_TEST(test_deadline)
{
	nf_runner *r = NULL;
	nf_clock *c = nf_clock_system();
	nf_job_result res[2];
	size_t n = 9;
	int64_t t0;

	ck_assert_int_eq(nf_runner_local_new(&r, c), 0);
	start(r, 0, "sleep 100", NULL);
	t0 = c->now_ms(c);
	ck_assert_int_eq(rwait(r, res, 2, &n, t0 + 150), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_ge(c->now_ms(c) - t0, 150);
	ck_assert_int_lt(c->now_ms(c) - t0, 2000);
	/* a deadline in the past returns at once */
	ck_assert_int_eq(rwait(r, res, 2, &n, 0), 0);
	ck_assert_uint_eq(n, 0);
	r->ops->free(r);
}
END_TEST

/* A log with a limit never holds more than the limit, while its job still runs: the runner
 * keeps the limit as it reads the output. */
START_TEST(test_log_check)
{
	nf_runner *r = NULL;
	nf_clock *c = nf_clock_system();
	char *log = tpath("big.log");
	nf_job job = { .node = 0, .attempt = 1, .log_path = log, .log_limit = 100, .cpus = 1,
		       .command = "head -c 5000 /dev/zero; touch wrote; sleep 100", .cwd = tmpdir };
	char *wrote = tpath("wrote");
	nf_job_result res[1];
	struct stat st;
	size_t n = 9;
	pid_t pgid;
	int i;

	ck_assert_int_eq(nf_runner_local_new(&r, c), 0);
	ck_assert_int_eq(r->ops->start(r, &job, &pgid), 0);
	/* the job writes, then only sleeps */
	for (i = 0; i < 500 && access(wrote, F_OK) != 0; i++)
		sleep_ms(10);
	ck_assert_int_eq(access(wrote, F_OK), 0);
	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(rwait(r, res, 1, &n, c->now_ms(c) + 200), 0);
		ck_assert_uint_eq(n, 0);
		ck_assert_int_eq(stat(log, &st), 0);
		if (st.st_size <= 100)
			break;
	}
	ck_assert_int_eq(st.st_size, 100);
	ck_assert_int_eq(r->ops->signal(r, 0, SIGKILL), 0);
	res[0] = wait_one(r);
	ck_assert(res[0].log_capped);
	r->ops->free(r);
	free(log);
	free(wrote);
}
END_TEST

/* An exit that came while nothing watched waits in the spawner's exits socket, and the
 * scheduler's nf_signals_take (which only counts) takes nothing from it: one turn with a
 * far deadline reports it at once. */
START_TEST(test_exit_waits_for_the_loop)
{
	nf_runner *r = NULL;
	nf_clock *c = nf_clock_system();
	nf_job job = { .node = 4, .attempt = 1, .command = "exit 5" };
	nf_job_result res[1];
	pid_t pgid = 0;
	size_t n = 0;

	ck_assert_int_eq(nf_runner_local_new(&r, c), 0);
	ck_assert_int_eq(r->ops->start(r, &job, &pgid), 0);
	/* ended and reaped by the spawner (its exit then sent) before anything watches */
	for (int i = 0; i < 500 && kill(pgid, 0) == 0; i++)
		sleep_ms(10);
	ck_assert_int_ne(kill(pgid, 0), 0);
	ck_assert_int_eq(nf_signals_take(), 0);
	ck_assert_int_eq(rwait(r, res, 1, &n, c->now_ms(c) + 60000), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(res[0].exit_code, 5);
	r->ops->free(r);
}
END_TEST

/* SIGINT wakes the wait with NF_EINTR until the scheduler takes it. */
START_TEST(test_interrupt)
{
	nf_runner *r = NULL;
	nf_job_result res[2];
	size_t n = 9;

	ck_assert_int_eq(nf_runner_local_new(&r, NULL), 0);
	ck_assert_int_ge(nf_signals_fd(), 0);
	start(r, 0, "sleep 100", NULL);
	raise(SIGINT);
	raise(SIGTERM);
	ck_assert_int_eq(rwait(r, res, 2, &n, -1), NF_EINTR);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(nf_signals_pending(), 2);
	ck_assert_int_eq(rwait(r, res, 2, &n, -1), NF_EINTR);
	ck_assert_int_eq(nf_signals_take(), 2);
	ck_assert_int_eq(nf_signals_take(), 0);
	ck_assert_int_eq(nf_signals_install(), 0);   /* idempotent */
	ck_assert_int_eq(r->ops->signal(r, 0, SIGKILL), 0);
	ck_assert_int_eq(rwait(r, res, 2, &n, -1), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(res[0].term_signal, SIGKILL);
	r->ops->free(r);
}
END_TEST

/* The procs record: each child appends "PGID START" before its command runs, so the line
 * is there even for a command that never gets to do anything; a record that cannot be
 * written fails the attempt, saying why in its log. */
START_TEST(test_procs_record)
{
	nf_runner *r = NULL;
	char *path = tpath("procs"), *log = tpath("a.log"), *text;
	nf_job job = { .node = 1, .attempt = 1, .command = "sleep 100", .cpus = 1 };
	nf_job_result res;
	long long pg = 0, start = 0, pg2 = 0, start2 = 0;
	pid_t pgid = 0, pgid2 = 0;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(nf_runner_local_new(&r, NULL), 0);
	nf_runner_local_procs_fd(r, fd);
	ck_assert_int_eq(r->ops->start(r, &job, &pgid), 0);
	job.node = 2;
	job.command = "exit 3";
	ck_assert_int_eq(r->ops->start(r, &job, &pgid2), 0);
	text = slurp(path);
	ck_assert_int_eq(sscanf(text, "%lld %lld\n%lld %lld\n", &pg, &start, &pg2, &start2), 4);
	ck_assert_int_eq(pg, pgid);
	ck_assert_int_eq(pg2, pgid2);
	ck_assert_int_gt(start, 0);
	ck_assert_int_eq(start, nf_proc_start_time(pgid));   /* the shell that runs the command */
	ck_assert_int_ge(start2, start);
	free(text);
	r->ops->free(r);

	/* Nowhere to write: the attempt fails before its command runs. */
	close(fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_eq(nf_runner_local_new(&r, NULL), 0);
	nf_runner_local_procs_fd(r, fd);
	job.command = "echo ran";
	job.log_path = log;
	ck_assert_int_eq(r->ops->start(r, &job, &pgid), 0);
	res = wait_one(r);
	ck_assert(res.exited);
	ck_assert_int_eq(res.exit_code, 127);
	text = slurp(log);
	ck_assert_msg(strncmp(text, "ntflow: cannot record the process group", 39) == 0, "%s", text);
	free(text);
	r->ops->free(r);
	close(fd);
	free(path);
	free(log);
}
END_TEST

/* Whether a live process other than us holds the entry mark in its environment. */
static bool
marked_alive(const char *mark, char *who, size_t size)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t ml = strlen(mark);
	bool found = false;

	ck_assert_ptr_nonnull(d);
	while (!found && (de = readdir(d))) {
		char path[300], env[65536], st[4096];
		ssize_t n;
		int fd;

		if (de->d_name[0] < '0' || de->d_name[0] > '9' || atol(de->d_name) == (long)getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%s/environ", de->d_name);
		if ((fd = open(path, O_RDONLY)) < 0)
			continue;
		n = read(fd, env, sizeof(env) - 1);
		close(fd);
		for (ssize_t k = 0; n > 0 && k + (ssize_t)ml <= n && !found; k += (ssize_t)strlen(env + k) + 1) {
			env[n] = '\0';
			found = strcmp(env + k, mark) == 0;
		}
		if (found) {   /* a zombie waits for its parent only */
			snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
			if ((fd = open(path, O_RDONLY)) >= 0) {
				ssize_t m = read(fd, st, sizeof(st) - 1);
				char *rp;

				close(fd);
				if (m > 0) {
					st[m] = '\0';
					if ((rp = strrchr(st, ')')) && rp[1] == ' ' && rp[2] == 'Z')
						found = false;
					else
						snprintf(who, size, "%.200s", st);
				}
			}
		}
	}
	closedir(d);
	return found;
}

/* A marked tree that keeps forking (each new process inherits the mark) is gone after one
 * call: children forked while a pass read /proc are found by the next. */
START_TEST(test_kill_marked_forking)
{
	char mark[64], who[512] = "";

	snprintf(mark, sizeof(mark), "NF_TEST_KILL_MARK=%ld", (long)getpid());
	for (int round = 0; round < 10; round++) {
		pid_t pid = fork();
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		size_t n;

		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			putenv(mark);
			setsid();
			execl("/bin/sh", "sh", "-c", "while :; do (sleep 30 &); done", (char *)NULL);
			_exit(127);
		}
		nanosleep(&ts, NULL);
		n = nf_proc_kill_marked(mark, SIGKILL, NULL, 0, NULL, 0);
		ck_assert_uint_ge(n, 1);
		waitpid(pid, NULL, 0);
		nanosleep(&ts, NULL);
		ck_assert_msg(!marked_alive(mark, who, sizeof(who)), "round %d: a marked process outlived the kill: %s",
			      round, who);
	}
}
END_TEST

START_TEST(test_errors)
{
	nf_runner *r = NULL;
	nf_job job = { .node = 5, .attempt = 1 };
	pid_t pgid = 1;

	ck_assert_int_eq(nf_runner_local_new(&r, NULL), 0);
	ck_assert_int_eq(r->ops->start(r, &job, &pgid), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "no command to run");
	ck_assert_int_eq(pgid, 0);

	job.command = "true";
	job.log_path = "/proc/nonexistent/x.log";
	ck_assert_int_lt(r->ops->start(r, &job, &pgid), 0);
	ck_assert_msg(strstr(nf_error_last(), "/proc/nonexistent") != NULL, "%s", nf_error_last());

	/* the log is created at the first byte: a folder in its place is reported with the
	 * result, and a job that writes nothing does not notice it */
	job.log_path = tmpdir;
	job.command = "echo x";
	ck_assert_int_eq(r->ops->start(r, &job, &pgid), 0);
	{
		nf_job_result res = wait_one(r);

		ck_assert(res.exited && res.exit_code == 0);
		ck_assert_int_eq(res.log_errno, EISDIR);
	}
	job.command = "true";
	ck_assert_int_eq(r->ops->start(r, &job, &pgid), 0);
	{
		nf_job_result res = wait_one(r);

		ck_assert(res.exited && res.exit_code == 0);
		ck_assert_int_eq(res.log_errno, 0);
	}

	ck_assert_int_eq(r->ops->signal(r, 5, SIGTERM), NF_ENOTFOUND);
	ck_assert_str_eq(nf_error_last(), "node 5 is not running");

	job.log_path = NULL;
	job.command = "sleep 100";
	ck_assert_int_eq(r->ops->start(r, &job, &pgid), 0);
	ck_assert_int_eq(r->ops->start(r, &job, &pgid), NF_EEXISTS);
	ck_assert_str_eq(nf_error_last(), "node 5 is already running");
	r->ops->free(r);
}
END_TEST

/* ---- the scheduler driving the real runner ---- */

#define RN 3
typedef struct real_run {
	nf_graph g;
	nf_node nodes[RN];
	nf_stage stages[RN];
	nf_run_opts opts[RN];         /* each stage's own (a parsed one may share the defaults') */
	uint32_t edge_dep[1], edge_user[1];
	const char *cmds[RN];
	char *logs[RN];
	int interrupts;              /* raise this many SIGINTs when the last node succeeds */
	nf_state final[RN];
	char reason[RN][96];
} real_run;

static int
real_prepare(void *ctx, const nf_node *node, int attempt, nf_job *job)
{
	real_run *rr = ctx;

	free(rr->logs[node->id]);
	rr->logs[node->id] = xasprintf("%s/logs/%s.%d.log", tmpdir, node->name, attempt);
	job->command = rr->cmds[node->id];
	job->cwd = tmpdir;
	job->log_path = rr->logs[node->id];
	return NF_PREP_SPAWN;
}

static void
real_on_state(void *ctx, const nf_node *node, nf_state st, int attempt, const nf_job_result *res,
	      const char *reason, pid_t pgid, int64_t late_ms)
{
	real_run *rr = ctx;

	(void)late_ms;
	/* the last node is a short sleep: by its end the others have set their traps */
	if (st == NF_ST_SUCCEEDED && node->id == rr->g.nnodes - 1)
		for (int i = 0; i < rr->interrupts; i++)
			raise(SIGINT);
	rr->final[node->id] = st;
	snprintf(rr->reason[node->id], sizeof(rr->reason[0]), "%s", reason ? reason : "");
}

/* n nodes with the given commands; node 1 needs node 0 when chain. */
static void
real_init(real_run *rr, size_t n, bool chain)
{
	static const char *names[RN] = { "a", "b", "c" };

	memset(rr, 0, sizeof(*rr));
	rr->g.nodes = rr->nodes;
	rr->g.nnodes = n;
	for (size_t i = 0; i < n; i++) {
		rr->nodes[i] = (nf_node){ .id = i, .stage = &rr->stages[i], .name = names[i], .crit = 1 };
		rr->stages[i].name = names[i];
		rr->stages[i].opts = &rr->opts[i];
		rr->stages[i].opts->cpus = 1;
		rr->stages[i].opts->grace_ms = 10000;
	}
	if (chain) {
		rr->edge_dep[0] = 0;
		rr->edge_user[0] = 1;
		rr->nodes[0].users = rr->edge_user;
		rr->nodes[0].nusers = 1;
		rr->nodes[0].crit = 2;
		rr->nodes[1].deps = rr->edge_dep;
		rr->nodes[1].ndeps = 1;
	}
}

static int
real_go(real_run *rr, int slots, bool keep_going, nf_run_status *st, int64_t *elapsed)
{
	nf_sched_opts opts = { .slots = slots, .keep_going = keep_going, .seed = 1 };
	nf_sched_hooks hooks = { .ctx = rr, .prepare = real_prepare, .on_state = real_on_state };
	nf_clock *c = nf_clock_system();
	nf_runner *r = NULL;
	nf_sched *s = NULL;
	int64_t t0 = c->now_ms(c);
	int err;

	ck_assert_int_eq(nf_runner_local_new(&r, c), 0);
	ck_assert_int_eq(nf_sched_new(&s, &rr->g, r, c, &opts, &hooks), 0);
	err = nf_sched_run(s, st);
	*elapsed = c->now_ms(c) - t0;
	nf_sched_free(s);
	r->ops->free(r);
	for (size_t i = 0; i < RN; i++)
		free(rr->logs[i]);
	return err;
}

/* A chain passes data through files in cwd; a stage ignoring SIGTERM is killed after its
 * timeout and grace while the other branch goes on (keep-going). */
START_TEST(test_sched_real)
{
	real_run rr;
	nf_run_status st;
	int64_t ms;
	char *out, *path;

	real_init(&rr, 3, true);
	rr.cmds[0] = "echo hello >a.out";
	rr.cmds[1] = "cat a.out >b.out";
	rr.cmds[2] = "trap '' TERM; sleep 30";
	rr.stages[2].opts->timeout_ms = 200;
	rr.stages[2].opts->grace_ms = 100;
	ck_assert_int_eq(real_go(&rr, 2, true, &st, &ms), 0);
	ck_assert_int_eq(st, NF_RUN_FAILED);
	ck_assert_int_eq(rr.final[0], NF_ST_SUCCEEDED);
	ck_assert_int_eq(rr.final[1], NF_ST_SUCCEEDED);
	ck_assert_int_eq(rr.final[2], NF_ST_TIMED_OUT);
	ck_assert_str_eq(rr.reason[2], "timed out after 200ms");
	ck_assert_int_ge(ms, 300);
	ck_assert_int_lt(ms, 5000);
	path = tpath("b.out");
	out = slurp(path);
	ck_assert_str_eq(out, "hello\n");
	free(out);
	free(path);
	path = tpath("logs");   /* the log folder was made */
	ck_assert_int_eq(access(path, F_OK), 0);
	free(path);
	path = tpath("logs/c.1.log");   /* c wrote nothing: no log */
	ck_assert_int_ne(access(path, F_OK), 0);
	free(path);
}
END_TEST

/* Ctrl-C: SIGTERM to every stage, SIGKILL after the grace to one that ignores it. */
START_TEST(test_sched_interrupt_real)
{
	real_run rr;
	nf_run_status st;
	int64_t ms;

	real_init(&rr, 3, false);
	rr.cmds[0] = "sleep 30";
	rr.cmds[1] = "trap '' TERM; sleep 30";
	rr.cmds[2] = "sleep 0.2";
	rr.stages[1].opts->grace_ms = 300;
	rr.interrupts = 1;
	ck_assert_int_eq(real_go(&rr, 3, false, &st, &ms), 0);
	ck_assert_int_eq(st, NF_RUN_CANCELLED);
	ck_assert_int_eq(rr.final[0], NF_ST_CANCELLED);
	ck_assert_int_eq(rr.final[1], NF_ST_CANCELLED);
	ck_assert_int_eq(rr.final[2], NF_ST_SUCCEEDED);
	ck_assert_int_ge(ms, 500);
	ck_assert_int_lt(ms, 5000);
	ck_assert_int_eq(nf_signals_take(), 0);
}
END_TEST

/* A second Ctrl-C kills at once, long before the grace. */
START_TEST(test_sched_double_interrupt_real)
{
	real_run rr;
	nf_run_status st;
	int64_t ms;

	real_init(&rr, 3, false);
	rr.cmds[0] = "trap '' TERM; sleep 30";
	rr.cmds[1] = "trap '' TERM; sleep 30";
	rr.cmds[2] = "sleep 0.2";
	rr.interrupts = 2;
	ck_assert_int_eq(real_go(&rr, 3, false, &st, &ms), 0);
	ck_assert_int_eq(st, NF_RUN_CANCELLED);
	ck_assert_int_lt(ms, 5000);
}
END_TEST

static Suite *
runner_suite(void)
{
	Suite *s = suite_create("runner");
	TCase *tc = tcase_create("local");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_log_and_exit);
	tcase_add_test(tc, test_killed_by_signal);
	tcase_add_test(tc, test_direct_exec);
	tcase_add_test(tc, test_direct_not_found);
	tcase_add_test(tc, test_no_output_no_log);
	tcase_add_test(tc, test_rusage);
	tcase_add_test(tc, test_rusage_own_peak);
	tcase_add_test(tc, test_no_spawner);
	tcase_add_test(tc, test_spawner_at_first_job);
	tcase_add_test(tc, test_spawner_lost);
	tcase_add_test(tc, test_deferred);
	tcase_add_test(tc, test_spawner_lost_held);
	tcase_add_test(tc, test_group_signal);
	tcase_add_test(tc, test_group_kill);
	tcase_add_test(tc, test_leftovers_killed);
	tcase_add_test(tc, test_free_kills);
	tcase_add_test(tc, test_parent_death);
	tcase_add_test(tc, test_cwd_env_stdin);
	tcase_add_test(tc, test_signal_state_reset);
	tcase_add_test(tc, test_signals_reset_some);
	tcase_add_test(tc, test_many_jobs);
	tcase_add_test(tc, test_deadline);
	tcase_add_test(tc, test_log_check);
	tcase_add_test(tc, test_exit_waits_for_the_loop);
	tcase_add_test(tc, test_interrupt);
	tcase_add_test(tc, test_procs_record);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_kill_marked_forking);
	tcase_add_test(tc, test_sched_real);
	tcase_add_test(tc, test_sched_interrupt_real);
	tcase_add_test(tc, test_sched_double_interrupt_real);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(runner_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
