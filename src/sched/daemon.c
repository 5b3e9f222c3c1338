/* daemon.c: `ntflow scheduler`: loads the scheduled pipelines of its paths, sleeps on the
 * wall clock until the nearest fire time, and starts each due run as a child `ntflow run`,
 * recording every decision in the workspace's store and audit chain before acting on it,
 * so a restarted daemon neither loses nor repeats an interval. One loop (ppoll) over the
 * clock, a signalfd and inotify; nothing polls. */
#include "config.h"
#include "ntflow/sched.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ntflow/dag.h"
#include "ntflow/gov.h"
#include "ntflow/graph.h"
#include "ntflow/store.h"
#include "ntflow/util.h"

#define NF_AUDIT_SCHEDULE "schedule"
#define LOCK_NAME "scheduler.lock"

typedef struct ws {
	char *dir;                     /* the state directory */
	nf_store *st;
	int lockfd;                    /* STATE_DIR/scheduler.lock, flocked while we run */
} ws;

/* How many of a pipeline's newest decisions resume and the refire look at. */
#define RECENT_EVENTS 64

typedef struct pl {
	char *file;                    /* the DAG file, as found */
	char *name;
	ws *w;
	nf_sched_policy pol;
	char *cron, *tz, *policy;      /* as written, for the store and --status */
	char *good;                    /* the text of the file's last good version */
	size_t good_len;
	bool scheduled;                /* its current good version has a schedule */
	bool seen;                     /* found by the latest scan */
	bool resume;                   /* registered: what the last scheduler left undone is looked at */
	int64_t last_end;              /* mirrors the store's row */
	int64_t registered;            /* when it was first seen: last_end until a first decision */
	int64_t waiting;               /* the fire time whose wait was recorded (0: none) */
	int64_t alert_waiting;         /* the trigger whose wait was logged */
	int64_t last_alert;            /* when the last alert-triggered run started */
	int64_t missing_since;         /* its file, named as a path, could not be found since then
	                                * (0: it could, or is found through a folder) */
	int64_t back_since;            /* when it was scheduled again after it went (0: never went):
	                                * an interval that fired before then is caught up */
	/* The decisions whose run this process started, reaped or not, the last RECENT_EVENTS
	 * (a ring: older ones are past what resume reads): resume never starts or settles them
	 * (their pid may be unrecorded, on a full disk). A list of every one grew for as long
	 * as the scheduler ran, and was scanned for each decision each minute. */
	int64_t spawned[RECENT_EVENTS];
	size_t nspawned;
} pl;

typedef struct child {
	pid_t pid;
	pl *p;
	int64_t event;
	int64_t started_ms;            /* when it was started: the real time, as a run records its
	                                * start (not the scheduler's clock, which a test sets) */
	bool deadline;                 /* it waits for the workspace lock until start_deadline
	                                * only: exit 75 is a missed interval */
	bool alert;
	char *snapshot;                /* the last good version it runs, removed when it ends */
} child;

typedef struct sched_daemon {
	const nf_scheduler_opts *o;
	nf_wallclock *clock;
	int64_t since;
	ws **ws;
	size_t nws, ws_cap;
	pl **pl;
	size_t npl, pl_cap;
	child *kids;
	size_t nkids, kids_cap;
	int ino, sigfd;
	sigset_t oldmask;
	bool stopping, reload;
	int64_t rescan_at;             /* scan again then (0: no need): a file gone for good */
	bool started;                  /* past the first scan */
	char *start_error;             /* at the first scan: another scheduler holds a workspace */
	char *ws_error;                /* at the first scan: the first workspace that could not be opened */
	int ws_err;                    /* and its error (NF_ECORRUPT: a damaged store) */
	size_t nunreadable;            /* at the first scan: paths that could not be read */
	int64_t give_up_at;            /* only those at start: when to stop waiting for them (0: not) */
	char **broken;                 /* files whose errors were logged, to say so once */
	size_t nbroken, broken_cap;
	/* Per path: the watch on its folder and on that folder's parent (which sees the folder
	 * replaced: a deploy by rename, a worktree swapped), and the folder's name there. */
	int *folder_wd, *parent_wd;
	char **folder_name;
} sched_daemon;

/* How long a DAG file named as a path may be missing and still be taken for one being
 * replaced (an editor's or a checkout's rename, a deploy), its pipelines kept meanwhile. */
#define FILE_GONE_S 60

/* Whether a and b name one file, repeated slashes aside: a scheduler before 2026-12-05
 * recorded "dags//wk.dag" for a folder given as "dags/". */
static bool
same_file_name(const char *a, const char *b)
{
	while (*a && *b) {
		if (*a != *b)
			return false;
		if (*a == '/') {
			while (a[1] == '/')
				a++;
			while (b[1] == '/')
				b++;
		}
		a++;
		b++;
	}
	return *a == *b;
}

static void
say(sched_daemon *d, const char *who, const char *fmt, ...) NF_PRINTF(3, 4);

/* One line of the log: the scheduler's time, the pipeline or file, what happened. */
static void
say(sched_daemon *d, const char *who, const char *fmt, ...)
{
	char when[32], *msg;
	va_list ap;
	nf_buf line = NF_BUF_INIT;

	nf_time_format_utc(when, d->clock->now(d->clock));
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	/* a line quotes paths and errors: shown, not played, wherever the log is read */
	nf_buf_printf(&line, "%s ", when);
	nf_buf_add_visible(&line, who, false);
	nf_buf_puts(&line, ": ");
	nf_buf_add_visible(&line, msg, false);
	nf_buf_putc(&line, '\n');
	fputs(nf_buf_cstr(&line), d->o->log);
	fflush(d->o->log);
	nf_buf_release(&line);
	free(msg);
}

static char *
iso(int64_t t)
{
	char buf[32];

	nf_time_format_utc(buf, t);
	return xstrdup(buf);
}

/* ---- workspaces ---- */

static int
lock_workspace(ws *w, int64_t since)
{
	char *path = xasprintf("%s/%s", w->dir, LOCK_NAME), line[64];
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600), err = 0;

	if (fd < 0) {
		err = nf_error_set(NF_EIO, "cannot open %s: %s", path, strerror(errno));
	} else if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		nf_sched_holder h;

		err = errno == EWOULDBLOCK ? NF_EBUSY : NF_EIO;
		if (err == NF_EBUSY && nf_scheduler_holder(w->dir, &h) == 0 && h.pid > 0)
			nf_error_set(NF_EBUSY, "another scheduler (pid %ld) already runs for the workspace %s", h.pid, w->dir);
		else
			nf_error_set(err, "cannot lock %s: %s", path, strerror(errno));
		close(fd);
		fd = -1;
	} else {
		int n = snprintf(line, sizeof(line), "%ld %lld\n", (long)getpid(), (long long)since);

		if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t)n, 0) != n)
			err = nf_error_set(NF_EIO, "cannot write %s: %s", path, strerror(errno));
	}
	free(path);
	w->lockfd = fd;
	return err;
}

static void
ws_free(ws *w)
{
	if (!w)
		return;
	nf_store_close(w->st);
	if (w->lockfd >= 0)
		close(w->lockfd);   /* releases the flock */
	free(w->dir);
	free(w);
}

/* The workspace of a DAG file, locked and then opened the first time it is met (a reload
 * only resolves the path). The scheduler lock comes first, so a second scheduler neither
 * opens the store nor runs its recovery. */
