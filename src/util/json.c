/* json.c: JSON text that strict readers accept. cJSON prints the bytes of a string as they
 * are, so a value holding bytes that are not UTF-8 (a -p argument, a metric name, an
 * environment variable) made ntflow print JSON that no strict reader takes. One rule, used
 * for every JSON ntflow prints and for the audit's canonical payloads: a byte that does not
 * belong to a valid UTF-8 sequence is written as the escape \u00XX (XX its value). */
#include "config.h"
#include "ntflow/util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t
nf_utf8_seq_len(const char *s, const char *end)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned c = p[0];
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if ((size_t)(end - s) < n)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) ||
	    (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
		return 0;
	return n;
}

size_t
nf_buf_add_utf8_json(nf_buf *b, const char *s, size_t len)
{
	const char *end = s + len, *run = s;
	size_t escaped = 0;

	for (const char *p = s; p < end;) {
		size_t n = nf_utf8_seq_len(p, end);

		if (n) {
			p += n;
			continue;
		}
		nf_buf_add(b, run, (size_t)(p - run));
		nf_buf_printf(b, "\\u%04x", (unsigned char)*p);
		escaped++;
		run = ++p;
	}
	nf_buf_add(b, run, (size_t)(end - run));
	return escaped;
}

char *
nf_json_print(const cJSON *j, bool pretty)
{
	char *text = pretty ? cJSON_Print(j) : cJSON_PrintUnformatted(j);
	nf_buf b = NF_BUF_INIT;

	if (!text) {   /* cJSON's only failure: its allocation */
		fprintf(stderr, "ntflow: out of memory (printing JSON)\n");
		abort();
	}
	/* Outside strings cJSON writes ASCII only: every byte fixed here is inside a string. */
	nf_buf_add_utf8_json(&b, text, strlen(text));
	cJSON_free(text);
	return nf_buf_detach(&b);
}

/* Whether the UTF-8 character at c (n bytes) is one of Unicode's bidirectional controls
 * (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069): shown as it is, one reorders
 * what a terminal shows after it, so that a value can make a line read other than it is. */
static bool
bidi_control(const unsigned char *c, size_t n)
{
	if (n == 2)
		return c[0] == 0xd8 && c[1] == 0x9c;
	if (n != 3 || c[0] != 0xe2)
		return false;
	return (c[1] == 0x80 && (c[2] == 0x8e || c[2] == 0x8f || (c[2] >= 0xaa && c[2] <= 0xae))) ||
	       (c[1] == 0x81 && c[2] >= 0xa6 && c[2] <= 0xa9);
}

size_t
nf_visible_len(const char *s, const char *end)
{
	const unsigned char *c = (const unsigned char *)s;
	size_t n = nf_utf8_seq_len(s, end);

	return n == 0 || *c < 0x20 || *c == 0x7f || (*c == 0xc2 && c[1] < 0xa0) || bidi_control(c, n) ? 0 : n;
}

bool
nf_str_visible(const char *s)
{
	const char *end = s + strlen(s);

	for (size_t n; s < end; s += n)
		if ((n = nf_visible_len(s, end)) == 0)
			return false;
	return true;
}

void
nf_buf_add_visible(nf_buf *b, const char *s, bool lines)
{
	const char *end = s + strlen(s);

	while (s < end) {
		const unsigned char *c = (const unsigned char *)s;
		size_t n = nf_visible_len(s, end);

		if (lines && (*c == '\n' || *c == '\t')) {
			nf_buf_putc(b, (char)*c);
			s++;
		} else if (n == 0) {
			nf_buf_printf(b, "\\x%02x", *c);
			s++;
		} else {
			nf_buf_add(b, s, n);
			s += n;
		}
	}
}
