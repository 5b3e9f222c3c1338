/* cmd-import.c: `ntflow import dvc.yaml`, which writes the .dag standing for a DVC pipeline,
 * lists what it could not carry over, and checks the result with the real validator. */
#include "config.h"
#include "ntflow/cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ntflow/dag.h"
#include "ntflow/graph.h"
#include "ntflow/run.h"

static const struct option import_options[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "force", no_argument, NULL, 'O' },
	{ NULL, 0, NULL, 0 },
};

/* FILE.yaml -> FILE.dag beside it (dvc.yaml -> dvc.dag). */
static char *
default_output(const char *in)
{
	size_t n = strlen(in);

	if (n > 5 && !strcmp(in + n - 5, ".yaml"))
		return xasprintf("%.*s.dag", (int)(n - 5), in);
	if (n > 4 && !strcmp(in + n - 4, ".yml"))
		return xasprintf("%.*s.dag", (int)(n - 4), in);
	return xasprintf("%s.dag", in);
}

/* The folder of path, resolved (caller frees), or NULL with the message set. */
static char *
real_dir(const char *path)
{
	char *copy = xstrdup(path), *slash = strrchr(copy, '/'), *r;

	if (!slash)
		r = realpath(".", NULL);
	else if (slash == copy)
		r = xstrdup("/");
	else {
		*slash = '\0';
		r = realpath(copy, NULL);
	}
	if (!r)
		nf_error_set_errno(NF_EIO, "cannot resolve the folder of '%s'", path);
	free(copy);
	return r;
}

/* The pipeline's name: the dvc.yaml's folder below the root, as a name ("dvc" at the root). */
static char *
pipeline_name(const char *prefix)
{
	char *n = xstrdup(*prefix ? prefix : "dvc");

	for (char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		      *p == '-'))
			*p = '-';
	if (n[0] == '-')
		n[0] = '_';
	return n;
}

/* Writes text to path, refusing an existing file unless force. */
static int
write_output(const char *path, const nf_buf *text, bool force)
{
	int fd;

	if (!force) {
		/* O_EXCL: the check and the creation are one step, so nothing is overwritten */
		if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0666)) < 0) {
			if (errno == EEXIST)
				return nf_error_set(NF_EEXISTS, "'%s' exists; use --force to overwrite it", path);
			return nf_error_set_errno(NF_EIO, "cannot create '%s'", path);
		}
		close(fd);
	}
	return nf_write_file_atomic(path, nf_buf_cstr(text), text->len);
}

