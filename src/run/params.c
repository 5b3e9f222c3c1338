/* params.c: the text ${params.NAME} stands for in a run: each declared default, then the
 * -p NAME=VALUE overrides from the command line, each checked against its declaration.
 * A module function of its own (not a static of run.c) so that tests and the fuzzer
 * (tests/fuzz/fuzz_params.c) reach it without starting a run. */
#include "config.h"
#include "ntflow/run.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Checks the value of one override against the declaration's type; NF_EINVALID with a
 * message quoting the whole argument otherwise. */
static int
check_value(const nf_kv *decl, const char *arg, const char *name, const char *value)
{
	switch (decl->value.kind) {
	case NF_V_NUMBER: {
		char *end;
		double v;

		errno = 0;
		v = strtod(value, &end);
		if (!*value || *end || errno || !isfinite(v))
			return nf_error_set(NF_EINVALID, "-p %s: parameter '%s' is a number (default %s), not '%s'",
					    arg, name, decl->value.num_text, value);
		return 0;
	}
	case NF_V_BOOL:
		if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
			return nf_error_set(NF_EINVALID, "-p %s: parameter '%s' is a boolean: true or false", arg, name);
		return 0;
	case NF_V_LIST:
		return nf_error_set(NF_EINVALID, "-p %s: parameter '%s' is a list and cannot be set with -p", arg, name);
	case NF_V_STRING:
		break;
	}
	return 0;
}

int
nf_params_resolve(nf_strmap **out, nf_arena *a, const nf_pipeline *p, const char *const *overrides,
		  size_t noverrides)
{
	const char **names = xcalloc(p->nparams + 1, sizeof(*names));
	nf_strmap *params = nf_strmap_new(p->nparams);
	int err = 0;

	*out = NULL;
	for (size_t i = 0; i < p->nparams; i++) {
		names[i] = p->params[i].key;
		nf_strmap_put(params, p->params[i].key, (void *)nf_value_text(&p->params[i].value));
	}
	for (size_t i = 0; i < noverrides; i++) {
		const char *arg = overrides[i];
		const char *eq = strchr(arg, '=');
		const nf_kv *decl = NULL;
		char *name;

		if (!eq || eq == arg) {
			err = nf_error_set(NF_EINVALID, "-p '%s': expected NAME=VALUE", arg);
			goto done;
		}
		name = nf_arena_strndup(a, arg, (size_t)(eq - arg));
		for (size_t j = 0; j < p->nparams; j++)
			if (strcmp(p->params[j].key, name) == 0)
				decl = &p->params[j];
		if (!decl) {
			const char *hint = nf_suggest(name, names, p->nparams);

			if (hint)
				err = nf_error_set(NF_EINVALID, "-p %s: the pipeline has no parameter '%s'; did you mean '%s'?", arg, name, hint);
			else
				err = nf_error_set(NF_EINVALID, "-p %s: the pipeline has no parameter '%s'", arg, name);
			goto done;
		}
		if ((err = check_value(decl, arg, name, eq + 1)) < 0)
			goto done;
		nf_strmap_put(params, decl->key, nf_arena_strdup(a, eq + 1));
	}
	*out = params;
	params = NULL;
done:
	nf_strmap_free(params);
	free(names);
	return err;
}
