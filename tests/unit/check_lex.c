/* check_lex.c: unit tests of the .dag lexer: tokens, strings (escapes, ${...}, decoding and
 * canonical quoting), numbers, comments, and every message the lexer reports, including
 * hostile bytes (NUL, invalid UTF-8) and very long tokens. */
#include "config.h"
#include "lex.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The diagnostics as "line:col: level: message" lines. */
static char *
diag_text(const nf_diag_list *diags)
{
	static const char *const levels[] = { "error", "warning", "note" };
	nf_buf b = NF_BUF_INIT;

	for (size_t i = 0; i < diags->n; i++) {
		const nf_diag *d = &diags->items[i];

		nf_buf_printf(&b, "%d:%d: %s: %s\n", d->line, d->col, levels[d->level], d->msg);
	}
	return nf_buf_detach(&b);
}

static const char *const kind_names[] = {
	"EOF", "NL", "COMMENT", "IDENT", "STRING", "NUMBER", "{", "}", "[", "]", "=", ",", "ERROR",
};

/* Lexes src (len bytes) and returns "KIND:text" words, one per token, and the messages. */
static char *
lex_all(const char *src, size_t len, bool comments, char **msgs)
{
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_lexer lx;
	nf_token t;
	nf_buf b = NF_BUF_INIT;
	int guard = 0;

	nf_lex_init(&lx, "t.dag", src, len, &diags, comments);
	do {
		nf_lex_next(&lx, &t);
		if (b.len)
			nf_buf_putc(&b, ' ');
		if (t.kind == NF_TK_NEWLINE || t.kind == NF_TK_EOF)
			nf_buf_printf(&b, "%s", kind_names[t.kind]);
		else
			nf_buf_printf(&b, "%s:%.*s", kind_names[t.kind], (int)t.len, t.text);
		ck_assert_int_lt(++guard, 100000);
	} while (t.kind != NF_TK_EOF);
	*msgs = diag_text(&diags);
	nf_diag_list_release(&diags);
	return nf_buf_detach(&b);
}

#define ck_tokens(src, comments, expect_tokens, expect_msgs) do { \
	char *msgs_, *toks_ = lex_all(src, strlen(src), comments, &msgs_); \
	ck_assert_str_eq(toks_, expect_tokens); \
	ck_assert_str_eq(msgs_, expect_msgs); \
	free(toks_); \
	free(msgs_); \
} while (0)

/* The messages of lexing src, tokens ignored. */
#define ck_lex_msgs(src, expect_msgs) do { \
	char *msgs_, *toks_ = lex_all(src, strlen(src), false, &msgs_); \
	ck_assert_str_eq(msgs_, expect_msgs); \
	free(toks_); \
	free(msgs_); \
} while (0)

START_TEST(test_tokens)
{
	ck_tokens("stage \"a\" {\n  run = \"true\"\n}\n", false,
		  "IDENT:stage STRING:\"a\" {:{ NL IDENT:run =:= STRING:\"true\" NL }:} NL EOF", "");
	ck_tokens("x = [1, -2.5, 3e-4, 1E+2, true,]", false,
		  "IDENT:x =:= [:[ NUMBER:1 ,:, NUMBER:-2.5 ,:, NUMBER:3e-4 ,:, NUMBER:1E+2 ,:, IDENT:true ,:, ]:] EOF", "");
	ck_tokens("on_alert fail-on _x", false, "IDENT:on_alert IDENT:fail-on IDENT:_x EOF", "");
	ck_tokens("", false, "EOF", "");
}
END_TEST

START_TEST(test_comments)
{
	ck_tokens("# top\na = 1 # trailing\n", false, "NL IDENT:a =:= NUMBER:1 NL EOF", "");
	ck_tokens("# top\na = 1 # trailing\n", true,
		  "COMMENT:# top NL IDENT:a =:= NUMBER:1 COMMENT:# trailing NL EOF", "");
	ck_tokens("a = \"# not a comment\"", true, "IDENT:a =:= STRING:\"# not a comment\" EOF", "");
}
END_TEST

START_TEST(test_whitespace)
{
	/* CRLF line ends and tabs are whitespace; a byte-order mark is skipped. */
	ck_tokens("a\t=\t1\r\nb = 2\r\n", false, "IDENT:a =:= NUMBER:1 NL IDENT:b =:= NUMBER:2 NL EOF", "");
	ck_tokens("\xef\xbb\xbf" "a = 1", false, "IDENT:a =:= NUMBER:1 EOF", "");
}
END_TEST

