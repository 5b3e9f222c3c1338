/* runner-slurm-submit.c: how the Slurm runner hands attempts to sbatch. Each attempt gets a
 * batch script under the run's slurm folder that exports its environment line by line
 * (sbatch --export cuts values at commas, and --export=NONE gives the job root's login
 * environment), cds to the workspace or fails (a missing --chdir silently runs a job in
 * /tmp), and execs the command through /bin/sh -c. The log's folder is made first (a
 * missing --output folder fails the job before it runs, 0:53). Attempts of one stage queued
 * in the same turn go in one array job whose tasks pick their script by
 * SLURM_ARRAY_TASK_ID. Also the blocking exec of quick Slurm commands. */
#include "config.h"
#include "slurm-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

void
nf_slurm__quote(nf_buf *b, const char *s)
{
	nf_buf_putc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			nf_buf_puts(b, "'\\''");
		else
			nf_buf_putc(b, *s);
	}
	nf_buf_putc(b, '\'');
}

void
nf_slurm__first_line(char *out, size_t cap, const char *text)
{
	size_t len;

	while (text && (*text == '\n' || *text == ' '))
		text++;
	len = text ? strcspn(text, "\n") : 0;
	if (len >= cap)
		len = cap - 1;
	if (len)
		memcpy(out, text, len);
	out[len] = '\0';
}

int
nf_slurm_exec(int *status, char **out, char **err, char *const argv[])
{
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 }, rc = 0, ws = 0;
	posix_spawn_file_actions_t fa;
	nf_buf bo = NF_BUF_INIT, be = NF_BUF_INIT;
	struct pollfd pf[2];
	int64_t deadline;
	bool killed = false;
	pid_t pid;

	*status = 127;
	if (out)
		*out = NULL;
	if (err)
		*err = NULL;
	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
		rc = nf_error_set_errno(NF_ERROR, "pipe");
		goto done;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;
	if (rc != 0) {
		errno = rc;
		nf_buf_printf(&be, "cannot run %s: %s", argv[0], strerror(rc));
		rc = 0;
		goto done;
	}
	pf[0] = (struct pollfd){ po[0], POLLIN, 0 };
	pf[1] = (struct pollfd){ pe[0], POLLIN, 0 };
	deadline = nf_now_monotonic_ms() + NF_SLURM_EXEC_TIMEOUT_MS;
	while (pf[0].fd >= 0 || pf[1].fd >= 0) {
		char buf[4096];
		int64_t left = deadline - nf_now_monotonic_ms();
		int pr;

		/* A controller that does not answer makes squeue retry for 18 s and sbatch for
		 * 9 s: the loop waits no longer than the deadline. */
		if (left <= 0) {
			(void)kill(pid, SIGKILL);
			killed = true;
			break;
		}
		if ((pr = poll(pf, 2, (int)left)) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pr == 0)
			continue;
		for (int i = 0; i < 2; i++) {
			ssize_t r;

			if (pf[i].fd < 0 || !pf[i].revents)
				continue;
			r = read(pf[i].fd, buf, sizeof(buf));
			if (r > 0)
				nf_buf_add(i == 0 ? &bo : &be, buf, (size_t)r);
			else if (r == 0 || errno != EINTR)
				pf[i].fd = -1;
		}
	}
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	if (killed) {
		nf_buf_reset(&be);
		nf_buf_printf(&be, "%s did not answer within %ds (is the Slurm controller up?)", argv[0],
			      NF_SLURM_EXEC_TIMEOUT_MS / 1000);
	}
	/* posix_spawnp of a missing file: the child exits 127 without a word. */
	if (*status == 127 && !be.len)
		nf_buf_printf(&be, "cannot run %s: not found in PATH", argv[0]);
done:
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	if (out)
		*out = xstrdup(nf_buf_cstr(&bo));
	if (err)
		*err = xstrdup(nf_buf_cstr(&be));
	nf_buf_release(&bo);
	nf_buf_release(&be);
	return rc;
}

