/* gov-step.c: the gate and the registry inside a run, through gov.h: a gate node's criteria
 * evaluated against its needs' metrics and the production version's, and at the end of the run
 * a new registry version for each model whose artifact a node of this run produced. */
#include "config.h"
#include "run-internal.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ntflow/gov.h"

/* The model a gate decides about: the one naming it, else the pipeline's first model. */
static const nf_model_decl *
model_of_gate(const nf_dag *dag, const char *gate)
{
	for (size_t i = 0; i < dag->nmodels; i++)
		if (dag->models[i].gate.name && strcmp(dag->models[i].gate.name, gate) == 0)
			return &dag->models[i];
	return dag->nmodels ? &dag->models[0] : NULL;
}

typedef struct gate_env {
	run_ctx *ctx;
	const nf_node *gate;
	const nf_model_decl *model;
	bool loaded;
	int prod_err;
	cJSON *prod;                /* the production version's metrics, read on first use */
	nf_expr_slice *slices;      /* the last gate_slices answer */
	size_t nslices;
} gate_env;

/* A metric's slices in the first of the gate's needs that has any (as gate_lookup takes
 * the first need that has the metric). */
static int
gate_slices(void *vctx, const char *metric, const nf_expr_slice **out, size_t *n)
{
	gate_env *ge = vctx;

	nf_metrics_slices_free(ge->slices, ge->nslices);
	ge->slices = NULL;
	ge->nslices = 0;
	for (size_t i = 0; i < ge->gate->ndeps && !ge->nslices; i++) {
		size_t d = ge->gate->deps[i];

		if (nf_run__metrics(ge->ctx, d))
			nf_metrics_slices(nf_run__metrics(ge->ctx, d), metric, &ge->slices, &ge->nslices);
	}
	*out = ge->slices;
	*n = ge->nslices;
	return 0;
}

static int
gate_lookup(void *vctx, bool production, const char *name, double *out)
{
	gate_env *ge = vctx;

	if (production) {
		const cJSON *item;

		if (!ge->loaded) {
			ge->loaded = true;
			ge->prod_err = ge->model ? nf_registry_production_metrics(&ge->prod, ge->ctx->store, ge->model->name)
						 : NF_ENOPROD;
		}
		if (ge->prod_err < 0)
			return ge->prod_err;
		item = cJSON_GetObjectItemCaseSensitive(ge->prod, name);
		if (!cJSON_IsNumber(item))
			return NF_ENOTFOUND;
		*out = item->valuedouble;
		return 0;
	}
	/* params.NAME (or ${params.NAME}) is the param's value in this run, -p included;
	 * validation made sure it is a number. */
	if (strncmp(name, "params.", 7) == 0) {
		const char *text = nf_strmap_get(ge->ctx->params, name + 7);
		char *end;

		if (!text)
			return NF_ENOTFOUND;
		*out = strtod(text, &end);
		return *text && !*end ? 0 : NF_ENOTFOUND;
	}
	for (size_t i = 0; i < ge->gate->ndeps; i++) {
		size_t d = ge->gate->deps[i];

		if (nf_run__metrics(ge->ctx, d) && nf_metrics_get(nf_run__metrics(ge->ctx, d), name, out) == 0)
			return 0;
	}
	return NF_ENOTFOUND;
}

/* The gate's decision in the audit chain, with every criterion. */
static int
audit_gate(run_ctx *ctx, const nf_gate_result *r)
{
	cJSON *p = cJSON_CreateObject();
	int err;

	cJSON_AddStringToObject(p, "gate", r->name);
	cJSON_AddBoolToObject(p, "passed", r->passed);
	cJSON_AddItemToObject(p, "criteria", nf_gate_criteria_json(r));
	err = ctx->audit.chain ? nf_audit_add(ctx->audit.chain, ctx->run_id, NF_AUDIT_GATE, p)
			 : nf_audit_append(ctx->store, ctx->run_id, NF_AUDIT_GATE, p);
	cJSON_Delete(p);
	return err;
}

