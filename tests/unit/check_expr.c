/* check_expr.c: unit tests of the gate/alert expression language: precedence, evaluation,
 * printing, and every parse and evaluation error with its column. */
#include "config.h"
#include "ntflow/expr.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Metrics for the lookup: "auc" 0.93, "eval.acc" 0.9, "zero" 0, "nan" NaN, "big" 1e308;
 * production: "auc" 0.95; production is absent when ctx is non-NULL. */
static int
lookup(void *ctx, bool production, const char *name, double *out)
{
	if (production) {
		if (ctx)
			return NF_ENOPROD;
		if (!strcmp(name, "auc")) {
			*out = 0.95;
			return 0;
		}
		return NF_ENOTFOUND;
	}
	if (!strcmp(name, "auc"))
		*out = 0.93;
	else if (!strcmp(name, "eval.acc"))
		*out = 0.9;
	else if (!strcmp(name, "zero"))
		*out = 0;
	else if (!strcmp(name, "nan"))
		*out = NAN;
	else if (!strcmp(name, "big"))
		*out = 1e308;
	else if (!strcmp(name, "broken"))
		return nf_error_set(NF_EIO, "metrics file unreadable");
	else
		return NF_ENOTFOUND;
	return 0;
}

/* Parses text (which must parse) and returns its canonical printing. */
static char *
fmt(const char *text)
{
	nf_arena *a = nf_arena_new();
	nf_buf b = NF_BUF_INIT;
	nf_expr *e = NULL;
	int col = -1;

	ck_assert_msg(nf_expr_parse(&e, a, text, &col) == 0, "%s: %s", text, nf_error_last());
	ck_assert_int_eq(col, 0);
	nf_expr_format(&b, e);
	nf_arena_free(a);
	return nf_buf_detach(&b);
}

#define ck_fmt(text, expect) do { \
	char *got_ = fmt(text); \
	ck_assert_str_eq(got_, expect); \
	free(got_); \
} while (0)

/* Evaluates text; returns the error code and the value in *v. */
static int
eval_ctx(const char *text, void *ctx, double *v)
{
	nf_arena *a = nf_arena_new();
	nf_expr *e = NULL;
	int err;

	ck_assert_msg(nf_expr_parse(&e, a, text, NULL) == 0, "%s: %s", text, nf_error_last());
	err = nf_expr_eval(e, lookup, ctx, v);
	nf_arena_free(a);
	return err;
}

static double
eval(const char *text)
{
	double v = -1;

	ck_assert_msg(eval_ctx(text, NULL, &v) == 0, "%s: %s", text, nf_error_last());
	return v;
}

/* The parse error of text: its message and column. */
#define ck_parse_error(text, expect_col, expect_msg) do { \
	nf_arena *a_ = nf_arena_new(); \
	nf_expr *e_ = (nf_expr *)1; \
	int col_ = -1; \
	ck_assert_int_eq(nf_expr_parse(&e_, a_, text, &col_), NF_EINVALID); \
	ck_assert_ptr_null(e_); \
	ck_assert_str_eq(nf_error_last(), expect_msg); \
	ck_assert_int_eq(col_, expect_col); \
	nf_arena_free(a_); \
} while (0)

START_TEST(test_precedence)
{
	ck_assert_double_eq(eval("1 + 2 * 3"), 7);
	ck_assert_double_eq(eval("(1 + 2) * 3"), 9);
	ck_assert_double_eq(eval("10 - 4 - 3"), 3);
	ck_assert_double_eq(eval("24 / 4 / 2"), 3);
	ck_assert_double_eq(eval("-2 * 3"), -6);
	ck_assert_double_eq(eval("- -2"), 2);
	ck_assert_double_eq(eval("1 + 1 > 1"), 1);
	ck_assert_double_eq(eval("1 < 2 and 2 < 1 or 1 == 1"), 1);
	ck_assert_double_eq(eval("1 < 2 and (2 < 1 or 1 == 2)"), 0);
	ck_assert_double_eq(eval("not 1 > 2"), 1);
	ck_assert_double_eq(eval("not 1 < 2 or 1 < 2"), 1);   /* (not 1<2) or 1<2 */
	ck_assert_double_eq(eval("not (1 < 2 or 1 < 2)"), 0);
	ck_assert_double_eq(eval("not not 3"), 1);
}
END_TEST

