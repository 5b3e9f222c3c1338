/* check_registry.c: unit tests of the model registry's decisions: why a version has its
 * status (the texts, from events built by hand), which events are a person's decision, a
 * rollback and a forced promotion standing against the same bytes passing again until
 * different bytes pass, a run's hold leaving a candidate, and the reconciliation of the
 * files under models/ (a copy put back, then nothing to do; a copy whose bytes are nowhere
 * is reported), and the registry against its audit chain (edits outside ntflow named by
 * version and column, refused by every change, put back by a restore; a workspace from
 * before rows were recorded checked on what its records tell, then sealed by a baseline;
 * an edited record itself). The registry runs on a state database in a temporary folder. */
#include "config.h"
#include "ntflow/gov.h"

#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
/* The store's internals: these tests reach the raw database, to tamper with it as someone
 * editing state.db would, or to look at what no typed function shows. */
#include "../../src/store/store-internal.h"
/* nf_registry__models_dir, where a recorded models folder is looked for. */
#include "../../src/gov/registry-internal.h"

/* ---- why, from events built by hand ---- */

static nf_model_event
event(int version, const char *action, const char *status, int64_t run_id, bool forced, const char *reason,
      const char *actor)
{
	nf_model_event e;

	memset(&e, 0, sizeof(e));
	e.model = (char *)"clf";
	e.version = version;
	e.action = (char *)action;
	e.status = (char *)status;
	e.run_id = run_id;
	e.forced = forced;
	e.reason = (char *)reason;
	e.actor = (char *)actor;
	return e;
}

static nf_model_version
version(int n, const char *status, const char *gate_outcome)
{
	nf_model_version v;

	memset(&v, 0, sizeof(v));
	v.model = (char *)"clf";
	v.version = n;
	v.status = (char *)status;
	v.gate = (char *)"promote";
	v.gate_outcome = (char *)gate_outcome;
	v.run_id = n;
	return v;
}

static void
want_why(const nf_model_version *v, const nf_model_event *ev, size_t n, const char *want)
{
	char *got = nf_registry_why(v, ev, n);

	if (!want)
		ck_assert_msg(got == NULL, "unexpected why '%s'", got);
	else
		ck_assert_msg(got && strcmp(got, want) == 0, "why '%s', expected '%s'", got ? got : "(null)", want);
	free(got);
}

START_TEST(test_why_texts)
{
	nf_model_event ev[8];
	nf_model_version v1 = version(1, "production", "pass"), v2 = version(2, "rolled-back", "pass");
	nf_model_version v3 = version(3, "candidate", "pass"), v4 = version(4, "candidate", "fail");
	nf_model_version v5 = version(5, "archived", "pass");
	char *brief;

	ev[0] = event(1, "register", "production", 1, false, NULL, NULL);
	want_why(&v1, ev, 1, "its gate promote passed in run 1");
	ev[1] = event(1, "archive", "archived", 0, false, NULL, NULL);
	ev[2] = event(2, "register", "production", 2, false, NULL, NULL);
	ev[3] = event(2, "rollback", "rolled-back", 0, false, "bad canary", "alice");
	ev[4] = event(1, "rollback", "production", 0, false, "bad canary", "alice");
	/* a held promotion records the status the version kept: it is not the reason */
	ev[5] = event(2, "held", "rolled-back", 3, false, "not returned to production: ...", NULL);
	want_why(&v1, ev, 6, "returned to production by alice's rollback: bad canary; a person's decision: it stands"
		 " until a model with different bytes passes the gate");
	want_why(&v2, ev, 6, "rolled back by alice: bad canary; only registry promote --force returns it to production");
	brief = nf_registry_why_brief(&v1, ev, 6);
	ck_assert_str_eq(brief, "rollback by alice");
	free(brief);
	ck_assert_ptr_null(nf_registry_why_brief(&v2, ev, 6));
	/* rolled back before the status existed: the rollback left it archived */
	ev[3].status = (char *)"archived";
	want_why(&v2, ev, 5, "rolled back by alice: bad canary; only registry promote --force returns it to production");

	ev[0] = event(3, "register", "candidate", 4, false, "not promoted: run 4 failed: check failed", NULL);
	want_why(&v3, ev, 1, "not promoted: run 4 failed: check failed");
	ev[0] = event(4, "register", "candidate", 4, false, NULL, NULL);
	want_why(&v4, ev, 1, "gate promote rejected it in run 4");
	want_why(&v5, ev, 1, NULL);

	v4.status = (char *)"production";
	ev[1] = event(4, "promote", "production", 0, true, "risk team", "carol");
	want_why(&v4, ev, 2, "promoted by carol past its failed gate promote: risk team; a person's decision: it"
		 " stands until a model with different bytes passes the gate");
	v1.version = 4;
	v1.gate_outcome = (char *)"pass";
	ev[1] = event(4, "promote", "production", 9, false, "its bytes passed gate promote again in run 9", NULL);
	want_why(&v1, ev, 2, "its bytes passed gate promote again in run 9");
	brief = nf_registry_why_brief(&v1, ev, 2);
	ck_assert_str_eq(brief, "passed again in run 9");
	free(brief);
}
END_TEST