/* A valid shell name (the rest of environ cannot be exported by sh). */
static bool
env_name_ok(const char *kv)
{
	const char *eq = strchr(kv, '=');

	if (!eq || eq == kv || (kv[0] >= '0' && kv[0] <= '9'))
		return false;
	for (const char *p = kv; p < eq; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	/* Slurm's own variables are the job's, set by slurmstepd. NTFLOW_RUNNER marks the
	 * local processes of a run, which a crashed or ending run's cleanup kills wherever they
	 * went: a Slurm job is Slurm's to stop (scancel), even on a node that is this host. */
	return strncmp(kv, "SLURM_", 6) != 0 && strncmp(kv, "NTFLOW_RUNNER=", 14) != 0;
}

/* The attempt's own script: its environment, its folder, its command. */
static int
write_task_script(slurm_runner *sr, sjob *j, char **path_out)
{
	nf_buf b = NF_BUF_INIT;
	char *path = xasprintf("%s/n%zu.a%d.sh", sr->o.dir, j->node, j->attempt);
	int err;

	nf_buf_printf(&b, "#!/bin/sh\n# ntflow: run %lld, %s%s%s, attempt %d\n", (long long)sr->o.run_id, j->stage,
		      j->instance ? "@" : "", j->instance ? j->instance : "", j->attempt);
	for (char **e = j->env; e && *e; e++) {
		const char *eq;

		if (!env_name_ok(*e))
			continue;
		eq = strchr(*e, '=');
		nf_buf_printf(&b, "export %.*s=", (int)(eq - *e), *e);
		nf_slurm__quote(&b, eq + 1);
		nf_buf_putc(&b, '\n');
	}
	nf_buf_puts(&b, "cd ");
	nf_slurm__quote(&b, j->cwd);
	nf_buf_puts(&b, " || exit 1\n");
	if (j->timeout_ms > 0) {
		/* The stage's timeout counts from here, not from the submission: timeout(1) sends
		 * SIGTERM to the command's process group, SIGKILL after the grace, and exits 124. */
		nf_buf_printf(&b, "command -v timeout >/dev/null 2>&1 && exec timeout -k %lld.%03lds %lld.%03lds /bin/sh -c ",
			      (long long)(j->grace_ms > 0 ? j->grace_ms : 1000) / 1000,
			      (long)((j->grace_ms > 0 ? j->grace_ms : 1000) % 1000),
			      (long long)j->timeout_ms / 1000, (long)(j->timeout_ms % 1000));
		nf_slurm__quote(&b, j->command);
		nf_buf_putc(&b, '\n');
	}
	nf_buf_puts(&b, "exec /bin/sh -c ");
	nf_slurm__quote(&b, j->command);
	nf_buf_putc(&b, '\n');
	err = nf_write_file_atomic(path, nf_buf_cstr(&b), b.len);
	nf_buf_release(&b);
	if (err == 0)
		err = chmod(path, 0700) < 0 ? nf_error_set_errno(NF_EIO, "cannot chmod '%s'", path) : 0;
	if (err < 0)
		free(path);
	else
		*path_out = path;
	return err;
}

int
nf_slurm__make_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int err;

	if (!slash || slash == path)
		return 0;
	dir = xstrndup(path, (size_t)(slash - path));
	err = nf_mkdir_p(dir, 0700);
	free(dir);
	return err;
}

/* Whether two jobs can share an array: same stage, attempt, folder and sbatch options. */
static bool
same_group(const sjob *a, const sjob *b)
{
	size_t i;

	if (strcmp(a->stage, b->stage) != 0 || a->attempt != b->attempt || strcmp(a->cwd, b->cwd) != 0)
		return false;
	for (i = 0; a->args[i] && b->args[i]; i++)
		if (strcmp(a->args[i], b->args[i]) != 0)
			return false;
	return !a->args[i] && !b->args[i];
}

static void
fail_group(slurm_runner *sr, sjob **g, size_t k, const char *fmt, const char *what)
{
	char msg[240];

	snprintf(msg, sizeof(msg), fmt, what);
	for (size_t i = 0; i < k; i++)
		nf_slurm__finish(sr, g[i], NF_SLURM_FAILED, msg, NULL);
}

