/* cmd-show.c: `ntflow show`, one run (the last by default): its record, a table of its
 * nodes with their resource use, and their metrics; or the same as one JSON object. */
#include "config.h"
#include "ntflow/cmd.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "ntflow/gov.h"
#include "ntflow/store.h"

/* Everything show prints about a run, read once. */
typedef struct show_data {
	nf_run_info run;
	char *error;                 /* why it failed when no stage says, else NULL */
	nf_node_info *nodes;
	size_t nnodes;
	nf_metric *metrics;
	size_t nmetrics;
	nf_node_cache_info *cache;   /* per node: its key, and cached or why it ran */
	nf_run_repro repro;          /* what the run ran on */
	nf_gate_result *gates;       /* each gate's criteria with value, threshold, verdict */
	size_t ngates;
	nf_model_version *versions;  /* registry versions this run registered */
	size_t nversions;
	nf_model_event *events;      /* the registry events of this run (registered, held, ...) */
	size_t nevents;
	nf_model_version *prod;      /* the production version of each model the run touched */
	char **prod_why;             /* why each is in production */
	size_t nprod;
	nf_alert *alerts;            /* drift alerts its monitors raised */
	size_t nalerts;
	nf_violation *violations;    /* its failed gate criteria */
	size_t nviolations;
	nf_slurm_job_row *slurm;     /* its Slurm jobs, by node and attempt */
	size_t nslurm;
	nf_strmap *slurm_last;       /* node name -> its last job's position + 1 */
	nf_phase_row *phases;        /* CPU per phase, with the budget recorded at its end */
	size_t nphases;
	const char *state_dir;       /* the workspace's state directory (logs are found from it) */
} show_data;

/* The Slurm job of a node's latest attempt, or NULL. */
static const nf_slurm_job_row *
slurm_job(const show_data *d, const char *node)
{
	void *at = d->slurm_last ? nf_strmap_get(d->slurm_last, node) : NULL;

	return at ? &d->slurm[(uintptr_t)at - 1] : NULL;
}

/* Each node's last job, found by name (looked up for every node: a run of 100 000 Slurm
 * stages searched job by job would take hours). */
static void
index_slurm(show_data *d)
{
	d->slurm_last = nf_strmap_new(d->nslurm + 1);
	for (size_t i = 0; i < d->nslurm; i++)
		nf_strmap_put(d->slurm_last, d->slurm[i].node, (void *)(uintptr_t)(i + 1));
}

/* "12" or "12_3". */
static void
slurm_id(char *out, size_t size, const nf_slurm_job_row *j)
{
	if (j->task >= 0)
		snprintf(out, size, "%llu_%ld", (unsigned long long)j->job_id, j->task);
	else
		snprintf(out, size, "%llu", (unsigned long long)j->job_id);
}

/* Each Slurm node's job: its id, name, state and reason ("PENDING (Resources)"). */
static void
print_slurm(const show_data *d)
{
	size_t w = 0, wid = 0;
	char id[48];

	if (!d->nslurm)
		return;
	for (size_t i = 0; i < d->nnodes; i++) {
		const nf_slurm_job_row *j = slurm_job(d, d->nodes[i].name);

		if (!j)
			continue;
		slurm_id(id, sizeof(id), j);
		if (strlen(d->nodes[i].name) > w)
			w = strlen(d->nodes[i].name);
		if (strlen(id) > wid)
			wid = strlen(id);
	}
	nf_cmd_printf("\nslurm jobs\n");
	for (size_t i = 0; i < d->nnodes; i++) {
		const nf_slurm_job_row *j = slurm_job(d, d->nodes[i].name);

		if (!j)
			continue;
		slurm_id(id, sizeof(id), j);
		nf_cmd_printf("  %-*s  job %-*s  %s", (int)w, d->nodes[i].name, (int)wid, id, j->state);
		if (j->reason[0] && strcmp(j->reason, "None") != 0)
			nf_cmd_printf(" (%s)", j->reason);
		nf_cmd_printf("  %s\n", j->name);
	}
}

