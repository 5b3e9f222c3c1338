/* cmd-fmt.c: `ntflow fmt`, which prints pipeline files in their canonical layout, checks
 * that they are in it (--check, for CI), or rewrites them in place (-w). */
#include "config.h"
#include "ntflow/cmd.h"

#include <stdlib.h>
#include <string.h>

#include "ntflow/dag.h"

enum { MODE_PRINT, MODE_CHECK, MODE_WRITE };

static const struct option fmt_options[] = {
	{ "check", no_argument, NULL, 'c' },
	{ "write", no_argument, NULL, 'w' },
	{ NULL, 0, NULL, 0 },
};

/* Formats one file. Returns NF_EXIT_OK, NF_EXIT_FAILED (--check: not canonical) or
 * NF_EXIT_USAGE (unreadable, or does not parse: the diagnostics are printed). */
static int
fmt_file(const char *path, int mode)
{
	const char *read_path = strcmp(path, "-") == 0 ? "/dev/stdin" : path;
	const char *shown = strcmp(path, "-") == 0 ? "<stdin>" : path;
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_buf out = NF_BUF_INIT;
	char *src = NULL;
	size_t len;
	int rc = NF_EXIT_OK;

	if (nf_read_file(&src, &len, read_path, NF_DAG_MAX_FILE_SIZE) < 0) {
		nf_cmd_error("%s", nf_error_last());
		rc = NF_EXIT_USAGE;
		goto done;
	}
	if (nf_dag_format(&out, shown, src, len, &diags) < 0) {
		nf_diag_print(&diags, stderr);
		rc = NF_EXIT_USAGE;
		goto done;
	}
	switch (mode) {
	case MODE_PRINT:
		fwrite(nf_buf_cstr(&out), 1, out.len, stdout);
		break;
	case MODE_CHECK:
		if (out.len != len || memcmp(out.buf ? out.buf : "", src, len) != 0) {
			printf("%s\n", shown);
			rc = NF_EXIT_FAILED;
		}
		break;
	case MODE_WRITE:
		if (out.len == len && memcmp(out.buf ? out.buf : "", src, len) == 0)
			break;
		if (nf_write_file_atomic(path, nf_buf_cstr(&out), out.len) < 0) {
			nf_cmd_error("%s", nf_error_last());
			rc = NF_EXIT_USAGE;
		}
		break;
	}
done:
	nf_diag_list_release(&diags);
	nf_buf_release(&out);
	free(src);
	return rc;
}

static int
cmd_fmt_exec(int argc, char **argv)
{
	int c, mode = MODE_PRINT, rc = NF_EXIT_OK;

	while ((c = nf_cmd_getopt(&nf_cmd_fmt, argc, argv, "cw", fmt_options)) != NF_CMD_DONE) {
		switch (c) {
		case 'c':
		case 'w':
			if (mode != MODE_PRINT && mode != (c == 'c' ? MODE_CHECK : MODE_WRITE)) {
				nf_cmd_error("fmt: --check and --write cannot be used together");
				nf_cmd_usage(&nf_cmd_fmt, stderr);
				return NF_EXIT_USAGE;
			}
			mode = c == 'c' ? MODE_CHECK : MODE_WRITE;
			break;
		case NF_CMD_HELP:
			return NF_EXIT_OK;
		default:
			return NF_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		nf_cmd_usage(&nf_cmd_fmt, stderr);
		return NF_EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		int r;

		if (mode == MODE_WRITE && strcmp(argv[i], "-") == 0) {
			nf_cmd_error("fmt: --write needs a file, not standard input");
			rc = NF_EXIT_USAGE;
			continue;
		}
		r = fmt_file(argv[i], mode);
		/* The worst outcome decides: usage (2) over not canonical (1) over fine (0). */
		if (r > rc)
			rc = r;
	}
	fflush(stdout);
	return rc;
}

const nf_cmd nf_cmd_fmt = {
	.name = "fmt",
	.usage = "fmt [--check | -w] FILE...",
	.summary = "Print pipeline files in the canonical layout, check it, or rewrite them.",
	.help = "Prints each FILE (- for standard input) in the canonical layout: two-space\n"
		"indents, '=' aligned within a run of attributes, one blank line between\n"
		"top-level blocks, canonical string escapes; comments are kept. Formatting\n"
		"never changes what the file means. See FORMATTING in ntflow-dag(5).\n"
		"\n"
		"  -c, --check   print nothing but the names of files not in the canonical\n"
		"                layout, and exit 1 when there is one\n"
		"  -w, --write   rewrite files that are not in the canonical layout, in place\n"
		"                (through a temporary file and a rename)\n"
		"\n"
		"A file with syntax errors is left alone; its errors are printed as with\n"
		"'ntflow validate'.\n"
		"\n"
		"Exit status: 0 done, 1 --check found a file to format, 2 usage or syntax error.\n",
	.exec = cmd_fmt_exec,
};
