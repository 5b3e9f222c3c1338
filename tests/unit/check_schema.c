/* check_schema.c: the schema table drives parsing (src/dag/schema.c, convert.c): every row's
 * target, offsets and converter are consistent with the struct it fills, writing each
 * attribute in a file stores its value exactly where the row says, and a stage inherits
 * each run option from defaults { } by its row. */
#include "config.h"
#include "ntflow/dag.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

/* Every NF_OPT_* bit a run option sets when written (NF_OPT_SLURM: the slurm { } block). */
#define ALL_OPT_BITS ((NF_OPT_LOG_LIMIT << 1) - 1)

static bool
overlaps(size_t a, size_t alen, size_t b, size_t blen)
{
	return a < b + blen && b < a + alen;
}

START_TEST(test_rows_consistent)
{
	unsigned default_bits = 0;

	for (int k = 0; k < NF_BK_COUNT; k++) {
		const nf_block_spec *b = nf_schema_block((nf_block_id)k);
		unsigned used = 0, bits = 0;

		if (b->free_keys) {
			ck_assert_uint_eq(b->nattrs, 0);
			ck_assert_uint_eq(b->targets, 0);
			continue;
		}
		if (b->nattrs == 0 && b->nchildren > 0 && b->targets == 0)
			continue;   /* only holds blocks (foreach holds instance blocks) */
		ck_assert_msg(b->nattrs > 0 && b->targets != 0, "block %s fills nothing", b->kind);
		for (size_t i = 0; i < b->nattrs; i++) {
			const nf_attr_spec *a = &b->attrs[i];
			size_t whole = nf_schema_target_size(a->target);

			ck_assert_msg(a->target != NF_TG_NONE && a->target < NF_TG_COUNT, "%s.%s: no target",
				      b->kind, a->name);
			ck_assert_msg(b->targets & (1u << a->target), "%s.%s: block %s does not provide its target",
				      b->kind, a->name, b->kind);
			used |= 1u << a->target;
			ck_assert_msg(a->size > 0 && a->off + a->size <= whole, "%s.%s: field outside its struct",
				      b->kind, a->name);
			if (!a->setter)
				ck_assert_msg(nf_schema_storage_size(a->type) != 0 &&
					      a->size == nf_schema_storage_size(a->type),
					      "%s.%s: field of %zu bytes, its type's converter stores %zu", b->kind,
					      a->name, a->size, nf_schema_storage_size(a->type));
			if (nf_schema_is_list(a->type)) {
				ck_assert_msg((a->count_size == sizeof(size_t) || a->count_size == sizeof(uint32_t)) &&
					      a->count_off + a->count_size <= whole &&
					      !overlaps(a->count_off, a->count_size, a->off, a->size),
					      "%s.%s: bad count field", b->kind, a->name);
			} else {
				ck_assert_msg(a->count_off == 0, "%s.%s: a count for a scalar", b->kind, a->name);
			}
			if (a->has_loc)
				ck_assert_msg(a->loc_off + sizeof(nf_loc) <= whole &&
					      !overlaps(a->loc_off, sizeof(nf_loc), a->off, a->size),
					      "%s.%s: bad location field", b->kind, a->name);
			else
				ck_assert_uint_eq(a->loc_off, 0);
			if (a->target == NF_TG_OPTS) {
				ck_assert_msg(a->set_bit != 0 && (a->set_bit & (a->set_bit - 1)) == 0 &&
					      (a->set_bit & ALL_OPT_BITS) && a->set_bit != NF_OPT_SLURM,
					      "%s.%s: a run option needs one NF_OPT_* bit", b->kind, a->name);
				ck_assert_msg(!(bits & a->set_bit), "%s.%s: its NF_OPT_* bit is another's",
					      b->kind, a->name);
				bits |= a->set_bit;
			} else {
				ck_assert_msg(a->set_bit == 0, "%s.%s: a set bit outside the run options", b->kind, a->name);
			}
			if (a->type == NF_AT_ENUM)
				ck_assert_msg(a->choices && a->choices[0] && a->choices[1], "%s.%s: an enum without choices",
					      b->kind, a->name);
			else
				ck_assert_ptr_null(a->choices);
			if (a->type == NF_AT_INT || a->type == NF_AT_INT_LIST)
				ck_assert_msg(a->min <= a->max && a->max > 0, "%s.%s: empty range", b->kind, a->name);
			if (a->type == NF_AT_SELECT)
				ck_assert_msg(a->setter, "%s.%s: select has no converter of its own", b->kind, a->name);
		}
		ck_assert_msg(used == b->targets, "block %s provides a target no row uses", b->kind);
		if (b->id == NF_BK_DEFAULTS)
			default_bits = bits;
	}
	/* Every run option a stage inherits can be written in defaults { }. */
	ck_assert_uint_eq(default_bits, ALL_OPT_BITS & ~(unsigned)NF_OPT_SLURM);
}
END_TEST