/* The CACHE cell: "run 41" for a reused result, else the miss reason without its details
 * (`ntflow why` has them), cut to a column's width on a character boundary. */
static char *
cache_cell(const nf_node_cache_info *c)
{
	const char *r = c->miss_reason, *paren;
	size_t len;

	if (c->cached)
		return xasprintf("run %lld", (long long)c->reused_run);
	if (!r)
		return xstrdup("-");
	if (strncmp(r, "caching is off", 14) == 0)
		return xstrdup("off (cache = false)");
	paren = strstr(r, " (");
	len = paren ? (size_t)(paren - r) : strlen(r);
	if (len > 40) {
		len = 37;
		while (len > 0 && ((unsigned char)r[len] & 0xc0) == 0x80)
			len--;   /* cut before a UTF-8 sequence, not inside it */
		return xasprintf("%.*s...", (int)len, r);
	}
	return xstrndup(r, len);
}

/* A node's wall time: the latest attempt's, or the time so far while it runs. */
static int64_t
node_wall_ms(const nf_node_info *n)
{
	if (n->state == NF_ST_RUNNING && n->wall_ms == 0 && n->started_ms > 0)
		return nf_now_realtime_ms() - n->started_ms;
	return n->wall_ms;
}

/* Whether n's wall time is known: not for a node left running by a run that ended (it
 * crashed, its stage killed with it at a moment nobody recorded), which would otherwise
 * grow for ever. */
static bool
node_wall_known(const nf_run_info *r, const nf_node_info *n)
{
	return !(n->state == NF_ST_RUNNING && n->wall_ms == 0 && r->status != NF_RUN_RUNNING);
}

static void
fmt_rss(char *out, size_t size, long kb)
{
	if (kb < 1024)
		snprintf(out, size, "%ldK", kb);
	else if (kb < 1024L * 1024)
		snprintf(out, size, "%.1fM", kb / 1024.0);
	else
		snprintf(out, size, "%.1fG", kb / (1024.0 * 1024.0));
}

static void
print_header(const nf_run_info *r, const char *error)
{
	char t[32], dur[32];
	char *params = nf_cmd_object_line(r->params_json);

	nf_cmd_printf("run       %lld\n", (long long)r->id);
	nf_cmd_printf("pipeline  %s", r->pipeline);
	if (r->file && *r->file)
		nf_cmd_printf(" (%s)", r->file);
	nf_cmd_printf("\nstatus    %s\n", nf_run_status_name(r->status));
	if (error) {
		nf_buf b = NF_BUF_INIT;

		nf_buf_add_visible(&b, error, false);
		nf_cmd_printf("error     %s\n", nf_buf_cstr(&b));
		nf_buf_release(&b);
	}
	nf_cmd_printf("trigger   %s\n", r->trigger);
	nf_cmd_printf("date      %s\n", r->logical_date && *r->logical_date ? r->logical_date : "-");
	if (r->cohort)
		nf_cmd_printf("cohort    %s\n", r->cohort);
	if (r->has_risk)
		nf_cmd_printf("risk      %g%s%s\n", r->risk_score, r->risk_tier ? " " : "", r->risk_tier ? r->risk_tier : "");
	if (r->interval_start && r->interval_end && strcmp(r->interval_start, r->interval_end) != 0)
		nf_cmd_printf("interval  %s .. %s\n", r->interval_start, r->interval_end);
	nf_cmd_printf("commit    %s\n", r->commit ? r->commit : "- (not in git)");
	nf_cmd_printf("dirty     %s\n", r->dirty ? "yes" : "no");
	nf_cmd_printf("params    %s\n", params);
	nf_store_fmt_local_time(t, sizeof(t), r->started_ms);
	nf_cmd_printf("started   %s\n", t);
	nf_store_fmt_local_time(t, sizeof(t), r->finished_ms);
	nf_cmd_printf("finished  %s\n", r->status == NF_RUN_RUNNING ? "- (running)" : t);
	if (r->status == NF_RUN_RUNNING)
		nf_format_duration(dur, sizeof(dur), nf_now_realtime_ms() - r->started_ms);
	else if (r->status != NF_RUN_CRASHED && r->finished_ms >= r->started_ms)
		nf_format_duration(dur, sizeof(dur), r->finished_ms - r->started_ms);
	else
		snprintf(dur, sizeof(dur), "-");
	nf_cmd_printf("duration  %s\n", dur);
	if (r->pruned_ms) {
		nf_store_fmt_local_time(t, sizeof(t), r->pruned_ms);
		nf_cmd_printf("pruned    %s: only its gates, the stages that wrote metrics and those later runs refer to are listed\n", t);
	}
	free(params);
}

