/* html.c: text into HTML: escaping every string that comes from a run (a stage may be named
 * `<script>`, a param may hold quotes), and numbers written the same whatever the locale,
 * since ntflow calls setlocale() and a German LC_NUMERIC would put commas into SVG paths. */
#include "config.h"
#include "ntflow/report.h"

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The length of the valid UTF-8 sequence at s (1 to 4), or 0 when it is not one. */
static size_t
utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void
nf_html_escape(nf_buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s)
		return;
	while (*p) {
		size_t n;

		switch (*p) {
		case '&': nf_buf_puts(out, "&amp;"); p++; continue;
		case '<': nf_buf_puts(out, "&lt;"); p++; continue;
		case '>': nf_buf_puts(out, "&gt;"); p++; continue;
		case '"': nf_buf_puts(out, "&quot;"); p++; continue;
		case '\'': nf_buf_puts(out, "&#39;"); p++; continue;
		case '\t':
		case '\n': nf_buf_putc(out, (char)*p); p++; continue;
		default: break;
		}
		if (*p < 0x20 || *p == 0x7f) {
			p++;
			continue;
		}
		if ((n = utf8_len(p)) == 0) {
			nf_buf_puts(out, "\xef\xbf\xbd");   /* U+FFFD */
			p++;
			continue;
		}
		nf_buf_add(out, p, n);
		p += n;
	}
}

void
nf_html_escapef(nf_buf *out, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	nf_html_escape(out, s);
	free(s);
}

/* The locale's decimal point (one byte, else none) put back to '.'. */
static void
c_decimal(char *s)
{
	const char *dp = localeconv()->decimal_point;
	char *at;

	if (dp && dp[0] && dp[0] != '.' && !dp[1] && (at = strchr(s, dp[0])))
		*at = '.';
}

void
nf_html_num(char *out, size_t size, double v)
{
	if (!isfinite(v)) {
		snprintf(out, size, "-");
		return;
	}
	if (v == 0)
		v = 0;   /* no "-0" */
	snprintf(out, size, "%.4g", v);
	c_decimal(out);
}

void
nf_svg_coord(char *out, size_t size, double v)
{
	if (!isfinite(v))
		v = 0;
	if (fabs(v) < 0.05)
		v = 0;
	snprintf(out, size, "%.1f", v);
	c_decimal(out);
}
