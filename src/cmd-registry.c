/* cmd-registry.c: `ntflow registry list|show|promote|rollback|verify`, the model versions
 * runs registered: a table or JSON, one version in full with its history, promotion (forced
 * past a failed gate only with a reason), rollback, and re-hashing every artifact copy. */
#include "config.h"
#include "ntflow/cmd.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "ntflow/gov.h"
#include "ntflow/store.h"

extern const nf_cmd nf_cmd_registry;

typedef struct reg_opts {
	bool json, force, repair;
	const char *state;
	const char *reason;
} reg_opts;

static int
usage_error(const char *fmt, const char *arg)
{
	fputs("ntflow registry: ", stderr);
	nf_cmd_eprintf(fmt, arg);
	fputc('\n', stderr);
	nf_cmd_usage(&nf_cmd_registry, stderr);
	return NF_EXIT_USAGE;
}

/* "3" or "v3": a positive version number, else 0. */
static int
parse_version(const char *s)
{
	char *end;
	long v;

	if (*s == 'v')
		s++;
	if (*s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end || errno || v <= 0 || v > INT_MAX)
		return 0;
	return (int)v;
}

/* "promote (pass)", "-" without a gate. */
static char *
gate_cell(const nf_model_version *v)
{
	return v->gate ? xasprintf("%s (%s)", v->gate, v->gate_outcome) : xstrdup("-");
}

static void
print_table(const nf_model_version *vs, size_t n)
{
	/* COHORT only when a version listed has one: registries without cohorts stay as they were. */
	const char *head[9] = { "MODEL", "VERSION", "STATUS", "GATE", "COHORT", "RUN", "COMMIT", "SHA256", "CREATED" };
	bool cohorts = false;
	size_t nh = 0;
	nf_table *tab;

	for (size_t i = 0; i < n; i++)
		cohorts |= vs[i].cohort != NULL;
	for (size_t c = 0; c < NF_ARRAY_SIZE(head); c++)
		if (c != 4 || cohorts)
			head[nh++] = head[c];
	tab = nf_table_new(nh, head);
	for (size_t i = 0; i < n; i++) {
		const nf_model_version *v = &vs[i];
		char **row = nf_table_add_row(tab);
		char t[32];
		size_t k = 0;

		nf_store_fmt_local_time(t, sizeof(t), v->created_ms);
		row[k++] = xstrdup(v->model);
		row[k++] = xasprintf("%d", v->version);
		row[k++] = v->forced && strcmp(v->status, "production") == 0 ? xstrdup("production (forced)")
									       : xstrdup(v->status);
		row[k++] = gate_cell(v);
		if (cohorts)
			row[k++] = xstrdup(v->cohort ? v->cohort : "-");
		row[k++] = v->run_id ? xasprintf("%lld", (long long)v->run_id) : xstrdup("-");
		row[k++] = v->commit ? xasprintf("%.7s", v->commit) : xstrdup("-");
		row[k++] = xasprintf("%.12s", v->sha256);
		row[k++] = xstrdup(t);
	}
	nf_cmd_print_table(tab);
	nf_table_free(tab);
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
add_json_text(cJSON *o, const char *key, const char *text)
{
	cJSON *v = cJSON_Parse(text ? text : "{}");

	cJSON_AddItemToObject(o, key, v ? v : cJSON_CreateString(text));
}

/* Why v has its status (registry-why.c), from its model's events. Caller frees; NULL:
 * nothing to say. */
static char *
why_of(nf_store *st, const nf_model_version *v)
{
	nf_model_event *ev = NULL;
	size_t nev = 0;
	char *why = NULL;

	if (nf_registry_events(st, v->model, v->version, &ev, &nev) == 0)
		why = nf_registry_why(v, ev, nev);
	nf_model_event_list_free(ev, nev);
	nf_error_clear();
	return why;
}

static cJSON *
version_json(const nf_model_version *v, const char *why)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "model", v->model);
	cJSON_AddNumberToObject(o, "version", v->version);
	cJSON_AddStringToObject(o, "status", v->status);
	cJSON_AddStringToObject(o, "pipeline", v->pipeline);
	if (v->run_id)
		cJSON_AddNumberToObject(o, "run_id", (double)v->run_id);
	else
		cJSON_AddNullToObject(o, "run_id");
	add_str_or_null(o, "commit", v->commit);
	cJSON_AddStringToObject(o, "artifact", v->source_path);
	cJSON_AddStringToObject(o, "kind", v->kind);
	cJSON_AddStringToObject(o, "sha256", v->sha256);
	cJSON_AddNumberToObject(o, "size", (double)v->size);
	cJSON_AddStringToObject(o, "copy", v->artifact_path);
	add_str_or_null(o, "gate", v->gate);
	cJSON_AddStringToObject(o, "gate_outcome", v->gate_outcome);
	add_str_or_null(o, "cohort", v->cohort);
	add_json_text(o, "metrics", v->metrics_json);
	add_json_text(o, "params", v->params_json);
	nf_cmd_json_time(o, "created", v->created_ms);
	nf_cmd_json_time(o, "promoted", v->promoted_ms);
	nf_cmd_json_time(o, "archived", v->archived_ms);
	cJSON_AddBoolToObject(o, "forced", v->forced);
	add_str_or_null(o, "reason", v->reason);
	add_str_or_null(o, "actor", v->actor);
	add_str_or_null(o, "why", why);
	return o;
}

