/* prometheus.c: the workspace's health in Prometheus' text exposition format, as
 * node_exporter's textfile collector reads it: the newest run of each pipeline, its stage
 * durations and cache hit ratio, the time of its last success (so "no successful retraining
 * in 8 days" can alert), the production version of each model with its metrics, and the open
 * alerts by severity. Written whole and renamed into place, never half-read. */
#include "config.h"
#include "ntflow/gov.h"
#include "ntflow/store.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A label value: backslash, double quote and line feed escaped, as the format asks. */
static void
put_label(nf_buf *b, const char *name, const char *value, bool first)
{
	nf_buf_printf(b, "%s%s=\"", first ? "" : ",", name);
	for (const char *p = value ? value : ""; *p; p++) {
		if (*p == '\\')
			nf_buf_puts(b, "\\\\");
		else if (*p == '"')
			nf_buf_puts(b, "\\\"");
		else if (*p == '\n')
			nf_buf_puts(b, "\\n");
		else
			nf_buf_putc(b, *p);
	}
	nf_buf_putc(b, '"');
}

static void
put_value(nf_buf *b, double v)
{
	if (isnan(v))
		nf_buf_puts(b, " NaN\n");
	else if (isinf(v))
		nf_buf_puts(b, v > 0 ? " +Inf\n" : " -Inf\n");
	else {
		nf_buf_putc(b, ' ');
		nf_buf_put_double(b, v);
		nf_buf_putc(b, '\n');
	}
}

