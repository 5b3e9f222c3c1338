/* cmd-validate.c: `ntflow validate`, which checks DAG files and prints every problem
 * compiler-style (file:line:col: error: ...), all of a file's problems in one pass. */
#include "config.h"
#include "ntflow/cmd.h"
#include "ntflow/dag.h"
#include "ntflow/graph.h"
#include "ntflow/run.h"

#include <stdlib.h>

static const struct option validate_options[] = {
	{ "verbose", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 },
};

/* Checks one file; prints its diagnostics, and with verbose its summary. 0 when valid. */
static int
validate_file(const char *path, bool verbose)
{
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_dag *dag = NULL;
	nf_graph *g = NULL;
	int err;

	err = nf_dag_load(&dag, path, &diags);
	if (err == 0) {
		/* inputs that nothing makes and that are not there: a run would fail on them */
		char *root = nf_project_root(path);

		if (root)
			err = nf_graph_check_inputs(dag, root, &diags);
		free(root);
	}
	nf_diag_print(&diags, stderr);
	if (err < 0 && !diags.nerrors)
		nf_cmd_error("%s", nf_error_last());
	if (err == 0 && verbose && (err = nf_graph_build(&g, dag, &diags)) == 0)
		printf("%s: ok (%zu stage%s, %zu node%s)\n", path, dag->nstages, dag->nstages == 1 ? "" : "s",
		       g->nnodes, g->nnodes == 1 ? "" : "s");
	nf_graph_free(g);
	nf_dag_free(dag);
	nf_diag_list_release(&diags);
	return err;
}

static int
cmd_validate_exec(int argc, char **argv)
{
	bool verbose = false;
	int c, rc = NF_EXIT_OK;

	while ((c = nf_cmd_getopt(&nf_cmd_validate, argc, argv, "v", validate_options)) != NF_CMD_DONE) {
		switch (c) {
		case 'v':
			verbose = true;
			break;
		case NF_CMD_HELP:
			return NF_EXIT_OK;
		default:
			return NF_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		nf_cmd_usage(&nf_cmd_validate, stderr);
		return NF_EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++)
		if (validate_file(argv[i], verbose) < 0)
			rc = NF_EXIT_USAGE;
	fflush(stdout);
	return rc;
}

const nf_cmd nf_cmd_validate = {
	.name = "validate",
	.usage = "validate [-v] FILE...",
	.summary = "Check pipeline files and print every problem with its line and column.",
	.help = "Checks syntax, attribute names and types, durations, cron schedules, needs,\n"
		"${...} references, outputs and dependency cycles (needs and the dependencies\n"
		"inferred from files), and that every input written without ${...} exists or is\n"
		"the output of some stage. Every problem is printed to\n"
		"standard error as FILE:LINE:COL: error: MESSAGE (with note: lines where useful),\n"
		"all problems of a file in one pass. Silent on success.\n"
		"\n"
		"  -v, --verbose   print FILE: ok (N stages, M nodes) for each valid file\n"
		"\n"
		"Exit status: 0 when every file is valid, 2 otherwise.\n",
	.exec = cmd_validate_exec,
};
