/* cmd-diff.c: `ntflow diff [RUN_A] [RUN_B]`, what differs between two runs (DVC's params diff
 * and metrics diff together): their params, metrics with deltas, each stage's decision and
 * each output's digest. Differences are no error: exit 0. */
#include "config.h"
#include "ntflow/cmd.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "ntflow/store.h"

/* What a node's state says was decided about it in a run (a gate: passed or rejected). */
static const char *
decision(const nf_node_info *n)
{
	switch (n->state) {
	case NF_ST_SUCCEEDED: return strcmp(n->kind, "gate") == 0 ? "passed" : "ran";
	case NF_ST_CACHED: return "cached";
	case NF_ST_FAILED: case NF_ST_TIMED_OUT: return "failed";
	case NF_ST_SKIPPED: return "skipped";
	case NF_ST_REJECTED: return "rejected";
	case NF_ST_CANCELLED: return "cancelled";
	default: return nf_state_name(n->state);   /* still going, or never started */
	}
}

/* One row of a section: its name, both sides as text (NULL: absent), and for metrics the
 * values themselves. */
typedef struct row {
	char *name, *path;              /* path: an output's, under its stage's name */
	char *a, *b;
	bool num;                       /* a metric: va, vb hold the values where present */
	bool has_a, has_b;
	double va, vb;
} row;
typedef struct section {
	row *rows;
	size_t n, cap;
	/* find_row's index: "name" or "name\npath" -> position + 1, of the first indexed rows
	 * (a run of 100 000 stages searched row by row took 32 s) */
	nf_strmap *index;
	size_t indexed;
	nf_arena *keys;                 /* the index's */
} section;

static row *
add_row(section *s, const char *name)
{
	row r = { .name = xstrdup(name) };

	NF_PUSH(s->rows, s->n, s->cap, r);
	return &s->rows[s->n - 1];
}

/* The index's key of a row into b: a stage's name, or an output's stage and path (names
 * hold no newline: the language refuses one). */
static const char *
row_key(nf_buf *b, const char *name, const char *path)
{
	nf_buf_reset(b);
	nf_buf_puts(b, name);
	if (path) {
		nf_buf_putc(b, '\n');
		nf_buf_puts(b, path);
	}
	return nf_buf_cstr(b);
}

/* The first row of that name (and path, when given: the rows of a section either all have
 * one or none do). */
static row *
find_row(section *s, const char *name, const char *path)
{
	nf_buf key = NF_BUF_INIT;
	void *at;

	if (!s->index) {
		s->index = nf_strmap_new(s->n + 16);
		s->keys = nf_arena_new();
	}
	for (; s->indexed < s->n; s->indexed++) {
		const row *r = &s->rows[s->indexed];

		row_key(&key, r->name, path ? r->path : NULL);
		if (!nf_strmap_get(s->index, nf_buf_cstr(&key)))   /* else a later row of that name */
			nf_strmap_put(s->index, nf_arena_strdup(s->keys, nf_buf_cstr(&key)),
				      (void *)(uintptr_t)(s->indexed + 1));
	}
	at = nf_strmap_get(s->index, row_key(&key, name, path));
	nf_buf_release(&key);
	return at ? &s->rows[(uintptr_t)at - 1] : NULL;
}

static void
section_free(section *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->rows[i].name);
		free(s->rows[i].path);
		free(s->rows[i].a);
		free(s->rows[i].b);
	}
	free(s->rows);
	nf_strmap_free(s->index);
	nf_arena_free(s->keys);
}

static bool
row_equal(const row *r)
{
	if (r->num)
		return r->has_a == r->has_b && (!r->has_a || r->va == r->vb || (isnan(r->va) && isnan(r->vb)));
	if (!r->a || !r->b)
		return !r->a && !r->b;
	return strcmp(r->a, r->b) == 0;
}

/* ---- gathering both runs into sections ---- */

