/* run.c: one run of a pipeline, from the DAG file to the recorded outcome. It wires the
 * scheduler (exec.h) to the store, expands each stage's strings as it starts, builds its
 * environment, checks its outputs, reads its metrics, picks matrix winners and evaluates
 * gates. Nothing here prints: the caller gets events. */
#include "config.h"
#include "ntflow/run.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "ntflow/cache.h"
#include "ntflow/cachekey.h"
#include "ntflow/expr.h"
#include "ntflow/gov.h"
#include "run-internal.h"

extern char **environ;


static const char *
ctx_param(void *ctx, const char *name)
{
	return nf_strmap_get(((run_ctx *)ctx)->params, name);
}

static int
ctx_best(void *vctx, const char *stage_name, const char *key, const char **out)
{
	run_ctx *ctx = vctx;
	const nf_stage *st = nf_dag_find_stage(ctx->dag, stage_name);
	const nf_node *win = NULL;
	double best_v = 0;

	if (!st)
		return nf_error_set(NF_EINVALID, "unknown stage '%s' in ${stages.%s.best.%s}", stage_name, stage_name, key);
	if (nf_more(st)->select.kind == NF_SELECT_NONE || nf_more(st)->nmatrix == 0)
		return nf_error_set(NF_EINVALID, "stage '%s' has no matrix with select, so it has no best instance", stage_name);
	/* Made at the first select: a pointer a stage is 0.8 MB at 100 000 stages. */
	if (!ctx->best)
		ctx->best = xcalloc(ctx->dag->nstages + 1, sizeof(*ctx->best));
	if (!(win = ctx->best[st->index])) {
		size_t first = ctx->graph->stage_first[st->index], count = ctx->graph->stage_count[st->index];

		for (size_t i = first; i < first + count; i++) {
			const nf_node *n = &ctx->graph->nodes[i];
			double v;

			if (!nf_run__metrics(ctx, i))
				return nf_error_set(NF_EINVALID, "cannot pick the best of '%s': instance %s has no metrics in this run",
						    stage_name, n->name);
			if (nf_metrics_get(nf_run__metrics(ctx, i), nf_more(st)->select.metric, &v) < 0)
				return nf_error_set(NF_EINVALID, "cannot pick the best of '%s': instance %s has no metric '%s'",
						    stage_name, n->name, nf_more(st)->select.metric);
			if (!win || (nf_more(st)->select.kind == NF_SELECT_MAX ? v > best_v : v < best_v)) {
				win = n;
				best_v = v;
			}
		}
		ctx->best[st->index] = win;
	}
	for (size_t a = 0; a < nf_more(st)->nmatrix; a++) {
		if (strcmp(nf_more(st)->matrix[a].name, key) == 0) {
			*out = nf_value_text(nf_node_matrix(win)[a]);
			return 0;
		}
	}
	if (strcmp(key, "id") == 0) {
		*out = nf_node_instance(win);
		return 0;
	}
	return nf_error_set(NF_EINVALID, "stage '%s' has no matrix key '%s'", stage_name, key);
}

static void
interp_init(nf_interp *ip, run_ctx *ctx, const nf_node *node)
{
	memset(ip, 0, sizeof(*ip));
	ip->dag = ctx->dag;
	ip->node = node;
	ip->run_id = ctx->run_id;
	ip->run_date = ctx->date;
	ip->run_week = ctx->week;
	ip->run_trigger = ctx->trigger;
	ip->run_interval_start = ctx->interval_start;
	ip->run_interval_end = ctx->interval_end;
	ip->dag_dir = ctx->dag_dir;
	ip->param = ctx_param;
	ip->best = ctx_best;
	ip->ctx = ctx;
}

static int
expand(char **out, run_ctx *ctx, const nf_node *node, const nf_tmpl *t, bool redact)
{
	nf_buf b = NF_BUF_INIT;
	nf_interp ip;
	int err;

	interp_init(&ip, ctx, node);
	ip.redact = redact;
	if ((err = nf_interp_expand(&b, t, &ip, false)) == 0)
		*out = nf_arena_strdup(ctx->arena, nf_buf_cstr(&b));
	nf_buf_release(&b);
	return err;
}

int
nf_run__expand(char **out, run_ctx *ctx, const nf_node *node, const nf_tmpl *t)
{
	return expand(out, ctx, node, t, false);
}

int
nf_run__expand_buf(nf_buf *out, run_ctx *ctx, const nf_node *node, const nf_tmpl *t)
{
	nf_interp ip;

	interp_init(&ip, ctx, node);
	nf_buf_reset(out);
	return nf_interp_expand(out, t, &ip, false);
}

int
nf_run__expand_recorded(char **out, run_ctx *ctx, const nf_node *node, const nf_tmpl *t)
{
	return expand(out, ctx, node, t, true);
}

char *
nf_run__abs(const run_ctx *ctx, const char *path)
{
	size_t rl, pl;
	char *abs;

	if (path[0] == '/')
		return xstrdup(path);
	/* Joined by hand: a printf per output was 2% of a cached rerun's instructions. */
	rl = strlen(ctx->root);
	pl = strlen(path);
	abs = xmalloc(rl + pl + 2);
	memcpy(abs, ctx->root, rl);
	abs[rl] = '/';
	memcpy(abs + rl + 1, path, pl + 1);
	return abs;
}

/* The NAME of NAME=VALUE as a key: in buf when it fits, else NULL. */
static const char *
env_key(char *buf, size_t size, const char *kv)
{
	size_t klen = (size_t)(strchr(kv, '=') - kv);

	if (klen >= size)
		return NULL;
	memcpy(buf, kv, klen);
	buf[klen] = '\0';
	return buf;
}

/* NAME=VALUE, replacing an earlier NAME among env[from..n) (a scan: for the few names a
 * stage adds). */
static void
env_set(char ***env, size_t *n, size_t *cap, size_t from, char *kv)
{
	size_t klen = (size_t)(strchr(kv, '=') - kv);

	for (size_t i = from; i < *n; i++) {
		if (strncmp((*env)[i], kv, klen + 1) == 0) {
			(*env)[i] = kv;
			return;
		}
	}
	*env = xgrow(*env, sizeof(**env), *n + 2, cap);
	(*env)[(*n)++] = kv;
	(*env)[*n] = NULL;
}

/* NAME=VALUE in the run's base environment, through its index: building it is O(env). */
static void
base_setenv(run_ctx *ctx, size_t *cap, char *kv)
{
	nf_run_job *job = &ctx->job;
	char key[256];
	const char *k = env_key(key, sizeof(key), kv);
	size_t at;

	if (!k) {   /* a name this long is rare: found by a scan */
		env_set(&job->base_env, &job->nbase_env, cap, 0, kv);
		return;
	}
	if ((at = (size_t)(uintptr_t)nf_strmap_get(job->base_index, k)) > 0) {
		job->base_env[at - 1] = kv;
		return;
	}
	env_set(&job->base_env, &job->nbase_env, cap, job->nbase_env, kv);
	nf_strmap_put(job->base_index, nf_arena_strdup(ctx->arena, k), (void *)(uintptr_t)job->nbase_env);
}

/* NAME=VALUE in the environment of the job being built, which starts as a copy of the base:
 * a base name is replaced where its index says, a new one appended after a scan of what
 * the stage added (a handful), so a stage's environment costs O(env), not O(env^2). */
static void
job_setenv(nf_run_job *job, char *kv)
{
	char key[256];
	const char *k = env_key(key, sizeof(key), kv);
	size_t at;

	if (!k) {
		env_set(&job->env, &job->nenv, &job->env_cap, 0, kv);
		return;
	}
	if ((at = (size_t)(uintptr_t)nf_strmap_get(job->base_index, k)) > 0) {
		job->env[at - 1] = kv;
		return;
	}
	env_set(&job->env, &job->nenv, &job->env_cap, job->nbase_env, kv);
}

static char *
env_name_of(nf_arena *a, const char *prefix, const char *name)
{
	char *s = nf_arena_printf(a, "%s%s", prefix, name);

	for (char *p = s + strlen(prefix); *p; p++) {
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
		else if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			*p = '_';
	}
	return s;
}

/* A pipeline's env { } into the base (node NULL) or a stage's into the job's environment. */
static int
add_env_block(run_ctx *ctx, size_t *base_cap, const nf_kv *kvs, size_t nkv, const nf_node *node)
{
	for (size_t i = 0; i < nkv; i++) {
		const char *v;
		char *exp = NULL, *kv;
		int err;

		if (kvs[i].value.kind == NF_V_STRING) {
			if ((err = nf_run__expand(&exp, ctx, node, &kvs[i].value.str)) < 0)
				return err;
			v = exp;
		} else {
			v = nf_value_text(&kvs[i].value);
		}
		kv = nf_arena_printf(node ? ctx->job.arena : ctx->arena, "%s=%s", kvs[i].key, v);
		if (node)
			job_setenv(&ctx->job, kv);
		else
			base_setenv(ctx, base_cap, kv);
	}
	return 0;
}

/* The PWD of a stage run in the root, as /bin/sh started there sets it: ours when it names
 * that folder (a path through a link stays as the user wrote it), else the root. */
