/* tmpl-fixture.h: a `run` template made from a string for the unit tests of the shell and
 * argv modules (check_shell, check_argv), without the parser. Included by one file each. */
#ifndef NTFLOW_TESTS_TMPL_FIXTURE_H
#define NTFLOW_TESTS_TMPL_FIXTURE_H

#include "ntflow/dag.h"

#include <check.h>
#include <stdbool.h>
#include <string.h>

/* Splits s into literal and ${ref} segments: a reference is "${", a lower-case letter, then
 * letters, digits, '_' and dots, then "}" (${a}, ${env.HOME}); any other "${" (${HOME},
 * ${x:-y}) is literal text. */
static nf_tmpl
tmpl(nf_arena *a, const char *s)
{
	nf_tmpl t = { 0 };
	nf_seg segs[64];
	nf_buf lit = NF_BUF_INIT;
	size_t n = 0, len = 0;

	for (;;) {
		bool ref = s[0] == '$' && s[1] == '{' && s[2] >= 'a' && s[2] <= 'z' &&
			   (len = strspn(s + 2, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")) > 0 &&
			   s[2 + len] == '}';

		if (!*s || ref) {
			if (lit.len) {
				ck_assert_uint_lt(n, NF_ARRAY_SIZE(segs));
				segs[n++] = (nf_seg){ nf_arena_strdup(a, nf_buf_cstr(&lit)), false, { 1, 1, 0 } };
				nf_buf_reset(&lit);
			}
			if (!*s)
				break;
			ck_assert_uint_lt(n, NF_ARRAY_SIZE(segs));
			segs[n++] = (nf_seg){ nf_arena_strndup(a, s + 2, len), true, { 1, 1, 0 } };
			s += len + 3;
		} else {
			nf_buf_putc(&lit, *s++);
		}
	}
	nf_buf_release(&lit);
	t.segs = nf_arena_memdup(a, segs, n * sizeof(*segs));
	t.nsegs = n;
	return t;
}

#endif
