/* check_params_file.c: unit tests of src/dag/params-file.c, params files read into flattened
 * key = value pairs: YAML and JSON nesting flattened with dots, scalars typed (numbers kept
 * as written, booleans, null, quoted strings stay strings), lists kept as JSON text, a "${"
 * kept as data, and errors at the params file's line and column (bad syntax, a duplicate
 * key, a top level that is not a mapping, an alias, a NUL byte raw or as YAML's \0). */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ntflow/dag.h"

typedef struct parsed {
	nf_arena *a;
	nf_diag_list diags;
	nf_kv *kvs;
	size_t n;
	int err;
} parsed;

static parsed
parse(const char *file, const char *src)
{
	parsed p = { .a = nf_arena_new(), .diags = NF_DIAG_LIST_INIT };

	p.err = nf_params_file_parse(&p.kvs, &p.n, p.a, file, src, strlen(src), &p.diags);
	return p;
}

static void
release(parsed *p)
{
	nf_diag_list_release(&p->diags);
	nf_arena_free(p->a);
}

static const nf_kv *
find(const parsed *p, const char *key)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->kvs[i].key, key) == 0)
			return &p->kvs[i];
	ck_abort_msg("no key '%s'", key);
	return NULL;
}

/* The text a string value holds ("" for none). */
static const char *
str(const nf_kv *kv)
{
	ck_assert_int_eq(kv->value.kind, NF_V_STRING);
	return nf_tmpl_literal(&kv->value.str);
}

/* The first diagnostic as "file:line:col: message". */
static char *
first_diag(const parsed *p)
{
	ck_assert_uint_gt(p->diags.n, 0);
	return xasprintf("%s:%d:%d: %s", p->diags.items[0].file, p->diags.items[0].line, p->diags.items[0].col,
			 p->diags.items[0].msg);
}

START_TEST(test_yaml_flattened)
{
	parsed p = parse("params.yaml",
			 "prepare:\n"
			 "  split: 0.20\n"
			 "  seed: 7\n"
			 "train:\n"
			 "  n_est: 100\n"
			 "  deep:\n"
			 "    lr: 1e-3\n"
			 "  fast: true\n"
			 "  name: \"042\"\n"
			 "  note: plain text\n"
			 "  none: ~\n"
			 "  ngrams: [1, 2]\n"
			 "  tags:\n"
			 "    - a\n"
			 "    - {k: 1}\n");

	ck_assert_int_eq(p.err, 0);
	ck_assert_uint_eq(p.n, 10);
	ck_assert_str_eq(p.kvs[0].key, "prepare.split");   /* in the file's order */
	ck_assert_int_eq(p.kvs[0].value.kind, NF_V_NUMBER);
	ck_assert_str_eq(p.kvs[0].value.num_text, "0.20");   /* as written */
	ck_assert_int_eq(p.kvs[0].loc.line, 2);
	ck_assert_int_eq(p.kvs[0].loc.col, 10);
	ck_assert_str_eq(nf_loc_file(p.kvs[0].loc), "params.yaml");
	ck_assert_int_eq(find(&p, "train.n_est")->value.kind, NF_V_NUMBER);
	ck_assert(find(&p, "train.deep.lr")->value.num == 1e-3);
	ck_assert_int_eq(find(&p, "train.fast")->value.kind, NF_V_BOOL);
	ck_assert(find(&p, "train.fast")->value.boolean);
	ck_assert_str_eq(str(find(&p, "train.name")), "042");   /* quoted: a string */
	ck_assert_str_eq(str(find(&p, "train.note")), "plain text");
	ck_assert_str_eq(str(find(&p, "train.none")), "");
	ck_assert_str_eq(str(find(&p, "train.ngrams")), "[1,2]");
	ck_assert_str_eq(str(find(&p, "train.tags")), "[\"a\",{\"k\":1}]");
	release(&p);
}
END_TEST

START_TEST(test_json_flattened)
{
	parsed p = parse("conf/train.json",
			 "{\n"
			 "  \"train\": {\"n_est\": 100, \"lr\": 0.10, \"on\": false},\n"
			 "  \"name\": \"x\",\n"
			 "  \"list\": [1, \"a\"],\n"
			 "  \"nothing\": null,\n"
			 "  \"path\": \"C:\\\\u0000\"\n"   /* a backslash, then u0000: no NUL */
			 "}\n");

	ck_assert_int_eq(p.err, 0);
	ck_assert_uint_eq(p.n, 7);
	ck_assert_str_eq(str(find(&p, "path")), "C:\\u0000");
	ck_assert_str_eq(find(&p, "train.lr")->value.num_text, "0.10");
	ck_assert_int_eq(find(&p, "train.lr")->loc.line, 2);
	ck_assert_int_eq(find(&p, "train.on")->value.kind, NF_V_BOOL);
	ck_assert(!find(&p, "train.on")->value.boolean);
	ck_assert_str_eq(str(find(&p, "name")), "x");
	ck_assert_int_eq(find(&p, "name")->loc.line, 3);
	ck_assert_int_eq(find(&p, "name")->loc.col, 3);
	ck_assert_str_eq(str(find(&p, "list")), "[1,\"a\"]");
	ck_assert_str_eq(str(find(&p, "nothing")), "");
	release(&p);
}
END_TEST