static void
gather_params(section *s, const nf_cmp_run *a, const nf_cmp_run *b)
{
	char **cols = NULL;
	size_t n = 0;

	nf_cmp_param_columns((const nf_cmp_run[]){ *a, *b }, 2, NULL, 0, &cols, &n);
	for (size_t i = 0; i < n; i++) {
		const cJSON *va = nf_cmp_param(a, cols[i]), *vb = nf_cmp_param(b, cols[i]);
		row *r = add_row(s, cols[i]);

		r->a = va ? nf_cmp_param_text(va) : NULL;
		r->b = vb ? nf_cmp_param_text(vb) : NULL;
		if (nf_cmp_param_equal(va, vb) && r->a && r->b && strcmp(r->a, r->b) != 0) {
			free(r->b);   /* equal as JSON (1 and 1.0): one text */
			r->b = xstrdup(r->a);
		}
	}
	nf_cmp_columns_free(cols, n);
}

static void
gather_metrics(section *s, const nf_cmp_run *a, const nf_cmp_run *b)
{
	char **cols = NULL;
	size_t n = 0;

	nf_cmp_metric_columns((const nf_cmp_run[]){ *a, *b }, 2, NULL, 0, &cols, &n);
	for (size_t i = 0; i < n; i++) {
		const double *va = nf_cmp_metric(a, cols[i]), *vb = nf_cmp_metric(b, cols[i]);
		row *r = add_row(s, cols[i]);

		r->num = true;
		if ((r->has_a = va != NULL))
			r->va = *va;
		if ((r->has_b = vb != NULL))
			r->vb = *vb;
	}
	nf_cmp_columns_free(cols, n);
}

static void
gather_stages(section *s, const nf_node_info *na, size_t nna, const nf_node_info *nb, size_t nnb)
{
	/* In B's order (the newer run's DAG), then the nodes only A had. */
	for (size_t i = 0; i < nnb; i++)
		add_row(s, nb[i].name)->b = xstrdup(decision(&nb[i]));
	for (size_t i = 0; i < nna; i++) {
		row *r = find_row(s, na[i].name, NULL);

		if (!r)
			r = add_row(s, na[i].name);
		r->a = xstrdup(decision(&na[i]));
	}
}

typedef struct outputs_ctx {
	section *s;
	bool side_b;
} outputs_ctx;

static void
on_outputs(void *vctx, const char *node, const char *outputs_json)
{
	outputs_ctx *ctx = vctx;
	cJSON *arr = cJSON_Parse(outputs_json ? outputs_json : "[]");
	const cJSON *it;

	cJSON_ArrayForEach(it, arr) {
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(it, "path");
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(it, "digest");
		row *r;

		if (!cJSON_IsString(p) || !cJSON_IsString(d))
			continue;
		if (!(r = find_row(ctx->s, node, p->valuestring))) {
			r = add_row(ctx->s, node);
			r->path = xstrdup(p->valuestring);
		}
		free(ctx->side_b ? r->b : r->a);
		*(ctx->side_b ? &r->b : &r->a) = xstrdup(d->valuestring);
	}
	cJSON_Delete(arr);
}

/* ---- printing ---- */

static char *
side_text(const row *r, bool b)
{
	if (r->num)
		return (b ? r->has_b : r->has_a) ? nf_cmp_number_text(b ? r->vb : r->va, true) : xstrdup("-");
	return xstrdup((b ? r->b : r->a) ? (b ? r->b : r->a) : "-");
}

/* "sha256:ab12..." -> "ab12cd34e5f6": enough of a digest to tell two apart. */
static char *
short_digest(const char *d)
{
	const char *colon = d ? strchr(d, ':') : NULL;

	if (!d)
		return xstrdup("-");
	return xasprintf("%.12s", colon ? colon + 1 : d);
}