START_TEST(test_numbers)
{
	ck_assert_double_eq(eval("0.05"), 0.05);
	ck_assert_double_eq(eval(".5"), 0.5);
	ck_assert_double_eq(eval("1."), 1);
	ck_assert_double_eq(eval("1e-3"), 0.001);
	ck_assert_double_eq(eval("2.5E+2"), 250);
	ck_assert_double_eq(eval("42"), 42);
}
END_TEST

START_TEST(test_float_comparisons)
{
	ck_assert_double_eq(eval("0.1 + 0.2 == 0.3"), 1);
	ck_assert_double_eq(eval("0.1 + 0.2 >= 0.3"), 1);
	ck_assert_double_eq(eval("0.1 + 0.2 <= 0.3"), 1);
	ck_assert_double_eq(eval("0.1 + 0.2 > 0.3"), 0);
	ck_assert_double_eq(eval("0.1 + 0.2 != 0.3"), 0);
	ck_assert_double_eq(eval("0.3 < 0.1 + 0.2"), 0);
	ck_assert_double_eq(eval("0.85 >= 0.8500001"), 0);
	ck_assert_double_eq(eval("auc >= 0.93"), 1);
	ck_assert_double_eq(eval("auc > 0.93"), 0);
	ck_assert_double_eq(eval("1e20 == 1e20 + 1"), 1);   /* relative tolerance */
}
END_TEST

START_TEST(test_names)
{
	ck_assert_double_eq(eval("auc"), 0.93);
	ck_assert_double_eq(eval("eval.acc >= 0.85"), 1);
	ck_assert_double_eq(eval("auc >= production.auc - 0.02"), 1);
	ck_assert_double_eq(eval("auc >= production.auc"), 0);
}
END_TEST

START_TEST(test_keywords_in_names)
{
	nf_arena *a = nf_arena_new();
	nf_expr *e;

	/* and/or/not are keywords only as whole words */
	ck_assert_int_eq(nf_expr_parse(&e, a, "band + order + notice", NULL), 0);
	ck_assert_int_eq(e->op, NF_EX_ADD);
	ck_assert_str_eq(e->r->name, "notice");
	ck_assert_str_eq(e->l->r->name, "order");
	ck_assert_str_eq(e->l->l->name, "band");
	nf_arena_free(a);
}
END_TEST

START_TEST(test_production_refs)
{
	nf_arena *a = nf_arena_new();
	nf_expr *e;
	double v;

	ck_assert_int_eq(nf_expr_parse(&e, a, "auc >= production.auc - 0.02", NULL), 0);
	ck_assert_int_eq(e->op, NF_EX_GE);
	ck_assert_int_eq(e->r->op, NF_EX_SUB);
	ck_assert_int_eq(e->r->l->op, NF_EX_PROD);
	ck_assert_str_eq(e->r->l->name, "auc");
	ck_assert_int_eq(e->r->l->col, 8);
	ck_assert_int_eq(nf_expr_parse(&e, a, "production.eval.auc", NULL), 0);
	ck_assert_int_eq(e->op, NF_EX_PROD);
	ck_assert_str_eq(e->name, "eval.auc");

	/* no version in production */
	ck_assert_int_eq(eval_ctx("auc >= production.auc", (void *)1, &v), NF_ENOPROD);
	ck_assert_str_eq(nf_error_last(), "no model version is in production (needed for production.auc)");
	ck_assert_int_eq(eval_ctx("production.ece < 1", NULL, &v), NF_ENOTFOUND);
	ck_assert_str_eq(nf_error_last(), "production metric 'ece' is missing");
	nf_arena_free(a);
}
END_TEST

START_TEST(test_missing_metric)
{
	double v;

	ck_assert_int_eq(eval_ctx("auc > 0.5 and ece < 0.08", NULL, &v), NF_ENOTFOUND);
	ck_assert_str_eq(nf_error_last(), "metric 'ece' is missing");
	/* short-circuit: the right side is not read when the left decides */
	ck_assert_int_eq(eval_ctx("auc < 0.5 and ece < 0.08", NULL, &v), 0);
	ck_assert_double_eq(v, 0);
	ck_assert_int_eq(eval_ctx("auc > 0.5 or ece < 0.08", NULL, &v), 0);
	ck_assert_double_eq(v, 1);
	/* other lookup errors pass through with their message */
	ck_assert_int_eq(eval_ctx("broken > 1", NULL, &v), NF_EIO);
	ck_assert_str_eq(nf_error_last(), "metrics file unreadable");
}
END_TEST

