/* schema.c: the table of .dag block kinds and attributes: name, type, where the value is
 * stored, default and meaning. Unknown names, "did you mean", type checks, storing values into
 * the model and the man page all follow this one table: a new attribute is one row here, its
 * field in include/ntflow/dag.h and its item in man/ntflow-dag.5. */
#include "config.h"
#include "schema.h"

#include <stdio.h>
#include <string.h>

#include "ntflow/util.h"

static const char *const executors[] = { "local", "slurm", NULL };
static const char *const severities[] = { "low", "medium", "high", NULL };
static const char *const overlaps[] = { "wait", "skip", NULL };
/* In the order of nf_plot_template. */
static const char *const plot_templates[] = { "linear", "scatter", "confusion", "roc", "bar", NULL };

/* Where a row stores its value: the target struct and field (offsetof, sizeof). */
#define FIELD(tg, T, f) .target = tg, .off = offsetof(T, f), .size = sizeof(((T *)0)->f)
#define PL(f) FIELD(NF_TG_PIPELINE, nf_pipeline, f)
#define ST(f) FIELD(NF_TG_STAGE, nf_stage, f)
#define MO(f) FIELD(NF_TG_MORE, nf_stage_more, f)
#define MD(f) FIELD(NF_TG_MODEL, nf_model_decl, f)
#define AL(f) FIELD(NF_TG_ALERT, nf_alert_rule, f)
#define SL(f) FIELD(NF_TG_SLURM, nf_slurm, f)
#define PT(f) FIELD(NF_TG_PLOT, nf_plot, f)
#define CK(f) FIELD(NF_TG_CHECK, nf_gate_check, f)
#define OP(f, bit) FIELD(NF_TG_OPTS, nf_run_opts, f), .set_bit = bit
/* A list's item count, and where the value's location goes. */
#define COUNT(T, f) .count_off = offsetof(T, f), .count_size = sizeof(((T *)0)->f)
#define LOC(T, f) .has_loc = true, .loc_off = offsetof(T, f)
#define RANGE(lo, hi) .min = lo, .max = hi
#define SET(fn) .setter = fn
#define REQUIRED .required = true
/* name, type, what it fills, then its default as documented and its meaning. */
#define ROW(n, t, ...) .name = n, .type = t, __VA_ARGS__
#define DOC(d, text) .def = d, .doc = text

/* How a stage is run: shared by stage, monitor and the pipeline's defaults { }. */
#define RUN_OPTIONS \
	{ ROW("retries", NF_AT_INT, OP(retries, NF_OPT_RETRIES), RANGE(0, 100)), DOC("0", \
	  "further attempts after a failed one") }, \
	{ ROW("backoff", NF_AT_DURATION, OP(backoff_ms, NF_OPT_BACKOFF)), DOC("\"1s\"", \
	  "wait before the first retry; doubled for each further retry, with jitter") }, \
	{ ROW("backoff_max", NF_AT_DURATION, OP(backoff_max_ms, NF_OPT_BACKOFF_MAX)), DOC("\"5m\"", \
	  "the longest wait between attempts") }, \
	{ ROW("timeout", NF_AT_DURATION, OP(timeout_ms, NF_OPT_TIMEOUT)), DOC("none", \
	  "per attempt; then SIGTERM to the process group, SIGKILL after grace (\"0s\": none)") }, \
	{ ROW("grace", NF_AT_DURATION, OP(grace_ms, NF_OPT_GRACE)), DOC("\"10s\"", \
	  "time between SIGTERM and SIGKILL when a stage is stopped") }, \
	{ ROW("retry_on", NF_AT_INT_LIST, OP(retry_on, NF_OPT_RETRY_ON), COUNT(nf_run_opts, nretry_on), \
	  RANGE(0, 255)), DOC("any failure", \
	  "the exit statuses that are retried; others fail at once") }, \
	{ ROW("cpus", NF_AT_INT, OP(cpus, NF_OPT_CPUS), RANGE(1, 4096)), DOC("1", \
	  "slots the stage takes from the -j limit") }, \
	{ ROW("log_limit", NF_AT_SIZE, OP(log_limit, NF_OPT_LOG_LIMIT)), DOC("\"100MB\"", \
	  "the most of an attempt's output its log keeps; the rest is discarded, the cut noted (\"0\": no limit)") }, \
	{ ROW("cache", NF_AT_BOOL, OP(cache, NF_OPT_CACHE)), DOC("true (false without outputs or metrics)", \
	  "skip the stage when its inputs are unchanged (false for side effects)") }, \
	{ ROW("executor", NF_AT_ENUM, OP(executor, NF_OPT_EXECUTOR), LOC(nf_run_opts, executor_loc), SET(nf_set_executor), .choices = executors), \
	  DOC("\"local\"", "where the stage runs: a local process or a Slurm job") }, \
	{ ROW("secret_env", NF_AT_NAME_LIST, OP(secret_env, NF_OPT_SECRET_ENV), COUNT(nf_run_opts, nsecret_env), \
	  SET(nf_set_secret_env)), DOC("none", \
	  "environment variables the stage needs whose values ntflow never records (shown as ***)") }

