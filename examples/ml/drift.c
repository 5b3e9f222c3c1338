/* drift.c: `ntml drift`, how far each feature of a current data file has moved from a
 * reference file: population stability index and the two-sample Kolmogorov-Smirnov test. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "ntml.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define PSI_BINS 10
#define PSI_EPSILON 1e-4

const char ntml_help_drift[] =
	"usage: ntml drift --ref FILE --cur FILE --out FILE\n"
	"\n"
	"Compare every feature (every column of the reference but 'label') of a current data\n"
	"file with a reference file; both need a 'label' column, whose shares are reported\n"
	"(a single class is allowed here). Per feature:\n"
	"  psi   population stability index over 10 bins cut at the reference's deciles:\n"
	"        with s the sorted reference (n values), edge k (k = 1..9) is\n"
	"        s[i] + f (s[i+1] - s[i]) where i + f = k (n - 1) / 10 (numpy's 'linear'\n"
	"        quantile); a value goes to the bin of the number of edges below it (bins\n"
	"        are closed on the right); with r and c the reference and current shares of\n"
	"        a bin, each replaced by 1e-4 when 0, psi = sum (c - r) ln(c / r)\n"
	"  ks    two-sample Kolmogorov-Smirnov statistic D = max |F_ref - F_cur| over all\n"
	"        values (scipy.stats.ks_2samp's statistic)\n"
	"  ks_p  its asymptotic p-value, the limiting Kolmogorov distribution\n"
	"        Q(sqrt(m n / (m + n)) D) with Q(x) = 2 sum_k>=1 (-1)^(k-1) exp(-2 k^2 x^2),\n"
	"        which is scipy.special.kolmogorov; scipy.stats.ks_2samp(method='asymp')\n"
	"        uses the finite-sample kstwo.sf(D, round(m n / (m + n))) instead, which is\n"
	"        close to it for samples of thousands of rows\n"
	"Rule of thumb for psi: < 0.10 stable, 0.10-0.25 a moderate shift, > 0.25 a large one.\n"
	"\n"
	"Options:\n"
	"  --ref FILE   reference CSV (e.g. the data the production model was trained on)\n"
	"  --cur FILE   current CSV, with at least the reference's feature columns\n"
	"  --out FILE   output JSON; missing folders are created\n"
	"\n"
	"Output: {\"features\": {NAME: {\"psi\", \"ks\", \"ks_p\"}, ...}, \"max_psi\", \"max_ks\",\n"
	"\"label_share_ref\", \"label_share_cur\", \"n_ref\", \"n_cur\"}: numbers only, so that\n"
	"the file can be a stage's metrics; the feature with the largest psi is named on stdout.\n";

/* Pulls column COL of T out into a new sorted array. */
static double *
sorted_column(const ntml_table *t, int col)
{
	double *v = ntml_xmalloc(t->nrow * sizeof(*v));

	for (size_t i = 0; i < t->nrow; i++)
		v[i] = t->v[i * t->ncol + col];
	ntml_sort_doubles(v, t->nrow);
	return v;
}

