/* check_arena.c: unit tests of src/util/arena.c: zeroed blocks aligned to 16 bytes (8 for a
 * size that is no multiple of 16, which no type aligned to 16 can have), strings
 * packed end to end (no 16-byte slot each: issue 15, memory per node) without disturbing the
 * alignment of what follows, requests larger than a chunk, and reset; and other small
 * tools of src/util: hex by table, a string map up to 4/5 full, text for a terminal. */
#include "config.h"
#include "ntflow/util.h"

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Lists of 32-bit ids sit next to each other, each aligned for its type and zeroed. */
START_TEST(test_u32_packed)
{
	nf_arena *a = nf_arena_new();
	char *s = nf_arena_strdup(a, "x");
	uint32_t *d = nf_arena_alloc_u32(a, 3), *u = nf_arena_alloc_u32(a, 3);

	ck_assert_uint_eq((uintptr_t)d % _Alignof(uint32_t), 0);
	ck_assert((char *)d <= s + 2 + 3);   /* at most the alignment's padding after "x" */
	ck_assert_ptr_eq(u, d + 3);
	ck_assert_uint_eq(d[0] | d[1] | d[2] | u[2], 0);
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

/* Hex both ways, by table: every byte value, upper case and any other character refused,
 * and a short string refused at its NUL without a read past it. */
START_TEST(test_hex)
{
	unsigned char in[256], out[256];
	char text[513], *shortstr;

	for (int i = 0; i < 256; i++)
		in[i] = (unsigned char)i;
	nf_hex_encode(text, in, 256);
	ck_assert_uint_eq(strlen(text), 512);
	ck_assert(strncmp(text, "000102", 6) == 0);
	ck_assert_str_eq(text + 500, "fafbfcfdfeff");
	memset(out, 0, sizeof(out));
	ck_assert_int_eq(nf_hex_decode(out, 256, text), 0);
	ck_assert(memcmp(in, out, 256) == 0);
	ck_assert_int_eq(nf_hex_decode(out, 2, "0aFf"), -1);
	ck_assert_int_eq(nf_hex_decode(out, 2, "0ag0"), -1);
	ck_assert_int_eq(nf_hex_decode(out, 1, "/0"), -1);
	ck_assert_int_eq(nf_hex_decode(out, 1, ":0"), -1);
	ck_assert_int_eq(nf_hex_decode(out, 2, "ab"), -1);
	/* exactly "abc" and its NUL on the heap: ASan sees a read past it */
	shortstr = xstrdup("abc");
	ck_assert_int_eq(nf_hex_decode(out, 2, shortstr), -1);
	ck_assert_int_eq(nf_hex_decode(out, 1, shortstr), 0);
	ck_assert_uint_eq(out[0], 0xab);
	free(shortstr);
}
END_TEST

/* A map sized for its keys holds them all without a grow (up to 4/5 full) and finds each,
 * and none it was not given, at that load. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN_ON 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(ASAN_ON)
#define ASAN_ON 1
#endif
#ifndef ASAN_ON
#define ASAN_ON 0
#endif

#if defined(HAVE_MALLOC_TRIM) && !ASAN_ON
/* Resident pages of this process (statm's second field). */
static long
resident_pages(void)
{
	long size = 0, res = -1;
	FILE *f = fopen("/proc/self/statm", "r");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%ld %ld", &size, &res), 2);
	fclose(f);
	return res;
}
#endif

/* Memory freed amid memory still held leaves the resident set once trimmed (glibc keeps
 * it otherwise: only the top of the heap goes back on free). The sanitizers' allocators
 * manage their own pages, so the figure is only checked under glibc's. */
START_TEST(test_memory_trim)
{
#if defined(HAVE_MALLOC_TRIM) && !ASAN_ON
	enum { N = 512, SIZE = 60 * 1024 };
	static char *blocks[N];
	long page = sysconf(_SC_PAGESIZE), before, after;

	for (int i = 0; i < N; i++) {
		blocks[i] = malloc(SIZE);   /* below glibc's mmap threshold: on the heap */
		ck_assert_ptr_nonnull(blocks[i]);
		memset(blocks[i], 1, SIZE);
	}
	for (int i = 0; i < N - 1; i++) {   /* the last one keeps the heap's top in use */
		free(blocks[i]);
		blocks[i] = NULL;
	}
	before = resident_pages();
	nf_memory_trim();
	after = resident_pages();
	/* about 30 MB freed: at least half of it back */
	ck_assert_int_gt((before - after) * page, (long)N * SIZE / 2);
	free(blocks[N - 1]);
#endif
}
END_TEST

/* nf_lower_bound_str: the first element whose string is not below the key, over a stride
 * and an offset (the string is not the first member). */
START_TEST(test_lower_bound_str)
{
	struct item { int n; const char *s; } v[] = { { 1, "a" }, { 2, "b" }, { 3, "b" }, { 4, "d" } };
	size_t n = sizeof(v) / sizeof(v[0]);

	ck_assert_uint_eq(nf_lower_bound_str(v, n, sizeof(v[0]), offsetof(struct item, s), ""), 0);
	ck_assert_uint_eq(nf_lower_bound_str(v, n, sizeof(v[0]), offsetof(struct item, s), "a"), 0);
	ck_assert_uint_eq(nf_lower_bound_str(v, n, sizeof(v[0]), offsetof(struct item, s), "b"), 1);
	ck_assert_uint_eq(nf_lower_bound_str(v, n, sizeof(v[0]), offsetof(struct item, s), "c"), 3);
	ck_assert_uint_eq(nf_lower_bound_str(v, n, sizeof(v[0]), offsetof(struct item, s), "e"), 4);
	ck_assert_uint_eq(nf_lower_bound_str(v, 0, sizeof(v[0]), offsetof(struct item, s), "a"), 0);
}
END_TEST

/* Text for a terminal: control characters and bytes that are not UTF-8 as \xNN, the rest
 * (UTF-8 letters, a backslash) as it is. */
START_TEST(test_add_visible)
{
	nf_buf b = NF_BUF_INIT;

	nf_buf_add_visible(&b, "a\033[2Jb\nc\td\x7f\\ \xc3\xa9 \xc2\x9b \xff.", false);
	ck_assert_str_eq(nf_buf_cstr(&b), "a\\x1b[2Jb\\x0ac\\x09d\\x7f\\ \xc3\xa9 \\xc2\\x9b \\xff.");
	nf_buf_reset(&b);
	/* lines: a command of several lines keeps its line breaks and tabs */
	nf_buf_add_visible(&b, "x\n\ty\033z", true);
	ck_assert_str_eq(nf_buf_cstr(&b), "x\n\ty\\x1bz");
	nf_buf_reset(&b);
	/* the bidirectional controls, which reorder what follows on a line (U+202E made
	 * "txt.exe" of "exe.txt"), escaped; right-to-left letters (U+05D0) and other marks
	 * of the same blocks (U+2014, U+2070) kept */
	nf_buf_add_visible(&b, "a\xe2\x80\xae" "exe.txt \xd8\x9c\xe2\x80\x8f\xe2\x81\xa6\xe2\x81\xa9 "
			   "\xd7\x90 \xe2\x80\x94 \xe2\x81\xb0", false);
	ck_assert_str_eq(nf_buf_cstr(&b), "a\\xe2\\x80\\xaeexe.txt \\xd8\\x9c\\xe2\\x80\\x8f\\xe2\\x81\\xa6"
			 "\\xe2\\x81\\xa9 \xd7\x90 \xe2\x80\x94 \xe2\x81\xb0");
	nf_buf_release(&b);
}
END_TEST

/* A table's cell that holds a control character shows it as \xNN, and its column is as
 * wide as what is shown: the bytes never reach the terminal, and the columns stay aligned. */
START_TEST(test_table_visible)
{
	const char *head[] = { "A", "B" };
	nf_table *t = nf_table_new(2, head);
	char **row = nf_table_add_row(t);
	nf_buf b = NF_BUF_INIT;

	row[0] = xstrdup("x\033[2J");
	row[1] = xstrdup("1");
	row = nf_table_add_row(t);
	row[0] = xstrdup("\xc3\xa9");
	row[1] = xstrdup("2\n3");
	ck_assert_uint_eq(nf_table_width(t, 0), 8);
	nf_table_format(&b, t);
	ck_assert_str_eq(nf_buf_cstr(&b), "A         B\nx\\x1b[2J  1\n\xc3\xa9         2\\x0a3\n");
	nf_buf_reset(&b);
	/* cut to fit what is shown: the escape is text by then, cut like any text */
	nf_table_format_fit(&b, t, 12);
	ck_assert_str_eq(nf_buf_cstr(&b), "A     B\nx\\x\u2026  1\n\xc3\xa9     2\\x0a3\n");
	nf_buf_release(&b);
	nf_table_free(t);
}
END_TEST

START_TEST(test_strmap_full)
{
	enum { N = 100000 };
	nf_strmap *m = nf_strmap_new(N);
	char (*keys)[16] = xcalloc(N, sizeof(*keys));
	char probe[16];

	for (int i = 0; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]), "s%d_%d", i / 100, i % 100);
		ck_assert_ptr_null(nf_strmap_put(m, keys[i], (void *)(uintptr_t)(i + 1)));
	}
	ck_assert_uint_eq(nf_strmap_count(m), N);
	for (int i = 0; i < N; i++) {
		ck_assert_uint_eq((uintptr_t)nf_strmap_get(m, keys[i]), (uintptr_t)(i + 1));
		snprintf(probe, sizeof(probe), "t%d_%d", i / 100, i % 100);
		ck_assert_ptr_null(nf_strmap_get(m, probe));
	}
	/* a second put of a key replaces its value, keeps its count */
	ck_assert_uint_eq((uintptr_t)nf_strmap_put(m, "s0_0", (void *)7), 1);
	ck_assert_uint_eq(nf_strmap_count(m), N);
	nf_strmap_free(m);
	free(keys);
}
END_TEST

static Suite *
arena_suite(void)
{
	Suite *s = suite_create("arena");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_alignment_after_strings);
	tcase_add_test(tc, test_add_visible);
	tcase_add_test(tc, test_table_visible);
	tcase_add_test(tc, test_strings_packed);
	tcase_add_test(tc, test_u32_packed);
	tcase_add_test(tc, test_large_and_reset);
	tcase_add_test(tc, test_hex);
	tcase_add_test(tc, test_strmap_full);
	tcase_add_test(tc, test_lower_bound_str);
	tcase_add_test(tc, test_memory_trim);
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