static const nf_attr_spec pipeline_attrs[] = {
	{ ROW("description", NF_AT_STRING, PL(description)), DOC(NULL,
	  "what the pipeline is for") },
	{ ROW("schedule", NF_AT_SCHEDULE, PL(schedule), LOC(nf_pipeline, schedule_loc)), DOC("none",
	  "when the scheduler starts a run: a 5-field cron expression or @hourly, @daily, @weekly, @monthly, @yearly") },
	{ ROW("timezone", NF_AT_STRING, PL(timezone), LOC(nf_pipeline, timezone_loc), SET(nf_set_timezone)), DOC("\"UTC\"",
	  "the time zone of the schedule: a tz database name like \"Europe/Berlin\"") },
	{ ROW("catchup", NF_AT_BOOL, PL(catchup)), DOC("false",
	  "after missed intervals, run once for each (true) or once for all (false)") },
	{ ROW("max_active_runs", NF_AT_INT, PL(max_active_runs), RANGE(1, 64)), DOC("1",
	  "the most runs of the pipeline going at once; the scheduler starts no more") },
	{ ROW("overlap", NF_AT_ENUM, PL(overlap_skip), SET(nf_set_overlap), .choices = overlaps), DOC("\"wait\"",
	  "a due run while max_active_runs are going: wait for one to end, or skip the interval") },
	{ ROW("start_deadline", NF_AT_DURATION, PL(start_deadline_ms)), DOC("none",
	  "an interval whose run cannot start this long after its end is recorded missed, not run") },
	{ ROW("alert_cooldown", NF_AT_DURATION, PL(alert_cooldown_ms), SET(nf_set_alert_cooldown)), DOC("\"1d\"",
	  "after a run triggered by an alert, further alerts trigger none for this long") },
	{ ROW("concurrency", NF_AT_INT, PL(concurrency), RANGE(1, 4096)), DOC("the number of CPUs",
	  "the default of -j: how many slots run at once") },
	{ ROW("path", NF_AT_TEMPLATE_LIST, PL(path), COUNT(nf_pipeline, npath)), DOC(NULL,
	  "folders prepended to PATH for every stage, relative to the project's root") },
	{ ROW("models_dir", NF_AT_STRING, PL(models_dir)), DOC("\"models\"",
	  "where promoted models (current/) and candidates (candidates/) are placed") },
	{ ROW("params_files", NF_AT_NAME_LIST, PL(params_files), COUNT(nf_pipeline, nparams_files)), DOC(NULL,
	  "YAML or JSON files of params, relative to the project's root; nested keys flattened with dots (${params.train.n_est})") },
	{ ROW("on_success", NF_AT_STRING, PL(on_success)), DOC(NULL,
	  "a shell command run after a run succeeded (see HOOKS)") },
	{ ROW("on_failure", NF_AT_STRING, PL(on_failure)), DOC(NULL,
	  "a shell command run after a run failed, was cancelled or crashed") },
	{ ROW("on_gated", NF_AT_STRING, PL(on_gated)), DOC(NULL,
	  "a shell command run after a run whose gate kept its model out of production") },
	{ ROW("on_promote", NF_AT_STRING, PL(on_promote)), DOC(NULL,
	  "a shell command run for each model version a run put in production") },
	{ ROW("on_alert", NF_AT_STRING, PL(on_alert)), DOC(NULL,
	  "a shell command run for each new alert a run's monitors raised") },
	{ ROW("hook_timeout", NF_AT_DURATION, PL(hook_timeout_ms)), DOC("\"1m\"",
	  "the longest a hook may run; then SIGTERM, and SIGKILL 2 s later") },
	{ ROW("cpu_baseline", NF_AT_STRING, PL(cpu_baseline), SET(nf_set_cpu_baseline)), DOC("none",
	  "what each phase's CPU is compared with: a run id, or \"median:N\", the median of the last N runs") },
	{ ROW("cpu_target_reduction", NF_AT_STRING, PL(cpu_target_pct), SET(nf_set_cpu_target)), DOC("none",
	  "the CPU reduction per phase against cpu_baseline that meets the target, e.g. \"30%\"") },
	{ ROW("cohort", NF_AT_TEMPLATE, PL(cohort)), DOC("none",
	  "the cohort each run belongs to, e.g. \"${run.month}\" or \"${params.arm}\"; ntflow run --cohort overrides it") },
	{ ROW("keep_runs", NF_AT_INT, PL(keep_runs), RANGE(1, 1000000)), DOC("none",
	  "after each run, prune the pipeline's runs but the newest N, as ntflow prune --keep-runs does") },
	{ ROW("keep_days", NF_AT_INT, PL(keep_days), RANGE(1, 36500)), DOC("none",
	  "after each run, prune the pipeline's runs started more than N days before, as ntflow prune --keep-days does") },
	{ ROW("redact_audit", NF_AT_BOOL, PL(redact_audit), LOC(nf_pipeline, redact_audit_loc)), DOC("false",
	  "with keep_runs or keep_days: also empty the pruned runs' per-stage audit records (ntflow prune --redact-audit)") },
	{ ROW("cache_gc", NF_AT_BOOL, PL(cache_gc), LOC(nf_pipeline, cache_gc_loc)), DOC("false",
	  "with keep_runs or keep_days: also drop the cache entries only the pipeline's pruned runs made or used, "
	  "and the objects no entry needs (ntflow cache gc)") },
};

