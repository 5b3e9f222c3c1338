/* fuzz_import.c: `ntflow import`'s translation of a dvc.yaml (src/dag/import-dvc.c) over any
 * input. Properties: it fails only with NF_EINVALID and a message naming the file; on
 * success the text it wrote is a .dag that parses (every string escaped, every name one
 * the language allows, every comment on a line of its own), and each note is one line
 * naming the file. */
#include "config.h"
#include "fuzz.h"

#include <string.h>

#include "ntflow/dag.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	nf_buf out = NF_BUF_INIT, notes = NF_BUF_INIT, fmt = NF_BUF_INIT;
	nf_dvc_import o = { .path = "dvc.yaml", .prefix = "", .root = NULL, .name = "fuzz" };
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	int err = nf_dvc_import_text(&out, &notes, &o, (const char *)data, size);

	if (err < 0) {
		FUZZ_CHECK(err == NF_EINVALID);
		FUZZ_CHECK(strncmp(nf_error_last(), "dvc.yaml:", 9) == 0);
	} else {
		const char *n = nf_buf_cstr(&notes);

		if (nf_dag_format(&fmt, "fuzz.dag", nf_buf_cstr(&out), out.len, &diags) < 0) {
			nf_diag_print(&diags, stderr);
			fprintf(stderr, "%s", nf_buf_cstr(&out));
			FUZZ_CHECK(!"the imported text parses");
		}
		for (const char *line = n; *line; line = strchr(line, '\n') + 1) {
			FUZZ_CHECK(strncmp(line, "dvc.yaml:", 9) == 0);
			FUZZ_CHECK(strchr(line, '\n') != NULL);
		}
	}
	nf_diag_list_release(&diags);
	nf_buf_release(&out);
	nf_buf_release(&notes);
	nf_buf_release(&fmt);
	return 0;
}
