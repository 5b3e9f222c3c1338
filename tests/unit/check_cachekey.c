/* check_cachekey.c: unit tests of cache keys (src/cache/key.c): the key is a function of
 * its components only, in any order they are added; a stage's identity (pipeline, stage,
 * matrix instance) is one of them, so stages doing the same thing have keys of their own;
 * and a miss is explained in words, the scheme change included. */
#include "config.h"
#include "ntflow/cachekey.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* The key of a stage running "./notify.sh" with one input and one upstream. */
static void
key_of(char key[65], char **comps, const char *pipeline, const char *stage, const char *instance,
       bool reversed)
{
	nf_keyb *k = nf_keyb_new();

	if (reversed) {
		nf_keyb_upstream(k, "ingest", "out:abc");
		nf_keyb_input(k, "notify.sh", "blob:1234");
		nf_keyb_command(k, "./notify.sh");
		nf_keyb_identity(k, pipeline, stage, instance);
	} else {
		nf_keyb_identity(k, pipeline, stage, instance);
		nf_keyb_command(k, "./notify.sh");
		nf_keyb_input(k, "notify.sh", "blob:1234");
		nf_keyb_upstream(k, "ingest", "out:abc");
	}
	nf_keyb_finish(k, key, comps);
	nf_keyb_free(k);
}

START_TEST(test_same_components_same_key)
{
	char a[65], b[65], *ca, *cb;

	key_of(a, &ca, "retrain", "notify", NULL, false);
	key_of(b, &cb, "retrain", "notify", NULL, true);
	ck_assert_str_eq(a, b);
	ck_assert_str_eq(ca, cb);
	ck_assert_uint_eq(strlen(a), 64);
	free(ca);
	free(cb);
}
END_TEST

START_TEST(test_identity_in_the_key)
{
	char base[65], other[65], *cbase, *c;

	key_of(base, &cbase, "retrain", "notify", NULL, false);
	ck_assert(strstr(cbase, "\"identity\":{\"instance\":\"\",\"pipeline\":\"retrain\",\"stage\":\"notify\"}") != NULL);
	ck_assert(strstr(cbase, "\"scheme\":\"" NF_CACHE_KEY_SCHEME "\"") != NULL);
	ck_assert_str_eq(NF_CACHE_KEY_SCHEME, "ntflow-cache-key-v2");

	/* Another stage with the same command, inputs and upstream. */
	key_of(other, &c, "retrain", "notify2", NULL, false);
	ck_assert_str_ne(base, other);
	free(c);
	/* The same stage in another pipeline. */
	key_of(other, &c, "nightly", "notify", NULL, false);
	ck_assert_str_ne(base, other);
	free(c);
	/* Two matrix instances whose commands do not use the matrix. */
	key_of(base, &c, "retrain", "notify", "lr-1", false);
	free(c);
	key_of(other, &c, "retrain", "notify", "lr-2", false);
	ck_assert_str_ne(base, other);
	free(c);
	free(cbase);
}
END_TEST

/* The components are written without cJSON now: the same bytes, hence the same keys, as the
 * cJSON tree sorted and printed that earlier versions used (the values below are what they
 * gave), escapes, duplicate names (the last wins), bytes above 127 and empty sections too. */
START_TEST(test_key_bytes_unchanged)
{
	nf_keyb *k = nf_keyb_new();
	char key[65], *c;

	nf_keyb_identity(k, "retrain", "tune", "lr-0.1");
	nf_keyb_command(k, "echo \"a\\b\"\t\x01\x1f\x7f caf\xc3\xa9 /x");
	nf_keyb_param(k, "seed", "42");
	nf_keyb_param(k, "seed", "7");
	nf_keyb_param(k, "Alpha", "");
	nf_keyb_input(k, "data/b.csv", "blob:1234");
	nf_keyb_input(k, "data/a.csv", "sha256:ff");
	nf_keyb_upstream(k, "prep", "out:abc");
	nf_keyb_env(k, "Z\n", "v\r\f\b");
	nf_keyb_finish(k, key, &c);
	ck_assert_str_eq(c, "{\"command\":\"echo \\\"a\\\\b\\\"\\t\\u0001\\u001f\x7f caf\xc3\xa9 /x\","
			 "\"env\":{\"Z\\n\":\"v\\r\\f\\b\"},"
			 "\"identity\":{\"instance\":\"lr-0.1\",\"pipeline\":\"retrain\",\"stage\":\"tune\"},"
			 "\"inputs\":{\"data/a.csv\":\"sha256:ff\",\"data/b.csv\":\"blob:1234\"},\"matrix\":{},"
			 "\"params\":{\"Alpha\":\"\",\"seed\":\"7\"},\"scheme\":\"ntflow-cache-key-v2\","
			 "\"upstream\":{\"prep\":\"out:abc\"}}");
	ck_assert_str_eq(key, "45d7a3558f5eee0abdb6fd54b5c044d705ce0ac2a1e220f36427c49109469f5e");
	free(c);
	nf_keyb_free(k);
	k = nf_keyb_new();
	nf_keyb_finish(k, key, &c);
	ck_assert_str_eq(key, "d18848539de98f84fed38d41e34137afcee11a452d0f8a4e0a9d5c5d0a5a53bc");
	free(c);
	nf_keyb_free(k);
}
END_TEST