static const char *
root_pwd(const char *root)
{
	const char *pwd = getenv("PWD");
	struct stat a, b;

	if (pwd && pwd[0] == '/' && stat(pwd, &a) == 0 && stat(root, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		return pwd;
	return root;
}

static int
build_base_env(run_ctx *ctx)
{
	const nf_pipeline *p = &ctx->dag->pipeline;
	size_t cap = 0;
	nf_buf path = NF_BUF_INIT, key = NF_BUF_INIT;
	const char *old_path = getenv("PATH");
	int err = 0;

	ctx->job.base_index = nf_strmap_new(128);
	for (char **e = environ; *e; e++) {
		if (strncmp(*e, "NTFLOW_", 7) == 0 && strncmp(*e, "NTFLOW_STATE=", 13) != 0)
			continue;   /* a stage started by a stage must not see its parent's identity */
		base_setenv(ctx, &cap, *e);
	}
	for (size_t i = 0; i < p->npath; i++) {
		const nf_tmpl *t = &p->path[i];
		char *dir = NULL, *real = NULL;

		if ((err = nf_run__expand(&dir, ctx, NULL, t)) < 0)
			goto done;
		/* Keyed as expanded: another folder is another program of the same name. */
		nf_buf_printf(&key, "%s%s", i ? ":" : "", dir);
		/* A folder written as an absolute path in the file is used as it is; any other
		 * must lead into the project once interpolated (a value cannot put a folder of
		 * its choosing ahead of PATH). */
		if (t->nsegs && !t->segs[0].is_ref && t->segs[0].text[0] == '/') {
			nf_buf_printf(&path, "%s:", dir);
			continue;
		}
		if ((err = nf_path_resolve(&real, NULL, ctx->root, dir, "path folder")) < 0)
			goto done;
		free(real);
		nf_buf_printf(&path, "%s/%s:", ctx->root, dir);
	}
	if (p->npath)
		ctx->cache.path_key = nf_arena_strdup(ctx->arena, nf_buf_cstr(&key));
	nf_buf_puts(&path, old_path ? old_path : "/usr/local/bin:/usr/bin:/bin");
	base_setenv(ctx, &cap, nf_arena_printf(ctx->arena, "PATH=%s", nf_buf_cstr(&path)));
	for (size_t i = 0; i < p->nparams; i++) {
		const char *name = p->params[i].key;
		const char *v = nf_strmap_get(ctx->params, name);

		base_setenv(ctx, &cap,
			nf_arena_printf(ctx->arena, "%s=%s", env_name_of(ctx->arena, "NTFLOW_PARAM_", name), v ? v : ""));
	}
	base_setenv(ctx, &cap,
		nf_arena_printf(ctx->arena, "NTFLOW_RUN_ID=%lld", (long long)ctx->run_id));
	/* The mark that finds a stage's processes that left its process group (setsid). */
	base_setenv(ctx, &cap, nf_arena_strdup(ctx->arena, ctx->mark));
	base_setenv(ctx, &cap, nf_arena_printf(ctx->arena, "NTFLOW_RUN_DATE=%s", ctx->date));
	base_setenv(ctx, &cap, nf_arena_printf(ctx->arena, "NTFLOW_RUN_WEEK=%s", ctx->week));
	base_setenv(ctx, &cap, nf_arena_printf(ctx->arena, "NTFLOW_TRIGGER=%s", ctx->trigger));
	base_setenv(ctx, &cap,
		nf_arena_printf(ctx->arena, "NTFLOW_INTERVAL_START=%s", ctx->interval_start));
	base_setenv(ctx, &cap,
		nf_arena_printf(ctx->arena, "NTFLOW_INTERVAL_END=%s", ctx->interval_end));
	err = add_env_block(ctx, &cap, p->env, p->nenv, NULL);
	ctx->job.root_pwd = nf_arena_printf(ctx->arena, "PWD=%s", root_pwd(ctx->root));
done:
	nf_buf_release(&path);
	nf_buf_release(&key);
	return err;
}

static char *
params_json(run_ctx *ctx)
{
	const nf_pipeline *p = &ctx->dag->pipeline;
	cJSON *o = cJSON_CreateObject();
	char *s, *r;

	for (size_t i = 0; i < p->nparams; i++) {
		const char *text = nf_strmap_get(ctx->params, p->params[i].key);

		switch (p->params[i].value.kind) {
		case NF_V_NUMBER:
			cJSON_AddItemToObject(o, p->params[i].key, cJSON_CreateNumber(strtod(text, NULL)));
			break;
		case NF_V_BOOL:
			cJSON_AddItemToObject(o, p->params[i].key, cJSON_CreateBool(strcmp(text, "true") == 0));
			break;
		default:
			cJSON_AddItemToObject(o, p->params[i].key, cJSON_CreateString(text));
			break;
		}
	}
	s = cJSON_PrintUnformatted(o);
	r = xstrdup(s);
	cJSON_free(s);
	cJSON_Delete(o);
	return r;
}

/* Marks in marks[] the nodes of each named stage (or node) and, with downstream, all that
 * depends on them. NF_EINVALID naming an unknown stage, with a suggestion. */
static int
mark_nodes(run_ctx *ctx, bool *marks, const char *const *names, size_t n, bool downstream)
{
	const nf_graph *g = ctx->graph;
	size_t *queue = NULL, qn = 0, qcap = 0;
	int err = 0;

	for (size_t i = 0; i < n; i++) {
		const nf_node *node;
		const nf_stage *st;

		if ((st = nf_dag_find_stage(ctx->dag, names[i]))) {
			size_t first = g->stage_first[st->index];

			for (size_t k = first; k < first + g->stage_count[st->index]; k++) {
				marks[k] = true;
				NF_PUSH(queue, qn, qcap, k);
			}
		} else if ((node = nf_graph_find(g, names[i]))) {
			marks[node->id] = true;
			NF_PUSH(queue, qn, qcap, node->id);
		} else {
			const char **all = xcalloc(ctx->dag->nstages + 1, sizeof(*all));
			const char *hint;

			for (size_t k = 0; k < ctx->dag->nstages; k++)
				all[k] = ctx->dag->stages[k].name;
			hint = nf_suggest(names[i], all, ctx->dag->nstages);
			if (hint)
				err = nf_error_set(NF_EINVALID, "no stage '%s' in %s; did you mean '%s'?", names[i], ctx->req->dag_path, hint);
			else
				err = nf_error_set(NF_EINVALID, "no stage '%s' in %s", names[i], ctx->req->dag_path);
			free(all);
			goto done;
		}
	}
	for (size_t qi = 0; downstream && qi < qn; qi++) {
		const nf_node *node = &g->nodes[queue[qi]];

		for (size_t u = 0; u < node->nusers; u++) {
			if (!marks[node->users[u]]) {
				marks[node->users[u]] = true;
				NF_PUSH(queue, qn, qcap, node->users[u]);
			}
		}
	}
done:
	free(queue);
	return err;
}

/* The nodes --only/--from select (NULL when everything runs) and those --force forces. */
static int
select_nodes(bool **out, run_ctx *ctx)
{
	const nf_run_request *req = ctx->req;
	bool *sel = NULL;
	int err;

	*out = NULL;
	sel = xcalloc(ctx->graph->nnodes + 1, sizeof(*sel));
	err = mark_nodes(ctx, sel, req->force, req->nforce, true);
	for (size_t i = 0; err == 0 && i < ctx->graph->nnodes; i++)
		ctx->nodes[i].forced = sel[i];
	free(sel);
	sel = NULL;
	if (err < 0)
		return err;
	if (req->nonly == 0 && !req->from)
		return 0;
	sel = xcalloc(ctx->graph->nnodes + 1, sizeof(*sel));
	if ((err = mark_nodes(ctx, sel, req->only, req->nonly, false)) < 0 ||
	    (req->from && (err = mark_nodes(ctx, sel, &req->from, 1, true)) < 0)) {
		free(sel);
		return err;
	}
	*out = sel;
	return 0;
}

/* Whether the state database has failed (nf_store_failure: any SQLite error but busy). The
 * first time, the run is stopped as SIGTERM stops it: running stages get SIGTERM, nothing new
 * starts, no model is registered, and the run ends failed with SQLite's message. */
static bool
store_failed(run_ctx *ctx)
{
	int err;

	if (ctx->store_err)
		return true;
	if (!ctx->store || (err = nf_store_failure(ctx->store)) == 0)
		return false;
	ctx->store_err = err;
	ctx->store_msg = xstrdup(nf_error_last());
	if (ctx->sched)
		nf_sched_cancel(ctx->sched, false);
	if (ctx->req->on_warning) {
		char *msg = xasprintf("run %lld: stopping: %s", (long long)ctx->run_id, ctx->store_msg);

		ctx->req->on_warning(ctx->req->ctx, msg);
		free(msg);
	}
	return true;
}

/* A command with no shell syntax is exec'd as its words, without /bin/sh (as GNU make
 * does): ctx->job.argv when ctx->job.direct, else /bin/sh -c. Its values are the same as in the shell
 * command, each inside the word it stands in. */
static int
job_words(run_ctx *ctx, const nf_node *node)
{
	nf_run_job *job = &ctx->job;
	nf_interp ip;
	size_t n = 0;
	const char *p;
	int err;

	job->direct = false;
	if (!node->stage->run_list && !nf_argv_direct(node->stage->run))
		return 0;
	nf_buf_reset(&job->words);
	interp_init(&ip, ctx, node);
	if (node->stage->run_list) {
		/* Each element one word, whatever its value holds. */
		for (size_t i = 0; i < nf_more(node->stage)->nrun_words; i++) {
			if ((err = nf_interp_expand(&job->words, &nf_more(node->stage)->run_words[i], &ip, false)) < 0)
				return err;
			nf_buf_putc(&job->words, '\0');
		}
		n = nf_more(node->stage)->nrun_words;
	} else if ((err = nf_interp_words(&job->words, &n, node->stage->run, &ip)) < 0) {
		return err;
	}
	job->argv = xgrow(job->argv, sizeof(*job->argv), n + 1, &job->argv_cap);
	p = job->words.buf;
	for (size_t i = 0; i < n; i++) {
		job->argv[i] = (char *)p;
		p += strlen(p) + 1;
	}
	job->argv[n] = NULL;
	job->direct = true;
	return 0;
}

/* The command a runner that takes a string gets: a list's words each shell-quoted, so
 * that /bin/sh -c gives the program exactly these arguments (the local runner execs the
 * words themselves). */
static int
job_command(nf_buf *out, const nf_stage *st, const nf_interp *ip)
{
	nf_buf word = NF_BUF_INIT;
	int err = 0;

	if (!st->run_list)
		return nf_interp_expand(out, st->run, ip, true);
	for (size_t i = 0; i < nf_more(st)->nrun_words && err == 0; i++) {
		nf_buf_reset(&word);
		if ((err = nf_interp_expand(&word, &nf_more(st)->run_words[i], ip, false)) == 0) {
			if (i)
				nf_buf_putc(out, ' ');
			nf_sh_quote(out, NF_SH_BARE, nf_buf_cstr(&word));
		}
	}
	nf_buf_release(&word);
	return err;
}

/* The folder a stage with dir = "..." runs in: beneath the root once interpolated and its
 * links followed, and there (a missing one is the stage's error, not a silent mkdir). */
static int
job_dir(run_ctx *ctx, const nf_node *node, const char **cwd)
{
	char *dir = NULL, *real = NULL;
	struct stat sb;
	int err;

	if ((err = nf_run__expand(&dir, ctx, node, nf_more(node->stage)->dir)) < 0)
		return err;
	if ((err = nf_path_resolve(&real, NULL, ctx->root, dir, "dir")) < 0)
		return nf_run__stage_error(err, node);
	*cwd = *real ? nf_arena_printf(ctx->job.arena, "%s/%s", ctx->root, real) : ctx->root;
	free(real);
	if (stat(*cwd, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return nf_error_set(NF_EINVALID, "%s \"%s\": its dir '%s' is not a folder", nf_stage_kind_name(node->stage->kind),
				    node->name, dir);
	return 0;
}

char *
nf_run__log_abs(const run_ctx *ctx, const nf_node *node, int attempt)
{
	const char *inst = nf_node_instance(node);

	/* A run of more than NF_LOG_FANOUT nodes spreads its logs over folders of at most that
	 * many nodes (by node number), so that no folder grows to tens of thousands of entries. */
	if (ctx->graph->nnodes > NF_LOG_FANOUT)
		return xasprintf("%s/logs/%lld/%zu/%s%s%s.%d.log", ctx->state_dir, (long long)ctx->run_id,
				 (size_t)(node->id / NF_LOG_FANOUT), node->stage->name, inst ? "@" : "", inst ? inst : "",
				 attempt);
	return xasprintf("%s/logs/%lld/%s%s%s.%d.log", ctx->state_dir, (long long)ctx->run_id, node->stage->name,
			 inst ? "@" : "", inst ? inst : "", attempt);
}

char *
nf_run__log_rel(const run_ctx *ctx, size_t node)
{
	size_t rl = strlen(ctx->root);
	char *abs, *rel;

	if (!ctx->nodes[node].log_attempt)
		return NULL;
	abs = nf_run__log_abs(ctx, &ctx->graph->nodes[node], ctx->nodes[node].log_attempt);
	if (strncmp(abs, ctx->root, rl) != 0 || abs[rl] != '/')
		return abs;
	rel = xstrdup(abs + rl + 1);
	free(abs);
	return rel;
}

static int
hook_prepare(void *vctx, const nf_node *node, int attempt, nf_job *job)
{
	run_ctx *ctx = vctx;
	const nf_stage *st = node->stage;
	nf_interp ip;
	char *log_abs, *metrics_path = NULL, **slurm_args = NULL;
	const char *cwd;
	int err;

	if (store_failed(ctx))
		return nf_error_set(ctx->store_err, "not started: %s", ctx->store_msg);
	if (st->kind == NF_GATE) {
		nf_run_prep p = { 0, NULL };

		if ((err = nf_run__gate(&p, ctx, node)) < 0)
			return err;
		free(ctx->job.reason);
		job->reason = ctx->job.reason = p.reason;
		return p.decision;
	}
	if (!st->run)
		return nf_error_set(NF_EINVALID, "%s has no run command", node->name);
	if (st->frozen)
		return (err = nf_run__frozen(ctx, node)) < 0 ? err : NF_PREP_CACHED;

	nf_buf_reset(&ctx->job.cmd);
	interp_init(&ip, ctx, node);
	if ((err = job_command(&ctx->job.cmd, st, &ip)) < 0)
		return err;
	if (!ctx->nodes[node->id].looked_up) {
		/* The key holds the command as recorded: a secret's value never reaches the store
		 * (nor its hash the audit chain), so a new value alone does not rerun the stage. */
		nf_buf recorded = NF_BUF_INIT;

		/* Again after its final state (a dashboard's retry): on the work tree as it is now,
		 * a mended input among it, not as git saw it when the run began. */
		if (attempt > 1 && ctx->cache.repo && (err = nf_gitrepo_refresh(ctx->cache.repo)) < 0)
			return err;
		ip.redact = true;
		if ((err = nf_interp_command(&recorded, st, &ip)) == 0)
			err = nf_run__cache_lookup(ctx, node, nf_buf_cstr(&recorded));
		nf_buf_release(&recorded);
		if (err < 0)
			return err;
		ctx->nodes[node->id].looked_up = true;
		if (err == 1) {
			/* A pass of cached nodes, stopped here by a test that signals the run. */
			if (nf_test_hook("run-stop-after-cached"))
				raise(SIGSTOP);
			/* a cached monitor's metrics still raise this run's alerts */
			return (err = nf_run__alerts(ctx, node)) < 0 || (err = nf_run__plots(ctx, node)) < 0 ? err :
			       NF_PREP_CACHED;
		}
	}

	/* The environment: the run's base, then the node's own identity, then its env { }. */
	if (!ctx->job.arena)
		ctx->job.arena = nf_arena_new();
	nf_arena_reset(ctx->job.arena);
	ctx->job.env = xgrow(ctx->job.env, sizeof(*ctx->job.env), ctx->job.nbase_env + 1, &ctx->job.env_cap);
	if (ctx->job.nbase_env)
		memcpy(ctx->job.env, ctx->job.base_env, ctx->job.nbase_env * sizeof(*ctx->job.env));
	ctx->job.nenv = ctx->job.nbase_env;
	ctx->job.env[ctx->job.nenv] = NULL;
	if (ctx->job.nenv == 0)
		job_setenv(&ctx->job, "NTFLOW=1");
	job_setenv(&ctx->job, nf_arena_printf(ctx->job.arena, "NTFLOW_STAGE=%s", st->name));
	job_setenv(&ctx->job, nf_arena_printf(ctx->job.arena, "NTFLOW_NODE=%s", node->name));
	job_setenv(&ctx->job, nf_arena_printf(ctx->job.arena, "NTFLOW_ATTEMPT=%d", attempt));
	if (nf_node_instance(node)) {
		job_setenv(&ctx->job,
			nf_arena_printf(ctx->job.arena, "NTFLOW_INSTANCE=%s", nf_node_instance(node)));
		for (size_t a = 0; a < nf_more(st)->nmatrix; a++)
			job_setenv(&ctx->job,
				nf_arena_printf(ctx->job.arena, "%s=%s", env_name_of(ctx->job.arena, "NTFLOW_MATRIX_", nf_more(st)->matrix[a].name),
						nf_value_text(nf_node_matrix(node)[a])));
	}
	if (nf_more(st)->metrics) {
		char *norm = NULL;

		if ((err = nf_run__expand(&metrics_path, ctx, node, nf_more(st)->metrics)) < 0)
			return err;
		if ((err = nf_path_normalize(&norm, metrics_path, "metrics file")) < 0)
			return nf_run__stage_error(err, node);
		free(norm);
		job_setenv(&ctx->job,
			nf_arena_printf(ctx->job.arena, "NTFLOW_METRICS_FILE=%s/%s", ctx->root, metrics_path));
	}
	if ((err = add_env_block(ctx, NULL, nf_more(st)->env, nf_more(st)->nenv, node)) < 0 ||
	    (err = job_words(ctx, node)) < 0)
		return err;
	cwd = ctx->root;
	if (nf_more(st)->dir && (err = job_dir(ctx, node, &cwd)) < 0)
		return err;
	/* Where the stage runs, as the shell would say it: a program exec'd directly would
	 * otherwise see ours (the folder ntflow was started in). */
	job_setenv(&ctx->job, cwd == ctx->root ? ctx->job.root_pwd : nf_arena_printf(ctx->job.arena, "PWD=%s", cwd));
	if ((err = nf_run__check_exec_size(ctx, node, &ip, nf_buf_cstr(&ctx->job.cmd),
					   ctx->job.direct && st->run_list && !nf_run__on_slurm(node) ? ctx->job.argv : NULL,
					   ctx->job.env)) < 0)
		return err;
	free(ctx->job.log);
	ctx->job.log = log_abs = nf_run__log_abs(ctx, node, attempt);
	ctx->nodes[node->id].log_attempt = attempt;
	if ((err = nf_run__space_check(ctx)) < 0)
		return err;
	if ((err = nf_run__slurm_args(ctx, node, &slurm_args)) < 0)
		return err;
	/* Last, so that nothing fails between moving the outputs aside and the spawn but the
	 * spawn itself (whose failure puts them back through on_state). A killed run's job
	 * that is adopted made the outputs that are there: they stay. */
	if (!nf_run__slurm_adopt(ctx, node, attempt) && (err = nf_run__outputs_aside(ctx, node, attempt)) < 0)
		return err;
	job->node = node->id;
	job->attempt = attempt;
	job->command = nf_buf_cstr(&ctx->job.cmd);
	job->argv = ctx->job.direct ? ctx->job.argv : NULL;
	job->envp = ctx->job.env;
	job->cwd = cwd;
	job->root = ctx->root;
	job->log_path = log_abs;
	job->log_limit = st->opts->log_limit;
	job->cpus = st->opts->cpus;
	job->stage = st->name;
	job->instance = nf_node_instance(node);
	job->submit_args = slurm_args;
	return NF_PREP_SPAWN;
}

static int
finish_node(run_ctx *ctx, const nf_node *node, const nf_job_result *res)
{
	const nf_stage *st = node->stage;
	char *full;
	int err;

	/* A write that failed for want of space may have gone unnoticed by the command. */
	if ((full = nf_run__full_after_attempt(ctx))) {
		err = nf_error_set(NF_EIO, "%s: its log and outputs may be incomplete", full);
		free(full);
		return err;
	}
	if (res->log_errno) {
		char *log = nf_run__log_rel(ctx, node->id);

		errno = res->log_errno;
		err = nf_error_set_errno(NF_EIO, "cannot write the log '%s'", log ? log : "?");
		free(log);
		return err;
	}
	if ((err = nf_run__outputs_check(ctx, node)) < 0)
		return err;
	if (nf_more(st)->metrics) {
		char *path, *abs, *real = NULL;
		nf_metric_set m;

		if ((err = nf_run__expand(&path, ctx, node, nf_more(st)->metrics)) < 0)
			return err;
		/* Read where it leads, which must be in the project. */
		if ((err = nf_path_resolve(&real, NULL, ctx->root, path, "metrics file")) < 0)
			return nf_run__stage_error(err, node);
		abs = xasprintf("%s/%s", ctx->root, real);
		free(real);
		err = nf_metrics_read(&m, abs);
		free(abs);
		if (err < 0) {
			/* Say it with the path as the user wrote it. */
			const char *msg = nf_error_last();
			const char *root_pos = strstr(msg, ctx->root);

			if (root_pos) {
				char *fixed = xasprintf("%.*s%s", (int)(root_pos - msg), msg, root_pos + strlen(ctx->root) + 1);

				nf_error_set(err, "%s", fixed);
				free(fixed);
			}
			return err;
		}
		for (size_t i = 0; i < m.nwarnings && ctx->req->on_warning; i++) {
			/* "tune[lr=0.1]: build/m.json: metric 'model' is a string, ...": the node, and
			 * the path as the user wrote it. */
			const char *w = m.warnings[i];
			size_t rl = strlen(ctx->root);
			char *line;

			if (strncmp(w, ctx->root, rl) == 0 && w[rl] == '/')
				w += rl + 1;
			line = xasprintf("%s: %s", node->name, w);
			ctx->req->on_warning(ctx->req->ctx, line);
			free(line);
		}
		for (size_t i = 0; i < m.n; i++)
			nf_store_metric_put(ctx->store, ctx->run_id, node->name, m.names[i], m.values[i]);
		nf_run__keep_metrics(ctx, node, &m, true);
		if ((err = nf_run__alerts(ctx, node)) < 0)   /* a monitor's alert rules */
			return err;
	}
	(void)res;
	if ((err = nf_run__plots(ctx, node)) < 0)
		return err;
	return nf_run__cache_store(ctx, node);
}

/* finish_node with the folders of the node's outputs opened once for all its steps. */
static int
hook_finish(void *vctx, const nf_node *node, const nf_job_result *res)
{
	run_ctx *ctx = vctx;
	int err;

	nf_run__outputs_ending(ctx, true);
	err = finish_node(ctx, node, res);
	nf_run__outputs_ending(ctx, false);
	return err;
}

void
nf_run__keep_metrics(run_ctx *ctx, const nf_node *node, nf_metric_set *m, bool keep)
{
	nf_metric_set **slot;

	if (!keep && !ctx->metrics) {
		nf_metric_set_release(m);
		return;
	}
	if (!ctx->metrics)
		ctx->metrics = xcalloc(ctx->total + 1, sizeof(*ctx->metrics));
	slot = &ctx->metrics[node->id];
	if (*slot) {
		nf_metric_set_release(*slot);
		free(*slot);
		*slot = NULL;
	}
	if (!keep) {
		nf_metric_set_release(m);
		return;
	}
	*slot = xmalloc(sizeof(**slot));
	**slot = *m;
	memset(m, 0, sizeof(*m));
}

nf_run_flight *
nf_run__flight(run_ctx *ctx, size_t node)
{
	if (!ctx->nodes[node].flight)
		ctx->nodes[node].flight = xcalloc(1, sizeof(nf_run_flight));
	return ctx->nodes[node].flight;
}

void
nf_run__flight_end(run_ctx *ctx, size_t node)
{
	nf_run_flight *fl = ctx->nodes[node].flight;

	if (!fl)
		return;
	free(fl->key);
	free(fl->comps);
	fl->key = fl->comps = NULL;
	if (!fl->aside.stem) {
		free(fl);
		ctx->nodes[node].flight = NULL;
	}
}

const char *
nf_run__key(const run_ctx *ctx, size_t node)
{
	return ctx->nodes && ctx->nodes[node].flight ? ctx->nodes[node].flight->key : NULL;
}

/* The reason a node cached from run R is recorded with. */
static const char *
reused_reason(char why[48], int64_t reused)
{
	static const char head[] = "reused run ";
	char tmp[24], *q = tmp + sizeof(tmp);
	uint64_t u = reused < 0 ? 0 : (uint64_t)reused;   /* a run id is positive */

	/* Without snprintf: once per stage of a cached rerun. */
	*--q = '\0';
	do {
		*--q = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	memcpy(why, head, sizeof(head) - 1);
	memcpy(why + sizeof(head) - 1, q, (size_t)(tmp + sizeof(tmp) - q));
	return why;
}

/* Commits the batch of state changes: the outputs hashed in the tick they were written go
 * in once it is past, so that the next run checks them by their stat (cache.h). */
static void
flush_batch(run_ctx *ctx, int64_t now)
{
	nf_hash_settle(nf_store_statcache(ctx->store), 0);
	nf_store_flush(ctx->store);   /* busy: kept open and retried; anything else: store_failed */
	store_failed(ctx);
	ctx->last_flush_ms = now;
	ctx->unflushed = 0;
}

/* Forgets the final states kept to be written again. */
static void
finals_clear(run_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nfinals; i++)
		free(ctx->finals[i].reason);
	ctx->nfinals = 0;
}

/* Room for one more final state to keep (zeroed), after dropping those the store has
 * committed since they were kept. Once the store has failed none is dropped: the batch
 * that held them may be the one lost, whatever commits after. */
static nf_run_final *
final_add(run_ctx *ctx)
{
	unsigned long commits = nf_store_commits(ctx->store);

	if (commits != ctx->finals_commits && !store_failed(ctx)) {
		finals_clear(ctx);
		ctx->finals_commits = commits;
	}
	if (ctx->nfinals == ctx->finals_cap) {
		ctx->finals_cap = ctx->finals_cap ? ctx->finals_cap * 2 : NF_RUN_FLUSH_STAGES * 2;
		ctx->finals = xrealloc(ctx->finals, ctx->finals_cap * sizeof(*ctx->finals));
	}
	memset(&ctx->finals[ctx->nfinals], 0, sizeof(*ctx->finals));
	return &ctx->finals[ctx->nfinals++];
}

/* A stage deferred is started without the check of the space right before its start. */
static bool
hook_may_defer(void *vctx)
{
	return nf_run__space_ample(vctx);
}

static void
hook_on_state(void *vctx, const nf_node *node, nf_state st, int attempt, const nf_job_result *res,
	      const char *reason, pid_t pgid, int64_t late_ms)
{
	run_ctx *ctx = vctx;
	nf_run_event ev;
	/* Its log: recorded with its start, and shown by whoever follows the run. */
	char *log = st == NF_ST_RUNNING || ctx->req->on_event ? nf_run__log_rel(ctx, node->id) : NULL;
	const nf_run_flight *fl = ctx->nodes[node->id].flight;
	int64_t reused = fl ? fl->reused : 0;
	char why[48];

	/* A turn that settled flush_turn stages commits them before this one's records begin:
	 * each committed state then has its audit record in the same commit. */
	if (nf_state_is_final(st) && ctx->unflushed >= ctx->flush_turn)
		flush_batch(ctx, nf_now_monotonic_ms());
	/* The attempt's outcome is known: its outputs moved aside are dropped or put back
	 * before the state is recorded, so a committed success never has a trash to undo. */
	if (st != NF_ST_RUNNING)
		nf_run__outputs_settle(ctx, node, st == NF_ST_SUCCEEDED);
	if (st == NF_ST_CACHED && !reason && reused)
		reason = reused_reason(why, reused);
	if (nf_state_is_final(st)) {
		nf_run_final *f = final_add(ctx);

		f->node = node->id;
		f->st = (uint8_t)st;
		f->attempt = attempt;
		f->has_res = res != NULL;
		if (res) {
			f->exited = res->exited;
			f->code = res->exited ? res->exit_code : res->term_signal;
			f->wall_ms = res->wall_ms;
			f->user_ms = res->user_ms;
			f->sys_ms = res->sys_ms;
			f->max_rss_kb = res->max_rss_kb;
		}
		if (reason == why)
			f->reused = reused;   /* the reason made above */
		else
			f->reason = reason ? xstrdup(reason) : NULL;
	}
	nf_store_node_state(ctx->store, ctx->run_id, node->name, st, attempt, res, reason, pgid,
			    st == NF_ST_RUNNING ? log : NULL, nf_now_realtime_ms() - late_ms);
	if (nf_state_is_final(st))
		ctx->unflushed++;
	store_failed(ctx);
	if (res && res->log_capped && st != NF_ST_RUNNING && ctx->req->on_warning) {
		char size[32], *msg;

		nf_format_bytes(size, sizeof(size), node->stage->opts->log_limit);
		msg = xasprintf("%s: attempt %d's log was capped at %s (log_limit); the rest was discarded", node->name,
				attempt, size);
		ctx->req->on_warning(ctx->req->ctx, msg);
		free(msg);
	}
	/* A command that failed on a full disk (one that exited 0 is failed by hook_finish). */
	if (res && !(res->exited && res->exit_code == 0) &&
	    (st == NF_ST_FAILED || st == NF_ST_RETRYING || st == NF_ST_TIMED_OUT) && ctx->req->on_warning) {
		char *full = nf_run__full_after_attempt(ctx);

		if (full) {
			char *msg = xasprintf("%s: %s: its log and outputs may be incomplete", node->name, full);

			ctx->req->on_warning(ctx->req->ctx, msg);
			free(msg);
			free(full);
		}
	}
	if (st == NF_ST_RUNNING)
		nf_run__cache_unsettle(ctx);   /* a stage may change any folder from now on */
	if (st == NF_ST_RUNNING && pgid > 0) {
		ctx->spawned = true;
		/* A crash between the start of a process and the commit of its group: the test
		 * freezes the run here and kills it from outside once the stage is under way. */
		if (nf_test_hook("run-stop-after-spawn"))
			raise(SIGSTOP);
	}
	nf_run__lineage_node(ctx, node, st, attempt, res, reason);
	if (nf_state_is_final(st)) {
		nf_run__audit_node(ctx, node, st, attempt, res, reason);
		/* Its cache entry is written and its record made: the key and its components
		 * (about 0.5 KB a node) are not read again. */
		nf_run__flight_end(ctx, node->id);
		ctx->nodes[node->id].looked_up = false;
	}
	if (!ctx->req->on_event) {
		free(log);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.run_id = ctx->run_id;
	ev.node = node->name;
	ev.kind = node->stage->kind;
	ev.state = st;
	ev.attempt = attempt;
	ev.max_attempts = node->stage->opts->retries + 1;
	ev.done = nf_sched_done(ctx->sched);
	ev.total = ctx->total;
	ev.wall_ms = res ? res->wall_ms : 0;
	if (st == NF_ST_RETRYING && nf_sched_retry_at(ctx->sched, node->id) >= 0) {
		ev.backoff_ms = nf_sched_retry_at(ctx->sched, node->id) - ctx->clock->now_ms(ctx->clock);
		if (ev.backoff_ms < 0)
			ev.backoff_ms = 0;
	}
	ev.reason = reason;
	ev.reused_run = st == NF_ST_CACHED ? reused : 0;
	ev.log_path = log;
	/* A log is made at the stage's first byte: a failure that printed nothing has none to
	 * point to. */
	if (log && (st == NF_ST_FAILED || st == NF_ST_TIMED_OUT || st == NF_ST_RETRYING) &&
	    faccessat(nf_run__root_fd(ctx), log, F_OK, AT_EACCESS) < 0)
		ev.log_path = NULL;
	ctx->req->on_event(ctx->req->ctx, &ev);
	free(log);
}

static void
hook_on_tick(void *vctx)
{
	run_ctx *ctx = vctx;
	int64_t now;

	/* The turn's progress lines first: not behind the commit's sync, nor after what the
	 * dashboard's commands say (on_tick). */
	if (ctx->req->on_turn)
		ctx->req->on_turn(ctx->req->ctx);
	now = nf_now_monotonic_ms();
	/* One commit per loop turn would cost more than the stages at 10 000 quick stages;
	 * committing when NF_RUN_FLUSH_STAGES results wait, or NF_RUN_FLUSH_MS after the last
	 * commit, bounds what a crash can lose to that many stages or that long. */
	if (now - ctx->last_flush_ms >= NF_RUN_FLUSH_MS || ctx->unflushed >= NF_RUN_FLUSH_STAGES) {
		flush_batch(ctx, now);
	} else {
		nf_sched_wake_within(ctx->sched, NF_RUN_FLUSH_MS - (now - ctx->last_flush_ms));
	}
	if (ctx->req->on_tick)
		ctx->req->on_tick(ctx->req->ctx, (nf_run_ctl *)ctx);
}

/* nf_run_ctl is the run's own context, seen from outside through these functions. */
static int
ctl_node(run_ctx *ctx, const char *name, size_t *id)
{
	const nf_node *n = nf_graph_find(ctx->graph, name);

	if (!n || !ctx->sched)
		return nf_error_set(NF_ENOTFOUND, "no node '%s' in this run", name);
	*id = n->id;
	return 0;
}

int
nf_run_ctl_cancel_node(nf_run_ctl *ctl, const char *node)
{
	run_ctx *ctx = (run_ctx *)ctl;
	size_t id = 0;
	int err;

	if ((err = ctl_node(ctx, node, &id)) < 0)
		return err;
	return nf_sched_cancel_node(ctx->sched, id);
}

int
nf_run_ctl_retry_node(nf_run_ctl *ctl, const char *node)
{
	run_ctx *ctx = (run_ctx *)ctl;
	size_t id = 0;
	int err;

	if ((err = ctl_node(ctx, node, &id)) < 0)
		return err;
	return nf_sched_retry(ctx->sched, id);
}

void
nf_run_ctl_cancel(nf_run_ctl *ctl)
{
	run_ctx *ctx = (run_ctx *)ctl;

	if (ctx->sched)
		nf_sched_cancel(ctx->sched, false);
}

void
nf_run_ctl_wake_fd(nf_run_ctl *ctl, int fd)
{
	run_ctx *ctx = (run_ctx *)ctl;

	if (ctx->sched)
		nf_sched_wake_fd(ctx->sched, fd);
}

/* Every secret_env variable a node that may run needs is set, before anything starts: a
 * stage must not find out halfway through the run. */
static int
check_secrets(run_ctx *ctx, const bool *selected)
{
	for (size_t i = 0; i < ctx->graph->nnodes; i++) {
		const nf_node *n = &ctx->graph->nodes[i];
		const nf_run_opts *o = n->stage->opts;

		if ((selected && !selected[n->id]) || n->stage->kind == NF_GATE)
			continue;
		for (size_t k = 0; k < o->nsecret_env; k++)
			if (!getenv(o->secret_env[k].name))
				return nf_error_set(NF_EINVALID, "%s \"%s\" needs the secret %s (secret_env), which is not set"
						    " in the environment", nf_stage_kind_name(n->stage->kind), n->stage->name,
						    o->secret_env[k].name);
	}
	return 0;
}

static int
plan(run_ctx *ctx, const bool *selected)
{
	for (size_t i = 0, k = 0; i < ctx->graph->nnodes; i++) {
		const nf_node *n = &ctx->graph->nodes[ctx->graph->order[i]];
		nf_buf cmd = NF_BUF_INIT;
		nf_interp ip;

		if (selected && !selected[n->id])
			continue;
		interp_init(&ip, ctx, n);
		ip.redact = true;
		if (n->stage->kind == NF_GATE) {
			nf_buf_puts(&cmd, "(gate)");
		} else if (n->stage->run && nf_interp_command(&cmd, n->stage, &ip) < 0) {
			/* Values known only while running (a matrix winner) stay as written. */
			nf_buf_reset(&cmd);
			for (size_t s = 0; s < n->stage->run->nsegs; s++)
				nf_buf_printf(&cmd, n->stage->run->segs[s].is_ref ? "${%s}" : "%s", n->stage->run->segs[s].text);
		}
		if (ctx->req->on_plan)
			ctx->req->on_plan(ctx->req->ctx, ++k, n->name, nf_buf_cstr(&cmd));
		nf_buf_release(&cmd);
	}
	return 0;
}

/* What the run ran on: commit, branch, the dirty inputs, the DAG file's hash, the version. */
static void
record_repro(run_ctx *ctx)
{
	cJSON *paths = cJSON_CreateArray();
	char dag_sha[65] = "", *json, *real;
	bool have_sha;

	for (const char *const *p = nf_gitrepo_dirty_paths(ctx->cache.repo); p && *p; p++)
		cJSON_AddItemToArray(paths, cJSON_CreateString(*p));
	json = cJSON_PrintUnformatted(paths);
	/* Through the stat cache, under the file's real path: a pipeline of 10 000 stages is a
	 * file of a megabyte, read again by every run (2% of a cached rerun) though unchanged. */
	real = realpath(ctx->dag->path, NULL);
	have_sha = nf_hash_file(dag_sha, real ? real : ctx->dag->path, real ? nf_store_statcache(ctx->store) : NULL) == 0;
	free(real);
	nf_store_run_repro(ctx->store, ctx->run_id, ctx->commit, ctx->branch,
			   ctx->cache.dirty || cJSON_GetArraySize(paths) > 0, json, have_sha ? dag_sha : NULL, PACKAGE_VERSION);
	cJSON_free(json);
	cJSON_Delete(paths);
}

/* A past commit checked out under the state directory for --at. */
typedef struct at_checkout {
	char *repo;          /* the repository's work tree */
	char *dir;           /* the checkout */
	char *dag;           /* the DAG file inside the checkout */
	char oid[41];
} at_checkout;

static int
checkout_at(at_checkout *at, const nf_run_request *req)
{
	char *abs = realpath(req->dag_path, NULL), *state_dir = NULL;
	size_t rl;
	int err;

	if (!abs)
		return nf_error_set_errno(NF_ENOTFOUND, "cannot open '%s'", req->dag_path);
	at->repo = nf_project_root(req->dag_path);
	rl = at->repo ? strlen(at->repo) : 0;
	if (!at->repo || strncmp(abs, at->repo, rl) != 0 || abs[rl] != '/') {
		err = nf_error_set(NF_EINVALID, "--at needs the pipeline file to be in a git repository");
		goto done;
	}
	if ((err = nf_workspace_resolve(&state_dir, req->dag_path, req->state_dir)) < 0)
		goto done;
	at->dir = xasprintf("%s/worktrees/run-%ld", state_dir, (long)getpid());
	nf_remove_tree(at->dir);
	if ((err = nf_git_checkout_to(at->oid, at->repo, req->at, at->dir)) < 0)
		goto done;
	at->dag = xasprintf("%s/%s", at->dir, abs + rl + 1);
	if (access(at->dag, R_OK) != 0)
		err = nf_error_set(NF_ENOTFOUND, "'%s' does not exist at commit %.12s", abs + rl + 1, at->oid);
done:
	free(abs);
	free(state_dir);
	return err;
}

static void
at_checkout_release(at_checkout *at)
{
	if (at->dir)
		nf_remove_tree(at->dir);
	free(at->repo);
	free(at->dir);
	free(at->dag);
}

/* The end of the run's processes: the scheduler and the runner go (every group still
 * alive is killed and its leader reaped), then whatever left its stage's process group
 * but still carries the run's mark in its environment is killed too, and said. */
static void
stop_processes(run_ctx *ctx)
{
	pid_t pids[8];
	size_t n;
	nf_buf list = NF_BUF_INIT;

	nf_sched_free(ctx->sched);
	ctx->sched = NULL;
	if (ctx->runner && ctx->own_runner)
		ctx->runner->ops->free(ctx->runner);
	ctx->runner = NULL;
	nf_run__slurm_close(ctx);
	if (!ctx->spawned)
		return;
	n = nf_store_procs_kill_escaped(ctx->store, ctx->run_id, getpid(), nf_proc_start_time(getpid()), pids,
					NF_ARRAY_SIZE(pids));
	if (n == 0 || !ctx->req->on_warning)
		return;
	for (size_t i = 0; i < n && i < NF_ARRAY_SIZE(pids); i++)
		nf_buf_printf(&list, "%s%ld", i ? ", " : "", (long)pids[i]);
	if (n > NF_ARRAY_SIZE(pids))
		nf_buf_puts(&list, ", ...");
	{
		char *msg = xasprintf("killed %zu process%s that had left %s stage's process group (setsid): %s", n,
				      n == 1 ? "" : "es", n == 1 ? "its" : "their", nf_buf_cstr(&list));

		ctx->req->on_warning(ctx->req->ctx, msg);
		free(msg);
	}
	nf_buf_release(&list);
}

/* Removes the checkouts of runs --at (worktrees/run-PID) whose ntflow is gone: one killed
 * before it removed its own left a whole tree there, which nothing else would remove. Only
 * a run holding the workspace lock makes one, so with the lock held any other is a leftover
 * (the pid check spares a live one all the same). */
static void
sweep_checkouts(const char *state_dir)
{
	char *dir = xasprintf("%s/worktrees", state_dir);
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char *end, *path;
		long pid;

		if (strncmp(de->d_name, "run-", 4) != 0)
			continue;
		errno = 0;
		pid = strtol(de->d_name + 4, &end, 10);
		if (*end || errno || pid <= 0 || pid > INT_MAX || pid == (long)getpid() ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		(void)nf_remove_tree(path);
		free(path);
	}
	if (d)
		closedir(d);
	(void)rmdir(dir);   /* only when empty */
	nf_error_clear();
	free(dir);
}

/* Takes the workspace's write lock before anything in it is written (a --at checkout, the
 * store's recovery of crashed runs, the run's row, cache objects, outputs); it is held to the
 * end of the run, so no other writer sees a half-done run. */
static int
lock_workspace(run_ctx *ctx)
{
	const nf_run_request *req = ctx->req;
	nf_wslock_opts o = req->lock;
	char *dir = NULL, *what = NULL;
	int err;

	if (ctx->lock)
		return 0;
	if ((err = nf_workspace_resolve(&dir, req->dag_path, req->state_dir)) < 0 ||
	    (err = nf_workspace_make_private(dir, true)) < 0)
		goto done;
	if (!o.what)
		o.what = what = xasprintf("ntflow run %s", req->dag_path);
	if ((err = nf_workspace_lock(&ctx->lock, dir, &o)) == 0)
		sweep_checkouts(dir);
done:
	free(what);
	free(dir);
	return err;
}

/* The store's hook before each commit: the audit records of the batch's cached nodes
 * written (so a commit never holds a node's state without its record), and the cache
 * objects of the batch made durable. */
static int
before_commit(void *vctx)
{
	run_ctx *ctx = vctx;
	int err;

	if (ctx->audit.chain && ctx->audit.err == 0 && (err = nf_audit_flush(ctx->audit.chain)) < 0) {
		ctx->audit.err = err;
		ctx->audit.msg = xstrdup(nf_error_last());
		return err;
	}
	err = nf_objstore_sync(ctx->cache.objs);
	if (nf_test_hook("cache-sync-fail"))
		err = nf_error_set(NF_EIO, "cannot sync the cache objects (test hook)");
	/* The same failure once in the process: a batch lost, the commits after it taken. */
	if (nf_test_hook("cache-sync-fail-once")) {
		static bool fired;

		if (!fired)
			err = nf_error_set(NF_EIO, "cannot sync the cache objects (test hook)");
		fired = true;
	}
	return err;
}

/* A stage produced again an object the cache held corrupt, and it was written anew. */
static void
on_repair(void *vctx, const char *sha256)
{
	run_ctx *ctx = vctx;
	char *msg;

	if (!ctx->req->on_warning)
		return;
	msg = xasprintf("run %lld: rewrote corrupt cache object sha256:%s", (long long)ctx->run_id, sha256);
	ctx->req->on_warning(ctx->req->ctx, msg);
	free(msg);
}

static bool
marker_present(const char *state_dir)
{
	char *path = nf_ws_marker_path(state_dir);
	bool yes = access(path, F_OK) == 0;

	free(path);
	return yes;
}

/* Writes again the final states recorded since the last commit, and their audit records,
 * after a failure of the state database lost the batch that held them (batched: the caller
 * flushes). */
static void
replay_final_states(run_ctx *ctx)
{
	for (size_t k = 0; k < ctx->nfinals; k++) {
		const nf_run_final *f = &ctx->finals[k];
		size_t i = f->node;
		nf_job_result res = { .node = i, .attempt = f->attempt, .exited = f->exited,
				      .exit_code = f->exited ? f->code : 0, .term_signal = f->exited ? 0 : f->code,
				      .wall_ms = f->wall_ms, .user_ms = f->user_ms, .sys_ms = f->sys_ms,
				      .max_rss_kb = f->max_rss_kb };
		char *log = nf_run__log_rel(ctx, i), why[48];
		const char *reason = f->reason;

		if (!reason && f->reused)
			reason = reused_reason(why, f->reused);
		nf_store_node_state(ctx->store, ctx->run_id, ctx->graph->nodes[i].name, (nf_state)f->st, f->attempt,
				    f->has_res ? &res : NULL, reason, 0, log, nf_now_realtime_ms());
		nf_run__audit_replayed(ctx, &ctx->graph->nodes[i], (nf_state)f->st, f->attempt, f->has_res ? &res : NULL,
				       reason, f->reused);
		free(log);
	}
}

/* Records the end of the run: what it ran on, the audit's run-end record and the run's
 * status in one commit. When the state database has failed (or fails at this commit), the
 * batch is dropped and the status is written first in a commit of its own (so the run is
 * never left "running" when the database can still take one row), then the nodes' final
 * states again, then the rest. Returns the first error. */
static int
record_end(run_ctx *ctx, nf_run_status *status)
{
	int e2, e3;

	if (!store_failed(ctx)) {
		nf_hash_settle(nf_store_statcache(ctx->store), 20);
		record_repro(ctx);
		e3 = nf_run__audit_end(ctx, *status);   /* before run_end's flush: one commit */
		e2 = nf_store_run_end(ctx->store, ctx->run_id, *status);
		if (!store_failed(ctx))
			return e2 < 0 ? e2 : e3;
		*status = NF_RUN_FAILED;
	}
	nf_store_abort(ctx->store);
	e2 = nf_store_run_end(ctx->store, ctx->run_id, *status);
	nf_run__audit_restart(ctx);   /* the node records went with the batch: written again */
	replay_final_states(ctx);
	nf_store_run_summarize(ctx->store, ctx->run_id);   /* the counts of the states replayed */
	record_repro(ctx);
	e3 = nf_run__audit_end(ctx, *status);
	if (nf_store_flush(ctx->store) < 0 && e3 == 0)
		e3 = NF_ERROR;
	return e2 < 0 ? e2 : e3 < 0 ? e3 : nf_error_set(ctx->store_err, "stopped: %s", ctx->store_msg);
}

/* The runner, the store and the repository: the caller's (nf_run_deps), else the run's own. */
static int
open_store(run_ctx *ctx)
{
	const nf_run_request *req = ctx->req;
	int err;

	if (!ctx->deps.store) {
		ctx->own_store = true;
		return nf_store_open_workspace(&ctx->store, &ctx->state_dir, req->dag_path, req->state_dir, true);
	}
	ctx->store = ctx->deps.store;
	if ((err = nf_workspace_resolve(&ctx->state_dir, req->dag_path, req->state_dir)) < 0)
		return err;
	return nf_workspace_make_private(ctx->state_dir, true);
}

static int
open_repo(run_ctx *ctx, const at_checkout *at)
{
	int err = 0;

	if (ctx->deps.repo) {
		ctx->cache.repo = ctx->deps.repo;
	} else {
		ctx->cache.own_repo = true;
		err = ctx->req->at ? nf_gitrepo_open_at(&ctx->cache.repo, at->repo, at->dir, at->oid,
							nf_store_statcache(ctx->store))
				   : nf_gitrepo_open(&ctx->cache.repo, ctx->root, nf_store_statcache(ctx->store));
	}
	/* Until the run unsettles (nf_run__cache_unsettle), nothing writes the work tree: a folder
	 * read for one stage's key is the same for the next (a matrix reading data/). */
	if (err == 0 && !ctx->cache.unsettled)
		nf_gitrepo_memo(ctx->cache.repo, true);
	return err;
}

static int
open_runner(run_ctx *ctx)
{
	int err;

	if (ctx->deps.runner) {
		ctx->runner = ctx->deps.runner;
		return 0;
	}
	if ((err = nf_runner_local_new(&ctx->runner, ctx->clock)) < 0)
		return err;
	ctx->own_runner = true;
	nf_runner_local_procs_fd(ctx->runner, ctx->procs_fd);
	return 0;
}

/* The workspace for the run: its lock taken, its store open (crashed runs recovered and
 * said), the registry's files reconciled, what crashed runs left aside put back, the cache's
 * object store and the git repository open. */
static int
open_workspace(run_ctx *ctx, const at_checkout *at)
{
	const nf_run_request *req = ctx->req;
	char *cache_dir;
	int err;

	if ((err = lock_workspace(ctx)) < 0 || (err = open_store(ctx)) < 0)
		return err;
	if (req->on_warning)
		for (const char *const *r = nf_store_recovered(ctx->store); r && *r; r++)
			req->on_warning(req->ctx, *r);
	if ((err = nf_run__reconcile_models(ctx)) < 0)   /* the files under models/ follow the registry */
		return err;
	ctx->trash = xasprintf("%s/trash", ctx->state_dir);
	nf_run__outputs_recover(ctx);   /* what crashed runs left aside, before this run moves anything */
	cache_dir = xasprintf("%s/cache", ctx->state_dir);
	err = nf_objstore_open(&ctx->cache.objs, cache_dir);
	free(cache_dir);
	if (err < 0)
		return err;
	nf_objstore_set_statcache(ctx->cache.objs, nf_store_statcache(ctx->store));
	nf_objstore_on_repair(ctx->cache.objs, on_repair, ctx);
	/* The objects the run stores are synced once per batch, before the commit that holds
	 * the entries naming them (docs/reliability.md), not one by one. */
	nf_objstore_defer_sync(ctx->cache.objs, true);
	nf_store_before_commit(ctx->store, before_commit, ctx);
	return open_repo(ctx, at);
}

/* The pipeline loaded (at a checkout of --at when at), its root, identity, interval and
 * parameters resolved, and the nodes --only/--from select (*selected, NULL: all). */
static int
load(run_ctx *ctx, bool **selected, const at_checkout *at, nf_diag_list *diags)
{
	const nf_run_request *req = ctx->req;
	int err;

	if ((err = nf_graph_load(&ctx->dag, &ctx->graph, at ? at->dag : req->dag_path, diags)) < 0)
		return err;
	nf_dag_drop_needs(ctx->dag);   /* the graph's edges hold them now */
	/* The needs lists, the file's text and the parser's stacks are free now, amid what
	 * the run keeps: 1.7 MB that would stay resident at 100 000 stages. */
	nf_memory_trim();
	if (!(ctx->root = at ? xstrdup(at->dir) : nf_project_root(req->dag_path)))
		return nf_error_set_errno(NF_EIO, "cannot resolve '%s'", req->dag_path);
	if (ctx->dag->has_pipeline) {
		ctx->cache.identity = ctx->dag->pipeline.name;
	} else {
		/* No name: the file's path from the root, the same wherever the run starts. */
		char *abs = realpath(ctx->dag->path, NULL);
		size_t rl = strlen(ctx->root);

		ctx->cache.identity = nf_arena_strdup(ctx->arena, abs && strncmp(abs, ctx->root, rl) == 0 && abs[rl] == '/'
						      ? abs + rl + 1 : ctx->dag->path);
		free(abs);
	}
	ctx->dag_dir = realpath(ctx->dag->dir, NULL);
	if (!ctx->dag_dir)
		ctx->dag_dir = xstrdup(ctx->dag->dir);
	if ((err = nf_run__logical(ctx)) < 0)
		return err;
	if (req->executor) {
		/* --executor: every stage runs there, whatever the file says. */
		if (strcmp(req->executor, "local") != 0 && strcmp(req->executor, "slurm") != 0)
			return nf_error_set(NF_EINVALID, "unknown executor '%s' (--executor): \"local\" or \"slurm\"",
					    req->executor);
		for (size_t i = 0; i < ctx->dag->nstages; i++)
			ctx->dag->stages[i].opts->executor = req->executor;   /* shared ones too */
	}
	ctx->total = ctx->graph->nnodes;
	ctx->nodes = xcalloc(ctx->total + 1, sizeof(*ctx->nodes));
	if ((err = nf_params_resolve(&ctx->params, ctx->arena, &ctx->dag->pipeline, req->params, req->nparams)) < 0 ||
	    (err = select_nodes(selected, ctx)) < 0)
		return err;
	return 0;
}

/* The scheduler over the run's graph with its runner and clock, run to the end. */
static int
schedule(run_ctx *ctx, const bool *selected, nf_run_status *status)
{
	const nf_run_request *req = ctx->req;
	nf_sched_opts sopts;
	nf_sched_hooks hooks;
	int err;

	memset(&sopts, 0, sizeof(sopts));
	sopts.slots = req->jobs > 0 ? req->jobs : ctx->dag->pipeline.concurrency > 0 ? ctx->dag->pipeline.concurrency
			: (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (sopts.slots < 1)
		sopts.slots = 1;
	sopts.keep_going = req->keep_going;
	sopts.selected = selected;
	sopts.seed = (uint64_t)nf_now_realtime_ms() ^ (uint64_t)getpid();
	if (ctx->slurm) {
		sopts.runners = &ctx->slurm;
		sopts.nrunners = 1;
	}
	memset(&hooks, 0, sizeof(hooks));
	hooks.ctx = ctx;
	hooks.prepare = hook_prepare;
	hooks.finish = hook_finish;
	hooks.on_state = hook_on_state;
	hooks.on_tick = hook_on_tick;
	hooks.may_defer = hook_may_defer;
	if (req->on_tick)
		hooks.tick_ms = req->tick_ms > 0 ? req->tick_ms : 100;
	if ((err = nf_sched_new(&ctx->sched, ctx->graph, ctx->runner, ctx->clock, &sopts, &hooks)) < 0)
		return err;
	/* the dashboard's terminal wakes the scheduler's loop */
	if (req->on_tick && req->wake_fd >= 0)
		nf_sched_wake_fd(ctx->sched, req->wake_fd);
	err = nf_sched_run(ctx->sched, status);
	/* Scheduling is over: its per-node state goes now, not when the run ends, so that it
	 * is not held while the end reads the run's records back (the audit root, budgets).
	 * Every attempt has ended, or is killed here as stop_processes would. */
	nf_sched_free(ctx->sched);
	ctx->sched = NULL;
	return err;
}

/* What the run holds, but its arena, checkout and lock, released. */
static void
release(run_ctx *ctx)
{
	nf_sched_free(ctx->sched);
	if (ctx->runner && ctx->own_runner)
		ctx->runner->ops->free(ctx->runner);
	nf_run__slurm_close(ctx);
	nf_run__outputs_settle_all(ctx);   /* after free: no attempt's process is left to write */
	if (ctx->store && ctx->cache.objs) {
		/* Nothing the batch still holds is committed naming an object that is not durable
		 * (the close commits it): synced, or else dropped. */
		if (nf_objstore_sync(ctx->cache.objs) < 0)
			nf_store_abort(ctx->store);
		nf_store_before_commit(ctx->store, NULL, NULL);
	}
	/* Before the store goes (closed, or the caller's): its thread reads ahead for this run. */
	nf_store_ahead_stop(ctx->store);
	if (ctx->own_store)
		nf_store_close(ctx->store);
	else if (ctx->store)
		nf_store_nodes_forget(ctx->store);   /* the caller's store outlives the graph */
	for (size_t i = 0; ctx->nodes && i < ctx->total; i++) {
		nf_run_node *n = &ctx->nodes[i];

		if (ctx->metrics && ctx->metrics[i]) {
			nf_metric_set_release(ctx->metrics[i]);
			free(ctx->metrics[i]);
		}
		if (n->flight) {
			free(n->flight->key);
			free(n->flight->comps);
			free(n->flight->aside.stem);
			free(n->flight);
		}
		if (!n->out_is_raw)
			free(n->out.text);
	}
	free(ctx->nodes);
	free(ctx->metrics);
	finals_clear(ctx);
	free(ctx->finals);
	free(ctx->best);
	free(ctx->store_msg);
	nf_run__reserve_release(ctx);
	free(ctx->trash);
	if (ctx->cache.own_repo)
		nf_gitrepo_free(ctx->cache.repo);
	else
		nf_gitrepo_memo(ctx->cache.repo, false);   /* the caller's, for runs to come */
	nf_run__cache_release(ctx);
	nf_objstore_free(ctx->cache.objs);
	free(ctx->job.base_env);
	free(ctx->job.env);
	nf_arena_free(ctx->job.arena);
	nf_strmap_free(ctx->job.base_index);
	nf_buf_release(&ctx->job.words);
	free(ctx->job.argv);
	free(ctx->job.log);
	free(ctx->job.reason);
	nf_buf_release(&ctx->job.cmd);
	nf_strmap_free(ctx->params);
	nf_graph_free(ctx->graph);
	nf_dag_free(ctx->dag);
	free(ctx->root);
	free(ctx->state_dir);
	free(ctx->dag_dir);
}

/* The object behind nf_run: the run's context (seen from the dashboard as nf_run_ctl) and
 * what only nf_run_exec uses. */
struct nf_run {
	run_ctx ctx;
	bool executed;
};

int
nf_run_new(nf_run **out, const nf_run_request *req, const nf_run_deps *deps)
{
	nf_run *run = xcalloc(1, sizeof(*run));

	run->ctx.req = req;
	if (deps)
		run->ctx.deps = *deps;
	run->ctx.procs_fd = -1;
	*out = run;
	return 0;
}

int64_t
nf_run_id(const nf_run *run)
{
	return run ? run->ctx.run_id : 0;
}

void
nf_run_free(nf_run *run)
{
	free(run);
}

/* A refused cohort as its error quotes it: "..." with at most its first 64 bytes, cut at a
 * character and followed by an ellipsis when there is more (an expansion can be kilobytes),
 * each byte that is a control or not UTF-8 as \xNN. Caller frees. */
static char *
cohort_quote(const char *text)
{
	const char *end = text + strlen(text), *p = text;
	nf_buf b = NF_BUF_INIT;

	nf_buf_add(&b, "\"", 1);
	while (p < end && p - text < 64) {
		const unsigned char *c = (const unsigned char *)p;
		size_t n = nf_visible_len(p, end);

		if (n > 1 && p + n - text > 64)
			break;   /* a character that the cut would split */
		if (n == 0) {
			nf_buf_printf(&b, "\\x%02x", *c);
			p++;
		} else {
			if (*c == '"' || *c == '\\')
				nf_buf_add(&b, "\\", 1);
			nf_buf_add(&b, p, n);
			p += n;
		}
	}
	nf_buf_add(&b, p < end ? "…\"" : "\"", p < end ? 4 : 1);
	return nf_buf_detach(&b);
}

/* The run's cohort: --cohort, else the pipeline's template expanded with the run's values
 * (${run.id} is not known yet: validate refuses it there); NULL without either. An empty
 * result is no cohort. */
static int
run_cohort(run_ctx *ctx, char **out)
{
	const nf_tmpl *t = ctx->dag->has_pipeline ? ctx->dag->pipeline.cohort : NULL;
	char *msg, *text = NULL;
	int err;

	*out = NULL;
	if (ctx->req->cohort) {
		*out = *ctx->req->cohort ? xstrdup(ctx->req->cohort) : NULL;
		return 0;
	}
	if (!t)
		return 0;
	if ((err = nf_run__expand_recorded(&text, ctx, NULL, t)) < 0) {
		msg = xstrdup(nf_error_last());
		err = nf_error_set(err, "cannot name the run's cohort: %s", msg);
		free(msg);
		return err;
	}
	if ((err = nf_cohort_check(text)) < 0 && *text) {
		char *quoted = cohort_quote(text);

		msg = xstrdup(nf_error_last());
		err = nf_error_set(err, "cannot name the run's cohort %s: %s", quoted, msg);
		free(quoted);
		free(msg);
		return err;
	}
	*out = *text ? xstrdup(text) : NULL;   /* text is the run's arena's */
	return 0;
}

int
nf_run_exec(nf_run *run, nf_run_status *status)
{
	run_ctx ctx;
	at_checkout at = { NULL, NULL, NULL, "" };
	const nf_run_request *req = run->ctx.req;
	bool *selected = NULL;
	nf_run_info info;
	nf_diag_list own_diags, *diags = req->diags ? req->diags : &own_diags;
	nf_run_status decided = NF_RUN_RUNNING;   /* the outcome recorded as decided, if any */
	int err;

	*status = NF_RUN_FAILED;
	if (run->executed)
		return nf_error_set(NF_EINVALID, "this run was already executed");
	run->executed = true;
	memset(&own_diags, 0, sizeof(own_diags));
	memset(&info, 0, sizeof(info));
	ctx = run->ctx;
	ctx.arena = nf_arena_new();
	ctx.clock = ctx.deps.clock ? ctx.deps.clock : nf_clock_system();
	ctx.procs_fd = -1;
	nf_store_runner_mark(ctx.mark, sizeof(ctx.mark), getpid(), nf_proc_start_time(getpid()));
	ctx.trigger = req->trigger ? req->trigger : "manual";
	ctx.flush_turn = NF_RUN_FLUSH_TURN;
	if (nf_test_hook_value("NTFLOW_TEST_FLUSH_TURN"))   /* a test sees a turn's commits with few stages */
		ctx.flush_turn = (unsigned)atoi(nf_test_hook_value("NTFLOW_TEST_FLUSH_TURN"));

	if (req->at && ((err = lock_workspace(&ctx)) < 0 || (err = checkout_at(&at, req)) < 0))
		goto done;
	if ((err = load(&ctx, &selected, req->at ? &at : NULL, diags)) < 0)
		goto done;

	if (req->dry_run) {
		err = plan(&ctx, selected);
		*status = NF_RUN_SUCCEEDED;
		goto done;
	}
	if ((err = check_secrets(&ctx, selected)) < 0)
		goto done;

	if ((err = open_workspace(&ctx, &at)) < 0)
		goto done;

	info.pipeline = xstrdup(ctx.dag->has_pipeline ? ctx.dag->pipeline.name : req->dag_path);
	info.file = xstrdup(req->dag_path);
	info.logical_date = xstrdup(ctx.date);
	info.interval_start = xstrdup(ctx.interval_start);
	info.interval_end = xstrdup(ctx.interval_end);
	info.trigger = xstrdup(ctx.trigger);
	info.params_json = params_json(&ctx);
	if (nf_gitrepo_head(ctx.cache.repo))
		info.commit = xstrdup(nf_gitrepo_head(ctx.cache.repo));
	ctx.commit = info.commit;
	if (nf_gitrepo_branch(ctx.cache.repo))
		ctx.branch = nf_arena_strdup(ctx.arena, nf_gitrepo_branch(ctx.cache.repo));
	ctx.pipeline = info.pipeline;
	if ((err = run_cohort(&ctx, &info.cohort)) < 0)
		goto done;
	ctx.cohort = info.cohort;
	/* Room for the run's final state, however full the disk gets meanwhile (space.c). */
	if ((err = nf_run__reserve_take(&ctx)) < 0 || (err = nf_store_run_begin(ctx.store, &info)) < 0)
		goto done;
	ctx.run_id = info.id;
	run->ctx.run_id = info.id;
	/* Only what waiters are told: a failure is worth a warning, not the run. */
	if (nf_workspace_lock_set_run(ctx.lock, ctx.run_id) < 0 && req->on_warning)
		req->on_warning(req->ctx, nf_error_last());
	if ((err = nf_run__audit_begin(&ctx, &info)) < 0 || (err = build_base_env(&ctx)) < 0)
		goto end_run;
	/* Not flushed here: the rows go in with the first batch, each as its node is by then,
	 * so a node found cached before it is written once (nf_store_nodes_add). */
	if ((err = nf_store_nodes_add(ctx.store, ctx.run_id, ctx.graph)) < 0)
		goto end_run;
	/* The workspace now has held a run: from here a missing database is an error. */
	if (!marker_present(ctx.state_dir) && (err = nf_store_mark_workspace(ctx.store)) < 0)
		goto end_run;
	if (req->on_start)
		req->on_start(req->ctx, ctx.run_id, info.pipeline, ctx.total);
	nf_run__lineage_begin(&ctx);

	/* Each stage's process records its group here before it runs its command. */
	if ((err = nf_store_procs_open(&ctx.procs_fd, ctx.store, ctx.run_id)) < 0 ||
	    (err = open_runner(&ctx)) < 0 || (err = nf_run__slurm_open(&ctx, selected)) < 0)
		goto end_run;
	nf_run__statcache_preload(&ctx, selected);
	err = schedule(&ctx, selected, status);
	if (err == 0 && store_failed(&ctx))
		err = nf_error_set(ctx.store_err, "stopped: %s", ctx.store_msg);
	/* Once the outcome is known, and recorded as decided: a failed run never changes
	 * production, and a run that dies from here on is recovered with its outcome (a model it
	 * put in production is a succeeded run's, never a crashed one's). */
	if (err == 0 && ctx.dag->nmodels) {
		if ((err = nf_store_run_ending(ctx.store, ctx.run_id, *status)) < 0)
			store_failed(&ctx);
		else
			decided = *status;
	}
	if (err == 0)
		err = nf_run__register_models(&ctx, info.params_json, info.commit, *status);
	if (err == 0 && !store_failed(&ctx)) {   /* every attempt has ended: CPU per phase */
		const nf_pipeline *pl = &ctx.dag->pipeline;
		nf_cpu_budget b = { pl->cpu_baseline.run, pl->cpu_baseline.median, pl->cpu_target_pct };

		err = nf_budget_record(ctx.store, ctx.run_id, ctx.pipeline, pl->cpu_baseline.loc.file ? &b : NULL);
	}
	if (err == 0 && store_failed(&ctx))
		err = nf_error_set(ctx.store_err, "stopped: %s", ctx.store_msg);
end_run:
	if (err < 0)
		*status = NF_RUN_FAILED;
	/* The outcome recorded as decided changed (registering a model failed): a crash from
	 * here must not be recovered with the one before. */
	if (decided != NF_RUN_RUNNING && decided != *status && !store_failed(&ctx)) {
		char *why = err < 0 ? xstrdup(nf_error_last()) : NULL;   /* the run's error, kept */

		if (nf_store_run_ending(ctx.store, ctx.run_id, *status) < 0 && req->on_warning) {
			char *msg = xasprintf("%s (a crash before the run's end is recorded would be recovered as %s)",
					      nf_error_last(), nf_run_status_name(decided));

			req->on_warning(req->ctx, msg);
			free(msg);
		}
		if (why)
			nf_error_set(err, "%s", why);
		free(why);
	}
	stop_processes(&ctx);   /* before the run is recorded as ended: recovery covers a crash till then */
	nf_run__reserve_release(&ctx);   /* the room kept for what follows */
	/* No process of the run is left, so its record goes now: recovery reads it only for a
	 * run still "running", and once the end below is committed nothing would remove it. */
	if (ctx.procs_fd >= 0) {
		close(ctx.procs_fd);
		ctx.procs_fd = -1;
		nf_store_procs_remove(ctx.store, ctx.run_id);
	}
	{
		char *msg = err < 0 ? xstrdup(nf_error_last()) : NULL;
		int e2;

		/* With its end, in the same commit: `show` says why a run failed that no stage
		 * failed (a database that failed records its status alone, record_end) */
		if (msg && !store_failed(&ctx))
			(void)nf_store_run_error_set(ctx.store, ctx.run_id, msg);   /* a failure: record_end sees it */
		e2 = record_end(&ctx, status);

		nf_run__lineage_end(&ctx, *status, msg);   /* once the outcome is recorded */
		if (msg) {
			nf_error_set(err, "%s", msg);
			free(msg);
		} else if (e2 < 0) {
			err = e2;
		}
	}
	if (nf_test_hook("run-after-end"))
		raise(SIGKILL);   /* the tests' crash once the run's end is recorded */
	/* After the outcome is recorded, whatever it is; not from a database that failed. */
	if (!ctx.store_err)
		nf_run__hooks(&ctx, *status);
	if (!ctx.store_err)
		nf_run__retention(&ctx);
	/* The marker follows the audit chain's head (not from a database that failed). */
	if (!ctx.store_err && nf_store_mark_workspace(ctx.store) < 0 && req->on_warning)
		req->on_warning(req->ctx, nf_error_last());
done:
	nf_run__hook_events_free(&ctx);
	release(&ctx);
	nf_run_info_release(&info);
	free(selected);
	nf_arena_free(ctx.arena);
	at_checkout_release(&at);
	nf_workspace_unlock(ctx.lock);   /* last: the checkout's removal was a write too */
	if (!req->diags)
		nf_diag_list_release(&own_diags);
	return err;
}
