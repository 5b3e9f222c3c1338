/* check_control.c: the control channel of a run whose executor is a process of its own
 * (src/run/control.c): nothing to send to before the executor opens it, the line a client
 * sends arrives whole, a leftover pipe without a reader (a killed executor's) is no channel,
 * the end removes it; and nf_proc_zombie (src/util/proc.c), by which recovery counts a
 * killed executor that init has not reaped yet as gone. */
#include "config.h"
#include "ntflow/run.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *
tmpdir(void)
{
	char tmpl[] = "/tmp/check_control.XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	return xstrdup(tmpl);
}

static void
rmtree(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

START_TEST(test_send_before_open_and_after_close)
{
	char *dir = tmpdir(), *path;
	int fd;

	ck_assert(!nf_run_control_available(dir, 3));
	ck_assert_int_eq(nf_run_control_send(dir, 3, "cancel", NULL), NF_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(nf_error_last(), "run 3 has no executor"));
	ck_assert_int_eq(nf_run_control_open(dir, 3, &fd), 0);
	ck_assert_int_ge(fd, 0);
	ck_assert(nf_run_control_available(dir, 3));
	ck_assert(!nf_run_control_available(dir, 4));
	nf_run_control_close(dir, 3, fd);
	path = nf_run_executor_path(dir, 3, "ctl");
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert(!nf_run_control_available(dir, 3));
	ck_assert_int_eq(nf_run_control_send(dir, 3, "cancel", NULL), NF_ENOTFOUND);
	free(path);
	rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_lines_arrive_whole)
{
	char *dir = tmpdir(), buf[256];
	ssize_t n;
	int fd;

	ck_assert_int_eq(nf_run_control_open(dir, 12, &fd), 0);
	ck_assert_int_eq(nf_run_control_send(dir, 12, "cancel-node", "tune[lr=0.05,l2=0]"), 0);
	ck_assert_int_eq(nf_run_control_send(dir, 12, "cancel", NULL), 0);
	n = read(fd, buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "cancel-node tune[lr=0.05,l2=0]\ncancel\n");
	/* nothing more, and no end of file while the executor holds it open */
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), -1);
	ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
	nf_run_control_close(dir, 12, fd);
	rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_leftover_pipe_is_no_channel)
{
	char *dir = tmpdir(), *sub = xasprintf("%s/executor", dir), *path = nf_run_executor_path(dir, 7, "ctl");
	char name[600];
	int fd;

	/* what a kill -9 leaves: the pipe, nobody reading it */
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert(!nf_run_control_available(dir, 7));
	ck_assert_int_eq(nf_run_control_send(dir, 7, "cancel", NULL), NF_ENOTFOUND);
	/* a new executor of a run with that id makes it afresh */
	ck_assert_int_eq(nf_run_control_open(dir, 7, &fd), 0);
	ck_assert(nf_run_control_available(dir, 7));
	/* a line longer than a pipe writes at once is refused, not cut */
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ck_assert_int_eq(nf_run_control_send(dir, 7, "retry-node", name), NF_EINVALID);
	nf_run_control_close(dir, 7, fd);
	free(path);
	free(sub);
	rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_zombie)
{
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	ck_assert(!nf_proc_zombie(getpid()));
	/* ended, not yet waited for: a zombie (it may take a moment to end) */
	for (int i = 0; i < 500 && !nf_proc_zombie(pid); i++)
		usleep(10000);
	ck_assert(nf_proc_zombie(pid));
	ck_assert_int_eq(kill(pid, 0), 0);   /* what made recovery think it alive */
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(!nf_proc_zombie(pid));
}
END_TEST

static Suite *
control_suite(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_send_before_open_and_after_close);
	tcase_add_test(tc, test_lines_arrive_whole);
	tcase_add_test(tc, test_leftover_pipe_is_no_channel);
	tcase_add_test(tc, test_zombie);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(control_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
