/* parse.c: a cron expression to the sets of minutes, hours, days, months and weekdays it
 * allows, with Vixie cron's syntax: numbers, *, ranges, steps of * and of ranges, lists,
 * month and weekday names, the @ macros. Every error names the field and its byte offset. */
#include "config.h"
#include "ntflow/cron.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ntflow/util.h"

static const char *const field_names[NF_CRON_NFIELDS] = {
	"minute", "hour", "day-of-month", "month", "day-of-week",
};
static const int field_min[NF_CRON_NFIELDS] = { 0, 0, 1, 1, 0 };
static const int field_max[NF_CRON_NFIELDS] = { 59, 23, 31, 12, 7 };
static const char *const field_range[NF_CRON_NFIELDS] = {
	"expected 0 to 59", "expected 0 to 23", "expected 1 to 31", "expected 1 to 12 or JAN to DEC",
	"expected 0 to 7 (0 and 7 are Sunday) or SUN to SAT",
};
static const char *const field_step[NF_CRON_NFIELDS] = {
	"expected 1 to 59", "expected 1 to 23", "expected 1 to 31", "expected 1 to 12", "expected 1 to 7",
};

static const char *const months[] = { "JAN", "FEB", "MAR", "APR", "MAY", "JUN",
				      "JUL", "AUG", "SEP", "OCT", "NOV", "DEC" };
static const char *const days[] = { "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT" };

static const char *const macros[] = { "@hourly", "@daily", "@weekly", "@monthly", "@yearly" };
static const char *const macro_exprs[] = { "0 * * * *", "0 0 * * *", "0 0 * * 0", "0 0 1 * *", "0 0 1 1 *" };

