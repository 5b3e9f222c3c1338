/* tui/detail.c: the detail pages the dashboard opens with Enter: a stage of the run shown
 * (what `ntflow why` says, its cache key's components, inputs with their git ids, outputs
 * with sizes, metrics and every attempt, and which log `l` opens, the reused run's for a
 * cached stage) and a model version of the registry (why it has its status, its metrics,
 * the gate's criteria, run, commit and params). Everything is read from the state database
 * when the page opens. */
#include "config.h"
#include "page.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cjson/cJSON.h>

#include "ntflow/gov.h"

/* "4.2 MB", "812 B". */
static void
size_text(char *out, size_t size, int64_t b)
{
	static const char *const units[] = { "B", "KB", "MB", "GB", "TB" };
	double x = (double)b;
	size_t u = 0;

	while (x >= 1024 && u + 1 < NF_ARRAY_SIZE(units)) {
		x /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, size, "%lld B", (long long)b);
	else
		snprintf(out, size, "%.1f %s", x, units[u]);
}

static int64_t tree_bytes;

static int
add_file(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag == FTW_F)
		tree_bytes += sb->st_size;
	return 0;
}

/* The bytes of a file or a folder's files; -1 when it is gone. */
static int64_t
path_bytes(const char *path)
{
	struct stat sb;

	if (stat(path, &sb) < 0)
		return -1;
	if (!S_ISDIR(sb.st_mode))
		return sb.st_size;
	tree_bytes = 0;
	if (nftw(path, add_file, 16, FTW_PHYS) < 0)
		return -1;
	return tree_bytes;
}

/* "blob:3e4f1a2b9c..." -> "blob 3e4f1a2b9c" (12 digits are enough to tell them apart). */
static void
short_id(char *out, size_t size, const char *id)
{
	const char *colon = strchr(id, ':');

	if (colon)
		snprintf(out, size, "%.*s %.12s", (int)(colon - id), id, colon + 1);
	else
		snprintf(out, size, "%.12s", id);
}

/* One section of the key's components: "  LABEL NAME  VALUE" per member. */
static void
key_section(nf_page *p, const cJSON *comp, const char *section, const char *label, bool ids)
{
	const cJSON *sec = cJSON_GetObjectItemCaseSensitive(comp, section), *it;
	char buf[96];

	cJSON_ArrayForEach(it, sec) {
		const char *val = cJSON_IsString(it) ? it->valuestring : "";

		if (!*val)
			continue;   /* a plain stage's empty matrix instance */

		if (ids) {
			short_id(buf, sizeof(buf), val);
			nf_page_add(p, 0, 0, "  %-9s %-34s %s", label, it->string, buf);
		} else {
			nf_page_add(p, 0, 0, "  %-9s %s = %s", label, it->string, val);
		}
	}
}

/* The outputs a result holds, from its cache entry: path, size now in the workspace, digest. */
static void
outputs_lines(nf_page *p, const nf_view *v, const char *outputs_json)
{
	cJSON *arr = outputs_json ? cJSON_Parse(outputs_json) : NULL, *it;
	size_t k = 0;

	cJSON_ArrayForEach(it, arr) {
		const cJSON *path = cJSON_GetObjectItemCaseSensitive(it, "path");
		const cJSON *dig = cJSON_GetObjectItemCaseSensitive(it, "digest");
		char size[32] = "gone", id[96] = "";
		char *abs;
		int64_t b;

		if (!cJSON_IsString(path))
			continue;
		abs = path->valuestring[0] == '/' ? xstrdup(path->valuestring)
			: xasprintf("%s/%s", v->root, path->valuestring);
		if ((b = path_bytes(abs)) >= 0)
			size_text(size, sizeof(size), b);
		if (cJSON_IsString(dig))
			short_id(id, sizeof(id), dig->valuestring);
		nf_page_add(p, 0, 0, "  %-36s %10s  %s", path->valuestring, size, id);
		free(abs);
		k++;
	}
	if (k == 0)
		nf_page_add(p, NF_C_DIM, 0, "  none recorded");
	cJSON_Delete(arr);
}

static void
metrics_lines(nf_page *p, nf_store *st, int64_t run, const char *node, const char *fallback_json)
{
	nf_metric *m = NULL;
	size_t n = 0, k = 0;

	if (nf_store_metric_list(st, run, &m, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			if (strcmp(m[i].node, node) != 0)
				continue;
			nf_page_add(p, 0, 0, "  %-24s %g", m[i].name, m[i].value);
			k++;
		}
	}
	nf_metric_list_free(m, n);
	if (k == 0 && fallback_json) {
		cJSON *o = cJSON_Parse(fallback_json), *it;

		cJSON_ArrayForEach(it, o) {
			if (cJSON_IsNumber(it)) {
				nf_page_add(p, 0, 0, "  %-24s %g", it->string, it->valuedouble);
				k++;
			}
		}
		cJSON_Delete(o);
	}
	if (k == 0)
		nf_page_add(p, NF_C_DIM, 0, "  none");
}

