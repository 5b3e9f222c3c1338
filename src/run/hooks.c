/* hooks.c: the pipeline's hooks (on_success, on_failure, on_gated, on_promote, on_alert):
 * shell commands run after the event, in the project root, with the event's facts in
 * NTFLOW_* environment variables and as JSON on standard input, under a timeout, their output
 * appended to the run's hooks.log. A hook's failure is said and audited and never changes
 * the run's outcome: a notification must not fail a retraining. */
#include "config.h"
#include "run-internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ntflow/exec.h"
#include "ntflow/gov.h"

extern char **environ;

/* An event the run saw, kept until its end: the hooks run once the outcome is recorded. */
struct nf_run_hook_event {
	nf_run_hook_kind kind;
	char *model;                /* promote */
	int version;
	char *monitor, *rule, *severity, *summary;   /* alert */
	int64_t alert_id;
};

static const char *const hook_names[] = { "on_alert", "on_promote", "on_success", "on_failure", "on_gated" };

void
nf_run__hook_promoted(run_ctx *ctx, const char *model, int version)
{
	nf_run_hook_event *e;

	if (!ctx->dag->pipeline.on_promote)
		return;
	ctx->hook_events = xgrow(ctx->hook_events, sizeof(*ctx->hook_events), ctx->nhook_events + 1,
				 &ctx->hook_events_cap);
	e = &ctx->hook_events[ctx->nhook_events++];
	memset(e, 0, sizeof(*e));
	e->kind = NF_HOOK_PROMOTE;
	e->model = xstrdup(model);
	e->version = version;
}

void
nf_run__hook_alert(run_ctx *ctx, const char *monitor, const char *rule, const char *severity,
		   const char *summary, int64_t id)
{
	nf_run_hook_event *e;

	if (!ctx->dag->pipeline.on_alert)
		return;
	ctx->hook_events = xgrow(ctx->hook_events, sizeof(*ctx->hook_events), ctx->nhook_events + 1,
				 &ctx->hook_events_cap);
	e = &ctx->hook_events[ctx->nhook_events++];
	memset(e, 0, sizeof(*e));
	e->kind = NF_HOOK_ALERT;
	e->monitor = xstrdup(monitor);
	e->rule = xstrdup(rule);
	e->severity = xstrdup(severity);
	e->summary = xstrdup(summary ? summary : "");
	e->alert_id = id;
}

void
nf_run__hook_events_free(run_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nhook_events; i++) {
		nf_run_hook_event *e = &ctx->hook_events[i];

		free(e->model);
		free(e->monitor);
		free(e->rule);
		free(e->severity);
		free(e->summary);
	}
	free(ctx->hook_events);
	ctx->hook_events = NULL;
	ctx->nhook_events = ctx->hook_events_cap = 0;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The hook's facts: the process's environment with NTFLOW_* set (replacing any inherited
 * NTFLOW_* of the same name). */
static char **
hook_env(const char *const *kv, size_t nkv)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = xcalloc(n + nkv / 2 + 1, sizeof(*env));
	for (size_t i = 0; i < n; i++) {
		bool ours = false;

		for (size_t j = 0; j < nkv; j += 2) {
			size_t len = strlen(kv[j]);

			if (strncmp(environ[i], kv[j], len) == 0 && environ[i][len] == '=')
				ours = true;
		}
		if (!ours)
			env[k++] = xstrdup(environ[i]);
	}
	for (size_t j = 0; j + 1 < nkv; j += 2)
		if (kv[j + 1])
			env[k++] = xasprintf("%s=%s", kv[j], kv[j + 1]);
	env[k] = NULL;
	return env;
}

static void
env_free(char **env)
{
	for (char **p = env; *p; p++)
		free(*p);
	free(env);
}

/* Runs one hook to its end or its timeout. *status: its wait status, or -1 when it could
 * not start; *timed_out when it was stopped. */
