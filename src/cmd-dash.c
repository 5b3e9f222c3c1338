/* cmd-dash.c: `ntflow dash`, the dashboard on a run from the state database: the running
 * one, or the last, following it (and newer ones) live; read-only. */
#include "config.h"
#include "ntflow/cmd.h"

#include <stdlib.h>
#include <string.h>

#include "ntflow/store.h"
#include "ntflow/tui.h"

static int
cmd_dash_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "state", required_argument, NULL, 'S' },
		{ "max-frames", required_argument, NULL, 'M' },
		{ "screen", required_argument, NULL, 'O' },
		{ "size", required_argument, NULL, 'Z' },
		{ NULL, 0, NULL, 0 },
	};
	nf_tui_opts opts;
	nf_store *st = NULL;
	nf_tui *tui = NULL;
	char *dir = NULL;
	const char *state = NULL;
	int c, err, rc = NF_EXIT_FAILED;

	memset(&opts, 0, sizeof(opts));
	while ((c = nf_cmd_getopt(&nf_cmd_dash, argc, argv, "", longopts)) != NF_CMD_DONE) {
		switch (c) {
		case 'S':
			state = optarg;
			break;
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
	/* The run named must exist; without one the dashboard follows whatever runs. */
	if ((err = nf_cmd_open_store(&st, &dir, state)) < 0) {
		rc = nf_cmd_exit_status(err);
		goto done;
	}
	if (optind < argc && (err = nf_cmd_run_resolve(&opts.run_id, &nf_cmd_dash, st, dir, argv[optind])) < 0) {
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
	.usage = "dash [RUN] [--state DIR] [--max-frames N] [--screen FILE [--size COLSxROWS]]",
	.summary = "Watch a run live in the dashboard (the running or last one), read-only.",
	.help =
	"Shows RUN (default: the running or last run, and the next one when it starts) as it\n"
	"goes: its stages on a timeline, the gate, the model registry, drift alerts and the\n"
	"log of the selected stage. It reads the state database a few times a second and\n"
	"draws only what changed. Keys: j/k select, Enter the whole log, Tab next pane,\n"
	"a acknowledge the alert under the cursor of the alerts pane (after y/n), f filter,\n"
	"? help, q quit. Cancelling and retrying stages is done from the dashboard of\n"
	"`ntflow run` itself.\n"
	"\n"
	"  --state DIR       the state directory (default: $NTFLOW_STATE, else .ntflow/ at\n"
	"                    the root of the git repository holding the current directory)\n"
	"  --max-frames N    quit after N frames (drawn every 100 ms): for tests\n"
	"  --screen FILE     draw into FILE (a file or a terminal device) instead of this\n"
	"                    terminal, as a terminal of --size COLSxROWS (default 100x30),\n"
	"                    reading no keys: for tests without a terminal\n",
	.exec = cmd_dash_exec,
};
