/* cmd-graph.c: `ntflow graph`, the run graph of a pipeline (stages, gates, monitors and
 * matrix instances) as readable text, Graphviz dot or JSON. */
#include "config.h"
#include "ntflow/cmd.h"
#include "ntflow/dag.h"
#include "ntflow/graph.h"

#include <string.h>

static const struct option graph_options[] = {
	{ "format", required_argument, NULL, 'F' },
	{ NULL, 0, NULL, 0 },
};

static int
cmd_graph_exec(int argc, char **argv)
{
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_buf out = NF_BUF_INIT;
	const char *format = "text";
	nf_dag *dag = NULL;
	nf_graph *g = NULL;
	int c, rc = NF_EXIT_USAGE, err;

	while ((c = nf_cmd_getopt(&nf_cmd_graph, argc, argv, "f:F:", graph_options)) != NF_CMD_DONE) {
		switch (c) {
		case 'f':
		case 'F':
			if (c == 'f')
				nf_cmd_deprecated_short(&nf_cmd_graph, 'f', "-F or --format");
			format = optarg;
			break;
		case NF_CMD_HELP:
			return NF_EXIT_OK;
		default:
			return NF_EXIT_USAGE;
		}
	}
	if (strcmp(format, "text") && strcmp(format, "dot") && strcmp(format, "json")) {
		nf_cmd_eprintf("ntflow graph: unknown format '%s' (text, dot or json)\n", format);
		nf_cmd_usage(&nf_cmd_graph, stderr);
		return NF_EXIT_USAGE;
	}
	if (argc - optind != 1) {
		nf_cmd_usage(&nf_cmd_graph, stderr);
		return NF_EXIT_USAGE;
	}
	err = nf_graph_load(&dag, &g, argv[optind], &diags);
	nf_diag_print(&diags, stderr);
	if (err < 0) {
		if (!diags.nerrors)
			nf_cmd_error("%s", nf_error_last());
		goto done;
	}
	if ((err = nf_graph_write(&out, g, format)) < 0) {
		nf_cmd_error("%s", nf_error_last());
		rc = NF_EXIT_FAILED;
		goto done;
	}
	fwrite(out.buf ? out.buf : "", 1, out.len, stdout);
	rc = fflush(stdout) == 0 ? NF_EXIT_OK : NF_EXIT_FAILED;
done:
	nf_buf_release(&out);
	nf_graph_free(g);
	nf_dag_free(dag);
	nf_diag_list_release(&diags);
	return rc;
}

const nf_cmd nf_cmd_graph = {
	.name = "graph",
	.usage = "graph FILE [--format text|dot|json]",
	.summary = "Print the run graph of a pipeline as text, Graphviz dot or JSON.",
	.help = "One node per stage, gate, monitor and matrix or foreach instance (STAGE@KEY), in\n"
		"topological order. Edges come from needs and from files: a stage reading another\n"
		"stage's output depends on it (an inferred edge).\n"
		"\n"
		"  -F, --format FORMAT   text (default): each stage with its kind, critical-path\n"
		"                        length and needs (inferred ones marked \"(inferred)\"), and\n"
		"                        its matrix or foreach instances with their ids;\n"
		"                        dot: Graphviz (render with `dot -Tsvg`), gates as diamonds,\n"
		"                        monitors as hexagons, a cluster per matrix or foreach stage,\n"
		"                        inferred edges dashed;\n"
		"                        json: nodes (name, stage, kind, instance, matrix, item,\n"
		"                        deps, inferred, crit) and order\n"
		"\n"
		"Exit status: 0, or 2 when the file has errors.\n",
	.exec = cmd_graph_exec,
};