static void
run_hook(const char *cmd, const char *root, const char *state_dir, char **env, const char *json, int logfd,
	 int64_t timeout_ms, int *status, bool *timed_out, int64_t *wall_ms)
{
	char *in_path = xasprintf("%s/hook-stdin-XXXXXX", state_dir);
	int in = mkostemp(in_path, O_CLOEXEC);
	int64_t start = mono_ms(), kill_at;
	pid_t pid;
	bool termed = false;

	*status = -1;
	*timed_out = false;
	*wall_ms = 0;
	if (in >= 0)
		unlink(in_path);
	free(in_path);
	if (in < 0)
		return;
	/* The JSON on stdin from an unlinked file: no pipe for a hook that never reads to fill. */
	if (write(in, json, strlen(json)) != (ssize_t)strlen(json) || lseek(in, 0, SEEK_SET) != 0) {
		close(in);
		return;
	}
	if ((pid = fork()) < 0) {
		close(in);
		return;
	}
	if (pid == 0) {
		/* ntflow's signal handlers and blocked mask are not the hook's: a blocked SIGTERM
		 * would outlive the timeout's. */
		nf_signals_reset_child();
		setpgid(0, 0);
		if (dup2(in, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0 || chdir(root) < 0)
			_exit(127);
		execve("/bin/sh", (char *const[]){ "sh", "-c", (char *)cmd, NULL }, env);
		_exit(127);
	}
	setpgid(pid, pid);
	close(in);
	kill_at = start + timeout_ms;
	for (;;) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid) {
			*status = st;
			break;
		}
		if (r < 0 && errno != EINTR)
			break;
		if (mono_ms() >= kill_at) {
			/* SIGTERM to the hook's group, then SIGKILL 2 s later. */
			*timed_out = true;
			(void)kill(-pid, termed ? SIGKILL : SIGTERM);
			kill_at = mono_ms() + (termed ? 60000 : 2000);
			termed = true;
		}
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	(void)kill(-pid, SIGKILL);   /* what it left behind in its group */
	*wall_ms = mono_ms() - start;
}

/* One hook for one event: run, logged, audited, and said when it failed. */
static void
fire(run_ctx *ctx, nf_run_hook_kind kind, const char *cmd, const nf_run_hook_event *e, nf_run_status status,
     int logfd)
{
	const nf_pipeline *p = &ctx->dag->pipeline;
	char run_id[32], version[16], alert_id[32];
	const char *event = hook_names[kind] + 3;
	cJSON *j = cJSON_CreateObject(), *a;
	char *json, **env;
	int wst;
	bool timed_out;
	int64_t wall;

	snprintf(run_id, sizeof(run_id), "%lld", (long long)ctx->run_id);
	snprintf(version, sizeof(version), "%d", e ? e->version : 0);
	snprintf(alert_id, sizeof(alert_id), "%lld", (long long)(e ? e->alert_id : 0));
	{
		const char *kv[] = {
			"NTFLOW_EVENT", event,
			"NTFLOW_RUN_ID", run_id,
			"NTFLOW_PIPELINE", ctx->pipeline,
			"NTFLOW_STATUS", nf_run_status_name(status),
			"NTFLOW_DAG", ctx->req->dag_path,
			"NTFLOW_LOGICAL_DATE", ctx->date,
			"NTFLOW_TRIGGER", ctx->trigger,
			"NTFLOW_STATE_DIR", ctx->state_dir,
			"NTFLOW_MODEL", e && e->model ? e->model : NULL,
			"NTFLOW_VERSION", e && e->model ? version : NULL,
			"NTFLOW_ALERT_ID", e && e->rule ? alert_id : NULL,
			"NTFLOW_ALERT_MONITOR", e && e->rule ? e->monitor : NULL,
			"NTFLOW_ALERT_RULE", e && e->rule ? e->rule : NULL,
			"NTFLOW_ALERT_SEVERITY", e && e->rule ? e->severity : NULL,
			"NTFLOW_ALERT_SUMMARY", e && e->rule ? e->summary : NULL,
		};

		env = hook_env(kv, NF_ARRAY_SIZE(kv));
	}
	cJSON_AddStringToObject(j, "event", event);
	cJSON_AddNumberToObject(j, "run_id", (double)ctx->run_id);
	cJSON_AddStringToObject(j, "pipeline", ctx->pipeline);
	cJSON_AddStringToObject(j, "status", nf_run_status_name(status));
	cJSON_AddStringToObject(j, "dag", ctx->req->dag_path);
	cJSON_AddStringToObject(j, "logical_date", ctx->date);
	cJSON_AddStringToObject(j, "trigger", ctx->trigger);
	if (e && e->model) {
		cJSON_AddStringToObject(j, "model", e->model);
		cJSON_AddNumberToObject(j, "version", e->version);
	}
	if (e && e->rule) {
		a = cJSON_AddObjectToObject(j, "alert");
		cJSON_AddNumberToObject(a, "id", (double)e->alert_id);
		cJSON_AddStringToObject(a, "monitor", e->monitor);
		cJSON_AddStringToObject(a, "rule", e->rule);
		cJSON_AddStringToObject(a, "severity", e->severity);
		cJSON_AddStringToObject(a, "summary", e->summary);
	}
	json = cJSON_PrintUnformatted(j);
	{
		char head[160];
		int n = snprintf(head, sizeof(head), "== %s of run %lld\n", hook_names[kind], (long long)ctx->run_id);

		if (n > 0 && write(logfd, head, (size_t)n) < 0) {
			/* the hook still runs: its log is a convenience */
		}
	}
	run_hook(cmd, ctx->root, ctx->state_dir, env, json, logfd, p->hook_timeout_ms, &wst, &timed_out, &wall);
	{
		bool ok = wst >= 0 && WIFEXITED(wst) && WEXITSTATUS(wst) == 0 && !timed_out;
		cJSON *rec = cJSON_CreateObject();
		char *msg = NULL;

		cJSON_AddStringToObject(rec, "hook", hook_names[kind]);
		cJSON_AddNumberToObject(rec, "run", (double)ctx->run_id);
		cJSON_AddStringToObject(rec, "command", cmd);
		cJSON_AddNumberToObject(rec, "wall_ms", (double)wall);
		if (timed_out)
			cJSON_AddBoolToObject(rec, "timed_out", true);
		if (wst >= 0 && WIFEXITED(wst))
			cJSON_AddNumberToObject(rec, "exit", WEXITSTATUS(wst));
		else if (wst >= 0 && WIFSIGNALED(wst))
			cJSON_AddNumberToObject(rec, "signal", WTERMSIG(wst));
		cJSON_AddBoolToObject(rec, "ok", ok);
		if (nf_audit_append(ctx->store, 0, "hook", rec) < 0 && ctx->req->on_warning)
			ctx->req->on_warning(ctx->req->ctx, nf_error_last());
		cJSON_Delete(rec);
		if (!ok) {
			if (wst < 0)
				msg = xasprintf("hook %s could not start", hook_names[kind]);
			else if (timed_out)
				msg = xasprintf("hook %s stopped after its timeout of %llds", hook_names[kind],
						(long long)(p->hook_timeout_ms / 1000));
			else if (WIFEXITED(wst))
				msg = xasprintf("hook %s failed: exit %d", hook_names[kind], WEXITSTATUS(wst));
			else
				msg = xasprintf("hook %s failed: signal %d", hook_names[kind], WTERMSIG(wst));
			{
				char *full = xasprintf("%s (its output: %s/logs/%lld/hooks.log); the run's outcome stands",
						       msg, ctx->state_dir, (long long)ctx->run_id);

				if (ctx->req->on_warning)
					ctx->req->on_warning(ctx->req->ctx, full);
				free(full);
			}
			free(msg);
		}
	}
	free(json);
	cJSON_Delete(j);
	env_free(env);
}