START_TEST(test_division_by_zero)
{
	double v;

	ck_assert_int_eq(eval_ctx("auc / zero > 1", NULL, &v), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "division by zero");
	ck_assert_int_eq(eval_ctx("zero > 0 and auc / zero > 1", NULL, &v), 0);
	ck_assert_double_eq(v, 0);
}
END_TEST

START_TEST(test_non_finite)
{
	double v;

	ck_assert_int_eq(eval_ctx("nan > 1", NULL, &v), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "metric 'nan' is not a finite number");
	ck_assert_int_eq(eval_ctx("big * big > 1", NULL, &v), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "the result is not a finite number (overflow)");
}
END_TEST

static void
walk(void *ctx, bool prod, const char *name, int col)
{
	nf_buf_printf(ctx, "%s%s@%d ", prod ? "production." : "", name, col);
}

START_TEST(test_walk_names)
{
	nf_arena *a = nf_arena_new();
	nf_buf b = NF_BUF_INIT;
	nf_expr *e;

	ck_assert_int_eq(nf_expr_parse(&e, a, "acc >= 0.85 and (auc >= production.auc - 0.02)", NULL), 0);
	nf_expr_walk_names(e, walk, &b);
	ck_assert_str_eq(nf_buf_cstr(&b), "acc@1 auc@18 production.auc@25 ");
	nf_buf_release(&b);
	nf_arena_free(a);
}
END_TEST

START_TEST(test_format)
{
	ck_fmt("a+b*c", "a + b * c");
	ck_fmt("(a+b)*c", "(a + b) * c");
	ck_fmt("a-(b-c)", "a - (b - c)");
	ck_fmt("(a-b)-c", "a - b - c");
	ck_fmt("a/(b*c)", "a / (b * c)");
	ck_fmt("-(a+b)", "-(a + b)");
	ck_fmt("- -a", "- -a");
	ck_fmt("--a", "- -a");
	ck_fmt("-(-(a))", "- -a");
	ck_fmt("a - -b", "a - -b");
	ck_fmt("-(-a * b)", "-(-a * b)");
	ck_fmt("-a*b", "-a * b");
	ck_fmt("not(a<b)", "not a < b");
	ck_fmt("not (a or b) and c", "not (a or b) and c");
	ck_fmt("(a > 1) == (b > 1)", "(a > 1) == (b > 1)");
	ck_fmt("a or (b or c)", "a or (b or c)");
	ck_fmt("(a and b) or c", "a and b or c");
	ck_fmt("auc >= production.auc - 0.02", "auc >= production.auc - 0.02");
	ck_fmt("1e-3 + 0.1 + 1e300 + 12", "0.001 + 0.1 + 1e+300 + 12");
	ck_fmt("0.1 + 0.30000000000000004", "0.1 + 0.30000000000000004");
}
END_TEST

START_TEST(test_format_roundtrip)
{
	static const char *const texts[] = {
		"a + b * c - d / e", "not (a < b) or c >= -d * 2", "((a))", "-(a - b) * -(c)",
		"x == 1 and y != 2 or not z <= 3", "(a or b) and (c or not d)",
	};

	for (size_t i = 0; i < NF_ARRAY_SIZE(texts); i++) {
		char *once = fmt(texts[i]), *twice = fmt(once);
		ck_assert_str_eq(once, twice);
		free(once);
		free(twice);
	}
}
END_TEST

/* Same shape, operators, names and numbers (columns aside). */
static bool
same_tree(const nf_expr *a, const nf_expr *b)
{
	if (!a || !b)
		return a == b;
	if (a->op != b->op)
		return false;
	if (a->op == NF_EX_NUM)
		return a->num == b->num;
	if (a->op == NF_EX_NAME || a->op == NF_EX_PROD)
		return strcmp(a->name, b->name) == 0;
	return same_tree(a->l, b->l) && same_tree(a->r, b->r);
}

/* text parses; its printing parses to the same tree and prints the same again. */
static void
check_reparse(const char *text)
{
	nf_arena *a = nf_arena_new();
	nf_buf once = NF_BUF_INIT, twice = NF_BUF_INIT;
	nf_expr *e = NULL, *back = NULL;

	ck_assert_msg(nf_expr_parse(&e, a, text, NULL) == 0, "%s: %s", text, nf_error_last());
	nf_expr_format(&once, e);
	ck_assert_msg(nf_expr_parse(&back, a, nf_buf_cstr(&once), NULL) == 0, "%s printed as %s, which does not parse: %s",
		      text, nf_buf_cstr(&once), nf_error_last());
	ck_assert_msg(same_tree(e, back), "%s printed as %s, which parses to another tree", text, nf_buf_cstr(&once));
	nf_expr_format(&twice, back);
	ck_assert_str_eq(nf_buf_cstr(&once), nf_buf_cstr(&twice));
	nf_buf_release(&once);
	nf_buf_release(&twice);
	nf_arena_free(a);
}

