/* fuzz_dag.c: the .dag front end on any bytes, as `ntflow validate` and `ntflow fmt` see a
 * file: lexing, parsing against the schema, validation, the graph (matrices, cycles) and its
 * three renderings, and the formatter. Properties: a load fails exactly when it reported an
 * error; a file that formats gives text that formats again to itself. */
#include "config.h"
#include "fuzz.h"

#include <string.h>

#include "ntflow/dag.h"
#include "ntflow/graph.h"

static void
check_format(const char *src, size_t len)
{
	nf_diag_list diags = NF_DIAG_LIST_INIT, again_diags = NF_DIAG_LIST_INIT;
	nf_buf once = NF_BUF_INIT, twice = NF_BUF_INIT;

	if (nf_dag_format(&once, "fuzz.dag", src, len, &diags) == 0) {
		FUZZ_CHECK(diags.nerrors == 0);
		FUZZ_CHECK(nf_dag_format(&twice, "fuzz.dag", once.buf ? once.buf : "", once.len, &again_diags) == 0);
		FUZZ_CHECK(once.len == twice.len && memcmp(nf_buf_cstr(&once), nf_buf_cstr(&twice), once.len) == 0);
	} else {
		FUZZ_CHECK(diags.nerrors > 0);
	}
	nf_buf_release(&once);
	nf_buf_release(&twice);
	nf_diag_list_release(&diags);
	nf_diag_list_release(&again_diags);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const formats[] = { "text", "dot", "json" };
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_dag *dag = NULL;
	nf_graph *g = NULL;
	const char *src = (const char *)data;
	int err;

	if (size > NF_DAG_MAX_FILE_SIZE)
		return 0;
	err = nf_graph_load_buffer(&dag, &g, "fuzz.dag", src, size, &diags);
	FUZZ_CHECK(err == 0 || err == NF_EINVALID);
	FUZZ_CHECK((err == 0) == (diags.nerrors == 0));
	FUZZ_CHECK((err == 0) == (dag != NULL && g != NULL));
	for (size_t i = 0; err == 0 && i < NF_ARRAY_SIZE(formats); i++) {
		nf_buf out = NF_BUF_INIT;

		FUZZ_CHECK(nf_graph_write(&out, g, formats[i]) == 0);
		nf_buf_release(&out);
	}
	nf_graph_free(g);
	nf_dag_free(dag);
	nf_diag_list_release(&diags);
	check_format(src, size);
	return 0;
}
