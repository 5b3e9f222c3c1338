/* lex.c: the .dag lexer: one pass over the bytes, no allocation, every byte looked at a
 * bounded number of times, so hostile input costs linear time. Strings are checked here
 * (escapes, ${...} references, UTF-8) and decoded later into the parser's arena. */
#include "config.h"
#include "lex.h"

#include <stdio.h>
#include <string.h>

static nf_loc
loc_at(const nf_lexer *lx, const char *at)
{
	nf_loc l = nf_loc_at(lx->path, lx->line, (int)(at - lx->line_start) + 1);

	return l;
}

/* Checks the non-ASCII byte at p; reports it when it starts no valid character.
 * Returns the number of bytes to step over. */
static size_t
check_utf8(nf_lexer *lx, const char *p)
{
	size_t n = nf_utf8_seq_len(p, lx->end);

	if (n)
		return n;
	nf_diag_error(lx->diags, loc_at(lx, p), "invalid UTF-8 byte 0x%02x", (unsigned char)*p);
	return 1;
}

void
nf_lex_init(nf_lexer *lx, const char *path, const char *src, size_t len,
	    nf_diag_list *diags, bool comments)
{
	const char *nul = memchr(src, '\0', len);

	lx->path = path;
	lx->src = lx->p = lx->line_start = src;
	lx->end = src + len;
	lx->line = 1;
	lx->diags = diags;
	lx->comments = comments;
	if (len >= 3 && memcmp(src, "\xef\xbb\xbf", 3) == 0)
		lx->p = lx->line_start = src + 3;   /* a byte-order mark says nothing */
	if (nul) {
		/* Binary, or damaged: one error at the NUL, and no tokens at all. */
		for (const char *q = lx->p; q < nul; q++) {
			if (*q == '\n') {
				lx->line++;
				lx->line_start = q + 1;
			}
		}
		nf_diag_error(diags, loc_at(lx, nul), "file contains a NUL byte");
		lx->p = lx->end = nul;
	}
}

/* Byte classes, looked up rather than compared (the lexer reads every byte of a file of
 * 100 000 stages; the comparisons were a third of validate's instructions there). */
enum {
	CC_IDENT_START = 1,   /* a-z A-Z _ */
	CC_IDENT = 2,         /* and 0-9 - */
	CC_DIGIT = 4,
	CC_REF = 8,           /* an identifier byte or '.' */
	CC_PLAIN = 16,        /* a string byte that needs no look: printable ASCII or a tab,
	                       * not '"', '\\' or '$' */
};

#define R2(c) (c), (c)
#define R4(c) R2(c), R2(c)
#define R8(c) R4(c), R4(c)
#define R10(c) R8(c), R2(c)
#define R16(c) R8(c), R8(c)
#define R26(c) R16(c), R10(c)
#define ID_START (CC_IDENT_START | CC_IDENT | CC_REF | CC_PLAIN)
static const unsigned char cclass[256] = {
	['\t'] = CC_PLAIN,
	[' '] = CC_PLAIN, ['!'] = CC_PLAIN, ['#'] = CC_PLAIN, ['%'] = CC_PLAIN, ['&'] = CC_PLAIN,
	['\''] = CC_PLAIN, ['('] = CC_PLAIN, [')'] = CC_PLAIN, ['*'] = CC_PLAIN, ['+'] = CC_PLAIN,
	[','] = CC_PLAIN, ['-'] = CC_IDENT | CC_REF | CC_PLAIN, ['.'] = CC_REF | CC_PLAIN,
	['/'] = CC_PLAIN,
	['0'] = R10(CC_IDENT | CC_DIGIT | CC_REF | CC_PLAIN),
	[':'] = CC_PLAIN, [';'] = CC_PLAIN, ['<'] = CC_PLAIN, ['='] = CC_PLAIN, ['>'] = CC_PLAIN,
	['?'] = CC_PLAIN, ['@'] = CC_PLAIN,
	['A'] = R26(ID_START),
	['['] = CC_PLAIN, [']'] = CC_PLAIN, ['^'] = CC_PLAIN, ['_'] = ID_START, ['`'] = CC_PLAIN,
	['a'] = R26(ID_START),
	['{'] = CC_PLAIN, ['|'] = CC_PLAIN, ['}'] = CC_PLAIN, ['~'] = CC_PLAIN,
};
#undef ID_START
#undef R26
#undef R16
#undef R10
#undef R8
#undef R4
#undef R2

