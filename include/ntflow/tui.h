/* tui.h: the dashboard: an ncurses view of one run (its stages on a timeline, the gate, the
 * model registry, drift alerts and the log of the selected stage), fed by the state
 * database and, inside `ntflow run`, by the run's own events. */
#ifndef NTFLOW_TUI_H
#define NTFLOW_TUI_H

#include <stdio.h>
#include <sys/types.h>
#include "ntflow/run.h"

typedef struct nf_tui nf_tui;

typedef struct nf_tui_opts {
	const char *state_dir;   /* the workspace's state directory, resolved */
	int64_t run_id;          /* 0: the running or last run, and newer ones as they start */
	bool live;               /* inside `ntflow run`: c, r and q act on the run */
	int max_frames;          /* > 0: quit after this many frames, one at least every 100 ms */
	const char *screen;      /* NULL: the terminal; else draw into this file or terminal
	                          * device as a terminal of cols x rows, reading no keys */
	int cols, rows;          /* with screen; 0: 100 x 30 */
	const char *dag_path;    /* `ntflow dash FILE`: its schedule is shown while no run names
	                          * a DAG file of its own; NULL */
	pid_t executor;          /* > 0: the dashboard of `ntflow run`, a client of the run
	                          * run_id whose executor is this child process: c, r and q act
	                          * on the run through its control channel, Ctrl-C is passed on
	                          * to it (cancels), the loop ends when it has ended (after q
	                          * unless cancelled) or when the user detaches */
} nf_tui_opts;

/* Whether `ntflow run` should open the dashboard: stdout and stdin are terminals and TERM
 * names one that can address the cursor (not empty, not "dumb"). */
bool nf_tui_wanted(void);
/* Parses --size COLSxROWS ("100x30"): 0, or NF_EINVALID with a message. */
int nf_tui_parse_size(const char *s, int *cols, int *rows);

/* Opens the screen (the terminal restored on exit, error, SIGINT, SIGTERM and crashes) and
 * the state database. Without a run named, a workspace with no database yet is no error:
 * the dashboard waits for its first run. NF_ENOTFOUND when run_id names no run (or there
 * is no database to hold it); NF_EIO when the terminal cannot be used. */
int nf_tui_new(nf_tui **out, const nf_tui_opts *opts);
/* `ntflow dash`: follows the run until q, a signal or max_frames. Returns 0, or
 * NF_EINTR after SIGINT/SIGTERM. */
int nf_tui_loop(nf_tui *t);

/* `ntflow run`: the run's callbacks. None of them blocks; drawing happens in run_tick at
 * most 10 times a second, never per event. */
void nf_tui_run_start(nf_tui *t, int64_t run_id, const char *pipeline, size_t total);
void nf_tui_run_event(nf_tui *t, const nf_run_event *ev);
void nf_tui_run_tick(nf_tui *t, nf_run_ctl *ctl);
/* Kept and printed by nf_tui_print_summary (the screen would hide them). */
void nf_tui_run_warning(nf_tui *t, const char *msg);
/* The run has ended: shows its outcome with "finished — q to exit" and waits for q, unless
 * detached, drawing into a screen, or the run was cancelled. */
void nf_tui_run_finished(nf_tui *t, nf_run_status status);
/* The user chose to detach: the run goes on without the dashboard and without lines. */
bool nf_tui_detached(const nf_tui *t);
/* The run shown (0: none yet). */
int64_t nf_tui_run_shown(const nf_tui *t);
/* With opts.executor: whether the executor has ended (reaped by the loop), and its wait
 * status. */
bool nf_tui_executor_status(const nf_tui *t, int *wstatus);

/* Restores the terminal (idempotent); the view stays readable for the summary. */
void nf_tui_end(nf_tui *t);
/* The plain summary of the run shown, for the scroll-back after the screen is gone: status
 * and duration, gate, registered version, open alerts, then any warnings. */
void nf_tui_print_summary(nf_tui *t, FILE *f);
void nf_tui_free(nf_tui *t);

#endif