/* Whether n's log is there: a log is made at the stage's first byte, so one that printed
 * nothing has none to name. */
static bool
log_exists(const show_data *d, const nf_node_info *n)
{
	char *path;
	bool there;

	if (!n->log_path)
		return false;
	path = nf_store_log_path(d->state_dir, n->log_path);
	there = access(path, F_OK) == 0;
	free(path);
	return there;
}

static void
print_nodes(const show_data *d)
{
	static const char *const head[] = {
		"STAGE", "STATE", "ATTEMPTS", "EXIT", "WALL", "CPU", "MAXRSS", "LOG", "CACHE",
	};
	nf_table *tab = nf_table_new(NF_ARRAY_SIZE(head), head);
	size_t wstage;
	bool any_reason = false;

	for (size_t i = 0; i < d->nnodes; i++) {
		const nf_node_info *n = &d->nodes[i];
		char **row = nf_table_add_row(tab);
		char buf[64];
		bool ran = n->attempts > 0;

		row[0] = xstrdup(n->name);
		row[1] = xstrdup(nf_state_name(n->state));
		row[2] = xasprintf("%d", n->attempts);
		if (n->exit_code >= 0)
			row[3] = xasprintf("%d", n->exit_code);
		else if (n->term_signal > 0) {
			nf_store_fmt_signal(buf, sizeof(buf), n->term_signal);
			row[3] = xstrdup(buf);
		} else
			row[3] = xstrdup("-");
		nf_format_duration(buf, sizeof(buf), node_wall_ms(n));
		row[4] = xstrdup(ran && node_wall_known(&d->run, n) ? buf : "-");
		nf_format_duration(buf, sizeof(buf), n->user_ms + n->sys_ms);
		row[5] = xstrdup(ran && n->state != NF_ST_RUNNING ? buf : "-");
		fmt_rss(buf, sizeof(buf), n->max_rss_kb);
		row[6] = xstrdup(ran && n->max_rss_kb > 0 ? buf : "-");
		row[7] = xstrdup(log_exists(d, n) ? n->log_path : "-");
		row[8] = cache_cell(&d->cache[i]);
		any_reason |= n->reason != NULL;
	}
	putchar('\n');
	nf_cmd_print_table(tab);
	wstage = nf_table_width(tab, 0);
	nf_table_free(tab);

	if (any_reason) {
		nf_cmd_printf("\nreasons\n");
		for (size_t i = 0; i < d->nnodes; i++)
			if (d->nodes[i].reason)
				nf_cmd_printf("  %-*s  %s\n", (int)wstage, d->nodes[i].name, d->nodes[i].reason);
	}
	if (d->nmetrics) {
		size_t wn = 0, wm = 0;

		for (size_t i = 0; i < d->nmetrics; i++) {
			if (strlen(d->metrics[i].node) > wn)
				wn = strlen(d->metrics[i].node);
			if (strlen(d->metrics[i].name) > wm)
				wm = strlen(d->metrics[i].name);
		}
		nf_cmd_printf("\nmetrics\n");
		for (size_t i = 0; i < d->nmetrics; i++)
			nf_cmd_printf("  %-*s  %-*s  %.10g\n", (int)wn, d->metrics[i].node, (int)wm,
			       d->metrics[i].name, d->metrics[i].value);
	}
}

/* How the run's processes were held, when it started any: by process group, without a
 * cgroup, so one that left its stage's group is out of reach of the stage's timeout until
 * the end of the run (ntflow(1), PROCESSES). */
