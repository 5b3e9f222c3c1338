/* cmd-run-bg.c: `ntflow run`'s executor as a process of its own, the dashboard its client:
 * detaching gives the prompt back while the run goes on, as tmux's client and server do.
 * The executor holds the workspace lock and is its stages' parent; the client reads the
 * store as `ntflow dash` does and acts through the run's control channel (control.c). */
#include "config.h"
#include "cmd-run-bg.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "ntflow/cmd.h"
#include "ntflow/store.h"
#include "ntflow/tui.h"

static volatile sig_atomic_t pending_sig;

static void
on_signal(int sig)
{
	pending_sig = sig;
}

int
nf_run_bg_fork(nf_run_bg *bg)
{
	int fds[2], devnull;

	memset(bg, 0, sizeof(*bg));
	bg->ready_fd = bg->ctl_fd = -1;
	if (pipe(fds) < 0)
		return nf_error_set_errno(NF_EIO, "cannot make a pipe");
	fflush(NULL);
	if ((bg->pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		return nf_error_set_errno(NF_EIO, "cannot start the run's process");
	}
	if (bg->pid > 0) {
		close(fds[1]);
		bg->ready_fd = fds[0];
		return 0;
	}
	bg->child = true;
	close(fds[0]);
	bg->ready_fd = fds[1];
	fcntl(bg->ready_fd, F_SETFD, FD_CLOEXEC);   /* no stage keeps the client waiting */
	setsid();
	/* Nothing of the caller's but the terminal: a pipe it inherited (a test harness's, a
	 * $(...) of a script) must see its end when the caller ends, not when the run does. */
	for (int fd = 3; fd < 1024; fd++)
		if (fd != bg->ready_fd)
			close(fd);
	if ((devnull = open("/dev/null", O_RDONLY)) >= 0) {
		dup2(devnull, STDIN_FILENO);
		if (devnull != STDIN_FILENO)
			close(devnull);
	}
	return 0;
}

int
nf_run_bg_started(nf_run_bg *bg, const char *dag_path, const char *state_override, int64_t run_id)
{
	char *log = NULL, *dir = NULL, buf[32];
	int fd, err, len;

	if ((err = nf_workspace_resolve(&bg->state_dir, dag_path, state_override)) < 0)
		return err;
	bg->run_id = run_id;
	dir = xasprintf("%s/executor", bg->state_dir);
	log = nf_run_executor_path(bg->state_dir, run_id, "log");
	if (nf_mkdir_p(dir, 0700) < 0 || (fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		err = nf_error_set_errno(NF_EIO, "cannot create '%s'", log);
		goto done;
	}
	fflush(NULL);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	if ((err = nf_run_control_open(bg->state_dir, run_id, &bg->ctl_fd)) < 0)
		nf_cmd_error("no control channel: %s", nf_error_last());
	len = snprintf(buf, sizeof(buf), "%lld\n", (long long)run_id);
	if (write(bg->ready_fd, buf, (size_t)len) != len)
		nf_cmd_eprintf("ntflow: its client went away\n");
	close(bg->ready_fd);
	bg->ready_fd = -1;
	err = 0;
done:
	free(dir);
	free(log);
	return err;
}

/* A command of a client the run refused (retry of a stage that has not failed): the
 * executor's log says why. */
static void
on_control_error(void *ctx, const char *msg)
{
	(void)ctx;
	fflush(stdout);   /* the progress lines before it, when both go to the executor's log */
	nf_cmd_error("control: %s", msg);
}

void
nf_run_bg_tick(nf_run_bg *bg, nf_run_ctl *ctl)
{
	static bool woken;

	if (bg->ctl_fd < 0)
		return;
	if (!woken) {   /* a line written wakes the loop at once */
		nf_run_ctl_wake_fd(ctl, bg->ctl_fd);
		woken = true;
	}
	nf_run_control_read(bg->ctl_fd, ctl, on_control_error, NULL);
}

void
nf_run_bg_end(nf_run_bg *bg)
{
	if (bg->state_dir)
		nf_run_control_close(bg->state_dir, bg->run_id, bg->ctl_fd);
	bg->ctl_fd = -1;
	if (bg->ready_fd >= 0)
		close(bg->ready_fd);
	bg->ready_fd = -1;
	free(bg->state_dir);
	bg->state_dir = NULL;
}

int
nf_run_bg_exit_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return NF_EXIT_FAILED;
}

int
nf_run_bg_wait_start(nf_run_bg *bg, int *rc)
{
	struct sigaction sa, old_int, old_term;
	char buf[32];
	size_t len = 0;
	ssize_t n;
	int st, ret = 0;

	/* The executor is in a session of its own: a Ctrl-C while it waits for the lock or
	 * plans reaches it through us. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	for (;;) {
		n = read(bg->ready_fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR) {
			if (pending_sig)
				kill(bg->pid, pending_sig);
			pending_sig = 0;
			continue;
		}
		if (n <= 0 || (len += (size_t)n) >= sizeof(buf) - 1 || memchr(buf, '\n', len))
			break;
	}
	buf[len] = '\0';
	close(bg->ready_fd);
	bg->ready_fd = -1;
	if (len && strchr(buf, '\n')) {
		bg->run_id = strtoll(buf, NULL, 10);
		ret = 1;
	} else {
		while (waitpid(bg->pid, &st, 0) < 0) {
			if (errno != EINTR) {
				st = 0;
				break;
			}
			if (pending_sig)
				kill(bg->pid, pending_sig);
			pending_sig = 0;
		}
		*rc = nf_run_bg_exit_code(st);
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return ret;
}

/* The lines the executor said to itself that concern the user (warnings, errors), to
 * stderr once the screen is gone: they would have been printed there without it. */
static void
relay_messages(const char *state_dir, int64_t run_id)
{
	char *path = nf_run_executor_path(state_dir, run_id, "log");
	FILE *f = fopen(path, "r");
	char line[4096];

	free(path);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "ntflow: ", 8) == 0)
			fputs(line, stderr);
	fclose(f);
}