static void
print_json(cJSON *o)
{
	char *text = nf_json_print(o, true);

	printf("%s\n", text);
	free(text);
	cJSON_Delete(o);
}

static int
cmd_list(nf_store *st, const reg_opts *o, int nargs, char **args)
{
	nf_model_version *vs = NULL;
	size_t n = 0;
	int rc = NF_EXIT_FAILED;

	if (nargs > 1)
		return usage_error("list: unexpected argument '%s'", args[1]);
	if (nf_registry_list(st, nargs ? args[0] : NULL, &vs, &n) < 0) {
		nf_cmd_error("%s", nf_error_last());
		goto done;
	}
	if (nargs && n == 0) {
		nf_cmd_error("no model '%s' in the registry", args[0]);
		goto done;
	}
	if (o->json) {
		cJSON *arr = cJSON_CreateArray();

		for (size_t i = 0; i < n; i++) {
			char *why = why_of(st, &vs[i]);

			cJSON_AddItemToArray(arr, version_json(&vs[i], why));
			free(why);
		}
		print_json(arr);
	} else if (n == 0) {
		printf("no model versions yet\n");
	} else {
		print_table(vs, n);
		/* Why each champion is the champion. */
		for (size_t i = 0, shown = 0; i < n; i++) {
			char *why, *shown_why;

			if (strcmp(vs[i].status, "production") != 0)
				continue;
			why = why_of(st, &vs[i]);
			shown_why = nf_cmd_visible(why ? why : "-");   /* it quotes a person's --reason */
			printf("%s%s v%d is in production: %s\n", shown++ ? "" : "\n", vs[i].model, vs[i].version,
			       shown_why);
			free(shown_why);
			free(why);
		}
	}
	rc = NF_EXIT_OK;
done:
	nf_model_version_list_free(vs, n);
	return rc;
}

/* Whether the run that registered v ran on a tree with uncommitted changes: 1, 0, or -1
 * when its record is gone (or it has none). */
static int
run_dirty(nf_store *st, const nf_model_version *v)
{
	nf_run_info r;
	int dirty;

	if (v->run_id <= 0 || nf_store_run_get(st, v->run_id, &r) < 0)
		return -1;
	dirty = r.dirty;
	nf_run_info_release(&r);
	return dirty;
}

