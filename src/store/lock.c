/* lock.c: the workspace write lock. One writer per workspace: a run, a promotion, a rollback,
 * a cache gc each hold an flock(2) on STATE_DIR/lock for their whole life, and a second
 * writer waits for it (or, asked not to wait, fails at once naming the holder). An flock and
 * not a file that exists or not: the kernel drops it when the holder exits, even by SIGKILL,
 * so there is never a stale lock to clean up, and two workspaces (two clones) have two
 * lock files and never meet.
 *
 * The holder writes who it is to STATE_DIR/lock.holder (through a rename, so a waiter never
 * reads half of it) and removes it before letting go; it is only for the waiters' messages,
 * the flock alone decides. A holder killed before it removed the file leaves it behind, so a
 * waiter believes it only while its pid still runs the process that wrote it.
 *
 * Waiting polls flock(LOCK_NB) with a growing pause (10 ms to 250 ms) instead of blocking in
 * flock: SIGINT, SIGTERM and the timeout then end the wait promptly, with no window in which
 * a signal that arrives just before a blocking call is lost.
 *
 * Waiters are served first come, first served. Polling alone let a newcomer that found the
 * lock free at the right instant take it: the scheduler starts its next run the moment one
 * ends, and a person's rollback or cache gc waiting behind back-to-back runs lost every race,
 * for as long as the runs went on. So a waiter leaves a ticket, STATE_DIR/lock.wait/T-PID-START
 * (T the time its wait began, in µs; PID and its start time tell a live waiter from a dead
 * one's leftover, which is removed), touched at each poll, and nobody takes the lock while a
 * live waiter older than itself (any, for a newcomer) has a ticket touched in the last
 * TICKET_STALE_MS (a waiter stopped by ^Z holds nobody back). */
#include "config.h"
#include "ntflow/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store-internal.h"

#define HOLDER_MAX 4096                /* a holder file is a few short lines */
#define TELL_AFTER_MS 1000             /* say we wait even when the holder is not known */
#define TICKET_STALE_MS 5000           /* a waiter's ticket not touched for this long: it stopped */

struct nf_wslock {
	int fd;                        /* open on STATE_DIR/lock and flocked; close-on-exec */
	dev_t dev;                     /* the lock file's, in held_here while held */
	ino_t ino;
	bool readonly;                 /* the workspace cannot be written: no holder file */
	char *holder_path;             /* STATE_DIR/lock.holder */
	char *what;
	int64_t since_ms;
	int64_t run_id;
};

static volatile sig_atomic_t interrupted;

/* The lock files this process holds (nf_workspace_lock), by device and inode: the flock of
 * a file opened again is refused even to its holder, so without this list a process holding
 * the lock could not tell it from another's (nf_store__lock_others). */
#define HELD_MAX 8
static struct {
	dev_t dev;
	ino_t ino;
} held_here[HELD_MAX];
static size_t nheld_here;
static pthread_mutex_t held_mutex = PTHREAD_MUTEX_INITIALIZER;

static void
held_add(dev_t dev, ino_t ino)
{
	pthread_mutex_lock(&held_mutex);
	if (nheld_here < HELD_MAX) {
		held_here[nheld_here].dev = dev;
		held_here[nheld_here].ino = ino;
		nheld_here++;
	}
	pthread_mutex_unlock(&held_mutex);
}

static void
held_remove(dev_t dev, ino_t ino)
{
	pthread_mutex_lock(&held_mutex);
	for (size_t i = 0; i < nheld_here; i++)
		if (held_here[i].dev == dev && held_here[i].ino == ino) {
			held_here[i] = held_here[--nheld_here];
			break;
		}
	pthread_mutex_unlock(&held_mutex);
}

static bool
held_by_me(dev_t dev, ino_t ino)
{
	bool yes = false;

	pthread_mutex_lock(&held_mutex);
	for (size_t i = 0; i < nheld_here && !yes; i++)
		yes = held_here[i].dev == dev && held_here[i].ino == ino;
	pthread_mutex_unlock(&held_mutex);
	return yes;
}

