/* cmd-doctor.c: `ntflow doctor`, a deep check of the workspace that changes nothing: SQLite's
 * integrity check of the state database, the database against the workspace marker (the same
 * store, and the audit record the marker last saw still in the chain with the same hash),
 * the audit chain and Merkle roots (as `audit verify`), every model version's copy (as
 * `registry verify`), every cache entry's objects, re-hashed, and that the scheduled
 * pipelines are served (a scheduler, or each due interval's run). One line per check; the
 * exit status says whether anything is wrong. It opens the database read-only, so it also
 * works on a full disk or a read-only workspace. */
#include "config.h"
#include "ntflow/cmd.h"

#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "ntflow/cache.h"
#include "ntflow/cron.h"
#include "ntflow/gov.h"
#include "ntflow/sched.h"
#include "ntflow/store.h"

typedef struct doctor {
	nf_store *st;
	char *dir;
	size_t problems;
	bool damaged;                /* the database itself: exit NF_EXIT_DAMAGED */
} doctor;

/* "CHECK  ok    WHAT" or "CHECK  FAIL  WHAT" (a problem is counted). */
static void
report(doctor *d, const char *check, bool ok, const char *fmt, ...) NF_PRINTF(4, 5);

static void
report(doctor *d, const char *check, bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%-9s %-4s  ", check, ok ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!ok)
		d->problems++;
}

static void
check_database(doctor *d)
{
	char **probs = NULL;
	size_t n = 0;

	if (nf_store_integrity(d->st, 20, &probs, &n) < 0) {
		report(d, "database", false, "%s", nf_error_last());
		d->damaged = true;
		return;
	}
	if (n == 0) {
		report(d, "database", true, "PRAGMA integrity_check: ok");
	} else {
		d->damaged = true;
		for (size_t i = 0; i < n; i++) {
			/* One problem a line; the "*** in database main ***" heading says nothing here. */
			char *save = NULL;

			for (char *line = strtok_r(probs[i], "\n", &save); line; line = strtok_r(NULL, "\n", &save))
				if (strncmp(line, "*** in database ", 16) != 0)
					report(d, "database", false, "PRAGMA integrity_check: %s", line);
		}
	}
	nf_store_integrity_free(probs, n);
}

static void
check_marker(doctor *d)
{
	nf_ws_marker m;
	int64_t head = 0;
	char head_hash[65], hash[65], id[NF_STORE_ID_SIZE];
	int64_t last_run = 0;
	int err;

	if ((err = nf_ws_marker_read(&m, d->dir)) == NF_ENOTFOUND) {
		/* Written when a run begins: a workspace whose runs predate it has none yet. */
		if (nf_store_run_last(d->st, &last_run) == 0)
			report(d, "marker", true, "none yet: the next run writes it");
		else
			report(d, "marker", true, "none: this workspace has held no run");
		return;
	}
	if (err < 0) {
		report(d, "marker", false, "%s", nf_error_last());
		d->damaged = true;
		return;
	}
	if ((err = nf_store_id(d->st, id)) < 0 || strcmp(id, m.store_id) != 0) {
		report(d, "marker", false, "the database is %s, not the store %s the marker names",
		       err < 0 ? "of a schema without an id" : id, m.store_id);
		d->damaged = true;
		return;
	}
	if ((err = nf_store_audit_head(d->st, &head, head_hash)) < 0) {
		report(d, "marker", false, "%s", nf_error_last());
		return;
	}
	if (m.audit_seq > head) {
		report(d, "marker", false, "store %s: the audit chain ends at record %lld, but the marker saw record "
		       "%lld: records are missing (a database restored from an older backup?)", m.store_id,
		       (long long)head, (long long)m.audit_seq);
		return;
	}
	if (m.audit_seq > 0 && (nf_store_audit_hash_at(d->st, m.audit_seq, hash) < 0 ||
				strcmp(hash, m.audit_hash) != 0)) {
		report(d, "marker", false, "store %s: audit record %lld is not the one the marker saw (hash %.12s, "
		       "the marker says %.12s): the chain was rewritten", m.store_id, (long long)m.audit_seq,
		       hash[0] ? hash : "none", m.audit_hash);
		return;
	}
	report(d, "marker", true, "store %s; audit record %lld as the marker saw it (the chain ends at %lld)",
	       m.store_id, (long long)m.audit_seq, (long long)head);
}

static void
check_audit(doctor *d)
{
	nf_audit_report rep;

	if (nf_audit_verify(d->st, &rep) < 0) {
		report(d, "audit", false, "%s", nf_error_last());
		return;
	}
	if (rep.problem)
		report(d, "audit", false, "%s", rep.problem);
	else
		report(d, "audit", true, "%zu record%s, %zu Merkle root%s", rep.nrecords, rep.nrecords == 1 ? "" : "s",
		       rep.nroots, rep.nroots == 1 ? "" : "s");
	nf_audit_report_release(&rep);
}