static const nf_attr_spec stage_attrs[] = {
	{ ROW("description", NF_AT_STRING, MO(description)), DOC(NULL,
	  "what the stage does") },
	{ ROW("run", NF_AT_TEMPLATE, ST(run), REQUIRED, SET(nf_set_run)), DOC(NULL,
	  "the command: a string, exec'd directly without shell syntax, else by /bin/sh -c with values"
	  " shell-quoted; or a list of words, always exec'd directly") },
	{ ROW("needs", NF_AT_NAME_LIST, ST(needs), COUNT(nf_stage, nneeds)), DOC(NULL,
	  "stages, gates and monitors that must finish first") },
	{ ROW("inputs", NF_AT_TEMPLATE_LIST, ST(inputs), COUNT(nf_stage, ninputs)), DOC(NULL,
	  "files and folders read; their git identity enters the cache key") },
	{ ROW("outputs", NF_AT_TEMPLATE_LIST, ST(outputs), COUNT(nf_stage, noutputs)), DOC(NULL,
	  "files and folders written (a trailing / marks a folder); cached and restored") },
	{ ROW("metrics", NF_AT_TEMPLATE, MO(metrics)), DOC(NULL,
	  "a JSON file of numbers the stage writes; recorded, read by gates") },
	{ ROW("select", NF_AT_SELECT, MO(select), SET(nf_set_select)), DOC(NULL,
	  "with a matrix: max(METRIC) or min(METRIC) picks the best instance for ${stages.NAME.best.*}") },
	{ ROW("params", NF_AT_NAME_LIST, MO(param_keys), COUNT(nf_stage_more, nparam_keys)), DOC("the params its templates reference",
	  "the param keys (or sections: all keys under one) the stage depends on; only their values enter its cache key") },
	{ ROW("dir", NF_AT_TEMPLATE, MO(dir)), DOC("the project root",
	  "the folder the command runs in, relative to the project root; paths stay relative to the root") },
	{ ROW("foreach", NF_AT_TEMPLATE_LIST, MO(foreach), COUNT(nf_stage_more, nforeach), SET(nf_set_foreach)), DOC(NULL,
	  "one instance STAGE@KEY per element of a list, ${item} and ${key} its value (or a foreach { } block)") },
	{ ROW("persist", NF_AT_TEMPLATE_LIST, MO(persist), COUNT(nf_stage_more, npersist)), DOC(NULL,
	  "outputs left in place (not moved aside) before the stage runs; still cached after") },
	{ ROW("uncached", NF_AT_TEMPLATE_LIST, MO(uncached), COUNT(nf_stage_more, nuncached)), DOC(NULL,
	  "outputs hashed and checked but not stored in the cache; a skip needs them present and unchanged") },
	{ ROW("frozen", NF_AT_BOOL, ST(frozen)), DOC("false",
	  "never run the stage; its outputs must exist, and it counts as succeeded") },
	{ ROW("phase", NF_AT_STRING, MO(phase), SET(nf_set_phase)), DOC("\"other\"",
	  "the phase the stage's CPU time counts in (show --perf, cpu_baseline), e.g. \"training\"") },
	RUN_OPTIONS,
};