START_TEST(test_format_unary_chains)
{
	nf_buf b = NF_BUF_INIT;

	/* every chain the parser takes, up to its 64 levels: minus signs (33 broke the
	 * printing: "-(-(...))" counts two levels a sign), not, and both mixed */
	for (int n = 1; n <= 64; n++) {
		nf_buf_reset(&b);
		for (int i = 0; i < n; i++)
			nf_buf_putc(&b, '-');
		nf_buf_puts(&b, "auc");
		check_reparse(nf_buf_cstr(&b));
		nf_buf_reset(&b);
		for (int i = 0; i < n; i++)
			nf_buf_puts(&b, i % 2 ? "-(" : "-");
		nf_buf_puts(&b, "1");
		for (int i = 0; i < n; i++)
			if (i % 2)
				nf_buf_putc(&b, ')');
		if (n <= 42)   /* n + n/2 levels */
			check_reparse(nf_buf_cstr(&b));
		nf_buf_reset(&b);
		for (int i = 0; i < n; i++)
			nf_buf_puts(&b, i < n / 2 ? "not " : "-");
		nf_buf_puts(&b, "x > 1");
		check_reparse(nf_buf_cstr(&b));
	}
	nf_buf_release(&b);
}
END_TEST

/* Random expressions as a person might write them (spaces, extra parentheses, unary
 * chains): every one that parses prints as text that parses back to the same tree. */
static uint64_t rng_state;

static unsigned
rnd(unsigned n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (unsigned)((rng_state * UINT64_C(2685821657736338717)) >> 33) % n;
}

static void
random_expr(nf_buf *b, int depth)
{
	static const char *const atoms[] = { "auc", "eval.acc", "production.auc", "0", "1", "0.5", "1e-3", "12.25",
					     "x_1", "1e300", ".5", "3." };
	static const char *const ops[] = { "+", "-", "*", "/", "<", "<=", ">", ">=", "==", "!=", "and", "or" };
	unsigned k = depth > 6 ? rnd(3) : rnd(9);

	if (k < 3) {
		nf_buf_puts(b, atoms[rnd(NF_ARRAY_SIZE(atoms))]);
	} else if (k == 3 || k == 8) {
		for (unsigned i = 0, n = 1 + rnd(k == 8 ? 40 : 3); i < n; i++)
			nf_buf_puts(b, rnd(3) ? "-" : "- ");
		random_expr(b, depth + 1);
	} else if (k == 4) {
		nf_buf_puts(b, "not ");
		random_expr(b, depth + 1);
	} else if (k == 5) {
		nf_buf_putc(b, '(');
		random_expr(b, depth + 1);
		nf_buf_putc(b, ')');
	} else {
		random_expr(b, depth + 1);
		nf_buf_printf(b, " %s ", ops[rnd(NF_ARRAY_SIZE(ops))]);
		random_expr(b, depth + 1);
	}
}

START_TEST(test_format_reparses_random)
{
	nf_arena *a = nf_arena_new();
	nf_buf b = NF_BUF_INIT;
	int parsed = 0;

	rng_state = UINT64_C(0x9e3779b97f4a7c15);
	for (int i = 0; i < 20000; i++) {
		nf_expr *e;

		nf_buf_reset(&b);
		random_expr(&b, 0);
		if (nf_expr_parse(&e, a, nf_buf_cstr(&b), NULL) != 0)
			continue;   /* chained comparisons, nesting past the limit */
		parsed++;
		check_reparse(nf_buf_cstr(&b));
	}
	ck_assert_int_gt(parsed, 5000);
	nf_buf_release(&b);
	nf_arena_free(a);
}
END_TEST