static int
workspace_of(sched_daemon *d, const char *file, ws **out)
{
	nf_store *st = NULL;
	char *dir = NULL;
	ws *w;
	int err;

	if ((err = nf_workspace_resolve(&dir, file, d->o->state)) < 0)
		return err;
	for (size_t i = 0; i < d->nws; i++) {
		if (strcmp(d->ws[i]->dir, dir) == 0) {
			free(dir);
			*out = d->ws[i];
			return 0;
		}
	}
	if ((err = nf_workspace_make_private(dir, true)) < 0) {
		free(dir);
		return err;
	}
	w = xcalloc(1, sizeof(*w));
	w->dir = dir;
	w->lockfd = -1;
	if ((err = lock_workspace(w, d->since)) < 0 ||
	    (err = nf_store_open_workspace(&w->st, NULL, file, d->o->state, true)) < 0) {
		ws_free(w);
		return err;
	}
	st = w->st;
	for (const char *const *line = nf_store_recovered(st); *line; line++)
		say(d, w->dir, "%s", *line);
	/* A run that ends (or starts) removes (or writes) lock.holder: a slot may be free now. */
	if (inotify_add_watch(d->ino, w->dir, IN_MASK_ADD | IN_DELETE | IN_MOVED_TO | IN_ONLYDIR) < 0)
		say(d, w->dir, "cannot watch the workspace (%s); runs ending elsewhere are noticed at the next event",
		    strerror(errno));
	d->ws = xgrow(d->ws, sizeof(*d->ws), d->nws + 1, &d->ws_cap);
	d->ws[d->nws++] = w;
	*out = w;
	return 0;
}

/* How often the runs a scheduler did not start are looked at while they go. */
#define RESUME_EVERY_S 60

/* *wake moved no later than the next look at runs this scheduler did not start, while an
 * interval or an alert waits on them (a killed one ends unheard of): RESUME_EVERY_S on, or
 * the test suite's NTFLOW_TEST_RECHECK_S, so that a test on the real clock need not wait a
 * minute more. */
static void
recheck_within(int64_t *wake, int64_t now)
{
	const char *v = nf_test_hook_value("NTFLOW_TEST_RECHECK_S");
	int64_t at = now + (v && atoi(v) > 0 ? atoi(v) : RESUME_EVERY_S);

	if (at < *wake)
		*wake = at;
}

/* ---- recording decisions ---- */

typedef struct decision {
	pl *p;
	const char *what;
	nf_cron_span span;             /* {0, 0}: none */
	int64_t last_end;              /* -1: unchanged */
	int64_t trigger, alert_id;     /* the trigger consumed, its alert */
	const char *detail;
	int64_t now;
	int64_t event;                 /* out */
} decision;

static void
add_time(cJSON *o, const char *key, int64_t t)
{
	char buf[32];

	nf_time_format_utc(buf, t);
	cJSON_AddStringToObject(o, key, buf);
}

static int
record_fn(void *ctx, nf_store *st)
{
	decision *dc = ctx;
	pl *p = dc->p;
	nf_schedule_event ev = {
		.time = dc->now, .pipeline = p->name, .decision = (char *)dc->what, .detail = (char *)dc->detail,
		.interval_start = dc->span.start, .interval_end = dc->span.end, .alert_id = dc->alert_id,
		.exit_status = -1,
	};
	cJSON *payload;
	int err;

	if ((err = nf_store_schedule_event_add(st, &ev)) < 0)
		return err;
	dc->event = ev.id;
	if (dc->last_end >= 0) {
		nf_schedule_row row = {
			.pipeline = p->name, .file = p->file, .cron = p->cron, .timezone = p->tz,
			.policy = p->policy, .last_end = dc->last_end, .registered = dc->now, .updated = dc->now,
		};
		nf_schedule_row old;

		if (nf_store_schedule_get(st, p->name, &old) == 0)
			row.registered = old.registered;
		nf_schedule_row_release(&old);
		if ((err = nf_store_schedule_put(st, &row)) < 0)
			return err;
	}
	if (dc->trigger > 0 && (err = nf_store_trigger_consume(st, dc->trigger)) < 0)
		return err;
	payload = cJSON_CreateObject();
	cJSON_AddStringToObject(payload, "pipeline", p->name);
	cJSON_AddStringToObject(payload, "decision", dc->what);
	if (dc->span.end) {
		add_time(payload, "interval_start", dc->span.start);
		add_time(payload, "interval_end", dc->span.end);
	}
	if (dc->alert_id)
		cJSON_AddNumberToObject(payload, "alert", (double)dc->alert_id);
	if (dc->detail && *dc->detail)
		cJSON_AddStringToObject(payload, "detail", dc->detail);
	add_time(payload, "time", dc->now);
	err = nf_audit_append(st, 0, NF_AUDIT_SCHEDULE, payload);
	cJSON_Delete(payload);
	return err;
}

/* Records a decision, its new last_end and the trigger it consumes, atomically. */
static int
record(decision *dc)
{
	int err = nf_store_atomic(dc->p->w->st, record_fn, dc);

	if (err == 0 && dc->last_end >= 0)
		dc->p->last_end = dc->last_end;
	return err;
}

/* A change of p's schedule recorded as a decision (changed, rescheduled: its row then holds
 * the new schedule; unscheduled): --status reads what is in force. */
static void
record_change(sched_daemon *d, pl *p, const char *what, int64_t now)
{
	char detail[256];
	decision dc = { .p = p, .what = what, .now = now, .detail = detail,
			.last_end = strcmp(what, "unscheduled") == 0 ? -1 : p->last_end };

	snprintf(detail, sizeof(detail), "%s (%s) from %s", p->cron, p->tz, p->file);
	if (record(&dc) < 0)
		say(d, p->name, "cannot record the change of its schedule: %s", nf_error_last());
}

/* ---- children ---- */

/* The file a run of p reads: p's file while it holds the last good version, else that
 * version written beside it (same folder, so the workspace and ${dag.dir} are the same),
 * in *snapshot (the caller removes it when the run ends). */
static const char *
file_to_run(sched_daemon *d, pl *p, char **snapshot)
{
	char *now = NULL, *copy, *dir, *path;
	size_t len = 0;
	int fd;

	*snapshot = NULL;
	if (!p->good || (nf_read_file(&now, &len, p->file, NF_DAG_MAX_FILE_SIZE) == 0 && len == p->good_len &&
			 memcmp(now, p->good, len) == 0)) {
		free(now);
		return p->file;
	}
	free(now);
	copy = xstrdup(p->file);
	dir = dirname(copy);
	path = xasprintf("%s/.%s.last-good", dir, p->name);
	free(copy);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write(fd, p->good, p->good_len) != (ssize_t)p->good_len) {
		say(d, p->name, "cannot write its last good version to %s (%s); running %s as it is", path,
		    strerror(errno), p->file);
		if (fd >= 0)
			close(fd);
		unlink(path);
		free(path);
		return p->file;
	}
	close(fd);
	say(d, p->name, "%s has changed since its last good version: running that version (%s)", p->file, path);
	*snapshot = path;
	return path;
}

/* Starts `ntflow run` for an interval (trigger "schedule") or an alert. wait_s > 0: it waits
 * for the workspace lock that long at most (the time left before start_deadline), then
 * exits 75 having done nothing. */