static void
print_section(const char *title, const section *s, bool all, const char *ha, const char *hb, bool outputs)
{
	const char *head[] = { title, ha, hb, "CHANGE", "%" };
	size_t ncols = s->n && s->rows[0].num ? 5 : 3, shown = 0;
	nf_table *tab = nf_table_new(ncols, head);

	if (ncols == 5)
		for (size_t c = 1; c < 5; c++)
			nf_table_align_right(tab, c);
	for (size_t i = 0; i < s->n; i++) {
		const row *r = &s->rows[i];
		char **cells;

		if (!all && row_equal(r))
			continue;
		cells = nf_table_add_row(tab);
		shown++;
		cells[0] = r->path ? xasprintf("%s %s", r->name, r->path) : xstrdup(r->name);
		if (outputs) {
			cells[1] = short_digest(r->a);
			cells[2] = short_digest(r->b);
		} else {
			cells[1] = side_text(r, false);
			cells[2] = side_text(r, true);
		}
		if (ncols == 5) {
			if (r->has_a && r->has_b) {
				double d = r->vb - r->va;

				cells[3] = xasprintf("%+.6g", d);
				cells[4] = r->va != 0 ? xasprintf("%+.1f%%", 100.0 * d / fabs(r->va)) : xstrdup("-");
			} else {
				cells[3] = xstrdup("-");
				cells[4] = xstrdup("-");
			}
		}
	}
	if (shown) {
		nf_cmd_print_table(tab);
		fputc('\n', stdout);
	}
	nf_table_free(tab);
}

static cJSON *
json_side(const row *r, bool b)
{
	if (r->num) {
		if (!(b ? r->has_b : r->has_a) || !isfinite(b ? r->vb : r->va))
			return cJSON_CreateNull();
		return cJSON_CreateNumber(b ? r->vb : r->va);
	}
	return (b ? r->b : r->a) ? cJSON_CreateString(b ? r->b : r->a) : cJSON_CreateNull();
}

static cJSON *
json_section(const section *s, bool all, const nf_cmp_run *a, const nf_cmp_run *b, bool params)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < s->n; i++) {
		const row *r = &s->rows[i];
		bool eq = row_equal(r);
		cJSON *o;

		if (!all && eq)
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, r->path ? "stage" : "name", r->name);
		if (r->path)
			cJSON_AddStringToObject(o, "path", r->path);
		if (params) {   /* the values as the runs recorded them (numbers stay numbers) */
			const cJSON *va = nf_cmp_param(a, r->name), *vb = nf_cmp_param(b, r->name);

			cJSON_AddItemToObject(o, "a", va ? cJSON_Duplicate(va, true) : cJSON_CreateNull());
			cJSON_AddItemToObject(o, "b", vb ? cJSON_Duplicate(vb, true) : cJSON_CreateNull());
		} else {
			cJSON_AddItemToObject(o, "a", json_side(r, false));
			cJSON_AddItemToObject(o, "b", json_side(r, true));
		}
		if (r->num) {
			bool both = r->has_a && r->has_b && isfinite(r->vb - r->va);

			if (both)
				cJSON_AddNumberToObject(o, "delta", r->vb - r->va);
			else
				cJSON_AddNullToObject(o, "delta");
			if (both && r->va != 0)
				cJSON_AddNumberToObject(o, "percent", 100.0 * (r->vb - r->va) / fabs(r->va));
			else
				cJSON_AddNullToObject(o, "percent");
		}
		cJSON_AddBoolToObject(o, "changed", !eq);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *
json_run(const nf_run_info *r)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "id", (double)r->id);
	cJSON_AddStringToObject(o, "pipeline", r->pipeline);
	if (r->commit)
		cJSON_AddStringToObject(o, "commit", r->commit);
	else
		cJSON_AddNullToObject(o, "commit");
	cJSON_AddBoolToObject(o, "dirty", r->dirty);
	cJSON_AddStringToObject(o, "status", nf_run_status_name(r->status));
	nf_cmd_json_time(o, "pruned", r->pruned_ms);
	return o;
}

