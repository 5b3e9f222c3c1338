/* check_lock.c: unit tests of the workspace write lock (src/store/lock.c): the holder file
 * while it is held and gone after, another process refused with --no-wait naming the holder,
 * giving up after a timeout, waiting until the holder lets go, the kernel releasing it when
 * the holder is killed, a process refused at once instead of waiting for itself, and an
 * interrupted wait; waiters served first come, first served, a dead waiter's ticket holding
 * nobody back. Other processes are forked children; they report through their exit
 * status and a pipe. */
#include "config.h"
#include "ntflow/store.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[64];

static void
tmp_setup(void)
{
	strcpy(tmpdir, "/tmp/check_lock.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
tmp_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
}

static char *
holder_text(void)
{
	char *path = xasprintf("%s/lock.holder", tmpdir), *text = NULL;
	size_t len;

	if (nf_read_file(&text, &len, path, 0) < 0)
		text = NULL;
	free(path);
	return text;
}

/* Exit statuses of the children. */
enum { CHILD_OK = 0, CHILD_BUSY = 10, CHILD_INTR = 11, CHILD_OTHER = 12, CHILD_BADMSG = 13 };

/* Takes the lock in a child with opts; exits CHILD_OK holding it for a moment, else the
 * code; when want is set, the message must contain it. */
static pid_t
child_lock(const nf_wslock_opts *opts, const char *want)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		nf_wslock *l = NULL;
		int err = nf_workspace_lock(&l, tmpdir, opts);

		if (err == 0) {
			nf_workspace_unlock(l);
			_exit(CHILD_OK);
		}
		if (want && !strstr(nf_error_last(), want)) {
			fprintf(stderr, "message '%s' lacks '%s'\n", nf_error_last(), want);
			_exit(CHILD_BADMSG);
		}
		_exit(err == NF_EBUSY ? CHILD_BUSY : err == NF_EINTR ? CHILD_INTR : CHILD_OTHER);
	}
	return pid;
}

static int
child_status(pid_t pid)
{
	int st;

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st), "child died by a signal");
	return WEXITSTATUS(st);
}

START_TEST(test_holder_file)
{
	nf_wslock *l = NULL;
	nf_wslock_opts o = { .what = "ntflow cache gc" };
	char *text, want[64];

	ck_assert_int_eq(nf_workspace_lock(&l, tmpdir, &o), 0);
	text = holder_text();
	ck_assert_ptr_nonnull(text);
	snprintf(want, sizeof(want), "pid %ld\n", (long)getpid());
	ck_assert_ptr_nonnull(strstr(text, want));
	ck_assert_ptr_nonnull(strstr(text, "what ntflow cache gc\n"));
	ck_assert_ptr_null(strstr(text, "run "));
	free(text);
	ck_assert_int_eq(nf_workspace_lock_set_run(l, 7), 0);
	text = holder_text();
	ck_assert_ptr_nonnull(strstr(text, "run 7\n"));
	free(text);
	nf_workspace_unlock(l);
	ck_assert_ptr_null(holder_text());
	/* The lock file itself stays: waiters hold it open. */
	{
		char *p = xasprintf("%s/lock", tmpdir);
		struct stat sb;

		ck_assert_int_eq(stat(p, &sb), 0);
		free(p);
	}
	nf_workspace_unlock(NULL);
}
END_TEST

START_TEST(test_missing_workspace)
{
	nf_wslock *l = NULL;
	char *dir = xasprintf("%s/nope", tmpdir);

	ck_assert_int_eq(nf_workspace_lock(&l, dir, NULL), NF_ENOTFOUND);
	ck_assert_ptr_null(l);
	free(dir);
}
END_TEST

/* A sibling of the waiters (their ancestor would be refused as a deadlock): a process that
 * takes the lock as `what` (as run run_id when > 0), says so, and holds it until released. */
typedef struct holder {
	pid_t pid;
	int release_fd, ready_fd;
} holder;

/* A child that takes the lock (waiting for it if need be) and holds it until released; the
 * parent hears that it has it with holder_got. */
static void
holder_spawn(holder *h, const char *what, int64_t run_id)
{
	int ready[2], release[2];
	char c;

	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(release), 0);
	h->pid = fork();
	ck_assert_int_ge(h->pid, 0);
	if (h->pid == 0) {
		nf_wslock_opts o = { .what = what };
		nf_wslock *l = NULL;

		close(ready[0]);
		close(release[1]);
		if (nf_workspace_lock(&l, tmpdir, &o) < 0 || (run_id > 0 && nf_workspace_lock_set_run(l, run_id) < 0))
			_exit(CHILD_OTHER);
		c = 'h';
		if (write(ready[1], &c, 1) != 1 || read(release[0], &c, 1) != 1)
			_exit(CHILD_OTHER);
		nf_workspace_unlock(l);
		_exit(CHILD_OK);
	}
	close(ready[1]);
	close(release[0]);
	h->ready_fd = ready[0];
	h->release_fd = release[1];
}