/* ---- each attribute, written in a file, lands where its row says ---- */

typedef struct row_ref {
	const nf_block_spec *b;
	const nf_attr_spec *a;
} row_ref;

static row_ref
row_at(int n)
{
	for (int k = 0; k < NF_BK_COUNT; k++) {
		const nf_block_spec *b = nf_schema_block((nf_block_id)k);

		if ((size_t)n < b->nattrs)
			return (row_ref){ b, &b->attrs[n] };
		n -= (int)b->nattrs;
	}
	return (row_ref){ NULL, NULL };
}

static int
row_count(void)
{
	int n = 0;

	for (int k = 0; k < NF_BK_COUNT; k++)
		n += (int)nf_schema_block((nf_block_id)k)->nattrs;
	return n;
}

/* A file holding block b with line (or without it when line is NULL); the line that holds
 * it is *at. */
static char *
file_with(const nf_block_spec *b, const char *line, int *at)
{
	bool run = !line || strncmp(line, "run ", 4) != 0;
	bool artifact = !line || strncmp(line, "artifact ", 9) != 0;
	bool when = !line || strncmp(line, "when ", 5) != 0;
	/* a plot names a data file, unless the line writes it (validate wants one of data and image) */
	bool data = !line || strncmp(line, "data ", 5) != 0;
	bool req = !line || strncmp(line, "require ", 8) != 0;
	bool score = !line || strncmp(line, "score ", 6) != 0;

	if (!line)
		line = "";
	switch (b->id) {
	case NF_BK_PIPELINE:
		*at = 2;
		return xasprintf("pipeline \"p\" {\n  %s\n}\n", line);
	case NF_BK_STAGE:
	case NF_BK_MONITOR:
		*at = run ? 3 : 2;
		return xasprintf("%s \"s\" {\n%s  %s\n}\n", b->kind, run ? "  run = \"r\"\n" : "", line);
	case NF_BK_GATE:
		*at = 2;
		return xasprintf("gate \"g\" {\n  %s\n}\n", line);
	case NF_BK_MODEL:
		*at = artifact ? 3 : 2;
		return xasprintf("model \"m\" {\n%s  %s\n}\n", artifact ? "  artifact = \"a\"\n" : "", line);
	case NF_BK_DEFAULTS:
		*at = 3;
		return xasprintf("pipeline \"p\" {\n  defaults {\n    %s\n  }\n}\n", line);
	case NF_BK_LINEAGE:
		*at = 3;
		return xasprintf("pipeline \"p\" {\n  lineage {\n    %s\n  }\n}\n", line);
	case NF_BK_SLURM:
		*at = 4;
		return xasprintf("stage \"s\" {\n  run = \"r\"\n  slurm {\n    %s\n  }\n}\n", line);
	case NF_BK_ALERT:
		*at = when ? 5 : 4;
		return xasprintf("monitor \"m\" {\n  run = \"r\"\n  alert \"a\" {\n%s    %s\n  }\n}\n",
				 when ? "    when = \"x > 1\"\n" : "", line);
	case NF_BK_CRITERION:
		*at = req ? 4 : 3;
		return xasprintf("gate \"g\" {\n  criterion {\n%s    %s\n  }\n}\n",
				 req ? "    require = \"x > 1\"\n" : "", line);
	case NF_BK_RISK:
		*at = score ? 4 : 3;
		return xasprintf("pipeline \"p\" {\n  risk {\n%s    %s\n  }\n}\n",
				 score ? "    score = \"1 - x\"\n" : "", line);
	case NF_BK_TIERS:
		*at = 5;
		return xasprintf("pipeline \"p\" {\n  risk {\n    score = \"1 - x\"\n    tiers {\n      %s\n    }\n  }\n}\n",
				 line);
	case NF_BK_PLOT:
		*at = data ? 5 : 4;
		return xasprintf("stage \"s\" {\n  run = \"r\"\n  plot \"p\" {\n%s    %s\n  }\n}\n",
				 data ? "    data = \"d\"\n" : "", line);
	default:
		ck_abort_msg("block %s holds no attributes", b->kind);
	}
	return NULL;
}