START_TEST(test_parse_errors)
{
	ck_parse_error("", 1, "expected a number, a metric name or '('");
	ck_parse_error("auc >=", 7, "expected a number, a metric name or '('");
	ck_parse_error("auc >= )", 8, "expected a number, a metric name or '('");
	ck_parse_error("(auc > 1", 9, "expected ')'");
	ck_parse_error("(auc > 1 ]", 10, "expected ')'");
	ck_parse_error("auc > 1)", 8, "unexpected ')' after expression");
	ck_parse_error("auc 1", 5, "unexpected '1' after expression");
	ck_parse_error("auc > 1 auc", 9, "unexpected 'auc' after expression");
	ck_parse_error("1 < auc < 2", 9, "unexpected '<' after expression");
	ck_parse_error("auc > 1 && ece < 2", 9, "unexpected '&&' after expression; use 'and'");
	ck_parse_error("auc > 1 || ece < 2", 9, "unexpected '||' after expression; use 'or'");
	ck_parse_error("auc = 1", 5, "unexpected '=' after expression; use '==' to compare");
	ck_parse_error("!auc", 1, "expected a number, a metric name or '('; use 'not'");
	ck_parse_error("auc > $x", 7, "expected a number, a metric name or '('");
	ck_parse_error("auc > 1 \xc3\xa9", 9, "unexpected '\xc3\xa9' after expression");
	ck_parse_error("eval. > 1", 6, "expected a name after '.'");
	ck_parse_error("eval.1 > 1", 6, "expected a name after '.'");
	ck_parse_error("production > 1", 1, "expected 'production.NAME', the production model's metric NAME");
	ck_parse_error("auc > 1e999", 7, "number '1e999' is out of range");
	ck_parse_error("auc and", 8, "expected a number, a metric name or '('");
	ck_parse_error("not", 4, "expected a number, a metric name or '('");
}
END_TEST

START_TEST(test_deep_nesting)
{
	nf_arena *a = nf_arena_new();
	size_t n = 100000;
	char *s = xmalloc(2 * n + 2);
	nf_expr *e;
	int col;

	/* 64 levels are fine */
	memset(s, '(', 64);
	s[64] = '1';
	memset(s + 65, ')', 64);
	s[129] = '\0';
	ck_assert_int_eq(nf_expr_parse(&e, a, s, &col), 0);

	/* 100 000 are an error at the 65th '(' */
	memset(s, '(', n);
	s[n] = '1';
	memset(s + n + 1, ')', n);
	s[2 * n + 1] = '\0';
	ck_assert_int_eq(nf_expr_parse(&e, a, s, &col), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "expression nested too deeply (more than 64 levels)");
	ck_assert_int_eq(col, 65);

	/* so are unary operators */
	for (size_t i = 0; i < n; i++)
		s[i] = '-';
	strcpy(s + n, "1");
	ck_assert_int_eq(nf_expr_parse(&e, a, s, &col), NF_EINVALID);
	ck_assert_int_eq(col, 65);
	for (size_t i = 0; i < 4 * 1000; i += 4)
		memcpy(s + i, "not ", 4);
	strcpy(s + 4000, "1");
	ck_assert_int_eq(nf_expr_parse(&e, a, s, &col), NF_EINVALID);
	ck_assert_int_eq(col, 4 * 64 + 1);

	/* a long flat chain is too tall a tree to evaluate recursively */
	for (size_t i = 0; i < n; i += 2)
		memcpy(s + i, "1+", 2);
	strcpy(s + n, "1");
	ck_assert_int_eq(nf_expr_parse(&e, a, s, &col), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "expression too complex (more than 256 operators deep)");
	ck_assert_int_eq(col, 1);
	free(s);
	nf_arena_free(a);
}
END_TEST

START_TEST(test_columns)
{
	nf_arena *a = nf_arena_new();
	nf_expr *e;

	ck_assert_int_eq(nf_expr_parse(&e, a, "  auc  >=\t0.9", NULL), 0);
	ck_assert_int_eq(e->col, 3);
	ck_assert_int_eq(e->l->col, 3);
	ck_assert_int_eq(e->r->col, 11);
	ck_assert_double_eq(e->r->num, 0.9);
	nf_arena_free(a);
}
END_TEST

static Suite *
expr_suite(void)
{
	Suite *s = suite_create("expr");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_precedence);
	tcase_add_test(tc, test_numbers);
	tcase_add_test(tc, test_float_comparisons);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_keywords_in_names);
	tcase_add_test(tc, test_production_refs);
	tcase_add_test(tc, test_missing_metric);
	tcase_add_test(tc, test_division_by_zero);
	tcase_add_test(tc, test_non_finite);
	tcase_add_test(tc, test_walk_names);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_format_roundtrip);
	tcase_add_test(tc, test_format_unary_chains);
	tcase_add_test(tc, test_format_reparses_random);
	tcase_add_test(tc, test_parse_errors);
	tcase_add_test(tc, test_deep_nesting);
	tcase_add_test(tc, test_columns);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(expr_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