static void
print_processes(const show_data *d)
{
	bool ran = false;

	for (size_t i = 0; i < d->nnodes && !ran; i++)
		ran = d->nodes[i].attempts > 0 && strcmp(d->nodes[i].kind, "gate") != 0;
	if (ran)
		nf_cmd_printf("processes by process group, no cgroup: one that calls setsid outlives its stage's timeout\n");
}

static void
add_str_or_null(cJSON *o, const char *key, const char *s)
{
	if (s)
		cJSON_AddStringToObject(o, key, s);
	else
		cJSON_AddNullToObject(o, key);
}

static void
add_ms_or_null(cJSON *o, const char *key, int64_t ms)
{
	if (ms > 0)
		cJSON_AddNumberToObject(o, key, (double)ms);
	else
		cJSON_AddNullToObject(o, key);
}

/* Why the run left a version it registered a candidate though its gate passed (the note of
 * its register event), or NULL. Borrowed. */
static const char *
version_note(const show_data *d, const nf_model_version *v)
{
	for (size_t i = 0; i < d->nevents; i++)
		if (strcmp(d->events[i].action, "register") == 0 && d->events[i].version == v->version &&
		    strcmp(d->events[i].model, v->model) == 0)
			return d->events[i].reason;
	return NULL;
}

/* Each gate as a small table: criterion, value, threshold, verdict (and why, when there
 * is more to say than the numbers); gate.c formats it, as for ntflow run's summary. */
static void
print_gates(const show_data *d)
{
	for (size_t g = 0; g < d->ngates; g++) {
		nf_buf b = NF_BUF_INIT;

		nf_gate_format_table(&b, &d->gates[g]);
		nf_cmd_printf("\n%s", nf_buf_cstr(&b));
		nf_buf_release(&b);
	}
	for (size_t i = 0, shown = 0; i < d->nversions + d->nevents; i++) {
		const nf_model_version *v = i < d->nversions ? &d->versions[i] : NULL;
		const nf_model_event *e = v ? NULL : &d->events[i - d->nversions];
		const char *head = shown ? "" : "\nregistered\n";

		if (v) {
			const char *note = version_note(d, v);

			nf_cmd_printf("%s  %s v%d  %s%s%s\n", head, v->model, v->version, v->status, note ? ": " : "",
			       note ? note : "");
		} else if (strcmp(e->action, "held") == 0) {
			nf_cmd_printf("%s  %s v%d  unchanged (%s): %s\n", head, e->model, e->version, e->status,
			       e->reason ? e->reason : "not promoted");
		} else if (strcmp(e->action, "promote") == 0 && strcmp(e->status, "production") == 0) {
			nf_cmd_printf("%s  %s v%d  returned to production\n", head, e->model, e->version);
		} else {
			continue;
		}
		shown++;
	}
	for (size_t i = 0; i < d->nprod; i++)
		nf_cmd_printf("%s  %s v%d  %s\n", i ? "" : "\nin production\n", d->prod[i].model, d->prod[i].version,
		       d->prod_why[i] ? d->prod_why[i] : "-");
}

static void
add_gates_json(cJSON *top, const show_data *d)
{
	cJSON *gates = cJSON_AddArrayToObject(top, "gates"), *reg;

	for (size_t g = 0; g < d->ngates; g++) {
		const nf_gate_result *r = &d->gates[g];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "name", r->name);
		cJSON_AddBoolToObject(o, "passed", r->passed);
		cJSON_AddItemToObject(o, "criteria", nf_gate_criteria_json(r));
		cJSON_AddItemToArray(gates, o);
	}
	reg = cJSON_AddArrayToObject(top, "registered");
	for (size_t i = 0; i < d->nversions; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "model", d->versions[i].model);
		cJSON_AddNumberToObject(o, "version", d->versions[i].version);
		cJSON_AddStringToObject(o, "status", d->versions[i].status);
		add_str_or_null(o, "note", version_note(d, &d->versions[i]));
		cJSON_AddItemToArray(reg, o);
	}
	reg = cJSON_AddArrayToObject(top, "held");
	for (size_t i = 0; i < d->nevents; i++) {
		cJSON *o;

		if (strcmp(d->events[i].action, "held") != 0)
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "model", d->events[i].model);
		cJSON_AddNumberToObject(o, "version", d->events[i].version);
		cJSON_AddStringToObject(o, "status", d->events[i].status);
		add_str_or_null(o, "note", d->events[i].reason);
		cJSON_AddItemToArray(reg, o);
	}
	reg = cJSON_AddArrayToObject(top, "production");
	for (size_t i = 0; i < d->nprod; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "model", d->prod[i].model);
		cJSON_AddNumberToObject(o, "version", d->prod[i].version);
		add_str_or_null(o, "why", d->prod_why[i]);
		cJSON_AddItemToArray(reg, o);
	}
}