/* A section sorted whatever its size: 40 inputs put in one order and in the reverse give
 * the same key, as do 5; a name put twice keeps its last value either way. */
START_TEST(test_many_members_sorted)
{
	for (int n = 5; n <= 40; n += 35) {
		char k1[65], k2[65], *c1, *c2, name[32], *at;
		nf_keyb *a = nf_keyb_new(), *b = nf_keyb_new();

		for (int i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "in/%02d", i);
			nf_keyb_input(a, name, "blob:1");
			snprintf(name, sizeof(name), "in/%02d", n - 1 - i);
			nf_keyb_input(b, name, "blob:1");
		}
		nf_keyb_input(a, "in/00", "blob:2");
		nf_keyb_input(b, "in/00", "blob:2");
		nf_keyb_finish(a, k1, &c1);
		nf_keyb_finish(b, k2, &c2);
		ck_assert_str_eq(c1, c2);
		ck_assert_str_eq(k1, k2);
		ck_assert_ptr_nonnull(at = strstr(c1, "\"inputs\":{\"in/00\":\"blob:2\",\"in/01\":\"blob:1\","));
		free(c1);
		free(c2);
		nf_keyb_free(a);
		nf_keyb_free(b);
	}
}
END_TEST

/* A builder reset and used again (as a run uses one for every node) gives the keys fresh
 * ones give: nothing of the key before stays, though its memory does; the components
 * borrowed are those finish gives. */
START_TEST(test_reset_reused)
{
	nf_keyb *k = nf_keyb_new();
	char fresh[65], again[65], *c;
	const char *borrowed;

	key_of(fresh, &c, "retrain", "notify", NULL, false);
	/* first a bigger key: 40 inputs, a command, params, a matrix value */
	for (int i = 0; i < 40; i++) {
		char name[16];

		snprintf(name, sizeof(name), "in/%02d", i);
		nf_keyb_input(k, name, "blob:1");
	}
	nf_keyb_command(k, "something else entirely");
	nf_keyb_param(k, "seed", "7");
	nf_keyb_matrix(k, "lr", "0.1");
	(void)nf_keyb_finish_borrow(k, again);
	ck_assert_str_ne(again, fresh);
	nf_keyb_reset(k);
	nf_keyb_identity(k, "retrain", "notify", NULL);
	nf_keyb_command(k, "./notify.sh");
	nf_keyb_input(k, "notify.sh", "blob:1234");
	nf_keyb_upstream(k, "ingest", "out:abc");
	borrowed = nf_keyb_finish_borrow(k, again);
	ck_assert_str_eq(again, fresh);
	ck_assert_str_eq(borrowed, c);
	/* a reset without a command: "" as in a new builder */
	nf_keyb_reset(k);
	borrowed = nf_keyb_finish_borrow(k, again);
	ck_assert_str_eq(again, "d18848539de98f84fed38d41e34137afcee11a452d0f8a4e0a9d5c5d0a5a53bc");
	free(c);
	nf_keyb_free(k);
}
END_TEST

/* An entry's outputs as cJSON's lookups read them, the way the run read them before
 * nf_cache_outs_read: "|"-joined "path,digest,mode,uncached" per output ("-" for none). */
static char *
outs_by_cjson(const char *json)
{
	cJSON *arr = cJSON_Parse(json);
	const cJSON *it;
	nf_buf b = NF_BUF_INIT;

	if (!cJSON_IsArray(arr)) {
		cJSON_Delete(arr);
		return xstrdup("not an array");
	}
	cJSON_ArrayForEach(it, arr) {
		const char *f[3] = { "path", "digest", "mode" };

		for (int i = 0; i < 3; i++) {
			const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, f[i]));

			nf_buf_printf(&b, "%s,", v ? v : "-");
		}
		nf_buf_printf(&b, "%d|", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "uncached")) ? 1 : 0);
	}
	cJSON_Delete(arr);
	nf_buf_putc(&b, '.');   /* never empty: detach gives a string */
	return nf_buf_detach(&b);
}

static char *
outs_by_list(nf_cache_outs *o, const char *json)
{
	nf_buf b = NF_BUF_INIT;

	if (nf_cache_outs_read(o, json) < 0)
		return xstrdup("not an array");
	for (size_t i = 0; i < o->n; i++)
		nf_buf_printf(&b, "%s,%s,%s,%d|", o->v[i].path ? o->v[i].path : "-",
			      o->v[i].digest ? o->v[i].digest : "-", o->v[i].mode ? o->v[i].mode : "-",
			      o->v[i].uncached ? 1 : 0);
	nf_buf_putc(&b, '.');
	return nf_buf_detach(&b);
}