int
nf_store__lock_others(const nf_store *st)
{
	const char *path = st->path, *slash = path ? strrchr(path, '/') : NULL;
	struct stat sb;
	char *lock;
	int fd, held = -1;

	if (!path || !strcmp(path, ":memory:"))
		return -1;
	lock = slash ? xasprintf("%.*s/lock", (int)(slash - path), path) : xstrdup("lock");
	if ((fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0) {
		if (fstat(fd, &sb) == 0 && held_by_me(sb.st_dev, sb.st_ino))
			held = 0;   /* ours: nobody else can hold it */
		else
			held = flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : 1;
		close(fd);   /* lets go of it, if it was taken just now */
	}
	free(lock);
	return held;
}

static void
on_interrupt(int sig)
{
	interrupted = sig;
}

static void
holder_release(nf_wslock_holder *h)
{
	free(h->what);
	free(h->host);
	memset(h, 0, sizeof(*h));
}

/* One line of the holder file, newlines flattened so it stays one line. */
static void
put_field(nf_buf *b, const char *key, const char *value)
{
	nf_buf_printf(b, "%s ", key);
	for (const char *p = value; *p; p++)
		nf_buf_putc(b, *p == '\n' || *p == '\r' ? ' ' : *p);
	nf_buf_putc(b, '\n');
}

/* Writes the holder file through a temporary name and a rename. No fsync: after a power
 * loss nobody holds the lock any more, and a lost or stale file only makes a message vaguer. */
static int
write_holder(const nf_wslock *l)
{
	char *tmp;
	nf_buf b = NF_BUF_INIT;
	const char *p;
	size_t left;
	int fd, err = 0;

	if (l->readonly)
		return 0;   /* the holder file is for the waiters' messages only */
	tmp = xasprintf("%s.tmp", l->holder_path);

	nf_buf_printf(&b, "pid %ld\n", (long)getpid());
	nf_buf_printf(&b, "start %lld\n", (long long)nf_store__proc_start(getpid()));
	if (l->run_id > 0)
		nf_buf_printf(&b, "run %lld\n", (long long)l->run_id);
	nf_buf_printf(&b, "since %lld\n", (long long)l->since_ms);
	put_field(&b, "host", nf_store__host());
	put_field(&b, "what", l->what);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		err = nf_error_set_io(NF_EIO, tmp, "cannot write '%s'", tmp);
		goto done;
	}
	for (p = nf_buf_cstr(&b), left = b.len; left > 0;) {
		ssize_t w = write(fd, p, left);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err = nf_error_set_io(NF_EIO, tmp, "cannot write '%s'", tmp);
			break;
		}
		p += w;
		left -= (size_t)w;
	}
	if (close(fd) < 0 && !err)
		err = nf_error_set_io(NF_EIO, tmp, "cannot write '%s'", tmp);
	if (!err && rename(tmp, l->holder_path) < 0)
		err = nf_error_set_errno(NF_EIO, "cannot rename '%s' to '%s'", tmp, l->holder_path);
	if (err)
		unlink(tmp);
done:
	nf_buf_release(&b);
	free(tmp);
	return err;
}

/* Reads the holder file; *h stays all zero when there is none or it cannot be read.
 * *start is the holder's process start time (0: unknown). */
static void
read_holder(nf_wslock_holder *h, int64_t *start, const char *path)
{
	char *text = NULL, *line, *save = NULL;
	size_t len;

	memset(h, 0, sizeof(*h));
	*start = 0;
	if (nf_read_file(&text, &len, path, HOLDER_MAX) < 0)
		return;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		const char *v;

		if (!sp)
			continue;
		*sp = '\0';
		v = sp + 1;
		if (strcmp(line, "pid") == 0)
			h->pid = (pid_t)strtol(v, NULL, 10);
		else if (strcmp(line, "start") == 0)
			*start = strtoll(v, NULL, 10);
		else if (strcmp(line, "run") == 0)
			h->run_id = strtoll(v, NULL, 10);
		else if (strcmp(line, "since") == 0)
			h->since_ms = strtoll(v, NULL, 10);
		else if (strcmp(line, "host") == 0 && !h->host)
			h->host = xstrdup(v);
		else if (strcmp(line, "what") == 0 && !h->what)
			h->what = xstrdup(v);
	}
	free(text);
	if (h->pid <= 0)
		holder_release(h);
}

static bool
same_host(const nf_wslock_holder *h)
{
	return !h->host || strcmp(h->host, nf_store__host()) == 0;
}

/* Whether the holder file describes a process that still runs: the same pid started at the
 * same time (a pid reused since says nothing). Another host's holder cannot be checked
 * from here and is believed. */
