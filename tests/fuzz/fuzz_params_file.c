/* fuzz_params_file.c: a params file (src/dag/params-file.c) of any bytes, read as YAML when
 * the first byte is even and as JSON when it is odd (the rest is the file). Properties: on
 * success every key is non-empty and given once, every value has a text (a string one
 * literal segment: a "${" in a file is data); on failure at least one error names the file
 * with a line and column from 1. */
#include "config.h"
#include "fuzz.h"

#include <string.h>

#include "ntflow/dag.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	nf_arena *a;
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_strmap *seen;
	const char *file;
	nf_kv *kvs = NULL;
	size_t n = 0;
	int err;

	if (size == 0)
		return 0;
	a = nf_arena_new();
	file = data[0] % 2 ? "conf/params.json" : "params.yaml";
	err = nf_params_file_parse(&kvs, &n, a, file, (const char *)data + 1, size - 1, &diags);
	if (err < 0) {
		FUZZ_CHECK(err == NF_EINVALID && n == 0 && diags.nerrors > 0);
		FUZZ_CHECK(diags.items[0].file && strcmp(diags.items[0].file, file) == 0);
		FUZZ_CHECK(diags.items[0].line >= 1 && diags.items[0].col >= 1);
	} else {
		FUZZ_CHECK(diags.nerrors == 0);
		seen = nf_strmap_new(n + 1);
		for (size_t i = 0; i < n; i++) {
			const nf_value *v = &kvs[i].value;

			FUZZ_CHECK(kvs[i].key && kvs[i].key[0]);
			FUZZ_CHECK(nf_strmap_get(seen, kvs[i].key) == NULL);
			nf_strmap_put(seen, kvs[i].key, (void *)1);
			FUZZ_CHECK(kvs[i].loc.line >= 1 && kvs[i].loc.col >= 1);
			if (v->kind == NF_V_NUMBER)
				FUZZ_CHECK(v->num_text && v->num_text[0]);
			else if (v->kind == NF_V_STRING)
				FUZZ_CHECK(v->str.nsegs <= 1 && nf_tmpl_literal(&v->str) != NULL);
			else
				FUZZ_CHECK(v->kind == NF_V_BOOL);
		}
		nf_strmap_free(seen);
	}
	nf_diag_list_release(&diags);
	nf_arena_free(a);
	return 0;
}