/* One sbatch call for the k jobs of g (k > 1: an array). */
static void
submit_group(slurm_runner *sr, sjob **g, size_t k)
{
	nf_buf wrap = NF_BUF_INIT;
	char **argv = NULL, *script = NULL, *out = NULL, *err = NULL, *opt_out = NULL, *opt_err = NULL;
	char *opt_name = NULL, *opt_dir = NULL, *opt_array = NULL, line[200];
	size_t n = 0, cap = 0;
	uint64_t id = 0;
	int status = 0;

	if (nf_mkdir_p(sr->o.dir, 0700) < 0) {
		fail_group(sr, g, k, "cannot make the Slurm script folder: %s", nf_error_last());
		return;
	}
	for (size_t i = 0; i < k; i++) {
		char *task = NULL;

		/* The log's folder and the workspace must exist before the job starts. */
		if (nf_slurm__make_parent(g[i]->log_path) < 0 || write_task_script(sr, g[i], &task) < 0) {
			fail_group(sr, g, k, "cannot prepare the Slurm job: %s", nf_error_last());
			goto done;
		}
		if (k == 1) {
			script = task;
			break;
		}
		if (i == 0)
			nf_buf_puts(&wrap, "#!/bin/sh\n# ntflow: an array job; each task runs its attempt's script\n"
				    "case \"$SLURM_ARRAY_TASK_ID\" in\n");
		nf_buf_printf(&wrap, "%zu) exec /bin/sh ", i);
		nf_slurm__quote(&wrap, task);
		nf_buf_puts(&wrap, " >>");
		nf_slurm__quote(&wrap, g[i]->log_path);
		nf_buf_puts(&wrap, " 2>&1 ;;\n");
		free(task);
	}
	nf_slurm_job_name(g[0]->name, sizeof(g[0]->name), sr->o.run_id, g[0]->stage, k == 1 ? g[0]->instance : NULL);
	opt_name = xasprintf("--job-name=%s", g[0]->name);
	opt_dir = xasprintf("--chdir=%s", g[0]->root);   /* the script cds on to a stage's dir */
	NF_PUSH(argv, n, cap, (char *)"sbatch");
	NF_PUSH(argv, n, cap, (char *)"--parsable");
	NF_PUSH(argv, n, cap, opt_name);
	NF_PUSH(argv, n, cap, opt_dir);
	if (k == 1) {
		opt_out = xasprintf("--output=%s", g[0]->log_path);
		opt_err = xasprintf("--error=%s", g[0]->log_path);
	} else {
		unsigned grp = ++sr->groups;

		nf_buf_puts(&wrap, "*) echo \"ntflow: no task $SLURM_ARRAY_TASK_ID in this array\" >&2; exit 1 ;;\nesac\n");
		script = xasprintf("%s/array%u.a%d.sh", sr->o.dir, grp, g[0]->attempt);
		if (nf_write_file_atomic(script, nf_buf_cstr(&wrap), wrap.len) < 0) {
			fail_group(sr, g, k, "cannot prepare the Slurm job: %s", nf_error_last());
			goto done;
		}
		/* Slurm's own messages about a task (a time limit) go to a file of the task's,
		 * added to its log when it ends. */
		opt_out = xasprintf("--output=%s/array%u-%%a.out", sr->o.dir, grp);
		opt_err = xasprintf("--error=%s/array%u-%%a.out", sr->o.dir, grp);
		opt_array = xasprintf("--array=0-%zu", k - 1);
		for (size_t i = 0; i < k; i++)
			g[i]->slurm_out = xasprintf("%s/array%u-%zu.out", sr->o.dir, grp, i);
		NF_PUSH(argv, n, cap, opt_array);
	}
	NF_PUSH(argv, n, cap, opt_out);
	NF_PUSH(argv, n, cap, opt_err);
	for (char **a = g[0]->args; *a; a++)
		NF_PUSH(argv, n, cap, *a);
	NF_PUSH(argv, n, cap, script);
	NF_PUSH(argv, n, cap, NULL);

	if (nf_slurm_exec(&status, &out, &err, argv) < 0 || status != 0 || nf_slurm_parse_sbatch(&id, out) < 0) {
		nf_slurm__first_line(line, sizeof(line), err && *err ? err : out && *out ? out : nf_error_last());
		fail_group(sr, g, k, "sbatch failed: %s", line);
		goto done;
	}
	/* A crash after Slurm took the job and before the run recorded it: the next run must
	 * find the job by its name (nf_run__slurm_open). */
	if (nf_test_hook("slurm-after-sbatch"))
		raise(SIGKILL);   /* the tests' kill -9 at the worst moment */
	for (size_t i = 0; i < k; i++) {
		sjob *j = g[i];

		j->job_id = id;
		j->raw_id = k == 1 ? id : 0;
		j->task = k == 1 ? -1 : (long)i;
		if (i > 0)
			memcpy(j->name, g[0]->name, sizeof(j->name));
		j->st = SJ_SUBMITTED;
		sr->queued--;
		sr->live++;
		snprintf(j->state, sizeof(j->state), "PENDING");
		if (sr->o.hooks.on_submit)
			sr->o.hooks.on_submit(sr->o.hooks.ctx, j->node, j->attempt, k == 1 ? id : 0, k == 1 ? 0 : id, j->task,
					      nf_now_realtime_ms(), j->name);
	}
done:
	nf_buf_release(&wrap);
	free(argv);
	free(script);
	free(out);
	free(err);
	free(opt_out);
	free(opt_err);
	free(opt_name);
	free(opt_dir);
	free(opt_array);
}

void
nf_slurm__submit_some(slurm_runner *sr)
{
	int calls = 0, burst = sr->o.submit_burst > 0 ? sr->o.submit_burst : 16;
	sjob **g = NULL;
	size_t gcap = 0;

	for (size_t i = 0; i < sr->njobs && calls < burst && sr->queued; i++) {
		sjob *first = sr->jobs[i];
		size_t k = 0;

		if (first->st != SJ_QUEUED)
			continue;
		for (size_t m = i; m < sr->njobs; m++)
			if (sr->jobs[m]->st == SJ_QUEUED && same_group(first, sr->jobs[m]))
				NF_PUSH(g, k, gcap, sr->jobs[m]);
		submit_group(sr, g, k);
		calls++;
	}
	free(g);
}
