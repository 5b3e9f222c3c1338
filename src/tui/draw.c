/* draw.c: the dashboard's drawing helpers: colours with a monochrome fallback, state
 * symbols with an ASCII fallback, clipped UTF-8 text, durations, sparklines and the bars of
 * the timeline. */
#include "config.h"
#include "tui-internal.h"

#include <langinfo.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool use_color;
static bool use_utf8;

void
nf_draw_init(bool force_mono, bool force_ascii)
{
	const char *no_color = getenv("NO_COLOR");
	const char *cs = nl_langinfo(CODESET);

	use_utf8 = !force_ascii && cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
	use_color = !force_mono && !(no_color && *no_color) && has_colors();
	if (!use_color)
		return;
	start_color();
	use_default_colors();
	init_pair(NF_C_OK, COLOR_GREEN, -1);
	init_pair(NF_C_RUN, COLOR_YELLOW, -1);
	init_pair(NF_C_FAIL, COLOR_RED, -1);
	init_pair(NF_C_CACHED, COLOR_CYAN, -1);
	init_pair(NF_C_DIM, -1, -1);
	init_pair(NF_C_GATE, COLOR_MAGENTA, -1);
	init_pair(NF_C_TITLE, -1, -1);   /* titles stand out by weight, on any background */
	init_pair(NF_C_HIGH, COLOR_RED, -1);
	init_pair(NF_C_MEDIUM, COLOR_YELLOW, -1);
	init_pair(NF_C_LOW, COLOR_CYAN, -1);
	init_pair(NF_C_BAR, COLOR_BLUE, -1);
}

bool
nf_draw_utf8(void)
{
	return use_utf8;
}

attr_t
nf_draw_attr(int role)
{
	if (use_color) {
		switch (role) {
		case NF_C_DIM: return A_DIM;
		case NF_C_HIGH:
		case NF_C_FAIL: return COLOR_PAIR(role) | A_BOLD;
		case NF_C_TITLE: return COLOR_PAIR(role) | A_BOLD;
		default: return COLOR_PAIR(role);
		}
	}
	/* Without colours: failures stand out, quiet things step back. */
	switch (role) {
	case NF_C_FAIL:
	case NF_C_HIGH: return A_BOLD;
	case NF_C_RUN:
	case NF_C_MEDIUM: return A_UNDERLINE;
	case NF_C_DIM: return A_DIM;
	case NF_C_TITLE: return A_BOLD;
	default: return A_NORMAL;
	}
}

attr_t
nf_draw_state_attr(nf_state s)
{
	switch (s) {
	case NF_ST_SUCCEEDED: return nf_draw_attr(NF_C_OK);
	case NF_ST_CACHED: return nf_draw_attr(NF_C_CACHED);
	case NF_ST_RUNNING:
	case NF_ST_RETRYING: return nf_draw_attr(NF_C_RUN);
	case NF_ST_FAILED:
	case NF_ST_TIMED_OUT: return nf_draw_attr(NF_C_FAIL);
	case NF_ST_REJECTED: return nf_draw_attr(NF_C_GATE) | A_BOLD;
	case NF_ST_WAITING:
	case NF_ST_SKIPPED:
	case NF_ST_CANCELLED: return nf_draw_attr(NF_C_DIM);
	default: return A_NORMAL;
	}
}

const char *
nf_draw_sym(const char *utf8, const char *ascii)
{
	return use_utf8 ? utf8 : ascii;
}

const char *
nf_draw_state_symbol(nf_state s)
{
	static const char *const u[NF_ST__COUNT] = {
		"\xc2\xb7", "\xe2\x97\x8b", "\xe2\x97\x8f", "\xe2\x86\xbb", "\xe2\x9c\x93", "\xe2\x89\xa1",
		"\xe2\x9c\x97", "\xe2\x9c\x97", "\xe2\x80\x93", "\xe2\x8a\x98", "\xe2\x9c\x97",
	};   /* · ○ ● ↻ ✓ ≡ ✗ ✗ – ⊘ ✗ */
	static const char *const a[NF_ST__COUNT] = {
		".", "o", "*", "~", "+", "=", "x", "T", "-", "/", "!",
	};

	if ((int)s < 0 || s >= NF_ST__COUNT)
		return "?";
	return use_utf8 ? u[s] : a[s];
}