static void
print_version(const nf_model_version *v, int dirty, const nf_model_event *ev, size_t nev)
{
	char t[32], *params = nf_cmd_object_line(v->params_json), *why = nf_registry_why(v, ev, nev);
	cJSON *metrics = cJSON_Parse(v->metrics_json ? v->metrics_json : "{}");

	nf_cmd_printf("model      %s\n", v->model);
	nf_cmd_printf("version    %d\n", v->version);
	nf_cmd_printf("status     %s%s\n", v->status, v->forced && strcmp(v->status, "production") == 0 ? " (forced)" : "");
	if (why) {
		char *shown = nf_cmd_visible(why);   /* it quotes a person's --reason */

		nf_cmd_printf("why        %s\n", shown);
		free(shown);
	}
	nf_cmd_printf("pipeline   %s\n", *v->pipeline ? v->pipeline : "-");
	if (v->run_id)
		nf_cmd_printf("run        %lld\n", (long long)v->run_id);
	else
		nf_cmd_printf("run        -\n");
	/* The commit alone does not give the model back when the run's tree had changes. */
	nf_cmd_printf("commit     %s%s\n", v->commit ? v->commit : "- (not in git)",
	       v->commit && dirty == 1 ? " +dirty (the run had uncommitted changes)" : "");
	nf_cmd_printf("artifact   %s (%s, %lld bytes)\n", v->source_path, v->kind, (long long)v->size);
	nf_cmd_printf("sha256     %s\n", v->sha256);
	nf_cmd_printf("copy       %s\n", v->artifact_path);
	if (v->gate)
		nf_cmd_printf("gate       %s: %s\n", v->gate, v->gate_outcome);
	else
		nf_cmd_printf("gate       - (the model has no gate)\n");
	if (v->cohort)
		nf_cmd_printf("cohort     %s\n", v->cohort);
	nf_store_fmt_local_time(t, sizeof(t), v->created_ms);
	nf_cmd_printf("created    %s\n", t);
	nf_store_fmt_local_time(t, sizeof(t), v->promoted_ms);
	nf_cmd_printf("promoted   %s\n", t);
	nf_store_fmt_local_time(t, sizeof(t), v->archived_ms);
	nf_cmd_printf("archived   %s\n", t);
	if (v->reason || v->actor) {
		char *actor = nf_cmd_visible(v->actor ? v->actor : "-"), *reason = nf_cmd_visible(v->reason);

		nf_cmd_printf("by         %s%s%s\n", actor, v->reason ? ": " : "", reason);
		free(actor);
		free(reason);
	}
	nf_cmd_printf("params     %s\n", params);
	if (cJSON_IsObject(metrics) && metrics->child) {
		size_t w = 0;

		/* a metric's name is what a stage wrote: shown, not played */
		for (cJSON *it = metrics->child; it; it = it->next) {
			char *name = nf_cmd_visible(it->string);

			if (strlen(name) > w)
				w = strlen(name);
			free(name);
		}
		nf_cmd_printf("\nmetrics\n");
		for (cJSON *it = metrics->child; it; it = it->next) {
			char *name = nf_cmd_visible(it->string);

			if (cJSON_IsNumber(it))
				nf_cmd_printf("  %-*s  %.10g\n", (int)w, name, it->valuedouble);
			free(name);
		}
	}
	if (nev) {
		nf_cmd_printf("\nhistory\n");
		for (size_t i = 0; i < nev; i++) {
			const nf_model_event *e = &ev[i];

			nf_store_fmt_local_time(t, sizeof(t), e->at_ms);
			nf_cmd_printf("  %s  %-8s  %-11s", t, e->action, e->status);
			if (e->run_id)
				nf_cmd_printf("  run %lld", (long long)e->run_id);
			if (e->forced)
				nf_cmd_printf("  forced");
			if (e->actor) {
				char *actor = nf_cmd_visible(e->actor);

				nf_cmd_printf("  by %s", actor);
				free(actor);
			}
			if (e->reason) {
				char *reason = nf_cmd_visible(e->reason);

				nf_cmd_printf(": %s", reason);
				free(reason);
			}
			putchar('\n');
		}
	}
	cJSON_Delete(metrics);
	free(params);
	free(why);
}