void
nf_run__hooks(run_ctx *ctx, nf_run_status status)
{
	const nf_pipeline *p = &ctx->dag->pipeline;
	const char *outcome = NULL;
	nf_run_hook_kind okind = NF_HOOK_SUCCESS;
	char *log, *dir;
	int logfd;

	switch (status) {
	case NF_RUN_SUCCEEDED: outcome = p->on_success; okind = NF_HOOK_SUCCESS; break;
	case NF_RUN_GATED: outcome = p->on_gated; okind = NF_HOOK_GATED; break;
	case NF_RUN_FAILED:
	case NF_RUN_CANCELLED:
	case NF_RUN_CRASHED: outcome = p->on_failure; okind = NF_HOOK_FAILURE; break;
	default: break;
	}
	if (!outcome && ctx->nhook_events == 0)
		return;
	dir = xasprintf("%s/logs/%lld", ctx->state_dir, (long long)ctx->run_id);
	(void)nf_mkdir_p(dir, 0700);
	log = xasprintf("%s/hooks.log", dir);
	if ((logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0)
		logfd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	for (size_t i = 0; i < ctx->nhook_events; i++) {
		const nf_run_hook_event *e = &ctx->hook_events[i];
		const char *cmd = e->kind == NF_HOOK_PROMOTE ? p->on_promote : p->on_alert;

		if (cmd)
			fire(ctx, e->kind, cmd, e, status, logfd);
	}
	if (outcome)
		fire(ctx, okind, outcome, NULL, status, logfd);
	if (logfd >= 0)
		close(logfd);
	/* Records of hooks with no run id are committed now: the run's batch has ended. */
	(void)nf_store_flush(ctx->store);
	free(log);
	free(dir);
}