static void
family(nf_buf *b, const char *name, const char *help)
{
	nf_buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* One sample with its workspace's label (when several are written: ws not NULL) and up
 * to three more (NULL names end the list). */
static void
sample(nf_buf *b, const char *name, const char *ws, const char *l1, const char *v1, const char *l2, const char *v2,
       const char *l3, const char *v3, double value)
{
	nf_buf_puts(b, name);
	if (ws || l1) {
		nf_buf_putc(b, '{');
		if (ws)
			put_label(b, "workspace", ws, true);
		if (l1)
			put_label(b, l1, v1, !ws);
		if (l2)
			put_label(b, l2, v2, false);
		if (l3)
			put_label(b, l3, v3, false);
		nf_buf_putc(b, '}');
	}
	put_value(b, value);
}

typedef struct ws_data {
	nf_pipeline_health *health;
	size_t nhealth;
	nf_node_info **nodes;          /* per pipeline: the newest run's nodes */
	size_t *nnodes;
	nf_model_version *versions;
	size_t nversions;
	nf_alert *alerts;
	size_t nalerts;
} ws_data;

static void
ws_data_release(ws_data *w)
{
	for (size_t i = 0; i < w->nhealth; i++)
		nf_node_info_list_free(w->nodes[i], w->nnodes[i]);
	free(w->nodes);
	free(w->nnodes);
	nf_pipeline_health_list_free(w->health, w->nhealth);
	nf_model_version_list_free(w->versions, w->nversions);
	nf_alert_list_free(w->alerts, w->nalerts);
}

static int
ws_data_read(ws_data *w, nf_store *st)
{
	int err;

	memset(w, 0, sizeof(*w));
	if ((err = nf_store_pipeline_health(st, &w->health, &w->nhealth)) < 0)
		return err;
	w->nodes = xcalloc(w->nhealth + 1, sizeof(*w->nodes));
	w->nnodes = xcalloc(w->nhealth + 1, sizeof(*w->nnodes));
	for (size_t i = 0; i < w->nhealth; i++)
		if ((err = nf_store_node_list(st, w->health[i].last_run, &w->nodes[i], &w->nnodes[i])) < 0)
			return err;
	if ((err = nf_registry_list(st, NULL, &w->versions, &w->nversions)) < 0)
		return err;
	return nf_alert_list(st, true, &w->alerts, &w->nalerts);
}

static const nf_run_status run_statuses[] = {
	NF_RUN_RUNNING, NF_RUN_SUCCEEDED, NF_RUN_FAILED, NF_RUN_GATED, NF_RUN_CANCELLED, NF_RUN_CRASHED,
};

static void
render(nf_buf *b, const ws_data *ws, const char *const *names, size_t nws, int64_t now_ms)
{
	char num[32];

	family(b, "ntflow_last_run_status",
	       "The status of the pipeline's newest run: 1 for its status, 0 for the others.");
	for (size_t w = 0; w < nws; w++)
		for (size_t i = 0; i < ws[w].nhealth; i++)
			for (size_t s = 0; s < NF_ARRAY_SIZE(run_statuses); s++)
				sample(b, "ntflow_last_run_status", (names ? names[w] : NULL), "pipeline", ws[w].health[i].pipeline, "status",
				       nf_run_status_name(run_statuses[s]), NULL, NULL,
				       ws[w].health[i].last_status == run_statuses[s]);
	family(b, "ntflow_last_run_id", "The id of the pipeline's newest run.");
	for (size_t w = 0; w < nws; w++)
		for (size_t i = 0; i < ws[w].nhealth; i++)
			sample(b, "ntflow_last_run_id", (names ? names[w] : NULL), "pipeline", ws[w].health[i].pipeline, NULL, NULL, NULL, NULL,
			       (double)ws[w].health[i].last_run);
	family(b, "ntflow_last_run_start_timestamp_seconds", "When the pipeline's newest run started (Unix time).");
	for (size_t w = 0; w < nws; w++)
		for (size_t i = 0; i < ws[w].nhealth; i++)
			sample(b, "ntflow_last_run_start_timestamp_seconds", (names ? names[w] : NULL), "pipeline", ws[w].health[i].pipeline,
			       NULL, NULL, NULL, NULL, ws[w].health[i].last_started_ms / 1000.0);
	family(b, "ntflow_last_run_duration_seconds",
	       "How long the pipeline's newest run took, or has been running.");
	for (size_t w = 0; w < nws; w++)
		for (size_t i = 0; i < ws[w].nhealth; i++) {
			const nf_pipeline_health *h = &ws[w].health[i];
			int64_t end = h->last_finished_ms ? h->last_finished_ms : now_ms;

			sample(b, "ntflow_last_run_duration_seconds", (names ? names[w] : NULL), "pipeline", h->pipeline, NULL, NULL, NULL, NULL,
			       end > h->last_started_ms ? (end - h->last_started_ms) / 1000.0 : 0.0);
		}
	family(b, "ntflow_last_success_timestamp_seconds",
	       "When the pipeline's newest successful run ended (Unix time); absent when none did.");
	for (size_t w = 0; w < nws; w++)
		for (size_t i = 0; i < ws[w].nhealth; i++)
			if (ws[w].health[i].last_success_ms)
				sample(b, "ntflow_last_success_timestamp_seconds", (names ? names[w] : NULL), "pipeline", ws[w].health[i].pipeline,
				       NULL, NULL, NULL, NULL, ws[w].health[i].last_success_ms / 1000.0);
	family(b, "ntflow_cache_hit_ratio",
	       "Of the newest run's stages that were decided, the share reused from the cache.");
	for (size_t w = 0; w < nws; w++)
		for (size_t i = 0; i < ws[w].nhealth; i++) {
			const nf_pipeline_health *h = &ws[w].health[i];

			if (h->cached + h->ran > 0)
				sample(b, "ntflow_cache_hit_ratio", (names ? names[w] : NULL), "pipeline", h->pipeline, NULL, NULL, NULL, NULL,
				       (double)h->cached / (h->cached + h->ran));
		}
	family(b, "ntflow_stage_duration_seconds",
	       "Wall time of each stage the pipeline's newest run ran (its latest attempt).");
	for (size_t w = 0; w < nws; w++)
		for (size_t i = 0; i < ws[w].nhealth; i++)
			for (size_t k = 0; k < ws[w].nnodes[i]; k++) {
				const nf_node_info *nd = &ws[w].nodes[i][k];

				if (nd->state != NF_ST_SUCCEEDED && nd->state != NF_ST_FAILED && nd->state != NF_ST_TIMED_OUT)
					continue;
				if (strcmp(nd->kind, "gate") == 0)
					continue;
				sample(b, "ntflow_stage_duration_seconds", (names ? names[w] : NULL), "pipeline", ws[w].health[i].pipeline, "stage",
				       nd->name, "state", nf_state_name(nd->state), nd->wall_ms / 1000.0);
			}
	family(b, "ntflow_model_production_version", "The version of each model in production.");
	for (size_t w = 0; w < nws; w++)
		for (size_t i = 0; i < ws[w].nversions; i++)
			if (strcmp(ws[w].versions[i].status, "production") == 0)
				sample(b, "ntflow_model_production_version", (names ? names[w] : NULL), "model", ws[w].versions[i].model, NULL, NULL,
				       NULL, NULL, ws[w].versions[i].version);
	family(b, "ntflow_model_metric", "The metrics of each model's production version.");
	for (size_t w = 0; w < nws; w++)
		for (size_t i = 0; i < ws[w].nversions; i++) {
			const nf_model_version *v = &ws[w].versions[i];
			cJSON *m, *e;

			if (strcmp(v->status, "production") != 0 || !v->metrics_json ||
			    !(m = cJSON_Parse(v->metrics_json)))
				continue;
			snprintf(num, sizeof(num), "%d", v->version);
			cJSON_ArrayForEach(e, m)
				if (cJSON_IsNumber(e) && e->string)
					sample(b, "ntflow_model_metric", (names ? names[w] : NULL), "model", v->model, "version", num, "metric",
					       e->string, e->valuedouble);
			cJSON_Delete(m);
		}
	family(b, "ntflow_alerts_open", "Drift alerts not acknowledged, by severity.");
	/* Per workspace when several are named, else summed (one). */
	for (size_t w = 0; w < (names ? nws : 1); w++)
		for (nf_severity s = NF_SEV_LOW; s <= NF_SEV_HIGH; s++) {
			size_t count = 0;

			for (size_t k = names ? w : 0; k < (names ? w + 1 : nws); k++)
				for (size_t i = 0; i < ws[k].nalerts; i++)
					count += ws[k].alerts[i].severity == s;
			sample(b, "ntflow_alerts_open", names ? names[w] : NULL, "severity", nf_severity_name(s), NULL, NULL,
			       NULL, NULL, (double)count);
		}
	family(b, "ntflow_export_timestamp_seconds", "When these figures were written (Unix time).");
	sample(b, "ntflow_export_timestamp_seconds", NULL, NULL, NULL, NULL, NULL, NULL, NULL, now_ms / 1000.0);
}

int
nf_prometheus_render(nf_buf *out, nf_store *const *stores, const char *const *names, size_t nstores, int64_t now_ms)
{
	ws_data *ws = xcalloc(nstores + 1, sizeof(*ws));
	int err = 0;
	size_t read = 0;

	for (; read < nstores; read++)
		if ((err = ws_data_read(&ws[read], stores[read])) < 0) {
			read++;
			break;
		}
	if (err == 0)
		render(out, ws, names, nstores, now_ms);
	for (size_t i = 0; i < read; i++)
		ws_data_release(&ws[i]);
	free(ws);
	return err;
}

int
nf_prometheus_write(const char *path, nf_store *const *stores, const char *const *names, size_t nstores,
		    int64_t now_ms)
{
	nf_buf b = NF_BUF_INIT;
	int err;

	if ((err = nf_prometheus_render(&b, stores, names, nstores, now_ms)) == 0)
		err = nf_write_file_atomic(path, b.buf, b.len);
	nf_buf_release(&b);
	return err;
}

int
nf_prometheus_textfile_path(char **out, const char *path)
{
	struct stat st;
	const char *slash = strrchr(path, '/');
	char *dir;

	*out = NULL;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		*out = xasprintf("%s%sntflow.prom", path, path[strlen(path) - 1] == '/' ? "" : "/");
		return 0;
	}
	dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		int err = nf_error_set(NF_ENOTFOUND, "--textfile %s: no folder %s", path, dir);

		free(dir);
		return err;
	}
	free(dir);
	*out = xstrdup(path);
	return 0;
}