/* Splits "MODEL@VERSION"; *version 0 when there is no "@". Usage error text or NULL. */
static const char *
split_ref(const char *arg, char **model, int *version)
{
	const char *at = strrchr(arg, '@');

	*version = 0;
	if (!at) {
		*model = xstrdup(arg);
		return NULL;
	}
	if (at == arg || !(*version = parse_version(at + 1)))
		return "'%s' is not MODEL or MODEL@VERSION";
	*model = xstrndup(arg, (size_t)(at - arg));
	return NULL;
}

/* Reports err from a registry call on model: its message, with "did you mean" naming the
 * nearest model the registry holds when there is no such model. */
static void
report_model_error(nf_store *st, const char *model)
{
	char *msg = xstrdup(nf_error_last());
	nf_model_version *vs = NULL;
	const char **names = NULL;
	size_t n = 0, nn = 0, cap = 0;
	const char *hint = NULL;

	if (model && nf_store_model_exists(st, model) == 0 && nf_registry_list(st, NULL, &vs, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			if (!nn || strcmp(names[nn - 1], vs[i].model) != 0)   /* listed by model */
				NF_PUSH(names, nn, cap, vs[i].model);
		hint = nf_suggest(model, names, nn);
	}
	if (hint)
		nf_cmd_error("%s; did you mean '%s'?", msg, hint);
	else
		nf_cmd_error("%s", msg);
	free(names);
	nf_model_version_list_free(vs, n);
	free(msg);
}

static int
cmd_show(nf_store *st, const reg_opts *o, int nargs, char **args)
{
	nf_model_version v = { 0 };
	nf_model_event *ev = NULL;
	size_t nev = 0;
	char *model = NULL;
	const char *bad;
	int version, rc = NF_EXIT_FAILED;

	if (nargs != 1)
		return nargs ? usage_error("show: unexpected argument '%s'", args[1])
			     : usage_error("%s", "show: which model? (registry show MODEL[@VERSION])");
	if ((bad = split_ref(args[0], &model, &version)))
		return usage_error(bad, args[0]);
	if (nf_registry_get(&v, st, model, version) < 0 ||
	    nf_registry_events(st, model, v.version, &ev, &nev) < 0) {
		report_model_error(st, model);
		goto done;
	}
	if (o->json) {
		char *why = nf_registry_why(&v, ev, nev);
		cJSON *j = version_json(&v, why), *hist;
		int dirty = run_dirty(st, &v);

		free(why);
		if (dirty >= 0)
			cJSON_AddBoolToObject(j, "dirty", dirty);
		else
			cJSON_AddNullToObject(j, "dirty");
		hist = cJSON_AddArrayToObject(j, "history");
		for (size_t i = 0; i < nev; i++) {
			cJSON *e = cJSON_CreateObject();

			cJSON_AddStringToObject(e, "action", ev[i].action);
			cJSON_AddStringToObject(e, "status", ev[i].status);
			if (ev[i].run_id)
				cJSON_AddNumberToObject(e, "run_id", (double)ev[i].run_id);
			else
				cJSON_AddNullToObject(e, "run_id");
			cJSON_AddBoolToObject(e, "forced", ev[i].forced);
			add_str_or_null(e, "reason", ev[i].reason);
			add_str_or_null(e, "actor", ev[i].actor);
			nf_cmd_json_time(e, "at", ev[i].at_ms);
			cJSON_AddItemToArray(hist, e);
		}
		print_json(j);
	} else {
		print_version(&v, run_dirty(st, &v), ev, nev);
	}
	rc = NF_EXIT_OK;
done:
	nf_model_event_list_free(ev, nev);
	nf_model_version_release(&v);
	free(model);
	return rc;
}

/* The files under models/ put back to what the registry says, each repair (and each copy
 * that could not be restored) on stderr. The command goes on either way: verify reports
 * what remains, promote and rollback check the copy they place. */
static void
reconcile(nf_store *st, const char *state_dir, bool full)
{
	nf_reconcile_report rep;
	int err = nf_registry_reconcile(&rep, st, state_dir, full);

	for (size_t i = 0; i < rep.n; i++)
		nf_cmd_error("%s", rep.lines[i]);
	if (err < 0 && rep.nfailed == 0)
		nf_cmd_error("%s", nf_error_last());
	nf_reconcile_report_release(&rep);
}

/* Nothing acts on a registry edited outside ntflow: each change checks it against the
 * audit chain first (recording the baseline of older versions, said here). */
static bool
chain_agrees(nf_store *st)
{
	size_t nbaseline = 0;

	if (nf_registry_chain_check(st, &nbaseline) < 0) {
		nf_cmd_error("%s", nf_error_last());
		return false;
	}
	if (nbaseline)
		nf_cmd_error("recorded a baseline of %zu model version%s in the audit chain (registered before the chain"
			     " recorded registry rows whole)", nbaseline, nbaseline == 1 ? "" : "s");
	return true;
}

static int
cmd_promote(nf_store *st, const char *state_dir, const reg_opts *o, int nargs, char **args)
{
	nf_model_version v = { 0 };
	char *actor = NULL, *model = NULL;
	const char *bad;
	int version = 0, previous = 0, rc = NF_EXIT_FAILED;

	/* MODEL@VERSION as everywhere a version is named; MODEL VERSION as before. */
	if (nargs < 1 || nargs > 2)
		return nargs ? usage_error("promote: unexpected argument '%s'", args[2])
			     : usage_error("%s", "promote: which version? (registry promote MODEL@VERSION)");
	if ((bad = split_ref(args[0], &model, &version)))
		return usage_error(bad, args[0]);
	if (nargs == 2 && version) {
		free(model);
		return usage_error("promote: unexpected argument '%s'", args[1]);
	}
	if (nargs == 2 && !(version = parse_version(args[1]))) {
		free(model);
		return usage_error("promote: '%s' is not a version number", args[1]);
	}
	if (!version) {
		free(model);
		return usage_error("promote: which version of '%s'? (registry promote MODEL@VERSION)", args[0]);
	}
	if (o->reason && !*o->reason) {
		free(model);
		return usage_error("%s", "promote: --reason needs a text");
	}
	if (!chain_agrees(st))
		goto done;
	reconcile(st, state_dir, false);
	actor = nf_registry_actor();
	if (nf_registry_promote(&v, &previous, st, state_dir, model, version, o->force, o->reason, actor) < 0) {
		report_model_error(st, model);
		goto done;
	}
	printf("%s v%d \u2192 production", v.model, v.version);
	if (previous)
		printf(" (v%d archived)", previous);
	if (v.forced) {
		char *by = nf_cmd_visible(v.actor), *reason = nf_cmd_visible(v.reason);

		printf(", forced by %s: %s", by, reason);
		free(by);
		free(reason);
	}
	putchar('\n');
	rc = NF_EXIT_OK;
done:
	nf_model_version_release(&v);
	free(actor);
	free(model);
	return rc;
}

/* rollback MODEL@VERSION says which version is being rolled back: it is refused unless
 * VERSION is the one in production, so that a rollback typed while a run promoted a newer
 * version does not roll back the wrong one. */
static int
cmd_rollback(nf_store *st, const char *state_dir, const reg_opts *o, int nargs, char **args)
{
	nf_model_version v = { 0 };
	char *actor = NULL, *model = NULL;
	const char *bad;
	int version = 0, current = 0, previous = 0, rc = NF_EXIT_FAILED;

	if (nargs != 1)
		return nargs ? usage_error("rollback: unexpected argument '%s'", args[1])
			     : usage_error("%s", "rollback: which model? (registry rollback MODEL[@VERSION])");
	if ((bad = split_ref(args[0], &model, &version)))
		return usage_error(bad, args[0]);
	if (!chain_agrees(st))
		goto done;
	reconcile(st, state_dir, false);
	if (version && nf_store_model_production_number(st, model, &current) == 0 && current != version) {
		if (current)
			nf_cmd_error("rollback %s: v%d is not in production (v%d is)", args[0], version, current);
		else
			nf_cmd_error("rollback %s: v%d is not in production (no version is)", args[0], version);
		goto done;
	}
	actor = nf_registry_actor();
	if (nf_registry_rollback(&v, &previous, st, state_dir, model, o->reason, actor) < 0) {
		report_model_error(st, model);
		goto done;
	}
	printf("%s v%d \u2192 production", v.model, v.version);
	if (previous)
		printf(" (v%d rolled back: only registry promote --force returns it)", previous);
	putchar('\n');
	rc = NF_EXIT_OK;
done:
	nf_model_version_release(&v);
	free(actor);
	free(model);
	return rc;
}

static void
on_bad(void *ctx, const nf_model_version *v, const char *problem)
{
	(void)ctx;
	(void)v;
	printf("bad  %s\n", problem);
}

/* The rows against the audit chain: each difference a "bad" line; with repair, the rows are
 * first put back to what the chain records (each said on stderr). Whether they agree. */
static bool
verify_chain(nf_store *st, const reg_opts *o, const char *model, size_t *nbad)
{
	nf_registry_chain_report rep;

	if (o->repair) {
		if (nf_registry_chain_restore(&rep, st) < 0) {
			nf_cmd_error("%s", nf_error_last());
			return false;
		}
		for (size_t i = 0; i < rep.n; i++)
			nf_cmd_error("%s", rep.lines[i]);
		nf_registry_chain_report_release(&rep);
	}
	if (nf_registry_chain_compare(&rep, st, model) < 0) {
		nf_cmd_error("%s", nf_error_last());
		return false;
	}
	for (size_t i = 0; i < rep.n; i++)
		printf("bad  %s\n", rep.lines[i]);
	*nbad = rep.n;
	if (rep.n)
		printf("%zu problem%s: the registry was changed outside ntflow, and nothing acts on it until"
		       " `ntflow registry verify --repair` puts back what the audit chain records\n", rep.n,
		       rep.n == 1 ? "" : "s");
	nf_registry_chain_report_release(&rep);
	return *nbad == 0 && chain_agrees(st);
}

static int
cmd_verify(nf_store *st, const char *state_dir, const reg_opts *o, int nargs, char **args)
{
	size_t checked = 0, nbad = 0;

	if (nargs > 1)
		return usage_error("verify: unexpected argument '%s'", args[1]);
	if (!verify_chain(st, o, nargs ? args[0] : NULL, &nbad))
		return NF_EXIT_FAILED;
	if (o->repair)   /* what remains after the repairs is reported below */
		reconcile(st, state_dir, true);
	if (nf_registry_verify(st, state_dir, nargs ? args[0] : NULL, on_bad, NULL, &checked, &nbad) < 0) {
		nf_cmd_error("%s", nf_error_last());
		return NF_EXIT_FAILED;
	}
	if (nbad) {
		printf("%zu problem%s in %zu version%s\n", nbad, nbad == 1 ? "" : "s", checked, checked == 1 ? "" : "s");
		return NF_EXIT_FAILED;
	}
	printf("ok %zu version%s\n", checked, checked == 1 ? "" : "s");
	return NF_EXIT_OK;
}

static int
cmd_registry_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force",  no_argument,       NULL, 'f' },
		{ "reason", required_argument, NULL, 'r' },
		{ "repair", no_argument,       NULL, 'R' },
		NF_CMD_LOCK_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	static const char *const subs[] = { "list", "show", "promote", "rollback", "verify" };
	reg_opts o = { 0 };
	nf_wslock_opts lock_opts = { .on_wait = nf_cmd_lock_wait_message };
	bool lock_given = false;
	nf_wslock *lock = NULL;
	nf_store *st = NULL;
	char *dir = NULL, *what = NULL;
	const char *sub;
	int c, rc = NF_EXIT_FAILED, nargs, err;
	char **args;

	while ((c = nf_cmd_getopt(&nf_cmd_registry, argc, argv, "", longopts)) != NF_CMD_DONE) {
		int lk = nf_cmd_lock_option(&nf_cmd_registry, &lock_opts, c, optarg);

		if (lk < 0)
			return NF_EXIT_USAGE;
		if (lk > 0) {
			lock_given = true;
			continue;
		}
		switch (c) {
		case NF_CMD_HELP:
			return NF_EXIT_OK;
		case 'f':
			o.force = true;
			break;
		case 'r':
			o.reason = optarg;
			break;
		case 'R':
			o.repair = true;
			break;
		default:
			return NF_EXIT_USAGE;
		}
	}
	o.state = nf_cmd_opt.state;
	o.json = nf_cmd_opt.json;
	if (optind >= argc)
		return usage_error("%s", "which subcommand? (list, show, promote, rollback, verify)");
	sub = argv[optind];
	args = argv + optind + 1;
	nargs = argc - optind - 1;
	{
		size_t i;

		for (i = 0; i < NF_ARRAY_SIZE(subs) && strcmp(subs[i], sub) != 0; i++)
			;
		if (i == NF_ARRAY_SIZE(subs)) {
			const char *hint = nf_suggest(sub, subs, NF_ARRAY_SIZE(subs));

			if (hint) {
				nf_cmd_eprintf("ntflow registry: '%s' is not a subcommand; did you mean '%s'?\n", sub, hint);
				nf_cmd_usage(&nf_cmd_registry, stderr);
				return NF_EXIT_USAGE;
			}
			return usage_error("'%s' is not a subcommand (list, show, promote, rollback, verify)", sub);
		}
	}
	if (o.json && strcmp(sub, "list") != 0 && strcmp(sub, "show") != 0)
		return usage_error("%s: --json is for list and show", sub);
	if (o.force && strcmp(sub, "promote") != 0)
		return usage_error("%s: --force is for promote", sub);
	if (o.reason && strcmp(sub, "promote") != 0 && strcmp(sub, "rollback") != 0)
		return usage_error("%s: --reason is for promote and rollback", sub);
	if (o.repair && strcmp(sub, "verify") != 0)
		return usage_error("%s: --repair is for verify", sub);

	/* What changes the registry (or marks a version corrupt) takes the workspace lock:
	 * a run registering or promoting a model meanwhile would be undone or misread. */
	if (strcmp(sub, "list") == 0 || strcmp(sub, "show") == 0) {
		if (lock_given)
			return usage_error("%s: --wait, --no-wait and --wait-timeout are for promote, rollback and verify", sub);
		if ((err = nf_cmd_open_store(&st, &dir, o.state)) < 0) {
			rc = nf_cmd_exit_status(err);
			goto done;
		}
	} else {
		lock_opts.what = what = xasprintf("ntflow registry %s", sub);
		if ((err = nf_cmd_open_store_locked(&st, &dir, &lock, o.state, &lock_opts)) < 0) {
			rc = nf_cmd_exit_status(err);
			goto done;
		}
	}
	{
		char *abs = nf_state_dir_canon(dir);   /* absolute; a link's end is not the project's */

		free(dir);
		dir = abs;
	}
	if (strcmp(sub, "list") == 0)
		rc = cmd_list(st, &o, nargs, args);
	else if (strcmp(sub, "show") == 0)
		rc = cmd_show(st, &o, nargs, args);
	else if (strcmp(sub, "promote") == 0)
		rc = cmd_promote(st, dir, &o, nargs, args);
	else if (strcmp(sub, "rollback") == 0)
		rc = cmd_rollback(st, dir, &o, nargs, args);
	else
		rc = cmd_verify(st, dir, &o, nargs, args);
done:
	nf_store_close(st);
	nf_workspace_unlock(lock);
	free(what);
	free(dir);
	return rc;
}

