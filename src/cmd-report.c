/* cmd-report.c: `ntflow report [RUN] --html FILE`, a run as one self-contained HTML page
 * (src/report/), and `ntflow report --compare RUN_A RUN_B --html FILE`, two runs' plots
 * overlaid with their params and metrics diffed. The page is built in memory and written to
 * a temporary name then renamed, so a reader never sees half a page. */
#include "config.h"
#include "ntflow/cmd.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ntflow/report.h"
#include "ntflow/store.h"
#include "cmd-report-drift.h"

static int
cmd_report_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "html",    required_argument, NULL, 'H' },
		{ "compare", no_argument,       NULL, 'c' },
		{ "history", required_argument, NULL, 'n' },
		{ "json",    no_argument,       NULL, 'j' },   /* report drift's: refused below */
		{ NULL, 0, NULL, 0 },
	};
	const char *html = NULL, *ops[2] = { NULL, NULL };
	bool compare = false, json = false;
	long history = 20;
	nf_store *st = NULL;
	nf_buf page = NF_BUF_INIT;
	nf_report_opts ro = { 0 };
	char *dir = NULL, *root = NULL, *end;
	int64_t ids[2] = { 0, 0 };
	size_t nops = 0;
	int c, err, rc = NF_EXIT_FAILED;

	if (argc > 1 && strcmp(argv[1], "drift") == 0)
		return nf_cmd_report_drift(argc - 1, argv + 1);
	while ((c = nf_cmd_getopt(&nf_cmd_report, argc, argv, "", longopts)) != NF_CMD_DONE) {
		switch (c) {
		case NF_CMD_HELP:
			return NF_EXIT_OK;
		case 'H': html = optarg; break;
		case 'c': compare = true; break;
		case 'j': json = true; break;
		case 'n':
			history = strtol(optarg, &end, 10);
			if (*end || end == optarg || history < 1 || history > 10000) {
				nf_cmd_eprintf("ntflow report: --history wants a number of runs from 1 to 10000, not '%s'\n",
					optarg);
				return NF_EXIT_USAGE;
			}
			break;
		default: return NF_EXIT_USAGE;
		}
	}
	for (; optind < argc; optind++) {
		if (nops == (compare ? 2u : 1u)) {
			nf_cmd_eprintf("ntflow report: unexpected argument '%s'\n", argv[optind]);
			nf_cmd_usage(&nf_cmd_report, stderr);
			return NF_EXIT_USAGE;
		}
		ops[nops++] = argv[optind];
	}
	if (json) {
		nf_cmd_eprintf("ntflow report: --json is for report drift; a run's report is --html FILE\n");
		nf_cmd_usage(&nf_cmd_report, stderr);
		return NF_EXIT_USAGE;
	}
	if (!html) {
		nf_cmd_eprintf("ntflow report: say where the page goes: --html FILE ('-' for standard output)\n");
		nf_cmd_usage(&nf_cmd_report, stderr);
		return NF_EXIT_USAGE;
	}
	if (compare && nops == 1) {
		nf_cmd_eprintf("ntflow report: --compare takes two runs, RUN_A and RUN_B (or none: the last two)\n");
		return NF_EXIT_USAGE;
	}
	if ((err = nf_cmd_open_store(&st, &dir, nf_cmd_opt.state)) < 0) {
		rc = nf_cmd_exit_status(err);
		goto done;
	}
	if (compare && nops == 0) {
		ops[0] = "-2";
		ops[1] = "-1";
	}
	for (size_t i = 0; i < (compare ? 2u : 1u); i++) {
		if ((err = nf_cmd_run_resolve(&ids[i], &nf_cmd_report, st, dir, ops[i])) < 0) {
			rc = err == NF_EINVALID ? NF_EXIT_USAGE : NF_EXIT_FAILED;
			goto done;
		}
	}
	root = nf_cmd_project_root(dir);
	ro.state_dir = dir;
	ro.root = root;
	ro.history = (size_t)history;
	ro.now_ms = nf_now_realtime_ms();
	err = compare ? nf_report_compare_html(&page, st, ids[0], ids[1], &ro) : nf_report_html(&page, st, ids[0], &ro);
	if (err < 0) {
		nf_cmd_error("%s", nf_error_last());
		goto done;
	}
	if (strcmp(html, "-") == 0) {
		if (fwrite(page.buf, 1, page.len, stdout) != page.len || fflush(stdout) != 0) {
			nf_cmd_error("cannot write the page to standard output");
			goto done;
		}
	} else if (nf_write_file_atomic(html, page.buf, page.len) < 0) {
		nf_cmd_error("%s", nf_error_last());
		goto done;
	} else if (compare) {
		printf("wrote %s: runs %lld and %lld compared (%zu KB)\n", html, (long long)ids[0], (long long)ids[1],
		       (page.len + 1023) / 1024);
	} else {
		printf("wrote %s: run %lld (%zu KB)\n", html, (long long)ids[0], (page.len + 1023) / 1024);
	}
	rc = NF_EXIT_OK;
