/* space.c: a run on a disk that fills up. The run's final state must still be written, so
 * (1) the run keeps a reserve, STATE_DIR/reserve, a file of NF_RUN_RESERVE bytes taken when
 * it begins and removed before its final state is written, so that the database then has
 * room however full the disk became; (2) no stage starts while less than NF_RUN_MIN_FREE is
 * free on the state directory's file system (the stage fails at once, saying so, and the run
 * stops as after any failure; below NF_RUN_DEFER_FREE no stage is deferred, so that each
 * start follows its own check); (3) an attempt that ends with its file systems full (less than
 * NF_RUN_FULL_BELOW free where its log and outputs are) may have lost writes without knowing:
 * one that exited 0 fails, naming the file system. */
#include "config.h"
#include "run-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
nf_run__reserve_take(run_ctx *ctx)
{
	static const char zeros[64 * 1024];
	char *path = xasprintf("%s/reserve", ctx->state_dir);
	int fd, rc, err = 0;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		err = nf_error_set_io(NF_EIO, ctx->state_dir, "cannot create '%s'", path);
		goto done;
	}
	/* The file system's own fallocate takes the room at once; nothing to sync: the reserve
	 * only has to hold it while this run lasts, and a crash leaves it to the next run's
	 * O_TRUNC. Not posix_fallocate, which writes blocks itself where there is none and
	 * says nothing of it. */
	rc = fallocate(fd, 0, 0, NF_RUN_RESERVE) == 0 ? 0 : errno;
	if (rc == EOPNOTSUPP || rc == ENOSYS || rc == EINVAL) {
		/* No fallocate here: zeros take the room as well, once written out (a file
		 * system that allocates at writeback would otherwise only promise it). */
		rc = 0;
		for (off_t done = 0; done < NF_RUN_RESERVE && !rc; done += (off_t)sizeof(zeros))
			if (write(fd, zeros, sizeof(zeros)) != (ssize_t)sizeof(zeros))
				rc = errno ? errno : ENOSPC;
		if (!rc && fsync(fd) < 0)
			rc = errno;
	}
	close(fd);
	if (rc) {
		char size[32];

		unlink(path);
		errno = rc;
		nf_format_bytes(size, sizeof(size), NF_RUN_RESERVE);
		err = nf_error_set_io(NF_EIO, ctx->state_dir, "cannot keep %s in reserve for the run's record in '%s'",
				      size, path);
		goto done;
	}
	ctx->reserve = path;
	path = NULL;
done:
	free(path);
	return err;
}

void
nf_run__reserve_release(run_ctx *ctx)
{
	if (!ctx->reserve)
		return;
	unlink(ctx->reserve);
	free(ctx->reserve);
	ctx->reserve = NULL;
}

/* Cache objects written so far: a copy of a stage's outputs takes room a reading taken
 * before it does not show. */
static uint64_t
objects_written(const run_ctx *ctx)
{
	nf_objstore_stats stats = { 0 };

	if (ctx->cache.objs)
		nf_objstore_get_stats(ctx->cache.objs, &stats);
	return stats.written;
}

/* The free bytes where the state directory is: read again unless recent allows a reading
 * younger than NF_RUN_SPACE_FRESH_MS, taken before no object the cache wrote since. false
 * when statfs failed. */
static bool
state_avail(run_ctx *ctx, bool recent, uint64_t *avail)
{
	int64_t now = nf_now_monotonic_ms();
	uint64_t size, objs = objects_written(ctx);

	if (recent && ctx->state_avail_ms > 0 && now - ctx->state_avail_ms <= NF_RUN_SPACE_FRESH_MS &&
	    objs == ctx->state_avail_objs) {
		*avail = ctx->state_avail;
		return true;
	}
	if (nf_fs_space(ctx->state_dir, avail, &size) < 0) {
		ctx->state_avail_ms = 0;
		return false;
	}
	ctx->state_avail = *avail;
	ctx->state_avail_ms = now;
	ctx->state_avail_objs = objs;
	return true;
}

int
nf_run__space_check(run_ctx *ctx)
{
	uint64_t avail;
	char need[32], *fs;
	int err;

	/* One statfs per stage, not two: a stage starts as the one before it ends (unless the
	 * cache stored new copies of that one's outputs since). */
	if (!ctx->state_dir || !state_avail(ctx, true, &avail) || avail >= NF_RUN_MIN_FREE)
		return 0;
	nf_format_bytes(need, sizeof(need), NF_RUN_MIN_FREE);
	fs = nf_fs_describe(ctx->state_dir);
	err = nf_error_set(NF_EIO, "not started: %s; no stage starts with less than %s free there, so that the "
			   "run can still be recorded", fs, need);
	free(fs);
	return err;
}

bool
nf_run__space_ample(run_ctx *ctx)
{
	uint64_t avail;

	return !ctx->state_dir || !state_avail(ctx, true, &avail) || avail >= NF_RUN_DEFER_FREE;
}

/* The description of path's file system when it is (about) full, else NULL. */
static char *
full_fs(const char *path)
{
	uint64_t avail, size;

	if (!path || nf_fs_space(path, &avail, &size) < 0 || avail >= NF_RUN_FULL_BELOW)
		return NULL;
	return nf_fs_describe(path);
}

char *
nf_run__full_after_attempt(run_ctx *ctx)
{
	uint64_t avail;
	char *fs = ctx->state_dir && state_avail(ctx, false, &avail) && avail < NF_RUN_FULL_BELOW
		? nf_fs_describe(ctx->state_dir) : NULL;
	struct stat a, b;

	/* The outputs' file system, when it is another one (found once per run). */
	if (!fs && ctx->root && ctx->root_fs == 0)
		ctx->root_fs = !ctx->state_dir || stat(ctx->root, &a) < 0 || stat(ctx->state_dir, &b) < 0 ||
			       a.st_dev != b.st_dev ? 2 : 1;
	if (!fs && ctx->root && ctx->root_fs == 2)
		fs = full_fs(ctx->root);
	return fs;
}