static bool
holder_live(const nf_wslock_holder *h, int64_t start)
{
	int64_t now_start;

	if (h->pid <= 0)
		return false;
	if (!same_host(h))
		return true;
	if (kill(h->pid, 0) < 0 && errno != EPERM)
		return false;
	now_start = nf_store__proc_start(h->pid);
	return start == 0 || now_start == 0 || now_start == start;
}

/* The parent of pid (/proc/PID/stat field 4), or 0. */
static pid_t
parent_of(pid_t pid)
{
	char path[64], buf[512], *p;
	size_t len;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (!(f = fopen(path, "re")))
		return 0;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	/* "pid (comm) state ppid ...": comm may hold spaces and parentheses. */
	if (!(p = strrchr(buf, ')')) || !(p = strchr(p + 2, ' ')))
		return 0;
	return (pid_t)strtol(p + 1, NULL, 10);
}

/* Whether pid is this process or one of its ancestors: a stage whose command asks for the
 * lock its own run holds would wait for ever. */
static bool
self_or_ancestor(pid_t pid)
{
	pid_t p = getpid();

	for (int depth = 0; p > 0 && depth < 256; depth++) {
		if (p == pid)
			return true;
		if (p == 1)
			break;
		p = parent_of(p);
	}
	return false;
}

/* "run 12 (pid 4242, started 2026-11-23 10:43:12)", "'ntflow cache gc' (pid 4242, ...)",
 * or "another ntflow process" when the holder is not known. */
static void
describe(nf_buf *b, const nf_wslock_holder *h)
{
	char t[32];

	if (h->pid <= 0) {
		nf_buf_puts(b, "another ntflow process");
		return;
	}
	if (h->run_id > 0)
		nf_buf_printf(b, "run %lld (pid %ld", (long long)h->run_id, (long)h->pid);
	else
		nf_buf_printf(b, "'%s' (pid %ld", h->what ? h->what : "ntflow", (long)h->pid);
	if (!same_host(h))
		nf_buf_printf(b, " on %s", h->host);
	if (h->since_ms > 0) {
		nf_store_fmt_local_time(t, sizeof(t), h->since_ms);
		nf_buf_printf(b, ", started %s", t);
	}
	nf_buf_putc(b, ')');
}

/* NF_EBUSY with "HOLDER holds the workspace lock in DIR" and tail. */
static int
busy(const nf_wslock_holder *h, const char *dir, const char *tail)
{
	nf_buf b = NF_BUF_INIT;
	int err;

	describe(&b, h);
	err = nf_error_set(NF_EBUSY, "%s holds the workspace lock in %s%s", nf_buf_cstr(&b), dir, tail);
	nf_buf_release(&b);
	return err;
}

/* busy() when nobody holds the lock but older waiters are owed it first. */
static int
busy_behind(const nf_wslock_holder *h, const char *dir, bool behind, const char *tail)
{
	if (!behind)
		return busy(h, dir, tail);
	return nf_error_set(NF_EBUSY, "commands that asked first are waiting for the workspace lock in %s (first"
			    " come, first served)%s", dir, tail);
}

static void
tell_waiting(const nf_wslock_opts *o, const nf_wslock_holder *h, const char *dir, bool behind)
{
	nf_buf b = NF_BUF_INIT;

	if (!o->on_wait)
		return;
	if (behind) {
		/* Free, but owed to those who asked first. */
		nf_buf_printf(&b, "waiting behind the commands that asked first for the workspace lock in %s", dir);
		o->on_wait(o->ctx, h, nf_buf_cstr(&b));
		nf_buf_release(&b);
		return;
	}
	nf_buf_puts(&b, "waiting for ");
	describe(&b, h);
	nf_buf_printf(&b, " to release the workspace lock in %s", dir);
	o->on_wait(o->ctx, h, nf_buf_cstr(&b));
	nf_buf_release(&b);
}

/* A ticket's name: the wait's start in µs, the pid and its start time. */
static void
ticket_name(char *buf, size_t size)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(buf, size, "%020lld-%ld-%lld", (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, (long)getpid(),
		 (long long)nf_store__proc_start(getpid()));
}

/* Whether a live waiter holds a ticket older than mine (NULL: any live waiter). Tickets of
 * waiters gone are removed on the way. */