START_TEST(test_positions)
{
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_lexer lx;
	nf_token t;

	nf_lex_init(&lx, "t.dag", "a = 1\n  bb = \"x\"", 16, &diags, false);
	nf_lex_next(&lx, &t);
	ck_assert_int_eq(t.line, 1);
	ck_assert_int_eq(t.col, 1);
	nf_lex_next(&lx, &t);
	nf_lex_next(&lx, &t);
	ck_assert_int_eq(t.col, 5);
	nf_lex_next(&lx, &t);
	ck_assert_int_eq(t.kind, NF_TK_NEWLINE);
	nf_lex_next(&lx, &t);
	ck_assert_int_eq(t.line, 2);
	ck_assert_int_eq(t.col, 3);
	ck_assert_int_eq(t.len, 2);
	nf_lex_next(&lx, &t);
	nf_lex_next(&lx, &t);
	ck_assert_int_eq(t.kind, NF_TK_STRING);
	ck_assert_int_eq(t.col, 8);
	nf_lex_next(&lx, &t);
	ck_assert_int_eq(t.kind, NF_TK_EOF);
	nf_lex_next(&lx, &t);
	ck_assert_int_eq(t.kind, NF_TK_EOF);   /* for ever */
	ck_assert_int_eq(diags.n, 0);
}
END_TEST

START_TEST(test_unterminated_string)
{
	ck_tokens("run = \"abc\nx = 1", false,
		  "IDENT:run =:= STRING:\"abc NL IDENT:x =:= NUMBER:1 EOF", "1:7: error: unterminated string\n");
	ck_lex_msgs("run = \"abc", "1:7: error: unterminated string\n");
	ck_lex_msgs("run = \"abc\\", "1:7: error: unterminated string\n");
}
END_TEST

START_TEST(test_escapes)
{
	ck_lex_msgs("a = \"\\\" \\\\ \\n \\t \\r \\$\"", "");
	ck_lex_msgs("a = \"x\\qy\"", "1:7: error: unknown escape '\\q' in string (known: \\\" \\\\ \\n \\t \\r \\$)\n");
	ck_lex_msgs("a = \"\\\x01\"", "1:6: error: unknown escape in string: '\\' before byte 0x01\n"
		    "1:7: error: control character 0x01 in string; write \\n, \\t or \\r\n");
	ck_lex_msgs("a = \"tab\there\"", "");
}
END_TEST

START_TEST(test_references)
{
	ck_lex_msgs("a = \"${params.seed} ${stages.fraud-clf.best.lr} ${env.HOME}\"", "");
	ck_lex_msgs("a = \"$${x} $$ $5 $(cmd) \\${y}\"", "");
	ck_lex_msgs("a = \"${}\"", "1:6: error: empty reference '${}'\n");
	ck_lex_msgs("a = \"${params.}\"",
		    "1:6: error: invalid reference '${params.}': expected names separated by dots, like ${params.seed}\n");
	ck_lex_msgs("a = \"${.x} ${a..b}\"",
		    "1:6: error: invalid reference '${.x}': expected names separated by dots, like ${params.seed}\n"
		    "1:12: error: invalid reference '${a..b}': expected names separated by dots, like ${params.seed}\n");
	ck_lex_msgs("a = \"${run week}\"",
		    "1:11: error: invalid character ' ' in reference; expected a name like ${params.seed}\n");
	ck_lex_msgs("a = \"${x\x02}\"",
		    "1:9: error: invalid byte 0x02 in reference; expected a name like ${params.seed}\n");
	ck_lex_msgs("a = \"${params.seed\"", "1:6: error: unterminated reference: expected '}' after '${'\n");
	ck_lex_msgs("a = \"${params.seed", "1:6: error: unterminated reference: expected '}' after '${'\n"
		    "1:5: error: unterminated string\n");
}
END_TEST

