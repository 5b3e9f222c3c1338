/* procs.c: the record of the process groups a run started, procs/RUN beside the state
 * database: one line "PGID START" per attempt, written by the stage's own process after it
 * made its process group and before it runs the command (runner-local.c), so no process of
 * a run can exist that the record does not name. The database learns the same group up to
 * a batch later; a crash in between used to leave the group out of recovery's reach.
 *
 * The line is written, not fsync'd: the record is for a crash of ntflow, whose writes the
 * kernel keeps; a crash of the machine leaves no process to kill (recovery only kills on
 * the boot that wrote it). Recovery reads the file of each crashed run, kills the groups
 * still alive that are the recorded ones, and removes it; a run that ends removes its own. */
#include "config.h"
#include "ntflow/store.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store-internal.h"

/* The folder of the database file ("." for a bare name); NULL for an in-memory database. */
static char *
state_dir_of(const nf_store *st)
{
	const char *slash;

	if (!st->path || strcmp(st->path, ":memory:") == 0)
		return NULL;
	slash = strrchr(st->path, '/');
	return slash ? xstrndup(st->path, (size_t)(slash - st->path)) : xstrdup(".");
}

char *
nf_store_procs_path(const nf_store *st, int64_t run_id)
{
	char *dir = state_dir_of(st), *path;

	if (!dir)
		return NULL;
	path = xasprintf("%s/procs/%lld", dir, (long long)run_id);
	free(dir);
	return path;
}

int
nf_store_procs_open(int *out, const nf_store *st, int64_t run_id)
{
	char *path = nf_store_procs_path(st, run_id), *slash;
	int fd, err = 0;

	*out = -1;
	if (!path)
		return 0;
	slash = strrchr(path, '/');
	*slash = '\0';
	err = nf_mkdir_p(path, 0700);
	*slash = '/';
	if (err < 0)
		goto done;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = nf_error_set_errno(NF_EIO, "cannot open '%s'", path);
		goto done;
	}
	/* Keep clear of 0-2: a stage's dup2 onto its stdio must never land on it. */
	if (fd <= 2) {
		int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);

		close(fd);
		if ((fd = moved) < 0) {
			err = nf_error_set_errno(NF_EIO, "cannot open '%s'", path);
			goto done;
		}
	}
	*out = fd;
done:
	free(path);
	return err;
}

void
nf_store_procs_remove(const nf_store *st, int64_t run_id)
{
	char *path = nf_store_procs_path(st, run_id);

	if (path)
		(void)unlink(path);
	free(path);
}

void
nf_store__procs_read(nf_store *st, int64_t run_id, nf_proc_rec **recs, size_t *n, size_t *cap)
{
	char *path = nf_store_procs_path(st, run_id), line[128];
	FILE *f;

	if (!path)
		return;
	if ((f = fopen(path, "re"))) {
		while (fgets(line, sizeof(line), f)) {
			long pgid = 0;
			long long start = 0;

			/* A torn last line (the write of a crashing ntflow) reads as no record. */
			if (!strchr(line, '\n') || sscanf(line, "%ld %lld", &pgid, &start) != 2 || pgid <= 1)
				continue;
			*recs = xgrow(*recs, sizeof(**recs), *n + 1, cap);
			(*recs)[(*n)++] = (nf_proc_rec){ (pid_t)pgid, start };
		}
		fclose(f);
	}
	free(path);
}

void
nf_store_runner_mark(char *out, size_t size, pid_t pid, int64_t start)
{
	snprintf(out, size, "NTFLOW_RUNNER=%ld.%lld", (long)pid, (long long)start);
}

static int
cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

size_t
nf_store_procs_kill_escaped(nf_store *st, int64_t run_id, pid_t pid, int64_t start, pid_t *killed, size_t max)
{
	nf_proc_rec *recs = NULL;
	size_t n = 0, cap = 0, k;
	pid_t *groups;
	char mark[64];

	if (pid <= 0 || !start)
		return 0;
	nf_store__procs_read(st, run_id, &recs, &n, &cap);
	groups = xcalloc(n + 1, sizeof(*groups));
	for (size_t i = 0; i < n; i++)
		groups[i] = recs[i].pgid;
	qsort(groups, n, sizeof(*groups), cmp_pid);
	nf_store_runner_mark(mark, sizeof(mark), pid, start);
	k = nf_proc_kill_marked(mark, SIGKILL, groups, n, killed, max);
	free(groups);
	free(recs);
	return k;
}
