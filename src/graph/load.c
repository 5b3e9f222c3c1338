/* load.c: a pipeline file through to its run graph in one go: read, parse, validate
 * (src/dag) and build the graph, which finds cycles. It lives in graph, above dag, so
 * that dag does not need the graph (no dag <-> graph include cycle). */
#include "config.h"
#include "ntflow/graph.h"

#include <stdlib.h>
#include <sys/stat.h>

/* nf_graph_load_buffer on *src; with owned (the file's text, read by nf_graph_load), *src
 * is freed and set NULL as soon as it parsed without an error: the model holds copies of
 * what it needs and diagnostics carry no excerpt, so a large file is not held through
 * validation and the graph. */
static int
load_buffer(nf_dag **out, nf_graph **graph, const char *path, char **src, size_t len, bool owned,
	    nf_diag_list *diags)
{
	nf_dag *dag = NULL;
	nf_graph *g = NULL;
	size_t nerrors = diags->nerrors;
	bool params_ok = true;

	*out = NULL;
	if (graph)
		*graph = NULL;
	nf_dag_parse(&dag, path, *src, len, diags);
	if (owned && diags->nerrors == nerrors) {
		free(*src);
		*src = NULL;
	}
	if (dag && !diags->full && dag->pipeline.nparams_files) {
		/* Params files before validation: ${params.*} and stage params name their keys.
		 * When one cannot be read, validation would only add unknown-param noise. */
		char *root = nf_project_root(path);

		params_ok = nf_dag_read_params_files(dag, root, diags) == 0;
		free(root);
	}
	if (dag && !diags->full && params_ok) {
		nf_dag_validate(dag, diags);
		/* cycles: the graph reports them; other graph errors (huge matrices) too */
		if (!diags->full)
			nf_graph_build(&g, dag, diags);
	}
	if (diags->nerrors > nerrors || !dag || !g) {
		nf_graph_free(g);
		nf_dag_free(dag);
		return nf_error_set(NF_EINVALID, "'%s' has errors", path);
	}
	*out = dag;
	if (graph)
		*graph = g;
	else
		nf_graph_free(g);
	return 0;
}

int
nf_graph_load(nf_dag **out, nf_graph **graph, const char *path, nf_diag_list *diags)
{
	struct stat st;
	char *src = NULL;
	size_t len;
	int err;

	*out = NULL;
	if (graph)
		*graph = NULL;
	if ((err = nf_read_file(&src, &len, path, NF_DAG_MAX_FILE_SIZE)) < 0) {
		if (err != NF_EINVALID)
			return err;
		if (stat(path, &st) < 0)
			st.st_size = 0;
		nf_diag_error(diags, nf_loc_at(path, 0, 0), "file too large (%lld bytes; the limit is %u MiB)",
			      (long long)st.st_size, NF_DAG_MAX_FILE_SIZE >> 20);
		return NF_EINVALID;
	}
	err = load_buffer(out, graph, path, &src, len, true, diags);
	free(src);
	return err;
}

int
nf_graph_load_buffer(nf_dag **out, nf_graph **graph, const char *path, const char *src, size_t len,
		     nf_diag_list *diags)
{
	char *text = (char *)src;   /* not owned: never freed here */

	return load_buffer(out, graph, path, &text, len, false, diags);
}

int
nf_dag_load(nf_dag **out, const char *path, nf_diag_list *diags)
{
	return nf_graph_load(out, NULL, path, diags);
}