START_TEST(test_numbers)
{
	ck_lex_msgs("a = 007", "");
	ck_lex_msgs("a = 1.2.3", "1:5: error: invalid number '1.2.3'\n");
	ck_lex_msgs("a = 1.", "1:5: error: invalid number '1.'\n");
	ck_lex_msgs("a = 1e", "1:5: error: invalid number '1e'\n");
	ck_lex_msgs("a = 10s", "1:5: error: invalid number '10s'; a duration is a string: \"10s\"\n");
	ck_lex_msgs("a = 1h30m", "1:5: error: invalid number '1h30m'; a duration is a string: \"1h30m\"\n");
	ck_tokens("a = -x", false, "IDENT:a =:= ERROR:- IDENT:x EOF", "");
}
END_TEST

START_TEST(test_other_bytes)
{
	/* Stray punctuation is left for the parser to report in context. */
	ck_tokens("run: 1 @", false, "IDENT:run ERROR:: NUMBER:1 ERROR:@ EOF", "");
	/* Valid UTF-8 outside strings is one token; invalid bytes are reported. */
	ck_tokens("\xc3\xa9", false, "ERROR:\xc3\xa9 EOF", "");
	ck_lex_msgs("\xff", "1:1: error: invalid UTF-8 byte 0xff\n");
}
END_TEST

START_TEST(test_utf8)
{
	ck_lex_msgs("a = \"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\" # \xc3\xa9t\xc3\xa9", "");
	ck_lex_msgs("a = \"x\xff\"", "1:7: error: invalid UTF-8 byte 0xff\n");
	ck_lex_msgs("# \xc3\n", "1:3: error: invalid UTF-8 byte 0xc3\n");
	ck_lex_msgs("a = \"\xc0\xaf\"", "1:6: error: invalid UTF-8 byte 0xc0\n1:7: error: invalid UTF-8 byte 0xaf\n");
	ck_lex_msgs("a = \"\xed\xa0\x80\"", "1:6: error: invalid UTF-8 byte 0xed\n1:7: error: invalid UTF-8 byte 0xa0\n"
		    "1:8: error: invalid UTF-8 byte 0x80\n");
	ck_lex_msgs("a = \"\xf4\x90\x80\x80\"", "1:6: error: invalid UTF-8 byte 0xf4\n1:7: error: invalid UTF-8 byte 0x90\n"
		    "1:8: error: invalid UTF-8 byte 0x80\n1:9: error: invalid UTF-8 byte 0x80\n");
}
END_TEST

START_TEST(test_nul)
{
	static const char src[] = "stage \"a\" {\n  run = \"x\0y\"\n}\n";
	char *msgs, *toks = lex_all(src, sizeof(src) - 1, false, &msgs);

	ck_assert_str_eq(toks, "EOF");   /* binary: no tokens at all */
	ck_assert_str_eq(msgs, "2:11: error: file contains a NUL byte\n");
	free(toks);
	free(msgs);
}
END_TEST

START_TEST(test_error_limit)
{
	/* Garbage stops costing once the diagnostics are full. */
	size_t n = 1 << 20;
	char *src = xmalloc(n);
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_lexer lx;
	nf_token t;
	size_t ntok = 0;

	memset(src, 0xff, n);
	nf_lex_init(&lx, "t.dag", src, n, &diags, false);
	do {
		nf_lex_next(&lx, &t);
		ntok++;
	} while (t.kind != NF_TK_EOF);
	ck_assert(diags.full);
	ck_assert_int_eq(diags.nerrors, NF_DIAG_MAX_ERRORS);
	ck_assert_int_lt(ntok, 100);
	nf_diag_list_release(&diags);
	free(src);
}
END_TEST

START_TEST(test_long_string)
{
	size_t n = (1 << 20) + 8;
	char *src = xmalloc(n + 1);
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_arena *a = nf_arena_new();
	nf_lexer lx;
	nf_token t;
	nf_tmpl tm;

	memcpy(src, "a = \"", 5);
	memset(src + 5, 'x', n - 6);
	src[n - 1] = '"';
	src[n] = '\0';
	nf_lex_init(&lx, "t.dag", src, n, &diags, false);
	nf_lex_next(&lx, &t);
	nf_lex_next(&lx, &t);
	nf_lex_next(&lx, &t);
	ck_assert_int_eq(t.kind, NF_TK_STRING);
	ck_assert_uint_eq(t.len, n - 4);
	nf_lex_string_decode(&tm, a, &t, "t.dag");
	ck_assert_uint_eq(strlen(nf_tmpl_literal(&tm)), n - 6);
	ck_assert_int_eq(diags.n, 0);
	nf_arena_free(a);
	free(src);
}
END_TEST

