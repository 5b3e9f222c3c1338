/* schema.c: the table of .dag block kinds and attributes: name, type, default and meaning.
 * Unknown names, "did you mean", type checks and the man page all follow this one table. */
#include "config.h"
#include "schema.h"

#include <stdio.h>
#include <string.h>

#include "ntflow/util.h"

static const char *const executors[] = { "local", "slurm", NULL };
static const char *const severities[] = { "low", "medium", "high", NULL };
static const char *const overlaps[] = { "wait", "skip", NULL };

/* How a stage is run: shared by stage, monitor and the pipeline's defaults { }. */
#define RUN_OPTIONS \
	{ "retries", NF_FD_RETRIES, NF_AT_INT, false, 0, 100, NULL, "0", \
	  "further attempts after a failed one" }, \
	{ "backoff", NF_FD_BACKOFF, NF_AT_DURATION, false, 0, 0, NULL, "\"1s\"", \
	  "wait before the first retry; doubled for each further retry, with jitter" }, \
	{ "backoff_max", NF_FD_BACKOFF_MAX, NF_AT_DURATION, false, 0, 0, NULL, "\"5m\"", \
	  "the longest wait between attempts" }, \
	{ "timeout", NF_FD_TIMEOUT, NF_AT_DURATION, false, 0, 0, NULL, "none", \
	  "per attempt; then SIGTERM to the process group, SIGKILL after grace (\"0s\": none)" }, \
	{ "grace", NF_FD_GRACE, NF_AT_DURATION, false, 0, 0, NULL, "\"10s\"", \
	  "time between SIGTERM and SIGKILL when a stage is stopped" }, \
	{ "retry_on", NF_FD_RETRY_ON, NF_AT_INT_LIST, false, 0, 255, NULL, "any failure", \
	  "the exit statuses that are retried; others fail at once" }, \
	{ "cpus", NF_FD_CPUS, NF_AT_INT, false, 1, 4096, NULL, "1", \
	  "slots the stage takes from the -j limit" }, \
	{ "log_limit", NF_FD_LOG_LIMIT, NF_AT_SIZE, false, 0, 0, NULL, "\"100MB\"", \
	  "the most of an attempt's output its log keeps; the rest is discarded, the cut noted (\"0\": no limit)" }, \
	{ "cache", NF_FD_CACHE, NF_AT_BOOL, false, 0, 0, NULL, "true (false without outputs or metrics)", \
	  "skip the stage when its inputs are unchanged (false for side effects)" }, \
	{ "executor", NF_FD_EXECUTOR, NF_AT_ENUM, false, 0, 0, executors, "\"local\"", \
	  "where the stage runs: a local process or a Slurm job" }, \
	{ "secret_env", NF_FD_SECRET_ENV, NF_AT_NAME_LIST, false, 0, 0, NULL, "none", \
	  "environment variables the stage needs whose values ntflow never records (shown as ***)" }

static const nf_attr_spec pipeline_attrs[] = {
	{ "description", NF_FD_DESCRIPTION, NF_AT_STRING, false, 0, 0, NULL, NULL,
	  "what the pipeline is for" },
	{ "schedule", NF_FD_SCHEDULE, NF_AT_SCHEDULE, false, 0, 0, NULL, "none",
	  "when the scheduler starts a run: a 5-field cron expression or @hourly, @daily, @weekly, @monthly, @yearly" },
	{ "timezone", NF_FD_TIMEZONE, NF_AT_STRING, false, 0, 0, NULL, "\"UTC\"",
	  "the time zone of the schedule: a tz database name like \"Europe/Berlin\"" },
	{ "catchup", NF_FD_CATCHUP, NF_AT_BOOL, false, 0, 0, NULL, "false",
	  "after missed intervals, run once for each (true) or once for all (false)" },
	{ "max_active_runs", NF_FD_MAX_ACTIVE_RUNS, NF_AT_INT, false, 1, 64, NULL, "1",
	  "the most runs of the pipeline going at once; the scheduler starts no more" },
	{ "overlap", NF_FD_OVERLAP, NF_AT_ENUM, false, 0, 0, overlaps, "\"wait\"",
	  "a due run while max_active_runs are going: wait for one to end, or skip the interval" },
	{ "start_deadline", NF_FD_START_DEADLINE, NF_AT_DURATION, false, 0, 0, NULL, "none",
	  "an interval whose run cannot start this long after its end is recorded missed, not run" },
	{ "alert_cooldown", NF_FD_ALERT_COOLDOWN, NF_AT_DURATION, false, 0, 0, NULL, "\"1d\"",
	  "after a run triggered by an alert, further alerts trigger none for this long" },
	{ "concurrency", NF_FD_CONCURRENCY, NF_AT_INT, false, 1, 4096, NULL, "the number of CPUs",
	  "the default of -j: how many slots run at once" },
	{ "path", NF_FD_PATH, NF_AT_TEMPLATE_LIST, false, 0, 0, NULL, NULL,
	  "folders prepended to PATH for every stage, relative to the project's root" },
	{ "models_dir", NF_FD_MODELS_DIR, NF_AT_STRING, false, 0, 0, NULL, "\"models\"",
	  "where promoted models (current/) and candidates (candidates/) are placed" },
};

