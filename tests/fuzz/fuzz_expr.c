/* fuzz_expr.c: the expression language of gate criteria and alert conditions on any text:
 * parsing (bounded nesting and height), evaluation against metrics that exist or not, a
 * missing production version, the walk over names, and printing. Properties: a failed
 * parse gives a column inside the text (or just past it) and a message; evaluation returns
 * a finite value or a known error; what nf_expr_format prints parses back, to an expression
 * that prints the same (the round trip gate and alert records rely on). */
#include "config.h"
#include "fuzz.h"

#include <math.h>
#include <string.h>

#include "ntflow/expr.h"

/* Metrics for evaluation: a name's value comes from its bytes, so the same name always has
 * the same value; names starting with 'x' do not exist, and production has no version when
 * the name starts with 'n'. Zero, negative and huge values come up too. */
static int
lookup(void *ctx, bool production, const char *name, double *out)
{
	unsigned h = 2166136261u;

	(void)ctx;
	if (name[0] == 'x')
		return nf_error_set(NF_ENOTFOUND, "no metric '%s'", name);
	if (production && name[0] == 'n')
		return nf_error_set(NF_ENOPROD, "no version in production");
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	switch (h % 5) {
	case 0: *out = 0; break;
	case 1: *out = -1.5; break;
	case 2: *out = 1e308; break;
	case 3: *out = 0.25; break;
	default: *out = (double)(h % 1000); break;
	}
	return 0;
}

static void
count_name(void *ctx, bool prod, const char *name, int col)
{
	(void)prod;
	FUZZ_CHECK(name && col >= 1);
	(*(size_t *)ctx)++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	nf_arena *a = nf_arena_new();
	char *text = xmalloc(size + 1);
	nf_expr *e = NULL;
	int col = 0, err;

	memcpy(text, data, size);
	text[size] = '\0';
	err = nf_expr_parse(&e, a, text, &col);
	if (err < 0) {
		FUZZ_CHECK(err == NF_EINVALID);
		FUZZ_CHECK(col >= 1 && (size_t)col <= strlen(text) + 1);
		FUZZ_CHECK(nf_error_last() && *nf_error_last());
	} else {
		nf_buf out = NF_BUF_INIT;
		size_t names = 0;
		double v;

		FUZZ_CHECK(e != NULL);
		err = nf_expr_eval(e, lookup, NULL, &v);
		FUZZ_CHECK(err == 0 || err == NF_EINVALID || err == NF_ENOTFOUND || err == NF_ENOPROD);
		FUZZ_CHECK(err < 0 || isfinite(v));
		nf_expr_walk_names(e, count_name, &names);
		nf_expr_format(&out, e);
		FUZZ_CHECK(out.len > 0);
		{
			nf_expr *again = NULL;
			nf_buf out2 = NF_BUF_INIT;
			int col2 = 0;

			FUZZ_CHECK(nf_expr_parse(&again, a, nf_buf_cstr(&out), &col2) == 0);
			nf_expr_format(&out2, again);
			FUZZ_CHECK(strcmp(nf_buf_cstr(&out), nf_buf_cstr(&out2)) == 0);
			nf_buf_release(&out2);
		}
		nf_buf_release(&out);
	}
	free(text);
	nf_arena_free(a);
	return 0;
}