static const nf_attr_spec gate_attrs[] = {
	{ ROW("description", NF_AT_STRING, MO(description)), DOC(NULL,
	  "what the gate decides") },
	{ ROW("needs", NF_AT_NAME_LIST, ST(needs), COUNT(nf_stage, nneeds)), DOC(NULL,
	  "the stages whose metrics the criteria read") },
	{ ROW("require", NF_AT_EXPR_LIST, MO(require), COUNT(nf_stage_more, nrequire)), DOC(NULL,
	  "criteria that must all hold, e.g. \"auc >= production.auc - 0.02\"") },
};

/* A gate's criterion { } block (a violation type and when it is severe). */
static const nf_attr_spec criterion_attrs[] = {
	{ ROW("require", NF_AT_EXPR, CK(require), REQUIRED, SET(nf_set_gate_expr)), DOC(NULL,
	  "the criterion that must hold, e.g. \"ece <= 0.08\"") },
	{ ROW("violation", NF_AT_STRING, CK(violation), LOC(nf_gate_check, violation_loc), SET(nf_set_violation)),
	  DOC("the gate's name", "the type of the violation its failure is, e.g. \"calibration\"") },
	{ ROW("severe_when", NF_AT_EXPR, CK(severe_when), SET(nf_set_gate_expr)), DOC("never",
	  "when it holds the violation is high, else medium, e.g. \"ece > 0.15\"") },
};

/* Stored in the pipeline's nf_risk (open_block points the blocks at the pipeline). */
static const nf_attr_spec risk_attrs[] = {
	{ ROW("score", NF_AT_EXPR, PL(risk.score), REQUIRED, SET(nf_set_gate_expr)), DOC(NULL,
	  "the run's risk score over the gate's metrics, e.g. \"1 - accuracy\"") },
	{ ROW("gate", NF_AT_NAME, PL(risk.gate), LOC(nf_pipeline, risk.gate_loc)), DOC("the first model's gate",
	  "the gate whose metrics the score reads; the score is computed when it is evaluated") },
};