static const nf_attr_spec stage_attrs[] = {
	{ "description", NF_FD_DESCRIPTION, NF_AT_STRING, false, 0, 0, NULL, NULL,
	  "what the stage does" },
	{ "run", NF_FD_RUN, NF_AT_TEMPLATE, true, 0, 0, NULL, NULL,
	  "the command, run by /bin/sh -c; interpolated values are shell-quoted" },
	{ "needs", NF_FD_NEEDS, NF_AT_NAME_LIST, false, 0, 0, NULL, NULL,
	  "stages, gates and monitors that must finish first" },
	{ "inputs", NF_FD_INPUTS, NF_AT_TEMPLATE_LIST, false, 0, 0, NULL, NULL,
	  "files and folders read; their git identity enters the cache key" },
	{ "outputs", NF_FD_OUTPUTS, NF_AT_TEMPLATE_LIST, false, 0, 0, NULL, NULL,
	  "files and folders written (a trailing / marks a folder); cached and restored" },
	{ "metrics", NF_FD_METRICS, NF_AT_TEMPLATE, false, 0, 0, NULL, NULL,
	  "a JSON file of numbers the stage writes; recorded, read by gates" },
	{ "select", NF_FD_SELECT, NF_AT_SELECT, false, 0, 0, NULL, NULL,
	  "with a matrix: max(METRIC) or min(METRIC) picks the best instance for ${stages.NAME.best.*}" },
	RUN_OPTIONS,
};

static const nf_attr_spec gate_attrs[] = {
	{ "description", NF_FD_DESCRIPTION, NF_AT_STRING, false, 0, 0, NULL, NULL,
	  "what the gate decides" },
	{ "needs", NF_FD_NEEDS, NF_AT_NAME_LIST, false, 0, 0, NULL, NULL,
	  "the stages whose metrics the criteria read" },
	{ "require", NF_FD_REQUIRE, NF_AT_EXPR_LIST, false, 0, 0, NULL, NULL,
	  "criteria that must all hold, e.g. \"auc >= production.auc - 0.02\"" },
};

static const nf_attr_spec monitor_attrs[] = {
	{ "description", NF_FD_DESCRIPTION, NF_AT_STRING, false, 0, 0, NULL, NULL,
	  "what the monitor watches" },
	{ "run", NF_FD_RUN, NF_AT_TEMPLATE, true, 0, 0, NULL, NULL,
	  "the command that measures; it writes the metrics file" },
	{ "needs", NF_FD_NEEDS, NF_AT_NAME_LIST, false, 0, 0, NULL, NULL,
	  "stages that must finish first" },
	{ "inputs", NF_FD_INPUTS, NF_AT_TEMPLATE_LIST, false, 0, 0, NULL, NULL,
	  "files and folders read; their git identity enters the cache key" },
	{ "outputs", NF_FD_OUTPUTS, NF_AT_TEMPLATE_LIST, false, 0, 0, NULL, NULL,
	  "files and folders written" },
	{ "metrics", NF_FD_METRICS, NF_AT_TEMPLATE, false, 0, 0, NULL, NULL,
	  "the JSON file of numbers the alert conditions read" },
	{ "on_alert", NF_FD_ON_ALERT, NF_AT_ENUM, false, 0, 0, severities, "none",
	  "alerts at least this severe trigger a run through the scheduler" },
	{ "fail_on", NF_FD_FAIL_ON, NF_AT_ENUM, false, 0, 0, severities, "none",
	  "alerts at least this severe make the monitor fail" },
	RUN_OPTIONS,
};

