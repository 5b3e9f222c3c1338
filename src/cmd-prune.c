/* cmd-prune.c: `ntflow prune`, the history's retention: forgets the per-stage details of the
 * ended runs a policy lets go (node rows, attempts, log folders), keeping each run's summary,
 * metrics, gate results, registry and audit chain, so that a pipeline run every week for a
 * year does not keep every stage of every week. */
#include "config.h"
#include "ntflow/cmd.h"

#include <stdlib.h>
#include <string.h>

#include "ntflow/gov.h"
#include "ntflow/store.h"

typedef struct prune_opts {
	long keep_days, keep_runs;   /* -1: not given */
	bool dry_run, vacuum, redact_audit;
} prune_opts;

static void
warn_line(void *ctx, const char *msg)
{
	(void)ctx;
	nf_cmd_error("warning: %s", msg);
}

static void
print_plan(const nf_prune_candidate *c, size_t n)
{
	static const char *const head[] = { "RUN", "PIPELINE", "STARTED", "STAGE ROWS" };
	nf_table *t = nf_table_new(4, head);

	nf_table_align_right(t, 0);
	for (size_t i = 0; i < n; i++) {
		char started[32], **row = nf_table_add_row(t);

		nf_store_fmt_local_time(started, sizeof(started), c[i].started_ms);
		row[0] = xasprintf("%lld", (long long)c[i].id);
		row[1] = xstrdup(c[i].pipeline);
		row[2] = xstrdup(started);
		/* Pruned before: rows kept for a run that is gone, or its audit payloads. */
		row[3] = xasprintf("%lld%s", (long long)c[i].nnodes, c[i].pruned ? " (pruned before)" : "");
	}
	nf_cmd_print_table(t);
	nf_table_free(t);
}

static int
prune(nf_store *st, const char *dir, const prune_opts *o)
{
	int64_t now = nf_now_realtime_ms(), nodes = 0, before = 0, free_bytes = 0, after = 0;
	nf_prune_policy policy = {
		.keep_runs = o->keep_runs,
		.keep_days = o->keep_days,
		.now_ms = now,
		.redact_audit = o->redact_audit,
	};
	nf_prune_candidate *c = NULL;
	nf_prune_totals tot = { 0 };
	nf_prune_opts popts;
	size_t n = 0, again = 0, redact = 0;
	char *actor = NULL, sz[32], fr[32];
	int err;

	if ((err = nf_store_prune_plan(st, &policy, &c, &n)) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		again += c[i].pruned;
		redact += c[i].redact;
	}
	if (o->dry_run) {
		for (size_t i = 0; i < n; i++)
			nodes += c[i].nnodes;
		if (n)
			print_plan(c, n);
		printf("would prune %zu run%s (%lld stage row%s)", n, n == 1 ? "" : "s", (long long)nodes,
		       nodes == 1 ? "" : "s");
		if (again)
			printf(", %zu of them pruned before", again);
		if (redact)
			printf(", and empty the stages' audit records of %zu", redact);
		printf("; nothing was changed\n");
		goto done;
	}
	actor = nf_registry_actor();
	popts = (nf_prune_opts){ actor, now, warn_line, NULL };
	if ((err = nf_prune(st, dir, c, n, &popts, &tot)) < 0)
		goto fail;
	nf_format_bytes(sz, sizeof(sz), tot.log_bytes);
	printf("pruned %zu run%s: %lld stage row%s and %zu log file%s (%s) removed\n", tot.runs,
	       tot.runs == 1 ? "" : "s", (long long)tot.nodes, tot.nodes == 1 ? "" : "s", tot.log_files,
	       tot.log_files == 1 ? "" : "s", sz);
	if (o->redact_audit)
		printf("emptied %lld audit record%s of the stages of %zu run%s (their hashes kept)\n",
		       (long long)tot.audit_records, tot.audit_records == 1 ? "" : "s", tot.audit_runs,
		       tot.audit_runs == 1 ? "" : "s");
	if ((err = nf_store_space(st, &before, &free_bytes)) < 0)
		goto after;
	if (o->vacuum) {
		if ((err = nf_store_vacuum(st)) < 0 || (err = nf_store_space(st, &after, &free_bytes)) < 0)
			goto after;
		nf_format_bytes(sz, sizeof(sz), (uint64_t)before);
		nf_format_bytes(fr, sizeof(fr), (uint64_t)after);
		printf("state database compacted: %s -> %s\n", sz, fr);
	} else {
		nf_format_bytes(sz, sizeof(sz), (uint64_t)before);
		nf_format_bytes(fr, sizeof(fr), (uint64_t)free_bytes);
		printf("state database: %s, %s of it free for later runs (--vacuum gives it back)\n", sz, fr);
	}
	if (tot.file_errors) {
		nf_cmd_error("%zu file%s of pruned runs could not be removed (above)", tot.file_errors,
			     tot.file_errors == 1 ? "" : "s");
		err = NF_EIO;
	}
	goto done;
after:
	nf_cmd_error("%s", nf_error_last());   /* every run was pruned before it */
	goto done;
fail:
	/* The runs pruned before the failure stay pruned: each went in a transaction of its own. */
	nf_cmd_error("%s", nf_error_last());
	if (tot.runs)
		nf_cmd_eprintf("ntflow: %zu run%s had been pruned before that; prune again to go on\n", tot.runs,
			tot.runs == 1 ? "" : "s");
done:
	free(actor);
	nf_prune_candidate_list_free(c, n);
	return err;
}