int
nf_run__gate(nf_run_prep *out, run_ctx *ctx, const nf_node *node)
{
	const nf_stage *st = node->stage;
	gate_env ge = { ctx, node, model_of_gate(ctx->dag, st->name), false, 0, NULL, NULL, 0 };
	/* The criterion { } blocks, then the require strings: one numbering for the results
	 * and the violations. */
	nf_criterion *all = xcalloc(nf_more(st)->nrequire + nf_more(st)->nchecks + 1, sizeof(*all));
	nf_gate_result r;
	int err;

	for (size_t i = 0; i < nf_more(st)->nchecks; i++)
		all[i] = nf_more(st)->checks[i].require;
	if (nf_more(st)->nrequire)   /* memcpy from NULL is undefined even for 0 bytes */
		memcpy(all + nf_more(st)->nchecks, nf_more(st)->require, nf_more(st)->nrequire * sizeof(*all));
	nf_gate_evaluate_slices(&r, node->name, all, nf_more(st)->nrequire + nf_more(st)->nchecks, gate_lookup, gate_slices, &ge);
	free(all);
	err = nf_gate_store(ctx->store, ctx->run_id, &r);
	if (err == 0)
		err = audit_gate(ctx, &r);
	if (err == 0)
		err = nf_run__gate_findings(ctx, node, &r, gate_lookup, gate_slices, &ge);
	cJSON_Delete(ge.prod);
	nf_metrics_slices_free(ge.slices, ge.nslices);
	if (err < 0) {
		nf_gate_result_release(&r);
		return err;
	}
	out->decision = r.passed ? NF_PREP_SUCCEEDED : NF_PREP_REJECTED;
	out->reason = r.passed ? NULL : nf_gate_failure_text(&r);
	nf_gate_result_release(&r);
	return 0;
}

/* True when the output path out is the artifact or a folder holding it. */
static bool
covers(const char *out, const char *artifact)
{
	size_t lo = strlen(out), la = strlen(artifact);

	if (out[0] == '.' && out[1] == '/')
		out += 2, lo -= 2;
	if (artifact[0] == '.' && artifact[1] == '/')
		artifact += 2, la -= 2;
	while (lo > 1 && out[lo - 1] == '/')
		lo--;
	while (la > 1 && artifact[la - 1] == '/')
		la--;
	return lo <= la && strncmp(out, artifact, lo) == 0 && (lo == la || artifact[lo] == '/');
}

/* Whether a node of this run that declares the artifact as an output (or holds it in an
 * output folder) succeeded or was cached: 1 yes, 0 no, NF_ENOTFOUND when none declares it. */
static int
produced(run_ctx *ctx, const char *artifact)
{
	bool declared = false;

	for (size_t i = 0; i < ctx->graph->nnodes; i++) {
		const nf_node *n = &ctx->graph->nodes[i];

		for (size_t o = 0; o < n->stage->noutputs; o++) {
			char *out = NULL;
			nf_node_info info;
			bool ok;

			if (nf_run__expand(&out, ctx, n, &n->stage->outputs[o]) < 0 || !covers(out, artifact))
				continue;
			declared = true;
			if (nf_store_node_get(ctx->store, ctx->run_id, n->name, &info) < 0)
				continue;
			ok = info.state == NF_ST_SUCCEEDED || info.state == NF_ST_CACHED;
			nf_node_info_release(&info);
			if (ok)
				return 1;
		}
	}
	return declared ? 0 : NF_ENOTFOUND;
}

static void
warn(run_ctx *ctx, const char *msg)
{
	if (ctx->req->on_warning)
		ctx->req->on_warning(ctx->req->ctx, msg);
}

/* Merges m into all, a later value of a name replacing an earlier one: through the set's
 * index, since finding a name in a cJSON object is a scan (160 000 metrics took minutes). */
static void
add_metrics(nf_metric_set *all, const nf_metric_set *m)
{
	for (size_t i = 0; i < m->n; i++)
		nf_metrics_add(all, m->names[i], m->values[i]);
}

/* A model's artifact or metrics file (path, expanded) where it lies in the project: *norm
 * its path as written, normalized, *real where it leads, links followed. Never outside: a
 * parameter, a "..", or a link a stage made could lead there, and those bytes are not the
 * project's to register. 0, or an error with the message set. */
static int
in_project(run_ctx *ctx, const char *path, const char *what, char **norm, char **real)
{
	const char *place, *writer = NULL;
	int err;

	*norm = *real = NULL;
	if ((err = nf_path_normalize(norm, path, what)) < 0 ||
	    (err = nf_path_resolve(real, NULL, ctx->root, *norm, what)) < 0)
		goto fail;
	/* Nor the whole project (a link to ..), nor ntflow's or git's own folders. */
	if (!**real) {
		err = nf_error_set(NF_EINVALID, "%s '%s' leads to the whole project", what, *norm);
		goto fail;
	}
	if ((place = nf_path_private(*real, &writer))) {
		err = nf_error_set(NF_EINVALID, "%s '%s' leads inside %s, which only %s writes", what, *norm, place,
				   writer);
		goto fail;
	}
	return 0;
fail:
	free(*norm);
	free(*real);
	*norm = *real = NULL;
	return err;
}