static const nf_attr_spec model_attrs[] = {
	{ "description", NF_FD_DESCRIPTION, NF_AT_STRING, false, 0, 0, NULL, NULL,
	  "what the model is" },
	{ "artifact", NF_FD_ARTIFACT, NF_AT_TEMPLATE, true, 0, 0, NULL, NULL,
	  "the file or folder registered as a new version" },
	{ "metrics", NF_FD_METRICS, NF_AT_TEMPLATE, false, 0, 0, NULL, NULL,
	  "the metrics file recorded with the version" },
	{ "gate", NF_FD_GATE, NF_AT_NAME, false, 0, 0, NULL, "none",
	  "the gate deciding promotion: pass, production; fail, candidate" },
};

static const nf_attr_spec defaults_attrs[] = {
	RUN_OPTIONS,
};

static const nf_attr_spec slurm_attrs[] = {
	{ "partition", NF_FD_PARTITION, NF_AT_STRING, false, 0, 0, NULL, NULL, "sbatch --partition" },
	{ "time", NF_FD_TIME, NF_AT_STRING, false, 0, 0, NULL, NULL, "sbatch --time, e.g. \"1:00:00\"" },
	{ "cpus", NF_FD_SLURM_CPUS, NF_AT_INT, false, 1, 4096, NULL, NULL, "sbatch --cpus-per-task" },
	{ "mem", NF_FD_MEM, NF_AT_STRING, false, 0, 0, NULL, NULL, "sbatch --mem, e.g. \"8G\"" },
	{ "gres", NF_FD_GRES, NF_AT_STRING, false, 0, 0, NULL, NULL, "sbatch --gres, e.g. \"gpu:1\"" },
	{ "account", NF_FD_ACCOUNT, NF_AT_STRING, false, 0, 0, NULL, NULL, "sbatch --account" },
	{ "qos", NF_FD_QOS, NF_AT_STRING, false, 0, 0, NULL, NULL, "sbatch --qos" },
};

static const nf_attr_spec alert_attrs[] = {
	{ "when", NF_FD_WHEN, NF_AT_EXPR, true, 0, 0, NULL, NULL,
	  "the condition over the monitor's metrics, e.g. \"max_psi > 0.25\"" },
	{ "severity", NF_FD_SEVERITY, NF_AT_ENUM, false, 0, 0, severities, "\"medium\"",
	  "how serious the alert is" },
};

static const nf_block_id pipeline_children[] = { NF_BK_PARAMS, NF_BK_DEFAULTS, NF_BK_ENV };
static const nf_block_id stage_children[] = { NF_BK_MATRIX, NF_BK_ENV, NF_BK_SLURM };
static const nf_block_id monitor_children[] = { NF_BK_MATRIX, NF_BK_ENV, NF_BK_SLURM, NF_BK_ALERT };
static const nf_block_id defaults_children[] = { NF_BK_SLURM };

#define ATTRS(a) a, NF_ARRAY_SIZE(a)
#define KIDS(k) k, NF_ARRAY_SIZE(k)

