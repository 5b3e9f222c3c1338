/* check_arena.c: unit tests of src/util/arena.c: zeroed blocks aligned to 16 bytes (8 for a
 * size that is no multiple of 16, which no type aligned to 16 can have), strings
 * packed end to end (no 16-byte slot each: issue 15, memory per node) without disturbing the
 * alignment of what follows, requests larger than a chunk, and reset. */
#include "config.h"
#include "ntflow/util.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_alignment_after_strings)
{
	nf_arena *a = nf_arena_new();

	for (int i = 0; i < 5000; i++) {
		char *s = nf_arena_strndup(a, "abcdefgh", (size_t)(i % 8));
		size_t n = (size_t)(i % 40) + 1;
		unsigned char *p = nf_arena_alloc(a, n);

		ck_assert_uint_eq(strlen(s), (size_t)(i % 8));
		ck_assert_int_eq(memcmp(s, "abcdefgh", (size_t)(i % 8)), 0);
		ck_assert_uint_eq((uintptr_t)p % (n % 16 == 0 ? 16 : 8), 0);
		for (int k = 0; k <= i % 40; k++)
			ck_assert_uint_eq(p[k], 0);
		memset(p, 0xff, (size_t)(i % 40) + 1);   /* overlap with anything would show below */
	}
	nf_arena_free(a);
}
END_TEST

START_TEST(test_strings_packed)
{
	nf_arena *a = nf_arena_new();
	char *s1 = nf_arena_strdup(a, "ab"), *s2 = nf_arena_strdup(a, "cd"), *s3 = nf_arena_strdup(a, "");

	/* Consecutive short strings sit next to each other, each keeping its own bytes. */
	ck_assert_ptr_eq(s2, s1 + 3);
	ck_assert_ptr_eq(s3, s2 + 3);
	ck_assert_str_eq(s1, "ab");
	ck_assert_str_eq(s2, "cd");
	ck_assert_str_eq(s3, "");
	nf_arena_free(a);
}
END_TEST

START_TEST(test_large_and_reset)
{
	nf_arena *a = nf_arena_new();
	char *small = nf_arena_strdup(a, "x");
	size_t big_n = 200 * 1024;
	unsigned char *big = nf_arena_alloc(a, big_n), *after;
	char *text = malloc(big_n + 1);

	ck_assert_uint_eq((uintptr_t)big % 16, 0);
	for (size_t i = 0; i < big_n; i++)
		ck_assert_uint_eq(big[i], 0);
	memset(text, 'y', big_n);
	text[big_n] = '\0';
	ck_assert_str_eq(nf_arena_strdup(a, text), text);
	after = nf_arena_alloc(a, 8);
	ck_assert_uint_eq((uintptr_t)after % 8, 0);
	ck_assert_uint_eq((uintptr_t)nf_arena_alloc(a, 32) % 16, 0);
	ck_assert_str_eq(small, "x");
	nf_arena_reset(a);
	ck_assert_str_eq(nf_arena_strdup(a, "again"), "again");
	ck_assert_uint_eq((uintptr_t)nf_arena_alloc(a, 3) % 8, 0);
	ck_assert_uint_eq((uintptr_t)nf_arena_alloc(a, 48) % 16, 0);
	free(text);
	nf_arena_free(a);
}
END_TEST

static Suite *
arena_suite(void)
{
	Suite *s = suite_create("arena");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_alignment_after_strings);
	tcase_add_test(tc, test_strings_packed);
	tcase_add_test(tc, test_large_and_reset);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(arena_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
