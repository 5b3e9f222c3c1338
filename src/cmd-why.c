/* cmd-why.c: `ntflow why`, why a stage ran in a run (the first difference between its cache
 * key and the same stage's in the previous run of the pipeline that ran or reused it, noted
 * when the run looked it up) or which earlier run's result it reused. A matrix stage gets one answer per instance. */
#include "config.h"
#include "ntflow/cmd.h"

#include <stdlib.h>
#include <string.h>

#include "ntflow/store.h"

/* "run 3 has no stage 'prpe'; did you mean 'prep'?" over stage and node names. */
static int
no_such_stage(int64_t run, const char *stage, const nf_node_info *nodes, size_t n)
{
	const char **names = xcalloc(2 * n + 1, sizeof(*names));
	const char *hint;
	size_t k = 0;
	int err;

	for (size_t i = 0; i < n; i++) {
		if (i == 0 || strcmp(nodes[i].stage, nodes[i - 1].stage) != 0)
			names[k++] = nodes[i].stage;
		if (strcmp(nodes[i].name, nodes[i].stage) != 0)
			names[k++] = nodes[i].name;
	}
	hint = nf_suggest(stage, names, k);
	if (hint)
		err = nf_error_set(NF_ENOTFOUND, "run %lld has no stage '%s'; did you mean '%s'?",
				   (long long)run, stage, hint);
	else
		err = nf_error_set(NF_ENOTFOUND, "run %lld has no stage '%s'", (long long)run, stage);
	free(names);
	return err;
}

static int
cmd_why_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ NULL, 0, NULL, 0 },
	};
	const char *run_arg = NULL, *stage;
	nf_store *st = NULL;
	nf_node_info *nodes = NULL;
	size_t n = 0, hits = 0;
	char *dir = NULL;
	int64_t run;
	int c, err, rc = NF_EXIT_FAILED;

	while ((c = nf_cmd_getopt(&nf_cmd_why, argc, argv, "", longopts)) != NF_CMD_DONE) {
		switch (c) {
		case NF_CMD_HELP:
			return NF_EXIT_OK;
		default:
			return NF_EXIT_USAGE;
		}
	}
	if (argc - optind < 1 || argc - optind > 2) {
		nf_cmd_eprintf("ntflow why: %s\n", argc - optind < 1 ? "which stage?" : "too many arguments");
		nf_cmd_usage(&nf_cmd_why, stderr);
		return NF_EXIT_USAGE;
	}
	if (argc - optind == 2)
		run_arg = argv[optind++];
	stage = argv[optind];

	if ((err = nf_cmd_open_store(&st, &dir, nf_cmd_opt.state)) < 0) {
		rc = nf_cmd_exit_status(err);
		goto done;
	}
	if ((err = nf_cmd_run_resolve(&run, &nf_cmd_why, st, dir, run_arg)) < 0) {
		rc = err == NF_EINVALID ? NF_EXIT_USAGE : NF_EXIT_FAILED;
		goto done;
	}
	if (nf_store_node_list(st, run, &nodes, &n) < 0) {
		nf_cmd_error("%s", nf_error_last());
		goto done;
	}
	/* A node's full name picks that instance; a stage's name, all of its instances. */
	for (int pass = 0; pass < 2 && hits == 0; pass++) {
		for (size_t i = 0; i < n; i++) {
			nf_node_cache_info ci;
			char *text, *shown;

			if (strcmp(pass == 0 ? nodes[i].name : nodes[i].stage, stage) != 0)
				continue;
			if (nf_store_node_cache_get(st, run, nodes[i].name, &ci) < 0) {
				nf_cmd_error("%s", nf_error_last());
				goto done;
			}
			text = nf_store_node_why(st, &nodes[i], &ci);
			shown = nf_cmd_visible(text);   /* it quotes parameters' values */
			printf("%s: %s\n", nodes[i].name, shown);
			free(shown);
			free(text);
			nf_node_cache_info_release(&ci);
			hits++;
		}
	}
	if (hits == 0) {
		nf_store_pruned_error(st, run, no_such_stage(run, stage, nodes, n));
		nf_cmd_error("%s", nf_error_last());
		goto done;
	}
	rc = NF_EXIT_OK;
done:
	nf_node_info_list_free(nodes, n);
	nf_store_close(st);
	free(dir);
	return rc;
}

const nf_cmd nf_cmd_why = {
	.name    = "why",
	.shared  = NF_CMD_SHARED_STATE | NF_CMD_SHARED_RUN,
	.usage   = "why [RUN] STAGE [--state DIR]",
	.summary = "Say why a stage ran in a run (the last by default), or whose result it reused.",
	.help    =
		"For a stage that ran: the first difference between its cache key and the same\n"
		"stage's in the previous run of the pipeline where it ran or was cached (a failed\n"
		"run in between left no result and is passed over), in words (\"input\n"
		"data/train.csv changed (blob 3e4f1a2 → 9a1b7c0)\", \"param lr changed 0.01 → 0.05\",\n"
		"\"command changed\", \"upstream preprocess produced different outputs\", \"no\n"
		"earlier run\", \"forced\"). For a cached stage: the run, commit and day of the\n"
		"result it reused. Gates and stages with cache = false are never cached, and say\n"
		"so; so are stages with neither outputs nor metrics unless they say cache = true.\n"
		"STAGE is a stage's name (every matrix instance answers) or one node's name, like\n"
		"'tune[lr=0.05,l2=0]'.\n\n"
		"  --state DIR  the state directory (default: $NTFLOW_STATE, else .ntflow/ at the\n"
		"               root of the git repository holding the current directory)\n",
	.exec    = cmd_why_exec,
};
