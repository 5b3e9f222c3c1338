/* view.c: the dashboard's view model: one run as the panes see it, read from the state
 * database (cheaply: the data version says whether anything was committed since the
 * last look) and, inside `ntflow run`, updated by the run's events as they happen. */
#include "config.h"
#include "tui-internal.h"
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "ntflow/dag.h"
#include "ntflow/gov.h"

#define HISTORY_RUNS 10          /* runs a median looks back over */
#define SPARK_RUNS 30
#define LOG_TAIL_BYTES 65536
#define GOV_MS 2000             /* the governance panes, at most this often while a run changes */

bool
nf_state_active(nf_state s)
{
	return s == NF_ST_RUNNING || s == NF_ST_RETRYING || s == NF_ST_READY;
}

void
nf_view_message(nf_view *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->message, sizeof(v->message), fmt, ap);
	va_end(ap);
	v->message_until = nf_now_monotonic_ms() + 5000;
}

static char *
str_dup(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static nf_state
state_parse(const char *s)
{
	for (int i = 0; s && i < NF_ST__COUNT; i++)
		if (strcmp(nf_state_name((nf_state)i), s) == 0)
			return (nf_state)i;
	return NF_ST_WAITING;
}

static int64_t
data_version(nf_view *v)
{
	return nf_store_data_version(v->st);
}

/* ---- nodes ---- */

static void
nodes_free(nf_view *v)
{
	for (size_t i = 0; i < v->nnodes; i++) {
		nf_vnode *n = &v->nodes[i];

		free(n->name);
		free(n->stage);
		free(n->instance);
		free(n->kind);
		free(n->reason);
		free(n->log_path);
		free(n->slurm);
	}
	free(v->nodes);
	v->nodes = NULL;
	v->nnodes = 0;
	free(v->groups);
	v->groups = NULL;
	v->ngroups = 0;
	nf_strmap_free(v->by_name);
	v->by_name = NULL;
	v->nrows = 0;
}

static void
set_str(char **dst, const char *src)
{
	if (src && *dst && strcmp(*dst, src) == 0)
		return;
	free(*dst);
	*dst = src ? xstrdup(src) : NULL;
}

static int
stage_max(const nf_view *v, const char *stage)
{
	void *at = v->stage_index ? nf_strmap_get(v->stage_index, stage) : NULL;

	return at ? v->stage_max[(uintptr_t)at - 1] : 0;
}

/* Groups consecutive nodes of one stage (matrix instances are listed together). */
static void
build_groups(nf_view *v)
{
	size_t cap = 0;

	free(v->groups);
	v->groups = NULL;
	v->ngroups = 0;
	for (size_t i = 0; i < v->nnodes; i++) {
		nf_vnode *n = &v->nodes[i];

		if (v->ngroups && n->instance && strcmp(v->groups[v->ngroups - 1].stage, n->stage) == 0) {
			v->groups[v->ngroups - 1].count++;
		} else {
			nf_vgroup g = { n->stage, i, 1, false };

			NF_PUSH(v->groups, v->ngroups, cap, g);
		}
		n->group = v->ngroups - 1;
	}
	/* Small matrices open, big ones folded to one line. */
	for (size_t g = 0; g < v->ngroups; g++)
		v->groups[g].expanded = v->groups[g].count <= 8;
}

/* Where load_nodes is while the store hands it the run's nodes. */
typedef struct nodes_load {
	nf_view *v;
	size_t i;
	bool rebuild;
	unsigned changed;
} nodes_load;

static void
load_node(void *ctx, const nf_dash_node *row)
{
	nodes_load *l = ctx;
	nf_view *v = l->v;
	size_t i = l->i;
	nf_vnode *n;
	nf_state st;

	if (!row->name)
		return;
	if (!l->rebuild && (i >= v->nnodes || strcmp(v->nodes[i].name, row->name) != 0)) {
		/* A different node set: start over from this row. */
		l->rebuild = true;
		for (size_t k = i; k < v->nnodes; k++) {
			free(v->nodes[k].name);
			free(v->nodes[k].stage);
			free(v->nodes[k].instance);
			free(v->nodes[k].kind);
			free(v->nodes[k].reason);
			free(v->nodes[k].log_path);
			free(v->nodes[k].slurm);
		}
		v->nnodes = i;
	}
	if (l->rebuild) {
		size_t cap = v->nnodes;

		v->nodes = xgrow(v->nodes, sizeof(*v->nodes), i + 1, &cap);
		n = &v->nodes[i];
		memset(n, 0, sizeof(*n));
		n->name = xstrdup(row->name);
		n->stage = str_dup(row->stage);
		n->instance = str_dup(row->instance);
		n->kind = str_dup(row->kind);
		n->median_ms = -1;
		n->max_attempts = stage_max(v, n->stage ? n->stage : "");
		n->budget = n->max_attempts;
		if (!n->stage)
			n->stage = xstrdup(row->name);
		if (!n->kind)
			n->kind = xstrdup("stage");
		v->nnodes = i + 1;
	}
	n = &v->nodes[i];
	st = state_parse(row->state);
	if (st != n->state || row->attempts != n->attempt ||
	    row->finished_ms != n->finished_ms || row->attempt_started_ms != n->attempt_ms)
		l->changed |= NF_V_NODES;
	n->state = st;
	n->attempt = row->attempts;
	if (n->budget > 0) {
		/* After a retry from a dashboard the attempts go on past the budget: counted in
		 * budgets (4/6), as nf_view_event counts them, so every dashboard says the same. */
		n->max_attempts = n->budget;
		while (n->attempt > n->max_attempts)
			n->max_attempts += n->budget;
	}
	n->started_ms = row->started_ms;
	n->finished_ms = row->finished_ms;
	n->reused_run = row->reused_run;
	n->wall_ms = row->wall_ms;
	n->attempt_ms = row->attempt_started_ms;
	if (!n->attempt_ms)
		n->attempt_ms = n->started_ms;
	set_str(&n->reason, row->reason);
	set_str(&n->log_path, row->log_path);
	if ((row->slurm || n->slurm) && (!row->slurm || !n->slurm || strcmp(row->slurm, n->slurm) != 0))
		l->changed |= NF_V_NODES;
	set_str(&n->slurm, row->slurm);
	l->i++;
}

/* A live run's node from the store: only its Slurm job, which events do not carry. Rows
 * come in the order the events made the nodes in, mostly: l->i is tried first. */
static void
load_slurm_node(void *ctx, const nf_dash_node *row)
{
	nodes_load *l = ctx;
	nf_view *v = l->v;
	nf_vnode *n = NULL;

	if (l->i < v->nnodes && strcmp(v->nodes[l->i].name, row->name) == 0)
		n = &v->nodes[l->i];
	for (size_t k = 0; !n && k < v->nnodes; k++)
		if (strcmp(v->nodes[k].name, row->name) == 0)
			n = &v->nodes[k];
	l->i++;
	if (!n)
		return;
	if ((row->slurm || n->slurm) && (!row->slurm || !n->slurm || strcmp(row->slurm, n->slurm) != 0))
		l->changed |= NF_V_NODES;
	set_str(&n->slurm, row->slurm);
}

/* ntflow run's own dashboard: its nodes come from events, but a Slurm job's id, state and
 * reason come from the same store rows as dash's (one source), read once the run has any. */
static unsigned
load_slurm(nf_view *v)
{
	nodes_load l = { .v = v };

	if (!v->slurm_run) {
		nf_slurm_job_row *rows = NULL;
		size_t n = 0;

		if (nf_store_slurm_jobs_of_run(v->st, v->run_id, &rows, &n) < 0) {
			nf_error_clear();
			return 0;
		}
		nf_slurm_job_rows_free(rows, n);
		if (!(v->slurm_run = n > 0))
			return 0;
	}
	if (nf_store_dash_nodes(v->st, v->run_id, load_slurm_node, &l) < 0) {
		nf_error_clear();
		return 0;
	}
	return l.changed;
}

/* Reads the nodes of the run; rebuilds the list when the set of nodes changed, else
 * updates in place. Returns NF_V_NODES (and NF_V_ROWS on a rebuild) or 0. */
static unsigned
load_nodes(nf_view *v)
{
	nodes_load l = { .v = v };
	size_t i;
	bool rebuild;
	unsigned changed;

	if (nf_store_dash_nodes(v->st, v->run_id, load_node, &l) < 0)
		return 0;
	i = l.i;
	rebuild = l.rebuild;
	changed = l.changed;
	if (i < v->nnodes) {   /* fewer rows than before: another run */
		for (size_t k = i; k < v->nnodes; k++) {
			nf_vnode *n = &v->nodes[k];

			free(n->name);
			free(n->stage);
			free(n->instance);
			free(n->kind);
			free(n->reason);
			free(n->log_path);
			free(n->slurm);
		}
		v->nnodes = i;
		rebuild = true;
	}
	v->ndone = 0;
	for (size_t k = 0; k < v->nnodes; k++)
		if (nf_state_is_final(v->nodes[k].state))
			v->ndone++;
	if (rebuild) {
		nf_strmap_free(v->by_name);
		v->by_name = nf_strmap_new(v->nnodes);
		for (size_t k = 0; k < v->nnodes; k++)
			nf_strmap_put(v->by_name, v->nodes[k].name, (void *)(uintptr_t)(k + 1));
		build_groups(v);
		nf_view_rows(v);
		changed |= NF_V_NODES | NF_V_ROWS;
	}
	return changed;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The wall times of one node at a time, as the store hands them over (by node name). */
typedef struct walls_load {
	nf_view *v;
	char *cur;
	int64_t *walls;
	size_t nw, cap;
} walls_load;

/* The median of the walls gathered for l->cur, onto its node. */
static void
walls_flush(walls_load *l)
{
	nf_view *v = l->v;
	void *idx;

	if (!l->cur)
		return;
	idx = v->by_name ? nf_strmap_get(v->by_name, l->cur) : NULL;
	if (idx && l->nw) {
		qsort(l->walls, l->nw, sizeof(*l->walls), cmp_i64);
		v->nodes[(uintptr_t)idx - 1].median_ms = l->nw % 2 ? l->walls[l->nw / 2]
			: (l->walls[l->nw / 2 - 1] + l->walls[l->nw / 2]) / 2;
	}
	l->nw = 0;
	free(l->cur);
	l->cur = NULL;
}

static void
walls_add(void *ctx, const char *name, int64_t wall_ms)
{
	walls_load *l = ctx;

	if (l->cur && strcmp(name, l->cur) != 0)
		walls_flush(l);
	if (!l->cur)
		l->cur = xstrdup(name);
	NF_PUSH(l->walls, l->nw, l->cap, wall_ms);
}

/* Each node's median wall time over the pipeline's recent successful runs. */
static void
load_medians(nf_view *v)
{
	walls_load l = { .v = v };

	for (size_t i = 0; i < v->nnodes; i++)
		v->nodes[i].median_ms = -1;
	if (!v->have_run)
		return;
	if (nf_store_dash_walls(v->st, v->run.pipeline, v->run_id, HISTORY_RUNS, walls_add, &l) == 0)
		walls_flush(&l);
	free(l.cur);
	free(l.walls);
}

/* ---- the DAG file, for what the database does not keep ---- */

static void
dag_info_free(nf_view *v)
{
	for (size_t i = 0; i < v->nstage_max; i++)
		free(v->stage_names[i]);
	free(v->stage_names);
	free(v->stage_max);
	nf_strmap_free(v->stage_index);
	v->stage_index = NULL;
	v->stage_names = NULL;
	v->stage_max = NULL;
	v->nstage_max = 0;
	free(v->monitor_metric);
	v->monitor_metric = NULL;
	for (size_t i = 0; i < v->ngate_metrics; i++)
		free(v->gate_metrics[i]);
	free(v->gate_metrics);
	v->gate_metrics = NULL;
	v->ngate_metrics = 0;
	free(v->pipeline);
	free(v->schedule);
	v->pipeline = v->schedule = NULL;
}

/* The first name in an expression ("max_psi > 0.25" -> "max_psi"). */
static char *
first_name(const char *expr)
{
	const char *p = expr, *s;

	while (*p && !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_'))
		p++;
	s = p;
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
	       *p == '_' || *p == '.')
		p++;
	return p > s ? xstrndup(s, (size_t)(p - s)) : NULL;
}

/* The pipeline's name and schedule (parsed, in its zone), when it has one. */
static void
load_schedule(nf_view *v, const nf_dag *dag)
{
	const nf_pipeline *pl = &dag->pipeline;

	if (!dag->has_pipeline)
		return;
	v->pipeline = xstrdup(pl->name);
	/* validated by the load: these do not fail */
	if (pl->schedule && nf_cron_parse(&v->cron, pl->schedule, NULL) == 0 && nf_tz_open(&v->tz, pl->timezone) == 0)
		v->schedule = xstrdup(pl->schedule);
}

/* Retries per stage, the monitored metric and the schedule, from the run's DAG file when it
 * is still where the run found it (relative to the workspace root or to here); without a
 * run (or that file), from the file `dash FILE` names. */
static void
load_dag_info(nf_view *v)
{
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_dag *dag = NULL;
	char *path = NULL;
	size_t cap = 0, mcap = 0, gcap = 0;

	dag_info_free(v);
	if (v->have_run && v->run.file && *v->run.file) {
		if (v->run.file[0] != '/' && v->root) {
			path = xasprintf("%s/%s", v->root, v->run.file);
			if (access(path, R_OK) != 0) {
				free(path);
				path = NULL;
			}
		}
		if (!path && access(v->run.file, R_OK) == 0)
			path = xstrdup(v->run.file);
	}
	if (!path && v->dag_path)
		path = xstrdup(v->dag_path);
	if (!path)
		return;
	if (access(path, R_OK) == 0 && nf_dag_load(&dag, path, &diags) == 0) {
		load_schedule(v, dag);
		v->stage_index = nf_strmap_new(dag->nstages);
		for (size_t i = 0; i < dag->nstages; i++) {
			const nf_stage *s = &dag->stages[i];

			v->stage_max = xgrow(v->stage_max, sizeof(*v->stage_max), v->nstage_max + 1, &mcap);
			v->stage_max[v->nstage_max] = s->opts->retries + 1;
			NF_PUSH(v->stage_names, v->nstage_max, cap, xstrdup(s->name));
			if (!nf_strmap_get(v->stage_index, s->name))   /* names are unique: the first */
				nf_strmap_put(v->stage_index, v->stage_names[v->nstage_max - 1],
					      (void *)(uintptr_t)v->nstage_max);
			if (!v->monitor_metric && s->kind == NF_MONITOR && nf_more(s)->nalerts > 0)
				v->monitor_metric = first_name(nf_more(s)->alerts[0].when.text);
			for (size_t k = 0; s->kind == NF_GATE && k < nf_more(s)->nrequire; k++) {
				char *m = first_name(nf_more(s)->require[k].text);

				if (m)
					NF_PUSH(v->gate_metrics, v->ngate_metrics, gcap, m);
			}
		}
	}
	nf_dag_free(dag);
	nf_diag_list_release(&diags);
	free(path);
}

/* ---- gate, registry, alerts ---- */

static void
crits_free(nf_view *v)
{
	for (size_t i = 0; i < v->ncrits; i++) {
		free(v->crits[i].node);
		free(v->crits[i].expr);
		free(v->crits[i].verdict);
		free(v->crits[i].note);
	}
	free(v->crits);
	v->crits = NULL;
	v->ncrits = 0;
}

static unsigned
load_gate(nf_view *v)
{
	nf_gate_result *gates = NULL;
	size_t ngates = 0, cap = 0;

	crits_free(v);
	if (nf_gate_list(v->st, v->run_id, &gates, &ngates) == 0) {
		for (size_t g = 0; g < ngates; g++) {
			for (size_t i = 0; i < gates[g].n; i++) {
				const nf_gate_criterion *gc = &gates[g].criteria[i];
				nf_vcrit c;

				memset(&c, 0, sizeof(c));
				c.node = xstrdup(gates[g].name);
				c.expr = xstrdup(gc->expr ? gc->expr : "");
				c.has_left = gc->has_left;
				c.left = gc->left;
				c.has_right = gc->has_right;
				c.right = gc->right;
				c.verdict = xstrdup(gc->passed ? "pass" : "fail");
				c.note = gc->note ? xstrdup(gc->note) : NULL;
				NF_PUSH(v->crits, v->ncrits, cap, c);
			}
		}
		nf_gate_result_list_free(gates, ngates);
	}
	/* The gate nodes themselves say pending, passed or rejected. */
	v->ngates = v->ngates_done = 0;
	free(v->gate_name);
	free(v->gate_reason);
	v->gate_name = v->gate_reason = NULL;
	v->gate_state = NF_ST_WAITING;
	for (size_t i = 0; i < v->nnodes; i++) {
		const nf_vnode *n = &v->nodes[i];

		if (strcmp(n->kind, "gate") != 0)
			continue;
		v->ngates++;
		if (nf_state_is_final(n->state))
			v->ngates_done++;
		v->gate_state = n->state;
		set_str(&v->gate_name, n->name);
		set_str(&v->gate_reason, n->reason);
	}
	return NF_V_GATE;
}

static void
versions_free(nf_view *v)
{
	for (size_t i = 0; i < v->nversions; i++) {
		free(v->versions[i].model);
		free(v->versions[i].status);
		free(v->versions[i].metrics);
		free(v->versions[i].why);
	}
	free(v->versions);
	v->versions = NULL;
	v->nversions = 0;
}

/* "auc 0.934  accuracy 0.912" from a metrics object: the gate's metrics first, then the rest. */
static char *
metrics_text(const char *json, const nf_view *v)
{
	cJSON *o = json ? cJSON_Parse(json) : NULL, *it;
	nf_buf b = NF_BUF_INIT;
	int shown = 0;

	if (!o)
		return xstrdup("");
	for (int pass = 0; pass < 2; pass++) {
		cJSON_ArrayForEach(it, o) {
			bool in_gate = false;

			if (!cJSON_IsNumber(it) || shown >= 3)
				continue;
			for (size_t i = 0; i < v->ngate_metrics && !in_gate; i++)
				in_gate = strcmp(v->gate_metrics[i], it->string) == 0;
			if (in_gate != (pass == 0))
				continue;
			nf_buf_printf(&b, "%s%s %.3g", shown ? "  " : "", it->string, it->valuedouble);
			shown++;
		}
	}
	cJSON_Delete(o);
	{
		char *text = nf_buf_detach(&b);

		return text ? text : xstrdup("");
	}
}

static int
production_then_newest(const void *a, const void *b)
{
	const nf_model_version *x = a, *y = b;
	bool px = x->status && strcmp(x->status, "production") == 0;
	bool py = y->status && strcmp(y->status, "production") == 0;

	/* the production version first: the pane keeps it pinned on top */
	if (px != py)
		return px ? -1 : 1;
	if (x->created_ms != y->created_ms)
		return x->created_ms > y->created_ms ? -1 : 1;
	return x->version > y->version ? -1 : x->version < y->version;
}

static unsigned
load_registry(nf_view *v)
{
	nf_model_version *all = NULL;
	size_t n = 0, cap = 0;

	versions_free(v);
	if (!v->have_run || nf_registry_list(v->st, NULL, &all, &n) < 0)
		return NF_V_REG;
	if (n > 1)
		qsort(all, n, sizeof(*all), production_then_newest);
	for (size_t i = 0; i < n && v->nversions < 50; i++) {
		nf_vversion m;

		if (!all[i].pipeline || strcmp(all[i].pipeline, v->run.pipeline) != 0)
			continue;
		memset(&m, 0, sizeof(m));
		m.model = xstrdup(all[i].model);
		m.version = all[i].version;
		m.status = xstrdup(all[i].status ? all[i].status : "");
		m.metrics = metrics_text(all[i].metrics_json, v);
		m.run_id = all[i].run_id;
		m.created_ms = all[i].created_ms;
		if (strcmp(m.status, "production") == 0) {   /* why the champion is the champion */
			nf_model_event *ev = NULL;
			size_t nev = 0;

			if (nf_registry_events(v->st, all[i].model, all[i].version, &ev, &nev) == 0)
				m.why = nf_registry_why_brief(&all[i], ev, nev);
			nf_model_event_list_free(ev, nev);
		}
		NF_PUSH(v->versions, v->nversions, cap, m);
	}
	nf_model_version_list_free(all, n);
	if (v->reg_sel >= v->nversions)
		v->reg_sel = v->nversions ? v->nversions - 1 : 0;
	return NF_V_REG;
}

static void
alerts_free(nf_view *v)
{
	for (size_t i = 0; i < v->nalerts; i++) {
		free(v->alerts[i].rule);
		free(v->alerts[i].monitor);
		free(v->alerts[i].severity);
		free(v->alerts[i].metric);
	}
	free(v->alerts);
	v->alerts = NULL;
	v->nalerts = 0;
}

static const char *
severity_name(nf_severity s)
{
	switch (s) {
	case NF_SEV_HIGH: return "high";
	case NF_SEV_MEDIUM: return "medium";
	case NF_SEV_LOW: return "low";
	default: return "none";
	}
}

static int
severity_rank(const char *s)
{
	return !s ? 3 : strcmp(s, "high") == 0 ? 0 : strcmp(s, "medium") == 0 ? 1 : strcmp(s, "low") == 0 ? 2 : 3;
}

/* As the man page says: by severity, then the most recently raised first. */
static int
alert_order(const void *a, const void *b)
{
	const nf_valert *x = a, *y = b;
	int rx = severity_rank(x->severity), ry = severity_rank(y->severity);

	if (rx != ry)
		return rx < ry ? -1 : 1;
	if (x->at_ms != y->at_ms)
		return x->at_ms > y->at_ms ? -1 : 1;
	return x->id > y->id ? -1 : x->id < y->id;
}

static unsigned
load_alerts(nf_view *v)
{
	nf_alert *all = NULL;
	nf_metric_point *pts = NULL;
	size_t n = 0, cap = 0, npts = 0, scap = 0;
	int64_t last_run = -1;
	/* the cursor stays on its alert when the list is read again */
	int64_t under = v->alert_sel < v->nalerts ? v->alerts[v->alert_sel].id : 0;

	alerts_free(v);
	free(v->spark);
	v->spark = NULL;
	v->nspark = 0;
	if (!v->have_run)
		return NF_V_ALERTS;
	if (nf_alert_list(v->st, true, &all, &n) == 0) {
		v->alerts_known = true;
		for (size_t i = n; i-- > 0 && v->nalerts < 50;) {   /* newest first */
			const nf_alert *x = &all[i];
			nf_valert a;

			if (!x->pipeline || strcmp(x->pipeline, v->run.pipeline) != 0)
				continue;
			memset(&a, 0, sizeof(a));
			a.id = x->id;
			a.run_id = x->run_id;
			a.at_ms = x->last_seen_ms ? x->last_seen_ms : x->created_ms;
			a.count = x->count;
			a.rule = xstrdup(x->rule ? x->rule : "");
			a.monitor = xstrdup(x->monitor ? x->monitor : "");
			a.severity = xstrdup(severity_name(x->severity));
			a.metric = x->expr ? first_name(x->expr) : NULL;
			a.has_value = x->has_value;
			a.value = x->value;
			a.has_threshold = x->has_threshold;
			a.threshold = x->threshold;
			NF_PUSH(v->alerts, v->nalerts, cap, a);
		}
		nf_alert_list_free(all, n);
	}
	/* The sparkline: the monitored metric (named by the rules, else the newest alert's)
	 * over the pipeline's recent runs, the largest value of a run. */
	free(v->spark_metric);
	v->spark_metric = xstrdup(v->monitor_metric ? v->monitor_metric
				  : v->nalerts && v->alerts[0].metric ? v->alerts[0].metric : "");
	if (*v->spark_metric && nf_metric_series(v->st, v->run.pipeline, NULL, v->spark_metric, &pts, &npts) == 0) {
		for (size_t i = 0; i < npts; i++) {
			if (pts[i].run_id > v->run_id)
				break;
			if (pts[i].run_id != last_run) {
				NF_PUSH(v->spark, v->nspark, scap, pts[i].value);
				last_run = pts[i].run_id;
			} else if (pts[i].value > v->spark[v->nspark - 1]) {
				v->spark[v->nspark - 1] = pts[i].value;
			}
		}
		nf_metric_point_list_free(pts, npts);
		if (v->nspark > SPARK_RUNS) {
			memmove(v->spark, v->spark + v->nspark - SPARK_RUNS, SPARK_RUNS * sizeof(*v->spark));
			v->nspark = SPARK_RUNS;
		}
	}
	if (v->nalerts > 1)
		qsort(v->alerts, v->nalerts, sizeof(*v->alerts), alert_order);
	for (size_t i = 0; under && i < v->nalerts; i++)
		if (v->alerts[i].id == under)
			v->alert_sel = i;
	if (v->alert_sel >= v->nalerts)
		v->alert_sel = v->nalerts ? v->nalerts - 1 : 0;
	return NF_V_ALERTS;
}

int
nf_view_ack_alert(nf_view *v, int64_t id)
{
	char *actor = nf_registry_actor(), *path = NULL;
	nf_store *w = NULL;
	int err;

	/* The dashboard reads through a read-only connection; the one write it makes opens a
	 * writer of its own for the moment. */
	if (nf_store_readonly(v->st)) {
		path = xasprintf("%s/state.db", v->state_dir);
		if ((err = nf_store_open(&w, path, false)) < 0)
			goto done;
	}
	err = nf_alert_ack(w ? w : v->st, id, "acknowledged in the dashboard", actor);
done:
	nf_store_close(w);
	free(path);
	free(actor);
	return err;
}

/* ---- loading and polling ---- */

static unsigned load_gov(nf_view *v);

static unsigned
load_run_row(nf_view *v)
{
	nf_run_info r;

	memset(&r, 0, sizeof(r));
	if (nf_store_run_get(v->st, v->run_id, &r) < 0)
		return 0;
	if (v->have_run)
		nf_run_info_release(&v->run);
	v->run = r;
	v->have_run = true;
	return NF_V_RUN;
}

unsigned
nf_view_load_run(nf_view *v, int64_t run_id)
{
	unsigned ch;

	nodes_free(v);
	if (v->have_run)
		nf_run_info_release(&v->run);
	v->have_run = false;
	v->run_id = run_id;
	v->sel = 0;
	v->sel_auto = true;
	free(v->log_node);
	v->log_node = NULL;
	if (run_id <= 0)
		return NF_V_ALL;
	ch = load_run_row(v);
	load_dag_info(v);
	ch |= load_nodes(v);
	load_medians(v);
	ch |= load_gov(v);
	nf_view_autoselect(v);
	return ch | NF_V_ALL;
}

/* The gate, the registry and the alerts: at a run's start and end, when a gate or monitor
 * node changed, and otherwise at most every GOV_MS while things change. */
static unsigned
load_gov(nf_view *v)
{
	v->gov_stale = false;
	v->next_gov_ms = nf_now_monotonic_ms() + GOV_MS;
	return load_gate(v) | load_registry(v) | load_alerts(v);
}

static bool
gov_node_changed(const nf_view *v, const nf_state *before)
{
	for (size_t i = 0; i < v->nnodes; i++)
		if (before[i] != v->nodes[i].state && strcmp(v->nodes[i].kind, "stage") != 0)
			return true;
	return false;
}

/* Opens state.db for reading and learns what its schema has. */
static int
open_store(nf_view *v)
{
	char *path = xasprintf("%s/state.db", v->state_dir);
	int err = v->live ? nf_store_open(&v->st, path, true) : nf_store_open_read(&v->st, path);

	free(path);
	if (err < 0)
		return err;
	v->registry_known = nf_store_has_table(v->st, "model_versions");
	v->alerts_known = nf_store_has_table(v->st, "alerts");
	v->data_version = data_version(v);
	return 0;
}

/* Waiting for the first run of a workspace without state.db: the store is opened once the
 * workspace marker says a run has begun (its database made and the run recorded), then
 * the view follows that run. */
static unsigned
poll_first_run(nf_view *v)
{
	char *marker = nf_ws_marker_path(v->state_dir);
	bool begun = access(marker, F_OK) == 0;
	int64_t last = 0;

	free(marker);
	if (!begun)
		return 0;
	if (open_store(v) < 0) {
		char *why = xstrdup(nf_error_last());
		bool same = v->store_error && strcmp(v->store_error, why) == 0;

		free(v->store_error);
		v->store_error = why;
		return same ? 0 : NF_V_RUN;
	}
	free(v->store_error);
	v->store_error = NULL;
	if (nf_store_run_last(v->st, &last) == 0 && last > 0)
		return nf_view_load_run(v, last);
	return NF_V_ALL;
}

unsigned
nf_view_poll(nf_view *v)
{
	int64_t dv, last = 0;
	nf_run_status status = v->run.status;
	nf_state *before = NULL;
	size_t nbefore = v->nnodes;
	unsigned ch = 0;

	if (!v->st)
		return poll_first_run(v);
	dv = data_version(v);
	if (dv == v->data_version) {
		if (v->gov_stale && nf_now_monotonic_ms() >= v->next_gov_ms)
			return load_gov(v);
		return 0;
	}
	v->data_version = dv;
	if (v->follow && !v->live && nf_store_run_last(v->st, &last) == 0 && last > v->run_id)
		return nf_view_load_run(v, last);
	if (v->run_id <= 0)
		return 0;
	if (!v->alerts_known)
		v->alerts_known = nf_store_has_table(v->st, "alerts");
	ch |= load_run_row(v);
	/* Live, the run's events move its nodes; their rows are read once, when its first batch
	 * has committed them (a run begins before its rows are written: nf_store_nodes_add). */
	if (!v->live || v->nnodes == 0) {
		before = xcalloc(nbefore + 1, sizeof(*before));
		for (size_t i = 0; i < nbefore; i++)
			before[i] = v->nodes[i].state;
		ch |= load_nodes(v);
	}
	if (v->live)
		ch |= load_slurm(v);
	v->gov_stale = true;
	if (status != v->run.status || (before && (nbefore != v->nnodes || gov_node_changed(v, before))) ||
	    nf_now_monotonic_ms() >= v->next_gov_ms)
		ch |= load_gov(v);
	free(before);
	return ch;
}

void
nf_view_reload_gov(nf_view *v)
{
	v->next_gov_ms = 0;
	v->gov_stale = true;
	v->data_version = -1;
}

int
nf_view_open(nf_view *v, const char *state_dir, int64_t run_id, bool live, const char *dag_path)
{
	int64_t last = 0;
	char *slash;
	int err;

	memset(v, 0, sizeof(*v));
	v->live = live;
	v->follow = run_id <= 0 && !live;
	v->sel_auto = true;
	v->state_dir = xstrdup(state_dir);
	v->root = xstrdup(state_dir);
	if ((slash = strrchr(v->root, '/')) && slash != v->root)
		*slash = '\0';
	else
		strcpy(v->root, ".");
	v->dag_path = dag_path ? xstrdup(dag_path) : NULL;
	if ((err = open_store(v)) < 0) {
		if (err != NF_ENOTFOUND || live || run_id > 0)
			return err;
		/* no runs yet: wait for the first (nf_view_poll) */
		load_dag_info(v);
		return 0;
	}
	if (run_id > 0) {
		nf_run_info probe;

		if ((err = nf_store_run_get(v->st, run_id, &probe)) < 0)
			return err;
		nf_run_info_release(&probe);
	} else if (!live && nf_store_run_last(v->st, &last) == 0) {
		run_id = last;
	}
	if (run_id > 0)
		nf_view_load_run(v, run_id);
	else
		load_dag_info(v);
	return 0;
}

void
nf_view_close(nf_view *v)
{
	nodes_free(v);
	free(v->rows);
	crits_free(v);
	versions_free(v);
	alerts_free(v);
	dag_info_free(v);
	free(v->spark);
	free(v->spark_metric);
	free(v->gate_name);
	free(v->gate_reason);
	if (v->have_run)
		nf_run_info_release(&v->run);
	for (size_t i = 0; i < v->nlog_lines; i++)
		free(v->log_lines[i]);
	free(v->log_lines);
	free(v->log_path);
	free(v->log_node);
	nf_store_close(v->st);
	free(v->store_error);
	free(v->dag_path);
	free(v->state_dir);
	free(v->root);
	memset(v, 0, sizeof(*v));
}

/* ---- events of the run in this process ---- */

unsigned
nf_view_event(nf_view *v, const nf_run_event *ev)
{
	void *idx = v->by_name ? nf_strmap_get(v->by_name, ev->node) : NULL;
	int64_t now = nf_now_realtime_ms();
	nf_vnode *n;
	bool was_final;

	if (!idx)
		return 0;
	n = &v->nodes[(uintptr_t)idx - 1];
	was_final = nf_state_is_final(n->state);
	if (ev->state == NF_ST_RUNNING) {
		if (!n->started_ms)
			n->started_ms = now;
		n->attempt_ms = now;
		n->finished_ms = 0;
	}
	n->state = ev->state;
	if (ev->attempt > 0)
		n->attempt = ev->attempt;
	if (ev->max_attempts > 0) {
		/* After a retry from the dashboard the attempts go on past the budget. */
		n->max_attempts = ev->max_attempts;
		while (n->attempt > n->max_attempts)
			n->max_attempts += ev->max_attempts;
	}
	if (ev->wall_ms > 0)
		n->wall_ms = ev->wall_ms;
	n->retry_at_ms = ev->state == NF_ST_RETRYING ? now + ev->backoff_ms : 0;
	if (nf_state_is_final(ev->state))
		n->finished_ms = now;
	if (ev->state == NF_ST_CACHED && ev->reused_run)
		n->reused_run = ev->reused_run;
	set_str(&n->reason, ev->reason);
	if (ev->log_path)
		set_str(&n->log_path, ev->log_path);
	if (was_final && !nf_state_is_final(ev->state))
		v->ndone--;
	else if (!was_final && nf_state_is_final(ev->state))
		v->ndone++;
	if (strcmp(n->kind, "gate") == 0)
		load_gate(v);
	return NF_V_NODES | (strcmp(n->kind, "gate") == 0 ? NF_V_GATE : 0);
}

/* ---- rows, selection ---- */

const char *const nf_view_sort_names[NF_SORT__COUNT] = {
	[NF_SORT_DAG] = "order in the DAG", [NF_SORT_START] = "start", [NF_SORT_NAME] = "name",
	[NF_SORT_STATE] = "state", [NF_SORT_DURATION] = "duration",
};
const char *const nf_view_state_filter_names[NF_SF__COUNT] = {
	[NF_SF_ALL] = "all", [NF_SF_FAILED] = "failed", [NF_SF_RUNNING] = "running",
};

static bool
matches(const nf_view *v, const nf_vnode *n)
{
	if (v->state_filter == NF_SF_FAILED && n->state != NF_ST_FAILED && n->state != NF_ST_TIMED_OUT)
		return false;
	if (v->state_filter == NF_SF_RUNNING && n->state != NF_ST_RUNNING && n->state != NF_ST_RETRYING)
		return false;
	return !v->filter[0] || strcasestr(n->name, v->filter) != NULL;
}

/* Where a state sorts: what needs a look first (failures, then what runs), then the rest. */
static int
state_rank(nf_state s)
{
	switch (s) {
	case NF_ST_FAILED: case NF_ST_TIMED_OUT: return 0;
	case NF_ST_RUNNING: return 1;
	case NF_ST_RETRYING: return 2;
	case NF_ST_READY: return 3;
	case NF_ST_WAITING: return 4;
	case NF_ST_CANCELLED: case NF_ST_REJECTED: return 5;
	case NF_ST_SKIPPED: return 6;
	case NF_ST_SUCCEEDED: return 7;
	default: return 8;
	}
}

/* A node's running time so far (or its last attempt's). */
static int64_t
duration_of(const nf_vnode *n, int64_t now)
{
	if (n->state == NF_ST_RUNNING && n->attempt_ms)
		return now - n->attempt_ms;
	return n->wall_ms;
}

/* The sort key of group g: of its first node by the order, its busiest for the rest. */
typedef struct sort_ctx {
	const nf_view *v;
	int64_t now;
} sort_ctx;
static sort_ctx sorting;   /* qsort has no context argument; the view is sorted by one thread */

static int
node_cmp(const nf_vnode *a, const nf_vnode *b, size_t ia, size_t ib)
{
	int64_t x, y;
	int c;

	switch (sorting.v->sort) {
	case NF_SORT_START:
		/* what never started goes last, in the DAG's order */
		x = a->started_ms ? a->started_ms : INT64_MAX;
		y = b->started_ms ? b->started_ms : INT64_MAX;
		if (x != y)
			return x < y ? -1 : 1;
		break;
	case NF_SORT_NAME:
		if ((c = strcmp(a->name, b->name)) != 0)
			return c;
		break;
	case NF_SORT_STATE:
		if ((c = state_rank(a->state) - state_rank(b->state)) != 0)
			return c;
		break;
	case NF_SORT_DURATION:
		x = duration_of(a, sorting.now);
		y = duration_of(b, sorting.now);
		if (x != y)
			return x > y ? -1 : 1;
		break;
	default:
		break;
	}
	return ia < ib ? -1 : ia > ib;
}

/* a group's representative for the sort: the node that sorts first among its own */
static size_t
group_key(const nf_view *v, const nf_vgroup *g)
{
	size_t best = g->first;

	for (size_t i = g->first + 1; i < g->first + g->count; i++)
		if (node_cmp(&v->nodes[i], &v->nodes[best], i, best) < 0)
			best = i;
	return best;
}

static int
group_order(const void *pa, const void *pb)
{
	const nf_view *v = sorting.v;
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	size_t ka = group_key(v, &v->groups[a]), kb = group_key(v, &v->groups[b]);
	int c = node_cmp(&v->nodes[ka], &v->nodes[kb], ka, kb);

	return c ? c : a < b ? -1 : a > b;
}

static int
node_order(const void *pa, const void *pb)
{
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;

	return node_cmp(&sorting.v->nodes[a], &sorting.v->nodes[b], a, b);
}

void
nf_view_rows(nf_view *v)
{
	ssize_t keep = v->nrows ? nf_view_sel_node(v) : -1;
	size_t keep_group = v->sel < v->nrows ? v->rows[v->sel].group : 0;
	bool keep_is_group = v->sel < v->nrows && v->rows[v->sel].node < 0;
	bool filtered = v->filter[0] || v->state_filter;
	size_t *order = xmalloc((v->ngroups + 1) * sizeof(*order)), *inst = NULL, ninst_cap = 0;

	for (size_t g = 0; g < v->ngroups; g++)
		order[g] = g;
	sorting.v = v;
	sorting.now = nf_now_realtime_ms();
	if (v->sort != NF_SORT_DAG && v->ngroups > 1)
		qsort(order, v->ngroups, sizeof(*order), group_order);
	v->nrows = 0;
	for (size_t k = 0; k < v->ngroups; k++) {
		size_t g = order[k];
		const nf_vgroup *gr = &v->groups[g];
		bool any = false;

		for (size_t i = gr->first; i < gr->first + gr->count && !any; i++)
			any = matches(v, &v->nodes[i]);
		if (!any)
			continue;
		if (gr->count == 1 && !v->nodes[gr->first].instance) {
			v->rows = xgrow(v->rows, sizeof(*v->rows), v->nrows + 1, &v->rows_cap);
			v->rows[v->nrows++] = (nf_vrow){ g, (ssize_t)gr->first };
			continue;
		}
		v->rows = xgrow(v->rows, sizeof(*v->rows), v->nrows + 1, &v->rows_cap);
		v->rows[v->nrows++] = (nf_vrow){ g, -1 };
		if (!gr->expanded && !filtered)
			continue;
		inst = xgrow(inst, sizeof(*inst), gr->count, &ninst_cap);
		for (size_t i = 0; i < gr->count; i++)
			inst[i] = gr->first + i;
		if (v->sort != NF_SORT_DAG && gr->count > 1)
			qsort(inst, gr->count, sizeof(*inst), node_order);
		for (size_t j = 0; j < gr->count; j++) {
			size_t i = inst[j];

			if (!matches(v, &v->nodes[i]))
				continue;
			v->rows = xgrow(v->rows, sizeof(*v->rows), v->nrows + 1, &v->rows_cap);
			v->rows[v->nrows++] = (nf_vrow){ g, (ssize_t)i };
		}
	}
	free(order);
	free(inst);
	sorting.v = NULL;
	/* Keep the selection on the same node (or group) when the rows move. */
	v->sel = 0;
	for (size_t r = 0; r < v->nrows; r++) {
		if ((keep_is_group && v->rows[r].node < 0 && v->rows[r].group == keep_group) ||
		    (!keep_is_group && keep >= 0 && v->rows[r].node == keep)) {
			v->sel = r;
			break;
		}
		if (keep >= 0 && v->rows[r].node < 0 && v->rows[r].group == v->nodes[keep].group &&
		    !v->groups[v->rows[r].group].expanded)
			v->sel = r;
	}
}

bool
nf_view_list_move(size_t *sel, size_t n, int action, int page)
{
	size_t step = page > 0 ? (size_t)page : 1;

	switch (action) {
	case NF_A_DOWN: if (*sel + 1 < n) (*sel)++; return true;
	case NF_A_UP: if (*sel > 0) (*sel)--; return true;
	case NF_A_PGDN: *sel = *sel + step < n ? *sel + step : n ? n - 1 : 0; return true;
	case NF_A_PGUP: *sel = *sel > step ? *sel - step : 0; return true;
	case NF_A_TOP: *sel = 0; return true;
	case NF_A_BOTTOM: *sel = n ? n - 1 : 0; return true;
	default: return false;
	}
}

/* How much a node is worth showing: failures, then what runs, then what ended last. */
static int64_t
interest(const nf_vnode *n)
{
	switch (n->state) {
	case NF_ST_FAILED:
	case NF_ST_TIMED_OUT: return (INT64_C(4) << 52) + n->finished_ms;
	case NF_ST_RUNNING: return (INT64_C(3) << 52) + n->attempt_ms;
	case NF_ST_RETRYING: return (INT64_C(2) << 52) + n->attempt_ms;
	default: return n->finished_ms && n->started_ms ? (INT64_C(1) << 52) + n->finished_ms : 0;
	}
}

ssize_t
nf_view_sel_node(const nf_view *v)
{
	const nf_vgroup *g;
	ssize_t best = -1;

	if (v->sel >= v->nrows)
		return -1;
	if (v->rows[v->sel].node >= 0)
		return v->rows[v->sel].node;
	g = &v->groups[v->rows[v->sel].group];
	for (size_t i = g->first; i < g->first + g->count; i++)
		if (best < 0 || interest(&v->nodes[i]) > interest(&v->nodes[best]))
			best = (ssize_t)i;
	return best;
}

bool
nf_view_autoselect(nf_view *v)
{
	ssize_t best = -1;
	size_t old = v->sel;

	if (!v->sel_auto || v->nrows == 0)
		return false;
	for (size_t r = 0; r < v->nrows; r++) {
		ssize_t n = v->rows[r].node;

		if (n < 0)
			continue;
		if (best < 0 || interest(&v->nodes[n]) > interest(&v->nodes[v->rows[best].node]))
			best = (ssize_t)r;
	}
	if (best >= 0 && interest(&v->nodes[v->rows[best].node]) > 0)
		v->sel = (size_t)best;
	return v->sel != old;
}

/* ---- the log tail ---- */

static void
log_clear(nf_view *v)
{
	for (size_t i = 0; i < v->nlog_lines; i++)
		free(v->log_lines[i]);
	free(v->log_lines);
	v->log_lines = NULL;
	v->nlog_lines = 0;
}

unsigned
nf_view_log(nf_view *v, size_t max_lines)
{
	ssize_t sel = nf_view_sel_node(v);
	const nf_vnode *n = sel >= 0 ? &v->nodes[sel] : NULL;
	char *path = n && n->log_path ? nf_store_log_path(v->state_dir, n->log_path) : NULL;
	bool same = path && v->log_path && strcmp(path, v->log_path) == 0;
	struct stat sb;
	char *buf = NULL;
	int fd = -1;
	off_t from;
	ssize_t got;
	size_t cap = 0;

	if (!same || !n || !v->log_node || strcmp(v->log_node, n->name) != 0) {
		log_clear(v);
		free(v->log_path);
		v->log_path = path;
		path = NULL;
		set_str(&v->log_node, n ? n->name : NULL);
		v->log_attempt = n ? n->attempt : 0;
		v->log_size = -1;
		v->log_mtime_ns = 0;
		if (!v->log_path)
			return NF_V_LOG;
	}
	free(path);
	if (stat(v->log_path, &sb) < 0) {
		if (v->log_size != -2) {
			log_clear(v);
			v->log_size = -2;
			return NF_V_LOG;
		}
		return 0;
	}
	if (sb.st_size == v->log_size &&
	    (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec == v->log_mtime_ns)
		return 0;
	v->log_size = sb.st_size;
	v->log_mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
	log_clear(v);
	if ((fd = open(v->log_path, O_RDONLY | O_CLOEXEC)) < 0)
		return NF_V_LOG;
	from = sb.st_size > LOG_TAIL_BYTES ? sb.st_size - LOG_TAIL_BYTES : 0;
	buf = xmalloc(LOG_TAIL_BYTES + 1);
	got = pread(fd, buf, LOG_TAIL_BYTES, from);
	close(fd);
	if (got > 0) {
		char *p = buf, *end = buf + got;

		*end = '\0';
		if (from > 0 && (p = memchr(buf, '\n', (size_t)got)))   /* a partial first line */
			p++;
		else
			p = buf;
		while (p < end) {
			char *nl = memchr(p, '\n', (size_t)(end - p));
			char *e = nl ? nl : end, *cr;

			*e = '\0';
			/* A progress bar redrawn with \r: what shows last is what a terminal shows. */
			if ((cr = strrchr(p, '\r')) && cr[1])
				p = cr + 1;
			else if (cr)
				*cr = '\0';
			NF_PUSH(v->log_lines, v->nlog_lines, cap, xstrdup(p));
			p = e + 1;
		}
		if (v->nlog_lines > max_lines) {
			size_t drop = v->nlog_lines - max_lines;

			for (size_t i = 0; i < drop; i++)
				free(v->log_lines[i]);
			memmove(v->log_lines, v->log_lines + drop, max_lines * sizeof(*v->log_lines));
			v->nlog_lines = max_lines;
		}
	}
	free(buf);
	return NF_V_LOG;
}

/* ---- the ETA ---- */

int64_t
nf_view_eta(const nf_view *v, int64_t now)
{
	int64_t remaining = 0, busy = 0, known = 0, sum_known = 0, elapsed;
	size_t unknown = 0;
	double parallel;

	if (!v->have_run || v->run.finished_ms)
		return 0;
	for (size_t i = 0; i < v->nnodes; i++) {
		const nf_vnode *n = &v->nodes[i];

		if (n->median_ms >= 0) {
			known++;
			sum_known += n->median_ms;
		}
		if (nf_state_is_final(n->state)) {
			if (n->state == NF_ST_SUCCEEDED || n->state == NF_ST_FAILED)
				busy += n->wall_ms;
			continue;
		}
		if (n->median_ms < 0) {
			unknown++;
			continue;
		}
		if (n->state == NF_ST_RUNNING && n->attempt_ms)
			remaining += n->median_ms > now - n->attempt_ms ? n->median_ms - (now - n->attempt_ms) : 0;
		else
			remaining += n->median_ms;
	}
	if (known == 0)
		return 0;
	remaining += (int64_t)unknown * (sum_known / known);
	elapsed = now - v->run.started_ms;
	parallel = elapsed > 1000 && busy > 0 ? (double)busy / (double)elapsed : 1.0;
	if (parallel < 1.0)
		parallel = 1.0;
	return now + (int64_t)((double)remaining / parallel);
}

bool
nf_view_next_fire(const nf_view *v, int64_t now, int64_t *next)
{
	return v->schedule && nf_cron_next(&v->cron, &v->tz, now, next) == 0;
}