static bool
waiter_before(const char *state_dir, const char *mine)
{
	char *dirpath = xasprintf("%s/lock.wait", state_dir);
	DIR *dir = opendir(dirpath);
	struct dirent *e;
	bool before = false;

	while (dir && !before && (e = readdir(dir))) {
		long long t, start;
		struct stat sb;
		long pid;
		char tail;

		if (sscanf(e->d_name, "%lld-%ld-%lld%c", &t, &pid, &start, &tail) != 3 ||
		    (mine && strcmp(e->d_name, mine) >= 0))
			continue;
		if (!(pid > 0 && start > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM) &&
		      nf_store__proc_start((pid_t)pid) == start)) {
			(void)unlinkat(dirfd(dir), e->d_name, 0);   /* its waiter is gone */
			continue;
		}
		/* A live waiter that stopped polling (stopped by ^Z or a debugger, frozen) holds
		 * nobody back: a waiter touches its ticket at every poll. Its ticket stays, and
		 * it queues again where it was once it goes on. */
		if (fstatat(dirfd(dir), e->d_name, &sb, 0) == 0 &&
		    nf_now_realtime_ms() - ((int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000) <
		    TICKET_STALE_MS)
			before = true;
	}
	if (dir)
		closedir(dir);
	free(dirpath);
	return before;
}

/* Takes a ticket in the queue of waiters (name into mine); false when it cannot (a
 * read-only workspace): the wait is then as before, without a place in the queue. */
static bool
ticket_take(const char *state_dir, char *mine, size_t size)
{
	char *dirpath = xasprintf("%s/lock.wait", state_dir), *path;
	int fd;

	ticket_name(mine, size);
	(void)mkdir(dirpath, 0700);
	path = xasprintf("%s/%s", dirpath, mine);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	free(path);
	free(dirpath);
	if (fd < 0)
		mine[0] = '\0';
	return fd >= 0;
}

/* Touches mine at each poll: the others see this waiter is still polling. */
static void
ticket_touch(const char *state_dir, const char *mine)
{
	char *path;

	if (!mine[0])
		return;
	path = xasprintf("%s/lock.wait/%s", state_dir, mine);
	(void)utimensat(AT_FDCWD, path, NULL, 0);
	free(path);
}

static void
ticket_drop(const char *state_dir, const char *mine)
{
	char *path;

	if (!mine[0])
		return;
	path = xasprintf("%s/lock.wait/%s", state_dir, mine);
	(void)unlink(path);
	free(path);
}

/* Polls for the lock held by another process until it is ours, the timeout passes or a
 * signal ends the wait; from its first pause in the queue of waiters. */
static int
wait_for_lock(int fd, const char *dir, const char *holder_path, const nf_wslock_opts *o)
{
	struct sigaction sa, old_int, old_term;
	nf_wslock_holder h = { 0 };
	int64_t start = nf_now_monotonic_ms(), pause_ms = 10;
	bool told = false, queued = false, behind = false, only_behind = false;
	char ticket[80] = "";
	int err = 0;

	/* Caught even when inherited as ignored, as a run catches them: `kill -INT` of a
	 * waiting run ends it. No SA_RESTART, so the pause ends at once. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigfillset(&sa.sa_mask);
	interrupted = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	for (;;) {
		int64_t waited;

		/* Not before an older waiter (first come, first served; before taking a ticket,
		 * any live waiter is older). */
		behind = waiter_before(dir, queued ? ticket : NULL);
		if (behind)
			errno = EWOULDBLOCK;
		else if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			err = nf_error_set_errno(NF_EIO, "cannot lock the workspace in %s", dir);
			break;
		}
		waited = nf_now_monotonic_ms() - start;
		if (!told) {
			int64_t hstart;
			bool live;

			/* Read again until it names a live holder: one that just took the lock may
			 * not have written it yet. */
			holder_release(&h);
			read_holder(&h, &hstart, holder_path);
			if (!(live = holder_live(&h, hstart)))
				holder_release(&h);
			only_behind = behind && !live;
			if (live && same_host(&h) && self_or_ancestor(h.pid)) {
				err = busy(&h, dir, h.pid == getpid()
					   ? " already: this process cannot wait for itself"
					   : ", and this process runs inside it: waiting would never end"
					     " (give it a workspace of its own with --state DIR)");
				break;
			}
			if (o->no_wait) {
				err = busy_behind(&h, dir, only_behind, "; not waiting for it");
				break;
			}
			if (live || waited >= TELL_AFTER_MS) {
				tell_waiting(o, &h, dir, behind && !live);
				told = true;
			}
		}
		if (interrupted) {
			err = nf_error_set(NF_EINTR, "interrupted while waiting for the workspace lock in %s", dir);
			break;
		}
		if (o->timeout_ms > 0 && waited >= o->timeout_ms) {
			char d[32], tail[64];

			nf_format_duration(d, sizeof(d), o->timeout_ms);
			snprintf(tail, sizeof(tail), "; gave up after waiting %s", d);
			err = busy_behind(&h, dir, only_behind, tail);
			break;
		}
		if (!queued)
			queued = ticket_take(dir, ticket, sizeof(ticket));
		else
			ticket_touch(dir, ticket);
		poll(NULL, 0, (int)(o->timeout_ms > 0 && o->timeout_ms - waited < pause_ms
				    ? o->timeout_ms - waited : pause_ms));
		if (pause_ms < 250)
			pause_ms = pause_ms * 2 > 250 ? 250 : pause_ms * 2;
	}
	ticket_drop(dir, ticket);
	/* The caller's dispositions come back; the signal it would have seen is NF_EINTR. */
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	holder_release(&h);
	return err;
}

