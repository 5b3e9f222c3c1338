/* cmd-init.c: `ntflow init [DIR]`, a new project in one command: a commented starter
 * pipeline that runs as it is, the state and build folders kept out of git, and the next
 * commands to type. It never overwrites a file unless --force. */
#include "config.h"
#include "ntflow/cmd.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* preprocess -> train -> evaluate -> gate -> model -> deploy, a monitor and a weekly
 * schedule, each stage a shell one-liner (t1200 runs it and keeps it canonical). */
static const char starter[] =
	"# dags/pipeline.dag: a starter pipeline written by `ntflow init`. Each stage is a one-line\n"
	"# shell command so that it runs as it is: replace each `run` with your own scripts and keep\n"
	"# the shape (inputs, outputs, metrics). ntflow-dag(5) documents every block and attribute.\n"
	"#\n"
	"#   ntflow run dags/pipeline.dag     # run it (again: only what changed reruns)\n"
	"#   ntflow scheduler dags/           # retrain on the schedule below, with nobody watching\n"
	"pipeline \"pipeline\" {\n"
	"  description = \"Starter: preprocess, train, evaluate, gate, register, deploy, monitor\"\n"
	"  schedule    = \"@weekly\"            # 5-field cron or @hourly/@daily/@weekly/@monthly\n"
	"  concurrency = 2                    # stages run at once (-j)\n"
	"\n"
	"  params {                           # ${params.NAME} in commands; -p NAME=VALUE for one run\n"
	"    seed = 42\n"
	"  }\n"
	"\n"
	"  defaults {\n"
	"    retries = 1                      # attempts after the first\n"
	"    timeout = \"30m\"\n"
	"  }\n"
	"}\n"
	"\n"
	"stage \"preprocess\" {\n"
	"  description = \"Turn the raw data into a training set\"\n"
	"  run         = \"mkdir -p build/data && seq 1 100 >build/data/train.txt\"\n"
	"  outputs     = [\"build/data/\"]      # declared outputs are cached and restored\n"
	"}\n"
	"\n"
	"stage \"train\" {\n"
	"  description = \"Fit the model\"\n"
	"  needs       = [\"preprocess\"]\n"
	"  run         = \"mkdir -p build/model && echo '{\\\"seed\\\": ${params.seed}}' >build/model/model.json\"\n"
	"  outputs     = [\"build/model/\"]\n"
	"}\n"
	"\n"
	"stage \"evaluate\" {\n"
	"  description = \"Score the model on held-out data\"\n"
	"  needs       = [\"train\"]\n"
	"  run         = \"mkdir -p build/eval && echo '{\\\"accuracy\\\": 0.91, \\\"auc\\\": 0.95}' >build/eval/metrics.json\"\n"
	"  outputs     = [\"build/eval/\"]\n"
	"  metrics     = \"build/eval/metrics.json\"  # a JSON object of numbers: gates and the registry read it\n"
	"}\n"
	"\n"
	"gate \"quality\" {\n"
	"  description = \"Promote only a model that is good enough\"\n"
	"  needs       = [\"evaluate\"]\n"
	"  require     = [\"accuracy >= 0.85\", \"auc >= 0.90\"]\n"
	"}\n"
	"\n"
	"model \"model\" {                      # the registry entry: production when the gate passes\n"
	"  artifact = \"build/model/model.json\"\n"
	"  metrics  = \"build/eval/metrics.json\"\n"
	"  gate     = \"quality\"\n"
	"}\n"
	"\n"
	"stage \"deploy\" {\n"
	"  description = \"Install the promoted model where it is served\"\n"
	"  needs       = [\"quality\", \"train\"]  # runs only when the gate passed\n"
	"  run         = \"mkdir -p models/serving && cp build/model/model.json models/serving/model.json\"\n"
	"  outputs     = [\"models/serving/model.json\"]\n"
	"}\n"
	"\n"
	"monitor \"drift\" {\n"
	"  description = \"Compare this week's data with the training data\"\n"
	"  needs       = [\"preprocess\"]\n"
	"  run         = \"mkdir -p build/drift && echo '{\\\"psi\\\": 0.02}' >build/drift/drift.json\"\n"
	"  outputs     = [\"build/drift/\"]\n"
	"  metrics     = \"build/drift/drift.json\"\n"
	"  alert \"shift\" {\n"
	"    when     = \"psi > 0.25\"\n"
	"    severity = \"high\"\n"
	"  }\n"
	"}\n";

/* What git should not track: the state, the build products and the served models. */
static const char *const ignored[] = { "/.ntflow/", "/build/", "/models/" };

/* Whether dir or a folder above it holds .git: the starter works without git, but the
 * cache keys inputs on commits, so init says to make one. */
static bool
in_git_repo(const char *dir)
{
	char path[PATH_MAX + 8];
	char *real = realpath(dir, NULL);
	bool found = false;

	if (!real)
		return false;
	for (;;) {
		char *slash;

		snprintf(path, sizeof(path), "%s/.git", real);
		if (access(path, F_OK) == 0) {
			found = true;
			break;
		}
		if (!(slash = strrchr(real, '/')) || slash == real)
			break;
		*slash = '\0';
	}
	free(real);
	return found;
}