static const nf_attr_spec tiers_attrs[] = {
	{ ROW("low", NF_AT_NUMBER, PL(risk.low), LOC(nf_pipeline, risk.low_loc)), DOC("none",
	  "a score at most this is low risk") },
	{ ROW("normal", NF_AT_NUMBER, PL(risk.normal), LOC(nf_pipeline, risk.normal_loc)), DOC("none",
	  "a score at most this (and above low) is normal") },
	{ ROW("high", NF_AT_NUMBER, PL(risk.high), LOC(nf_pipeline, risk.high_loc)), DOC("none",
	  "a score at most this (and above normal) is high; above every bound, elevated") },
};

static const nf_attr_spec monitor_attrs[] = {
	{ ROW("description", NF_AT_STRING, MO(description)), DOC(NULL,
	  "what the monitor watches") },
	{ ROW("run", NF_AT_TEMPLATE, ST(run), REQUIRED, SET(nf_set_run)), DOC(NULL,
	  "the command that measures; it writes the metrics file") },
	{ ROW("needs", NF_AT_NAME_LIST, ST(needs), COUNT(nf_stage, nneeds)), DOC(NULL,
	  "stages that must finish first") },
	{ ROW("inputs", NF_AT_TEMPLATE_LIST, ST(inputs), COUNT(nf_stage, ninputs)), DOC(NULL,
	  "files and folders read; their git identity enters the cache key") },
	{ ROW("outputs", NF_AT_TEMPLATE_LIST, ST(outputs), COUNT(nf_stage, noutputs)), DOC(NULL,
	  "files and folders written") },
	{ ROW("metrics", NF_AT_TEMPLATE, MO(metrics)), DOC(NULL,
	  "the JSON file of numbers the alert conditions read") },
	{ ROW("on_alert", NF_AT_ENUM, MO(on_alert), .choices = severities, .min = NF_SEV_LOW), DOC("none",
	  "alerts at least this severe trigger a run through the scheduler") },
	{ ROW("fail_on", NF_AT_ENUM, MO(fail_on), .choices = severities, .min = NF_SEV_LOW), DOC("none",
	  "alerts at least this severe make the monitor fail") },
	{ ROW("phase", NF_AT_STRING, MO(phase), SET(nf_set_phase)), DOC("\"other\"",
	  "the phase the stage's CPU time counts in (show --perf, cpu_baseline), e.g. \"training\"") },
	{ ROW("params", NF_AT_NAME_LIST, MO(param_keys), COUNT(nf_stage_more, nparam_keys)), DOC("the params its templates reference",
	  "the param keys (or sections: all keys under one) the stage depends on; only their values enter its cache key") },
	RUN_OPTIONS,
};

static const nf_attr_spec model_attrs[] = {
	{ ROW("description", NF_AT_STRING, MD(description)), DOC(NULL,
	  "what the model is") },
	{ ROW("artifact", NF_AT_TEMPLATE, MD(artifact), REQUIRED), DOC(NULL,
	  "the file or folder registered as a new version") },
	{ ROW("metrics", NF_AT_TEMPLATE, MD(metrics)), DOC(NULL,
	  "the metrics file recorded with the version") },
	{ ROW("gate", NF_AT_NAME, MD(gate.name), LOC(nf_model_decl, gate.loc)), DOC("none",
	  "the gate deciding promotion: pass, production; fail, candidate") },
};

static const nf_attr_spec defaults_attrs[] = {
	RUN_OPTIONS,
};