const nf_cmd nf_cmd_registry = {
	.name    = "registry",
	.shared  = NF_CMD_SHARED_STATE | NF_CMD_SHARED_JSON,
	.usage   = "registry list [MODEL] [--json] | show MODEL[@VERSION] [--json]\n"
		   "                | promote MODEL@VERSION [--force --reason TEXT] | rollback MODEL[@VERSION] [--reason TEXT]\n"
		   "                | verify [MODEL] [--repair]   [--state DIR] [--wait | --no-wait | --wait-timeout DURATION]",
	.summary = "The model registry: versions, promotion, rollback, verification.",
	.help    =
		"A run that produces a model block's artifact registers a new version of the model:\n"
		"its number (1, 2, ...), run, commit, artifact SHA-256 and size, a copy under\n"
		".ntflow/registry/MODEL/VERSION/, metrics, params and gate outcome. When its gate\n"
		"passed in a run that succeeded it goes to production (the previous production\n"
		"version is archived) and is placed at MODELS_DIR/current/MODEL/; otherwise it is a\n"
		"candidate, placed at MODELS_DIR/candidates/MODEL/vN/ (models_dir in the pipeline\n"
		"block, default models). A run that failed or was cancelled never changes production.\n"
		"A promotion or rollback made here is a person's decision: it stands until a model\n"
		"with different bytes passes the gate, and a rolled-back version never returns to\n"
		"production on its own. The files under MODELS_DIR follow the registry: promote,\n"
		"rollback, verify --repair and every run first put them back to what it says.\n"
		"\n"
		"  list [MODEL]           every version (of MODEL), oldest first, then why each\n"
		"                         production version is in production\n"
		"  show MODEL[@VERSION]   one version in full with why it has its status and its\n"
		"                         history (default: the one in production, else the newest);\n"
		"                         its params and commit are those of the run that made it\n"
		"                         (every value it used, -p included; +dirty when its tree had\n"
		"                         uncommitted changes)\n"
		"  promote MODEL@VERSION  make VERSION the production version (MODEL VERSION works\n"
		"                         too); a version whose gate did not pass, or that was\n"
		"                         rolled back, needs --force and --reason TEXT, recorded\n"
		"                         with who promoted it ($USER); a corrupt version never\n"
		"  rollback MODEL[@VERSION]\n"
		"                         return the previous production version (the most recently\n"
		"                         archived one) to production; the current one becomes\n"
		"                         rolled-back. With @VERSION, only when VERSION is the one\n"
		"                         in production (it names what is rolled back)\n"
		"  verify [MODEL]         compare the rows with what the audit chain records (each\n"
		"                         version and column changed outside ntflow; while any is,\n"
		"                         runs, promote and rollback refuse), re-hash every version's\n"
		"                         copy (a mismatch marks the version corrupt) and compare the\n"
		"                         copies under MODELS_DIR; exit 1 on any problem\n"
		"\n"
		"  --json        list and show as JSON (times in UTC, ISO 8601)\n"
		"  --force       promote past a failed gate or a rollback (with --reason)\n"
		"  --reason TEXT why; recorded with the promotion or rollback\n"
		"  --repair      verify: first put the rows back to what the audit chain records,\n"
		"                then the copies under MODELS_DIR back to what the registry says\n"
		"                (from the registry's copies), saying what it did\n"
		"  --state DIR   the state directory (default: $NTFLOW_STATE, else .ntflow/ at the\n"
		"                root of the git repository holding the current directory)\n"
		"\n"
		"promote, rollback and verify take the workspace lock (one writer per workspace,\n"
		"as a run does); list and show only read:\n"
		"  --wait        while a run or another writer holds it, wait (the default)\n"
		"  --no-wait     exit 75 at once, naming the holder's run and pid\n"
		"  --wait-timeout DURATION  wait at most DURATION (30s, 10m), then exit 75\n",
	.exec    = cmd_registry_exec,
};