int
nf_draw_width(const char *s)
{
	int n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

int
nf_draw_text(WINDOW *w, int y, int x, int width, const char *s)
{
	const char *p = s;
	int cols = 0;

	if (width <= 0)
		return 0;
	/* Find the byte length of the first width code points; control bytes become spaces. */
	while (*p && cols < width) {
		const char *start = p;

		p++;
		while (((unsigned char)*p & 0xc0) == 0x80)
			p++;
		if ((unsigned char)*start < 0x20 || *start == 0x7f) {
			mvwaddnstr(w, y, x + cols, " ", 1);
		} else if (!use_utf8 && (unsigned char)*start >= 0x80) {
			mvwaddnstr(w, y, x + cols, "?", 1);
		} else {
			mvwaddnstr(w, y, x + cols, start, (int)(p - start));
		}
		cols++;
	}
	return cols;
}

int
nf_draw_printf(WINDOW *w, int y, int x, int width, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return nf_draw_text(w, y, x, width, buf);
}

/* bytes of the first n code points of s */
static size_t
prefix_bytes(const char *s, int n)
{
	const char *p = s;

	while (*p && n-- > 0) {
		p++;
		while (((unsigned char)*p & 0xc0) == 0x80)
			p++;
	}
	return (size_t)(p - s);
}

/* "[a=1,b=2,c=3]" shortened to width by whole values: "[a=1,…]"; NULL when not even "[…]" fits. */
static char *
fit_bracket(const char *br, int width, const char *ell)
{
	nf_buf b = NF_BUF_INIT;
	const char *p = br + 1;

	if (width < 3)
		return NULL;
	nf_buf_putc(&b, '[');
	for (;;) {
		const char *comma = strchr(p, ','), *end = comma ? comma : strchr(p, ']');
		int have = nf_draw_width(nf_buf_cstr(&b));

		if (!end || have + (int)(end - p) + 1 + 2 > width)   /* the value, its comma, "…]" */
			break;
		nf_buf_add(&b, p, (size_t)(end - p));
		nf_buf_putc(&b, ',');
		p = end + 1;
	}
	nf_buf_printf(&b, "%s]", ell);
	return nf_buf_detach(&b);
}

void
nf_draw_fit(char *out, size_t size, const char *s, int width)
{
	const char *ell = nf_draw_sym("\xe2\x80\xa6", "~");
	const char *br = strchr(s, '[');
	int stage = br ? (int)(br - s) : 0;
	char *inner;

	if (width <= 0 || size == 0) {
		if (size)
			out[0] = '\0';
		return;
	}
	if (nf_draw_width(s) <= width) {
		snprintf(out, size, "%s", s);
		return;
	}
	if (!br || (stage > 0 && stage + 1 >= width)) {
		/* plain, or not even the stage's name fits: the name cut, the bracket left out */
		snprintf(out, size, "%.*s%s", (int)prefix_bytes(s, br && stage < width - 1 ? stage : width - 1), s, ell);
		return;
	}
	/* An instance: its stage's name cut to leave the whole bracket, else the bracket cut
	 * between values, its closing ']' kept. */
	if (nf_draw_width(br) <= width - 2 && stage > 0) {
		snprintf(out, size, "%.*s%s%s", (int)prefix_bytes(s, width - 1 - nf_draw_width(br)), s, ell, br);
		return;
	}
	inner = fit_bracket(br, width - stage, ell);
	if (inner)
		snprintf(out, size, "%.*s%s", stage, s, inner);
	else
		snprintf(out, size, "%.*s%s", (int)prefix_bytes(s, width - 1), s, ell);
	free(inner);
}

int
nf_draw_text_cut(WINDOW *w, int y, int x, int width, const char *s)
{
	if (width > 1 && nf_draw_width(s) > width) {
		char *cut = xasprintf("%.*s%s", (int)prefix_bytes(s, width - 1), s, nf_draw_sym("\xe2\x80\xa6", "~"));
		int n = nf_draw_text(w, y, x, width, cut);

		free(cut);
		return n;
	}
	return nf_draw_text(w, y, x, width, s);
}

void
nf_draw_position(WINDOW *w, int width, size_t sel, size_t n, int body, bool focused)
{
	char buf[48];
	int len;

	if (n == 0 || body <= 0 || n <= (size_t)body)
		return;
	len = snprintf(buf, sizeof(buf), " [%zu/%zu] ", sel + 1, n);
	if (len + 8 > width)
		return;
	wattrset(w, focused ? A_REVERSE | A_BOLD : nf_draw_attr(NF_C_TITLE));
	nf_draw_text(w, 0, width - len - 2, len, buf);
	wattrset(w, A_NORMAL);
}

void
nf_draw_title(WINDOW *w, int y, int width, const char *title, bool focused)
{
	const char *rule = nf_draw_sym("\xe2\x94\x80", "-");
	int x = 0, used;

	wattrset(w, nf_draw_attr(NF_C_DIM));
	for (int i = 0; i < width; i++)
		mvwaddstr(w, y, i, rule);
	wattrset(w, focused ? A_REVERSE | A_BOLD : nf_draw_attr(NF_C_TITLE));
	if (width > 4) {
		x = 2;
		mvwaddstr(w, y, x, " ");
		used = nf_draw_text(w, y, x + 1, width - 5, title);
		mvwaddstr(w, y, x + 1 + used, " ");
	}
	wattrset(w, A_NORMAL);
}

void
nf_draw_duration(char *out, size_t size, int64_t ms)
{
	if (ms < 0) {
		snprintf(out, size, "-");
		return;
	}
	nf_format_duration(out, size, ms);
}

void
nf_draw_age(char *out, size_t size, int64_t ms)
{
	int64_t s = ms / 1000;

	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(out, size, "%llds ago", (long long)s);
	else if (s < 3600)
		snprintf(out, size, "%lldm ago", (long long)(s / 60));
	else if (s < 86400)
		snprintf(out, size, "%lldh ago", (long long)(s / 3600));
	else
		snprintf(out, size, "%lldd ago", (long long)(s / 86400));
}

void
nf_draw_sparkline(char *out, size_t size, const double *values, size_t n, size_t width)
{
	static const char *const blocks[8] = {
		"\xe2\x96\x81", "\xe2\x96\x82", "\xe2\x96\x83", "\xe2\x96\x84",
		"\xe2\x96\x85", "\xe2\x96\x86", "\xe2\x96\x87", "\xe2\x96\x88",
	};
	static const char ascii[] = "_.-:=+*#";
	size_t start = n > width ? n - width : 0, len = 0;
	double lo = 0, hi = 0;

	if (size)
		out[0] = '\0';
	for (size_t i = start; i < n; i++) {
		if (i == start || values[i] < lo)
			lo = values[i];
		if (i == start || values[i] > hi)
			hi = values[i];
	}
	/* The floor is zero for non-negative series, so a flat low series looks low. */
	if (lo > 0)
		lo = 0;
	for (size_t i = start; i < n; i++) {
		int k = hi > lo ? (int)((values[i] - lo) / (hi - lo) * 7.0 + 0.5) : 0;
		const char *b;
		char a[2] = { 0, 0 };

		k = k < 0 ? 0 : k > 7 ? 7 : k;
		if (use_utf8) {
			b = blocks[k];
		} else {
			a[0] = ascii[k];
			b = a;
		}
		if (len + strlen(b) + 1 > size)
			break;
		memcpy(out + len, b, strlen(b));
		len += strlen(b);
		out[len] = '\0';
	}
}

void
nf_draw_bar(WINDOW *w, int y, int x, int width, int64_t t0, int64_t t1, int64_t from,
	    int64_t to, attr_t attr)
{
	static const char *const eighths[8] = {
		"", "\xe2\x96\x8f", "\xe2\x96\x8e", "\xe2\x96\x8d",
		"\xe2\x96\x8c", "\xe2\x96\x8b", "\xe2\x96\x8a", "\xe2\x96\x89",
	};
	double span = (double)(t1 - t0), a, b;
	int ca, cb;

	if (width <= 0 || span <= 0 || from <= 0 || to < from)
		return;
	a = (double)(from - t0) / span * width;
	b = (double)(to - t0) / span * width;
	if (a < 0)
		a = 0;
	if (b > width)
		b = width;
	ca = (int)a;
	cb = (int)b;
	wattrset(w, attr);
	if (ca >= width)
		ca = width - 1;
	/* At least one mark, so a short stage is still seen on a long axis. */
	if (cb <= ca) {
		mvwaddstr(w, y, x + ca, use_utf8 ? eighths[4] : "|");
		wattrset(w, A_NORMAL);
		return;
	}
	for (int c = ca; c < cb; c++)
		mvwaddstr(w, y, x + c, use_utf8 ? "\xe2\x96\x88" : "#");
	if (cb < width) {
		int e = (int)((b - cb) * 8);

		if (e > 0)
			mvwaddstr(w, y, x + cb, use_utf8 ? eighths[e] : "#");
	}
	wattrset(w, A_NORMAL);
}