static int
cmd_prune_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "keep-days", required_argument, NULL, 'd' },
		{ "keep-runs", required_argument, NULL, 'r' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "vacuum", no_argument, NULL, 'V' },
		{ "redact-audit", no_argument, NULL, 'A' },
		NF_CMD_LOCK_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	prune_opts o = { -1, -1, false, false, false };
	nf_wslock_opts lock_opts = { .on_wait = nf_cmd_lock_wait_message, .what = "ntflow prune" };
	nf_wslock *lock = NULL;
	nf_store *st = NULL;
	char *dir = NULL;
	int c, rc, err;

	while ((c = nf_cmd_getopt(&nf_cmd_prune, argc, argv, "n", longopts)) != NF_CMD_DONE) {
		int lk = nf_cmd_lock_option(&nf_cmd_prune, &lock_opts, c, optarg);

		if (lk < 0)
			return NF_EXIT_USAGE;
		if (lk > 0)
			continue;
		switch (c) {
		case NF_CMD_HELP:
			return NF_EXIT_OK;
		case 'd':
			if (!nf_cmd_parse_count(&nf_cmd_prune, &o.keep_days, "--keep-days", optarg))
				return NF_EXIT_USAGE;
			break;
		case 'r':
			if (!nf_cmd_parse_count(&nf_cmd_prune, &o.keep_runs, "--keep-runs", optarg))
				return NF_EXIT_USAGE;
			break;
		case 'n':
			o.dry_run = true;
			break;
		case 'V':
			o.vacuum = true;
			break;
		case 'A':
			o.redact_audit = true;
			break;
		default:
			return NF_EXIT_USAGE;
		}
	}
	if (argc > optind) {
		nf_cmd_eprintf("ntflow prune: unexpected argument '%s'\n", argv[optind]);
		nf_cmd_usage(&nf_cmd_prune, stderr);
		return NF_EXIT_USAGE;
	}
	/* No default policy: what goes is always the user's choice, written in the command. */
	if (o.keep_days < 0 && o.keep_runs < 0) {
		nf_cmd_eprintf("ntflow prune: which runs to keep? give --keep-runs N, --keep-days N or both\n");
		nf_cmd_usage(&nf_cmd_prune, stderr);
		return NF_EXIT_USAGE;
	}
	if (o.dry_run && o.vacuum) {
		nf_cmd_eprintf("ntflow prune: --vacuum changes the database; it does not go with --dry-run\n");
		return NF_EXIT_USAGE;
	}
	/* A run in progress writes the rows prune deletes: it takes the workspace lock, which
	 * also keeps a dry run's list true until its end. */
	if ((err = nf_cmd_open_store_locked(&st, &dir, &lock, nf_cmd_opt.state, &lock_opts)) < 0)
		return nf_cmd_exit_status(err);
	rc = prune(st, dir, &o) < 0 ? NF_EXIT_FAILED : NF_EXIT_OK;
	nf_store_close(st);
	nf_workspace_unlock(lock);
	free(dir);
	return rc;
}

const nf_cmd nf_cmd_prune = {
	.name    = "prune",
	.shared  = NF_CMD_SHARED_STATE,
	.usage   = "prune [--keep-runs N] [--keep-days N] [-n | --dry-run] [--redact-audit] [--vacuum]\n"
		   "                   [--state DIR] [--wait | --no-wait | --wait-timeout DURATION]",
	.summary = "Forget the per-stage details of old runs (the history's retention).",
	.help    =
		"A pruned run keeps its row in 'ntflow runs' (status, times, node counts,\n"
		"parameters, commit), its metrics (the stages that wrote them stay), gates,\n"
		"plots, CPU phases, alerts and audit records, and the stages a kept run\n"
		"refers to (a cached stage's reused result, with its log; a miss's previous\n"
		"run); its other stages' rows, their attempts and logs (.ntflow/logs/RUN/,\n"
		".ntflow/executor/RUN.log) go; a log that cannot be removed is a warning and\n"
		"exit status 1. The model registry and the cache are not touched: a cache\n"
		"entry the run made still serves later runs, and 'ntflow why' still explains\n"
		"against it. Each run is pruned in a transaction of its own, recorded in the\n"
		"audit chain (kind prune).\n"
		"A run is kept when either rule given keeps it; at least one is needed:\n"
		"  --keep-runs N  the newest N runs of each pipeline\n"
		"  --keep-days N  the runs started in the last N days\n"
		"Always kept: a run in progress, the newest and the last successful run of\n"
		"each pipeline, and the run of each model's production version and newest\n"
		"candidate.\n"
		"  -n, --dry-run  list the runs that would be pruned, with the stage rows each\n"
		"                 loses; change nothing\n"
		"  --redact-audit also empty the payloads of their per-stage audit records\n"
		"                 (kinds node and nodes, half of what a cached run writes),\n"
		"                 keeping each record's hash: 'audit verify' still proves the\n"
		"                 chain and the runs' Merkle roots, not those records' contents\n"
		"  --vacuum       then rewrite the state database without its free pages\n"
		"                 (it needs as much free disk as the database takes); without\n"
		"                 it the file keeps its size and later runs reuse the pages\n"
		"  --state DIR    the state directory (default: $NTFLOW_STATE, else .ntflow/ at\n"
		"                 the root of the git repository holding the current directory)\n"
		"\n"
		"prune takes the workspace lock (one writer per workspace, as a run does):\n"
		"  --wait       wait while a run or another writer holds it (the default)\n"
		"  --no-wait    exit 75 at once, naming the holder's run and pid\n"
		"  --wait-timeout DURATION  wait at most DURATION (30s, 10m), then exit 75\n",
	.exec    = cmd_prune_exec,
};