/* The violations, when the pipeline types them (a criterion block's): a require string's
 * failure, typed by its gate's name, is in the gate's table already. */
static void
print_violations(const show_data *d)
{
	for (size_t i = 0; i < d->nviolations; i++) {
		if (strcmp(d->violations[i].type, d->violations[i].gate) != 0) {
			nf_show_violations_text(d->violations, d->nviolations);
			return;
		}
	}
}

static void
print_json(const show_data *d)
{
	const nf_run_info *r = &d->run;
	cJSON *top = cJSON_CreateObject(), *run = cJSON_AddObjectToObject(top, "run");
	cJSON *stages = cJSON_AddArrayToObject(top, "stages"), *params, *dirty_paths;
	size_t m = 0;
	char *text;

	cJSON_AddNumberToObject(run, "id", (double)r->id);
	cJSON_AddStringToObject(run, "pipeline", r->pipeline);
	cJSON_AddStringToObject(run, "status", nf_run_status_name(r->status));
	add_str_or_null(run, "error", d->error);
	cJSON_AddStringToObject(run, "trigger", r->trigger);
	cJSON_AddStringToObject(run, "logical_date", r->logical_date);
	add_str_or_null(run, "interval_start", r->interval_start);
	add_str_or_null(run, "interval_end", r->interval_end);
	add_str_or_null(run, "cohort", r->cohort);
	if (r->has_risk)
		cJSON_AddNumberToObject(run, "risk_score", r->risk_score);
	else
		cJSON_AddNullToObject(run, "risk_score");
	add_str_or_null(run, "risk_tier", r->risk_tier);
	add_str_or_null(run, "commit", r->commit);
	cJSON_AddBoolToObject(run, "dirty", r->dirty);
	params = cJSON_Parse(r->params_json ? r->params_json : "{}");
	if (!params)
		params = cJSON_CreateString(r->params_json);
	cJSON_AddItemToObject(run, "params", params);
	nf_cmd_json_time(run, "started", r->started_ms);
	nf_cmd_json_time(run, "finished", r->finished_ms);
	nf_cmd_json_time(run, "pruned", r->pruned_ms);
	dirty_paths = cJSON_Parse(d->repro.dirty_paths_json ? d->repro.dirty_paths_json : "[]");
	if (!cJSON_IsArray(dirty_paths)) {
		cJSON_Delete(dirty_paths);
		dirty_paths = cJSON_CreateArray();
	}
	cJSON_AddItemToObject(run, "dirty_paths", dirty_paths);
	add_str_or_null(run, "branch", d->repro.branch);
	add_str_or_null(run, "dag_sha256", d->repro.dag_sha256);
	add_str_or_null(run, "ntflow_version", d->repro.version);
	cJSON_AddBoolToObject(run, "cgroup", false);   /* processes are held by process group only */

	for (size_t i = 0; i < d->nnodes; i++) {
		const nf_node_info *n = &d->nodes[i];
		cJSON *o = cJSON_CreateObject(), *metrics;
		const nf_slurm_job_row *sj;
		char sig[32];

		cJSON_AddStringToObject(o, "name", n->name);
		cJSON_AddStringToObject(o, "stage", n->stage);
		add_str_or_null(o, "instance", n->instance);
		cJSON_AddStringToObject(o, "kind", n->kind);
		cJSON_AddStringToObject(o, "state", nf_state_name(n->state));
		cJSON_AddNumberToObject(o, "attempts", n->attempts);
		if (n->exit_code >= 0)
			cJSON_AddNumberToObject(o, "exit_code", n->exit_code);
		else
			cJSON_AddNullToObject(o, "exit_code");
		if (n->term_signal > 0) {
			nf_store_fmt_signal(sig, sizeof(sig), n->term_signal);
			cJSON_AddStringToObject(o, "signal", sig);
		} else {
			cJSON_AddNullToObject(o, "signal");
		}
		cJSON_AddNumberToObject(o, "wall_ms", (double)n->wall_ms);
		cJSON_AddNumberToObject(o, "cpu_ms", (double)(n->user_ms + n->sys_ms));
		cJSON_AddNumberToObject(o, "max_rss_kb", (double)n->max_rss_kb);
		nf_cmd_json_time(o, "started", n->started_ms);
		nf_cmd_json_time(o, "finished", n->finished_ms);
		add_ms_or_null(o, "started_ms", n->started_ms);   /* to the ms, for ordering */
		add_ms_or_null(o, "finished_ms", n->finished_ms);
		add_str_or_null(o, "log", n->log_path);
		add_str_or_null(o, "reason", n->reason);
		add_str_or_null(o, "cache_key", d->cache[i].key);
		cJSON_AddBoolToObject(o, "cached", d->cache[i].cached);
		if (d->cache[i].cached && d->cache[i].reused_run > 0)
			cJSON_AddNumberToObject(o, "reused_run", (double)d->cache[i].reused_run);
		else
			cJSON_AddNullToObject(o, "reused_run");
		add_str_or_null(o, "miss_reason", d->cache[i].miss_reason);
		if ((sj = slurm_job(d, n->name))) {
			cJSON *so = cJSON_AddObjectToObject(o, "slurm");
			char id[48];

			slurm_id(id, sizeof(id), sj);
			cJSON_AddStringToObject(so, "job_id", id);
			cJSON_AddStringToObject(so, "name", sj->name);
			cJSON_AddStringToObject(so, "state", sj->state);
			cJSON_AddStringToObject(so, "reason", sj->reason);
			cJSON_AddNumberToObject(so, "submitted_ms", (double)sj->submitted_ms);
		} else {
			cJSON_AddNullToObject(o, "slurm");
		}
		metrics = cJSON_AddObjectToObject(o, "metrics");
		/* Metrics come in node order, so one pass over both lists pairs them. */
		while (m < d->nmetrics && strcmp(d->metrics[m].node, n->name) == 0) {
			cJSON_AddNumberToObject(metrics, d->metrics[m].name, d->metrics[m].value);
			m++;
		}
		cJSON_AddItemToArray(stages, o);
	}
	add_gates_json(top, d);
	nf_show_alerts_json(top, d->alerts, d->nalerts);
	nf_show_phases_json(top, d->phases, d->nphases);
	{
		cJSON *vs = cJSON_AddArrayToObject(top, "violations");

		for (size_t i = 0; i < d->nviolations; i++)
			cJSON_AddItemToArray(vs, nf_violation_json(&d->violations[i]));
	}
	text = nf_json_print(top, true);
	printf("%s\n", text);
	free(text);
	cJSON_Delete(top);
}