static const nf_attr_spec slurm_attrs[] = {
	{ ROW("partition", NF_AT_STRING, SL(partition)), DOC(NULL, "sbatch --partition") },
	{ ROW("time", NF_AT_STRING, SL(time)), DOC(NULL, "sbatch --time, e.g. \"1:00:00\"") },
	{ ROW("cpus", NF_AT_INT, SL(cpus), RANGE(1, 4096)), DOC(NULL, "sbatch --cpus-per-task") },
	{ ROW("mem", NF_AT_STRING, SL(mem)), DOC(NULL, "sbatch --mem, e.g. \"8G\"") },
	{ ROW("gres", NF_AT_STRING, SL(gres)), DOC(NULL, "sbatch --gres, e.g. \"gpu:1\"") },
	{ ROW("account", NF_AT_STRING, SL(account)), DOC(NULL, "sbatch --account") },
	{ ROW("qos", NF_AT_STRING, SL(qos)), DOC(NULL, "sbatch --qos") },
	{ ROW("constraint", NF_AT_STRING, SL(constraint)), DOC(NULL, "sbatch --constraint, e.g. \"avx2\"") },
	{ ROW("extra", NF_AT_TEMPLATE_LIST, SL(extra), COUNT(nf_slurm, nextra)), DOC(NULL,
	  "more sbatch options, one argument each, e.g. [\"--exclusive\"]") },
	{ ROW("poll", NF_AT_DURATION, SL(poll_ms)), DOC("\"2s\"",
	  "how often ntflow asks squeue about the run's jobs (one call for all of them)") },
};

static const nf_attr_spec alert_attrs[] = {
	{ ROW("when", NF_AT_EXPR, AL(when), REQUIRED), DOC(NULL,
	  "the condition over the monitor's metrics, e.g. \"max_psi > 0.25\"") },
	{ ROW("severity", NF_AT_ENUM, AL(severity), .choices = severities, .min = NF_SEV_LOW), DOC("\"medium\"",
	  "how serious the alert is") },
};

/* Stored in the pipeline's nf_lineage (open_block points the block at the pipeline). */
static const nf_attr_spec lineage_attrs[] = {
	{ ROW("file", NF_AT_STRING, PL(lineage.file)), DOC(NULL,
	  "a JSON Lines file the run appends its OpenLineage events to, relative to the project's root") },
	{ ROW("url", NF_AT_STRING, PL(lineage.url)), DOC(NULL,
	  "an OpenLineage HTTP endpoint the events are posted to, e.g. \"http://marquez:5000/api/v1/lineage\"") },
	{ ROW("namespace", NF_AT_STRING, PL(lineage.ns)), DOC("\"ntflow\"",
	  "the namespace of the pipeline's jobs") },
	{ ROW("timeout", NF_AT_DURATION, PL(lineage.timeout_ms)), DOC("\"5s\"",
	  "the longest one event's POST may take; past it the endpoint is given up for the run") },
};

static const nf_attr_spec plot_attrs[] = {
	{ ROW("data", NF_AT_TEMPLATE, PT(data)), DOC(NULL,
	  "the data file the stage writes: CSV, TSV (by extension .tsv) or JSON (a list of objects)") },
	{ ROW("image", NF_AT_TEMPLATE, PT(image)), DOC(NULL,
	  "an image the stage writes (PNG, JPEG, GIF or SVG), shown as it is, instead of data") },
	{ ROW("x", NF_AT_STRING, PT(x)), DOC(NULL,
	  "the column on the x axis (confusion: the actual class; roc: default \"fpr\")") },
	{ ROW("y", NF_AT_NAME_LIST, PT(y), COUNT(nf_plot, ny), SET(nf_set_plot_y)), DOC(NULL,
	  "the column, or a list of columns, on the y axis (confusion: the predicted class; roc: default \"tpr\")") },
	{ ROW("template", NF_AT_ENUM, PT(template_), .choices = plot_templates), DOC("\"linear\"",
	  "how the data is drawn: lines, points, a confusion matrix, an ROC curve or bars") },
	{ ROW("title", NF_AT_STRING, PT(title)), DOC("the plot's name",
	  "the title shown above the plot") },
};

static const nf_block_id pipeline_children[] = { NF_BK_PARAMS, NF_BK_DEFAULTS, NF_BK_ENV, NF_BK_LINEAGE, NF_BK_RISK,
							 NF_BK_DRIFT_REPORT };