int
nf_workspace_lock(nf_wslock **out, const char *state_dir, const nf_wslock_opts *opts)
{
	static const nf_wslock_opts defaults = { 0 };
	char *path = NULL, *holder_path = NULL;
	nf_wslock *l;
	struct stat sb;
	bool owed, readonly = false;
	int fd = -1, err = 0;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	if (stat(state_dir, &sb) < 0)
		return errno == ENOENT || errno == ENOTDIR
			? nf_error_set(NF_ENOTFOUND, "no workspace at '%s'", state_dir)
			: nf_error_set_errno(NF_EIO, "cannot open the workspace '%s'", state_dir);
	if (!S_ISDIR(sb.st_mode))
		return nf_error_set(NF_EIO, "the workspace '%s' is not a directory", state_dir);
	path = xasprintf("%s/lock", state_dir);
	holder_path = xasprintf("%s/lock.holder", state_dir);
	/* A workspace this process cannot write (a read-only mount, another user's) is still
	 * locked against the writers that can: through the lock file opened for reading, when
	 * it exists. What the command then writes fails there, saying why; what only reads
	 * (verify, a dry run) goes on. */
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 && (errno == EROFS || errno == EACCES) &&
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0)
		readonly = true;
	if (fd < 0) {
		err = nf_error_set_errno(NF_EIO, "cannot open the workspace lock '%s'", path);
		goto done;
	}
	/* Free, but owed to a waiter who came first: wait behind it. */
	owed = waiter_before(state_dir, NULL);
	if (owed || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (!owed && errno != EWOULDBLOCK && errno != EINTR)
			err = nf_error_set_errno(NF_EIO, "cannot lock the workspace in %s", state_dir);
		else
			err = wait_for_lock(fd, state_dir, holder_path, opts);
		if (err < 0)
			goto done;
	}
	l = xcalloc(1, sizeof(*l));
	l->fd = fd;
	l->readonly = readonly;
	if (fstat(fd, &sb) == 0) {
		l->dev = sb.st_dev;
		l->ino = sb.st_ino;
		held_add(l->dev, l->ino);
	}
	l->holder_path = holder_path;
	l->what = xstrdup(opts->what ? opts->what : "ntflow");
	l->since_ms = nf_now_realtime_ms();
	fd = -1;
	holder_path = NULL;
	if ((err = write_holder(l)) < 0) {
		nf_workspace_unlock(l);
		goto done;
	}
	*out = l;
done:
	if (fd >= 0)
		close(fd);
	free(holder_path);
	free(path);
	return err;
}

int
nf_workspace_lock_set_run(nf_wslock *lock, int64_t run_id)
{
	lock->run_id = run_id;
	return write_holder(lock);
}

void
nf_workspace_unlock(nf_wslock *lock)
{
	if (!lock)
		return;
	/* The file goes while the lock is still ours, so it is never the next holder's. */
	if (!lock->readonly)
		unlink(lock->holder_path);
	if (lock->ino)
		held_remove(lock->dev, lock->ino);
	close(lock->fd);
	free(lock->holder_path);
	free(lock->what);
	free(lock);
}
