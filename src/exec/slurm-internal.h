/* slurm-internal.h: the Slurm runner's state, shared by its tracking (runner-slurm.c) and
 * its submission (runner-slurm-submit.c). Private to src/exec. */
#ifndef NTFLOW_EXEC_SLURM_INTERNAL_H
#define NTFLOW_EXEC_SLURM_INTERNAL_H

#include "ntflow/slurm.h"

typedef enum {
	SJ_QUEUED,                   /* waiting for the next submission turn */
	SJ_SUBMITTED,                /* sbatch took it: tracked by squeue */
	SJ_DONE,                     /* ended: reported, or about to be */
} sjob_state;

/* One attempt of a node on Slurm. */
typedef struct sjob {
	size_t node;
	int attempt;
	sjob_state st;
	char *stage, *instance, *command, *cwd, *log_path;
	char *root;   /* --chdir: the workspace (the script cds to cwd) */
	char **env;                  /* NAME=VALUE, NULL-terminated */
	char **args;                 /* sbatch options, NULL-terminated */
	int64_t timeout_ms, grace_ms;   /* kept by the batch script (timeout(1)); 0: none */
	int64_t start_ms;            /* on the runner's clock, when start() queued it */
	uint64_t job_id;             /* a single job's id, or the array's */
	uint64_t raw_id;             /* an array task's own id once squeue showed it, else job_id */
	long task;                   /* the array task, -1 for a single job */
	char *slurm_out;             /* an array task's own output file (Slurm's messages), or NULL */
	char name[NF_SLURM_NAME_MAX + 1];
	bool cancel_sent;
	int cancel_sig;
	int misses;                  /* polls in a row that found the job nowhere */
	char state[32], reason[64];  /* last seen, for the dashboard */
	nf_job_result res;           /* SJ_DONE: what is reported */
	char msg[256];               /* res.message */
	bool reported;
} sjob;

typedef struct adopt_ent {
	size_t node;
	uint64_t job_id;
	long task;                   /* -1, or the task of the array job job_id */
	char *name, *old_log;
	int64_t submitted_ms;
} adopt_ent;

typedef struct slurm_runner {
	nf_runner base;
	nf_clock *clock;
	nf_slurm_runner_opts o;      /* strings owned */
	sjob **jobs;                 /* every attempt started, in order */
	size_t njobs, cap;
	size_t queued, live;         /* jobs SJ_QUEUED, SJ_SUBMITTED */
	size_t unreported;           /* SJ_DONE not reported yet */
	adopt_ent *adopt;
	size_t nadopt, adopt_cap;
	unsigned groups;             /* array submissions so far (script names) */
	int squeue_failures;         /* polls in a row whose squeue failed */
	nf_loop *loop;
	nf_job_done_fn done;
	void *done_ctx;
	int64_t submit_timer, poll_timer, report_timer;
} slurm_runner;

/* Submits up to the burst of queued jobs, grouping arrays; a failed submission ends its
 * jobs failed with sbatch's message (runner-slurm-submit.c). */
void nf_slurm__submit_some(slurm_runner *sr);
/* Ends j with phase (msg the failure's text; rec, when known, the exit) for the next report. */
void nf_slurm__finish(slurm_runner *sr, sjob *j, nf_slurm_phase phase, const char *msg, const nf_slurm_rec *rec);
/* Single-quotes s for sh into b. */
void nf_slurm__quote(nf_buf *b, const char *s);
/* The folder of path, made when missing. */
int nf_slurm__make_parent(const char *path);
/* The first line of a command's output, for messages. */
void nf_slurm__first_line(char *out, size_t cap, const char *text);

#endif