/* Waits until the holder has the lock. */
static void
holder_got(holder *h)
{
	char c;

	ck_assert_int_eq(read(h->ready_fd, &c, 1), 1);
	close(h->ready_fd);
	h->ready_fd = -1;
}

static void
holder_start(holder *h, const char *what, int64_t run_id)
{
	holder_spawn(h, what, run_id);
	holder_got(h);
}

static void
holder_release(holder *h)
{
	ck_assert_int_eq(write(h->release_fd, "r", 1), 1);
	close(h->release_fd);
	ck_assert_int_eq(child_status(h->pid), CHILD_OK);
}

START_TEST(test_no_wait_names_holder)
{
	nf_wslock_opts other = { .no_wait = true };
	holder h;
	char want[96];

	holder_start(&h, "ntflow run p.dag", 12);
	snprintf(want, sizeof(want), "run 12 (pid %ld, started ", (long)h.pid);
	ck_assert_int_eq(child_status(child_lock(&other, want)), CHILD_BUSY);
	holder_release(&h);
	/* Before the run has an id, its command names it. */
	holder_start(&h, "ntflow run p.dag", 0);
	snprintf(want, sizeof(want), "'ntflow run p.dag' (pid %ld, started ", (long)h.pid);
	ck_assert_int_eq(child_status(child_lock(&other, want)), CHILD_BUSY);
	holder_release(&h);
	/* Free: it is had at once. */
	ck_assert_int_eq(child_status(child_lock(&other, NULL)), CHILD_OK);
}
END_TEST

START_TEST(test_timeout)
{
	nf_wslock_opts other = { .timeout_ms = 50 };
	holder h;

	holder_start(&h, "ntflow cache gc", 0);
	ck_assert_int_eq(child_status(child_lock(&other, "gave up after waiting")), CHILD_BUSY);
	holder_release(&h);
}
END_TEST

static pid_t holder_pid;

static void
tell_pipe(void *ctx, const nf_wslock_holder *h, const char *message)
{
	int fd = *(int *)ctx;
	char c = h->pid == holder_pid && h->run_id == 3 && strstr(message, "waiting for run 3 ") == message ? 'w' : '?';

	if (write(fd, &c, 1) != 1)
		_exit(CHILD_OTHER);
}

/* A child that waits for the lock; returns once it has said so (through a pipe). */
static pid_t
waiting_child(pid_t holder_of_lock)
{
	nf_wslock_opts o = { .on_wait = tell_pipe };
	int fds[2];
	pid_t pid;
	char c = 0;

	ck_assert_int_eq(pipe(fds), 0);
	holder_pid = holder_of_lock;
	o.ctx = &fds[1];
	pid = child_lock(&o, NULL);
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &c, 1), 1);
	ck_assert_int_eq(c, 'w');
	close(fds[0]);
	return pid;
}

START_TEST(test_waits_until_released)
{
	holder h;
	pid_t pid;

	holder_start(&h, "ntflow run p.dag", 3);
	pid = waiting_child(h.pid);
	holder_release(&h);
	ck_assert_int_eq(child_status(pid), CHILD_OK);
}
END_TEST

