/* settled.c: when a file's stat data can be trusted to show any later change of its
 * content ("racy git"), so that a hash taken now may be reused while the stat holds. */
#include "config.h"
#include "cache-internal.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

/* The racy margins (nf_racy_ns): well above the kernel's clock tick (at most 10 ms), which
 * is the granule of a fine filesystem's times; and a coarse filesystem's 1 or 2 s. */
#define NF_RACY_FINE_NS (100LL * 1000000LL)
#define NF_RACY_COARSE_NS (2LL * 1000000000LL)

/* Filesystems on local disks or memory (their magic numbers, linux/magic.h): the kernel
 * that writes a file stamps it from the clock this process reads. A network filesystem's
 * server stamps from its own, which may run behind. */
static const unsigned long local_fs[] = {
	0xEF53,        /* ext2, ext3, ext4 */
	0x58465342,    /* xfs */
	0x9123683E,    /* btrfs */
	0x01021994,    /* tmpfs */
	0xF2F52010,    /* f2fs */
	0x794C7630,    /* overlayfs (its upper layer's times) */
};

/* A time with digits below the millisecond comes from a filesystem that keeps fine times
 * (ext4, xfs, btrfs, tmpfs); one without is taken as coarse (FAT keeps 2 s, ext3 and some
 * network filesystems 1 s). One fine time in a thousand has no such digits: it gets the
 * coarse margin, which costs a re-hash, never a wrong answer. */
int64_t
nf_racy_ns(const struct stat *st)
{
	return st->st_mtim.tv_nsec % 1000000 != 0 ? NF_RACY_FINE_NS : NF_RACY_COARSE_NS;
}

int64_t
nf_ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

bool
nf_same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size && a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
	       nf_ts_ns(&a->st_mtim) == nf_ts_ns(&b->st_mtim) && nf_ts_ns(&a->st_ctim) == nf_ts_ns(&b->st_ctim);
}

int64_t
nf_coarse_now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME_COARSE, &ts) < 0)
		return 0;   /* nothing is settled by the tick rule then, only by the margin */
	return nf_ts_ns(&ts);
}

static bool
local_type(unsigned long type)
{
	for (size_t i = 0; i < sizeof(local_fs) / sizeof(local_fs[0]); i++)
		if (type == local_fs[i])
			return true;
	return false;
}

bool
nf_local_fs_path(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && local_type((unsigned long)sfs.f_type);
}

bool
nf_local_clock_fs(int fd)
{
	struct statfs sfs;

	/* Asked each time, not remembered per device: a scheduler that runs for months may see
	 * a device number come back as another filesystem, and one fstatfs is little next to
	 * the read of the file it follows. */
	return fstatfs(fd, &sfs) == 0 && local_type((unsigned long)sfs.f_type);
}

bool
nf_stat_settled(const struct stat *st, bool local_clock, int64_t began_ns, int64_t now_ns)
{
	int64_t m = nf_ts_ns(&st->st_mtim), c = nf_ts_ns(&st->st_ctim);

	/* A write stamps mtime and ctime with one time: a file whose two times differ (its mtime
	 * set back, its mode changed since) changes its mtime at the next write, whenever. */
	if (m != c)
		return true;
	/* A fine filesystem stamped by this machine's kernel: a write after began_ns gets a time
	 * at or past the clock tick current then (the coarse clock the kernel stamps with), so
	 * once that tick is past the last change, any later write changes the stat. Else, the
	 * margin after the last change. */
	if (local_clock && nf_racy_ns(st) == NF_RACY_FINE_NS)
		return m < began_ns;
	return m + nf_racy_ns(st) < now_ns;
}
