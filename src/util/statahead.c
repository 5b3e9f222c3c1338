/* statahead.c: the lstat of many paths beneath a root taken ahead by a second thread, as
 * git's preload-index does for the index: a fully cached rerun looks at every output, and
 * on a machine with a core to spare those 10 000 fstatat calls (a tenth of the rerun) are
 * made beside the cache lookups instead of between them.
 *
 * The thread touches nothing but its own copy of the paths, a descriptor of its own on the
 * root and its slots: no allocation after the start, no error message (nf_error is one per
 * process), no signal (all blocked). Each path is reached the way nf_path_parent_at's walk
 * reaches it, one openat(O_NOFOLLOW | O_DIRECTORY) per folder from the root, so a link on
 * the way gives no stat; the caller then looks itself, with its own checks and words. A
 * slot is published with a release store of its state and read with an acquire load: the
 * caller never waits, and a path the thread has not come to yet is the caller's to look at.
 * What a slot holds is as old as the moment the thread took it: the caller uses it only
 * while nothing can have changed the tree since the start (a run until it restores, runs
 * or moves anything aside), and frees this before. */
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

enum { SLOT_PENDING, SLOT_FOUND, SLOT_NONE };

/* What a stat says that a caller compares (nf_same_stat, the mode and the racy rules), in
 * 64 bytes where a struct stat takes 144: 100 000 outputs hold 6 MB, not 14. */
typedef struct slot {
	atomic_uchar state;
	mode_t mode;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim, ctim;
} slot;

struct nf_statahead {
	char *paths;                /* the paths, each ending in its NUL */
	size_t *at;                 /* where path i starts in paths */
	size_t n;
	slot *slots;
	int rootfd;                 /* a dup of the caller's */
	atomic_bool stop;
	pthread_t thread;
};

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
	char cur_path[PATH_MAX];
	size_t cur_len = 0;
	int cur = -1;

	for (size_t i = 0; i < s->n && !atomic_load_explicit(&s->stop, memory_order_relaxed); i++) {
		const char *path = s->paths + s->at[i], *slash = strrchr(path, '/');
		size_t plen = slash ? (size_t)(slash - path) : 0;
		struct stat st;
		slot *sl = &s->slots[i];
		int dfd;
		unsigned char state = SLOT_NONE;

		dfd = !*path ? -1 : slash ? parent_fd(s, path, plen, &cur, cur_path, &cur_len) : s->rootfd;
		if (dfd >= 0 && fstatat(dfd, slash ? slash + 1 : path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !S_ISLNK(st.st_mode)) {
			sl->mode = st.st_mode;
			sl->dev = st.st_dev;
			sl->ino = st.st_ino;
			sl->size = st.st_size;
			sl->mtim = st.st_mtim;
			sl->ctim = st.st_ctim;
			state = SLOT_FOUND;
		}
		atomic_store_explicit(&sl->state, state, memory_order_release);
	}
	if (cur >= 0 && cur != s->rootfd)
		close(cur);
	return NULL;
}

nf_statahead *
nf_statahead_start(int rootfd, const char *const *paths, size_t n)
{
	nf_statahead *s;
	size_t total = 0, off = 0;

	if (rootfd < 0 || n == 0)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	if ((s->rootfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0)) < 0) {
		free(s);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		total += strlen(paths[i] ? paths[i] : "") + 1;
	s->paths = xmalloc(total);
	s->at = xmalloc(n * sizeof(*s->at));
	for (size_t i = 0; i < n; i++) {
		const char *p = paths[i] ? paths[i] : "";
		size_t len = strlen(p) + 1;

		s->at[i] = off;
		memcpy(s->paths + off, p, len);
		off += len;
	}
	s->n = n;
	s->slots = xcalloc(n, sizeof(*s->slots));
	for (size_t i = 0; i < n; i++)
		atomic_init(&s->slots[i].state, SLOT_PENDING);
	atomic_init(&s->stop, false);
	if (nf_thread_start(&s->thread, take, s) < 0) {
		close(s->rootfd);
		free(s->slots);
		free(s->at);
		free(s->paths);
		free(s);
		return NULL;
	}
	return s;
}

bool
nf_statahead_get(const nf_statahead *s, size_t i, const char *path, struct stat *st)
{
	const slot *sl;

	if (!s || i >= s->n || strcmp(s->paths + s->at[i], path) != 0)
		return false;
	sl = &s->slots[i];
	if (atomic_load_explicit(&sl->state, memory_order_acquire) != SLOT_FOUND)
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
	size_t taken = 0;

	for (size_t i = 0; s && i < s->n; i++)
		taken += atomic_load_explicit(&s->slots[i].state, memory_order_acquire) != SLOT_PENDING;
	return taken;
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
	free(s->at);
	free(s->paths);
	free(s);
}