/* Days in each month at most (February: 29, in leap years). */
static const int month_max_days[13] = { 0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

typedef struct parser {
	const char *s;        /* the whole expression, for messages */
	nf_cron_error *err;
} parser;

const char *
nf_cron_field_name(int field)
{
	return field >= 0 && field < NF_CRON_NFIELDS ? field_names[field] : "schedule";
}

/* Sets the message, "WHAT in schedule field N (NAME); HINT" (the field when field >= 0, the
 * hint when not NULL), and *err. */
NF_PRINTF(5, 6) static int
fail(parser *p, int field, size_t off, const char *hint, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->err) {
		p->err->field = field;
		p->err->offset = off == (size_t)-1 ? -1 : (int)off;
	}
	if (field < 0)
		return nf_error_set(NF_EINVALID, "%s", msg);
	return nf_error_set(NF_EINVALID, "%s in schedule field %d (%s)%s%s", msg, field + 1, field_names[field],
			    hint ? "; " : "", hint ? hint : "");
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t';
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
bad_char(parser *p, int field, size_t i)
{
	unsigned char c = (unsigned char)p->s[i];

	if (c >= 0x20 && c < 0x7f)
		return fail(p, field, i, NULL, "invalid character '%c'", c);
	return fail(p, field, i, NULL, "invalid byte 0x%02x", c);
}

/* A number or (month, day-of-week) a name at s[*i]; *i moves past it. */
static int
parse_value(parser *p, int field, size_t *i, size_t end, int *out)
{
	const char *s = p->s;
	size_t w = *i;

	if (w < end && s[w] >= '0' && s[w] <= '9') {
		long v = 0;

		while (*i < end && s[*i] >= '0' && s[*i] <= '9') {
			if (v < 100000)
				v = v * 10 + (s[*i] - '0');
			(*i)++;
		}
		if (v < field_min[field] || v > field_max[field])
			return fail(p, field, w, field_range[field], "value %.*s out of range",
				    (int)(*i - w > 20 ? 20 : *i - w), s + w);
		*out = (int)v;
		return 0;
	}
	if (w < end && is_alpha(s[w])) {
		while (*i < end && is_alpha(s[*i]))
			(*i)++;
		if (*i - w == 3 && field == NF_CRON_MONTH)
			for (int k = 0; k < 12; k++)
				if (strncasecmp(s + w, months[k], 3) == 0)
					return *out = k + 1, 0;
		if (*i - w == 3 && field == NF_CRON_DOW)
			for (int k = 0; k < 7; k++)
				if (strncasecmp(s + w, days[k], 3) == 0)
					return *out = k, 0;
		if (field == NF_CRON_MONTH || field == NF_CRON_DOW)
			return fail(p, field, w, field == NF_CRON_MONTH ? "expected JAN to DEC" : "expected SUN to SAT",
				    "invalid name '%.*s'", (int)(*i - w > 20 ? 20 : *i - w), s + w);
		return bad_char(p, field, w);
	}
	if (w >= end || s[w] == ',')
		return fail(p, field, w, NULL, "missing value");
	return bad_char(p, field, w);
}

/* One field, s[start, end): a list of items, each * or a value or a range, with a step. */
static int
parse_field(parser *p, int field, size_t start, size_t end, uint64_t *bits)
{
	const char *s = p->s;
	size_t i = start;
	int err;

	*bits = 0;
	for (;;) {
		size_t item = i;
		int lo, hi, step = 1;
		bool range;

		if (i < end && s[i] == '*') {
			lo = field_min[field];
			hi = field == NF_CRON_DOW ? 6 : field_max[field];
			range = true;
			i++;
		} else {
			if ((err = parse_value(p, field, &i, end, &lo)) < 0)
				return err;
			hi = lo;
			range = i < end && s[i] == '-';
			if (range) {
				i++;
				if ((err = parse_value(p, field, &i, end, &hi)) < 0)
					return err;
				if (hi < lo)
					return fail(p, field, item, NULL, "range %.*s runs backwards", (int)(i - item), s + item);
			}
		}
		if (i < end && s[i] == '/') {
			size_t at = ++i;
			long v = 0;

			if (!range)
				return fail(p, field, at - 1, "a step follows * or a range (*/N, A-B/N)",
					    "step after the single value %.*s", (int)(at - 1 - item), s + item);
			if (i >= end || s[i] < '0' || s[i] > '9')
				return i < end ? bad_char(p, field, i) : fail(p, field, i, NULL, "missing step");
			while (i < end && s[i] >= '0' && s[i] <= '9') {
				if (v < 100000)
					v = v * 10 + (s[i] - '0');
				i++;
			}
			if (v < 1 || v > field_max[field])
				return fail(p, field, at, field_step[field], "step %.*s out of range",
					    (int)(i - at > 20 ? 20 : i - at), s + at);
			step = (int)v;
		}
		for (int v = lo; v <= hi; v += step)
			*bits |= (uint64_t)1 << (field == NF_CRON_DOW && v == 7 ? 0 : v);
		if (i == end)
			return 0;
		if (s[i] != ',')
			return bad_char(p, field, i);
		i++;
		if (i == end || s[i] == ',')
			return fail(p, field, i, NULL, "missing value");
	}
}

/* Fails when the schedule can never fire: with a day-of-month that no allowed month has
 * (30 FEB) and a day-of-week that does not widen it (the OR rule). */
static int
check_reachable(parser *p, const nf_cron *c, size_t dom_at)
{
	int first = 0;

	if (c->dom_star || !c->dow_star)
		return 0;
	for (int m = 1; m <= 12; m++)
		if (c->month >> m & 1)
			for (int d = 1; d <= month_max_days[m]; d++)
				if (c->dom >> d & 1)
					return 0;
	while (!(c->dom >> first & 1))
		first++;
	return fail(p, NF_CRON_DOM, dom_at, "the schedule would never fire",
		    "day %d does not occur in the months allowed", first);
}

int
nf_cron_parse(nf_cron *out, const char *expr, nf_cron_error *err)
{
	parser p = { expr, err };
	size_t n = strlen(expr), i = 0, start[NF_CRON_NFIELDS], end[NF_CRON_NFIELDS];
	uint64_t bits[NF_CRON_NFIELDS];
	int nfields = 0, rc;

	memset(out, 0, sizeof(*out));
	while (i < n && is_space(expr[i]))
		i++;
	if (expr[i] == '@') {
		size_t w = i, len;
		const char *near;
		char word[32];

		while (i < n && !is_space(expr[i]))
			i++;
		len = i - w;
		while (i < n && is_space(expr[i]))
			i++;
		for (size_t k = 0; k < NF_ARRAY_SIZE(macros) && i == n; k++)
			if (strlen(macros[k]) == len && strncmp(expr + w, macros[k], len) == 0)
				return nf_cron_parse(out, macro_exprs[k], err);
		snprintf(word, sizeof(word), "%.*s", (int)(len < sizeof(word) ? len : sizeof(word) - 1), expr + w);
		near = i == n ? nf_suggest(word, macros, NF_ARRAY_SIZE(macros)) : NULL;
		if (near)
			return fail(&p, -1, (size_t)-1, NULL, "unknown schedule \"%s\"; did you mean \"%s\"?", expr, near);
		return fail(&p, -1, (size_t)-1, NULL, "unknown schedule \"%s\": expected @hourly, @daily, @weekly, @monthly or @yearly",
			    expr);
	}
	for (;;) {
		while (i < n && is_space(expr[i]))
			i++;
		if (i == n)
			break;
		if (nfields == NF_CRON_NFIELDS)
			return fail(&p, -1, i, NULL,
				    "invalid schedule \"%s\": expected 5 fields (minute hour day-of-month month day-of-week), found more",
				    expr);
		start[nfields] = i;
		while (i < n && !is_space(expr[i]))
			i++;
		end[nfields] = i;
		if ((rc = parse_field(&p, nfields, start[nfields], end[nfields], &bits[nfields])) < 0)
			return rc;
		nfields++;
	}
	if (nfields != NF_CRON_NFIELDS)
		return fail(&p, -1, (size_t)-1, NULL,
			    "invalid schedule \"%s\": expected 5 fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly; found %d",
			    expr, nfields);
	out->minute = bits[NF_CRON_MINUTE];
	out->hour = (uint32_t)bits[NF_CRON_HOUR];
	out->dom = (uint32_t)bits[NF_CRON_DOM];
	out->month = (uint16_t)bits[NF_CRON_MONTH];
	out->dow = (uint8_t)bits[NF_CRON_DOW];
	out->dom_star = expr[start[NF_CRON_DOM]] == '*';
	out->dow_star = expr[start[NF_CRON_DOW]] == '*';
	return check_reachable(&p, out, start[NF_CRON_DOM]);
}