static void
on_bad_version(void *ctx, const nf_model_version *v, const char *problem)
{
	doctor *d = ctx;

	report(d, "registry", false, "%s v%d: %s", v->model, v->version, problem);
}

static void
check_registry(doctor *d)
{
	size_t checked = 0, nbad = 0;
	int err = nf_registry_verify(d->st, d->dir, NULL, on_bad_version, d, &checked, &nbad);

	/* Read-only, the doctor cannot mark a bad version corrupt as `registry verify` does: the
	 * problem was reported, which is all it is here for. */
	if (err < 0 && !(nbad > 0 && nf_store_readonly(d->st))) {
		report(d, "registry", false, "%s", nf_error_last());
		return;
	}
	if (nbad == 0)
		report(d, "registry", true, "%zu version%s: every copy as recorded", checked, checked == 1 ? "" : "s");
}

static void
check_cache(doctor *d)
{
	nf_cache_entry *e = NULL;
	nf_objstore *objs = NULL;
	char *cache_dir = xasprintf("%s/cache", d->dir);
	size_t n = 0, bad = 0, ndigests = 0;

	if (nf_objstore_open(&objs, cache_dir) < 0 || nf_store_cache_list(d->st, &e, &n) < 0) {
		report(d, "cache", false, "%s", nf_error_last());
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		cJSON *arr = cJSON_Parse(e[i].outputs_json ? e[i].outputs_json : "");
		const cJSON *it, *list;
		bool ok = cJSON_IsArray(arr);

		list = ok ? arr : NULL;
		cJSON_ArrayForEach(it, list) {
			const char *digest = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "digest"));

			if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "uncached")))
				continue;   /* uncached = [...]: never in the store */
			ndigests++;
			if (!digest || !nf_objstore_has(objs, digest, true))
				ok = false;
		}
		cJSON_Delete(arr);
		if (!ok) {
			bad++;
			report(d, "cache", false, "entry %.12s (%s, run %lld): an object it needs is missing or corrupt "
			       "(ntflow cache verify drops it)", e[i].key, e[i].node, (long long)e[i].run_id);
		}
	}
	if (bad == 0)
		report(d, "cache", true, "%zu entr%s, %zu output%s: every object present and sound", n, n == 1 ? "y" : "ies",
		       ndigests, ndigests == 1 ? "" : "s");
done:
	nf_cache_entry_list_free(e, n);
	nf_objstore_free(objs);
	free(cache_dir);
}

/* How long after its end a scheduled interval may go without a run before the doctor says
 * so. */
#define SCHEDULE_GRACE_S 3600

/* Whether a schedule's DAG file is still there: a pipeline whose file went while no
 * scheduler ran is unscheduled by the next one, not a stopped retraining. The file is as
 * the scheduler was given it, from where it ran (the project root for the systemd unit and
 * the crontab line), which the store does not record: looked for beside the state folder
 * (the root of a default workspace) and from the current folder. */
static bool
file_there(const doctor *d, const char *file)
{
	char *dir, *path;
	bool there;

	if (file[0] == '/')
		return access(file, F_OK) == 0;
	dir = xstrdup(d->dir);
	path = xasprintf("%s/%s", dirname(dir), file);
	there = access(path, F_OK) == 0 || access(file, F_OK) == 0;
	free(path);
	free(dir);
	return there;
}

/* The workspace's scheduled pipelines are served: a scheduler runs for it, or each one's
 * latest interval due was decided by a scheduler or has its run (from cron, or a backfill).
 * Otherwise its retraining has stopped (the daemon gone, not started again after a
 * reboot), which nothing else says until someone looks at the model's age. */