static int
spawn(sched_daemon *d, pl *p, const char *trigger, const nf_cron_span *span, int64_t event, int64_t wait_s,
      pid_t *pid_out)
{
	char *start = iso(span->start), *end = iso(span->end), *snapshot = NULL, wait[32];
	const char *argv[18];
	int n = 0, err = 0, go[2] = { -1, -1 };
	pid_t pid;

	argv[n++] = d->o->self;
	argv[n++] = "run";
	argv[n++] = file_to_run(d, p, &snapshot);
	argv[n++] = "--trigger";
	argv[n++] = trigger;
	argv[n++] = "--date";
	argv[n++] = start;
	if (span->end > span->start) {
		argv[n++] = "--interval-end";
		argv[n++] = end;
	}
	argv[n++] = "--no-tui";
	if (wait_s > 0) {
		snprintf(wait, sizeof(wait), "%llds", (long long)wait_s);
		argv[n++] = "--wait-timeout";
		argv[n++] = wait;
	}
	if (d->o->state) {
		argv[n++] = "--state";
		argv[n++] = d->o->state;
	}
	argv[n] = NULL;
	fflush(d->o->log);
	/* The child waits for a byte on go (a socket: sent with MSG_NOSIGNAL) before it runs: the parent sends it once the run
	 * process is recorded with the decision. A scheduler killed in between (its end of go
	 * closed by the kernel) leaves a child that exits without running, and a decision
	 * without a process, which the next scheduler starts, once. Before, the child ran, and
	 * the next scheduler took the decision for one never started and ran it again. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, go) < 0) {
		err = nf_error_set(NF_EIO, "cannot start a run: %s", strerror(errno));
		pid = -1;
	} else if ((pid = fork()) < 0) {
		err = nf_error_set(NF_EIO, "cannot start a run: %s", strerror(errno));
	}
	if (pid < 0) {
		if (snapshot)
			unlink(snapshot);
		free(snapshot);
	} else if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		int out = fileno(d->o->log);
		char byte;
		ssize_t r;

		/* Its own process group, so a ^C meant for the daemon lets the run finish; the
		 * signals the daemon reads from its signalfd unblocked again. */
		setpgid(0, 0);
		close(go[1]);
		while ((r = read(go[0], &byte, 1)) < 0 && errno == EINTR)
			;
		if (r != 1)
			_exit(75);   /* EX_TEMPFAIL: the scheduler died before it recorded us */
		sigprocmask(SIG_SETMASK, &d->oldmask, NULL);
		if (null >= 0)
			dup2(null, 0);
		dup2(out, 1);
		dup2(out, 2);
		execv(d->o->self, (char *const *)argv);
		_exit(127);
	} else {
		p->spawned[p->nspawned++ % RECENT_EVENTS] = event;
		d->kids = xgrow(d->kids, sizeof(*d->kids), d->nkids + 1, &d->kids_cap);
		d->kids[d->nkids++] = (child){ pid, p, event, nf_now_realtime_ms(), wait_s > 0,
					       strcmp(trigger, "alert") == 0, snapshot };
		*pid_out = pid;
		/* Without its pid a restart would take the decision for one never started and
		 * start it again: say so, the run itself goes on. */
		if (nf_test_hook(strcmp(trigger, "alert") == 0 ? "scheduler-after-fork-alert" : "scheduler-after-fork"))
			raise(SIGKILL);
		if (nf_store_schedule_event_update(p->w->st, event, pid, 0, -1) < 0)
			say(d, p->name, "cannot record the run process %ld (%s); a restart before it ends may start"
			    " its interval again", (long)pid, nf_error_last());
		if (send(go[1], "", 1, MSG_NOSIGNAL) != 1)   /* a child killed meanwhile: no SIGPIPE for us */
			say(d, p->name, "cannot start run process %ld: %s", (long)pid, strerror(errno));
	}
	if (go[0] >= 0)
		close(go[0]);
	if (go[1] >= 0)
		close(go[1]);
	free(start);
	free(end);
	return err;
}

static int
own_runs(const sched_daemon *d, const pl *p, bool alert_only)
{
	int n = 0;

	for (size_t i = 0; i < d->nkids; i++)
		if (d->kids[i].p == p && (!alert_only || d->kids[i].alert))
			n++;
	return n;
}

/* Runs of p going: ours (started or still waiting for the workspace lock) and those the
 * store shows alive that are not ours (by hand, or left by a scheduler that was killed). */
static int
active_runs(sched_daemon *d, pl *p, char *why, size_t whysize)
{
	nf_active_run runs[16];
	size_t n = 0, off = 0;
	int count = own_runs(d, p, false);

	why[0] = '\0';
	if (nf_store_runs_active(p->w->st, p->name, runs, NF_ARRAY_SIZE(runs), &n) < 0)
		n = 0;
	for (size_t i = 0; i < n && i < NF_ARRAY_SIZE(runs); i++) {
		bool ours = false;

		for (size_t k = 0; k < d->nkids; k++)
			ours |= d->kids[k].pid == runs[i].pid;
		if (ours)
			continue;
		count++;
		if (off < whysize)
			off += (size_t)snprintf(why + off, whysize - off, "%srun %lld", off ? ", " : "",
						(long long)runs[i].id);
	}
	if (n > NF_ARRAY_SIZE(runs))
		count += (int)(n - NF_ARRAY_SIZE(runs));
	return count;
}

/* With --textfile: the workspaces' health for Prometheus, rewritten whole (at start and
 * after each run), so a stale file means a dead scheduler, which its timestamp shows. */
static void
export_textfile(sched_daemon *d)
{
	nf_store **stores;
	char **names = NULL;
	int64_t now = d->clock->now(d->clock);

	if (!d->o->textfile)
		return;
	stores = xcalloc(d->nws + 1, sizeof(*stores));
	for (size_t i = 0; i < d->nws; i++)
		stores[i] = d->ws[i]->st;
	/* Each series says whose it is (the workspace's state directory), else two workspaces
	 * with a pipeline or model of one name would write the same series twice; always, so
	 * that a workspace the scheduler meets later does not rename the series before it. */
	names = xcalloc(d->nws + 1, sizeof(*names));
	for (size_t i = 0; i < d->nws; i++)
		if (!(names[i] = realpath(d->ws[i]->dir, NULL)))
			names[i] = xstrdup(d->ws[i]->dir);
	if (nf_prometheus_write(d->o->textfile, stores, (const char *const *)names, d->nws, now * 1000) < 0)
		say(d, "scheduler", "cannot write the metrics for Prometheus: %s", nf_error_last());
	for (size_t i = 0; names && i < d->nws; i++)
		free(names[i]);
	free(names);
	free(stores);
}

/* Reaps the runs that ended; how many did. */
static int
reap(sched_daemon *d)
{
	int status, ended = 0;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < d->nkids; i++) {
			child k = d->kids[i];
			int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			int64_t run = 0;

			if (k.pid != pid)
				continue;
			d->kids[i] = d->kids[--d->nkids];
			ended++;
			if (k.snapshot) {
				unlink(k.snapshot);
				free(k.snapshot);
			}
			/* A run of that pid from before this child started (5 s of clock skew
			 * allowed) was another process's, its pid reused since. */
			if (nf_store_run_of_pid(k.p->w->st, k.p->name, pid, k.started_ms - 5000, &run) < 0)
				run = 0;
			if (nf_store_schedule_event_update(k.p->w->st, k.event, 0, run, code) < 0)
				say(d, k.p->name, "cannot record the end of process %ld: %s", (long)pid, nf_error_last());
			if (!run && k.deadline && code == 75) {
				/* start_deadline passed while it waited for the workspace lock: missed,
				 * as if it had been decided so (nothing ran). */
				const char *why = "could not start within start_deadline of the interval's end: the "
						  "workspace lock was held";

				if (nf_store_schedule_event_decide(k.p->w->st, k.event, "missed", why) < 0)
					say(d, k.p->name, "cannot record a decision: %s", nf_error_last());
				say(d, k.p->name, "missed: %s", why);
				break;
			}
			if (run)
				say(d, k.p->name, "run %lld ended (exit %d)", (long long)run, code);
			else
				say(d, k.p->name, "the run started as process %ld ended (exit %d) before recording a run",
				    (long)pid, code);
			break;
		}
	}
	return ended;
}

/* ---- deciding ---- */

static void
span_text(char *out, size_t size, const nf_cron_span *s)
{
	char a[32], b[32];

	nf_time_format_utc(a, s->start);
	nf_time_format_utc(b, s->end);
	snprintf(out, size, "%s..%s", a, b);
}

