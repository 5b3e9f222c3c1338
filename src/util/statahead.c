/* statahead.c: the lstat of many paths beneath a root taken ahead by a second thread, as
 * git's preload-index does for the index: a fully cached rerun looks at every output, and
 * on a machine with a core to spare those 10 000 fstatat calls (a tenth of the rerun) are
 * made beside the cache lookups instead of between them.
 *
 * The thread touches nothing but its own copy of the paths, a descriptor of its own on the
 * root and its slots: no allocation after the start, no error message (nf_error is one per
 * process), no signal (all blocked). Each path is reached the way nf_path_parent_at's walk
 * reaches it, one openat(O_NOFOLLOW | O_DIRECTORY) per folder from the root, so a link on
 * the way gives no stat; the caller then looks itself, with its own checks and words.
 *
 * The slots are a ring of NF_STATAHEAD_WINDOW, not one per path: 100 000 outputs held 6 MB
 * of stats, most of them long used or not needed yet. Path i goes to slot i mod the window,
 * taken only while i is less than half a window past the furthest path the caller asked
 * for, and the caller takes a slot only for a path at most half a window behind that: so
 * the thread never writes a slot the caller may still read (the slot's last path is more
 * than half a window behind, and the furthest only grows). The furthest is published with
 * a release store and read with an acquire load, so the caller's reads of a slot come
 * before the thread's next write of it; a slot's path number is published the same way
 * after its stat. The caller never waits: a path the thread has not come to, or has left
 * behind, is the caller's to look at. What a slot holds is as old as the moment the thread
 * took it: the caller uses it only while nothing can have changed the tree since the start
 * (a run until it restores, runs or moves anything aside), and frees this before. */
#include "config.h"
#include "ntflow/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a stat says that a caller compares (nf_same_stat, the mode and the racy rules), in
 * 64 bytes where a struct stat takes 144. */
typedef struct slot {
	atomic_size_t taken;         /* 1 + the path it holds; 0: none yet */
	bool found;                  /* a file or folder was there */
	mode_t mode;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim, ctim;
} slot;

struct nf_statahead {
	/* The paths front-coded, in order: for each, a byte of how many leading bytes it shares
	 * with the one before (0 every RESTART paths, at most 255), then the rest and its NUL.
	 * Outputs of one folder share most of their path: 100 000 took 1.6 MB as whole strings
	 * and their offsets, 0.6 MB so. */
	char *paths;
	uint32_t *restart;          /* where path k * RESTART starts in paths */
	/* The caller's last path decoded (path_at): asked in order, the next is one step on. */
	char dec[PATH_MAX];
	size_t dec_i;               /* 1 + its index; 0: none */
	const char *dec_next;       /* where the path after it starts */
	size_t n;
	slot *slots;                /* NF_STATAHEAD_WINDOW */
	atomic_size_t asked;        /* 1 + the furthest path the caller asked for */
	size_t asked_own;           /* the same, the caller's copy */
	atomic_size_t done;         /* paths taken so far */
	int rootfd;                 /* a dup of the caller's */
	atomic_bool stop;
	pthread_t thread;
};

#define RESTART 16

/* Path i decoded (the caller's: into s->dec), one step on from the last when it comes next
 * in its run of RESTART, else from the restart before it. */
static const char *
path_at(nf_statahead *s, size_t i)
{
	bool next = s->dec_i == i && i % RESTART != 0;
	const char *p = next ? s->dec_next : s->paths + s->restart[i / RESTART];

	for (size_t k = next ? i : i - i % RESTART; ; k++) {
		size_t shared = (unsigned char)*p++, len = strlen(p);

		memcpy(s->dec + shared, p, len + 1);
		p += len + 1;
		if (k == i)
			break;
	}
	s->dec_i = i + 1;
	s->dec_next = p;
	return s->dec;
}

/* The folder of path's parent (its first plen bytes), walked from the root one real folder
 * at a time; -1 when a part is missing, not a folder or a link. The folder of the path
 * before stays open in *cur (its path in cur_path, *cur_len long) and is reused when it is
 * the same: the paths of one folder come together. */
static int
parent_fd(const nf_statahead *s, const char *path, size_t plen, int *cur, char *cur_path, size_t *cur_len)
{
	char part[PATH_MAX];
	const char *p = path;
	int fd;

	if (*cur >= 0 && *cur_len == plen && !memcmp(cur_path, path, plen))
		return *cur;
	if (*cur >= 0 && *cur != s->rootfd)
		close(*cur);
	*cur = -1;
	if (plen >= PATH_MAX)
		return -1;
	fd = s->rootfd;
	while (p < path + plen) {
		const char *e = memchr(p, '/', (size_t)(path + plen - p));
		size_t len = e ? (size_t)(e - p) : (size_t)(path + plen - p);
		int next;

		memcpy(part, p, len);
		part[len] = '\0';
		next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd != s->rootfd)
			close(fd);
		if (next < 0)
			return -1;
		fd = next;
		p += len + (e ? 1 : 0);
	}
	memcpy(cur_path, path, plen);
	*cur_len = plen;
	*cur = fd;
	return fd;
}