/* Decodes the first string token of src and returns its segments as text:
 * literals as they are, references as {name}@col. */
static char *
decode(const char *src)
{
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_arena *a = nf_arena_new();
	nf_lexer lx;
	nf_token t;
	nf_tmpl tm;
	nf_buf b = NF_BUF_INIT;

	nf_lex_init(&lx, "t.dag", src, strlen(src), &diags, false);
	do
		nf_lex_next(&lx, &t);
	while (t.kind != NF_TK_STRING && t.kind != NF_TK_EOF);
	ck_assert_int_eq(t.kind, NF_TK_STRING);
	nf_lex_string_decode(&tm, a, &t, "t.dag");
	ck_assert_int_eq(tm.loc.col, t.col);
	for (size_t i = 0; i < tm.nsegs; i++) {
		if (tm.segs[i].is_ref)
			nf_buf_printf(&b, "{%s}@%d", tm.segs[i].text, tm.segs[i].loc.col);
		else
			nf_buf_printf(&b, "<%s>@%d", tm.segs[i].text, tm.segs[i].loc.col);
	}
	nf_arena_free(a);
	nf_diag_list_release(&diags);
	return nf_buf_detach(&b);
}

#define ck_decode(src, expect) do { \
	char *got_ = decode(src); \
	ck_assert_str_eq(got_, expect); \
	free(got_); \
} while (0)

START_TEST(test_decode)
{
	ck_decode("a = \"plain\"", "<plain>@6");
	ck_decode("a = \"\"", "");
	ck_decode("a = \"x=\\\"1\\\" \\\\ \\n\\t\\r\"", "<x=\"1\" \\ \n\t\r>@6");
	ck_decode("a = \"--lr ${matrix.lr} --out ${matrix.id}/m\"",
		  "<--lr >@6{matrix.lr}@11< --out >@23{matrix.id}@30</m>@42");
	ck_decode("a = \"${params.seed}\"", "{params.seed}@6");
	ck_decode("a = \"$${HOME} is \\${HOME}, $$ and $5\"", "<${HOME} is ${HOME}, $$ and $5>@6");
	ck_decode("a = \"\\$${x}\"", "<$>@6{x}@8");
	/* A malformed reference (reported by the lexer) stays literal. */
	ck_decode("a = \"${} ${a..b}\"", "<${} ${a..b}>@6");
}
END_TEST

/* Decodes src's string and quotes it back. */
static char *
requote(const char *src)
{
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_arena *a = nf_arena_new();
	nf_lexer lx;
	nf_token t;
	nf_tmpl tm;
	nf_buf b = NF_BUF_INIT;

	nf_lex_init(&lx, "t.dag", src, strlen(src), &diags, false);
	nf_lex_next(&lx, &t);
	ck_assert_int_eq(t.kind, NF_TK_STRING);
	nf_lex_string_decode(&tm, a, &t, "t.dag");
	nf_lex_quote(&b, &tm);
	nf_arena_free(a);
	nf_diag_list_release(&diags);
	return nf_buf_detach(&b);
}

#define ck_requote(src, expect) do { \
	char *got_ = requote(src); \
	ck_assert_str_eq(got_, expect); \
	free(got_); \
} while (0)

START_TEST(test_quote)
{
	ck_requote("\"plain\"", "\"plain\"");
	ck_requote("\"\"", "\"\"");
	ck_requote("\"tab\there\"", "\"tab\\there\"");
	ck_requote("\"\\\"q\\\" \\\\ \\n \\r\"", "\"\\\"q\\\" \\\\ \\n \\r\"");
	ck_requote("\"\\$x $y\"", "\"$x $y\"");
	ck_requote("\"\\${x} $${y}\"", "\"$${x} $${y}\"");
	ck_requote("\"a ${params.x} b\"", "\"a ${params.x} b\"");
	ck_requote("\"\\$${x}\"", "\"\\$${x}\"");
	ck_requote("\"$\\$${x}\"", "\"$\\$${x}\"");
	ck_requote("\"$$${x}\"", "\"$$${x}\"");
	ck_requote("\"caf\xc3\xa9\"", "\"caf\xc3\xa9\"");
}
END_TEST