static void
check_schedule(doctor *d)
{
	nf_schedule_row *rows = NULL;
	size_t n = 0, scheduled = 0, late = 0;
	nf_sched_holder h;
	int64_t now = nf_wallclock_now();
	bool state_given = nf_cmd_opt.state || getenv("NTFLOW_STATE");

	if (nf_store_schedule_list(d->st, &rows, &n) < 0) {
		report(d, "schedule", false, "%s", nf_error_last());
		return;
	}
	nf_scheduler_holder(d->dir, &h);
	for (size_t i = 0; i < n; i++) {
		const nf_schedule_row *r = &rows[i];
		nf_cron cron;
		nf_tz tz;
		nf_cron_span span;
		int64_t latest, run;
		char start[32], end[32];

		if (nf_sched_unscheduled(d->st, r->pipeline) || !file_there(d, r->file))
			continue;
		scheduled++;
		/* Its schedule not read here: the scheduler says why where it runs. The interval
		 * looked at is the latest that ended SCHEDULE_GRACE_S ago: a run from cron may
		 * start a few minutes after its fire time, or wait for the workspace lock. */
		if (h.running || nf_cron_parse(&cron, r->cron, NULL) < 0 || nf_tz_open(&tz, r->timezone) < 0 ||
		    nf_cron_prev(&cron, &tz, now - SCHEDULE_GRACE_S + 1, &latest) < 0 || latest <= r->last_end ||
		    nf_cron_interval(&cron, &tz, latest, &span) < 0)
			continue;
		nf_time_format_utc(start, span.start);
		nf_time_format_utc(end, span.end);
		if (nf_store_run_for_interval(d->st, r->pipeline, start, &run) == 0)
			continue;
		/* the advice names the workspace when it is not the default one */
		report(d, "schedule", false, "%s: the interval %s..%s is due since %s and has no run, and no "
		       "scheduler runs for this workspace (start one: ntflow scheduler %s%s%s%s; or from cron: "
		       "%s%s%sntflow schedule %s --crontab)", r->pipeline, start, end, end,
		       state_given ? "--state " : "", state_given ? d->dir : "", state_given ? " " : "", r->file,
		       state_given ? "NTFLOW_STATE=" : "", state_given ? d->dir : "", state_given ? " " : "", r->file);
		late++;
	}
	nf_error_clear();
	if (late == 0 && scheduled == 0)
		report(d, "schedule", true, "no pipeline is scheduled here");
	else if (late == 0 && h.running)
		report(d, "schedule", true, "%zu pipeline%s scheduled; a scheduler runs (pid %ld)", scheduled,
		       scheduled == 1 ? "" : "s", h.pid);
	else if (late == 0)
		report(d, "schedule", true, "%zu pipeline%s scheduled; no scheduler runs, and every interval due has "
		       "its run", scheduled, scheduled == 1 ? "" : "s");
	nf_schedule_row_list_free(rows, n);
}

static int
cmd_doctor_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ NULL, 0, NULL, 0 },
	};
	doctor d = { 0 };
	int c, err, rc;

	while ((c = nf_cmd_getopt(&nf_cmd_doctor, argc, argv, "", longopts)) != NF_CMD_DONE) {
		switch (c) {
		case NF_CMD_HELP: return NF_EXIT_OK;
		default: return NF_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		nf_cmd_eprintf("ntflow doctor: unexpected argument '%s'\n", argv[optind]);
		nf_cmd_usage(&nf_cmd_doctor, stderr);
		return NF_EXIT_USAGE;
	}
	if ((err = nf_cmd_open_store(&d.st, &d.dir, nf_cmd_opt.state)) < 0)
		return nf_cmd_exit_status(err);
	printf("workspace %s\n", d.dir);
	check_database(&d);
	check_marker(&d);
	check_audit(&d);
	check_registry(&d);
	check_cache(&d);
	check_schedule(&d);
	if (d.problems)
		printf("%zu problem%s found\n", d.problems, d.problems == 1 ? "" : "s");
	else
		printf("no problems found\n");
	rc = d.damaged ? NF_EXIT_DAMAGED : d.problems ? NF_EXIT_FAILED : NF_EXIT_OK;
	nf_store_close(d.st);
	free(d.dir);
	return rc;
}

const nf_cmd nf_cmd_doctor = {
	.name    = "doctor",
	.shared  = NF_CMD_SHARED_STATE,
	.usage   = "doctor [--state DIR]",
	.summary = "Check the workspace deeply: database, marker, audit chain, registry, cache, schedules.",
	.help    =
		"Changes nothing; reads the state database read-only, so it also works on a full\n"
		"disk or a read-only workspace. One line per check, \"ok\" or \"FAIL\":\n\n"
		"  database  SQLite's PRAGMA integrity_check (every page, b-tree and index; it\n"
		"            includes quick_check's tests)\n"
		"  marker    the database is the store .ntflow/WORKSPACE names, and the audit\n"
		"            record the marker saw last is still in the chain with the same hash\n"
		"  audit     the hash chain and the runs' Merkle roots, as 'ntflow audit verify'\n"
		"  registry  every model version's copy, as 'ntflow registry verify' (which also\n"
		"            marks a bad version corrupt; the doctor only reports it)\n"
		"  cache     every cache entry's objects present and re-hashed ('ntflow cache\n"
		"            verify' drops the entries that fail)\n"
		"  schedule  the scheduled pipelines are served: a scheduler runs for the\n"
		"            workspace, or each one's latest interval that ended an hour ago or\n"
		"            more was decided by one or has its run (from cron, or a backfill);\n"
		"            else its retraining has stopped, and the interval and the command\n"
		"            that starts it again are named (a pipeline whose DAG file is gone\n"
		"            is not looked at)\n\n"
		"Exit status: 0 no problem; 1 a problem in the audit chain (or records missing\n"
		"since the marker saw them), the registry, the cache or the schedules; 4 the\n"
		"database itself is damaged, missing, or not the workspace's.\n\n"
		"  --state DIR  the state directory (default: $NTFLOW_STATE, else .ntflow/ at the\n"
		"               root of the git repository holding the current directory)\n",
	.exec    = cmd_doctor_exec,
};