static bool
is_ident_start(int c)
{
	return cclass[(unsigned char)c] & CC_IDENT_START;
}

static bool
is_ident_char(int c)
{
	return cclass[(unsigned char)c] & CC_IDENT;
}

static bool
is_digit(int c)
{
	return cclass[(unsigned char)c] & CC_DIGIT;
}

static bool
is_ref_char(int c)
{
	return cclass[(unsigned char)c] & CC_REF;
}

/* True when s[0..n) is -?D+(.D+)?([eE][+-]?D+)? */
static bool
number_ok(const char *s, size_t n)
{
	size_t i = 0, d;

	if (i < n && s[i] == '-')
		i++;
	for (d = i; i < n && is_digit(s[i]); i++)
		;
	if (i == d)
		return false;
	if (i < n && s[i] == '.') {
		for (d = ++i; i < n && is_digit(s[i]); i++)
			;
		if (i == d)
			return false;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < n && is_digit(s[i]); i++)
			;
		if (i == d)
			return false;
	}
	return i == n;
}

static void
lex_number(nf_lexer *lx, nf_token *t)
{
	const char *q = lx->p;

	if (*q == '-')
		q++;
	/* Take the whole word, so "10s" or "1.2.3" is one bad number rather than two tokens. */
	while (q < lx->end && (is_ident_char(*q) || *q == '.' ||
			       ((*q == '+' || *q == '-') && (q[-1] == 'e' || q[-1] == 'E'))))
		q++;
	t->len = (size_t)(q - lx->p);
	t->kind = NF_TK_NUMBER;
	if (!number_ok(lx->p, t->len)) {
		char word[48];
		int64_t ms;
		int n = t->len < 40 ? (int)t->len : 40;

		snprintf(word, sizeof(word), "%.*s%s", n, lx->p, t->len > 40 ? "..." : "");
		if (t->len <= 40 && nf_parse_duration(&ms, word) == 0)
			nf_diag_error(lx->diags, loc_at(lx, lx->p),
				      "invalid number '%s'; a duration is a string: \"%s\"", word, word);
		else
			nf_diag_error(lx->diags, loc_at(lx, lx->p), "invalid number '%s'", word);
		t->kind = NF_TK_ERROR;
		t->reported = true;
	}
	lx->p = q;
}

/* A well-formed reference: names separated by single dots. */
static bool
ref_ok(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_ref_char(s[i]) || (s[i] == '.' && s[i + 1] == '.'))
			return false;
	return true;
}

/* Checks the reference starting at q ("${"); returns where the string scan continues. */
static const char *
lex_ref(nf_lexer *lx, const char *q)
{
	const char *r = q + 2, *start = r;
	bool bad = false;

	while (r < lx->end && *r != '}' && *r != '"' && *r != '\n') {
		if (!is_ref_char(*r) && !bad) {
			if ((unsigned char)*r >= 0x20 && (unsigned char)*r < 0x7f)
				nf_diag_error(lx->diags, loc_at(lx, r),
					      "invalid character '%c' in reference; expected a name like ${params.seed}", *r);
			else
				nf_diag_error(lx->diags, loc_at(lx, r),
					      "invalid byte 0x%02x in reference; expected a name like ${params.seed}",
					      (unsigned char)*r);
			bad = true;
		}
		r++;
	}
	if (r >= lx->end || *r != '}') {
		nf_diag_error(lx->diags, loc_at(lx, q), "unterminated reference: expected '}' after '${'");
		return r;
	}
	if (!bad) {
		size_t n = (size_t)(r - start);

		if (n == 0)
			nf_diag_error(lx->diags, loc_at(lx, q), "empty reference '${}'");
		else if (!ref_ok(start, n))
			nf_diag_error(lx->diags, loc_at(lx, q),
				      "invalid reference '${%.*s}': expected names separated by dots, like ${params.seed}",
				      n > 60 ? 60 : (int)n, start);
	}
	return r + 1;
}