done:
	nf_buf_release(&page);
	nf_store_close(st);
	free(dir);
	free(root);
	return rc;
}

const nf_cmd nf_cmd_report = {
	.name    = "report",
	.shared  = NF_CMD_SHARED_STATE | NF_CMD_SHARED_RUN,
	.usage   = "report [RUN] --html FILE [--history N] [--state DIR]\n"
		   "       report --compare [RUN_A RUN_B] --html FILE [--state DIR]\n"
		   "       report drift --from DATE --to DATE [--pipeline NAME] [--json | --html FILE] [--state DIR]",
	.summary = "Write a run (or two runs compared) as one HTML page; the cohort drift report.",
	.help    =
		"Writes one HTML file with its CSS and SVG charts inline: no script, nothing\n"
		"loaded from elsewhere, so it can be mailed, archived or attached to a ticket.\n"
		"The page of a run (default: the last) holds its header (pipeline, status,\n"
		"trigger, commit, dirty paths, params), a timeline of its nodes (every attempt a\n"
		"bar, coloured by state; retried attempts outlined), the gate table, its\n"
		"metrics, the plots its stages declare (plot blocks: linear, scatter, roc, bar\n"
		"charts, confusion matrices as heat tables, images), the registry history of\n"
		"the pipeline's models with their metrics over versions, the drift metrics of\n"
		"its monitors over the last runs with the alert thresholds drawn, each node's\n"
		"CPU and peak memory against the median of its history, and the CPU of each\n"
		"phase over the last runs with the budgets they recorded (met or missed).\n\n"
		"A plot is drawn from its file as it was when its stage ended (its SHA-256 was\n"
		"recorded): the workspace's file while it is unchanged, else its copy in the\n"
		"cache; a file no longer in either is named on the page instead.\n\n"
		"  --html FILE   where the page goes ('-': standard output); written to a\n"
		"                temporary name and renamed\n"
		"  --compare     compare RUN_A and RUN_B (default: the last two runs): their\n"
		"                params and metrics that differ, and their plots overlaid\n"
		"                (RUN_B dashed)\n"
		"  --history N   runs of history the drift, resource and phase charts take (20)\n"
		"  --state DIR   the state directory (default: $NTFLOW_STATE, else .ntflow/ at the\n"
		"                root of the git repository holding the current directory)\n\n"
		"RUN is a run id, `last`, or -N (the Nth run back). Exit status 1 for an unknown\n"
		"run or a file that cannot be written.\n\n"
		"report drift: the cohort drift report of the runs whose logical date (${run.date})\n"
		"lies in [--from, --to]. Per cohort, in time order: its runs (promoted, gated,\n"
		"failed), its violations by type and severity, its mean risk score and risk\n"
		"tiers, and the mean of each tracked metric (those of the model version each run\n"
		"registered). Between cohorts (each with the one before, then each with the\n"
		"first): each metric's difference with a has-drift verdict against the\n"
		"tolerances of the pipeline's drift_report { tolerance { METRIC = T } }; then the\n"
		"recommendations of the rules that fired (one per violation type, risk tier and\n"
		"drifting metric; ntflow(1) lists them).\n\n"
		"  --from DATE       the first logical date (YYYY-MM-DD)\n"
		"  --to DATE         the last logical date, included\n"
		"  --pipeline NAME   the pipeline (needed when the window holds several)\n"
		"  --json            the report as JSON (\"schema\": 1; ntflow(1), JSON OUTPUT)\n"
		"  --html FILE       the report as one HTML page in the run report's frame\n\n"
		"Runs without a cohort show as \"-\". A tolerance naming a metric no run of the\n"
		"window has is a warning (with its file:line:col). When the tolerances cannot\n"
		"be read (the pipeline file gone, not parsing, or declaring another pipeline),\n"
		"stderr says why, the report says \"Has drift: unknown (no tolerances)\" (JSON\n"
		"has_drift null) and the exit status is 1. A comparison where a cohort has no\n"
		"mean for a metric has no verdict (\"-\", null). A window without runs is an\n"
		"empty report (exit 0). A bad date exits 2.\n",
	.exec    = cmd_report_exec,
};