/* The version's metrics: the model's metrics file, else those of its gate's needs. */
static char *
model_metrics(run_ctx *ctx, const nf_model_decl *m)
{
	cJSON *o = cJSON_CreateObject();
	nf_metric_set all;
	char *s, *r;
	bool done = false;

	memset(&all, 0, sizeof(all));

	if (m->metrics) {
		char *rel = NULL, *norm = NULL, *real = NULL, *abs = NULL, *msg;
		nf_metric_set ms;

		memset(&ms, 0, sizeof(ms));
		if (nf_run__expand(&rel, ctx, NULL, m->metrics) == 0) {
			if (in_project(ctx, rel, "metrics file", &norm, &real) == 0)
				abs = nf_run__abs(ctx, real);
			if (abs && nf_metrics_read(&ms, abs) == 0) {
				add_metrics(&all, &ms);
				done = true;
			} else {
				msg = xasprintf("model %s: cannot read its metrics file %s (%s); using its gate's metrics",
						m->name, rel, nf_error_last());
				warn(ctx, msg);
				free(msg);
			}
			nf_metric_set_release(&ms);
			free(abs);
			free(norm);
			free(real);
		}
	}
	if (!done && m->gate.name) {
		const nf_node *g = nf_graph_find(ctx->graph, m->gate.name);

		for (size_t i = 0; g && i < g->ndeps; i++)
			if (nf_run__metrics(ctx, g->deps[i]))
				add_metrics(&all, nf_run__metrics(ctx, g->deps[i]));
	}
	for (size_t i = 0; i < all.n; i++)
		cJSON_AddNumberToObject(o, all.names[i], all.values[i]);
	nf_metric_set_release(&all);
	s = cJSON_PrintUnformatted(o);
	r = xstrdup(s);
	cJSON_free(s);
	cJSON_Delete(o);
	return r;
}

/* pass, fail or none (no gate, or it did not decide in this run). */
static const char *
gate_outcome(run_ctx *ctx, const nf_model_decl *m)
{
	const nf_node *g = m->gate.name ? nf_graph_find(ctx->graph, m->gate.name) : NULL;
	const char *outcome = "none";
	nf_node_info info;

	if (!g || nf_store_node_get(ctx->store, ctx->run_id, g->name, &info) < 0)
		return outcome;
	if (info.state == NF_ST_SUCCEEDED)
		outcome = "pass";
	else if (info.state == NF_ST_REJECTED)
		outcome = "fail";
	nf_node_info_release(&info);
	return outcome;
}

/* The workspace's models folder: under the project root, also for a run --at a commit
 * (whose temporary checkout is removed when it ends). Caller frees. */
static char *
models_dir(run_ctx *ctx, const char *dir)
{
	char *root, *r;

	if (dir[0] == '/' || !ctx->req->at || !(root = nf_project_root(ctx->req->dag_path)))
		return nf_run__abs(ctx, dir);
	r = xasprintf("%s/%s", root, dir);
	free(root);
	return r;
}

static int
register_one(run_ctx *ctx, const nf_model_decl *m, const char *state_dir, const char *params_json,
	     const char *commit, const char *hold)
{
	char *rel = NULL, *norm = NULL, *real = NULL, *abs = NULL, *metrics = NULL, *mdir = NULL, *note = NULL,
	     *msg;
	const nf_pipeline *p = &ctx->dag->pipeline;
	nf_register_req req;
	nf_model_version v = { 0 };
	struct stat sb;
	int err = 0, prod;

	if (nf_run__expand(&rel, ctx, NULL, m->artifact) < 0) {
		msg = xasprintf("model %s: %s; not registered", m->name, nf_error_last());
		warn(ctx, msg);
		free(msg);
		return 0;
	}
	if (in_project(ctx, rel, "model artifact", &norm, &real) < 0) {
		msg = xasprintf("model %s: %s; not registered", m->name, nf_error_last());
		warn(ctx, msg);
		free(msg);
		return 0;
	}
	abs = nf_run__abs(ctx, real);   /* rel stays as written: the registry records it so */
	if (stat(abs, &sb) < 0)
		goto done;   /* not produced: nothing to register */
	if ((prod = produced(ctx, rel)) == NF_ENOTFOUND) {
		msg = xasprintf("model %s: no stage declares %s as an output; not registered", m->name, rel);
		warn(ctx, msg);
		free(msg);
		goto done;
	}
	if (prod == 0)
		goto done;   /* its stage did not succeed in this run */
	metrics = model_metrics(ctx, m);
	mdir = models_dir(ctx, p->models_dir ? p->models_dir : "models");
	memset(&req, 0, sizeof(req));
	req.model = m->name;
	req.pipeline = ctx->pipeline;
	req.run_id = ctx->run_id;
	req.commit = commit;
	req.artifact = abs;
	req.source_path = rel;
	req.metrics_json = metrics;
	req.params_json = params_json;
	req.gate = m->gate.name;
	req.gate_outcome = gate_outcome(ctx, m);
	req.gate_passed = strcmp(req.gate_outcome, "pass") == 0;
	req.state_dir = state_dir;
	req.models_dir = mdir;
	req.hold = hold;
	req.cohort = ctx->cohort;
	nf_run__cache_unsettle(ctx);   /* the version is copied under the models folder */
	if ((err = nf_registry_register(&v, &note, ctx->store, &req)) < 0) {
		msg = xstrdup(nf_error_last());
		err = nf_error_set(err, "cannot register model %s: %s", m->name, msg);
		free(msg);
		goto done;
	}
	/* The violations of the model's gate name the version (an unchanged one too). */
	if (m->gate.name && (prod = nf_violations_set_model(ctx->store, ctx->audit.chain, ctx->run_id, m->gate.name,
							     v.model, v.version)) < 0) {
		err = prod;
		goto done;
	}
	if (ctx->req->on_registered)
		ctx->req->on_registered(ctx->req->ctx, v.model, v.version, err == 1 ? "unchanged" : v.status, note);
	if (err != 1 && v.status && strcmp(v.status, "production") == 0)
		nf_run__hook_promoted(ctx, v.model, v.version);
	err = 0;
done:
	nf_model_version_release(&v);
	free(note);
	free(abs);
	free(norm);
	free(real);
	free(metrics);
	free(mdir);
	return err;
}