static void
print_detached(const char *state_dir, int64_t run_id, pid_t pid, bool json)
{
	char *log = nf_run_executor_path(state_dir, run_id, "log");

	if (json) {
		cJSON *o = cJSON_CreateObject();
		char *s;

		cJSON_AddStringToObject(o, "event", "detached");
		cJSON_AddNumberToObject(o, "run_id", (double)run_id);
		cJSON_AddNumberToObject(o, "pid", (double)pid);
		cJSON_AddStringToObject(o, "log", log);
		s = nf_json_print(o, false);
		printf("%s\n", s);
		free(s);
		cJSON_Delete(o);
	} else {
		printf("ntflow: detached; run %lld goes on in the background (pid %ld)\n"
		       "  watch it:   ntflow dash %lld\n"
		       "  its output: %s\n", (long long)run_id, (long)pid, (long long)run_id, log);
	}
	fflush(stdout);
	free(log);
}

int
nf_run_bg_detached(nf_run_bg *bg, const char *dag_path, const char *state_override, bool json)
{
	char *dir = NULL;

	if (nf_workspace_resolve(&dir, dag_path, state_override) < 0) {
		nf_cmd_error("%s", nf_error_last());
		return NF_EXIT_FAILED;
	}
	print_detached(dir, bg->run_id, bg->pid, json);
	free(dir);
	return NF_EXIT_OK;
}

int
nf_run_bg_attach(nf_run_bg *bg, const char *dag_path, const char *state_override)
{
	nf_tui_opts opts;
	nf_tui *tui = NULL;
	char *dir = NULL;
	int wstatus = 0, rc, err;

	if (nf_workspace_resolve(&dir, dag_path, state_override) < 0) {
		nf_cmd_error("%s", nf_error_last());
		return NF_EXIT_FAILED;
	}
	memset(&opts, 0, sizeof(opts));
	opts.state_dir = dir;
	opts.run_id = bg->run_id;
	opts.executor = bg->pid;
	if ((err = nf_tui_new(&tui, &opts)) < 0) {
		/* No screen after all: the run goes on, the command waits for it. */
		nf_cmd_eprintf("ntflow: no dashboard (%s); run %lld goes on, its output in %s/executor/%lld.log\n",
			nf_error_last(), (long long)bg->run_id, dir, (long long)bg->run_id);
		while (waitpid(bg->pid, &wstatus, 0) < 0 && errno == EINTR)
			;
		free(dir);
		return nf_run_bg_exit_code(wstatus);
	}
	err = nf_tui_loop(tui);
	nf_tui_end(tui);
	if (nf_tui_detached(tui)) {
		print_detached(dir, bg->run_id, bg->pid, false);
		rc = NF_EXIT_OK;
	} else if (nf_tui_executor_status(tui, &wstatus)) {
		rc = nf_run_bg_exit_code(wstatus);
		nf_tui_print_summary(tui, stdout);
		printf("next:");
		if (rc == NF_EXIT_FAILED)
			printf(" ntflow show %lld (which stage failed, and its log);", (long long)bg->run_id);
		printf(" ntflow dash (the dashboard)\n");
		fflush(stdout);
		relay_messages(dir, bg->run_id);
	} else {
		/* The terminal went away (SIGHUP) or the screen failed: the run goes on. */
		if (err < 0 && err != NF_EINTR)
			nf_cmd_error("%s", nf_error_last());
		rc = NF_EXIT_OK;
	}
	nf_tui_free(tui);
	free(dir);
	return rc;
}