/* Appends the lines of ignored[] that .gitignore lacks (written whole, atomically, so an
 * interrupted init leaves the old file or the new one). *added: how many were missing. */
static int
update_gitignore(const char *path, int *added)
{
	char *old = NULL;
	size_t len = 0;
	nf_buf b = NF_BUF_INIT;
	int err;

	*added = 0;
	if ((err = nf_read_file(&old, &len, path, 16u << 20)) < 0 && err != NF_ENOTFOUND)
		return err;
	if (old)
		nf_buf_add(&b, old, len);
	for (size_t i = 0; i < NF_ARRAY_SIZE(ignored); i++) {
		const char *bare = ignored[i] + 1;   /* ".ntflow/" matches as well as "/.ntflow/" */
		bool has = false;

		for (const char *line = old; line && line < old + len;) {
			const char *end = memchr(line, '\n', (size_t)(old + len - line));
			size_t n = end ? (size_t)(end - line) : (size_t)(old + len - line);

			if ((n == strlen(ignored[i]) && memcmp(line, ignored[i], n) == 0) ||
			    (n == strlen(bare) && memcmp(line, bare, n) == 0) ||
			    (n + 1 == strlen(bare) && memcmp(line, bare, n) == 0))
				has = true;
			line += n + 1;
		}
		if (has)
			continue;
		if (b.len && b.buf[b.len - 1] != '\n')
			nf_buf_putc(&b, '\n');
		if (*added == 0)
			nf_buf_puts(&b, "# ntflow: its state, build products and served models\n");
		nf_buf_puts(&b, ignored[i]);
		nf_buf_putc(&b, '\n');
		(*added)++;
	}
	err = *added ? nf_write_file_atomic(path, b.buf, b.len) : 0;
	nf_buf_release(&b);
	free(old);
	return err;
}

static int
cmd_init_exec(int argc, char **argv)
{
	extern const nf_cmd nf_cmd_init;
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 },
	};
	bool force = false;
	const char *dir = ".";
	char *dags = NULL, *dag = NULL, *gitignore = NULL, *shown = NULL;
	int c, added = 0, err, rc = NF_EXIT_FAILED;
	struct stat st;

	while ((c = nf_cmd_getopt(&nf_cmd_init, argc, argv, "f", longopts)) != NF_CMD_DONE) {
		if (c == NF_CMD_HELP)
			return NF_EXIT_OK;
		if (c == 'f')
			nf_cmd_deprecated_short(&nf_cmd_init, 'f', "--force");
		else if (c != 'O')
			return NF_EXIT_USAGE;
		force = true;
	}
	if (argc - optind > 1) {
		nf_cmd_error("init takes one folder");
		nf_cmd_usage(&nf_cmd_init, stderr);
		return NF_EXIT_USAGE;
	}
	if (optind < argc)
		dir = argv[optind];
	dags = xasprintf("%s/dags", dir);
	dag = xasprintf("%s/pipeline.dag", dags);
	gitignore = xasprintf("%s/.gitignore", dir);
	shown = strcmp(dir, ".") == 0 ? xstrdup("dags/pipeline.dag") : xstrdup(dag);
	if (!force && lstat(dag, &st) == 0) {
		nf_cmd_error("%s exists: init never overwrites a file (--force to replace it)", shown);
		goto out;
	}
	if ((err = nf_mkdir_p(dags, 0777)) < 0 || (err = nf_write_file_atomic(dag, starter, sizeof(starter) - 1)) < 0 ||
	    (err = update_gitignore(gitignore, &added)) < 0) {
		nf_cmd_error("%s", nf_error_last());
		goto out;
	}
	printf("wrote %s: preprocess, train, evaluate, a gate, the model, deploy and a drift monitor\n", shown);
	if (added)
		printf("added %d line%s to %s\n", added, added == 1 ? "" : "s",
		       strcmp(dir, ".") == 0 ? ".gitignore" : gitignore);
	if (!in_git_repo(dir))
		printf("%s is not in a git repository: run git init there (the cache keys inputs on commits)\n", dir);
	printf("\nnext:\n");
	printf("  ntflow run %s\n", shown);
	printf("  git add %s %s && git commit -m 'ntflow pipeline'\n", shown,
	       strcmp(dir, ".") == 0 ? ".gitignore" : gitignore);
	printf("  ntflow scheduler %s\n", strcmp(dir, ".") == 0 ? "dags/" : dags);
	rc = NF_EXIT_OK;
out:
	free(dags);
	free(dag);
	free(gitignore);
	free(shown);
	return rc;
}

const nf_cmd nf_cmd_init = {
	.name = "init",
	.usage = "init [DIR] [--force]",
	.summary = "Start a project: a starter pipeline and a .gitignore.",
	.help = "Writes DIR/dags/pipeline.dag (DIR: the current folder), a commented pipeline that runs\n"
		"as it is: preprocess, train, evaluate, a gate, the model it registers, deploy and a\n"
		"drift monitor, retrained @weekly. Adds /.ntflow/, /build/ and /models/ to\n"
		"DIR/.gitignore when they are missing, and prints the next commands to type.\n"
		"      --force  replace an existing dags/pipeline.dag (never done otherwise: exit 1)\n",
	.exec = cmd_init_exec,
};