static void
step_schedule(sched_daemon *d, pl *p, int64_t now, int64_t *wake)
{
	for (int guard = 0; guard < 10000; guard++) {
		char why[256], iv[80], detail[400];
		nf_sched_act act;
		decision dc = { .p = p, .now = now, .last_end = -1 };
		int active = active_runs(d, p, why, sizeof(why));
		pid_t pid = 0;

		if (nf_sched_decide(&p->pol, p->last_end, now, p->back_since > d->since ? p->back_since : d->since, active,
				    &act) < 0) {
			/* Nothing decided (its time zone gone, say): said, and looked at again in an
			 * hour, rather than never. */
			say(d, p->name, "%s", nf_error_last());
			if (now + 3600 < *wake)
				*wake = now + 3600;
			return;
		}
		/* After a change of schedule the new one's interval may begin before the end of
		 * the last one decided: it begins there instead, so no data is run twice. (Not
		 * before the first decision: the first interval is the whole one before its fire.) */
		if (p->last_end != p->registered && act.span.end && act.span.start < p->last_end &&
		    p->last_end < act.span.end)
			act.span.start = p->last_end;
		span_text(iv, sizeof(iv), &act.span);
		switch (act.kind) {
		case NF_SA_NONE:
			if (act.wake < *wake)
				*wake = act.wake;
			return;
		case NF_SA_WAIT:
			if (p->waiting != act.span.end) {
				snprintf(detail, sizeof(detail), "max_active_runs %d reached: %d going%s%s", p->pol.max_active,
					 active, *why ? " (" : "", *why ? why : "");
				if (*why)
					strcat(detail, ")");
				dc.what = "waiting";
				dc.span = act.span;
				dc.detail = detail;
				if (record(&dc) == 0) {
					p->waiting = act.span.end;
					say(d, p->name, "interval %s waits: %s", iv, detail);
				} else {
					say(d, p->name, "cannot record a decision: %s", nf_error_last());
				}
			}
			if (act.wake < *wake)
				*wake = act.wake;
			/* A run not started here ends unheard of when it is killed (SIGKILL leaves its
			 * lock.holder, and inotify says nothing of a lock let go): looked at each
			 * minute, or the interval waited for ever */
			if (*why)
				recheck_within(wake, now);
			return;
		case NF_SA_SKIP:
			snprintf(detail, sizeof(detail), "%lld interval%s not run (%s)", (long long)act.count,
				 act.count == 1 ? "" : "s", act.why);
			dc.what = "skipped";
			break;
		case NF_SA_MISSED:
			snprintf(detail, sizeof(detail), "could not start within start_deadline of the interval's end");
			dc.what = "missed";
			break;
		case NF_SA_START:
			detail[0] = '\0';
			dc.what = act.catchup ? "caught-up" : "fired";
			break;
		}
		dc.span = act.span;
		dc.last_end = act.last_end;
		dc.detail = detail;
		if (record(&dc) < 0) {
			say(d, p->name, "cannot record a decision, so nothing is started: %s", nf_error_last());
			return;
		}
		p->waiting = 0;
		if (act.kind != NF_SA_START) {
			say(d, p->name, "%s %s: %s", dc.what, iv, detail);
			continue;
		}
		if (spawn(d, p, "schedule", &act.span, dc.event, nf_sched_deadline_wait(&p->pol, act.last_end, now), &pid) < 0)
			say(d, p->name, "%s %s, but %s", dc.what, iv, nf_error_last());
		else
			say(d, p->name, "%s %s: started run process %ld", dc.what, iv, (long)pid);
	}
}

static void
step_alerts(sched_daemon *d, pl *p, int64_t now, int64_t *wake)
{
	nf_trigger *t = NULL;
	size_t n = 0;

	if (nf_store_triggers_pending(p->w->st, p->name, &t, &n) < 0) {
		say(d, p->name, "%s", nf_error_last());
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char why[256], detail[256], until_s[32];
		int active = active_runs(d, p, why, sizeof(why));
		int64_t until;
		decision dc = { .p = p, .now = now, .last_end = -1, .trigger = t[i].id, .alert_id = t[i].alert_id };
		nf_cron_span span = { now, now };
		pid_t pid = 0;

		switch (nf_sched_alert_decide(&p->pol, now, p->last_alert, active, &until)) {
		case NF_SAA_WAIT:
			if (*why)
				recheck_within(wake, now);   /* as step_schedule's wait */
			if (p->alert_waiting != t[i].id) {
				p->alert_waiting = t[i].id;
				say(d, p->name, "alert %lld waits: %d run%s going", (long long)t[i].alert_id, active,
				    active == 1 ? "" : "s");
			}
			goto done;
		case NF_SAA_SUPPRESS:
			nf_time_format_utc(until_s, until);
			snprintf(detail, sizeof(detail), "%s alert %lld of run %lld: within alert_cooldown (until %s)",
				 t[i].severity, (long long)t[i].alert_id, (long long)t[i].run_id, until_s);
			dc.what = "suppressed";
			dc.detail = detail;
			if (record(&dc) == 0)
				say(d, p->name, "suppressed %s", detail);
			continue;
		case NF_SAA_START:
			snprintf(detail, sizeof(detail), "%s alert %lld of run %lld", t[i].severity,
				 (long long)t[i].alert_id, (long long)t[i].run_id);
			dc.what = "alert";
			dc.span = span;
			dc.detail = detail;
			if (record(&dc) < 0) {
				say(d, p->name, "cannot record a decision, so nothing is started: %s", nf_error_last());
				goto done;
			}
			p->last_alert = now;
			if (spawn(d, p, "alert", &span, dc.event, 0, &pid) < 0)
				say(d, p->name, "triggered by %s, but %s", detail, nf_error_last());
			else
				say(d, p->name, "triggered by %s: started run process %ld", detail, (long)pid);
			continue;
		}
	}
done:
	nf_trigger_list_free(t, n);
}

/* ---- loading pipelines ---- */

/* The key under which a path that could not be read is logged: apart from the same path's
 * errors as a DAG file, so that one clears without the other. */
#define UNREADABLE "\001"

/* How many DAG files with errors were logged (not paths that could not be read). */
static size_t
nbroken_files(const sched_daemon *d)
{
	size_t n = 0;

	for (size_t i = 0; i < d->nbroken; i++)
		n += d->broken[i][0] != UNREADABLE[0];
	return n;
}

static bool
broken_logged(sched_daemon *d, const char *file, bool set)
{
	for (size_t i = 0; i < d->nbroken; i++) {
		if (strcmp(d->broken[i], file) == 0) {
			if (!set) {
				free(d->broken[i]);
				d->broken[i] = d->broken[--d->nbroken];
			}
			return true;
		}
	}
	if (set) {
		d->broken = xgrow(d->broken, sizeof(*d->broken), d->nbroken + 1, &d->broken_cap);
		d->broken[d->nbroken++] = xstrdup(file);
	}
	return false;
}

static pl *
find_pl(sched_daemon *d, const ws *w, const char *name)
{
	for (size_t i = 0; i < d->npl; i++)
		if (d->pl[i]->w == w && strcmp(d->pl[i]->name, name) == 0)
			return d->pl[i];
	return NULL;
}

static char *
policy_text(const nf_pipeline *src)
{
	char deadline[64] = "";

	if (src->start_deadline_ms > 0)
		snprintf(deadline, sizeof(deadline), ", missed %llds after its end",
			 (long long)(src->start_deadline_ms / 1000));
	return xasprintf("%s%s; overlap %s, max %d", src->catchup ? "catch up every interval" : "run the latest only",
			 deadline, src->overlap_skip ? "skip" : "wait", src->max_active_runs);
}

/* Sets p from a good version of its file. */
static void
pl_update(pl *p, const char *file, const nf_pipeline *src)
{
	char *policy = policy_text(src);

	if (p->policy && (strcmp(p->policy, policy) != 0 || strcmp(p->cron, src->schedule) != 0))
		p->waiting = 0;
	free(p->file);
	free(p->cron);
	free(p->tz);
	free(p->policy);
	p->file = xstrdup(file);
	p->cron = xstrdup(src->schedule);
	p->tz = xstrdup(src->timezone ? src->timezone : "UTC");
	p->policy = policy;
	/* validated by the load: these do not fail */
	nf_cron_parse(&p->pol.cron, src->schedule, NULL);
	nf_tz_open(&p->pol.tz, src->timezone);
	p->pol.catchup = src->catchup;
	p->pol.max_active = src->max_active_runs > 0 ? src->max_active_runs : 1;
	p->pol.overlap_skip = src->overlap_skip;
	p->pol.deadline = src->start_deadline_ms / 1000;
	p->pol.cooldown = src->alert_cooldown_ms / 1000;
	p->scheduled = true;
}

void
nf_sched_event_run(nf_store *st, const nf_schedule_event *ev, int64_t *run_id)
{
	*run_id = ev->run_id;
	if (*run_id)
		return;
	/* The scheduler records a run when it reaps its child; until then (or when it was
	 * killed first) the run the child recorded says how it went. */
	if (ev->exit_status >= 0 || ev->pid <= 0 || nf_store_run_of_event(st, ev, run_id) < 0) {
		*run_id = 0;
		nf_error_clear();
	}
}