static const nf_block_spec blocks[NF_BK_COUNT] = {
	{ NF_BK_PIPELINE, "pipeline", true, true, false, ATTRS(pipeline_attrs), KIDS(pipeline_children),
	  "the pipeline: its name, schedule, parameters and defaults (at most one per file)" },
	{ NF_BK_STAGE, "stage", true, true, false, ATTRS(stage_attrs), KIDS(stage_children),
	  "a command to run" },
	{ NF_BK_GATE, "gate", true, true, false, ATTRS(gate_attrs), NULL, 0,
	  "a promotion decision over the metrics of the stages it needs" },
	{ NF_BK_MODEL, "model", true, true, false, ATTRS(model_attrs), NULL, 0,
	  "a registry entry the pipeline produces" },
	{ NF_BK_MONITOR, "monitor", true, true, false, ATTRS(monitor_attrs), KIDS(monitor_children),
	  "a stage whose metrics feed alert rules" },
	{ NF_BK_PARAMS, "params", false, false, true, NULL, 0, NULL, 0,
	  "NAME = value: parameters for ${params.NAME}, overridable with -p NAME=VALUE" },
	{ NF_BK_DEFAULTS, "defaults", false, false, false, ATTRS(defaults_attrs), KIDS(defaults_children),
	  "run options every stage and monitor inherits unless it sets them" },
	{ NF_BK_ENV, "env", false, false, true, NULL, 0, NULL, 0,
	  "NAME = value: environment variables for the stage (or every stage)" },
	{ NF_BK_MATRIX, "matrix", false, false, true, NULL, 0, NULL, 0,
	  "NAME = [values]: one instance of the stage per combination" },
	{ NF_BK_SLURM, "slurm", false, false, false, ATTRS(slurm_attrs), NULL, 0,
	  "sbatch options for executor = \"slurm\"" },
	{ NF_BK_ALERT, "alert", true, false, false, ATTRS(alert_attrs), NULL, 0,
	  "an alert rule over the monitor's metrics" },
};

const nf_block_spec *
nf_schema_block(nf_block_id id)
{
	return &blocks[id];
}

const nf_block_spec *
nf_schema_find_block(const char *kind, size_t len)
{
	for (size_t i = 0; i < NF_BK_COUNT; i++)
		if (strlen(blocks[i].kind) == len && memcmp(blocks[i].kind, kind, len) == 0)
			return &blocks[i];
	return NULL;
}

const nf_attr_spec *
nf_schema_find_attr(const nf_block_spec *b, const char *name, size_t len, size_t *index)
{
	for (size_t i = 0; i < b->nattrs; i++) {
		const char *n = b->attrs[i].name;

		if (n[0] == name[0] && strlen(n) == len && memcmp(n, name, len) == 0) {
			*index = i;
			return &b->attrs[i];
		}
	}
	return NULL;
}

bool
nf_schema_allows(const nf_block_spec *b, nf_block_id id)
{
	for (size_t i = 0; i < b->nchildren; i++)
		if (b->children[i] == id)
			return true;
	return false;
}

const char *
nf_schema_type_name(const nf_attr_type t)
{
	switch (t) {
	case NF_AT_STRING: return "a string";
	case NF_AT_TEMPLATE: return "a string";
	case NF_AT_TEMPLATE_LIST: return "a list of strings";
	case NF_AT_NAME: return "a name in quotes";
	case NF_AT_NAME_LIST: return "a list of names in quotes";
	case NF_AT_INT: return "an integer";
	case NF_AT_INT_LIST: return "a list of integers";
	case NF_AT_BOOL: return "true or false";
	case NF_AT_DURATION: return "a duration like \"30s\"";
	case NF_AT_SIZE: return "a size like \"100MB\"";
	case NF_AT_ENUM: return "a string";
	case NF_AT_SCHEDULE: return "a schedule string like \"@weekly\" or \"0 3 * * 1\"";
	case NF_AT_SELECT: return "a string like \"max(auc)\"";
	case NF_AT_EXPR: return "an expression in quotes";
	case NF_AT_EXPR_LIST: return "a list of expressions in quotes";
	}
	return "a value";
}

void
nf_schema_choices(char *buf, size_t size, const nf_attr_spec *a)
{
	size_t n = 0, len = 0;

	while (a->choices[n])
		n++;
	buf[0] = '\0';
	for (size_t i = 0; i < n && len < size; i++) {
		const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";

		len += (size_t)snprintf(buf + len, size - len, "%s\"%s\"", sep, a->choices[i]);
	}
}