static int
load_side(nf_store *st, nf_cmp_run *r, int64_t id, nf_node_info **nodes, size_t *nn, section *outputs, bool b)
{
	outputs_ctx oc = { outputs, b };
	int err;

	if ((err = nf_store_run_get(st, id, &r->info)) < 0 ||
	    (err = nf_store_node_list(st, id, nodes, nn)) < 0 ||
	    (err = nf_store_run_outputs(st, id, on_outputs, &oc)) < 0)
		return err;
	return 0;
}

static int
cmd_diff_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	nf_store *st = NULL;
	nf_cmp_run runs[2] = { 0 };
	nf_node_info *na = NULL, *nb = NULL;
	size_t nna = 0, nnb = 0;
	section params = { 0 }, metrics = { 0 }, stages = { 0 }, outputs = { 0 };
	char *dir = NULL, ha[32], hb[32];
	int64_t ida = 0, idb = 0;
	bool all = false;
	int c, err, rc = NF_EXIT_FAILED;

	while ((c = nf_cmd_getopt(&nf_cmd_diff, argc, argv, "a", longopts)) != NF_CMD_DONE) {
		switch (c) {
		case NF_CMD_HELP:
			return NF_EXIT_OK;
		case 'a':
			all = true;
			break;
		default:
			return NF_EXIT_USAGE;
		}
	}
	if (argc - optind > 2) {
		nf_cmd_eprintf("ntflow diff: too many arguments\n");
		nf_cmd_usage(&nf_cmd_diff, stderr);
		return NF_EXIT_USAGE;
	}
	if ((err = nf_cmd_open_store(&st, &dir, nf_cmd_opt.state)) < 0) {
		rc = nf_cmd_exit_status(err);
		goto done;
	}
	/* Two RUNs: A then B. One: it is B, A the run of its pipeline before it. None: the last
	 * run and the one of its pipeline before it. */
	if (argc - optind == 2) {
		if ((err = nf_cmd_run_resolve(&ida, &nf_cmd_diff, st, dir, argv[optind])) < 0 ||
		    (err = nf_cmd_run_resolve(&idb, &nf_cmd_diff, st, dir, argv[optind + 1])) < 0) {
			rc = err == NF_EINVALID ? NF_EXIT_USAGE : NF_EXIT_FAILED;
			goto done;
		}
	} else {
		if ((err = nf_cmd_run_resolve(&idb, &nf_cmd_diff, st, dir, argc - optind == 1 ? argv[optind] : NULL)) < 0) {
			rc = err == NF_EINVALID ? NF_EXIT_USAGE : NF_EXIT_FAILED;
			goto done;
		}
		if (nf_store_run_prev_of_pipeline(st, idb, &ida) < 0) {
			nf_cmd_error("%s: nothing to compare it with (name two runs)", nf_error_last());
			goto done;
		}
	}
	if (load_side(st, &runs[0], ida, &na, &nna, &outputs, false) < 0 ||
	    load_side(st, &runs[1], idb, &nb, &nnb, &outputs, true) < 0 ||
	    nf_cmp_runs_load(st, runs, 2) < 0) {
		nf_cmd_error("%s", nf_error_last());
		goto done;
	}
	gather_params(&params, &runs[0], &runs[1]);
	gather_metrics(&metrics, &runs[0], &runs[1]);
	gather_stages(&stages, na, nna, nb, nnb);

	if (nf_cmd_opt.json) {
		cJSON *top = cJSON_CreateObject();
		char *text;

		cJSON_AddItemToObject(top, "a", json_run(&runs[0].info));
		cJSON_AddItemToObject(top, "b", json_run(&runs[1].info));
		cJSON_AddItemToObject(top, "params", json_section(&params, all, &runs[0], &runs[1], true));
		cJSON_AddItemToObject(top, "metrics", json_section(&metrics, all, &runs[0], &runs[1], false));
		cJSON_AddItemToObject(top, "stages", json_section(&stages, all, &runs[0], &runs[1], false));
		cJSON_AddItemToObject(top, "outputs", json_section(&outputs, all, &runs[0], &runs[1], false));
		text = nf_json_print(top, true);
		printf("%s\n", text);
		free(text);
		cJSON_Delete(top);
	} else {
		bool any = all;

		for (size_t i = 0; !any && i < params.n; i++)
			any = !row_equal(&params.rows[i]);
		for (size_t i = 0; !any && i < metrics.n; i++)
			any = !row_equal(&metrics.rows[i]);
		for (size_t i = 0; !any && i < stages.n; i++)
			any = !row_equal(&stages.rows[i]);
		for (size_t i = 0; !any && i < outputs.n; i++)
			any = !row_equal(&outputs.rows[i]);
		snprintf(ha, sizeof(ha), "RUN %lld", (long long)ida);
		snprintf(hb, sizeof(hb), "RUN %lld", (long long)idb);
		if (!any) {
			printf("runs %lld and %lld do not differ in params, metrics, stage decisions or outputs\n",
			       (long long)ida, (long long)idb);
		} else {
			print_section("PARAM", &params, all, ha, hb, false);
			print_section("METRIC", &metrics, all, ha, hb, false);
			print_section("STAGE", &stages, all, ha, hb, false);
			print_section("OUTPUT", &outputs, all, ha, hb, true);
		}
		/* A pruned run's "-" means "not kept", not "did not run". */
		for (size_t i = 0; i < 2; i++) {
			char t[32];

			if (!runs[i].info.pruned_ms)
				continue;
			nf_store_fmt_local_time(t, sizeof(t), runs[i].info.pruned_ms);
			printf("run %lld was pruned on %s (ntflow prune): a stage that wrote no metrics is not"
			       " recorded for it (-)\n", (long long)runs[i].info.id, t);
		}
	}
	rc = NF_EXIT_OK;