static void
lex_string(nf_lexer *lx, nf_token *t)
{
	const char *q = lx->p + 1;

	t->kind = NF_TK_STRING;
	for (;;) {
		unsigned char c;

		while (q < lx->end && (cclass[(unsigned char)*q] & CC_PLAIN))
			q++;
		if (q >= lx->end || *q == '\n' || (*q == '\r' && q + 1 < lx->end && q[1] == '\n')) {
			nf_diag_error(lx->diags, loc_at(lx, lx->p), "unterminated string");
			t->unterminated = true;
			break;
		}
		c = (unsigned char)*q;
		if (c == '"') {
			q++;
			break;
		}
		if (c == '\\') {
			if (q + 1 >= lx->end || q[1] == '\n') {
				q++;
				continue;
			}
			if (strchr("\"\\ntr$", q[1])) {
				q += 2;
				continue;
			}
			if ((unsigned char)q[1] >= 0x20 && (unsigned char)q[1] < 0x7f)
				nf_diag_error(lx->diags, loc_at(lx, q),
					      "unknown escape '\\%c' in string (known: \\\" \\\\ \\n \\t \\r \\$)", q[1]);
			else
				nf_diag_error(lx->diags, loc_at(lx, q),
					      "unknown escape in string: '\\' before byte 0x%02x", (unsigned char)q[1]);
			q++;   /* the next byte is looked at on its own */
			continue;
		}
		if (c == '$' && q + 2 < lx->end && q[1] == '$' && q[2] == '{') {
			q += 3;
			continue;
		}
		if (c == '$' && q + 1 < lx->end && q[1] == '{') {
			q = lex_ref(lx, q);
			continue;
		}
		if (c < 0x20 && c != '\t') {
			nf_diag_error(lx->diags, loc_at(lx, q),
				      "control character 0x%02x in string; write \\n, \\t or \\r", c);
			q++;
			continue;
		}
		if (c >= 0x80) {
			q += check_utf8(lx, q);
			continue;
		}
		q++;
	}
	t->len = (size_t)(q - lx->p);
	lx->p = q;
}

