/* cmd-dash.c: `ntflow dash`, the dashboard on a run from the state database: the running
 * one, or the last, following it (and newer ones) live, or waiting for the first. It only
 * reads, but for c and r writes to a detached run's control channel. */
#include "config.h"
#include "ntflow/cmd.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ntflow/dag.h"
#include "ntflow/graph.h"
#include "ntflow/store.h"
#include "ntflow/tui.h"

/* The operand is a DAG file rather than a RUN: not a number, and a file that exists or a
 * name ending in .dag (whose load then says what is wrong with it). */
static bool
is_dag_file(const char *arg)
{
	size_t n = strlen(arg);
	struct stat sb;

	if (n && strspn(arg, "0123456789") == n)
		return false;
	return (stat(arg, &sb) == 0 && !S_ISDIR(sb.st_mode)) || (n > 4 && strcmp(arg + n - 4, ".dag") == 0);
}

static int
cmd_dash_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "max-frames", required_argument, NULL, 'M' },
		{ "screen", required_argument, NULL, 'O' },
		{ "size", required_argument, NULL, 'Z' },
		{ NULL, 0, NULL, 0 },
	};
	nf_tui_opts opts;
	nf_store *st = NULL;
	nf_tui *tui = NULL;
	char *dir = NULL;
	const char *run_arg = NULL;
	int c, err, rc = NF_EXIT_FAILED;

	memset(&opts, 0, sizeof(opts));
	while ((c = nf_cmd_getopt(&nf_cmd_dash, argc, argv, "", longopts)) != NF_CMD_DONE) {
		switch (c) {
		case 'M': {
			char *end;
			long n = strtol(optarg, &end, 10);

			if (*end || n < 1 || n > 1000000) {
				nf_cmd_error("--max-frames '%s': expected a number of frames from 1", optarg);
				return NF_EXIT_USAGE;
			}
			opts.max_frames = (int)n;
			break;
		}
		case 'O':
			opts.screen = optarg;
			break;
		case 'Z':
			if (nf_tui_parse_size(optarg, &opts.cols, &opts.rows) < 0) {
				nf_cmd_error("%s", nf_error_last());
				return NF_EXIT_USAGE;
			}
			break;
		case NF_CMD_HELP:
			return NF_EXIT_OK;
		default:
			return NF_EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		nf_cmd_error("dash: one run at a time");
		nf_cmd_usage(&nf_cmd_dash, stderr);
		return NF_EXIT_USAGE;
	}
	if (optind < argc && is_dag_file(argv[optind])) {
		nf_diag_list diags = NF_DIAG_LIST_INIT;
		nf_dag *dag = NULL;

		opts.dag_path = argv[optind];
		err = nf_dag_load(&dag, opts.dag_path, &diags);
		nf_diag_print(&diags, stderr);
		if (err < 0 && !diags.nerrors)
			nf_cmd_error("%s", nf_error_last());
		nf_dag_free(dag);
		nf_diag_list_release(&diags);
		if (err < 0)
			return NF_EXIT_USAGE;
		run_arg = NULL;
	} else if (optind < argc) {
		run_arg = argv[optind];
	}
	/* The run named must exist; without one the dashboard follows whatever runs, and
	 * waits for the first run when there is none yet. */
	if ((err = nf_store_open_workspace_read(&st, &dir, opts.dag_path, nf_cmd_opt.state)) < 0) {
		if (err != NF_ENOTFOUND || run_arg) {
			nf_cmd_error("%s", nf_error_last());
			rc = nf_cmd_exit_status(err);
			goto done;
		}
		if ((err = nf_workspace_resolve(&dir, opts.dag_path, nf_cmd_opt.state)) < 0) {
			nf_cmd_error("%s", nf_error_last());
			goto done;
		}
	} else {
		for (const char *const *line = nf_store_recovered(st); *line; line++)
			nf_cmd_error("%s", *line);
	}
	if (run_arg && (err = nf_cmd_run_resolve(&opts.run_id, &nf_cmd_dash, st, dir, run_arg)) < 0) {
		rc = err == NF_EINVALID ? NF_EXIT_USAGE : NF_EXIT_FAILED;
		goto done;
	}
	nf_store_close(st);
	st = NULL;
	opts.state_dir = dir;
	if (nf_tui_new(&tui, &opts) < 0) {
		nf_cmd_error("%s", nf_error_last());
		goto done;
	}
	err = nf_tui_loop(tui);
	nf_tui_end(tui);
	if (nf_tui_detached(tui))   /* Ctrl-C: leaving, never stopping the run */
		printf("ntflow: detached; run %lld goes on (ntflow dash %lld to watch it again)\n",
		       (long long)nf_tui_run_shown(tui), (long long)nf_tui_run_shown(tui));
	rc = err == NF_EINTR ? NF_EXIT_INTERRUPTED : err < 0 ? NF_EXIT_FAILED : NF_EXIT_OK;
	if (err < 0 && err != NF_EINTR)
		nf_cmd_error("%s", nf_error_last());
done:
	nf_tui_free(tui);
	nf_store_close(st);
	free(dir);
	return rc;
}

