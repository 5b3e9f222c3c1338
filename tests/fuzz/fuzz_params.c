/* fuzz_params.c: `ntflow run -p NAME=VALUE` overrides, each line of the input one argument
 * (a NUL byte also ends one: argv cannot hold it), applied to a pipeline that declares a
 * parameter of each kind a -p can set (string, number, boolean). Properties: on success every parameter has a text and each
 * override's value is its parameter's text when no later override names it; on failure the
 * message quotes the -p argument. */
#include "config.h"
#include "fuzz.h"

#include <string.h>

#include "ntflow/dag.h"
#include "ntflow/run.h"

static const char pipeline_src[] =
	"pipeline \"fuzz\" {\n"
	"  params {\n"
	"    greeting = \"hello\"\n"
	"    rate     = 0.05\n"
	"    rows     = 5\n"
	"    verbose  = false\n"
	"    empty    = \"\"\n"
	"  }\n"
	"}\n"
	"stage \"s\" {\n"
	"  run = \"echo ${params.greeting} ${params.rate} ${params.rows} ${params.verbose} ${params.empty}\"\n"
	"}\n";

static const nf_pipeline *
pipeline(void)
{
	static nf_dag *dag;

	if (!dag) {
		nf_diag_list diags = NF_DIAG_LIST_INIT;

		if (nf_dag_parse(&dag, "fuzz.dag", pipeline_src, sizeof(pipeline_src) - 1, &diags) < 0 ||
		    nf_dag_validate(dag, &diags) < 0) {
			nf_diag_print(&diags, stderr);
			abort();
		}
		nf_diag_list_release(&diags);
	}
	return &dag->pipeline;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const nf_pipeline *p = pipeline();
	nf_arena *a = nf_arena_new();
	char *text = nf_arena_alloc(a, size + 1);   /* zeroed: ends in a NUL */
	const char **args = NULL;
	size_t nargs = 0, cap = 0;
	nf_strmap *params = NULL;
	int err;

	if (size)
		memcpy(text, data, size);
	for (size_t i = 0, start = 0; i <= size; i++) {
		if (i == size || text[i] == '\n' || text[i] == '\0') {
			text[i] = '\0';
			NF_PUSH(args, nargs, cap, text + start);
			start = i + 1;
		}
	}
	err = nf_params_resolve(&params, a, p, args, nargs);
	if (err < 0) {
		FUZZ_CHECK(err == NF_EINVALID && params == NULL);
		FUZZ_CHECK(strncmp(nf_error_last(), "-p ", 3) == 0);
	} else {
		FUZZ_CHECK(params != NULL);
		for (size_t i = 0; i < p->nparams; i++)
			FUZZ_CHECK(nf_strmap_get(params, p->params[i].key) != NULL);
		for (size_t i = 0; i < nargs; i++) {
			const char *eq = strchr(args[i], '=');
			const char *value;
			bool later = false;

			FUZZ_CHECK(eq && eq > args[i]);
			for (size_t j = i + 1; j < nargs; j++)
				later |= strncmp(args[j], args[i], (size_t)(eq - args[i]) + 1) == 0;
			value = nf_strmap_get(params, nf_arena_strndup(a, args[i], (size_t)(eq - args[i])));
			FUZZ_CHECK(value != NULL);
			FUZZ_CHECK(later || strcmp(value, eq + 1) == 0);
		}
	}
	nf_strmap_free(params);
	free(args);
	nf_arena_free(a);
	return 0;
}