void
nf_lex_next(nf_lexer *lx, nf_token *t)
{
	const char *p;

again:
	p = lx->p;
	while (p < lx->end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	lx->p = p;
	memset(t, 0, sizeof(*t));
	t->text = p;
	t->line = lx->line;
	t->col = (int)(p - lx->line_start) + 1;
	if (p >= lx->end || lx->diags->full) {
		/* Past the error limit the rest of the file is not worth reading. */
		t->kind = NF_TK_EOF;
		return;
	}
	switch (*p) {
	case '\n':
		t->kind = NF_TK_NEWLINE;
		t->len = 1;
		lx->p = p + 1;
		lx->line++;
		lx->line_start = lx->p;
		return;
	case '#': {
		const char *q = p + 1;

		while (q < lx->end && *q != '\n') {
			if ((unsigned char)*q >= 0x80)
				q += check_utf8(lx, q);
			else
				q++;
		}
		lx->p = q;
		if (!lx->comments)
			goto again;
		t->kind = NF_TK_COMMENT;
		t->len = (size_t)(q - p);
		return;
	}
	case '{': t->kind = NF_TK_LBRACE; break;
	case '}': t->kind = NF_TK_RBRACE; break;
	case '[': t->kind = NF_TK_LBRACKET; break;
	case ']': t->kind = NF_TK_RBRACKET; break;
	case '=': t->kind = NF_TK_EQUALS; break;
	case ',': t->kind = NF_TK_COMMA; break;
	case '"':
		lex_string(lx, t);
		return;
	default:
		if (is_digit(*p) || (*p == '-' && p + 1 < lx->end && is_digit(p[1]))) {
			lex_number(lx, t);
			return;
		}
		if (is_ident_start(*p)) {
			const char *q = p + 1;

			while (q < lx->end && is_ident_char(*q))
				q++;
			t->kind = NF_TK_IDENT;
			t->len = (size_t)(q - p);
			lx->p = q;
			return;
		}
		t->kind = NF_TK_ERROR;
		if ((unsigned char)*p >= 0x80) {
			size_t n = nf_utf8_seq_len(p, lx->end);

			if (n == 0) {
				nf_diag_error(lx->diags, loc_at(lx, p), "invalid UTF-8 byte 0x%02x", (unsigned char)*p);
				t->reported = true;
				n = 1;
			}
			t->len = n;
		} else {
			t->len = 1;
		}
		lx->p = p + t->len;
		return;
	}
	t->len = 1;
	lx->p = p + 1;
}

const char *
nf_lex_string_body(const nf_token *t, size_t *len)
{
	size_t n = t->len - 1;

	if (!t->unterminated && n > 0)
		n--;
	*len = n;
	return t->text + 1;
}

/* Walks a string body, producing segments. With segs NULL it only counts segments and
 * text bytes (so one exact arena allocation can follow). Lenient: whatever the lexer
 * reported decodes to something. */
static void
decode(const nf_token *t, const char *path, nf_seg *segs, char *text, size_t *nsegs, size_t *ntext)
{
	size_t blen, ns = 0, nt = 0;
	const char *b = nf_lex_string_body(t, &blen);
	bool in_lit = false;

#define PUT(c) do { if (text) text[nt] = (c); nt++; } while (0)
#define END_LIT() do { if (in_lit) { PUT('\0'); in_lit = false; } } while (0)
#define START_LIT(i) do { \
		if (!in_lit) { \
			if (segs) { \
				segs[ns].text = text + nt; \
				segs[ns].is_ref = false; \
				segs[ns].loc = nf_loc_at(path, t->line, t->col + 1 + (int)(i)); \
			} \
			ns++; \
			in_lit = true; \
		} \
	} while (0)

	for (size_t i = 0; i < blen;) {
		char c = b[i];

		if (c == '\\' && i + 1 < blen) {
			char e = b[i + 1], d;

			switch (e) {
			case 'n': d = '\n'; break;
			case 't': d = '\t'; break;
			case 'r': d = '\r'; break;
			case '"': case '\\': case '$': d = e; break;
			default: d = 0; break;
			}
			START_LIT(i);
			if (d) {
				PUT(d);
				i += 2;
			} else {
				i++;   /* an unknown escape (reported): the backslash is dropped */
			}
			continue;
		}
		if (c == '$' && i + 2 < blen && b[i + 1] == '$' && b[i + 2] == '{') {
			START_LIT(i);
			PUT('$');
			PUT('{');
			i += 3;
			continue;
		}
		if (c == '$' && i + 1 < blen && b[i + 1] == '{') {
			const char *close = memchr(b + i + 2, '}', blen - i - 2);

			/* A malformed reference (reported by the lexer) stays literal text. */
			if (close && ref_ok(b + i + 2, (size_t)(close - (b + i + 2)))) {
				size_t n = (size_t)(close - (b + i + 2));

				END_LIT();
				if (segs) {
					segs[ns].text = text + nt;
					segs[ns].is_ref = true;
					segs[ns].loc = nf_loc_at(path, t->line, t->col + 1 + (int)i);
				}
				ns++;
				for (size_t k = 0; k < n; k++)
					PUT(b[i + 2 + k]);
				PUT('\0');
				i += n + 3;
				continue;
			}
		}
		START_LIT(i);
		PUT(c);
		i++;
	}
	END_LIT();
#undef PUT
#undef END_LIT
#undef START_LIT
	*nsegs = ns;
	*ntext = nt;
}

