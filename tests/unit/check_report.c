/* check_report.c: the pieces of `ntflow report` below the page: HTML escaping (markup,
 * quotes, bytes that are not UTF-8, control characters), numbers that stay '.'-decimal under
 * a German LC_NUMERIC, scales and their nice ticks, the SVG a chart makes, and the plot data
 * readers (CSV with quotes, TSV, JSON lists of objects, malformed files). */
#include "config.h"

#include <check.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ntflow/report.h"

static char *
escaped(const char *s)
{
	nf_buf b = NF_BUF_INIT;

	nf_html_escape(&b, s);
	return nf_buf_detach(&b);
}

START_TEST(test_escape)
{
	char *s;

	s = escaped("<script>alert(\"x\")</script> & 'q'");
	ck_assert_str_eq(s, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;");
	free(s);
	/* UTF-8 kept; a stray byte, an overlong form and a surrogate become U+FFFD */
	s = escaped("caf\xc3\xa9 \xff \xc0\xaf \xed\xa0\x80!");
	ck_assert_str_eq(s, "caf\xc3\xa9 \xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd!");
	free(s);
	/* control characters dropped, tab and newline kept */
	s = escaped("a\x01" "b\tc\nd\x7f");
	ck_assert_str_eq(s, "ab\tc\nd");
	free(s);
	s = escaped(NULL);
	ck_assert_str_eq(s, "");   /* nothing appended */
	free(s);
	{
		nf_buf b = NF_BUF_INIT;

		nf_html_escapef(&b, "%s=%d", "<k>", 3);
		ck_assert_str_eq(nf_buf_cstr(&b), "&lt;k&gt;=3");
		nf_buf_release(&b);
	}
}
END_TEST

START_TEST(test_numbers)
{
	char b[48];

	nf_html_num(b, sizeof(b), 0.93124);
	ck_assert_str_eq(b, "0.9312");
	nf_html_num(b, sizeof(b), 1200);
	ck_assert_str_eq(b, "1200");
	nf_html_num(b, sizeof(b), 1.5e6);
	ck_assert_str_eq(b, "1.5e+06");
	nf_html_num(b, sizeof(b), -0.0);
	ck_assert_str_eq(b, "0");
	nf_html_num(b, sizeof(b), NAN);
	ck_assert_str_eq(b, "-");
	nf_html_num(b, sizeof(b), INFINITY);
	ck_assert_str_eq(b, "-");
	nf_svg_coord(b, sizeof(b), 12.345);
	ck_assert_str_eq(b, "12.3");
	nf_svg_coord(b, sizeof(b), -0.01);
	ck_assert_str_eq(b, "0.0");
	nf_svg_coord(b, sizeof(b), NAN);
	ck_assert_str_eq(b, "0.0");
}
END_TEST

/* A German LC_NUMERIC writes 0,5: built with localedef into a folder of the test's own. */
START_TEST(test_numbers_german_locale)
{
	char dir[] = "/tmp/check_report.XXXXXX", *cmd, b[48], *rm;
	nf_buf svg = NF_BUF_INIT;
	double x[] = { 0.5, 1.5 }, y[] = { 0.25, 0.75 }, v = 0;
	nf_series s = { "s", x, y, 2, false };
	nf_chart c = { .title = "t", .kind = NF_CHART_LINE, .series = &s, .nseries = 1 };
	nf_datatab t;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	cmd = xasprintf("localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 >/dev/null 2>&1", dir);
	ck_assert_int_eq(system(cmd), 0);
	setenv("LOCPATH", dir, 1);
	ck_assert_ptr_nonnull(setlocale(LC_NUMERIC, "de_DE.UTF-8"));
	ck_assert_str_eq(localeconv()->decimal_point, ",");   /* the test means something */
	snprintf(b, sizeof(b), "%.1f", 0.5);
	ck_assert_str_eq(b, "0,5");

	nf_html_num(b, sizeof(b), 0.5);
	ck_assert_str_eq(b, "0.5");
	nf_svg_coord(b, sizeof(b), 2.25);
	ck_assert_str_eq(b, "2.2");
	nf_svg_chart(&svg, &c);
	ck_assert_ptr_null(strstr(nf_buf_cstr(&svg), ",5 "));
	ck_assert_ptr_nonnull(strstr(nf_buf_cstr(&svg), "<title>s: 0.5, 0.25</title>"));
	ck_assert_int_eq(nf_datatab_parse(&t, "a.csv", "a\n0.5\n", 6), 0);
	ck_assert(nf_datatab_num(&t, 0, 0, &v));
	ck_assert(v == 0.5);
	nf_datatab_release(&t);

	setlocale(LC_NUMERIC, "C");
	unsetenv("LOCPATH");
	rm = xasprintf("rm -rf %s", dir);
	ck_assert_int_eq(system(rm), 0);
	free(rm);
	free(cmd);
	nf_buf_release(&svg);
}
END_TEST

START_TEST(test_scale)
{
	double lo = 0, hi = 1, t[16];
	size_t n = nf_scale_nice(&lo, &hi, 6, t, 16);
	nf_scale s = { 0, 10, 100, 200 };

	ck_assert_uint_eq(n, 6);
	ck_assert(lo == 0 && hi == 1);
	ck_assert(t[0] == 0 && t[1] == 0.2 && t[3] == 0.6 && t[5] == 1);
	/* 0.3 .. 7.3 widens to 0 .. 8 in steps of 2 */
	lo = 0.3;
	hi = 7.3;
	n = nf_scale_nice(&lo, &hi, 5, t, 16);
	ck_assert(lo == 0 && hi == 8);
	ck_assert_uint_eq(n, 5);
	ck_assert(t[1] == 2 && t[4] == 8);
	/* one value: a band around it */
	lo = hi = 5;
	n = nf_scale_nice(&lo, &hi, 5, t, 16);
	ck_assert(lo < 5 && hi > 5 && n >= 2);
	/* reversed and non-finite bounds */
	lo = 3;
	hi = -1;
	nf_scale_nice(&lo, &hi, 5, t, 16);
	ck_assert(lo <= -1 && hi >= 3);
	lo = NAN;
	hi = 2;
	nf_scale_nice(&lo, &hi, 5, t, 16);
	ck_assert(lo == 0 && hi == 1);
	/* the map, and an empty domain mapping to the middle */
	ck_assert(nf_scale_map(&s, 5) == 150);
	ck_assert(nf_scale_map(&s, 0) == 100);
	s.d1 = 0;
	ck_assert(nf_scale_map(&s, 7) == 150);
	/* at most max ticks */
	lo = 0;
	hi = 1e6;
	ck_assert_uint_le(nf_scale_nice(&lo, &hi, 40, t, 4), 4);
}
END_TEST

static size_t
occurrences(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

START_TEST(test_chart_svg)
{
	double x[] = { 0, 1, 2, 3 }, y1[] = { 1, NAN, 3, 4 }, y2[] = { 2, 2, 2, 2 };
	nf_series s[] = { { "<a>", x, y1, 4, false }, { "b", x, y2, 4, true } };
	nf_hline h = { 3.5, "alert \"hi\"" };
	nf_chart c = { .id = "c1", .title = "T & U", .xlabel = "x", .ylabel = "y", .kind = NF_CHART_LINE,
		       .series = s, .nseries = 2, .hlines = &h, .nhlines = 1 };
	nf_buf out = NF_BUF_INIT;
	const char *svg;
	const char *cats[] = { "a<", "b" };
	double bx[] = { 0, 1 }, by[] = { 2, -1 };
	nf_series bs = { "bars", bx, by, 2, false };

	nf_svg_chart(&out, &c);
	svg = nf_buf_cstr(&out);
	{
		const char *head = "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"c1\" class=\"chart\"";

		ck_assert(strncmp(svg, head, strlen(head)) == 0);
	}
	ck_assert_ptr_nonnull(strstr(svg, "<title>T &amp; U</title>"));
	/* a NaN splits the first series' line in two; the second is one line, dashed */
	ck_assert_uint_eq(occurrences(svg, "<polyline class=\"line\""), 3);
	ck_assert_ptr_nonnull(strstr(svg, "<g class=\"series s1 dashed\">"));
	ck_assert_uint_eq(occurrences(svg, "<circle class=\"dot\""), 7);
	ck_assert_ptr_nonnull(strstr(svg, ">&lt;a&gt;</text>"));   /* the legend, escaped */
	ck_assert_ptr_nonnull(strstr(svg, "class=\"thresholdline\""));
	ck_assert_ptr_nonnull(strstr(svg, ">alert &quot;hi&quot; 3.5</text>"));
	ck_assert_ptr_null(strstr(svg, "<a>"));
	ck_assert_ptr_null(strstr(svg, "nan"));
	ck_assert_ptr_null(strstr(svg, "inf"));
	ck_assert(strcmp(svg + strlen(svg) - 6, "</svg>") == 0);
	/* y ticks 1 .. 4 (the threshold 3.5 included), x ticks 0 .. 3 */
	ck_assert_ptr_nonnull(strstr(svg, ">3.5</text>") ? strstr(svg, ">4</text>") : NULL);
	nf_buf_reset(&out);

	/* bars: categories as x labels, a negative bar below zero */
	c = (nf_chart){ .title = "b", .kind = NF_CHART_BAR, .series = &bs, .nseries = 1, .xcats = cats, .nxcats = 2 };
	nf_svg_chart(&out, &c);
	svg = nf_buf_cstr(&out);
	ck_assert_uint_eq(occurrences(svg, "<rect class=\"bar\""), 2);
	ck_assert_ptr_nonnull(strstr(svg, ">a&lt;</text>"));
	ck_assert_ptr_nonnull(strstr(svg, "<title>bars: a&lt;, 2</title>"));
	ck_assert_ptr_nonnull(strstr(svg, ">-1</text>"));
	nf_buf_reset(&out);

	/* no data at all */
	c = (nf_chart){ .title = "none", .kind = NF_CHART_LINE };
	nf_svg_chart(&out, &c);
	ck_assert_ptr_nonnull(strstr(nf_buf_cstr(&out), ">no data</text>"));
	nf_buf_release(&out);
}
END_TEST

START_TEST(test_data_csv)
{
	const char *csv = "\xef\xbb\xbfname,\"val,ue\",n\r\n\"a \"\"q\"\"\",1.5,x\r\n\r\nb,-2e3\n";
	nf_datatab t;
	double v;

	ck_assert_int_eq(nf_datatab_parse(&t, "d.csv", csv, strlen(csv)), 0);
	ck_assert_uint_eq(t.ncols, 3);
	ck_assert_str_eq(t.cols[1], "val,ue");
	ck_assert_uint_eq(t.nrows, 2);
	ck_assert_str_eq(t.cells[0], "a \"q\"");
	ck_assert_int_eq(nf_datatab_col(&t, "val,ue"), 1);
	ck_assert_int_eq(nf_datatab_col(&t, "nope"), -1);
	ck_assert(nf_datatab_num(&t, 0, 1, &v) && v == 1.5);
	ck_assert(nf_datatab_num(&t, 1, 1, &v) && v == -2000);
	ck_assert(!nf_datatab_num(&t, 0, 2, &v));   /* "x" */
	ck_assert(!nf_datatab_num(&t, 1, 2, &v));   /* a short row: missing */
	ck_assert(!nf_datatab_num(&t, 0, 0, &v));
	ck_assert(!nf_datatab_num(&t, 5, 1, &v));
	nf_datatab_release(&t);

	/* not numbers: hex, inf, nan, "1.2.3", "e5", "" */
	{
		const char *bad = "v\n0x10\ninf\nnan\n1.2.3\ne5\n\n 7 \n";
		size_t numbers = 0;

		ck_assert_int_eq(nf_datatab_parse(&t, "b.csv", bad, strlen(bad)), 0);
		for (size_t r = 0; r < t.nrows; r++)
			numbers += nf_datatab_num(&t, r, 0, &v);
		ck_assert_uint_eq(numbers, 1);   /* " 7 " */
		nf_datatab_release(&t);
	}

	ck_assert_int_eq(nf_datatab_parse(&t, "e.csv", "a\n\"open\n", 8), NF_EINVALID);
	ck_assert_ptr_nonnull(strstr(nf_error_last(), "line 2"));
	ck_assert_int_eq(nf_datatab_parse(&t, "e.csv", "a\n\"x\"y\n", 7), NF_EINVALID);
	ck_assert_int_eq(nf_datatab_parse(&t, "e.csv", "\n\n", 2), NF_EINVALID);
	ck_assert_ptr_nonnull(strstr(nf_error_last(), "empty"));
}
END_TEST

START_TEST(test_data_tsv_json)
{
	const char *tsv = "a\tb\n\"1\"\t2\n";
	const char *json = "[{\"x\": 1, \"y\": 0.5}, {\"x\": 2, \"z\": \"s\", \"t\": true}]";
	const char *dvc = "{\"train\": [{\"step\": 0, \"loss\": 1e-3}]}";
	nf_datatab t;
	double v;

	ck_assert_int_eq(nf_datatab_parse(&t, "d.TSV", tsv, strlen(tsv)), 0);
	ck_assert_str_eq(t.cells[0], "\"1\"");   /* TSV has no quoting */
	nf_datatab_release(&t);

	ck_assert_int_eq(nf_datatab_parse(&t, "d.json", json, strlen(json)), 0);
	ck_assert_uint_eq(t.ncols, 4);
	ck_assert_str_eq(t.cols[2], "z");
	ck_assert_uint_eq(t.nrows, 2);
	ck_assert(nf_datatab_num(&t, 0, 1, &v) && v == 0.5);
	ck_assert_ptr_null(t.cells[1 * 4 + 1]);   /* row 2 has no y */
	ck_assert_str_eq(t.cells[1 * 4 + 3], "true");
	nf_datatab_release(&t);

	ck_assert_int_eq(nf_datatab_parse(&t, "d.json", dvc, strlen(dvc)), 0);
	ck_assert(nf_datatab_num(&t, 0, nf_datatab_col(&t, "loss"), &v) && v == 1e-3);
	nf_datatab_release(&t);

	ck_assert_int_eq(nf_datatab_parse(&t, "d.json", "{\"a\": 1}", 8), NF_EINVALID);
	ck_assert_int_eq(nf_datatab_parse(&t, "d.json", "[1, 2]", 6), NF_EINVALID);
	ck_assert_int_eq(nf_datatab_parse(&t, "d.json", "[{", 2), NF_EINVALID);
}
END_TEST

static Suite *
report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("pieces");

	tcase_set_timeout(tc, 60);   /* localedef takes a few seconds on a busy machine */

	tcase_add_test(tc, test_escape);
	tcase_add_test(tc, test_numbers);
	tcase_add_test(tc, test_numbers_german_locale);
	tcase_add_test(tc, test_scale);
	tcase_add_test(tc, test_chart_svg);
	tcase_add_test(tc, test_data_csv);
	tcase_add_test(tc, test_data_tsv_json);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(report_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