/* The outputs the run writes are read in place, anything else through cJSON: either way
 * the list is what cJSON's lookups give, one list reused for many entries. */
START_TEST(test_outs_read)
{
	static const char *const cases[] = {
		/* the run's own form (cache-step.c's hash_outputs) */
		"[{\"path\":\"out/a\",\"digest\":\"file:e3b0\",\"mode\":\"0644\"}]",
		"[{\"path\":\"out/a\",\"digest\":\"file:1\",\"mode\":\"0644\"},"
		"{\"path\":\"log.txt\",\"digest\":\"file:2\",\"uncached\":true},"
		"{\"path\":\"dir/\",\"digest\":\"tree:3\"}]",
		"[]",
		"[{\"path\":\"p\",\"digest\":\"d\",\"uncached\":false,\"mode\":\"0600\"}]",
		/* others: through cJSON */
		"[{\"path\":\"a\\\"b\\\\c\\u00e9\",\"digest\":\"d\"}]",
		"[ {\"digest\":\"d\", \"path\":\"p\"} ]",
		"[{\"path\":\"p\",\"digest\":\"d\",\"mode\":420}]",
		"[{\"path\":\"first\",\"path\":\"second\",\"digest\":\"d\"}]",
		"[{\"path\":\"p\",\"digest\":\"d\",\"size\":3}]",
		"[{}]",
		"[1,\"x\",null]",
		"[{\"path\":\"p\",\"digest\":\"d\",\"uncached\":1}]",
		"{\"path\":\"p\"}",
		"",
		"[{\"path\":\"p\",\"digest\":\"d\"}",
		"[{\"path\":\"p\",\"digest\":\"d\"}]x",
		"[{\"path\":\"p\",\"digest\":\"d\"},]",
		/* shapes a fuzzer of the two readers went through */
		"[{\"path\":true,\"digest\":\"d\"}]",
		"[{\"path\":\"caf\xc3\xa9/\xe2\x82\xac\",\"digest\":\"d\"}]",
		"[{\"path\":\"\",\"digest\":\"\",\"mode\":\"\"}]",
		"[{\"path\":\"p\",\"digest\":\"d\",\"uncached\":truex}]",
		"[{\"path\":\"digest\",\"digest\":\"path\"}]",
		"[{\"path\":{\"a\":1},\"digest\":\"d\"}]",
	};
	nf_cache_outs o = NF_CACHE_OUTS_INIT;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *want = outs_by_cjson(cases[i]), *got = outs_by_list(&o, cases[i]);

		ck_assert_msg(strcmp(want, got) == 0, "case %zu %s: cJSON %s, list %s", i, cases[i], want, got);
		free(want);
		free(got);
	}
	/* The run's form is read without a tree, and its strings stay with the list. */
	ck_assert_int_eq(nf_cache_outs_read(&o, cases[1]), 0);
	ck_assert_ptr_null(o.tree);
	ck_assert_uint_eq(o.n, 3);
	ck_assert_str_eq(o.v[1].path, "log.txt");
	ck_assert(o.v[1].uncached && !o.v[0].uncached);
	ck_assert_ptr_null(o.v[2].mode);
	ck_assert_int_eq(nf_cache_outs_read(&o, "not json"), NF_ECORRUPT);
	ck_assert_int_eq(nf_cache_outs_read(&o, NULL), NF_ECORRUPT);
	ck_assert_uint_eq(o.n, 0);
	nf_cache_outs_release(&o);
	ck_assert_ptr_null(o.v);
}
END_TEST

START_TEST(test_explain)
{
	char k1[65], k2[65], *c1, *c2, *why;

	key_of(k1, &c1, "retrain", "notify", NULL, false);
	key_of(k2, &c2, "nightly", "notify", NULL, false);
	why = nf_key_explain(c1, c2);
	ck_assert_str_eq(why, "the pipeline changed (retrain → nightly)");
	free(why);

	why = nf_key_explain(c1, c1);
	ck_assert_str_eq(why, "the last result with these inputs is no longer in the cache");
	free(why);

	/* An entry made under the scheme before: its components have no identity. */
	why = nf_key_explain("{\"scheme\":\"ntflow-cache-key-v1\",\"command\":\"./notify.sh\"}", c1);
	ck_assert_str_eq(why, "the cache key scheme changed");
	free(why);

	why = nf_key_explain(NULL, c1);
	ck_assert_str_eq(why, "no earlier run");
	free(why);
	free(c1);
	free(c2);
}
END_TEST

static Suite *
cachekey_suite(void)
{
	Suite *s = suite_create("cachekey");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_same_components_same_key);
	tcase_add_test(tc, test_identity_in_the_key);
	tcase_add_test(tc, test_explain);
	tcase_add_test(tc, test_key_bytes_unchanged);
	tcase_add_test(tc, test_many_members_sorted);
	tcase_add_test(tc, test_reset_reused);
	tcase_add_test(tc, test_outs_read);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cachekey_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