void
nf_lex_string_decode(nf_tmpl *out, nf_arena *a, const nf_token *t, const char *path)
{
	size_t blen, ns, nt;
	const char *b = nf_lex_string_body(t, &blen);

	out->loc = nf_loc_at(path, t->line, t->col);
	if (blen == 0) {
		out->segs = NULL;
		out->nsegs = 0;
		return;
	}
	if (!memchr(b, '\\', blen) && !memchr(b, '$', blen)) {
		/* The common case: one literal, copied as it stands. */
		out->segs = nf_arena_alloc(a, sizeof(nf_seg));
		out->segs[0].text = nf_arena_strndup(a, b, blen);
		out->segs[0].is_ref = false;
		out->segs[0].loc = nf_loc_at(path, t->line, t->col + 1);
		out->nsegs = 1;
		return;
	}
	decode(t, path, NULL, NULL, &ns, &nt);
	out->segs = nf_arena_alloc(a, ns * sizeof(nf_seg));
	decode(t, path, out->segs, nf_arena_alloc(a, nt ? nt : 1), &ns, &nt);
	out->nsegs = ns;
}

int
nf_lex_string_col(const nf_token *t, size_t off)
{
	size_t blen, i = 0, decoded = 0;
	const char *b = nf_lex_string_body(t, &blen);

	while (i < blen && decoded < off) {
		if (b[i] == '\\' && i + 1 < blen && strchr("\"\\ntr$", b[i + 1]))
			i += 2;
		else if (b[i] == '$' && i + 2 < blen && b[i + 1] == '$' && b[i + 2] == '{') {
			i += 3;
			decoded++;   /* "$${" is two decoded bytes: "${" */
		} else
			i++;
		decoded++;
	}
	return t->col + 1 + (int)i;
}

void
nf_lex_quote(nf_buf *out, const nf_tmpl *t)
{
	nf_buf_putc(out, '"');
	for (size_t i = 0; i < t->nsegs; i++) {
		const nf_seg *s = &t->segs[i];
		bool ref_next = i + 1 < t->nsegs && t->segs[i + 1].is_ref;

		if (s->is_ref) {
			nf_buf_puts(out, "${");
			nf_buf_puts(out, s->text);
			nf_buf_putc(out, '}');
			continue;
		}
		for (const char *p = s->text; *p; p++) {
			switch (*p) {
			case '"': nf_buf_puts(out, "\\\""); break;
			case '\\': nf_buf_puts(out, "\\\\"); break;
			case '\n': nf_buf_puts(out, "\\n"); break;
			case '\t': nf_buf_puts(out, "\\t"); break;
			case '\r': nf_buf_puts(out, "\\r"); break;
			case '$':
				/* "${" must not start a reference; nor may a '$' just before one. */
				if (p[1] == '{')
					nf_buf_puts(out, "$$");
				else if (!p[1] && ref_next)
					nf_buf_puts(out, "\\$");
				else
					nf_buf_putc(out, '$');
				break;
			default:
				nf_buf_putc(out, *p);
				break;
			}
		}
	}
	nf_buf_putc(out, '"');
}

void
nf_lex_describe(char *out, size_t size, const nf_token *t)
{
	switch (t->kind) {
	case NF_TK_EOF: snprintf(out, size, "the end of the file"); break;
	case NF_TK_NEWLINE: snprintf(out, size, "the end of the line"); break;
	case NF_TK_COMMENT: snprintf(out, size, "a comment"); break;
	case NF_TK_STRING: snprintf(out, size, "a string"); break;
	case NF_TK_NUMBER: snprintf(out, size, "a number"); break;
	case NF_TK_IDENT:
		snprintf(out, size, "'%.*s%s'", t->len > 40 ? 40 : (int)t->len, t->text, t->len > 40 ? "..." : "");
		break;
	default:
		if ((unsigned char)t->text[0] < 0x20 || t->text[0] == 0x7f)
			snprintf(out, size, "byte 0x%02x", (unsigned char)t->text[0]);
		else
			snprintf(out, size, "'%.*s'", (int)t->len, t->text);
		break;
	}
}