const nf_cmd nf_cmd_dash = {
	.name = "dash",
	.shared = NF_CMD_SHARED_STATE | NF_CMD_SHARED_RUN,
	.usage = "dash [RUN | FILE] [--state DIR] [--max-frames N] [--screen FILE [--size COLSxROWS]]",
	.summary = "Watch a run live in the dashboard (the running or last one); attach to a detached run.",
	.help =
	"Shows RUN (default: the running or last run, and the next one when it starts) as it\n"
	"goes: its stages on a timeline, the gate, the model registry, drift alerts and the\n"
	"log of the selected stage. It reads the state database a few times a second and\n"
	"draws only what changed. Keys act on the focused pane: j/k, g/G and PgUp/PgDn move\n"
	"its cursor, Tab moves the focus, Enter (or d) the selected stage's detail (why it\n"
	"ran or whose result it reused, its cache key, inputs, outputs, metrics, attempts;\n"
	"l its whole log, a cached stage's being the reused run's; / search, w wrap,\n"
	"o $PAGER), R the runs list (Enter opens a run, L back to the latest), a acknowledge\n"
	"the alert under the cursor of the alerts pane (after y/n), f filter by name, F\n"
	"failed or running stages only, s sort (start, name, state, duration), ? every key,\n"
	"q quit; the mouse selects, focuses and scrolls. In the registry pane the\n"
	"production version stays on the first row; Enter shows a version, P promotes it\n"
	"and B rolls the model back, after y/n, under the workspace lock as `ntflow\n"
	"registry` does (never waiting for it: the footer says who holds it). It only reads\n"
	"the run, but on a run started on a terminal or with `ntflow run --detach` c (cancel\n"
	"a stage) and r (retry one) act on it through its executor's control channel. Ctrl-C\n"
	"leaves too (exit 130), saying \"detached; run N goes on\": the run never stops with\n"
	"the dashboard.\n"
	"\n"
	"It opens on the running run, else the last one (R lists the others).\n"
	"\n"
	"With no run yet it waits for the first one (q quits) and then follows it. FILE, a\n"
	"DAG file, picks the workspace as `ntflow run FILE` does; before the first run the\n"
	"header names its pipeline. A pipeline with a schedule gets a second header line:\n"
	"the expression, its zone and the next fire time.\n"
	"\n"
	"  --state DIR       the state directory (default: $NTFLOW_STATE, else .ntflow/ at\n"
	"                    the root of the git repository holding FILE, or the current\n"
	"                    directory)\n"
	"  --max-frames N    quit after N frames (drawn every 100 ms): for tests\n"
	"  --screen FILE     draw into FILE (a file or a terminal device) instead of this\n"
	"                    terminal, as a terminal of --size COLSxROWS (default 100x30),\n"
	"                    reading no keys: for tests without a terminal\n",
	.exec = cmd_dash_exec,
};