/* The registry versions the run registered. */
static int
load_versions(show_data *d, nf_store *st, int64_t run_id)
{
	nf_model_version *all;
	size_t n;
	int err;

	if ((err = nf_registry_list(st, NULL, &all, &n)) < 0)
		return err;
	for (size_t i = 0; i < n; i++) {
		if (all[i].run_id == run_id) {
			d->versions = xrealloc(d->versions, (d->nversions + 1) * sizeof(*d->versions));
			d->versions[d->nversions++] = all[i];
		} else {
			nf_model_version_release(&all[i]);
		}
	}
	free(all);
	if ((err = nf_registry_run_events(st, run_id, &d->events, &d->nevents)) < 0)
		return err;
	/* Each model the run touched: its production version now, and why. */
	for (size_t i = 0; i < d->nevents; i++) {
		const char *model = d->events[i].model;
		nf_model_version v;
		nf_model_event *ev = NULL;
		size_t nev = 0, k;

		for (k = 0; k < d->nprod && strcmp(d->prod[k].model, model) != 0; k++)
			;
		if (k < d->nprod || nf_registry_get(&v, st, model, 0) < 0)
			continue;
		if (strcmp(v.status, "production") != 0) {
			nf_model_version_release(&v);
			continue;
		}
		d->prod = xrealloc(d->prod, (d->nprod + 1) * sizeof(*d->prod));
		d->prod_why = xrealloc(d->prod_why, (d->nprod + 1) * sizeof(*d->prod_why));
		d->prod_why[d->nprod] = nf_registry_events(st, model, v.version, &ev, &nev) == 0
					? nf_registry_why(&v, ev, nev) : NULL;
		d->prod[d->nprod++] = v;
		nf_model_event_list_free(ev, nev);
	}
	nf_error_clear();
	return 0;
}