/* The struct of the parsed dag that row a of block b fills. */
static char *
target_in(nf_dag *dag, const nf_block_spec *b, const nf_attr_spec *a)
{
	switch (a->target) {
	case NF_TG_PIPELINE: return (char *)&dag->pipeline;
	case NF_TG_STAGE: return (char *)&dag->stages[0];
	case NF_TG_MODEL: return (char *)&dag->models[0];
	case NF_TG_OPTS:
		return b->id == NF_BK_DEFAULTS ? (char *)&dag->pipeline.defaults : (char *)dag->stages[0].opts;
	case NF_TG_SLURM: return (char *)&dag->stages[0].opts->slurm;
	case NF_TG_ALERT: return (char *)&nf_more(&dag->stages[0])->alerts[0];
	case NF_TG_PLOT: return (char *)&nf_more(&dag->stages[0])->plots[0];
	case NF_TG_CHECK: return (char *)&nf_more(&dag->stages[0])->checks[0];
	case NF_TG_MORE: return (char *)nf_more(&dag->stages[0]);
	default:
		ck_abort_msg("%s.%s: no target", b->kind, a->name);
	}
	return NULL;
}

static bool
is_pointer(nf_attr_type t)
{
	return t == NF_AT_STRING || t == NF_AT_NAME || t == NF_AT_SCHEDULE || t == NF_AT_TEMPLATE ||
	       nf_schema_is_list(t);
}

/* Writing row a left every other row of its block that fills the same struct as it was:
 * numbers and flags byte for byte, strings and lists set or not, lists' lengths. */
static void
others_unchanged(const nf_block_spec *b, const nf_attr_spec *a, nf_dag *without, nf_dag *with)
{
	for (size_t i = 0; i < b->nattrs; i++) {
		const nf_attr_spec *o = &b->attrs[i];
		const char *x = target_in(without, b, o), *y = target_in(with, b, o);

		if (o == a || o->target != a->target || o->setter || o->type == NF_AT_EXPR)
			continue;
		if (is_pointer(o->type)) {
			const void *px, *py;

			memcpy(&px, x + o->off, sizeof(px));
			memcpy(&py, y + o->off, sizeof(py));
			ck_assert_msg((px == NULL) == (py == NULL), "%s.%s: writing %s set it", b->kind, o->name,
				      a->name);
		} else {
			ck_assert_msg(memcmp(x + o->off, y + o->off, o->size) == 0, "%s.%s: writing %s changed it",
				      b->kind, o->name, a->name);
		}
		if (nf_schema_is_list(o->type))
			ck_assert_msg(memcmp(x + o->count_off, y + o->count_off, o->count_size) == 0,
				      "%s.%s: writing %s changed its length", b->kind, o->name, a->name);
	}
}

static nf_dag *
parse_ok(const char *src, bool must)
{
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_dag *dag = NULL;
	int rc = nf_dag_parse(&dag, "t.dag", src, strlen(src), &diags);

	if (must && rc != 0)
		nf_diag_print(&diags, stderr);
	ck_assert_msg(!must || rc == 0, "does not parse:\n%s", src);
	nf_diag_list_release(&diags);
	return dag;
}