/* The number of edges strictly below x: the bin of x, bins closed on the right. */
static int
bin_of(const double *edges, double x)
{
	int lo = 0, hi = PSI_BINS - 1;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (edges[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static double
psi(const double *ref, size_t nr, const double *cur, size_t nc)
{
	double edges[PSI_BINS - 1], rc[PSI_BINS] = { 0 }, cc[PSI_BINS] = { 0 }, sum = 0;

	for (int k = 1; k < PSI_BINS; k++) {
		double pos = (double)k * (double)(nr - 1) / PSI_BINS;
		size_t i = (size_t)floor(pos);
		double f = pos - (double)i;

		edges[k - 1] = i + 1 < nr ? ref[i] + f * (ref[i + 1] - ref[i]) : ref[i];
	}
	for (size_t i = 0; i < nr; i++)
		rc[bin_of(edges, ref[i])]++;
	for (size_t i = 0; i < nc; i++)
		cc[bin_of(edges, cur[i])]++;
	for (int b = 0; b < PSI_BINS; b++) {
		double r = rc[b] / (double)nr, c = cc[b] / (double)nc;

		r = r > 0 ? r : PSI_EPSILON;
		c = c > 0 ? c : PSI_EPSILON;
		sum += (c - r) * log(c / r);
	}
	return sum;
}

/* The largest distance between the two empirical distribution functions (sorted inputs). */
static double
ks_statistic(const double *a, size_t na, const double *b, size_t nb)
{
	size_t i = 0, j = 0;
	double d = 0;

	while (i < na && j < nb) {
		double v = a[i] < b[j] ? a[i] : b[j];

		while (i < na && a[i] <= v)
			i++;
		while (j < nb && b[j] <= v)
			j++;
		double gap = fabs((double)i / (double)na - (double)j / (double)nb);
		if (gap > d)
			d = gap;
	}
	return d;
}

/* Kolmogorov's survival function Q(x) = P(K > x), by whichever series converges fast. */
static double
kolmogorov_sf(double x)
{
	if (x <= 0)
		return 1.0;
	if (x < 1.0) {
		/* P(K <= x) = sqrt(2 pi) / x sum_k>=1 exp(-(2k - 1)^2 pi^2 / (8 x^2)) */
		double s = 0, c = -M_PI * M_PI / (8 * x * x);

		for (int k = 1; k < 100; k++) {
			double term = exp((2 * k - 1) * (2 * k - 1) * c);

			s += term;
			if (term < 1e-300 || term < 1e-17 * s)
				break;
		}
		return 1.0 - sqrt(2 * M_PI) / x * s;
	}
	double s = 0;
	for (int k = 1; k < 100; k++) {
		double term = exp(-2.0 * k * k * x * x);

		s += k % 2 ? term : -term;
		if (term < 1e-17 * fabs(s) || term < 1e-300)
			break;
	}
	s *= 2;
	return s < 0 ? 0 : s > 1 ? 1 : s;
}

static int
drift(const char *ref_path, const char *cur_path, const char *out)
{
	ntml_table *ref = NULL, *cur = NULL;
	cJSON *root = NULL;
	int err = -1;

	if (ntml_table_read(&ref, ref_path, NTML_CSV_STRICT, 1) < 0 ||
	    ntml_table_read(&cur, cur_path, NTML_CSV_STRICT, 1) < 0)
		goto done;
	if (ref->ncol < 2) {
		err = ntml_fail("%s: no feature columns besides '%s'", ref_path, NTML_LABEL);
		goto done;
	}
	for (size_t j = 0; j < ref->ncol; j++)
		if (ntml_table_col(cur, ref->names[j]) < 0) {
			err = ntml_fail("%s: no column '%s' (the reference has it)", cur_path,
					ref->names[j]);
			goto done;
		}

	root = cJSON_CreateObject();
	cJSON *features = cJSON_AddObjectToObject(root, "features");
	double max_psi = -1, max_ks = 0, en = (double)ref->nrow * (double)cur->nrow /
					      ((double)ref->nrow + (double)cur->nrow);
	const char *most = NULL;
	for (size_t j = 0; j < ref->ncol; j++) {
		if (!ntml_table_is_feature(ref, j))
			continue;
		double *r = sorted_column(ref, (int)j);
		double *c = sorted_column(cur, ntml_table_col(cur, ref->names[j]));
		double p = psi(r, ref->nrow, c, cur->nrow);
		double d = ks_statistic(r, ref->nrow, c, cur->nrow);
		cJSON *f = cJSON_AddObjectToObject(features, ref->names[j]);

		cJSON_AddNumberToObject(f, "psi", p);
		cJSON_AddNumberToObject(f, "ks", d);
		cJSON_AddNumberToObject(f, "ks_p", kolmogorov_sf(sqrt(en) * d));
		if (p > max_psi) {
			max_psi = p;
			most = ref->names[j];
		}
		if (d > max_ks)
			max_ks = d;
		free(r);
		free(c);
	}
	cJSON_AddNumberToObject(root, "max_psi", max_psi);
	cJSON_AddNumberToObject(root, "max_ks", max_ks);
	/* No "most_drifted" string here: every value of a metrics file is a number (ntflow
	 * warned about the string on every run); the name goes to stdout, the stage's log. */
	cJSON_AddNumberToObject(root, "label_share_ref", ntml_table_label_share(ref));
	cJSON_AddNumberToObject(root, "label_share_cur", ntml_table_label_share(cur));
	cJSON_AddNumberToObject(root, "n_ref", (double)ref->nrow);
	cJSON_AddNumberToObject(root, "n_cur", (double)cur->nrow);
	if (ntml_json_write(out, root) < 0)
		goto done;
	printf("ntml drift: %s vs %s: max_psi %.4f (most drifted: %s), max_ks %.4f, label share %.4f -> %.4f "
	       "-> %s\n", cur_path, ref_path, max_psi, most, max_ks, ntml_table_label_share(ref),
	       ntml_table_label_share(cur), out);
	err = 0;
done:
	cJSON_Delete(root);
	ntml_table_free(ref);
	ntml_table_free(cur);
	return err;
}

int
ntml_cmd_drift(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ref", required_argument, NULL, 'r' },
		{ "cur", required_argument, NULL, 'c' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ref = NULL, *cur = NULL, *out = NULL;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			ref = optarg;
			break;
		case 'c':
			cur = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			fputs(ntml_help_drift, stdout);
			return 0;
		case ':':
			return ntml_usage_error("drift", "option '%s' needs a value", argv[optind - 1]);
		default:
			return ntml_usage_error("drift", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return ntml_usage_error("drift", "unexpected argument '%s'", argv[optind]);
	if (!ref)
		return ntml_usage_error("drift", "--ref is required");
	if (!cur)
		return ntml_usage_error("drift", "--cur is required");
	if (!out)
		return ntml_usage_error("drift", "--out is required");
	if (drift(ref, cur, out) < 0)
		return ntml_data_error();
	return 0;
}