/* Why a run may not change production ("run 4 failed: drift failed"), or NULL when it
 * may: it succeeded, or completed with a gate that said no. Caller frees. */
static char *
run_hold(run_ctx *ctx, nf_run_status status)
{
	nf_buf b = NF_BUF_INIT;
	size_t named = 0, more = 0;

	if (status == NF_RUN_SUCCEEDED || status == NF_RUN_GATED)
		return NULL;
	if (status == NF_RUN_CANCELLED)
		return xasprintf("run %lld was cancelled", (long long)ctx->run_id);
	nf_buf_printf(&b, "run %lld %s", (long long)ctx->run_id, nf_run_status_name(status));
	for (size_t i = 0; i < ctx->graph->nnodes; i++) {
		nf_node_info info;

		if (nf_store_node_get(ctx->store, ctx->run_id, ctx->graph->nodes[i].name, &info) < 0)
			continue;
		if (info.state == NF_ST_FAILED || info.state == NF_ST_TIMED_OUT || info.state == NF_ST_CANCELLED) {
			if (named < 3)
				nf_buf_printf(&b, "%s %s %s", named ? "," : ":", info.name, nf_state_name(info.state));
			else
				more++;
			named++;
		}
		nf_node_info_release(&info);
	}
	if (more)
		nf_buf_printf(&b, " and %zu more", more);
	nf_error_clear();
	return nf_buf_detach(&b);
}

int
nf_run__register_models(run_ctx *ctx, const char *params_json, const char *commit, nf_run_status status)
{
	char *state_dir, *hold;
	int err = 0;

	if (ctx->dag->nmodels == 0)
		return 0;
	if ((err = nf_store_flush(ctx->store)) < 0)
		return err;
	state_dir = nf_state_dir_canon(ctx->state_dir);   /* a link's end is not the project's */
	hold = run_hold(ctx, status);
	for (size_t i = 0; i < ctx->dag->nmodels && err == 0; i++)
		err = register_one(ctx, &ctx->dag->models[i], state_dir, params_json, commit, hold);
	free(hold);
	free(state_dir);
	return err;
}

int
nf_run__reconcile_models(run_ctx *ctx)
{
	nf_reconcile_report rep;
	char *state_dir;
	size_t nbaseline = 0;
	int err;

	/* A registry edited outside ntflow stops the run before anything reads or changes it
	 * (a gate comparing with production's metrics, the files placed under models/). */
	if ((err = nf_registry_chain_check(ctx->store, &nbaseline)) < 0)
		return err;
	if (nbaseline) {
		char *msg = xasprintf("recorded a baseline of %zu model version%s in the audit chain (registered before"
				      " the chain recorded registry rows whole)", nbaseline, nbaseline == 1 ? "" : "s");

		warn(ctx, msg);
		free(msg);
	}
	state_dir = nf_state_dir_canon(ctx->state_dir);
	err = nf_registry_reconcile(&rep, ctx->store, state_dir, false);

	for (size_t i = 0; i < rep.n; i++)
		warn(ctx, rep.lines[i]);
	if (err < 0 && rep.nfailed == 0) {
		/* The registry could not even be read. The run goes on. */
		char *msg = xasprintf("cannot check models/ against the registry: %s", nf_error_last());

		warn(ctx, msg);
		free(msg);
	}
	nf_error_clear();
	nf_reconcile_report_release(&rep);
	free(state_dir);
	return 0;
}