bool
nf_sched_unscheduled(nf_store *st, const char *pipeline)
{
	static const char *const kinds[] = { "registered", "changed", "rescheduled" };
	nf_schedule_event *ev = NULL;
	size_t m = 0;
	int64_t off = 0, on = 0;

	if (nf_store_schedule_events(st, pipeline, "unscheduled", 1, &ev, &m) == 0 && m)
		off = ev[0].id;
	nf_schedule_event_list_free(ev, m);
	for (size_t k = 0; k < NF_ARRAY_SIZE(kinds) && off; k++) {
		ev = NULL;
		m = 0;
		if (nf_store_schedule_events(st, pipeline, kinds[k], 1, &ev, &m) == 0 && m && ev[0].id > on)
			on = ev[0].id;
		nf_schedule_event_list_free(ev, m);
	}
	nf_error_clear();
	return off > on;
}

/* Whether this process started the run of p's decision id (its child, living or reaped),
 * one of its RECENT_EVENTS newest. */
static bool
started_here(const pl *p, int64_t id)
{
	for (size_t k = 0; k < p->nspawned && k < RECENT_EVENTS; k++)
		if (p->spawned[k] == id)
			return true;
	return false;
}

/* When this boot of the machine began (seconds since the epoch). */
static int64_t
boot_time(void)
{
	struct sysinfo si;

	return sysinfo(&si) == 0 ? (int64_t)time(NULL) - (int64_t)si.uptime : 0;
}

/* Whether the run decision e started died with the machine (a reboot, a power cut): never
 * reaped nor settled (exit_status -1), and its run recorded in an earlier boot of this host
 * and not ended (crashed, or still recorded running), or, when it recorded no run, decided
 * before this boot. A run that ended while the machine stayed up (killed alone, or with its
 * scheduler) was settled when it was found so, by recovery or by ended_here: its end is its
 * own, as a stage's failure is. *run_id: its run, 0 when none was recorded. */
static bool
died_with_machine(pl *p, const nf_schedule_event *e, int64_t *run_id)
{
	nf_run_info run;
	bool rebooted = false, died;

	*run_id = 0;
	if (e->pid <= 0 || e->exit_status != -1)
		return false;
	nf_sched_event_run(p->w->st, e, run_id);
	if (!*run_id)
		return e->time < boot_time();
	if (nf_store_run_rebooted(p->w->st, *run_id, &rebooted) < 0 || !rebooted ||
	    nf_store_run_get(p->w->st, *run_id, &run) < 0) {
		nf_error_clear();
		return false;
	}
	died = run.status == NF_RUN_CRASHED || run.status == NF_RUN_RUNNING;
	nf_run_info_release(&run);
	return died;
}

/* Whether the child of decision e (that did not die with the machine) has ended, unreaped:
 * its run ended, or recorded running by a process no longer alive, or, with none recorded,
 * its process gone. (A run recovered as crashed in its own boot was settled then.) */
static bool
ended_here(pl *p, const nf_schedule_event *e, int64_t run_id)
{
	nf_active_run alive[64];
	nf_run_info run;
	size_t nalive = 0;
	bool ended;

	if (!run_id)
		return kill(e->pid, 0) < 0 && errno == ESRCH;
	if (nf_store_run_get(p->w->st, run_id, &run) < 0) {
		nf_error_clear();
		return false;
	}
	ended = run.status != NF_RUN_RUNNING;
	if (!ended && nf_store_runs_active(p->w->st, p->name, alive, NF_ARRAY_SIZE(alive), &nalive) == 0 &&
	    nalive <= NF_ARRAY_SIZE(alive)) {
		ended = true;
		for (size_t k = 0; k < nalive; k++)
			ended &= alive[k].id != run_id;
	}
	nf_error_clear();
	nf_run_info_release(&run);
	return ended;
}

/* The runs of p's intervals that died with the machine (ev: p's newest events, newest
 * first), started again, each once, oldest first, while start_deadline allows and
 * max_active_runs has room (else looked at again when a run ends): a "refired" decision for
 * the interval, recorded before its run starts. With catchup = false only the last interval
 * decided, and not when a newer one is due (the one that runs stands for them); with
 * catchup = true each interval after the last whose run a scheduler saw end. A decision
 * whose child ended unreaped while the machine stayed up is settled instead. A refired run
 * that dies too is left as it is recorded: a pipeline that takes the machine down must not
 * start again at every boot. */
static void
refire_died(sched_daemon *d, pl *p, const nf_schedule_event *ev, size_t n, int64_t now)
{
	int64_t next, reaped_end = INT64_MIN;
	bool newer_due = nf_cron_next(&p->pol.cron, &p->pol.tz, p->last_end, &next) == 0 && next <= now;

	nf_error_clear();
	for (size_t i = 0; i < n; i++)
		if (ev[i].exit_status >= 0 && ev[i].interval_end > reaped_end && strcmp(ev[i].decision, "alert") != 0)
			reaped_end = ev[i].interval_end;
	for (size_t i = n; i-- > 0;) {   /* oldest first */
		const nf_schedule_event *e = &ev[i];
		char detail[160], why[256], span[80];
		decision dc = { .p = p, .what = "refired", .span = { e->interval_start, e->interval_end },
				.last_end = -1, .now = now, .detail = detail };
		int64_t run_id, wait_s;
		bool again = false;
		pid_t pid;

		/* this scheduler's own runs it reaps itself */
		if ((strcmp(e->decision, "fired") != 0 && strcmp(e->decision, "caught-up") != 0) ||
		    started_here(p, e->id) || e->pid <= 0 || e->exit_status != -1)
			continue;
		span_text(span, sizeof(span), &dc.span);
		if (!died_with_machine(p, e, &run_id)) {
			if (!ended_here(p, e, run_id))
				p->resume = true;   /* a run of the last scheduler goes on: looked at until it ends */
			else if (nf_store_schedule_event_settle(p->w->st, e->id) < 0)
				say(d, p->name, "cannot record a decision: %s", nf_error_last());
			else if (run_id)
				say(d, p->name, "%s %s: run %lld ended without the scheduler that started it; not to be"
				    " started again", e->decision, span, (long long)run_id);
			else
				say(d, p->name, "%s %s: its run process %ld ended without the scheduler that started it,"
				    " before it recorded a run; not to be started again", e->decision, span, (long)e->pid);
			continue;
		}
		for (size_t k = 0; k < i; k++)   /* the newer events */
			again |= strcmp(ev[k].decision, "refired") == 0 && ev[k].interval_start == e->interval_start &&
				 ev[k].interval_end == e->interval_end;
		if (again || (p->pol.catchup ? e->interval_end <= reaped_end : e->interval_end != p->last_end || newer_due) ||
		    (wait_s = nf_sched_deadline_wait(&p->pol, e->interval_end, now)) < 0) {
			if (nf_store_schedule_event_settle(p->w->st, e->id) < 0)
				say(d, p->name, "cannot record a decision: %s", nf_error_last());
			continue;
		}
		if (active_runs(d, p, why, sizeof(why)) >= p->pol.max_active) {
			p->resume = true;   /* the oldest first: the rest wait for a slot */
			return;
		}
		if (run_id)
			snprintf(detail, sizeof(detail), "run %lld died with the machine (a reboot)", (long long)run_id);
		else
			snprintf(detail, sizeof(detail), "its run process %ld died with the machine (a reboot) before it"
				 " recorded a run", (long)e->pid);
		if (record(&dc) < 0) {
			say(d, p->name, "cannot record a decision, so nothing is started: %s", nf_error_last());
			continue;
		}
		if (nf_store_schedule_event_settle(p->w->st, e->id) < 0)
			say(d, p->name, "cannot record a decision: %s", nf_error_last());
		if (spawn(d, p, "schedule", &dc.span, dc.event, wait_s, &pid) == 0)
			say(d, p->name, "refired %s: %s; started again, once (run process %ld)", span, detail,
			    (long)pid);
	}
}

/* First sight of a pipeline in its workspace: its row (or a new one, "registered"), the
 * newest alert-triggered run, and what a scheduler that stopped abruptly left undone. */
