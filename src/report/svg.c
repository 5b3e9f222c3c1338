/* svg.c: charts as inline SVG: a linear scale with "nice" ticks (1, 2 or 5 times a power of
 * ten, as people label axes), then lines, points or bars of one or more series with axes,
 * gridlines, threshold lines and a legend. Colours come from the page's CSS classes (s0..s7),
 * so the SVG holds geometry only; every label is escaped. */
#include "config.h"
#include "ntflow/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W_DEFAULT 520.0
#define H_PLOT 300.0
#define ROTATED_EXTRA 70.0   /* room for bar labels drawn slanted */
#define ML 64.0      /* room for the y ticks and label */
#define MR 16.0
#define MT 30.0      /* the title */
#define MB 46.0      /* the x ticks and label */
#define LEGEND_ROW 18.0
#define NCOLOURS 8
#define MAX_TICKS 16

double
nf_scale_map(const nf_scale *s, double v)
{
	if (!(s->d1 > s->d0) && !(s->d1 < s->d0))
		return (s->r0 + s->r1) / 2;
	return s->r0 + (v - s->d0) / (s->d1 - s->d0) * (s->r1 - s->r0);
}

size_t
nf_scale_nice(double *lo, double *hi, size_t want, double *ticks, size_t max)
{
	double span, raw, mag, step, first, last, m;
	size_t n = 0;
	int e;

	if (!isfinite(*lo) || !isfinite(*hi)) {
		*lo = 0;
		*hi = 1;
	}
	if (*lo > *hi) {
		double t = *lo;

		*lo = *hi;
		*hi = t;
	}
	if (*hi == *lo) {
		double d = *lo == 0 ? 1 : fabs(*lo) * 0.1;

		*lo -= d;
		*hi += d;
	}
	if (want < 2)
		want = 2;
	span = *hi - *lo;
	raw = span / (double)(want - 1);
	e = (int)floor(log10(raw));
	mag = pow(10, e);
	m = raw / mag < 1.5 ? 1 : raw / mag < 3 ? 2 : raw / mag < 7 ? 5 : 10;
	step = m * mag;
	first = floor(*lo / step);
	last = ceil(*hi / step);
	/* Each tick as k * m over (or times) a power of ten: 3 * 2 / 10 is the double nearest
	 * 0.6, where 3 * 0.2 would be 0.6000000000000001. */
	for (double k = first; k <= last && n < max; k++)
		ticks[n++] = e >= 0 ? k * m * pow(10, e) : k * m / pow(10, -e);
	*lo = e >= 0 ? first * m * pow(10, e) : first * m / pow(10, -e);
	*hi = e >= 0 ? last * m * pow(10, e) : last * m / pow(10, -e);
	return n;
}

/* x="..." with a coordinate. */
static void
attr(nf_buf *out, const char *name, double v)
{
	char b[48];

	nf_svg_coord(b, sizeof(b), v);
	nf_buf_printf(out, " %s=\"%s\"", name, b);
}

static void
text(nf_buf *out, double x, double y, const char *anchor, const char *cls, const char *s)
{
	nf_buf_puts(out, "<text");
	attr(out, "x", x);
	attr(out, "y", y);
	nf_buf_printf(out, " text-anchor=\"%s\" class=\"%s\">", anchor, cls);
	nf_html_escape(out, s);
	nf_buf_puts(out, "</text>");
}

static void
line(nf_buf *out, double x1, double y1, double x2, double y2, const char *cls)
{
	nf_buf_puts(out, "<line");
	attr(out, "x1", x1);
	attr(out, "y1", y1);
	attr(out, "x2", x2);
	attr(out, "y2", y2);
	nf_buf_printf(out, " class=\"%s\"/>", cls);
}

/* The point's tooltip: "series: x, y" (a category's name for bars). */
static void
point_title(nf_buf *out, const nf_chart *c, const nf_series *s, size_t i)
{
	char xb[48], yb[48];

	nf_html_num(xb, sizeof(xb), s->x[i]);
	nf_html_num(yb, sizeof(yb), s->y[i]);
	nf_buf_puts(out, "<title>");
	if (s->name) {
		nf_html_escape(out, s->name);
		nf_buf_puts(out, ": ");
	}
	if (c->xcats && s->x[i] >= 0 && (size_t)s->x[i] < c->nxcats)
		nf_html_escape(out, c->xcats[(size_t)s->x[i]]);
	else
		nf_buf_puts(out, xb);
	nf_buf_printf(out, ", %s</title>", yb);
}

