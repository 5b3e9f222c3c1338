/* exec-size.c: a stage's /bin/sh -c COMMAND (or, for a run list exec'd directly, its
 * arguments) and its environment must fit what execve takes: each string at most
 * MAX_ARG_STRLEN bytes (32 pages) with its NUL, and all of them with their pointers within
 * the stack's share (sysconf(_SC_ARG_MAX), at most 3/4 of 8 MiB). Checked before the stage
 * starts, so a value too large fails it with "argument list too long" naming the value,
 * rather than exit 127 from an exec that could not happen. A run string is measured as the
 * shell's one argument even when it is exec'd directly: both paths then take the same
 * commands. */
#include "config.h"
#include "run-internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The kernel never allows more than 3/4 of _STK_LIM (8 MiB) for arguments and environment,
 * whatever the stack limit. */
#define ARGS_CAP ((size_t)6 << 20)

/* What the kernel allows for one string (its NUL included). */
static size_t
max_string(void)
{
	long page = sysconf(_SC_PAGESIZE);

	return 32 * (size_t)(page > 0 ? page : 4096);
}

/* What it allows for all strings and their pointers together. */
static size_t
max_total(void)
{
	/* sysconf asks the kernel for the stack limit each time: once per process is enough. */
	static size_t limit;
	long arg_max;

	if (limit == 0) {
		arg_max = sysconf(_SC_ARG_MAX);
		limit = arg_max > 0 ? (size_t)arg_max : (size_t)128 << 10;
		if (limit > ARGS_CAP)
			limit = ARGS_CAP;
	}
	return limit;
}

bool
nf_run__param_var_is(const char *name, size_t len, const char *key)
{
	size_t n = strlen(key);

	if (len != n)
		return false;
	for (size_t k = 0; k < n; k++) {
		char c = key[k] >= 'a' && key[k] <= 'z' ? (char)(key[k] - 'a' + 'A') : key[k];

		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			c = '_';
		if (name[k] != c)
			return false;
	}
	return true;
}

/* The parameter whose environment variable is the NAME of "NAME=VALUE", or NULL. */
static const char *
param_of_env(const run_ctx *ctx, const char *kv)
{
	const nf_pipeline *p = &ctx->dag->pipeline;
	size_t klen = strcspn(kv, "=");

	if (klen <= 13 || strncmp(kv, "NTFLOW_PARAM_", 13) != 0)
		return NULL;
	for (size_t i = 0; i < p->nparams; i++)
		if (nf_run__param_var_is(kv + 13, klen - 13, p->params[i].key))
			return p->params[i].key;
	return NULL;
}

/* "environment variable NAME (parameter "x")" or "environment variable NAME". */
static void
describe_env(nf_buf *b, const run_ctx *ctx, const char *kv)
{
	const char *param = param_of_env(ctx, kv);

	nf_buf_printf(b, "environment variable %.*s", (int)strcspn(kv, "="), kv);
	if (param)
		nf_buf_printf(b, " (parameter \"%s\")", param);
}

int
nf_run__check_exec_size(run_ctx *ctx, const nf_node *node, const nf_interp *ip, const char *cmd, char *const *words,
			char *const *env)
{
	static const char *const argv[] = { "/bin/sh", "sh", "-c" };   /* the file name is copied too */
	size_t one = max_string(), all = max_total(), total = 0, nstrings = 2, big = 0;
	size_t cmd_len = strlen(cmd) + 1, ref_len = 0, word = 0;
	const char *big_env = NULL, *ref = NULL;
	nf_buf msg = NF_BUF_INIT;
	int err;

	if (words) {
		/* The file name, then each argument; the largest stands for "the command". */
		total = strlen(words[0]) + 1;
		nstrings = 1;
		cmd_len = 0;
		for (char *const *w = words; *w; w++, nstrings++) {
			size_t len = strlen(*w) + 1;

			total += len;
			if (len > cmd_len) {
				cmd_len = len;
				word = (size_t)(w - words);
			}
		}
	} else {
		for (size_t i = 0; i < NF_ARRAY_SIZE(argv); i++)
			total += strlen(argv[i]) + 1;
		total += cmd_len;
	}
	for (char *const *e = env; e && *e; e++, nstrings++) {
		size_t len = strlen(*e) + 1;

		total += len;
		if (len > big) {
			big = len;
			big_env = *e;
		}
	}
	total += nstrings * sizeof(char *);
	if (cmd_len <= one && big <= one && total <= all)
		return 0;

	/* Too large: name the value that makes it so. */
	if (node->stage->run)
		ref = nf_interp_largest_ref(node->stage->run, ip, &ref_len);
	if (cmd_len > one && words) {
		nf_buf_printf(&msg, "argument %zu of the command is %zu bytes, over the limit of %zu for one argument",
			      word, cmd_len - 1, one - 1);
		if (ref)
			nf_buf_printf(&msg, "; ${%s} alone is %zu", ref, ref_len);
	} else if (cmd_len > one) {
		nf_buf_printf(&msg, "the command is %zu bytes, over the limit of %zu for one argument", cmd_len - 1, one - 1);
		if (ref)
			nf_buf_printf(&msg, "; ${%s} alone is %zu", ref, ref_len);
	} else if (big > one) {
		describe_env(&msg, ctx, big_env);
		nf_buf_printf(&msg, " is %zu bytes, over the limit of %zu for one variable", big - 1, one - 1);
	} else {
		nf_buf_printf(&msg, "the command and environment are %zu bytes, over the limit of %zu (getconf ARG_MAX); "
			      "the largest part is ", total, all);
		if (big_env && !(ref && ref_len >= big)) {
			describe_env(&msg, ctx, big_env);
			nf_buf_printf(&msg, " (%zu bytes)", big - 1);
		} else if (ref) {
			nf_buf_printf(&msg, "${%s} in the command (%zu bytes)", ref, ref_len);
		} else {
			nf_buf_printf(&msg, "the command (%zu bytes)", cmd_len - 1);
		}
	}
	err = nf_error_set(NF_EINVALID, "argument list too long: %s", nf_buf_cstr(&msg));
	nf_buf_release(&msg);
	return err;
}