static int
pl_register(sched_daemon *d, pl *p, int64_t now)
{
	nf_schedule_row row;
	nf_schedule_event *ev = NULL;
	size_t n = 0;
	bool stale, came_back = false;
	int err = nf_store_schedule_get(p->w->st, p->name, &row);

	if (err == NF_ENOTFOUND) {
		char detail[256];
		decision dc = { .p = p, .what = "registered", .now = now, .last_end = now, .detail = detail };

		snprintf(detail, sizeof(detail), "%s (%s) from %s", p->cron, p->tz, p->file);
		if ((err = record(&dc)) < 0)
			return err;
		p->registered = now;
		say(d, p->name, "registered: %s", detail);
		return 0;
	}
	if (err < 0)
		return err;
	p->last_end = row.last_end;
	p->registered = row.registered;
	/* Edited, or removed and restored, while no scheduler ran: --status shows the row. */
	stale = strcmp(row.cron, p->cron) || strcmp(row.timezone, p->tz) || !same_file_name(row.file, p->file);
	nf_schedule_row_release(&row);
	if (nf_store_schedule_events(p->w->st, p->name, "alert", 1, &ev, &n) == 0 && n)
		p->last_alert = ev[0].time;
	nf_schedule_event_list_free(ev, n);
	/* Its schedule back, or changed, while no scheduler ran: recorded. */
	if (nf_store_schedule_events(p->w->st, p->name, NULL, RECENT_EVENTS, &ev, &n) == 0) {
		for (size_t i = 0; i < n; i++) {   /* newest first: its last change of schedule */
			const char *what = ev[i].decision;

			if (!strcmp(what, "unscheduled") || !strcmp(what, "registered") || !strcmp(what, "changed") ||
			    !strcmp(what, "rescheduled")) {
				came_back = !strcmp(what, "unscheduled");
				break;
			}
		}
		if (came_back)
			p->back_since = now;
		if (came_back || stale)
			record_change(d, p, came_back ? "rescheduled" : "changed", now);
		/* what the last scheduler left undone is taken up once this one runs (resume) */
		p->resume = true;
	}
	nf_schedule_event_list_free(ev, n);
	return 0;
}

/* What the last scheduler left undone for p, taken up once this one runs (after every
 * workspace was locked: a scheduler that refuses to start leaves it to the next): a run
 * decided and recorded but never started (pid 0) is started now, once, or recorded missed
 * past start_deadline (an alert's, which has none, started); and the run of the last interval that died with the machine is
 * refired (refire_died). */
static void
resume(sched_daemon *d, pl *p, int64_t now)
{
	nf_schedule_event *ev = NULL;
	size_t n = 0;

	p->resume = false;
	if (nf_store_schedule_events(p->w->st, p->name, NULL, RECENT_EVENTS, &ev, &n) < 0) {
		say(d, p->name, "cannot read its decisions: %s", nf_error_last());
		return;
	}
	for (size_t i = n; i-- > 0;) {
		bool alert = strcmp(ev[i].decision, "alert") == 0;
		bool run_kind = alert || strcmp(ev[i].decision, "fired") == 0 || strcmp(ev[i].decision, "caught-up") == 0 ||
				strcmp(ev[i].decision, "refired") == 0;
		nf_cron_span span = { ev[i].interval_start, ev[i].interval_end };
		pid_t pid;
		int64_t wait_s = alert ? 0 : nf_sched_deadline_wait(&p->pol, ev[i].interval_end, now);

		if (!run_kind || ev[i].pid != 0 || ev[i].run_id != 0 || started_here(p, ev[i].id))
			continue;
		/* An alert's run has no interval nor deadline: its trigger was consumed with the
		 * decision, so it is started now or never. */
		if (alert) {
			if (spawn(d, p, "alert", &span, ev[i].id, 0, &pid) == 0)
				say(d, p->name, "started run process %ld for alert, decided before the last scheduler"
				    " stopped", (long)pid);
			continue;
		}
		if (wait_s < 0) {
			if (nf_store_schedule_event_decide(p->w->st, ev[i].id, "missed",
							   "could not start within start_deadline of the "
							   "interval's end: the scheduler had stopped") < 0)
				say(d, p->name, "cannot record a decision: %s", nf_error_last());
			continue;
		}
		if (spawn(d, p, "schedule", &span, ev[i].id, wait_s, &pid) == 0)
			say(d, p->name, "started run process %ld for %s, decided before the last scheduler stopped",
			    (long)pid, ev[i].decision);
	}
	refire_died(d, p, ev, n, now);
	nf_schedule_event_list_free(ev, n);
}

static void
load_file(sched_daemon *d, const char *file, int64_t now)
{
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_dag *dag = NULL;
	ws *w = NULL;
	pl *p;
	char *src = NULL;
	size_t len = 0;
	int werr;

	if ((werr = nf_read_file(&src, &len, file, NF_DAG_MAX_FILE_SIZE)) < 0 ||
	    nf_graph_load_buffer(&dag, NULL, file, src, len, &diags) < 0) {
		/* Say it once per breakage; a pipeline scheduled from it keeps its last good
		 * version, and one never loaded waits for the file to be fixed. */
		if (!broken_logged(d, file, true)) {
			bool kept = false;

			for (size_t i = 0; i < d->npl; i++)
				kept |= d->pl[i]->scheduled && strcmp(d->pl[i]->file, file) == 0;
			say(d, file, kept ? "has errors; its last good version stays scheduled"
					  : "has errors; nothing of it is scheduled until it loads");
			nf_diag_print(&diags, d->o->log);
			if (!diags.nerrors)
				say(d, file, "%s", nf_error_last());
			fflush(d->o->log);
		}
		for (size_t i = 0; i < d->npl; i++)
			if (strcmp(d->pl[i]->file, file) == 0)
				d->pl[i]->seen = true;
		goto done;
	}
	if (broken_logged(d, file, false))
		say(d, file, "loads again");
	if (!dag->has_pipeline || !dag->pipeline.schedule)
		goto done;
	if ((werr = workspace_of(d, file, &w)) < 0) {
		if (!d->started && werr == NF_EBUSY && !d->start_error)
			d->start_error = xstrdup(nf_error_last());
		else if (!d->started && !d->ws_error) {
			d->ws_error = xstrdup(nf_error_last());
			d->ws_err = werr;
		}
		say(d, file, "%s", nf_error_last());
		goto done;
	}
	p = find_pl(d, w, dag->pipeline.name);
	if (p && p->seen && strcmp(p->file, file) != 0) {
		say(d, file, "pipeline '%s' is already scheduled from %s; this file is ignored", p->name, p->file);
		goto done;
	}
	if (!p) {
		p = xcalloc(1, sizeof(*p));
		p->name = xstrdup(dag->pipeline.name);
		p->w = w;
		pl_update(p, file, &dag->pipeline);
		if (pl_register(d, p, now) < 0) {
			say(d, p->name, "cannot be scheduled: %s", nf_error_last());
			free(p->name);
			free(p->file);
			free(p->cron);
			free(p->tz);
			free(p->policy);
			free(p);
			goto done;
		}
		p->good = src;
		p->good_len = len;
		src = NULL;
		d->pl = xgrow(d->pl, sizeof(*d->pl), d->npl + 1, &d->pl_cap);
		d->pl[d->npl++] = p;
	} else {
		bool was = p->scheduled, moved;
		char *old = xstrdup(p->cron), *old_tz = xstrdup(p->tz);

		pl_update(p, file, &dag->pipeline);
		free(p->good);
		p->good = src;
		p->good_len = len;
		src = NULL;
		/* Recorded (before it is said: who reads the log may ask --status at once), so
		 * that --status shows the schedule now in force. */
		moved = strcmp(old, p->cron) != 0 || strcmp(old_tz, p->tz) != 0;
		if (!was || moved)
			record_change(d, p, was ? "changed" : "rescheduled", now);
		if (!was) {
			p->back_since = now;
			say(d, p->name, "scheduled again: %s (%s)", p->cron, p->tz);
		}
		else if (moved)
			say(d, p->name, "schedule changed to %s (%s)", p->cron, p->tz);
		free(old);
		free(old_tz);
	}
	p->seen = true;
done:
	free(src);
	nf_dag_free(dag);
	nf_diag_list_release(&diags);
}