void
nf_svg_chart(nf_buf *out, const nf_chart *c)
{
	double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
	/* many categories: their labels slanted, the chart taller by what they take */
	bool slant = c->kind == NF_CHART_BAR && c->nxcats > 6;
	double W = c->width > 0 ? c->width : W_DEFAULT, H = H_PLOT + (slant ? ROTATED_EXTRA : 0);
	double xt[MAX_TICKS], yt[MAX_TICKS], h, top, bottom, left = ML, right = W - MR;
	size_t nxt, nyt, rows = c->nseries > 1 ? (c->nseries + 2) / 3 : 0, npoints = 0;
	nf_scale sx, sy;
	bool bars = c->kind == NF_CHART_BAR;
	bool cats = bars || c->nxcats > 0;   /* x values are indexes of xcats: labelled ticks */

	for (size_t k = 0; k < c->nseries; k++)
		for (size_t i = 0; i < c->series[k].n; i++) {
			double x = c->series[k].x[i], y = c->series[k].y[i];

			if (!isfinite(x) || !isfinite(y))
				continue;
			npoints++;
			xlo = fmin(xlo, x);
			xhi = fmax(xhi, x);
			ylo = fmin(ylo, y);
			yhi = fmax(yhi, y);
		}
	for (size_t k = 0; k < c->nhlines; k++) {
		if (isfinite(c->hlines[k].y)) {
			ylo = fmin(ylo, c->hlines[k].y);
			yhi = fmax(yhi, c->hlines[k].y);
		}
	}
	if (bars) {   /* bars stand on zero */
		ylo = fmin(ylo, 0);
		yhi = fmax(yhi, 0);
	}
	if (cats) {   /* categories sit at 0 .. n-1, half a step in */
		xlo = -0.5;
		xhi = (double)(c->nxcats ? c->nxcats : 1) - 0.5;
	}
	if (c->unit_axes) {
		xlo = ylo = 0;
		xhi = yhi = 1;
	}
	h = H + (rows ? 8 : 0) + rows * LEGEND_ROW;
	top = MT;
	bottom = H - MB - (slant ? ROTATED_EXTRA : 0);
	nyt = nf_scale_nice(&ylo, &yhi, 6, yt, MAX_TICKS);
	if (cats) {
		nxt = 0;
	} else {
		nxt = nf_scale_nice(&xlo, &xhi, c->integer_x ? 6 : 7, xt, MAX_TICKS);
		if (c->integer_x) {   /* versions and runs: no tick between two of them */
			size_t k = 0;

			for (size_t i = 0; i < nxt; i++)
				if (xt[i] == floor(xt[i]))
					xt[k++] = xt[i];
			nxt = k;
		}
	}
	sx = (nf_scale){ xlo, xhi, left, right };
	sy = (nf_scale){ ylo, yhi, bottom, top };

	nf_buf_puts(out, "<svg xmlns=\"http://www.w3.org/2000/svg\"");
	if (c->id) {
		nf_buf_puts(out, " id=\"");
		nf_html_escape(out, c->id);
		nf_buf_putc(out, '"');
	}
	nf_buf_puts(out, " class=\"chart");
	if (c->cls) {
		nf_buf_putc(out, ' ');
		nf_html_escape(out, c->cls);
	}
	nf_buf_printf(out, "\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\">", (int)W, (int)h, (int)W,
		      (int)h);
	nf_buf_puts(out, "<title>");
	nf_html_escape(out, c->title ? c->title : "chart");
	nf_buf_puts(out, "</title>");
	if (c->title)
		text(out, W / 2, 18, "middle", "ctitle", c->title);

	/* axes, gridlines, ticks */
	nf_buf_puts(out, "<g class=\"axis y\">");
	for (size_t i = 0; i < nyt; i++) {
		double y = nf_scale_map(&sy, yt[i]);
		char b[48];

		line(out, left, y, right, y, "grid");
		line(out, left - 4, y, left, y, "tick");
		nf_html_num(b, sizeof(b), yt[i]);
		text(out, left - 7, y + 4, "end", "ticklabel", b);
	}
	line(out, left, top, left, bottom, "domain");
	nf_buf_puts(out, "</g><g class=\"axis x\">");
	if (cats) {
		for (size_t i = 0; i < c->nxcats; i++) {
			double x = nf_scale_map(&sx, (double)i);

			line(out, x, bottom, x, bottom + 4, "tick");
			if (slant) {
				char xb[48], yb[48];

				nf_svg_coord(xb, sizeof(xb), x + 3);
				nf_svg_coord(yb, sizeof(yb), bottom + 12);
				nf_buf_printf(out, "<text x=\"%s\" y=\"%s\" transform=\"rotate(-35 %s %s)\" text-anchor=\"end\""
					      " class=\"ticklabel\">", xb, yb, xb, yb);
				nf_html_escape(out, c->xcats[i]);
				nf_buf_puts(out, "</text>");
			} else {
				text(out, x, bottom + 16, "middle", "ticklabel", c->xcats[i]);
			}
		}
	} else {
		for (size_t i = 0; i < nxt; i++) {
			double x = nf_scale_map(&sx, xt[i]);
			char b[48];

			line(out, x, top, x, bottom, "grid");
			line(out, x, bottom, x, bottom + 4, "tick");
			nf_html_num(b, sizeof(b), xt[i]);
			text(out, x, bottom + 16, "middle", "ticklabel", b);
		}
	}
	line(out, left, bottom, right, bottom, "domain");
	nf_buf_puts(out, "</g>");
	if (c->xlabel)
		text(out, (left + right) / 2, bottom + 34 + (slant ? ROTATED_EXTRA : 0), "middle", "axislabel", c->xlabel);
	if (c->ylabel) {
		char b[48];

		nf_svg_coord(b, sizeof(b), (top + bottom) / 2);
		nf_buf_printf(out, "<text x=\"14\" y=\"%s\" transform=\"rotate(-90 14 %s)\" text-anchor=\"middle\""
			      " class=\"axislabel\">", b, b);
		nf_html_escape(out, c->ylabel);
		nf_buf_puts(out, "</text>");
	}
	if (c->diagonal)
		line(out, nf_scale_map(&sx, 0), nf_scale_map(&sy, 0), nf_scale_map(&sx, 1), nf_scale_map(&sy, 1),
		     "chance");

	/* the series */
	for (size_t k = 0; k < c->nseries; k++) {
		const nf_series *s = &c->series[k];
		const char *dash = s->dashed ? " dashed" : "";
		bool open = false;

		nf_buf_printf(out, "<g class=\"series s%zu%s\">", k % NCOLOURS, dash);
		if (c->kind == NF_CHART_LINE) {
			/* one polyline per run of finite points: a NaN is a gap */
			for (size_t i = 0; i < s->n; i++) {
				char xb[48], yb[48];

				if (!isfinite(s->x[i]) || !isfinite(s->y[i])) {
					if (open)
						nf_buf_puts(out, "\"/>");
					open = false;
					continue;
				}
				nf_svg_coord(xb, sizeof(xb), nf_scale_map(&sx, s->x[i]));
				nf_svg_coord(yb, sizeof(yb), nf_scale_map(&sy, s->y[i]));
				nf_buf_printf(out, "%s%s,%s", open ? " " : "<polyline class=\"line\" points=\"", xb, yb);
				open = true;
			}
			if (open)
				nf_buf_puts(out, "\"/>");
		}
		for (size_t i = 0; i < s->n; i++) {
			double x = s->x[i], y = s->y[i];

			if (!isfinite(x) || !isfinite(y))
				continue;
			if (bars) {
				double slot = (right - left) / (double)(c->nxcats ? c->nxcats : 1);
				double bw = slot * 0.8 / (double)c->nseries;
				double x0 = nf_scale_map(&sx, x) - slot * 0.4 + bw * (double)k;
				double y0 = nf_scale_map(&sy, fmax(y, 0)), y1 = nf_scale_map(&sy, fmin(y, 0));

				nf_buf_puts(out, "<rect class=\"bar\"");
				attr(out, "x", x0);
				attr(out, "y", y0);
				attr(out, "width", bw);
				attr(out, "height", fmax(y1 - y0, 0.5));
				nf_buf_putc(out, '>');
				point_title(out, c, s, i);
				nf_buf_puts(out, "</rect>");
			} else if (c->kind == NF_CHART_SCATTER || npoints <= 60) {
				nf_buf_puts(out, "<circle class=\"dot\"");
				attr(out, "cx", nf_scale_map(&sx, x));
				attr(out, "cy", nf_scale_map(&sy, y));
				nf_buf_printf(out, " r=\"%s\">", c->kind == NF_CHART_SCATTER ? "3.5" : "2.5");
				point_title(out, c, s, i);
				nf_buf_puts(out, "</circle>");
			}
		}
		nf_buf_puts(out, "</g>");
	}

	/* thresholds, drawn over the series */
	for (size_t k = 0; k < c->nhlines; k++) {
		double y;
		char b[48];

		if (!isfinite(c->hlines[k].y))
			continue;
		y = nf_scale_map(&sy, c->hlines[k].y);
		nf_buf_puts(out, "<g class=\"threshold\">");
		line(out, left, y, right, y, "thresholdline");
		nf_html_num(b, sizeof(b), c->hlines[k].y);
		{
			char *label = xasprintf("%s %s", c->hlines[k].label ? c->hlines[k].label : "", b);

			text(out, right - 2, y - 4, "end", "thresholdlabel", label);
			free(label);
		}
		nf_buf_puts(out, "</g>");
	}

	/* the legend, three series a row below the plot */
	if (rows) {
		nf_buf_puts(out, "<g class=\"legend\">");
		for (size_t k = 0; k < c->nseries; k++) {
			double x = left + (double)(k % 3) * ((right - left) / 3), y = H + 10 + (double)(k / 3) * LEGEND_ROW;

			nf_buf_printf(out, "<g class=\"s%zu%s\">", k % NCOLOURS, c->series[k].dashed ? " dashed" : "");
			line(out, x, y - 4, x + 18, y - 4, "swatch");
			text(out, x + 22, y, "start", "legendlabel", c->series[k].name ? c->series[k].name : "");
			nf_buf_puts(out, "</g>");
		}
		nf_buf_puts(out, "</g>");
	}
	if (npoints == 0 && !c->unit_axes)
		text(out, (left + right) / 2, (top + bottom) / 2, "middle", "empty", "no data");
	nf_buf_puts(out, "</svg>");
}