static int
cmd_show_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "perf",  no_argument,       NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	const char *arg = NULL;
	show_data d = { 0 };
	nf_store *st = NULL;
	char *dir = NULL;
	bool perf = false;
	int64_t id;
	int c, err, rc = NF_EXIT_FAILED;

	while ((c = nf_cmd_getopt(&nf_cmd_show, argc, argv, "", longopts)) != NF_CMD_DONE) {
		switch (c) {
		case NF_CMD_HELP:
			return NF_EXIT_OK;
		case 'P':
			perf = true;
			break;
		default:
			return NF_EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		nf_cmd_eprintf("ntflow show: unexpected argument '%s'\n", argv[optind + 1]);
		nf_cmd_usage(&nf_cmd_show, stderr);
		return NF_EXIT_USAGE;
	}
	if (optind < argc)
		arg = argv[optind];
	if ((err = nf_cmd_open_store(&st, &dir, nf_cmd_opt.state)) < 0) {
		rc = nf_cmd_exit_status(err);
		goto done;
	}
	d.state_dir = dir;
	if ((err = nf_cmd_run_resolve(&id, &nf_cmd_show, st, dir, arg)) < 0) {
		rc = err == NF_EINVALID ? NF_EXIT_USAGE : NF_EXIT_FAILED;
		goto done;
	}
	if (perf) {   /* the performance record alone (cmd-show-perf.c) */
		if (nf_store_run_get(st, id, &d.run) < 0)
			nf_cmd_error("%s", nf_error_last());
		else
			rc = nf_show_perf(st, &d.run, nf_cmd_opt.json);
		goto done;
	}
	if (nf_store_run_get(st, id, &d.run) < 0 ||
	    nf_store_node_list(st, id, &d.nodes, &d.nnodes) < 0 ||
	    nf_store_metric_list(st, id, &d.metrics, &d.nmetrics) < 0) {
		nf_cmd_error("%s", nf_error_last());
		goto done;
	}
	d.cache = xcalloc(d.nnodes + 1, sizeof(*d.cache));
	for (size_t i = 0; i < d.nnodes; i++)
		nf_store_node_cache_get(st, id, d.nodes[i].name, &d.cache[i]);
	nf_store_run_repro_get(st, id, &d.repro);
	if (nf_store_run_error_get(st, id, &d.error) < 0)
		nf_error_clear();   /* the reason alone is missing: show the rest */
	if (nf_gate_list(st, id, &d.gates, &d.ngates) < 0 || load_versions(&d, st, id) < 0 ||
	    nf_alert_list_run(st, id, &d.alerts, &d.nalerts) < 0 ||
	    nf_store_violation_list(st, &(nf_violation_filter){ .run_id = id }, &d.violations, &d.nviolations) < 0 ||
	    nf_store_slurm_jobs_of_run(st, id, &d.slurm, &d.nslurm) < 0 ||
	    nf_store_phase_totals(st, id, &d.phases, &d.nphases) < 0) {
		nf_cmd_error("%s", nf_error_last());
		goto done;
	}
	index_slurm(&d);
	if (nf_cmd_opt.json) {
		print_json(&d);
	} else {
		print_header(&d.run, d.error);
		print_processes(&d);
		print_nodes(&d);
		print_slurm(&d);
		print_gates(&d);
		print_violations(&d);
		nf_show_budget_text(d.phases, d.nphases);
		nf_show_alerts_text(d.alerts, d.nalerts);
	}
	rc = NF_EXIT_OK;
done:
	nf_run_info_release(&d.run);
	free(d.error);
	nf_node_info_list_free(d.nodes, d.nnodes);
	nf_metric_list_free(d.metrics, d.nmetrics);
	for (size_t i = 0; d.cache && i < d.nnodes; i++)
		nf_node_cache_info_release(&d.cache[i]);
	free(d.cache);
	nf_run_repro_release(&d.repro);
	nf_gate_result_list_free(d.gates, d.ngates);
	nf_model_version_list_free(d.versions, d.nversions);
	nf_model_event_list_free(d.events, d.nevents);
	nf_model_version_list_free(d.prod, d.nprod);
	for (size_t i = 0; i < d.nprod; i++)
		free(d.prod_why[i]);
	free(d.prod_why);
	nf_alert_list_free(d.alerts, d.nalerts);
	nf_violation_list_free(d.violations, d.nviolations);
	nf_strmap_free(d.slurm_last);
	nf_slurm_job_rows_free(d.slurm, d.nslurm);
	nf_phase_row_list_free(d.phases, d.nphases);
	nf_store_close(st);
	free(dir);
	return rc;
}