START_TEST(test_killed_holder_releases)
{
	nf_wslock_opts other = { .no_wait = true };
	holder h;
	char *text;

	holder_start(&h, "ntflow run p.dag", 3);
	ck_assert_int_eq(child_status(child_lock(&other, NULL)), CHILD_BUSY);
	ck_assert_int_eq(kill(h.pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(h.pid, NULL, 0), h.pid);
	close(h.release_fd);
	/* Its holder file is left behind, but the kernel released the lock. */
	text = holder_text();
	ck_assert_ptr_nonnull(text);
	free(text);
	ck_assert_int_eq(child_status(child_lock(&other, NULL)), CHILD_OK);
}
END_TEST

START_TEST(test_self_is_refused)
{
	nf_wslock *l = NULL, *again = NULL;

	ck_assert_int_eq(nf_workspace_lock(&l, tmpdir, NULL), 0);
	/* Waiting for itself would never end: refused at once, even without no_wait. */
	ck_assert_int_eq(nf_workspace_lock(&again, tmpdir, NULL), NF_EBUSY);
	ck_assert_ptr_nonnull(strstr(nf_error_last(), "cannot wait for itself"));
	ck_assert_ptr_null(again);
	/* So is a descendant, such as a stage's command. */
	ck_assert_int_eq(child_status(child_lock(NULL, "runs inside it")), CHILD_BUSY);
	nf_workspace_unlock(l);
}
END_TEST

START_TEST(test_interrupted_wait)
{
	holder h;
	pid_t pid;

	holder_start(&h, "ntflow run p.dag", 3);
	pid = waiting_child(h.pid);
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	ck_assert_int_eq(child_status(pid), CHILD_INTR);
	holder_release(&h);
}
END_TEST

/* The waiters' tickets in lock.wait (their count). */
static int
tickets(void)
{
	char *path = xasprintf("%s/lock.wait", tmpdir);
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	free(path);
	return n;
}

/* First come, first served: a newcomer finds the lock free the moment its holder lets go,
 * but a process was waiting for it first, so the newcomer is refused (--no-wait) and the
 * waiter gets it; no ticket is left after. */
START_TEST(test_waiters_first_come)
{
	nf_wslock_opts other = { .no_wait = true };
	holder h, w;

	holder_start(&h, "ntflow run p.dag", 3);
	holder_spawn(&w, "ntflow registry rollback", 0);   /* waits, and holds once it has it */
	for (int i = 0; i < 300 && tickets() == 0; i++)
		usleep(10 * 1000);
	ck_assert_int_eq(tickets(), 1);
	holder_release(&h);
	/* The waiter has its ticket or the lock: either way the newcomer does not get in. */
	ck_assert_int_eq(child_status(child_lock(&other, NULL)), CHILD_BUSY);
	holder_got(&w);
	holder_release(&w);
	ck_assert_int_eq(tickets(), 0);
	ck_assert_int_eq(child_status(child_lock(&other, NULL)), CHILD_OK);
}
END_TEST

/* The path of the only ticket in lock.wait, or NULL. Caller frees. */
static char *
only_ticket(void)
{
	char *path = xasprintf("%s/lock.wait", tmpdir), *found = NULL;
	DIR *d = opendir(path);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' && !found)
			found = xasprintf("%s/%s", path, e->d_name);
	if (d)
		closedir(d);
	free(path);
	return found;
}

/* A waiter that stopped polling (^Z, a debugger) holds nobody back once its ticket has not
 * been touched for a while (here made old by hand), and queues again when it goes on. */
START_TEST(test_stopped_waiter)
{
	nf_wslock_opts other = { .no_wait = true };
	struct timespec old[2];
	holder h;
	pid_t pid;
	char *ticket = NULL;

	holder_start(&h, "ntflow run p.dag", 3);
	pid = waiting_child(h.pid);
	for (int i = 0; i < 300 && !(ticket = only_ticket()); i++)
		usleep(10 * 1000);
	ck_assert_ptr_nonnull(ticket);
	ck_assert_int_eq(kill(pid, SIGSTOP), 0);
	holder_release(&h);
	/* Its ticket still fresh: nobody holds the lock, and the refusal says who is owed it. */
	ck_assert_int_eq(child_status(child_lock(&other, "commands that asked first are waiting for the workspace"
						 " lock in")), CHILD_BUSY);
	clock_gettime(CLOCK_REALTIME, &old[0]);
	old[0].tv_sec -= 60;
	old[1] = old[0];
	ck_assert_int_eq(utimensat(AT_FDCWD, ticket, old, 0), 0);
	ck_assert_int_eq(child_status(child_lock(&other, NULL)), CHILD_OK);
	ck_assert_int_eq(kill(pid, SIGCONT), 0);
	ck_assert_int_eq(child_status(pid), CHILD_OK);
	ck_assert_int_eq(tickets(), 0);
	free(ticket);
}
END_TEST

/* A waiter killed in its wait leaves its ticket: it holds nobody back, and goes. */
START_TEST(test_dead_waiter_ticket)
{
	char *dir = xasprintf("%s/lock.wait", tmpdir), *ticket;
	nf_wslock_opts other = { .no_wait = true };
	pid_t dead = fork();
	int fd;

	ck_assert_int_ge(dead, 0);
	if (dead == 0)
		_exit(0);
	ck_assert_int_eq(child_status(dead), 0);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ticket = xasprintf("%s/%020lld-%ld-%lld", dir, 1LL, (long)dead, 12345LL);
	ck_assert_int_ge(fd = open(ticket, O_WRONLY | O_CREAT, 0600), 0);
	close(fd);
	ck_assert_int_eq(tickets(), 1);
	ck_assert_int_eq(child_status(child_lock(&other, NULL)), CHILD_OK);
	ck_assert_int_eq(tickets(), 0);
	free(ticket);
	free(dir);
}
END_TEST

static Suite *
lock_suite(void)
{
	Suite *s = suite_create("lock");
	TCase *tc = tcase_create("lock");

	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_holder_file);
	tcase_add_test(tc, test_missing_workspace);
	tcase_add_test(tc, test_no_wait_names_holder);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_waits_until_released);
	tcase_add_test(tc, test_killed_holder_releases);
	tcase_add_test(tc, test_self_is_refused);
	tcase_add_test(tc, test_interrupted_wait);
	tcase_add_test(tc, test_waiters_first_come);
	tcase_add_test(tc, test_dead_waiter_ticket);
	tcase_add_test(tc, test_stopped_waiter);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(lock_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
