/* buf.c: a growable NUL-terminated string, and JSON string literals written into one. */
#include "config.h"
#include "ntflow/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
buf_reserve(nf_buf *b, size_t extra)
{
	if (b->len + extra + 1 > b->cap)
		b->buf = xgrow(b->buf, 1, b->len + extra + 1, &b->cap);
}

void
nf_buf__grow(nf_buf *b, size_t extra)
{
	buf_reserve(b, extra);
}

/* Not the inline loop: a string may be long (a log, a payload). */
void
nf_buf_puts(nf_buf *b, const char *s)
{
	size_t n = strlen(s);

	buf_reserve(b, n);
	memcpy(b->buf + b->len, s, n + 1);
	b->len += n;
}

void
nf_buf_vprintf(nf_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n <= 0)
		return;
	buf_reserve(b, (size_t)n);
	vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void
nf_buf_printf(nf_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	nf_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

/* What a byte is in a JSON string: 0 escaped ('"', '\\', a control character), 1
 * printable ASCII, 2 a byte above 127 (cJSON writes it as it is; nf_buf_add_json_string
 * checks it is UTF-8). */
const unsigned char nf_json_plain[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

void
nf_buf_add_json_string(nf_buf *b, const char *s)
{
	const char *end = s + strlen(s);

	nf_buf_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		const unsigned char *run = p;

		/* A run that needs no escape, added at once (names, keys, digests: all of them). */
		while (nf_json_plain[*p] == 1)
			p++;
		if (p > run)
			nf_buf_add(b, run, (size_t)(p - run));
		if (!*p)
			break;
		switch (*p) {
		case '"': nf_buf_puts(b, "\\\""); break;
		case '\\': nf_buf_puts(b, "\\\\"); break;
		case '\n': nf_buf_puts(b, "\\n"); break;
		case '\r': nf_buf_puts(b, "\\r"); break;
		case '\t': nf_buf_puts(b, "\\t"); break;
		default:
			if (*p < 0x20) {
				nf_buf_printf(b, "\\u%04x", *p);
			} else if (*p >= 0x80) {
				size_t n = nf_utf8_seq_len((const char *)p, end);

				nf_buf_add_utf8_json(b, (const char *)p, n ? n : 1);
				p += n ? n - 1 : 0;
			} else {
				nf_buf_putc(b, (char)*p);
			}
		}
	}
	nf_buf_putc(b, '"');
}

const char *
nf_buf_cstr(const nf_buf *b)
{
	return b->buf ? b->buf : "";
}

void
nf_buf_reset(nf_buf *b)
{
	b->len = 0;
	if (b->buf)
		b->buf[0] = '\0';
}

char *
nf_buf_detach(nf_buf *b)
{
	char *s = b->buf ? b->buf : xstrdup("");

	b->buf = NULL;
	b->len = b->cap = 0;
	return s;
}

void
nf_buf_release(nf_buf *b)
{
	free(b->buf);
	b->buf = NULL;
	b->len = b->cap = 0;
}

void
nf_buf_put_double(nf_buf *b, double v)
{
	char text[40];

	snprintf(text, sizeof(text), "%.15g", v);
	if (strtod(text, NULL) != v)
		snprintf(text, sizeof(text), "%.17g", v);
	nf_buf_puts(b, text);
}