/* "exit 0", "exit 1", "SIGKILL", "-". */
static void
outcome_text(char *out, size_t size, const nf_node_info *a)
{
	if (a->term_signal > 0)
		nf_store_fmt_signal(out, size, a->term_signal);
	else if (a->exit_code >= 0)
		snprintf(out, size, "exit %d", a->exit_code);
	else
		snprintf(out, size, "-");
}

static void
attempts_lines(nf_page *p, nf_store *st, int64_t run, const char *node)
{
	nf_node_info *att = NULL;
	size_t n = 0;

	if (nf_store_attempt_list(st, run, node, &att, &n) < 0 || n == 0) {
		nf_page_add(p, NF_C_DIM, 0, "  none in this run");
		nf_node_info_list_free(att, n);
		return;
	}
	nf_page_add(p, NF_C_DIM, 0, "  #  started              wall     cpu      peak RSS   outcome");
	for (size_t i = 0; i < n; i++) {
		const nf_node_info *a = &att[i];
		char start[32], wall[32], cpu[32], rss[32] = "-", out[48];
		bool retried = i + 1 < n;

		nf_store_fmt_local_time(start, sizeof(start), a->started_ms);
		nf_draw_duration(wall, sizeof(wall), a->finished_ms ? a->wall_ms : -1);
		nf_draw_duration(cpu, sizeof(cpu), a->finished_ms ? a->user_ms + a->sys_ms : -1);
		if (a->max_rss_kb > 0)
			size_text(rss, sizeof(rss), (int64_t)a->max_rss_kb * 1024);
		outcome_text(out, sizeof(out), a);
		nf_page_add(p, nf_state_is_final(a->state) && a->state != NF_ST_SUCCEEDED && a->state != NF_ST_CACHED
			    ? NF_C_FAIL : 0, 0, "  %-2d %-20s %-8s %-8s %-10s %-8s %s%s%s", a->attempts, start, wall,
			    cpu, rss, out, retried ? "retried: " : nf_state_name(a->state),
			    retried ? (a->reason ? a->reason : nf_state_name(a->state)) : "",
			    !retried && a->reason ? " " : "");
		if (!retried && a->reason)
			nf_page_add(p, 0, 0, "     %s", a->reason);
	}
	nf_node_info_list_free(att, n);
}

/* A cached node's log is the log of the run whose result it reused (a chain of caches
 * ends at the run that ran it). *run is moved to that run; returns its log path or NULL. */
static char *
reused_log(nf_store *st, int64_t *run, const char *node)
{
	for (int hop = 0; hop < 8; hop++) {
		nf_node_info n;
		nf_node_cache_info ci;
		int64_t reused = 0;
		char *log;

		if (nf_store_node_get(st, *run, node, &n) < 0)
			return NULL;
		if (n.state != NF_ST_CACHED) {
			log = n.log_path ? xstrdup(n.log_path) : NULL;
			nf_node_info_release(&n);
			return log;
		}
		nf_node_info_release(&n);
		if (nf_store_node_cache_get(st, *run, node, &ci) == 0) {
			reused = ci.reused_run;
			nf_node_cache_info_release(&ci);
		}
		if (reused <= 0 || reused == *run)
			return NULL;
		*run = reused;
	}
	return NULL;
}