START_TEST(test_human_events)
{
	nf_model_event e = event(1, "promote", "production", 0, false, NULL, "bob");

	ck_assert(nf_registry_event_is_human(&e));
	e.action = (char *)"rollback";
	ck_assert(nf_registry_event_is_human(&e));
	e.run_id = 7;   /* a run's gate passed again */
	ck_assert(!nf_registry_event_is_human(&e));
	e.run_id = 0;
	e.actor = (char *)"ntflow";   /* how such promotions were recorded before */
	ck_assert(!nf_registry_event_is_human(&e));
	e.actor = (char *)"bob";
	e.action = (char *)"register";
	ck_assert(!nf_registry_event_is_human(&e));
}
END_TEST

/* ---- the registry on a state database in a temporary folder ---- */

static char tmpdir[64], state_dir[96], models_dir[96], artifact[96];
static nf_store *st;

static void
setup(void)
{
	char db[128];

	unsetenv("NTFLOW_FAULT");
	unsetenv("NTFLOW_AUDIT_KEY");
	strcpy(tmpdir, "/tmp/check_registry.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(state_dir, sizeof(state_dir), "%s/.ntflow", tmpdir);
	snprintf(models_dir, sizeof(models_dir), "%s/models", tmpdir);
	snprintf(artifact, sizeof(artifact), "%s/model.txt", tmpdir);
	ck_assert_int_eq(mkdir(state_dir, 0777), 0);
	snprintf(db, sizeof(db), "%s/state.db", state_dir);
	ck_assert_int_eq(nf_store_open(&st, db, true), 0);
}

static void
teardown(void)
{
	char cmd[128];

	nf_store_close(st);
	st = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* Registers an artifact holding bytes, as run run_id with the gate passed or not and the
 * run's hold; returns nf_registry_register's result, the version in *v, the note in *note
 * (when not NULL). */
static int
reg(nf_model_version *v, char **note, const char *bytes, bool passed, const char *hold, int64_t run_id)
{
	nf_register_req req;
	int rc;

	write_text(artifact, bytes);
	memset(&req, 0, sizeof(req));
	req.model = "clf";
	req.pipeline = "p";
	req.run_id = run_id;
	req.artifact = artifact;
	req.source_path = "build/model.txt";
	req.gate = "promote";
	req.gate_passed = passed;
	req.gate_outcome = passed ? "pass" : "fail";
	req.hold = hold;
	req.state_dir = state_dir;
	req.models_dir = models_dir;
	rc = nf_registry_register(v, note, st, &req);
	ck_assert_msg(rc >= 0, "register: %s", nf_error_last());
	return rc;
}

static int
production(void)
{
	nf_model_version v;
	int n;

	if (nf_registry_get(&v, st, "clf", 0) < 0 || strcmp(v.status, "production") != 0) {
		nf_model_version_release(&v);
		return 0;
	}
	n = v.version;
	nf_model_version_release(&v);
	return n;
}

static void
want_status(int n, const char *status)
{
	nf_model_version v;

	ck_assert_int_eq(nf_registry_get(&v, st, "clf", n), 0);
	ck_assert_msg(strcmp(v.status, status) == 0, "v%d is %s, expected %s", n, v.status, status);
	nf_model_version_release(&v);
}

START_TEST(test_rollback_stands)
{
	nf_model_version v, out;
	char *note = NULL;
	int prev = 0;

	ck_assert_int_eq(reg(&v, NULL, "a", true, NULL, 1), 0);
	nf_model_version_release(&v);
	ck_assert_int_eq(reg(&v, NULL, "b", true, NULL, 2), 0);
	nf_model_version_release(&v);
	ck_assert_int_eq(production(), 2);
	ck_assert_int_eq(nf_registry_rollback(&out, &prev, st, state_dir, "clf", "bad canary", "alice"), 0);
	ck_assert_int_eq(out.version, 1);
	ck_assert_int_eq(prev, 2);
	nf_model_version_release(&out);
	want_status(2, "rolled-back");

	/* v2's bytes pass again: they stay out, and the run is told why */
	ck_assert_int_eq(reg(&v, &note, "b", true, NULL, 3), 1);
	ck_assert_int_eq(v.version, 2);
	ck_assert_ptr_nonnull(note);
	ck_assert_msg(strstr(note, "v2 was rolled back by alice: bad canary"), "note: %s", note);
	free(note);
	nf_model_version_release(&v);
	ck_assert_int_eq(production(), 1);

	/* only a forced promotion with a reason brings it back */
	ck_assert_int_eq(nf_registry_promote(&out, NULL, st, state_dir, "clf", 2, false, NULL, "bob"), NF_EINVALID);
	ck_assert(strstr(nf_error_last(), "was rolled back") != NULL);
	ck_assert_int_eq(nf_registry_promote(&out, NULL, st, state_dir, "clf", 2, true, "fixed", "bob"), 0);
	ck_assert(out.forced);
	nf_model_version_release(&out);
	ck_assert_int_eq(production(), 2);
}
END_TEST

START_TEST(test_forced_promotion_stands_until_new_bytes)
{
	nf_model_version v, out;
	char *note = NULL;

	ck_assert_int_eq(reg(&v, NULL, "a", true, NULL, 1), 0);
	nf_model_version_release(&v);
	ck_assert_int_eq(reg(&v, NULL, "c", false, NULL, 2), 0);
	ck_assert_str_eq(v.status, "candidate");
	nf_model_version_release(&v);
	ck_assert_int_eq(nf_registry_promote(&out, NULL, st, state_dir, "clf", 2, true, "risk team", "carol"), 0);
	nf_model_version_release(&out);

	/* v1's bytes pass: carol's decision stands */
	ck_assert_int_eq(reg(&v, &note, "a", true, NULL, 3), 1);
	ck_assert_msg(note && strstr(note, "the forced promotion of v2 by carol stands"), "note: %s", note);
	free(note);
	nf_model_version_release(&v);
	ck_assert_int_eq(production(), 2);

	/* different bytes pass: production, and the decision is over */
	ck_assert_int_eq(reg(&v, &note, "d", true, NULL, 4), 0);
	ck_assert_ptr_null(note);
	ck_assert_int_eq(v.version, 3);
	nf_model_version_release(&v);
	ck_assert_int_eq(production(), 3);
	ck_assert_int_eq(reg(&v, &note, "a", true, NULL, 5), 0);
	ck_assert_ptr_null(note);
	ck_assert_int_eq(v.version, 1);
	nf_model_version_release(&v);
	ck_assert_int_eq(production(), 1);
}
END_TEST

START_TEST(test_hold_leaves_a_candidate)
{
	nf_model_version v;
	char *note = NULL;

	ck_assert_int_eq(reg(&v, NULL, "a", true, NULL, 1), 0);
	nf_model_version_release(&v);
	ck_assert_int_eq(reg(&v, &note, "b", true, "run 2 failed: check failed", 2), 0);
	ck_assert_str_eq(v.status, "candidate");
	ck_assert_str_eq(note, "not promoted: run 2 failed: check failed");
	free(note);
	nf_model_version_release(&v);
	ck_assert_int_eq(production(), 1);

	/* the same bytes in a failed run again: held; in a run that succeeded: production */
	ck_assert_int_eq(reg(&v, &note, "b", true, "run 3 failed: check failed", 3), 1);
	ck_assert_str_eq(note, "not returned to production: run 3 failed: check failed");
	free(note);
	nf_model_version_release(&v);
	ck_assert_int_eq(reg(&v, &note, "b", true, NULL, 4), 0);
	ck_assert_ptr_null(note);
	nf_model_version_release(&v);
	ck_assert_int_eq(production(), 2);
	want_status(1, "archived");
}
END_TEST

static void
want_lines(const nf_reconcile_report *r, size_t n, const char *first)
{
	ck_assert_msg(r->n == n, "%zu lines (first: %s), expected %zu", r->n, r->n ? r->lines[0] : "-", n);
	if (first)
		ck_assert_msg(strstr(r->lines[0], first), "line '%s' lacks '%s'", r->lines[0], first);
}

START_TEST(test_reconcile)
{
	nf_reconcile_report rep;
	nf_model_version v;
	char path[160];

	ck_assert_int_eq(reg(&v, NULL, "a", true, NULL, 1), 0);
	nf_model_version_release(&v);
	ck_assert_int_eq(reg(&v, NULL, "b", true, NULL, 2), 0);
	nf_model_version_release(&v);
	ck_assert_int_eq(nf_registry_reconcile(&rep, st, state_dir, false), 0);
	want_lines(&rep, 0, NULL);
	nf_reconcile_report_release(&rep);

	/* the files of v1 where v2's belong: put back, said so */
	snprintf(path, sizeof(path), "%s/current/clf/model.txt", models_dir);
	write_text(path, "a");
	ck_assert_int_eq(nf_registry_reconcile(&rep, st, state_dir, false), 0);
	want_lines(&rep, 1, "it held the files of clf v1; now clf v2, the production version");
	ck_assert_int_eq(rep.nrepaired, 1);
	nf_reconcile_report_release(&rep);
	ck_assert_int_eq(nf_registry_reconcile(&rep, st, state_dir, true), 0);
	want_lines(&rep, 0, NULL);
	nf_reconcile_report_release(&rep);

	/* v2's bytes gone from the registry and no cache: reported, not passed */
	snprintf(path, sizeof(path), "%s/registry/clf/2/model.txt", state_dir);
	ck_assert_int_eq(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/current/clf/model.txt", models_dir);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(nf_registry_reconcile(&rep, st, state_dir, false), NF_ECORRUPT);
	want_lines(&rep, 1, "cannot restore");
	ck_assert_int_eq(rep.nfailed, 1);
	ck_assert(strstr(nf_error_last(), "registry copy registry/clf/2/model.txt is missing") != NULL);
	nf_reconcile_report_release(&rep);
}
END_TEST

/* ---- the registry against its audit chain ---- */

static void
raw_exec(const char *sql)
{
	sqlite3 *db = st->db;

	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
}

/* The chain's differences are exactly want (NULL-terminated), in order. */
static void
want_diffs(const char *const *want)
{
	nf_registry_chain_report rep;
	size_t n = 0;

	ck_assert_int_eq(nf_registry_chain_compare(&rep, st, NULL), 0);
	while (want[n])
		n++;
	for (size_t i = 0; i < rep.n || i < n; i++)
		ck_assert_msg(i < rep.n && i < n && strcmp(rep.lines[i], want[i]) == 0, "difference %zu: '%s', expected '%s'",
			      i, i < rep.n ? rep.lines[i] : "(none)", i < n ? want[i] : "(none)");
	nf_registry_chain_report_release(&rep);
}

static void
read_text(char *out, size_t size, const char *path)
{
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	fclose(f);
}

START_TEST(test_chain_swap_refused_and_restored)
{
	static const char *const none[] = { NULL };
	static const char *const swapped[] = {
		"clf v1: status is 'production' in the registry, the audit chain says 'archived'",
		"clf v2: status is 'archived' in the registry, the audit chain says 'production'",
		NULL,
	};
	nf_registry_chain_report rep;
	nf_reconcile_report rr;
	nf_model_version v, out;
	char path[160], text[64];

	ck_assert_int_eq(reg(&v, NULL, "a", true, NULL, 1), 0);
	nf_model_version_release(&v);
	ck_assert_int_eq(reg(&v, NULL, "b", true, NULL, 2), 0);
	nf_model_version_release(&v);
	want_diffs(none);

	raw_exec("UPDATE model_versions SET status = 'archived' WHERE version = 2;"
		 "UPDATE model_versions SET status = 'production' WHERE version = 1");
	want_diffs(swapped);
	/* Every change refuses, and changes nothing: not the rows, not models/current. */
	ck_assert_int_eq(nf_registry_rollback(&out, NULL, st, state_dir, "clf", NULL, "mallory"), NF_ECORRUPT);
	ck_assert_msg(strstr(nf_error_last(), "the model registry was changed outside ntflow: clf v1: status is"
			     " 'production' in the registry, the audit chain says 'archived' (and 1 more difference)"),
		      "%s", nf_error_last());
	ck_assert_int_eq(nf_registry_promote(&out, NULL, st, state_dir, "clf", 2, false, NULL, "mallory"), NF_ECORRUPT);
	ck_assert_int_eq(nf_registry_reconcile(&rr, st, state_dir, true), NF_ECORRUPT);
	ck_assert_int_eq(rr.n, 0);
	nf_reconcile_report_release(&rr);
	write_text(artifact, "c");
	{
		nf_register_req req;

		memset(&req, 0, sizeof(req));
		req.model = "clf";
		req.run_id = 3;
		req.artifact = artifact;
		req.source_path = "build/model.txt";
		req.state_dir = state_dir;
		req.models_dir = models_dir;
		ck_assert_int_eq(nf_registry_register(&v, NULL, st, &req), NF_ECORRUPT);
	}
	snprintf(path, sizeof(path), "%s/current/clf/model.txt", models_dir);
	read_text(text, sizeof(text), path);
	ck_assert_str_eq(text, "b");
	want_diffs(swapped);

	/* Put back from the chain: said per version, recorded, and then all agrees. */
	ck_assert_int_eq(nf_registry_chain_restore(&rep, st), 0);
	ck_assert_int_eq(rep.n, 2);
	ck_assert_str_eq(rep.lines[0], "restored clf v1 from the audit chain: status");
	ck_assert_str_eq(rep.lines[1], "restored clf v2 from the audit chain: status");
	nf_registry_chain_report_release(&rep);
	want_diffs(none);
	ck_assert_int_eq(production(), 2);
	ck_assert_int_eq(nf_registry_chain_restore(&rep, st), 0);
	ck_assert_int_eq(rep.n, 0);
	/* a reason that is not UTF-8 is recorded as its bytes and put back as they were */
	ck_assert_int_eq(nf_registry_rollback(&out, NULL, st, state_dir, "clf", "bad \xff\xfe canary", "alice"), 0);
	ck_assert_int_eq(out.version, 1);
	nf_model_version_release(&out);
	want_diffs(none);
	raw_exec("UPDATE model_versions SET reason = 'bad canary' WHERE version = 1");
	{
		static const char *const want[] = {
			"clf v1: reason is 'bad canary' in the registry, the audit chain says {\"text\":\"62616420fffe2063616e617279\"}",
			NULL,
		};
		want_diffs(want);
	}
	ck_assert_int_eq(nf_registry_chain_restore(&rep, st), 0);
	ck_assert_int_eq(rep.n, 1);
	ck_assert_str_eq(rep.lines[0], "restored clf v1 from the audit chain: reason");
	nf_registry_chain_report_release(&rep);
	want_diffs(none);
	ck_assert_int_eq(nf_registry_get(&out, st, "clf", 1), 0);
	ck_assert_str_eq(out.reason, "bad \xff\xfe canary");
	nf_model_version_release(&out);

	/* rows that swapped ids (and production with them) are put back in one go */
	raw_exec("UPDATE model_versions SET id = 100 WHERE version = 1; UPDATE model_versions SET id = 1 WHERE version = 2;"
		 " UPDATE model_versions SET id = 2 WHERE version = 1");
	raw_exec("UPDATE model_versions SET status = 'archived' WHERE version = 1;"
		 " UPDATE model_versions SET status = 'production' WHERE version = 2");
	ck_assert_int_eq(nf_registry_chain_restore(&rep, st), 0);
	ck_assert_int_eq(rep.n, 2);
	ck_assert_str_eq(rep.lines[0], "restored clf v2 from the audit chain: id, status");
	ck_assert_str_eq(rep.lines[1], "restored clf v1 from the audit chain: id, status");
	nf_registry_chain_report_release(&rep);
	want_diffs(none);
	ck_assert_int_eq(production(), 1);
}
END_TEST

START_TEST(test_chain_fields_added_deleted)
{
	static const char *const edited[] = {
		"clf v1: artifact_sha256 is 'feed' in the registry, the audit chain says"
		" 'ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb'",
		"clf v1: metrics is '{\"auc\":0.99}' in the registry, the audit chain says '{}'",
		"clf v1: forced is 1 in the registry, the audit chain says 0",
		"clf v1: reason is 'x' in the registry, the audit chain says null",
		NULL,
	};
	static const char *const none[] = { NULL };
	nf_registry_chain_report rep;
	nf_model_version v;

	ck_assert_int_eq(reg(&v, NULL, "a", true, NULL, 1), 0);
	nf_model_version_release(&v);
	raw_exec("UPDATE model_versions SET artifact_sha256 = 'feed', metrics = '{\"auc\":0.99}', reason = 'x',"
		 " forced = 1");
	want_diffs(edited);
	/* the same text as a blob is not the same value */
	ck_assert_int_eq(nf_registry_chain_restore(&rep, st), 0);
	nf_registry_chain_report_release(&rep);
	raw_exec("UPDATE model_versions SET status = CAST(status AS BLOB)");
	{
		static const char *const blob[] = {
			"clf v1: status is {\"blob\":\"70726f64756374696f6e\"} in the registry, the audit chain says"
			" 'production'",
			NULL,
		};
		want_diffs(blob);
	}
	ck_assert_int_eq(nf_registry_chain_restore(&rep, st), 0);
	nf_registry_chain_report_release(&rep);

	/* renumbered: v1 is gone and v9 unknown; a row added by hand is unknown too */
	raw_exec("UPDATE model_versions SET version = 9");
	raw_exec("INSERT INTO model_versions (model, version, artifact_sha256, artifact_size, artifact_path, status,"
		 " created_ms) VALUES ('clf', 2, 'x', 1, 'registry/clf/2/m', 'candidate', 5)");
	{
		static const char *const want[] = {
			"clf v2: in the registry, but the audit chain never recorded it (added outside ntflow)",
			"clf v9: in the registry, but the audit chain never recorded it (added outside ntflow)",
			"clf v1: the audit chain records it, but the registry has no row for it (deleted outside ntflow)",
			NULL,
		};
		want_diffs(want);
	}
	ck_assert_int_eq(nf_registry_chain_restore(&rep, st), 0);
	ck_assert_int_eq(rep.n, 3);
	ck_assert_str_eq(rep.lines[0], "removed clf v2: the audit chain never recorded it");
	ck_assert_str_eq(rep.lines[1], "removed clf v9: the audit chain never recorded it");
	ck_assert_str_eq(rep.lines[2], "restored clf v1 from the audit chain: its row had been deleted");
	nf_registry_chain_report_release(&rep);
	want_diffs(none);
	ck_assert_int_eq(production(), 1);
}
END_TEST

/* An audit record of the old shape: what the previous release wrote. */
static void
legacy_record(const char *kind, const char *payload)
{
	cJSON *p = cJSON_Parse(payload);

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(nf_audit_append(st, 0, kind, p), 0);
	cJSON_Delete(p);
	ck_assert_int_eq(nf_store_flush(st), 0);
}

/* A workspace as the previous release left it: v1 registered before the audit chain
 * existed, v2 and v3 with records of the old shape (no rows). */
static void
legacy_workspace(void)
{
	nf_registry_chain_report rep;

	raw_exec("INSERT INTO model_versions (model, version, artifact_sha256, artifact_size, artifact_path, status,"
		 " metrics, created_ms) VALUES"
		 " ('clf', 1, 'aa', 1, 'registry/clf/1/m', 'archived', '{}', 1),"
		 " ('clf', 2, 'bb', 1, 'registry/clf/2/m', 'rolled-back', '{}', 2),"
		 " ('clf', 3, 'cc', 1, 'registry/clf/3/m', 'production', '{\"auc\":0.9}', 3)");
	raw_exec("UPDATE model_versions SET forced = 0, reason = 'bad', actor = 'alice' WHERE version = 3");
	legacy_record(NF_AUDIT_REGISTER, "{\"model\":\"clf\",\"version\":2,\"status\":\"production\","
		      "\"sha256\":\"bb\",\"archived\":1}");
	legacy_record(NF_AUDIT_REGISTER, "{\"model\":\"clf\",\"version\":3,\"status\":\"candidate\","
		      "\"sha256\":\"cc\",\"archived\":null}");
	legacy_record(NF_AUDIT_ROLLBACK, "{\"model\":\"clf\",\"version\":3,\"previous\":2,\"forced\":false,"
		      "\"reason\":\"bad\",\"actor\":\"alice\"}");
	ck_assert_int_eq(nf_registry_chain_compare(&rep, st, NULL), 0);
	ck_assert_int_eq(rep.n, 0);
	ck_assert_int_eq(rep.nversions, 3);
	ck_assert_int_eq(rep.nlegacy, 3);
	nf_registry_chain_report_release(&rep);
}

START_TEST(test_chain_legacy_baseline)
{
	static const char *const none[] = { NULL };
	nf_registry_chain_report rep;
	size_t nbase = 9;

	legacy_workspace();
	/* What the old records tell is checked already; the metrics they never told are not. */
	raw_exec("UPDATE model_versions SET artifact_sha256 = 'dd', metrics = '{\"auc\":0.99}' WHERE version = 3");
	{
		static const char *const want[] = {
			"clf v3: artifact_sha256 is 'dd' in the registry, the audit chain says 'cc'",
			NULL,
		};
		want_diffs(want);
	}
	ck_assert_int_eq(nf_registry_chain_check(st, &nbase), NF_ECORRUPT);
	ck_assert_int_eq(nbase, 0);
	raw_exec("UPDATE model_versions SET artifact_sha256 = 'cc' WHERE version = 3");

	/* The first check seals the rows as they are (the metrics edit with them: the price of
	 * an upgrade); from then on every column counts. */
	ck_assert_int_eq(nf_registry_chain_check(st, &nbase), 0);
	ck_assert_int_eq(nbase, 3);
	ck_assert_int_eq(nf_registry_chain_check(st, &nbase), 0);
	ck_assert_int_eq(nbase, 0);
	ck_assert_int_eq(nf_registry_chain_compare(&rep, st, NULL), 0);
	ck_assert_int_eq(rep.nlegacy, 0);
	nf_registry_chain_report_release(&rep);
	raw_exec("UPDATE model_versions SET metrics = '{\"auc\":0.5}' WHERE version = 3");
	{
		static const char *const want[] = {
			"clf v3: metrics is '{\"auc\":0.5}' in the registry, the audit chain says '{\"auc\":0.99}'",
			NULL,
		};
		want_diffs(want);
	}
	raw_exec("UPDATE model_versions SET metrics = '{\"auc\":0.99}' WHERE version = 3");
	want_diffs(none);
	/* and a row added now is an addition, not an old version */
	raw_exec("INSERT INTO model_versions (model, version, artifact_sha256, artifact_size, artifact_path, status,"
		 " created_ms) VALUES ('clf', 4, 'ee', 1, 'registry/clf/4/m', 'candidate', 4)");
	{
		static const char *const want[] = {
			"clf v4: in the registry, but the audit chain never recorded it (added outside ntflow)",
			NULL,
		};
		want_diffs(want);
	}
}
END_TEST

/* A restore in an older workspace puts back what the old records tell, and records every
 * row whole, as a baseline does. */
START_TEST(test_chain_legacy_restore)
{
	static const char *const none[] = { NULL };
	nf_registry_chain_report rep;

	legacy_workspace();
	raw_exec("UPDATE model_versions SET status = 'candidate' WHERE version = 3;"
		 " UPDATE model_versions SET status = 'production' WHERE version = 1");
	{
		static const char *const want[] = {
			"clf v1: status is 'production' in the registry, the audit chain says 'archived'",
			"clf v3: status is 'candidate' in the registry, the audit chain says 'production'",
			NULL,
		};
		want_diffs(want);
	}
	ck_assert_int_eq(nf_registry_chain_restore(&rep, st), 0);
	ck_assert_int_eq(rep.n, 2);
	ck_assert_str_eq(rep.lines[0], "restored clf v1 from the audit chain: status");
	ck_assert_str_eq(rep.lines[1], "restored clf v3 from the audit chain: status");
	nf_registry_chain_report_release(&rep);
	ck_assert_int_eq(production(), 3);
	want_diffs(none);
	ck_assert_int_eq(nf_registry_chain_compare(&rep, st, NULL), 0);
	ck_assert_int_eq(rep.nlegacy, 0);
	nf_registry_chain_report_release(&rep);
	raw_exec("UPDATE model_versions SET metrics = '{}' WHERE version = 3");
	{
		static const char *const want[] = {
			"clf v3: metrics is '{}' in the registry, the audit chain says '{\"auc\":0.9}'",
			NULL,
		};
		want_diffs(want);
	}
}
END_TEST

/* A record rewritten along with the row (its hash not recomputed) is no proof. */
START_TEST(test_chain_record_edited)
{
	nf_registry_chain_report rep;
	nf_model_version v;
	int64_t seq;
	char want[160];

	ck_assert_int_eq(reg(&v, NULL, "a", true, NULL, 1), 0);
	nf_model_version_release(&v);
	ck_assert_int_eq(reg(&v, NULL, "b", true, NULL, 2), 0);
	nf_model_version_release(&v);
	{
		sqlite3_stmt *q;

		ck_assert_int_eq(sqlite3_prepare_v2(st->db, "SELECT max(seq) FROM audit WHERE kind = 'register'",
						    -1, &q, NULL), SQLITE_OK);
		ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
		seq = sqlite3_column_int64(q, 0);
		sqlite3_finalize(q);
	}
	raw_exec("UPDATE audit SET payload = replace(payload, '\"status\":\"production\"', '\"status\":\"archivex\"')"
		 " WHERE kind = 'register' AND seq = (SELECT max(seq) FROM audit WHERE kind = 'register')");
	raw_exec("UPDATE model_versions SET status = 'archivex' WHERE version = 2");
	ck_assert_int_eq(nf_registry_chain_compare(&rep, st, NULL), 0);
	ck_assert_int_eq(rep.n, 1);
	snprintf(want, sizeof(want), "audit record %lld (register) was edited: its hash does not match its contents",
		 (long long)seq);
	ck_assert_str_eq(rep.lines[0], want);
	nf_registry_chain_report_release(&rep);
	ck_assert_int_eq(nf_registry_chain_check(st, NULL), NF_ECORRUPT);
	ck_assert_int_eq(nf_registry_chain_restore(&rep, st), NF_ECORRUPT);
	ck_assert_msg(strstr(nf_error_last(), "cannot restore the registry from its audit chain: audit record"), "%s",
		      nf_error_last());
	ck_assert_int_eq(rep.n, 0);
}
END_TEST

/* Where a recorded models folder is: beside the state folder in its project, even when
 * the state folder is a link to another disk; and a version recorded by an ntflow that took
 * the link's end for the project (relative to the link's end's parent) is found there. */
START_TEST(test_models_dir_linked_state)
{
	char cmd[512], *got, *want, *link;

	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && mkdir -p side/proj/models side/state disk/state && ln -s ../state side/proj/.ntflow &&"
		 " mkdir -p proj disk/models && ln -s ../disk/state proj/.ntflow", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	/* moved to another disk and linked back: the project's models, not the disk's, even
	 * while the project has none yet and the disk has a "models" of its own (outside the
	 * project: never taken for a folder recorded the old way) */
	link = xasprintf("%s/proj/.ntflow", tmpdir);
	want = xasprintf("%s/proj/models", tmpdir);
	got = nf_registry__models_dir(link, "models");
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
	free(link);
	/* recorded by an earlier ntflow, relative to the link's end's parent (side/) */
	link = xasprintf("%s/side/proj/.ntflow", tmpdir);
	want = xasprintf("%s/side/proj/models", tmpdir);
	got = nf_registry__models_dir(link, "proj/models");
	ck_assert_str_eq(got, want);
	free(got);
	got = nf_registry__models_dir(link, "models");
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
	free(link);
}
END_TEST

static Suite *
registry_suite(void)
{
	Suite *s = suite_create("registry");
	TCase *tc = tcase_create("why");

	tcase_add_test(tc, test_why_texts);
	tcase_add_test(tc, test_human_events);
	suite_add_tcase(s, tc);
	tc = tcase_create("decisions");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_rollback_stands);
	tcase_add_test(tc, test_forced_promotion_stands_until_new_bytes);
	tcase_add_test(tc, test_hold_leaves_a_candidate);
	tcase_add_test(tc, test_reconcile);
	suite_add_tcase(s, tc);
	tc = tcase_create("chain");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_chain_swap_refused_and_restored);
	tcase_add_test(tc, test_chain_fields_added_deleted);
	tcase_add_test(tc, test_chain_legacy_baseline);
	tcase_add_test(tc, test_chain_legacy_restore);
	tcase_add_test(tc, test_chain_record_edited);
	tcase_add_test(tc, test_models_dir_linked_state);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(registry_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
