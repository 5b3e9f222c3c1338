/* slurm.h: the Slurm executor (part of exec): a runner that submits each attempt with
 * sbatch and tracks all of a run's jobs with one squeue call per poll, and the pure parsing
 * of what sbatch, squeue, sacct and scontrol print, with the mapping of Slurm's job states
 * onto ntflow's (unit-tested without a cluster). */
#ifndef NTFLOW_SLURM_H
#define NTFLOW_SLURM_H

#include "ntflow/exec.h"

/* ---- parsing and state mapping (slurm-parse.c: pure) ---- */

/* One job (or array task) as squeue, sacct -c or scontrol report it. */
typedef struct nf_slurm_rec {
	uint64_t job_id;             /* the raw id (an array task's own id) */
	uint64_t array_id;           /* the array's id; 0 when not an array task */
	long task;                   /* the array task; -1 when none or a pending range */
	char state[32];              /* "COMPLETED", "CANCELLED" (" by UID" cut off) */
	char reason[64];             /* "Resources", "None", "" when not reported */
	bool have_exit;              /* exit_code/term_signal known */
	int exit_code, term_signal;
	char name[256];              /* the job name, possibly cut */
} nf_slurm_rec;

/* The id sbatch --parsable printed ("123" or "123;cluster"). NF_EINVALID when none. */
int nf_slurm_parse_sbatch(uint64_t *job_id, const char *text);
/* The lines of `squeue -h -O 'JobID:|,ArrayJobID:|,ArrayTaskID:|,State:|,Reason:|,
 * exit_code:|,Name:|'` (NF_SLURM_SQUEUE_FORMAT; exit_code is the raw wait status); the
 * name is the rest of the line, so it may hold '|' and spaces. Lines that do not parse are
 * skipped. *out is the caller's (free). */
#define NF_SLURM_SQUEUE_FORMAT "JobID:|,ArrayJobID:|,ArrayTaskID:|,State:|,Reason:|,exit_code:|,Name:|"
int nf_slurm_parse_squeue(nf_slurm_rec **out, size_t *n, const char *text);
/* The lines of `sacct -n -P -o jobid,jobname,state,exitcode` (with or without -c): job
 * steps ("12.batch", "12.0", "12+1") are skipped, "12_3" is array task 3 of 12, "EXIT:SIG"
 * is the exit. The name is every field between the id and the last two, so a name with
 * '|' survives. */
int nf_slurm_parse_sacct(nf_slurm_rec **out, size_t *n, const char *text);
/* The lines of `scontrol -o show job ID`: JobId, ArrayJobId, ArrayTaskId, JobName (up to
 * the next " UserId=", so spaces survive), JobState, Reason, ExitCode. */
int nf_slurm_parse_scontrol(nf_slurm_rec **out, size_t *n, const char *text);

/* What a Slurm state means to ntflow. */
typedef enum {
	NF_SLURM_QUEUED,             /* PENDING, REQUEUED...: waiting for resources */
	NF_SLURM_RUNNING,            /* CONFIGURING, RUNNING, COMPLETING, SUSPENDED... */
	NF_SLURM_SUCCEEDED,          /* COMPLETED */
	NF_SLURM_FAILED,             /* FAILED, NODE_FAIL, OUT_OF_MEMORY, BOOT_FAIL, DEADLINE,
	                              * PREEMPTED, CANCELLED by someone else, unknown states */
	NF_SLURM_TIMED_OUT,          /* TIMEOUT */
	NF_SLURM_CANCELLED,          /* CANCELLED after ntflow's own scancel */
} nf_slurm_phase;

/* Maps rec's state for job (its id for the message), cancelled_by_us when ntflow sent the
 * scancel. *msg (size cap) gets the text a failure is reported with ("Slurm job 12 FAILED
 * (exit 3)", "cancelled outside ntflow (Slurm job 12 CANCELLED)"), empty otherwise. */