int
nf_detail_stage(nf_page *p, nf_view *v, const char *node)
{
	nf_node_info n;
	nf_node_cache_info ci;
	nf_cache_entry e;
	cJSON *comp = NULL;
	const cJSON *cmd;
	char *why, *title, *log;
	bool have_entry = false;
	int64_t log_run = v->run_id;
	int err;

	if (!v->st)
		return nf_error_set(NF_ENOTFOUND, "no state database yet");
	memset(&ci, 0, sizeof(ci));
	if ((err = nf_store_node_get(v->st, v->run_id, node, &n)) < 0)
		return err;
	nf_store_node_cache_get(v->st, v->run_id, node, &ci);
	title = xasprintf(" %s %s run %lld %s %s", node, nf_draw_sym("\xc2\xb7", "|"), (long long)v->run_id,
			  nf_draw_sym("\xc2\xb7", "|"), nf_state_name(n.state));
	nf_page_begin(p, NF_PAGE_STAGE, title);
	free(title);
	p->node = xstrdup(node);
	memset(&e, 0, sizeof(e));
	if (ci.key && nf_store_cache_get(v->st, ci.key, &e) == 0)
		have_entry = true;
	/* a cached node keeps only its key: the entry it reused has the components */
	if (ci.components)
		comp = cJSON_Parse(ci.components);
	else if (have_entry && e.components)
		comp = cJSON_Parse(e.components);
	cmd = cJSON_GetObjectItemCaseSensitive(comp, "command");
	nf_page_add(p, NF_C_TITLE, 0, "command");
	nf_page_add(p, cJSON_IsString(cmd) ? 0 : NF_C_DIM, 0, "  %s",
		    cJSON_IsString(cmd) ? cmd->valuestring : strcmp(n.kind, "gate") == 0 ? "a gate runs no command"
		    : "not recorded (the stage has no cache key)");
	why = nf_store_node_why(v->st, &n, &ci);
	nf_page_add(p, NF_C_TITLE, 0, "why (ntflow why %lld %s)", (long long)v->run_id, node);
	nf_page_add(p, n.state == NF_ST_CACHED ? NF_C_CACHED : 0, 0, "  %s", why);
	free(why);

	nf_page_add(p, NF_C_TITLE, 0, "cache key");
	if (!ci.key) {
		nf_page_add(p, NF_C_DIM, 0, "  none (gates and stages with cache = false are never cached)");
	} else {
		nf_page_add(p, 0, 0, "  key       %s", ci.key);
		key_section(p, comp, "identity", "identity", false);
		key_section(p, comp, "params", "param", false);
		key_section(p, comp, "matrix", "matrix", false);
		key_section(p, comp, "env", "env", false);
		key_section(p, comp, "upstream", "upstream", true);
	}
	nf_page_add(p, NF_C_TITLE, 0, "inputs (git ids)");
	{
		const cJSON *in = cJSON_GetObjectItemCaseSensitive(comp, "inputs");

		if (cJSON_GetArraySize(in) == 0)
			nf_page_add(p, NF_C_DIM, 0, "  none");
		else
			key_section(p, comp, "inputs", "", true);
	}
	nf_page_add(p, NF_C_TITLE, 0, "outputs");
	if (have_entry)
		outputs_lines(p, v, e.outputs_json);
	else
		nf_page_add(p, NF_C_DIM, 0, "  none recorded%s", nf_state_is_final(n.state) ? "" : " yet");
	nf_page_add(p, NF_C_TITLE, 0, "metrics");
	metrics_lines(p, v->st, v->run_id, node, have_entry ? e.metrics_json : NULL);
	nf_page_add(p, NF_C_TITLE, 0, "attempts");
	attempts_lines(p, v->st, v->run_id, node);

	log = reused_log(v->st, &log_run, node);
	nf_page_add(p, NF_C_TITLE, 0, "log");
	if (log) {
		p->log_path = nf_store_log_path(v->state_dir, log);
		if (log_run != v->run_id) {
			p->log_title = xasprintf("log %s, cached: log of run %lld", node, (long long)log_run);
			nf_page_add(p, 0, 0, "  l opens the log of run %lld, whose result it reused", (long long)log_run);
		} else {
			p->log_title = xasprintf("log %s, attempt %d", node, n.attempts);
			nf_page_add(p, 0, 0, "  l opens the log of attempt %d", n.attempts);
		}
	} else {
		int64_t from = n.state == NF_ST_CACHED && ci.reused_run > 0 ? ci.reused_run : v->run_id;
		nf_run_info r;
		bool pruned = false;

		if (nf_store_run_get(v->st, from, &r) == 0) {
			pruned = r.pruned_ms != 0;
			nf_run_info_release(&r);
		}
		if (pruned)
			nf_page_add(p, NF_C_DIM, 0, "  no log (run %lld was pruned: its logs are gone)", (long long)from);
		else
			nf_page_add(p, NF_C_DIM, 0, "  no log (%s)", n.state == NF_ST_CACHED ? "the run it reused is gone"
				    : n.attempts ? "it printed nothing" : "it did not run");
	}
	p->run_id = log_run;
	if (have_entry)
		nf_cache_entry_release(&e);
	cJSON_Delete(comp);
	free(log);
	nf_node_cache_info_release(&ci);
	nf_node_info_release(&n);
	return 0;
}