static bool
is_dag_name(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && strcmp(name + n - 4, ".dag") == 0 && name[0] != '.';
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether DAG file file is path (of length plen), or a file of it when it is a folder
 * ("dags" or "dags/", as the systemd unit names it): directly in it, as scan reads a folder
 * (a file of a subfolder is that subfolder's path's). */
static bool
under_path(const char *file, const char *path, size_t plen)
{
	const char *slash = strrchr(file, '/');
	size_t dir;

	if (strcmp(file, path) == 0)
		return true;
	while (plen > 1 && path[plen - 1] == '/')
		plen--;
	if (!slash)
		return false;
	dir = (size_t)(slash - file);
	if (plen == 1 && path[0] == '/')
		return dir == 0;   /* "/": the files of the root */
	return dir == plen && strncmp(file, path, plen) == 0;
}

/* Loads every path: files, and the *.dag files of folders (not their subfolders). */
static void
scan(sched_daemon *d, int64_t now)
{
	for (size_t i = 0; i < d->npl; i++)
		d->pl[i]->seen = false;
	for (size_t i = 0; i < d->o->npaths; i++) {
		const char *path = d->o->paths[i];
		struct stat sb;
		DIR *dir;
		struct dirent *e;
		char **names = NULL;
		size_t n = 0, cap = 0;

		if (stat(path, &sb) < 0) {
			size_t plen = strlen(path);
			char *key = xasprintf(UNREADABLE "%s", path);

			if (!broken_logged(d, key, true))
				say(d, path, "cannot be read: %s", strerror(errno));
			free(key);
			if (!d->started)
				d->nunreadable++;
			/* A file or folder being replaced keeps its pipelines, for a while: gone for
			 * longer, it was removed (the last good version was run every week for ever). */
			for (size_t k = 0; k < d->npl; k++) {
				pl *q = d->pl[k];

				if (!under_path(q->file, path, plen))
					continue;
				if (!q->missing_since)
					q->missing_since = now;
				if (now - q->missing_since < FILE_GONE_S) {
					q->seen = true;
					if (!d->rescan_at || q->missing_since + FILE_GONE_S < d->rescan_at)
						d->rescan_at = q->missing_since + FILE_GONE_S;
				}
			}
			continue;
		}
		{
			char *key = xasprintf(UNREADABLE "%s", path);
			size_t plen = strlen(path);

			if (broken_logged(d, key, false))
				say(d, path, "can be read again");
			free(key);
			for (size_t k = 0; k < d->npl; k++)
				if (under_path(d->pl[k]->file, path, plen))
					d->pl[k]->missing_since = 0;
		}
		if (!S_ISDIR(sb.st_mode)) {
			load_file(d, path, now);
			continue;
		}
		if (!(dir = opendir(path)))
			continue;
		while ((e = readdir(dir))) {
			if (!is_dag_name(e->d_name))
				continue;
			names = xgrow(names, sizeof(*names), n + 1, &cap);
			/* "dags/" as the systemd unit writes it: dags/wk.dag, not dags//wk.dag */
			names[n++] = xasprintf("%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", e->d_name);
		}
		closedir(dir);
		if (n)   /* an empty folder: no array to sort (qsort of NULL is undefined) */
			qsort(names, n, sizeof(*names), cmp_str);
		for (size_t k = 0; k < n; k++) {
			load_file(d, names[k], now);
			free(names[k]);
		}
		free(names);
	}
	for (size_t i = 0; i < d->npl; i++) {
		if (!d->pl[i]->seen && d->pl[i]->scheduled) {
			d->pl[i]->scheduled = false;
			record_change(d, d->pl[i], "unscheduled", now);
			say(d, d->pl[i]->name, "no longer scheduled (%s is gone or has no schedule)", d->pl[i]->file);
		}
	}
}

/* Whether wd watches a path's folder other than path i's. */
static bool
wd_shared(const sched_daemon *d, size_t i, int wd)
{
	for (size_t k = 0; k < d->o->npaths; k++)
		if (k != i && (d->folder_wd[k] == wd || d->parent_wd[k] == wd))
			return true;
	return false;
}

/* Watches the folders of the paths, so an edited, added or removed DAG file reloads, and
 * each folder's parent, so a folder replaced by another of its name (a deploy by rename)
 * is watched again: called at start and after each reload (a folder watched already keeps
 * its watch; the one on a folder moved away is dropped). */
static void
watch_paths(sched_daemon *d)
{
	bool first = !d->folder_wd;

	if (first) {
		d->folder_wd = xcalloc(d->o->npaths + 1, sizeof(*d->folder_wd));
		d->parent_wd = xcalloc(d->o->npaths + 1, sizeof(*d->parent_wd));
		d->folder_name = xcalloc(d->o->npaths + 1, sizeof(*d->folder_name));
		for (size_t i = 0; i < d->o->npaths; i++)
			d->folder_wd[i] = d->parent_wd[i] = -1;
	}
	for (size_t i = 0; i < d->o->npaths; i++) {
		char *copy = xstrdup(d->o->paths[i]), *pcopy, *parent;
		size_t len = strlen(copy);
		const char *base;

		while (len > 1 && copy[len - 1] == '/')
			copy[--len] = '\0';   /* "dags/" is the folder dags, in its parent */
		base = strrchr(copy, '/') ? strrchr(copy, '/') + 1 : copy;
		/* A path is a DAG file or a folder by its name, not by what is there now: a
		 * folder being replaced is still the folder to watch. Masks are added to, as one
		 * folder may be a path's and another's parent. */
		const char *dir = is_dag_name(base) ? dirname(copy) : copy;
		int wd = inotify_add_watch(d->ino, dir, IN_MASK_ADD | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
							 IN_DELETE | IN_CREATE | IN_MOVE_SELF | IN_DELETE_SELF | IN_ONLYDIR);

		if (wd < 0 && (first || d->folder_wd[i] >= 0))
			say(d, dir, "cannot watch for changes (%s); watching its parent for it, and SIGHUP reloads",
			    strerror(errno));
		if (d->folder_wd[i] >= 0 && d->folder_wd[i] != wd && !wd_shared(d, i, d->folder_wd[i]))
			inotify_rm_watch(d->ino, d->folder_wd[i]);
		d->folder_wd[i] = wd;
		pcopy = xstrdup(dir);
		parent = dirname(pcopy);
		free(d->folder_name[i]);
		d->folder_name[i] = xstrdup(strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir);
		if (strcmp(parent, dir) != 0 && d->parent_wd[i] < 0)
			d->parent_wd[i] = inotify_add_watch(d->ino, parent, IN_MASK_ADD | IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
		free(pcopy);
		free(copy);
	}
}

/* ---- the loop ---- */

/* What inotify said: a DAG file changed (reload), or a workspace's lock holder came or
 * went (decide again: a slot may be free). */
static void
read_inotify(sched_daemon *d)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(d->ino, buf, sizeof(buf))) > 0) {
		for (char *ptr = buf; ptr < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)ptr;

			if (e->len && is_dag_name(e->name))
				d->reload = true;
			/* A watched folder moved away or removed, or one of its name come in its
			 * parent: read again, and watched again (watch_paths after the scan). */
			for (size_t i = 0; d->folder_wd && i < d->o->npaths; i++) {
				if (e->wd == d->folder_wd[i] && (e->mask & (IN_MOVE_SELF | IN_DELETE_SELF | IN_IGNORED)))
					d->reload = true;
				if (e->wd == d->parent_wd[i] && e->len && strcmp(e->name, d->folder_name[i]) == 0)
					d->reload = true;
			}
			ptr += sizeof(*e) + e->len;
		}
	}
}

/* --log opened again (SIGHUP: logrotate moved it away), on the same descriptor, which the
 * runs started from now on inherit; the old file stays when the new cannot be opened. */
static void
reopen_log(sched_daemon *d)
{
	FILE *f;

	if (!d->o->log_path)
		return;
	fflush(d->o->log);
	if (!(f = fopen(d->o->log_path, "ae"))) {
		say(d, "scheduler", "cannot open the log %s again (%s); writing on where it was", d->o->log_path,
		    strerror(errno));
		return;
	}
	if (dup3(fileno(f), fileno(d->o->log), O_CLOEXEC) < 0)
		say(d, "scheduler", "cannot open the log %s again (%s); writing on where it was", d->o->log_path,
		    strerror(errno));
	fclose(f);
}

