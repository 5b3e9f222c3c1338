/* state.c: the names of node states and run outcomes as they are stored and printed, and
 * the exit status `ntflow run` gives for each outcome. */
#include "config.h"
#include "ntflow/exec.h"

#include <string.h>

static const char *const state_names[NF_ST__COUNT] = {
	[NF_ST_WAITING]   = "waiting",
	[NF_ST_READY]     = "ready",
	[NF_ST_RUNNING]   = "running",
	[NF_ST_RETRYING]  = "retrying",
	[NF_ST_SUCCEEDED] = "succeeded",
	[NF_ST_CACHED]    = "cached",
	[NF_ST_FAILED]    = "failed",
	[NF_ST_TIMED_OUT] = "timed-out",
	[NF_ST_SKIPPED]   = "skipped",
	[NF_ST_CANCELLED] = "cancelled",
	[NF_ST_REJECTED]  = "rejected",
};

static const char *const run_status_names[] = {
	[NF_RUN_RUNNING]   = "running",
	[NF_RUN_SUCCEEDED] = "succeeded",
	[NF_RUN_FAILED]    = "failed",
	[NF_RUN_GATED]     = "gated",
	[NF_RUN_CANCELLED] = "cancelled",
	[NF_RUN_CRASHED]   = "crashed",
};

const char *
nf_state_name(nf_state s)
{
	if ((unsigned)s >= NF_ST__COUNT)
		return "unknown";
	return state_names[s];
}

bool
nf_state_is_final(nf_state s)
{
	switch (s) {
	case NF_ST_SUCCEEDED: case NF_ST_CACHED: case NF_ST_FAILED: case NF_ST_TIMED_OUT:
	case NF_ST_SKIPPED: case NF_ST_CANCELLED: case NF_ST_REJECTED:
		return true;
	default:
		return false;
	}
}

const char *
nf_run_status_name(nf_run_status s)
{
	if ((unsigned)s >= NF_ARRAY_SIZE(run_status_names))
		return "unknown";
	return run_status_names[s];
}

int
nf_run_status_parse(nf_run_status *out, const char *name)
{
	for (size_t i = 0; i < NF_ARRAY_SIZE(run_status_names); i++) {
		if (strcmp(run_status_names[i], name) == 0) {
			*out = (nf_run_status)i;
			return 0;
		}
	}
	return nf_error_set(NF_ENOTFOUND, "unknown run status '%s'", name);
}

int
nf_run_status_exit_code(nf_run_status s)
{
	switch (s) {
	case NF_RUN_SUCCEEDED:
		return NF_EXIT_OK;
	case NF_RUN_GATED:
		return NF_EXIT_GATED;
	case NF_RUN_CANCELLED:
		return NF_EXIT_INTERRUPTED;
	default:
		/* failed, and the two that never end a live run (running, crashed) */
		return NF_EXIT_FAILED;
	}
}