nf_slurm_phase nf_slurm_judge(const nf_slurm_rec *rec, bool cancelled_by_us, char *msg, size_t cap);
/* Queued or running: not over yet. */
bool nf_slurm_phase_live(nf_slurm_phase p);
/* sbatch --time in whole minutes for a timeout, rounded up ("2" for 61s); 0 for none. */
long nf_slurm_time_minutes(int64_t timeout_ms);
/* The job name "ntflow-RUN-STAGE[-ID]" in out (cap >= 16): characters outside [A-Za-z0-9._-]
 * become '_', and a name longer than cap-1 (or NF_SLURM_NAME_MAX) is cut in the stage part,
 * keeping the run and the instance id whole where they fit. */
#define NF_SLURM_NAME_MAX 100
void nf_slurm_job_name(char *out, size_t cap, int64_t run_id, const char *stage, const char *instance);

/* ---- the runner (runner-slurm*.c) ---- */

/* What the Slurm runner tells the run (the store records it; all strings borrowed for the
 * call). */
typedef struct nf_slurm_hooks {
	void *ctx;
	/* A job was submitted: its id (an array task: the array's id and the task), the time
	 * of the submission (wall clock, ms) and its name. */
	void (*on_submit)(void *ctx, size_t node, int attempt, uint64_t job_id, uint64_t array_id, long task,
			  int64_t submitted_ms, const char *name);
	/* A job's Slurm state or reason changed ("PENDING", "Resources"). */
	void (*on_status)(void *ctx, size_t node, int attempt, const char *state, const char *reason);
	/* Something worth a warning: a job that could not be cancelled, an adopted job. */
	void (*on_warning)(void *ctx, const char *msg);
} nf_slurm_hooks;

typedef struct nf_slurm_runner_opts {
	const char *dir;             /* where batch scripts go (.ntflow/slurm/RUN); made when missing */
	int64_t run_id;              /* for job names */
	int64_t poll_ms;             /* one squeue per this; <= 0: 2000 */
	int submit_burst;            /* sbatch calls per submission turn; <= 0: 16 */
	nf_slurm_hooks hooks;
} nf_slurm_runner_opts;

/* The runner "slurm". A job's cwd and the folder of its log must be on a file system the
 * nodes share. start() only queues: jobs queued in the same turn of the loop for the same
 * stage and attempt with the same sbatch options go in one array job (sbatch --array), at
 * most submit_burst sbatch calls per turn (the rest in the next turn, 100 ms later). A
 * failed sbatch, squeue or scancel becomes a failed attempt with the command's message
 * (retried as any failure), never a hang. opts copied (strings too). */
int nf_runner_slurm_new(nf_runner **out, nf_clock *clock, const nf_slurm_runner_opts *opts);
/* The attempt 1 of node takes over job_id (named name) of a crashed run instead of
 * submitting: when Slurm reports it COMPLETED under that name, the attempt ends with exit 0
 * at once (on_submit tells of the job, submitted_ms its first submission) and old_log (when
 * readable) is copied into the attempt's log; otherwise the attempt is submitted as usual.
 * task >= 0: job_id is an array job and the attempt takes over that task of it. */
void nf_runner_slurm_adopt(nf_runner *r, size_t node, uint64_t job_id, long task, const char *name,
			   const char *old_log, int64_t submitted_ms);

/* Asks Slurm (squeue, then sacct -c, then scontrol) about job_id (task >= 0: that task of
 * the array job job_id); 0 with *out when found
 * under name (NULL: any), NF_ENOTFOUND when no tool knows it (or knows it by another name:
 * the ids were reused after the cluster's state was wiped), another code when the tools
 * fail. */
int nf_slurm_query(nf_slurm_rec *out, uint64_t job_id, long task, const char *name);
/* scancel job_id; 0 or a code with scancel's message. */
int nf_slurm_cancel(uint64_t job_id);

/* Runs argv (argv[0] looked up in PATH) and collects stdout and stderr; *status is the
 * exit status (127 when it could not start). Blocks until it ends: for quick commands
 * (squeue, sbatch, scancel, ~10 ms), killed after NF_SLURM_EXEC_TIMEOUT_MS (then *err says
 * so). out/err are the caller's; either may be NULL. */
#define NF_SLURM_EXEC_TIMEOUT_MS 10000
int nf_slurm_exec(int *status, char **out, char **err, char *const argv[]);

#endif