static void
read_signals(sched_daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			d->reload = true;
			reopen_log(d);
			say(d, "scheduler", "SIGHUP: reloading");
			break;
		case SIGTERM:
		case SIGINT:
			if (d->stopping || d->o->cancel_on_exit) {
				for (size_t i = 0; i < d->nkids; i++)
					kill(d->kids[i].pid, SIGTERM);
				if (d->nkids)
					say(d, "scheduler", "stopping: cancelling %zu run%s", d->nkids, d->nkids == 1 ? "" : "s");
			} else if (d->nkids) {
				say(d, "scheduler", "stopping: waiting for %zu run%s to finish (again to cancel)", d->nkids,
				    d->nkids == 1 ? "" : "s");
			}
			d->stopping = true;
			break;
		default:
			break;
		}
	}
}

static void
daemon_free(sched_daemon *d)
{
	for (size_t i = 0; i < d->npl; i++) {
		free(d->pl[i]->name);
		free(d->pl[i]->file);
		free(d->pl[i]->cron);
		free(d->pl[i]->tz);
		free(d->pl[i]->policy);
		free(d->pl[i]->good);
		free(d->pl[i]);
	}
	free(d->pl);
	for (size_t i = 0; i < d->nkids; i++)
		free(d->kids[i].snapshot);   /* a run still going keeps reading it */
	for (size_t i = 0; i < d->nws; i++)
		ws_free(d->ws[i]);
	free(d->ws);
	free(d->kids);
	for (size_t i = 0; i < d->nbroken; i++)
		free(d->broken[i]);
	free(d->broken);
	for (size_t i = 0; d->folder_name && i < d->o->npaths; i++)
		free(d->folder_name[i]);
	free(d->folder_name);
	free(d->folder_wd);
	free(d->parent_wd);
	free(d->start_error);
	free(d->ws_error);
	if (d->ino >= 0)
		close(d->ino);
	if (d->sigfd >= 0)
		close(d->sigfd);
	sigprocmask(SIG_SETMASK, &d->oldmask, NULL);
}

static int
setup(sched_daemon *d)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &d->oldmask);
	if ((d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0 ||
	    (d->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
		return nf_error_set(NF_EIO, "cannot set up the scheduler: %s", strerror(errno));
	return 0;
}

/* How many pipelines are scheduled. */
static int
n_scheduled(const sched_daemon *d)
{
	int n = 0;

	for (size_t i = 0; i < d->npl; i++)
		n += d->pl[i]->scheduled;
	return n;
}

int
nf_scheduler_run(const nf_scheduler_opts *o)
{
	sched_daemon d = { .o = o, .clock = o->clock, .ino = -1, .sigfd = -1 };
	int err, nscheduled;

	d.since = d.clock->now(d.clock);
	if ((err = setup(&d)) < 0)
		goto done;
	scan(&d, d.since);
	d.started = true;
	/* Refuse to start beside another scheduler, or with nothing to do. */
	if (d.start_error) {
		err = nf_error_set(NF_EBUSY, "%s", d.start_error);
		goto done;
	}
	nscheduled = n_scheduled(&d);
	/* Nothing to schedule: an error, unless files with errors, or paths that cannot be read
	 * (a folder replaced by a deploy as the scheduler starts), are why. A bad push before a
	 * reboot must not stop the weekly runs for good (the systemd unit does not restart on
	 * exit 2): the scheduler waits for the fix. A workspace that cannot be opened (its
	 * store damaged) is the error, with its status, not "no scheduled pipeline". */
	if (nscheduled == 0 && d.ws_error) {
		err = nf_error_set(d.ws_err, "%s", d.ws_error);
		goto done;
	}
	if (nscheduled == 0 && !nbroken_files(&d) && !d.nunreadable) {
		err = nf_error_set(NF_ENOTFOUND, "no scheduled pipeline in %s%s", o->paths[0], o->npaths > 1 ? " ..." : "");
		goto done;
	}
	/* Paths that cannot be read and nothing else: given the time a replaced file or folder
	 * takes to come back (a deploy by rename as the scheduler starts), then, still nothing,
	 * the error it is (a path mistyped). */
	if (nscheduled == 0 && !nbroken_files(&d))
		d.give_up_at = d.since + FILE_GONE_S;
	watch_paths(&d);
	export_textfile(&d);
	say(&d, "scheduler", "started (pid %ld, %s), %d pipeline%s scheduled", (long)getpid(), d.clock->desc,
	    nscheduled, nscheduled == 1 ? "" : "s");
	if (nscheduled == 0 && nbroken_files(&d))
		say(&d, "scheduler", "waiting for the %zu file%s with errors to be fixed", nbroken_files(&d),
		    nbroken_files(&d) == 1 ? "" : "s");
	else if (nscheduled == 0)
		say(&d, "scheduler", "waiting for the %zu path%s that cannot be read to come back", d.nunreadable,
		    d.nunreadable == 1 ? "" : "s");
	for (;;) {
		struct pollfd fds[3] = {
			{ d.clock->fd, POLLIN, 0 }, { d.sigfd, POLLIN, 0 }, { d.ino, POLLIN, 0 },
		};
		int64_t now, wake = INT64_MAX;

		if (reap(&d) > 0)
			export_textfile(&d);
		now = d.clock->now(d.clock);
		if (d.rescan_at && now >= d.rescan_at) {
			d.rescan_at = 0;
			d.reload = true;
		}
		if (d.reload && !d.stopping) {
			d.reload = false;
			scan(&d, now);
			watch_paths(&d);
		}
		if (!d.stopping) {
			for (size_t i = 0; i < d.npl; i++) {
				if (!d.pl[i]->scheduled)
					continue;
				if (d.pl[i]->resume)
					resume(&d, d.pl[i], now);
				step_schedule(&d, d.pl[i], now, &wake);
				step_alerts(&d, d.pl[i], now, &wake);
			}
		}
		if (d.stopping && d.nkids == 0)
			break;
		if (d.give_up_at) {
			if (n_scheduled(&d) || nbroken_files(&d)) {
				d.give_up_at = 0;   /* something came: the scheduler runs on */
			} else if (now >= d.give_up_at && d.nkids == 0) {
				err = nf_error_set(NF_ENOTFOUND, "no scheduled pipeline in %s%s after %d s of waiting for what "
						   "could not be read", o->paths[0], o->npaths > 1 ? " ..." : "", FILE_GONE_S);
				goto done;
			} else if (d.give_up_at < wake) {
				wake = d.give_up_at;
			}
		}
		/* A run the last scheduler left going is no child of this one: its end wakes
		 * nothing, so it is looked at each minute until it has ended (and is settled, so
		 * that a later reboot does not take it for a run that died with the machine). */
		for (size_t i = 0; i < d.npl; i++)
			if (d.pl[i]->resume && now + RESUME_EVERY_S < wake)
				wake = now + RESUME_EVERY_S;
		if (d.rescan_at && d.rescan_at < wake)
			wake = d.rescan_at;
		if ((err = d.clock->arm(d.clock, wake)) < 0)
			goto done;
		if (poll(fds, 3, -1) < 0 && errno != EINTR) {
			err = nf_error_set(NF_EIO, "the scheduler cannot wait: %s", strerror(errno));
			goto done;
		}
		if (fds[0].revents)
			d.clock->drain(d.clock);
		if (fds[1].revents)
			read_signals(&d);
		if (fds[2].revents)
			read_inotify(&d);
	}
	say(&d, "scheduler", "stopped");
	err = 0;
done:
	daemon_free(&d);
	return err;
}

int
nf_scheduler_holder(const char *state_dir, nf_sched_holder *out)
{
	char *path = xasprintf("%s/%s", state_dir, LOCK_NAME), buf[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	*out = (nf_sched_holder){ 0 };
	free(path);
	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
		out->running = true;
		if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) > 0) {
			long long since = 0;

			buf[n] = '\0';
			if (sscanf(buf, "%ld %lld", &out->pid, &since) == 2)
				out->since = since;
		}
	}
	close(fd);
	return 0;
}
