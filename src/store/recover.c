/* recover.c: crash recovery on open. A run still "running" whose ntflow process is gone
 * (or whose pid now belongs to another process) is marked crashed, its nodes' states kept
 * (or, when it had decided its outcome before it died, nf_store_run_ending, given that),
 * and any process group of its attempts still alive is killed so no stage outlives it:
 * those the database knows and those only the run's procs record names (procs.c), then
 * the processes that left their group but still carry the run's environment mark. */
#include "config.h"
#include "ntflow/store.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store-internal.h"

int64_t
nf_store__proc_start(pid_t pid)
{
	return nf_proc_start_time(pid);
}

const char *
nf_store__boot_id(void)
{
	static char id[64];
	FILE *f;

	if (id[0])
		return id;
	/* A test's reboot: a scheduler and its runs started under another boot id. */
	if (nf_test_hook_value("NTFLOW_TEST_BOOT_ID")) {
		snprintf(id, sizeof(id), "%s", nf_test_hook_value("NTFLOW_TEST_BOOT_ID"));
		return id;
	}
	if ((f = fopen("/proc/sys/kernel/random/boot_id", "re"))) {
		if (fgets(id, sizeof(id), f))
			id[strcspn(id, "\n")] = '\0';
		fclose(f);
	}
	if (!id[0])
		strcpy(id, "unknown");
	return id;
}

const char *
nf_store__host(void)
{
	static char host[256];

	if (!host[0] && (gethostname(host, sizeof(host) - 1) < 0 || !host[0]))
		strcpy(host, "unknown");
	return host;
}

typedef struct dead_run {
	int64_t id;
	pid_t pid;
	int64_t pid_start;
	bool same_boot;
	char ending[16];             /* the status it had decided before it died, or "" */
	char host[64];               /* another host's run: its host (else "") */
} dead_run;

bool
nf_store__run_alive(pid_t pid, int64_t pid_start, const char *boot_id)
{
	int64_t now_start;

	if (strcmp(boot_id, nf_store__boot_id()) != 0 || pid <= 0)
		return false;
	if ((kill(pid, 0) < 0 && errno != EPERM) || nf_proc_zombie(pid))
		return false;
	now_start = nf_store__proc_start(pid);
	return pid_start == 0 || now_start == 0 || now_start == pid_start;
}

/* Kills one recorded group of a crashed run if it is still alive and still the recorded
 * one: a pgid cannot be taken by a new group while its old group lives, so a group whose
 * leader is gone is ours; a live leader must have started when the recorded one did (or,
 * with no start recorded, after the run's ntflow did). */
static void
kill_group(nf_store *st, const dead_run *run, pid_t pgid, int64_t recorded)
{
	int64_t leader;

	if (pgid <= 1 || kill(-pgid, 0) < 0)
		return;
	leader = nf_store__proc_start(pgid);
	if (leader && recorded && leader != recorded)
		return;
	if (leader && !recorded && run->pid_start && leader < run->pid_start)
		return;
	if (kill(-pgid, SIGKILL) == 0)
		nf_store__recovered_add(st, "run %lld had crashed: killed leftover process group %ld",
					(long long)run->id, (long)pgid);
}

static int
cmp_rec(const void *a, const void *b)
{
	const nf_proc_rec *x = a, *y = b;

	if (x->pgid != y->pgid)
		return x->pgid < y->pgid ? -1 : 1;
	return (x->start < y->start) - (x->start > y->start);   /* a recorded start first */
}

/* Kills what a crashed run left running: the process groups of its attempts, as the
 * database and the run's procs record (written before each command ran) know them, then
 * any process still carrying the run's mark in its environment (one that left its
 * stage's group). The record is removed afterwards. */