/* "auc 0.934" lines of a JSON object of numbers (and strings, for params). */
static void
json_lines(nf_page *p, const char *json)
{
	cJSON *o = json ? cJSON_Parse(json) : NULL, *it;
	size_t k = 0;

	cJSON_ArrayForEach(it, o) {
		char *val = cJSON_IsString(it) ? xstrdup(it->valuestring) : cJSON_PrintUnformatted(it);

		nf_page_add(p, 0, 0, "  %-24s %s", it->string, val ? val : "");
		free(val);
		k++;
	}
	if (k == 0)
		nf_page_add(p, NF_C_DIM, 0, "  none");
	cJSON_Delete(o);
}

static void
gate_lines(nf_page *p, nf_store *st, const nf_model_version *m)
{
	nf_gate_result *g = NULL;
	size_t n = 0;
	bool found = false;

	if (!m->gate) {
		nf_page_add(p, NF_C_DIM, 0, "  the model has no gate");
		return;
	}
	if (m->run_id > 0 && nf_gate_list(st, m->run_id, &g, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			if (strcmp(g[i].name, m->gate) != 0)
				continue;
			found = true;
			nf_page_add(p, g[i].passed ? NF_C_OK : NF_C_FAIL, 0, "  gate %s in run %lld: %s", g[i].name,
				    (long long)m->run_id, g[i].passed ? "passed" : "FAIL");
			for (size_t c = 0; c < g[i].n; c++) {
				const nf_gate_criterion *cr = &g[i].criteria[c];
				char val[64] = "-", thr[64] = "-";

				if (cr->has_left)
					snprintf(val, sizeof(val), "%g", cr->left);
				if (cr->has_right)
					snprintf(thr, sizeof(thr), "%g", cr->right);
				nf_page_add(p, cr->passed ? 0 : NF_C_FAIL, 0, "  %s %-28s %-10s %-10s %s%s%s",
					    cr->passed ? "+" : "x", cr->expr, val, thr, cr->passed ? "pass" : "FAIL",
					    cr->note ? "  " : "", cr->note ? cr->note : "");
			}
		}
	}
	nf_gate_result_list_free(g, n);
	if (!found)
		nf_page_add(p, NF_C_DIM, 0, "  gate %s: %s (no criteria recorded)", m->gate,
			    m->gate_outcome ? m->gate_outcome : "-");
}

int
nf_detail_version(nf_page *p, nf_view *v, const char *model, int version)
{
	nf_model_version m;
	nf_model_event *ev = NULL;
	size_t nev = 0;
	char *why = NULL, *title, when[32], size[32];
	int err;

	if (!v->st)
		return nf_error_set(NF_ENOTFOUND, "no state database yet");
	memset(&m, 0, sizeof(m));
	if ((err = nf_registry_get(&m, v->st, model, version)) < 0)
		return err;
	title = xasprintf(" %s v%d %s %s", model, version, nf_draw_sym("\xc2\xb7", "|"), m.status);
	nf_page_begin(p, NF_PAGE_VERSION, title);
	free(title);
	p->node = xstrdup(model);
	p->version = version;
	if (nf_registry_events(v->st, model, version, &ev, &nev) == 0)
		why = nf_registry_why(&m, ev, nev);
	nf_page_add(p, NF_C_TITLE, 0, "status");
	nf_page_add(p, strcmp(m.status, "production") == 0 ? NF_C_OK : 0, 0, "  %s%s%s", m.status,
		    why ? ": " : "", why ? why : "");
	nf_page_add(p, NF_C_TITLE, 0, "metrics");
	json_lines(p, m.metrics_json);
	nf_page_add(p, NF_C_TITLE, 0, "gate criteria");
	gate_lines(p, v->st, &m);
	nf_page_add(p, NF_C_TITLE, 0, "origin");
	nf_store_fmt_local_time(when, sizeof(when), m.created_ms);
	if (m.run_id > 0)
		nf_page_add(p, 0, 0, "  run       %lld (%s)", (long long)m.run_id, when);
	else
		nf_page_add(p, 0, 0, "  run       - (%s)", when);
	nf_page_add(p, 0, 0, "  commit    %s", m.commit ? m.commit : "- (not in git)");
	size_text(size, sizeof(size), m.size);
	nf_page_add(p, 0, 0, "  artifact  %s (%s, sha256 %.12s)", m.source_path ? m.source_path : "-", size,
		    m.sha256 ? m.sha256 : "-");
	nf_page_add(p, NF_C_TITLE, 0, "params");
	json_lines(p, m.params_json);
	free(why);
	nf_model_event_list_free(ev, nev);
	nf_model_version_release(&m);
	return 0;
}