const nf_cmd nf_cmd_show = {
	.name    = "show",
	.shared  = NF_CMD_SHARED_STATE | NF_CMD_SHARED_JSON | NF_CMD_SHARED_RUN,
	.usage   = "show [RUN] [--json] [--perf] [--state DIR]",
	.summary = "Show a run (the last by default) and each of its stages.",
	.help    =
		"Prints the run (pipeline, status, commit, params, times), then per node its state,\n"
		"attempts, exit code or signal, wall time, CPU time (user+system) and peak RSS of\n"
		"the latest attempt (the stage's own, not ntflow's; see ntflow(1), PROCESSES), and\n"
		"its log; then why nodes failed or were skipped, and the metrics each node\n"
		"recorded; then each gate as a table (criterion, value, threshold, verdict), the\n"
		"model versions the run registered (and why a passed gate did not change\n"
		"production: a failed run, a rollback or a person's decision that stands), the\n"
		"version now in production and why, the gate's failed criteria as violations when\n"
		"criterion blocks type them (type, severity; see ntflow violations), the CPU budget\n"
		"of each phase when the pipeline sets cpu_baseline, and the alerts the run raised.\n"
		"The header names the run's cohort and risk score and tier when it has them.\n"
		"When the run started processes, the header says how they were held: by process\n"
		"group, with no cgroup, so one that calls setsid outlives its stage's timeout (it\n"
		"is killed at the end of the run; see ntflow(1), PROCESSES).\n\n"
		"  --json       {\"run\": {...}, \"stages\": [...], \"gates\": [...], \"registered\": [...],\n"
		"               \"held\": [...], \"production\": [...], \"alerts\": [...],\n"
		"               \"phases\": [...], \"violations\": [...]}\n"
		"               (times in UTC, ISO 8601)\n"
		"  --perf       the performance record instead: per node its wall time, CPU time and\n"
		"               peak RSS, each against the median of the node's last 5 successful\n"
		"               runs of the pipeline that were not cached (\"-32% (1.78s)\"); then\n"
		"               CPU and wall time per phase and the CPU budget of each\n"
		"  --state DIR  the state directory (default: $NTFLOW_STATE, else .ntflow/ at the\n"
		"               root of the git repository holding the current directory)\n",
	.exec    = cmd_show_exec,
};
