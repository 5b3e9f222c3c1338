/* state.h: the states of a node and the outcomes of a run, as the executor sets them, the
 * store records them and the commands and the dashboard print them. The words alone, in a
 * header of their own, so that the store does not need the executor's (exec.h); their
 * names are in src/exec/state.c. */
#ifndef NTFLOW_STATE_H
#define NTFLOW_STATE_H

#include <stdbool.h>

/* Node states (DESIGN.md "Run semantics"). */
typedef enum {
	NF_ST_WAITING, NF_ST_READY, NF_ST_RUNNING, NF_ST_RETRYING,
	NF_ST_SUCCEEDED, NF_ST_CACHED, NF_ST_FAILED, NF_ST_TIMED_OUT,
	NF_ST_SKIPPED, NF_ST_CANCELLED, NF_ST_REJECTED, /* REJECTED: a gate that said no */
	NF_ST__COUNT
} nf_state;
/* "waiting", "ready", "running", "retrying", "succeeded", "cached", "failed", "timed-out",
 * "skipped", "cancelled", "rejected". */
const char *nf_state_name(nf_state s);
bool nf_state_is_final(nf_state s);

/* Run outcomes as stored and printed. */
typedef enum {
	NF_RUN_RUNNING, NF_RUN_SUCCEEDED, NF_RUN_FAILED, NF_RUN_GATED, NF_RUN_CANCELLED, NF_RUN_CRASHED,
} nf_run_status;
const char *nf_run_status_name(nf_run_status s);
/* 0 on success, NF_ENOTFOUND for an unknown name. */
int nf_run_status_parse(nf_run_status *out, const char *name);
/* The exit status of `ntflow run` for an outcome. */
int nf_run_status_exit_code(nf_run_status s);

#endif