static int
kill_leftovers(nf_store *st, const dead_run *run)
{
	static const char sql[] =
		"SELECT a.pgid, a.pgid_start FROM attempts a JOIN nodes n ON n.id = a.node_id"
		" WHERE n.run_id = ? AND a.state = 'running' AND a.pgid > 0";
	sqlite3_stmt *q = NULL;
	nf_proc_rec *recs = NULL;
	size_t n = 0, cap = 0, k;
	pid_t escaped[8];
	int rc, err = 0;

	(void)nf_store__nodes_sync(st);   /* it reads the state of nodes: see the batch's pending writes */
	if ((rc = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL)) != SQLITE_OK) {
		err = nf_store__error(st, rc, "cannot recover crashed runs");
		goto done;
	}
	sqlite3_bind_int64(q, 1, run->id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		recs = xgrow(recs, sizeof(*recs), n + 1, &cap);
		recs[n++] = (nf_proc_rec){ (pid_t)sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 1) };
	}
	if (rc != SQLITE_DONE) {
		err = nf_store__error(st, rc, "cannot recover crashed runs");
		goto done;
	}
	nf_store__procs_read(st, run->id, &recs, &n, &cap);
	if (n > 1)
		qsort(recs, n, sizeof(*recs), cmp_rec);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || recs[i].pgid != recs[i - 1].pgid)
			kill_group(st, run, recs[i].pgid, recs[i].start);
	k = nf_store_procs_kill_escaped(st, run->id, run->pid, run->pid_start, escaped, NF_ARRAY_SIZE(escaped));
	for (size_t i = 0; i < k && i < NF_ARRAY_SIZE(escaped); i++)
		nf_store__recovered_add(st, "run %lld had crashed: killed process %ld, which had left its"
					" stage's process group", (long long)run->id, (long)escaped[i]);
	nf_store_procs_remove(st, run->id);
done:
	sqlite3_finalize(q);
	free(recs);
	return err;
}

/* The status a run recorded as decided (nf_store_run_ending) into buf, when it is one a
 * run ends with; else "". */
static void
ending_of(char *buf, size_t size, const char *ending)
{
	static const char *const ends[] = { "succeeded", "gated", "failed", "cancelled" };

	buf[0] = '\0';
	for (size_t i = 0; ending && i < NF_ARRAY_SIZE(ends); i++)
		if (strcmp(ending, ends[i]) == 0)
			snprintf(buf, size, "%s", ends[i]);
}

/* The runs left running by an ntflow process that is gone (*dead, *ndead); an SQLite code.
 * One of this host is gone when its pid no longer runs the process that began it. Another
 * host's pid says nothing here: its run is gone when no other process holds the workspace's
 * lock (this one may: `ntflow run` recovers after taking it), which a run takes before its
 * row is written and holds to its end (the lock excludes
 * writers across the containers of one kernel and over NFS; where it does not, two runs
 * could not be kept apart anyway). A container re-created under another name otherwise
 * left its killed run "running" for ever, and the scheduler waited on it. */
static int
find_dead(nf_store *st, dead_run **out, size_t *ndead)
{
	static const char find_sql[] =
		"SELECT id, pid, pid_start, boot_id, host, ending FROM runs WHERE status = 'running'";
	sqlite3_stmt *q = NULL;
	dead_run *dead = NULL;
	size_t cap = 0;
	int rc, free_ws = -1;   /* 1: no other process holds the workspace's lock; 0: one does, or no telling; -1: not asked */

	*ndead = 0;
	if ((rc = sqlite3_prepare_v2(st->db, find_sql, -1, &q, NULL)) != SQLITE_OK)
		goto done;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *boot = (const char *)sqlite3_column_text(q, 3);
		const char *host = (const char *)sqlite3_column_text(q, 4);
		pid_t pid = (pid_t)sqlite3_column_int64(q, 1);
		int64_t start = sqlite3_column_int64(q, 2);
		bool foreign = host && *host && strcmp(host, nf_store__host()) != 0;

		if (foreign) {
			if (free_ws < 0)
				free_ws = nf_store__lock_others(st) == 0;
			if (!free_ws)
				continue;
		} else if (nf_store__run_alive(pid, start, boot ? boot : "")) {
			continue;
		}
		dead = xgrow(dead, sizeof(*dead), *ndead + 1, &cap);
		dead[(*ndead)++] = (dead_run){
			.id = sqlite3_column_int64(q, 0),
			.pid = pid,
			.pid_start = start,
			/* another host's pids are not this one's to kill, even under one kernel */
			.same_boot = !foreign && boot && strcmp(boot, nf_store__boot_id()) == 0,
		};
		if (foreign)
			snprintf(dead[*ndead - 1].host, sizeof(dead[*ndead - 1].host), "%s", host);
		ending_of(dead[*ndead - 1].ending, sizeof(dead[*ndead - 1].ending),
			  (const char *)sqlite3_column_text(q, 5));
	}
	if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
done:
	sqlite3_finalize(q);
	*out = dead;
	return rc;
}

