/* format.c: a parsed expression written back as five numeric fields, the form every cron
 * reads alike (no names, no @ macros), with the '*' of a day field kept where it decides
 * Vixie's day-of-month/day-of-week OR rule. `ntflow schedule --crontab` prints it. */
#include "config.h"
#include "ntflow/cron.h"

#include "ntflow/util.h"

/* The values of each field as nf_cron_parse sets them (day-of-week without its 7). */
static const int field_lo[NF_CRON_NFIELDS] = { 0, 0, 1, 1, 0 };
static const int field_hi[NF_CRON_NFIELDS] = { 59, 23, 31, 12, 6 };

/* The set bits from `from` to hi as values and ranges ("1-5,7,9"), each after a comma
 * but for the first when !sep. */
static void
put_list(nf_buf *out, uint64_t bits, int from, int hi, bool sep)
{
	for (int v = from; v <= hi; v++) {
		int end = v;

		if (!(bits >> v & 1))
			continue;
		while (end < hi && (bits >> (end + 1) & 1))
			end++;
		if (sep)
			nf_buf_putc(out, ',');
		if (end == v)
			nf_buf_printf(out, "%d", v);
		else
			nf_buf_printf(out, end == v + 1 ? "%d,%d" : "%d-%d", v, end);
		sep = true;
		v = end;
	}
}

/* The step s > 1 when bits are exactly lo, lo+s, lo+2s... up to hi (what "* /s" gives),
 * else 0. */
static int
star_step(uint64_t bits, int lo, int hi)
{
	for (int s = 2; s <= hi - lo; s++) {
		uint64_t want = 0;

		for (int v = lo; v <= hi; v += s)
			want |= (uint64_t)1 << v;
		if (want == bits)
			return s;
	}
	return 0;
}

/* One field. star: it must start with '*' (a day field whose '*' the OR rule reads);
 * keep_bare: it must not (the other day field restricted as written). */
static void
put_field(nf_buf *out, int field, uint64_t bits, bool star, bool keep_bare)
{
	int lo = field_lo[field], hi = field_hi[field], step;
	uint64_t all = 0;

	for (int v = lo; v <= hi; v++)
		all |= (uint64_t)1 << v;
	bits &= all;
	if (keep_bare) {
		put_list(out, bits, lo, hi, false);
		return;
	}
	if (bits == all) {
		nf_buf_putc(out, '*');
		return;
	}
	if ((step = star_step(bits, lo, hi))) {
		nf_buf_printf(out, "*/%d", step);
		return;
	}
	if (!star) {
		put_list(out, bits, lo, hi, false);
		return;
	}
	/* A '*' field always holds its first value (the '*' item starts there): "* /N" with N
	 * past the field's end gives that value alone, the list the rest. */
	nf_buf_printf(out, "*/%d", hi - lo + 1);
	put_list(out, bits, lo + 1, hi, true);
}

void
nf_cron_format(nf_buf *out, const nf_cron *c)
{
	put_field(out, NF_CRON_MINUTE, c->minute, false, false);
	nf_buf_putc(out, ' ');
	put_field(out, NF_CRON_HOUR, c->hour, false, false);
	nf_buf_putc(out, ' ');
	put_field(out, NF_CRON_DOM, c->dom, c->dom_star, !c->dom_star);
	nf_buf_putc(out, ' ');
	put_field(out, NF_CRON_MONTH, c->month, false, false);
	nf_buf_putc(out, ' ');
	put_field(out, NF_CRON_DOW, c->dow, c->dow_star, !c->dow_star);
}