done:
	section_free(&params);
	section_free(&metrics);
	section_free(&stages);
	section_free(&outputs);
	nf_node_info_list_free(na, nna);
	nf_node_info_list_free(nb, nnb);
	nf_cmp_run_release(&runs[0]);
	nf_cmp_run_release(&runs[1]);
	nf_store_close(st);
	free(dir);
	return rc;
}

const nf_cmd nf_cmd_diff = {
	.name    = "diff",
	.shared  = NF_CMD_SHARED_STATE | NF_CMD_SHARED_JSON | NF_CMD_SHARED_RUN,
	.usage   = "diff [RUN_A] [RUN_B] [--all] [--json] [--state DIR]",
	.summary = "Show what differs between two runs: params, metrics, stage decisions, outputs.",
	.help    =
		"Compares run A with run B (DVC's params diff and metrics diff): the params whose\n"
		"values differ, the metrics with B's change from A and that change in percent of A,\n"
		"the decision of each stage (ran, cached, failed, skipped, cancelled; a gate passed\n"
		"or rejected) and the digest of each output of the stages that succeeded or were\n"
		"cached (from the cache entry the stage's key names: a stage with cache = false, or\n"
		"whose entry gc removed, has none). Metrics are named as `runs --metrics` names\n"
		"them: METRIC, or STAGE.METRIC when several stages give it. Absent values show as -.\n\n"
		"With no RUN: the last run and the run of the same pipeline before it. With one RUN:\n"
		"that run and the run of its pipeline before it. With two: A then B, any two runs.\n"
		"Differences are no error: the exit status is 0, and 1 for an unknown run or a run\n"
		"that has no earlier run of its pipeline to compare with.\n\n"
		"  -a, --all      also the params, metrics, stages and outputs that are equal\n"
		"  --json         an object: a and b (id, pipeline, commit, dirty, status, pruned)\n"
		"                 and arrays params, metrics, stages, outputs of {name (outputs:\n"
		"                 stage, path),\n"
		"                 a, b, changed}, metrics with delta and percent (null when a side\n"
		"                 is missing, percent also when A is 0)\n"
		"  --state DIR    the state directory (default: $NTFLOW_STATE, else .ntflow/ at the\n"
		"                 root of the git repository holding the current directory)\n",
	.exec    = cmd_diff_exec,
};
