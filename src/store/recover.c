/* recover.c: crash recovery on open. A run still "running" whose ntflow process is gone
 * (or whose pid now belongs to another process) is marked crashed, its nodes' states kept,
 * and any process group of its attempts still alive is killed so no stage outlives it. */
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
	char path[64], buf[1024], *p, *end;
	FILE *f;
	size_t len;
	int field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (!(f = fopen(path, "re")))
		return 0;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	/* The command name (field 2) may hold spaces and parentheses: count from the last ')'. */
	if (!(p = strrchr(buf, ')')))
		return 0;
	p++;   /* at the space before field 3 */
	for (field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return 0;
	errno = 0;
	long long v = strtoll(p + 1, &end, 10);
	return errno || end == p + 1 ? 0 : (int64_t)v;
}

const char *
nf_store__boot_id(void)
{
	static char id[64];
	FILE *f;

	if (id[0])
		return id;
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
	int64_t pid_start;
	bool same_boot;
} dead_run;

/* Whether the ntflow process that wrote a running run is still that process. */
static bool
run_alive(pid_t pid, int64_t pid_start, const char *boot_id)
{
	int64_t now_start;

	if (strcmp(boot_id, nf_store__boot_id()) != 0 || pid <= 0)
		return false;
	if (kill(pid, 0) < 0 && errno != EPERM)
		return false;
	now_start = nf_store__proc_start(pid);
	return pid_start == 0 || now_start == 0 || now_start == pid_start;
}

/* Kills the process groups of a crashed run's attempts that are still alive. A group is
 * only ours when its leader is gone (a pgid cannot be reused while its group lives) or
 * when the leader started when the recorded one did. */
static int
kill_leftovers(nf_store *st, const dead_run *run)
{
	static const char sql[] =
		"SELECT a.pgid, a.pgid_start FROM attempts a JOIN nodes n ON n.id = a.node_id"
		" WHERE n.run_id = ? AND a.state = 'running' AND a.pgid > 0";
	sqlite3_stmt *q = NULL;
	int rc, err = 0;

	if ((rc = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL)) != SQLITE_OK) {
		err = nf_store__error(st, rc, "cannot recover crashed runs");
		goto done;
	}
	sqlite3_bind_int64(q, 1, run->id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		pid_t pgid = (pid_t)sqlite3_column_int64(q, 0);
		int64_t recorded = sqlite3_column_int64(q, 1);
		int64_t leader;

		if (kill(-pgid, 0) < 0)
			continue;
		leader = nf_store__proc_start(pgid);
		if (leader && recorded && leader != recorded)
			continue;
		if (leader && !recorded && run->pid_start && leader < run->pid_start)
			continue;
		if (kill(-pgid, SIGKILL) == 0)
			nf_store__recovered_add(st, "run %lld had crashed: killed leftover process group %ld",
						(long long)run->id, (long)pgid);
	}
	if (rc != SQLITE_DONE)
		err = nf_store__error(st, rc, "cannot recover crashed runs");
done:
	sqlite3_finalize(q);
	return err;
}

int
nf_store__recover(nf_store *st)
{
	static const char find_sql[] =
		"SELECT id, pid, pid_start, boot_id, host FROM runs WHERE status = 'running'";
	static const char mark_sql[] =
		"UPDATE runs SET status = 'crashed', finished_ms = ? WHERE id = ? AND status = 'running'";
	sqlite3_stmt *q = NULL;
	dead_run *dead = NULL;
	size_t ndead = 0, cap = 0;
	int rc, err = 0;
	bool in_tx = false;

	/* Reading first keeps the common case (nothing to recover) free of write locks, so
	 * `ntflow runs` next to a live `ntflow run` never waits. */
	if ((rc = sqlite3_prepare_v2(st->db, find_sql, -1, &q, NULL)) != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *boot = (const char *)sqlite3_column_text(q, 3);
		const char *host = (const char *)sqlite3_column_text(q, 4);
		pid_t pid = (pid_t)sqlite3_column_int64(q, 1);
		int64_t start = sqlite3_column_int64(q, 2);

		/* Pids of another machine say nothing here: leave its runs to it. */
		if (host && *host && strcmp(host, nf_store__host()) != 0)
			continue;
		if (run_alive(pid, start, boot ? boot : ""))
			continue;
		dead = xgrow(dead, sizeof(*dead), ndead + 1, &cap);
		dead[ndead++] = (dead_run){
			.id = sqlite3_column_int64(q, 0),
			.pid_start = start,
			.same_boot = boot && strcmp(boot, nf_store__boot_id()) == 0,
		};
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(q);
	q = NULL;
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
		if ((rc = sqlite3_step(q)) != SQLITE_DONE)
			goto fail;
		if (sqlite3_changes(st->db) == 0)
			continue;   /* another ntflow recovered it meanwhile */
		nf_store__recovered_add(st, "run %lld had crashed: its ntflow process is gone",
					(long long)dead[i].id);
		/* After a reboot every process of the old boot is gone and pids mean nothing. */
		if (dead[i].same_boot && (err = kill_leftovers(st, &dead[i])) < 0)
			goto done;
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
