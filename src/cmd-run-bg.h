/* cmd-run-bg.h: `ntflow run`'s executor as a process of its own (cmd-run-bg.c), as tmux's
 * server is: on a terminal the command forks it and becomes its dashboard client; with
 * --detach it forks it and returns. */
#ifndef NTFLOW_CMD_RUN_BG_H
#define NTFLOW_CMD_RUN_BG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ntflow/run.h"

typedef struct nf_run_bg {
	bool child;          /* this process is the executor */
	pid_t pid;           /* the command: the executor's pid */
	int ready_fd;        /* the executor writes its run id here at the run's start */
	int ctl_fd;          /* the executor: its control channel (-1 until the first tick) */
	char *state_dir;     /* the executor: the workspace, once the run has started */
	int64_t run_id;
} nf_run_bg;

/* Forks the executor: in the child (bg->child) a session leader of its own (a closed
 * terminal does not stop it; Ctrl-C at the terminal reaches it only through its client),
 * stdin from /dev/null; stdout and stderr stay the terminal's until the run starts, so a
 * DAG error or a wait for the workspace lock prints where the user looks. */
int nf_run_bg_fork(nf_run_bg *bg);
/* The executor, at the run's start: its output goes to STATE_DIR/executor/RUN.log, its
 * control channel is made, and the command is told the run id. */
int nf_run_bg_started(nf_run_bg *bg, const char *dag_path, const char *state_override, int64_t run_id);
/* The executor, on each tick: reads its control channel. */
void nf_run_bg_tick(nf_run_bg *bg, nf_run_ctl *ctl);
/* The executor, at its end: removes the control channel. */
void nf_run_bg_end(nf_run_bg *bg);
/* The command: waits for the run id (Ctrl-C in the meantime is passed on). 1 with
 * bg->run_id set; 0 when the executor ended before its run started, with *rc its exit
 * status. */
int nf_run_bg_wait_start(nf_run_bg *bg, int *rc);
/* The command's exit status for an executor's wait status. */
int nf_run_bg_exit_code(int wstatus);
/* The command: the dashboard client of the run until it ends or the user detaches; prints
 * the summary (or how to come back) and returns the exit status of `ntflow run`. */
int nf_run_bg_attach(nf_run_bg *bg, const char *dag_path, const char *state_override);
/* --detach: says how to watch the run; exit status 0. */
int nf_run_bg_detached(nf_run_bg *bg, const char *dag_path, const char *state_override, bool json);

#endif
