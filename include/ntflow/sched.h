/* sched.h: the scheduler daemon (`ntflow scheduler`): what a pipeline's schedule asks for
 * at a time (plan.c, pure, so tests step a year in microseconds), the wall clock it sleeps
 * on (wallclock.c), and the daemon that starts runs as child processes (daemon.c). */
#ifndef NTFLOW_SCHED_H
#define NTFLOW_SCHED_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "ntflow/cron.h"

/* ---- Decisions (src/sched/plan.c) ---- */

/* A pipeline's schedule and what it declared for misses, overlaps and alerts. */
typedef struct nf_sched_policy {
	nf_cron cron;
	nf_tz tz;
	bool catchup;
	int max_active;                /* >= 1 */
	bool overlap_skip;
	int64_t deadline;              /* seconds after an interval's end; 0: none */
	int64_t cooldown;              /* seconds after an alert-triggered run; 0: none */
} nf_sched_policy;

typedef enum nf_sched_act_kind {
	NF_SA_NONE,                    /* nothing due: look again at `wake` */
	NF_SA_START,                   /* start a run for `span` */
	NF_SA_SKIP,                    /* record `count` intervals skipped (why) */
	NF_SA_MISSED,                  /* record `span` missed: past its start deadline */
	NF_SA_WAIT,                    /* `span` is due but max_active runs are going */
} nf_sched_act_kind;

typedef struct nf_sched_act {
	nf_sched_act_kind kind;
	nf_cron_span span;             /* SKIP: from the first skipped start to the last skipped end */
	int64_t last_end;              /* START, SKIP, MISSED: the pipeline's last_end after it */
	int64_t count;                 /* SKIP: how many intervals (capped at NF_SCHED_COUNT_MAX) */
	bool catchup;                  /* START: the interval ended before the daemon started */
	const char *why;               /* SKIP: "catchup = false" or "overlap = skip" */
	int64_t wake;                  /* NONE, WAIT: when to decide again (INT64_MAX: only on an event) */
} nf_sched_act;

#define NF_SCHED_COUNT_MAX 100000

/* How long a run of the interval that fired at fire may still wait to start at time now:
 * until start_deadline after fire (at least a second: it was in time), 0 for as long as it
 * takes (no start_deadline), -1 when the deadline has passed (the interval is missed). */
int64_t nf_sched_deadline_wait(const nf_sched_policy *p, int64_t fire, int64_t now);

/* The next thing to do for a pipeline whose last decided interval ended at last_end, at
 * time now, with `active` of its runs going; since: when the daemon started. The caller
 * applies START, SKIP and MISSED (recording last_end) and asks again until NONE or WAIT.
 * Intervals are decided oldest first; with catchup false every due interval but the newest
 * is skipped at once. An error only when the schedule never fires (NF_ENOTFOUND). */
int nf_sched_decide(const nf_sched_policy *p, int64_t last_end, int64_t now, int64_t since, int active,
		    nf_sched_act *out);

typedef enum nf_sched_alert_act {
	NF_SAA_START,                  /* start a run with trigger alert */
	NF_SAA_WAIT,                   /* keep the trigger: max_active runs are going */
	NF_SAA_SUPPRESS,               /* mark it handled without a run: within the cooldown */
} nf_sched_alert_act;

/* What to do with an alert trigger at now, when the last alert-triggered run started at
 * last_alert (0: never) and `active` runs of the pipeline are going. *until: the end of
 * the cooldown (SUPPRESS). */
nf_sched_alert_act nf_sched_alert_decide(const nf_sched_policy *p, int64_t now, int64_t last_alert, int active,
					 int64_t *until);

/* ---- The wall clock (src/sched/wallclock.c) ---- */

/* Real time in seconds, and a file descriptor that becomes readable when an armed time has
 * come (or the time may have jumped): the daemon polls it with its other descriptors. */
typedef struct nf_wallclock nf_wallclock;
struct nf_wallclock {
	int64_t (*now)(nf_wallclock *c);
	/* Makes fd readable at `at` (seconds since the epoch; INT64_MAX: never). */
	int (*arm)(nf_wallclock *c, int64_t at);
	/* Consumes what made fd readable. */
	void (*drain)(nf_wallclock *c);
	void (*free)(nf_wallclock *c);
	int fd;
	char desc[160];                /* "system clock" or "test clock FILE" */
};
/* CLOCK_REALTIME through a timerfd (absolute, woken early when the clock is set). */
int nf_wallclock_system(nf_wallclock **out);
/* For tests: now is the time the file holds (ISO 8601 UTC, nf_time_parse_utc), fd is
 * readable when the file is replaced or written (inotify). NF_EINVALID when unreadable. */
int nf_wallclock_file(nf_wallclock **out, const char *path);
/* The time now in seconds, for a command that reads the schedules once (--status, doctor):
 * the test clock's in a test build when NTFLOW_TEST_NOW names one, else the system's. */
int64_t nf_wallclock_now(void);

/* ---- The daemon (src/sched/daemon.c) ---- */

typedef struct nf_scheduler_opts {
	char *const *paths;            /* DAG files and folders of them */
	size_t npaths;
	const char *state;             /* --state DIR, or NULL: each file's workspace */
	FILE *log;                     /* one line per decision */
	const char *log_path;          /* --log: the file log is, opened again on SIGHUP (logrotate) */
	bool cancel_on_exit;           /* SIGTERM cancels running runs instead of waiting */
	const char *self;              /* the ntflow binary children run */
	const char *textfile;          /* --textfile: Prometheus metrics rewritten after each run, or NULL */
	nf_wallclock *clock;           /* borrowed */
} nf_scheduler_opts;

/* Runs the daemon until SIGTERM or SIGINT (then waits for its runs, or cancels them),
 * reloading on SIGHUP and when a DAG file changes. NF_EBUSY when another scheduler holds a
 * workspace; NF_EINVALID when no path holds a scheduled pipeline at start. */
int nf_scheduler_run(const nf_scheduler_opts *o);

/* The run a decision of the scheduler started (ev: its event in the store, st's): the one
 * its child recorded, found by the event or by the child's pid (the newest run of that pid
 * is it only when it has the trigger and the interval the decision asked for: the pid may
 * have been reused). *run_id 0 when none was recorded (yet). */
struct nf_store;
struct nf_schedule_event;
void nf_sched_event_run(struct nf_store *st, const struct nf_schedule_event *ev, int64_t *run_id);
/* Whether the pipeline's newest change of schedule took it off (its file gone, or its
 * schedule): its row stays, for --status, but nothing fires. */
bool nf_sched_unscheduled(struct nf_store *st, const char *pipeline);

/* STATE_DIR/scheduler.lock's holder: whether a daemon holds it, its pid and start. */
typedef struct nf_scheduler_holder {
	bool running;
	long pid;
	int64_t since;                 /* seconds, its clock */
} nf_sched_holder;
int nf_scheduler_holder(const char *state_dir, nf_sched_holder *out);

#endif