static const nf_block_id gate_children[] = { NF_BK_CRITERION };
static const nf_block_id risk_children[] = { NF_BK_TIERS };
static const nf_block_id drift_report_children[] = { NF_BK_TOLERANCE };
static const nf_block_id stage_children[] = { NF_BK_MATRIX, NF_BK_ENV, NF_BK_SLURM, NF_BK_FOREACH, NF_BK_PLOT };
static const nf_block_id foreach_children[] = { NF_BK_INSTANCE };
static const nf_block_id monitor_children[] = { NF_BK_MATRIX, NF_BK_ENV, NF_BK_SLURM, NF_BK_ALERT };
static const nf_block_id defaults_children[] = { NF_BK_SLURM };

#define ATTRS(a) a, NF_ARRAY_SIZE(a)
#define KIDS(k) k, NF_ARRAY_SIZE(k)
#define TG(t) (1u << (t))

static const nf_block_spec blocks[NF_BK_COUNT] = {
	{ NF_BK_PIPELINE, "pipeline", true, true, false, TG(NF_TG_PIPELINE), ATTRS(pipeline_attrs), KIDS(pipeline_children),
	  "the pipeline: its name, schedule, parameters and defaults (at most one per file)" },
	{ NF_BK_STAGE, "stage", true, true, false, TG(NF_TG_STAGE) | TG(NF_TG_MORE) | TG(NF_TG_OPTS), ATTRS(stage_attrs), KIDS(stage_children),
	  "a command to run" },
	{ NF_BK_GATE, "gate", true, true, false, TG(NF_TG_STAGE) | TG(NF_TG_MORE), ATTRS(gate_attrs), KIDS(gate_children),
	  "a promotion decision over the metrics of the stages it needs" },
	{ NF_BK_MODEL, "model", true, true, false, TG(NF_TG_MODEL), ATTRS(model_attrs), NULL, 0,
	  "a registry entry the pipeline produces" },
	{ NF_BK_MONITOR, "monitor", true, true, false, TG(NF_TG_STAGE) | TG(NF_TG_MORE) | TG(NF_TG_OPTS), ATTRS(monitor_attrs), KIDS(monitor_children),
	  "a stage whose metrics feed alert rules" },
	{ NF_BK_PARAMS, "params", false, false, true, 0, NULL, 0, NULL, 0,
	  "NAME = value: parameters for ${params.NAME}, overridable with -p NAME=VALUE" },
	{ NF_BK_DEFAULTS, "defaults", false, false, false, TG(NF_TG_OPTS), ATTRS(defaults_attrs), KIDS(defaults_children),
	  "run options every stage and monitor inherits unless it sets them" },
	{ NF_BK_ENV, "env", false, false, true, 0, NULL, 0, NULL, 0,
	  "NAME = value: environment variables for the stage (or every stage)" },
	{ NF_BK_MATRIX, "matrix", false, false, true, 0, NULL, 0, NULL, 0,
	  "NAME = [values]: one instance of the stage per combination" },
	{ NF_BK_SLURM, "slurm", false, false, false, TG(NF_TG_SLURM), ATTRS(slurm_attrs), NULL, 0,
	  "sbatch options for executor = \"slurm\"" },
	{ NF_BK_ALERT, "alert", true, false, false, TG(NF_TG_ALERT), ATTRS(alert_attrs), NULL, 0,
	  "an alert rule over the monitor's metrics" },
	{ NF_BK_FOREACH, "foreach", false, false, false, 0, NULL, 0, KIDS(foreach_children),
	  "instance blocks: one instance of the stage each, STAGE@NAME" },
	{ NF_BK_INSTANCE, "instance", true, false, true, 0, NULL, 0, NULL, 0,
	  "NAME = value: the fields of one foreach instance, ${item.NAME}; its label is ${key}" },
	{ NF_BK_PLOT, "plot", true, false, false, TG(NF_TG_PLOT), ATTRS(plot_attrs), NULL, 0,
	  "a chart of a data file the stage writes, or an image it writes, for ntflow report" },
	{ NF_BK_LINEAGE, "lineage", false, false, false, TG(NF_TG_PIPELINE), ATTRS(lineage_attrs), NULL, 0,
	  "where the runs' OpenLineage events go: a file, an HTTP endpoint or both" },
	{ NF_BK_CRITERION, "criterion", false, false, false, TG(NF_TG_CHECK), ATTRS(criterion_attrs), NULL, 0,
	  "a criterion of the gate whose failure is a violation of a type, high when severe_when holds" },
	{ NF_BK_RISK, "risk", false, false, false, TG(NF_TG_PIPELINE), ATTRS(risk_attrs), KIDS(risk_children),
	  "each run's risk score and its tier" },
	{ NF_BK_TIERS, "tiers", false, false, false, TG(NF_TG_PIPELINE), ATTRS(tiers_attrs), NULL, 0,
	  "the risk tiers' upper bounds, increasing" },
	{ NF_BK_DRIFT_REPORT, "drift_report", false, false, false, 0, NULL, 0, KIDS(drift_report_children),
	  "what ntflow report drift compares between cohorts" },
	{ NF_BK_TOLERANCE, "tolerance", false, false, true, 0, NULL, 0, NULL, 0,
	  "METRIC = number: how far a metric's cohort mean may move before it is drift" },
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
	case NF_AT_NUMBER: return "a number";
	}
	return "a value";
}