static int
cmd_import_exec(int argc, char **argv)
{
	const char *in, *out_arg = NULL;
	char *out = NULL, *src = NULL, *dir = NULL, *root = NULL, *name = NULL, *shown = NULL;
	nf_buf dvc = NF_BUF_INIT, text = NF_BUF_INIT, notes = NF_BUF_INIT;
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_dag *dag = NULL;
	nf_graph *g = NULL;
	nf_dvc_import o = { 0 };
	bool force = false, to_stdout;
	const char *prefix;
	size_t len, rl;
	int c, rc = NF_EXIT_USAGE;

	while ((c = nf_cmd_getopt(&nf_cmd_import, argc, argv, "o:f", import_options)) != NF_CMD_DONE) {
		switch (c) {
		case 'o':
			out_arg = optarg;
			break;
		case 'f':
		case 'O':
			if (c == 'f')
				nf_cmd_deprecated_short(&nf_cmd_import, 'f', "--force");
			force = true;
			break;
		case NF_CMD_HELP:
			return NF_EXIT_OK;
		default:
			return NF_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		nf_cmd_usage(&nf_cmd_import, stderr);
		return NF_EXIT_USAGE;
	}
	in = argv[optind];
	out = out_arg ? xstrdup(out_arg) : default_output(in);
	to_stdout = !strcmp(out, "-");
	if (nf_read_file(&src, &len, in, NF_DAG_MAX_FILE_SIZE) < 0 || !(dir = real_dir(in))) {
		nf_cmd_error("%s", nf_error_last());
		goto done;
	}
	/* DVC's paths are relative to the dvc.yaml's folder; the .dag's to the project root,
	 * the git work tree holding it (as for any pipeline file there). */
	if (!(root = nf_project_root(in))) {
		nf_cmd_error("cannot resolve '%s': %s", in, strerror(errno));
		goto done;
	}
	rl = strlen(root);
	prefix = !strncmp(dir, root, rl) && (dir[rl] == '/' || dir[rl] == '\0') ? dir + rl + (dir[rl] == '/') : "";
	name = pipeline_name(prefix);
	o.path = in;
	shown = to_stdout ? default_output(in) : xstrdup(out);
	o.out_name = shown;
	o.prefix = prefix;
	o.root = root;
	o.name = name;
	if (nf_dvc_import_text(&dvc, &notes, &o, src, len) < 0) {
		nf_cmd_error("import: %s", nf_error_last());
		goto done;
	}
	/* the canonical layout; the text is ours, so it always parses */
	if (nf_dag_format(&text, out, nf_buf_cstr(&dvc), dvc.len, &diags) < 0) {
		nf_buf_reset(&text);
		nf_buf_add(&text, nf_buf_cstr(&dvc), dvc.len);
	}
	nf_diag_list_release(&diags);
	if (to_stdout) {
		fwrite(nf_buf_cstr(&text), 1, text.len, stdout);
		fflush(stdout);
	} else if (write_output(out, &text, force) < 0) {
		nf_cmd_error("import: %s", nf_error_last());
		goto done;
	}
	if (notes.len) {
		nf_cmd_eprintf("ntflow import: not carried over (see the '# ntflow import:' comments):\n");
		fputs(nf_buf_cstr(&notes), stderr);
	}
	/* The result is checked as `ntflow validate` checks a file: where it is written, so
	 * that paths are resolved from the project root (stdout: as dvc.dag beside the input). */
	if (nf_graph_load_buffer(&dag, &g, shown, nf_buf_cstr(&text), text.len, &diags) < 0) {
		nf_diag_print(&diags, stderr);
		if (!diags.nerrors)
			nf_cmd_error("%s", nf_error_last());
		nf_cmd_error("import: %s does not validate: fix it at the places above", to_stdout ? "the result" : out);
		goto done;
	}
	nf_diag_print(&diags, stderr);
	rc = NF_EXIT_OK;
done:
	nf_graph_free(g);
	nf_dag_free(dag);
	nf_diag_list_release(&diags);
	nf_buf_release(&dvc);
	nf_buf_release(&text);
	nf_buf_release(&notes);
	free(src);
	free(dir);
	free(root);
	free(name);
	free(out);
	free(shown);
	return rc;
}

const nf_cmd nf_cmd_import = {
	.name = "import",
	.usage = "import [-o FILE] [--force] dvc.yaml",
	.summary = "Write the pipeline file standing for a DVC pipeline (dvc.yaml).",
	.help = "Translates a DVC pipeline into a .dag: stages and their cmd (a list joined\n"
		"with && , each element that is not plain words in a subshell), deps (inputs),\n"
		"outs (outputs; cache: false -> uncached, persist: true -> persist), params (keys\n"
		"of params.yaml or of another file -> params and params_files), metrics (one JSON\n"
		"file), plots (plot blocks, top-level ones in the stage writing their file), wdir\n"
		"(dir, paths made relative to the project root), foreach/do (foreach), matrix,\n"
		"vars and ${...} (params), frozen, always_changed (cache = false) and desc.\n"
		"Dependencies between stages are inferred from files, as DVC infers them;\n"
		"where the paths go through a foreach's ${item} or ${key}, needs are written.\n"
		"Whatever has no equivalent becomes a '# ntflow import: ...' comment at its place\n"
		"and is listed on standard error with its line in dvc.yaml; a stage name the\n"
		"language does not allow is mapped, the mapping commented. The result is then\n"
		"checked as 'ntflow validate' checks a file. See IMPORT in ntflow(1).\n"
		"\n"
		"  -o, --output FILE   write FILE (default: dvc.dag beside dvc.yaml); - for\n"
		"                      standard output\n"
		"      --force         overwrite FILE when it exists (never done otherwise)\n"
		"\n"
		"Exit status: 0 written and valid, 2 usage error, unreadable or not a DVC\n"
		"pipeline, FILE exists, or the result does not validate (its errors printed).\n",
	.exec = cmd_import_exec,
};