/* Requoting keeps the meaning: decode(quote(decode(s))) == decode(s). */
START_TEST(test_quote_roundtrip)
{
	static const char *const cases[] = {
		"\"$\"", "\"$$\"", "\"$$$\"", "\"${a}\"", "\"$${a}\"", "\"$$${a}\"", "\"\\$${a}\"",
		"\"x$${a}${b}$\"", "\"${a}${b}\"", "\"\\\\${a}\"", "\"{${a}}\"", "\"$\\n${a}$\"",
	};

	for (size_t i = 0; i < NF_ARRAY_SIZE(cases); i++) {
		char *once = requote(cases[i]);
		char *twice = requote(once);
		char *src1 = xasprintf("a = %s", cases[i]), *src2 = xasprintf("a = %s", once);
		char *d1 = decode(src1), *d2 = decode(src2);
		char *p1, *p2;

		/* Same segments (columns aside). */
		for (p1 = d1, p2 = d1; *p1; p1++)
			if (*p1 == '@')
				while (p1[1] >= '0' && p1[1] <= '9')
					p1++;
			else
				*p2++ = *p1;
		*p2 = '\0';
		for (p1 = d2, p2 = d2; *p1; p1++)
			if (*p1 == '@')
				while (p1[1] >= '0' && p1[1] <= '9')
					p1++;
			else
				*p2++ = *p1;
		*p2 = '\0';
		ck_assert_msg(strcmp(d1, d2) == 0, "%s: %s vs %s", cases[i], d1, d2);
		ck_assert_str_eq(once, twice);
		free(once);
		free(twice);
		free(src1);
		free(src2);
		free(d1);
		free(d2);
	}
}
END_TEST

START_TEST(test_string_col)
{
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	const char *src = "a = \"x\\ty $${z\"";
	nf_lexer lx;
	nf_token t;

	nf_lex_init(&lx, "t.dag", src, strlen(src), &diags, false);
	nf_lex_next(&lx, &t);
	nf_lex_next(&lx, &t);
	nf_lex_next(&lx, &t);
	ck_assert_int_eq(nf_lex_string_col(&t, 0), 6);   /* x */
	ck_assert_int_eq(nf_lex_string_col(&t, 1), 7);   /* \t */
	ck_assert_int_eq(nf_lex_string_col(&t, 2), 9);   /* y */
	ck_assert_int_eq(nf_lex_string_col(&t, 4), 11);  /* $${ */
	ck_assert_int_eq(nf_lex_string_col(&t, 6), 14);  /* z */
	nf_diag_list_release(&diags);
}
END_TEST

START_TEST(test_describe)
{
	static const struct { nf_tok_kind kind; const char *text; const char *expect; } cases[] = {
		{ NF_TK_EOF, "", "the end of the file" },
		{ NF_TK_NEWLINE, "\n", "the end of the line" },
		{ NF_TK_STRING, "\"x\"", "a string" },
		{ NF_TK_NUMBER, "42", "a number" },
		{ NF_TK_IDENT, "needs", "'needs'" },
		{ NF_TK_RBRACE, "}", "'}'" },
		{ NF_TK_ERROR, "\x07", "byte 0x07" },
	};

	for (size_t i = 0; i < NF_ARRAY_SIZE(cases); i++) {
		nf_token t = { cases[i].kind, cases[i].text, strlen(cases[i].text), 1, 1, false, false };
		char buf[80];

		nf_lex_describe(buf, sizeof(buf), &t);
		ck_assert_str_eq(buf, cases[i].expect);
	}
}
END_TEST

static Suite *
lex_suite(void)
{
	Suite *s = suite_create("lex");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_tokens);
	tcase_add_test(tc, test_comments);
	tcase_add_test(tc, test_whitespace);
	tcase_add_test(tc, test_positions);
	tcase_add_test(tc, test_unterminated_string);
	tcase_add_test(tc, test_escapes);
	tcase_add_test(tc, test_references);
	tcase_add_test(tc, test_numbers);
	tcase_add_test(tc, test_other_bytes);
	tcase_add_test(tc, test_utf8);
	tcase_add_test(tc, test_nul);
	tcase_add_test(tc, test_error_limit);
	tcase_add_test(tc, test_long_string);
	tcase_add_test(tc, test_decode);
	tcase_add_test(tc, test_quote);
	tcase_add_test(tc, test_quote_roundtrip);
	tcase_add_test(tc, test_string_col);
	tcase_add_test(tc, test_describe);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(lex_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
