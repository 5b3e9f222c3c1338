/* tui/runs.c: the runs list (R, and `ntflow dash` on a workspace with several runs and
 * none going): the workspace's runs newest first, one line each with its status, trigger,
 * logical date, duration, gate and the model version it registered; Enter opens one. */
#include "config.h"
#include "page.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntflow/gov.h"

#define MAX_RUNS 500

static int
run_role(nf_run_status s)
{
	switch (s) {
	case NF_RUN_SUCCEEDED: return NF_C_OK;
	case NF_RUN_RUNNING: return NF_C_RUN;
	case NF_RUN_GATED: return NF_C_GATE;
	default: return NF_C_FAIL;
	}
}

/* "promote pass", "promote FAIL", "-". */
static void
gate_text(char *out, size_t size, nf_store *st, int64_t run)
{
	nf_gate_result *g = NULL;
	size_t n = 0;

	snprintf(out, size, "-");
	if (nf_gate_list(st, run, &g, &n) == 0 && n > 0)
		snprintf(out, size, "%s %s", g[n - 1].name, g[n - 1].passed ? "pass" : "FAIL");
	nf_gate_result_list_free(g, n);
}

int
nf_runs_page(nf_page *p, nf_view *v)
{
	nf_run_info *runs = NULL;
	nf_model_version *vers = NULL;
	size_t n = 0, nvers = 0;
	int64_t now = nf_now_realtime_ms();
	char title[160];
	int err;

	if (!v->st)
		return nf_error_set(NF_ENOTFOUND, "no runs yet");
	if ((err = nf_store_run_list(v->st, MAX_RUNS, &runs, &n)) < 0)
		return err;
	if (v->registry_known && nf_registry_list(v->st, NULL, &vers, &nvers) < 0)
		nvers = 0;
	snprintf(title, sizeof(title), " runs of %s %s %zu, newest first", v->root, nf_draw_sym("\xc2\xb7", "|"), n);
	nf_page_begin(p, NF_PAGE_RUNS, title);
	nf_page_add(p, NF_C_DIM, 0, "  run    status     trigger   date        duration  nodes    gate            model");
	for (size_t i = 0; i < n; i++) {
		const nf_run_info *r = &runs[i];
		char dur[32], gate[96], model[96] = "-", mark[8] = "";

		nf_draw_duration(dur, sizeof(dur), (r->finished_ms ? r->finished_ms : now) - r->started_ms);
		gate_text(gate, sizeof(gate), v->st, r->id);
		for (size_t k = 0; k < nvers; k++)
			if (vers[k].run_id == r->id)
				snprintf(model, sizeof(model), "%s v%d %s", vers[k].model, vers[k].version,
					 vers[k].status ? vers[k].status : "");
		if (r->id == v->run_id)
			snprintf(mark, sizeof(mark), "%s", nf_draw_sym("\xe2\x96\xb6", ">"));
		nf_page_add(p, run_role(r->status), r->id, "%-1s %-6lld %-10s %-9s %-11s %-9s %3d/%-4d %-15s %s", mark,
			    (long long)r->id, nf_run_status_name(r->status), r->trigger ? r->trigger : "-",
			    r->logical_date ? r->logical_date : "-", dur, r->ndone, r->nnodes, gate, model);
	}
	if (n == 0)
		nf_page_add(p, NF_C_DIM, 0, "  no runs yet");
	nf_page_select(p, v->run_id);
	nf_model_version_list_free(vers, nvers);
	nf_run_info_list_free(runs, n);
	return 0;
}