size_t
nf_schema_storage_size(nf_attr_type t)
{
	switch (t) {
	case NF_AT_STRING:
	case NF_AT_NAME:
	case NF_AT_SCHEDULE: return sizeof(const char *);
	case NF_AT_TEMPLATE: return sizeof(nf_tmpl *);
	case NF_AT_TEMPLATE_LIST: return sizeof(nf_tmpl *);
	case NF_AT_NAME_LIST: return sizeof(nf_name_ref *);
	case NF_AT_INT: return sizeof(int);
	case NF_AT_INT_LIST: return sizeof(int *);
	case NF_AT_BOOL: return sizeof(bool);
	case NF_AT_DURATION: return sizeof(int64_t);
	case NF_AT_SIZE: return sizeof(uint64_t);
	case NF_AT_ENUM: return sizeof(int);
	case NF_AT_SELECT: return 0;
	case NF_AT_EXPR: return sizeof(nf_criterion);
	case NF_AT_EXPR_LIST: return sizeof(nf_criterion *);
	case NF_AT_NUMBER: return sizeof(double);
	}
	return 0;
}

bool
nf_schema_is_list(nf_attr_type t)
{
	return t == NF_AT_TEMPLATE_LIST || t == NF_AT_NAME_LIST || t == NF_AT_INT_LIST || t == NF_AT_EXPR_LIST;
}

size_t
nf_schema_target_size(nf_target t)
{
	switch (t) {
	case NF_TG_NONE: return 0;
	case NF_TG_PIPELINE: return sizeof(nf_pipeline);
	case NF_TG_STAGE: return sizeof(nf_stage);
	case NF_TG_MODEL: return sizeof(nf_model_decl);
	case NF_TG_OPTS: return sizeof(nf_run_opts);
	case NF_TG_SLURM: return sizeof(nf_slurm);
	case NF_TG_ALERT: return sizeof(nf_alert_rule);
	case NF_TG_PLOT: return sizeof(nf_plot);
	case NF_TG_CHECK: return sizeof(nf_gate_check);
	case NF_TG_MORE: return sizeof(nf_stage_more);
	case NF_TG_COUNT: break;
	}
	return 0;
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

const char *
nf_plot_template_name(int t)
{
	return t >= 0 && t < (int)NF_ARRAY_SIZE(plot_templates) - 1 ? plot_templates[t] : "linear";
}