int
nf_store__recovery_needed(nf_store *st, bool *needed)
{
	dead_run *dead = NULL;
	size_t ndead = 0;
	int rc = find_dead(st, &dead, &ndead);

	free(dead);
	*needed = ndead > 0;
	return rc == SQLITE_OK ? 0 : nf_store__error(st, rc, "cannot read the runs");
}

/* The scheduler decision whose child was run id (its pipeline, pid and interval start),
 * still waiting for its end, marked ended unreaped (exit_status -2). The step's result. */
static int
settle_decision(nf_store *st, int64_t id)
{
	sqlite3_stmt *q = NULL;
	int rc;

	rc = sqlite3_prepare_v2(st->db,
				"UPDATE schedule_events SET exit_status = -2 WHERE exit_status = -1 AND decision <> 'alert'"
				" AND (pipeline, pid) = (SELECT pipeline, pid FROM runs WHERE id = ?1)"
				" AND strftime('%Y-%m-%dT%H:%M:%SZ', interval_start, 'unixepoch') ="
				" (SELECT interval_start FROM runs WHERE id = ?1 AND trigger = 'schedule')",
				-1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, id);
		rc = sqlite3_step(q);
	}
	sqlite3_finalize(q);
	return rc;
}

int
nf_store__recover(nf_store *st)
{
	static const char mark_sql[] =
		"UPDATE runs SET status = ?3, finished_ms = ?1, " NF_SQL_RUN_SUMMARY
		" WHERE id = ?2 AND status = 'running'";
	sqlite3_stmt *q = NULL;
	dead_run *dead = NULL;
	size_t ndead = 0;
	int rc, err = 0;
	bool in_tx = false;

	/* Reading first keeps the common case (nothing to recover) free of write locks, so
	 * `ntflow runs` next to a live `ntflow run` never waits. */
	if ((rc = find_dead(st, &dead, &ndead)) != SQLITE_OK)
		goto fail;
	if (ndead == 0)
		goto done;

	if ((rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK)
		goto fail;
	in_tx = true;
	if ((rc = sqlite3_prepare_v2(st->db, mark_sql, -1, &q, NULL)) != SQLITE_OK)
		goto fail;
	for (size_t i = 0; i < ndead; i++) {
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, nf_now_realtime_ms());
		sqlite3_bind_int64(q, 2, dead[i].id);
		sqlite3_bind_text(q, 3, dead[i].ending[0] ? dead[i].ending : "crashed", -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(q)) != SQLITE_DONE)
			goto fail;
		if (sqlite3_changes(st->db) == 0)
			continue;   /* another ntflow recovered it meanwhile */
		/* Every stage had ended and the outcome was decided: the crash came in the run's
		 * last bookkeeping (its models, its record), so it keeps that outcome; a model it
		 * put in production is the outcome's, not a crashed run's. */
		if (dead[i].ending[0])
			nf_store__recovered_add(st, "run %lld had crashed after it %s (its ntflow process is gone"
						" while it recorded its end): recorded as %s; what it had left to do"
						" (registering models, its hooks) may not have happened", (long long)dead[i].id,
						dead[i].ending, dead[i].ending);
		else if (dead[i].host[0])
			nf_store__recovered_add(st, "run %lld had crashed: it ran on host %s, and no run holds the"
						" workspace's lock any more", (long long)dead[i].id, dead[i].host);
		else
			nf_store__recovered_add(st, "run %lld had crashed: its ntflow process is gone",
						(long long)dead[i].id);
		/* Dead in the boot it ran in: the machine stayed up, so the scheduler's decision
		 * that started it (if one did) is settled, never refired by a later boot. */
		if (dead[i].same_boot && (rc = settle_decision(st, dead[i].id)) != SQLITE_DONE)
			goto fail;
		/* After a reboot every process of the old boot is gone and pids mean nothing. */
		if (dead[i].same_boot && (err = kill_leftovers(st, &dead[i])) < 0)
			goto done;
		if (!dead[i].same_boot)
			nf_store_procs_remove(st, dead[i].id);
	}
	sqlite3_finalize(q);
	q = NULL;
	if ((rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK)
		goto fail;
	in_tx = false;
	goto done;
fail:
	err = nf_store__error(st, rc, "cannot recover crashed runs");
done:
	sqlite3_finalize(q);
	if (in_tx)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	free(dead);
	return err;
}