static void *
take(void *arg)
{
	nf_statahead *s = arg;
	char cur_path[PATH_MAX], path[PATH_MAX];
	size_t cur_len = 0;
	int cur = -1;
	const struct timespec pause = { 0, 100000 };
	const char *next = s->paths;

	for (size_t i = 0; i < s->n && !atomic_load_explicit(&s->stop, memory_order_relaxed); i++) {
		size_t shared = (unsigned char)*next++, rest = strlen(next);
		const char *slash;
		size_t plen;
		struct stat st;
		slot *sl = &s->slots[i % NF_STATAHEAD_WINDOW];
		int dfd;

		memcpy(path + shared, next, rest + 1);
		next += rest + 1;
		slash = strrchr(path, '/');
		plen = slash ? (size_t)(slash - path) : 0;

		/* Half a window past the furthest asked, at most: no busy wait, and a path not
		 * taken in time is looked at by the caller. */
		while (i >= atomic_load_explicit(&s->asked, memory_order_acquire) + NF_STATAHEAD_WINDOW / 2) {
			if (atomic_load_explicit(&s->stop, memory_order_relaxed))
				goto out;
			nanosleep(&pause, NULL);
		}
		dfd = !*path ? -1 : slash ? parent_fd(s, path, plen, &cur, cur_path, &cur_len) : s->rootfd;
		sl->found = dfd >= 0 && fstatat(dfd, slash ? slash + 1 : path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    !S_ISLNK(st.st_mode);
		if (sl->found) {
			sl->mode = st.st_mode;
			sl->dev = st.st_dev;
			sl->ino = st.st_ino;
			sl->size = st.st_size;
			sl->mtim = st.st_mtim;
			sl->ctim = st.st_ctim;
		}
		atomic_store_explicit(&sl->taken, i + 1, memory_order_release);
		atomic_store_explicit(&s->done, i + 1, memory_order_relaxed);
	}
out:
	if (cur >= 0 && cur != s->rootfd)
		close(cur);
	return NULL;
}

nf_statahead *
nf_statahead_start(int rootfd, const char *const *paths, size_t n)
{
	nf_statahead *s;
	size_t total = 0, off = 0;
	const char *prev = "";

	if (rootfd < 0 || n == 0)
		return NULL;
	/* Sized for the paths whole; a path too long to stat, or 4 GiB of them, and the
	 * lookups stat the paths themselves. */
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(paths[i] ? paths[i] : "");

		if (len >= PATH_MAX)
			return NULL;
		total += len + 2;
	}
	if (total > UINT32_MAX)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	if ((s->rootfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0)) < 0) {
		free(s);
		return NULL;
	}
	s->paths = xmalloc(total);
	s->restart = xmalloc((n / RESTART + 1) * sizeof(*s->restart));
	for (size_t i = 0; i < n; i++) {
		const char *p = paths[i] ? paths[i] : "";
		size_t shared = 0, len;

		if (i % RESTART == 0)
			s->restart[i / RESTART] = (uint32_t)off;
		else
			while (shared < 255 && p[shared] && p[shared] == prev[shared])
				shared++;
		len = strlen(p + shared) + 1;
		s->paths[off++] = (char)shared;
		memcpy(s->paths + off, p + shared, len);
		off += len;
		prev = p;
	}
	s->paths = xrealloc(s->paths, off);
	s->n = n;
	s->slots = xcalloc(NF_STATAHEAD_WINDOW, sizeof(*s->slots));
	for (size_t i = 0; i < NF_STATAHEAD_WINDOW; i++)
		atomic_init(&s->slots[i].taken, 0);
	atomic_init(&s->asked, 0);
	atomic_init(&s->done, 0);
	atomic_init(&s->stop, false);
	if (nf_thread_start(&s->thread, take, s) < 0) {
		close(s->rootfd);
		free(s->slots);
		free(s->restart);
		free(s->paths);
		free(s);
		return NULL;
	}
	return s;
}

bool
nf_statahead_get(nf_statahead *s, size_t i, const char *path, struct stat *st)
{
	const slot *sl;

	if (!s || i >= s->n || i + NF_STATAHEAD_WINDOW / 2 < s->asked_own || strcmp(path_at(s, i), path) != 0)
		return false;
	if (i + 1 > s->asked_own) {
		s->asked_own = i + 1;
		atomic_store_explicit(&s->asked, s->asked_own, memory_order_release);
	}
	sl = &s->slots[i % NF_STATAHEAD_WINDOW];
	if (atomic_load_explicit(&sl->taken, memory_order_acquire) != i + 1 || !sl->found)
		return false;
	memset(st, 0, sizeof(*st));
	st->st_mode = sl->mode;
	st->st_dev = sl->dev;
	st->st_ino = sl->ino;
	st->st_size = sl->size;
	st->st_mtim = sl->mtim;
	st->st_ctim = sl->ctim;
	st->st_nlink = 1;
	return true;
}

size_t
nf_statahead_taken(const nf_statahead *s)
{
	return s ? atomic_load_explicit(&s->done, memory_order_relaxed) : 0;
}

void
nf_statahead_free(nf_statahead *s)
{
	if (!s)
		return;
	atomic_store_explicit(&s->stop, true, memory_order_relaxed);
	pthread_join(s->thread, NULL);
	close(s->rootfd);
	free(s->slots);
	free(s->restart);
	free(s->paths);
	free(s);
}