/* A value that looks like shell or like a reference stays one literal segment: data. */
START_TEST(test_hostile_values_are_data)
{
	parsed p = parse("params.yaml",
			 "cmd: $(touch pwned)\n"
			 "ref: \"${params.cmd}\"\n"
			 "multi: |\n"
			 "  line 1\n"
			 "  it's \"quoted\"\n");
	const nf_kv *ref;

	ck_assert_int_eq(p.err, 0);
	ck_assert_str_eq(str(find(&p, "cmd")), "$(touch pwned)");
	ref = find(&p, "ref");
	ck_assert_uint_eq(ref->value.str.nsegs, 1);
	ck_assert(!ref->value.str.segs[0].is_ref);
	ck_assert_str_eq(str(ref), "${params.cmd}");
	ck_assert_str_eq(str(find(&p, "multi")), "line 1\nit's \"quoted\"\n");
	release(&p);
}
END_TEST

START_TEST(test_errors_have_places)
{
	static const struct {
		const char *file, *src, *want;
	} cases[] = {
		{ "params.yaml", "train:\n  n_est: [1, 2\n  seed: 3\n",
		  "params.yaml:3:7: did not find expected ',' or ']'" },
		{ "params.yaml", "a:\n  b: 1\n  b: 2\n", "params.yaml:3:6: duplicate param 'a.b'" },
		{ "params.yaml", "- 1\n- 2\n", "params.yaml:1:1: a params file must hold a mapping" },
		{ "params.yaml", "a: &x 1\nb: *x\n", "params.yaml:2:4: YAML aliases" },
		{ "params.yaml", "a: 1\n---\nb: 2\n", "params.yaml:3:1: a params file holds one document" },
		{ "p.json", "{\n  \"a\": 1,\n  \"b\": }\n", "p.json:3:8: invalid JSON" },
		{ "params.yaml", "a: \"x\\0y\"\n", "params.yaml:1:4: a NUL byte" },
		/* cJSON decodes \u0000 to a NUL in the string: the rest was cut without a word */
		{ "p.json", "{\"j\": \"keep\\u0000LOST\"}", "p.json:1:12: a NUL byte (\\u0000)" },
		{ "p.json", "{\"j\\u0000zz\": 1}", "p.json:1:4: a NUL byte (\\u0000)" },
		{ "p.json", "{\"a\": 1} x", "p.json:1:10: invalid JSON: text after" },
		{ "p.json", "[1]", "p.json:1:1: a params file must hold an object" },
		{ "p.json", "{\"a\": {\"b\": 1}, \"a.b\": 2}", "p.json:1:17: duplicate param 'a.b'" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parsed p = parse(cases[i].file, cases[i].src);
		char *d;

		ck_assert_int_eq(p.err, NF_EINVALID);
		d = first_diag(&p);
		ck_assert_msg(strncmp(d, cases[i].want, strlen(cases[i].want)) == 0, "case %zu: got '%s', want '%s...'",
			      i, d, cases[i].want);
		free(d);
		release(&p);
	}
}
END_TEST

START_TEST(test_empty_and_kind)
{
	parsed p = parse("params.yaml", "");
	bool json;

	ck_assert_int_eq(p.err, 0);
	ck_assert_uint_eq(p.n, 0);
	release(&p);
	p = parse("params.yaml", "# only a comment\n");
	ck_assert_int_eq(p.err, 0);
	ck_assert_uint_eq(p.n, 0);
	release(&p);
	ck_assert(nf_params_file_kind("a/params.yml", &json) && !json);
	ck_assert(nf_params_file_kind("conf.json", &json) && json);
	ck_assert(!nf_params_file_kind("params.toml", &json));
	ck_assert(!nf_params_file_kind(".yaml", &json));
}
END_TEST

static Suite *
params_file_suite(void)
{
	Suite *s = suite_create("params_file");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_yaml_flattened);
	tcase_add_test(tc, test_json_flattened);
	tcase_add_test(tc, test_hostile_values_are_data);
	tcase_add_test(tc, test_errors_have_places);
	tcase_add_test(tc, test_empty_and_kind);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(params_file_suite());
	int failed;

	setenv("LC_ALL", "C", 1);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