/* A run option written in defaults { } is what a stage that does not write it gets. */
static void
inherited(const nf_attr_spec *a, const char *line)
{
	char *src = xasprintf("pipeline \"p\" {\n  defaults {\n    %s\n  }\n}\nstage \"s\" {\n  run = \"r\"\n}\n", line);
	nf_dag *dag = parse_ok(src, true);
	const char *d = (const char *)&dag->pipeline.defaults, *st = (const char *)dag->stages[0].opts;

	ck_assert_msg(a->set_bit == NF_OPT_SECRET_ENV || memcmp(d + a->off, st + a->off, a->size) == 0,
		      "%s: a stage does not inherit it from defaults { }", a->name);
	if (nf_schema_is_list(a->type))
		ck_assert_msg(memcmp(d + a->count_off, st + a->count_off, a->count_size) == 0,
			      "%s: a stage does not inherit its length from defaults { }", a->name);
	if (a->has_loc)
		ck_assert_msg(memcmp(d + a->loc_off, st + a->loc_off, sizeof(nf_loc)) == 0,
			      "%s: a stage does not inherit where it was written", a->name);
	nf_dag_free(dag);
	free(src);
}

START_TEST(test_row_stores)
{
	row_ref r = row_at(_i);
	const nf_attr_spec *a = r.a;
	nf_dag *without, *with;
	char *src, *line, *field, *before;
	char value[64];
	int at, n = 0;
	long chosen = 0;

	/* The value as it is without the attribute, so the one written can differ from it. */
	src = file_with(r.b, NULL, &at);
	without = parse_ok(src, false);
	free(src);
	before = target_in(without, r.b, a) + a->off;
	switch (a->type) {
	case NF_AT_STRING:   /* a word most string attributes take; the CPU budget's have a shape */
		snprintf(value, sizeof(value), "%s", !strcmp(a->name, "cpu_baseline") ? "\"median:5\"" :
			 !strcmp(a->name, "cpu_target_reduction") ? "\"30%\"" : "\"UTC\"");
		break;
	case NF_AT_TEMPLATE: snprintf(value, sizeof(value), "\"t\""); break;
	case NF_AT_NAME: snprintf(value, sizeof(value), "\"g\""); break;
	case NF_AT_SCHEDULE: snprintf(value, sizeof(value), "\"@daily\""); break;
	case NF_AT_TEMPLATE_LIST: snprintf(value, sizeof(value), "[\"a\", \"b\"]"); break;
	case NF_AT_NAME_LIST: snprintf(value, sizeof(value), "[\"A\", \"B\"]"); break;
	case NF_AT_INT: {
		int old;

		memcpy(&old, before, sizeof(old));
		chosen = old == a->min ? a->max : a->min;
		snprintf(value, sizeof(value), "%ld", chosen);
		break;
	}
	case NF_AT_INT_LIST: snprintf(value, sizeof(value), "[%ld, %ld]", a->min, a->max); break;
	case NF_AT_BOOL: {
		bool old;

		memcpy(&old, before, sizeof(old));
		chosen = !old;
		snprintf(value, sizeof(value), "%s", chosen ? "true" : "false");
		break;
	}
	case NF_AT_DURATION: snprintf(value, sizeof(value), "\"7s\""); break;
	case NF_AT_SIZE: snprintf(value, sizeof(value), "\"3KB\""); break;
	case NF_AT_ENUM:
		while (a->choices[n + 1])
			n++;
		chosen = n;   /* the last: never the default */
		snprintf(value, sizeof(value), "\"%s\"", a->choices[n]);
		break;
	case NF_AT_SELECT: snprintf(value, sizeof(value), "\"max(auc)\""); break;
	case NF_AT_EXPR: snprintf(value, sizeof(value), "\"y < 2\""); break;
	case NF_AT_EXPR_LIST: snprintf(value, sizeof(value), "[\"y < 2\", \"z > 0\"]"); break;
	case NF_AT_NUMBER: snprintf(value, sizeof(value), "7.25"); break;
	}
	line = xasprintf("%s = %s", a->name, value);
	src = file_with(r.b, line, &at);
	with = parse_ok(src, true);
	field = target_in(with, r.b, a) + a->off;

	/* Whatever stores it (converter or setter), the field changed. */
	ck_assert_msg(memcmp(before, field, a->size) != 0, "%s.%s: writing %s changed nothing", r.b->kind,
		      a->name, line);
	if (a->set_bit)
		ck_assert_msg(((nf_run_opts *)target_in(with, r.b, a))->set & a->set_bit, "%s.%s: not marked set",
			      r.b->kind, a->name);
	if (a->has_loc) {
		nf_loc loc;

		memcpy(&loc, target_in(with, r.b, a) + a->loc_off, sizeof(loc));
		ck_assert_int_eq(loc.line, at);
	}
	if (nf_schema_is_list(a->type)) {
		size_t count = 0;
		uint32_t count32 = 0;

		if (a->count_size == sizeof(count32)) {
			memcpy(&count32, target_in(with, r.b, a) + a->count_off, sizeof(count32));
			count = count32;
		} else {
			memcpy(&count, target_in(with, r.b, a) + a->count_off, sizeof(count));
		}
		ck_assert_uint_eq(count, 2);
	}
	others_unchanged(r.b, a, without, with);
	if (r.b->id == NF_BK_DEFAULTS)
		inherited(a, line);
	/* The value itself, as the converter of the type stores it. */
	if (!a->setter) {
		const char *s;
		nf_tmpl *t;
		int i;
		bool bo;
		int64_t ms, want_ms;
		uint64_t size, want_size;
		nf_criterion c;

		switch (a->type) {
		case NF_AT_STRING:
		case NF_AT_NAME:
		case NF_AT_SCHEDULE:
			memcpy(&s, field, sizeof(s));
			ck_assert_int_eq(strncmp(s, value + 1, strlen(value) - 2), 0);
			ck_assert_uint_eq(strlen(s), strlen(value) - 2);
			break;
		case NF_AT_TEMPLATE:
			memcpy(&t, field, sizeof(t));
			ck_assert_str_eq(nf_tmpl_literal(t), "t");
			break;
		case NF_AT_TEMPLATE_LIST:
			memcpy(&t, field, sizeof(t));
			ck_assert_str_eq(nf_tmpl_literal(&t[1]), "b");
			break;
		case NF_AT_NAME_LIST: {
			nf_name_ref *names;

			memcpy(&names, field, sizeof(names));
			ck_assert_str_eq(names[1].name, "B");
			break;
		}
		case NF_AT_INT:
		case NF_AT_ENUM:
			memcpy(&i, field, sizeof(i));
			ck_assert_int_eq(i, (a->type == NF_AT_ENUM ? a->min : 0) + chosen);
			break;
		case NF_AT_INT_LIST: {
			int *ints;

			memcpy(&ints, field, sizeof(ints));
			ck_assert_int_eq(ints[0], a->min);
			ck_assert_int_eq(ints[1], a->max);
			break;
		}
		case NF_AT_BOOL:
			memcpy(&bo, field, sizeof(bo));
			ck_assert_int_eq(bo, chosen);
			break;
		case NF_AT_DURATION:
			memcpy(&ms, field, sizeof(ms));
			ck_assert_int_eq(nf_parse_duration(&want_ms, "7s"), 0);
			ck_assert_int_eq(ms, want_ms);
			break;
		case NF_AT_SIZE:
			memcpy(&size, field, sizeof(size));
			ck_assert_int_eq(nf_parse_size(&want_size, "3KB"), 0);
			ck_assert_uint_eq(size, want_size);
			break;
		case NF_AT_EXPR:
			memcpy(&c, field, sizeof(c));
			ck_assert_str_eq(c.text, "y < 2");
			ck_assert_ptr_nonnull(c.expr);
			break;
		case NF_AT_EXPR_LIST: {
			nf_criterion *cs;

			memcpy(&cs, field, sizeof(cs));
			ck_assert_str_eq(cs[1].text, "z > 0");
			ck_assert_ptr_nonnull(cs[1].expr);
			break;
		}
		case NF_AT_NUMBER: {
			double d;

			memcpy(&d, field, sizeof(d));
			ck_assert(d == 7.25);
			break;
		}
		case NF_AT_SELECT:
			ck_abort_msg("select has a setter");
		}
	}
	nf_dag_free(without);
	nf_dag_free(with);
	free(line);
	free(src);
}
END_TEST

static Suite *
schema_suite(void)
{
	Suite *s = suite_create("schema");
	TCase *tc = tcase_create("rows");

	tcase_add_test(tc, test_rows_consistent);
	tcase_add_loop_test(tc, test_row_stores, 0, row_count());
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(schema_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
