/* gen.c: `ntml gen`, one ISO week of synthetic fraud-like transactions whose features drift
 * slowly from week to week and whose fraud pattern changes during a documented episode, so
 * that a quarter of weekly runs shows drift alerts and a rejected model; each row has a
 * merchant region, and in one documented week one region's labels degrade. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "ntml.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define NFEAT 8

/* The drift schedule, in ISO weeks since the base week 2026-W27 (k). */
#define BASE_YEAR        2026
#define BASE_WEEK        27
#define COVARIATE_CAP    52   /* covariate drift grows for 52 weeks (to 2027-W27), then stays */
#define CONCEPT_START    12   /* 2026-W39, the last week of the old pattern */
#define CONCEPT_WEEKS    7    /* 2026-W46 is the first week with only the new pattern */
#define CONCEPT_NOISE    0.05 /* peak share of flipped labels, in the middle of the change */
#define DEGRADED_WEEK    11   /* 2026-W38: region APAC's labels are flipped ... */
#define DEGRADED_REGION  2    /* (regions[2]) */
#define DEGRADED_NOISE   0.20 /* ... with this probability (a broken upstream feed) */

#define NTML_SCHEDULE \
	"Drift schedule (k = ISO weeks since the base week 2026-W27; d = k clamped to [0, 52]):\n" \
	"  covariate drift, growing linearly with d (so it stops at 2027-W27):\n" \
	"    amount           customer log-mean 3.6 + 0.054 d  (the fastest: the most drifted)\n" \
	"    n_tx_24h         Poisson mean 2.0 + 0.04 d\n" \
	"    merchant_risk    Beta(2 - 0.01 d, 6)\n" \
	"    foreign_share    Beta(1.2, 8 - 0.05 d)\n" \
	"    account_age_days Gamma(shape 2, scale 300 + 4 d)\n" \
	"    distance_km      log-normal, log-mean 2.3 + 0.01 d\n" \
	"  concept drift: u = clamp((k - 12) / 7, 0, 1), t = u^2 (3 - 2u); each row follows\n" \
	"  the new fraud pattern with probability t, the old one otherwise, and its label is\n" \
	"  flipped with probability 0.05 sin(pi t). So up to 2026-W39 only the old pattern;\n" \
	"  from 2026-W40 (t = 0.055) both patterns mix and no single linear model fits them,\n" \
	"  hardest around 2026-W43 (t = 0.61); from 2026-W46 on only the new pattern, which\n" \
	"  is as easy to learn as the old one was. Weeks before 2026-W27 look like 2026-W27.\n" \
	"  With --rows 20000 --seed 42 and 2026-W36 as the drift reference: max PSI passes\n" \
	"  0.10 from 2026-W42 and 0.25 from 2026-W45 (feature amount); a model trained and\n" \
	"  tested on 2026-W40..W45 scores clearly worse (accuracy < 0.85 in W41..W44, AUC\n" \
	"  more than 0.02 below the W39 model's), and the weeks from 2026-W46 on pass again.\n" \
	"  Region: EU, US or APAC with probabilities 0.5, 0.3, 0.2, from a stream of its own\n" \
	"  (so the other columns are the same with or without it). In 2026-W38 only, the\n" \
	"  labels of APAC rows are flipped with probability 0.20 (a broken feed): the model's\n" \
	"  APAC accuracy falls about 0.15 below the other regions' (a gap over 0.10, which no\n" \
	"  other week of 2026-W37..W47 comes near) while its overall accuracy stays above 0.85.\n"

const char ntml_schedule[] = NTML_SCHEDULE;

const char ntml_help_gen[] =
	"usage: ntml gen --week YYYY-Www [--rows N] [--seed S] --out FILE\n"
	"\n"
	"Write one ISO week of synthetic card transactions as CSV: eight numeric features,\n"
	"a 0/1 label drawn from a known logistic model and the merchant's region. The output\n"
	"depends only on the week and the seed (xoshiro256** seeded through splitmix64; never\n"
	"the C library's rand).\n"
	"\n"
	"Options:\n"
	"  --week YYYY-Www  ISO week of the data (e.g. 2026-W40); required\n"
	"  --rows N         number of rows (default 20000)\n"
	"  --seed S         non-negative integer seed (default 42)\n"
	"  --out FILE       output file, '-' for stdout; missing folders are created\n"
	"\n"
	"Columns (values rounded as written):\n"
	"  amount            EUR, log-normal: exp(m + e), m ~ N(3.6, 0.7) the customer's usual\n"
	"                    log-amount, e ~ N(0, 0.55) this transaction's deviation\n"
	"  n_tx_24h          Poisson(2.0), transactions of the card in the last 24 hours\n"
	"  merchant_risk     Beta(2, 6), risk score of the merchant in [0, 1]\n"
	"  foreign_share     Beta(1.2, 8), share of foreign transactions in 30 days, in [0, 1]\n"
	"  account_age_days  Gamma(shape 2, scale 300)\n"
	"  distance_km       log-normal, exp(N(2.3, 1.1)), distance from the home address\n"
	"  n_declines_7d     Poisson(0.2 + 0.1 n_tx_24h), declined attempts in 7 days\n"
	"  velocity_ratio    exp(e), this amount over the customer's usual amount\n"
	"  label             1 = fraud: P(label = 1) = 1 / (1 + exp(-z)), with z on the\n"
	"                    scaled features s(x) = (x - centre) / scale (centre, scale:\n"
	"                    amount 55, 55; n_tx_24h 2, 1.4; merchant_risk 0.25, 0.14;\n"
	"                    foreign_share 0.13, 0.11; account_age_days 600, 420;\n"
	"                    distance_km 18, 20; n_declines_7d 0.4, 0.7; velocity_ratio\n"
	"                    1.15, 0.6):\n"
	"    old pattern  z = -2.9 + 1.1 amount + 0.4 n_tx_24h + 1.1 merchant_risk\n"
	"                     + 1.2 foreign_share - 0.8 account_age_days + 0.9 distance_km\n"
	"                     + 0.8 n_declines_7d + 1.6 velocity_ratio\n"
	"    new pattern  z = -2.9 - 1.2 amount + 2.0 n_tx_24h + 1.3 merchant_risk\n"
	"                     + 0.5 foreign_share - 1.1 account_age_days + 0.3 distance_km\n"
	"                     + 1.5 n_declines_7d + 0.4 velocity_ratio\n"
	"    (card testing: many small transactions replace large unusual ones)\n"
	"  region            the merchant's region, EU, US or APAC: a slice of the data for\n"
	"                    ntml eval, not a feature of the label model (see below)\n"
	"\n"
	NTML_SCHEDULE;

static const char *const feature_names[NFEAT] = {
	"amount", "n_tx_24h", "merchant_risk", "foreign_share",
	"account_age_days", "distance_km", "n_declines_7d", "velocity_ratio",
};

/* Centre and scale of each feature in the label model, and the two patterns' weights. */
static const double model_centre[NFEAT] = { 55, 2, 0.25, 0.13, 600, 18, 0.4, 1.15 };
static const double model_scale[NFEAT] = { 55, 1.4, 0.14, 0.11, 420, 20, 0.7, 0.6 };
static const double old_weights[NFEAT] = { 1.1, 0.4, 1.1, 1.2, -0.8, 0.9, 0.8, 1.6 };
static const double new_weights[NFEAT] = { -1.2, 2.0, 1.3, 0.5, -1.1, 0.3, 1.5, 0.4 };
static const double old_bias = -2.9, new_bias = -2.9;

static const char *const regions[] = { "EU", "US", "APAC" };
static const double region_share[] = { 0.5, 0.3, 0.2 };

/* Days from 1970-01-01 to a proleptic Gregorian date. */
static long
days_from_civil(long y, int m, int d)
{
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	long yoe = y - era * 400;
	long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

/* The Monday of ISO week 1 of YEAR, in days since 1970-01-01 (a Thursday). */
static long
iso_week1_monday(long year)
{
	long jan4 = days_from_civil(year, 1, 4);
	long weekday = ((jan4 % 7) + 7 + 3) % 7;  /* 0 = Monday */

	return jan4 - weekday;
}

/* Parses "YYYY-Www" into the Monday of that week (days since 1970-01-01). */
static int
parse_week(long *monday, int *year, int *week, const char *s)
{
	int y, w;
	char tail;

	if (strlen(s) != 8 || s[4] != '-' || s[5] != 'W' ||
	    sscanf(s, "%4d-W%2d%c", &y, &w, &tail) != 2 || y < 1900)
		return ntml_fail("--week: expected an ISO week like 2026-W40, got '%s'", s);
	long weeks = (iso_week1_monday(y + 1) - iso_week1_monday(y)) / 7;
	if (w < 1 || w > weeks)
		return ntml_fail("--week: %d has no week %d (it has %ld)", y, w, weeks);
	*monday = iso_week1_monday(y) + 7L * (w - 1);
	*year = y;
	*week = w;
	return 0;
}

static double
normal(ntml_rng *r, double mean, double sd)
{
	/* Box-Muller, one value per pair: simple, and the stream stays easy to reason about. */
	double u1 = 1.0 - ntml_rng_uniform(r);
	double u2 = ntml_rng_uniform(r);

	return mean + sd * sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static int
poisson(ntml_rng *r, double mean)
{
	/* Knuth's product of uniforms; the means here are small. */
	double limit = exp(-mean), prod = 1.0;
	int k = -1;

	do {
		k++;
		prod *= ntml_rng_uniform(r);
	} while (prod > limit);
	return k;
}

static double
gamma_draw(ntml_rng *r, double shape, double scale)
{
	/* Marsaglia and Tsang (2000); every shape used here is at least 1. */
	double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);

	for (;;) {
		double x = normal(r, 0, 1), v = 1.0 + c * x;

		if (v <= 0)
			continue;
		v = v * v * v;
		double u = ntml_rng_uniform(r);
		if (u < 1.0 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1.0 - v + log(v)))
			return d * v * scale;
	}
}

static double
beta_draw(ntml_rng *r, double a, double b)
{
	double x = gamma_draw(r, a, 1.0), y = gamma_draw(r, b, 1.0);

	return x / (x + y);
}

static double
round_to(double x, double unit)
{
	return round(x / unit) * unit;
}

static double
clamp(double x, double lo, double hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

static double
logistic(double z)
{
	return 1.0 / (1.0 + exp(-z));
}

static double
pattern_logit(const double *x, const double *w, double bias)
{
	double z = bias;

	for (int j = 0; j < NFEAT; j++)
		z += w[j] * (x[j] - model_centre[j]) / model_scale[j];
	return z;
}

/* Draws one row for week offset k: eight features and the label. */
static int
draw_row(double *x, ntml_rng *r, double d, double t, double noise)
{
	double m = normal(r, 3.6 + 0.054 * d, 0.7);
	double e = normal(r, 0.0, 0.55);
	int label;

	x[0] = round_to(exp(m + e), 0.01);
	x[1] = poisson(r, 2.0 + 0.04 * d);
	x[2] = round_to(beta_draw(r, 2.0 - 0.01 * d, 6.0), 1e-4);
	x[3] = round_to(beta_draw(r, 1.2, 8.0 - 0.05 * d), 1e-4);
	x[4] = round_to(gamma_draw(r, 2.0, 300.0 + 4.0 * d), 0.1);
	x[5] = round_to(exp(normal(r, 2.3 + 0.01 * d, 1.1)), 0.01);
	x[6] = poisson(r, 0.2 + 0.1 * x[1]);
	x[7] = round_to(exp(e), 1e-4);

	/* Always three uniforms for the label, so the stream does not depend on outcomes. */
	double u_pattern = ntml_rng_uniform(r);
	double u_label = ntml_rng_uniform(r);
	double u_flip = ntml_rng_uniform(r);
	double z = u_pattern < t ? pattern_logit(x, new_weights, new_bias)
				 : pattern_logit(x, old_weights, old_bias);
	label = u_label < logistic(z);
	if (u_flip < noise)
		label = !label;
	return label;
}

static int
write_week(const char *out, long k, uint64_t seed, int year, int week, long rows)
{
	double d = clamp((double)k, 0, COVARIATE_CAP);
	double u = clamp((double)(k - CONCEPT_START) / CONCEPT_WEEKS, 0, 1);
	double t = u * u * (3.0 - 2.0 * u);
	double noise = CONCEPT_NOISE * sin(M_PI * t);
	int to_stdout = !strcmp(out, "-");
	FILE *f = NULL;
	ntml_rng r, rr;
	long pos = 0;
	int err = -1;

	/* The week enters the seed, so every week is its own stream for the same seed. */
	ntml_rng_seed(&r, seed * 0x9e3779b97f4a7c15ULL + (uint64_t)(year * 100 + week));
	/* The region has a stream of its own, so adding it left every other column as it was. */
	ntml_rng_seed(&rr, (seed * 0x9e3779b97f4a7c15ULL + (uint64_t)(year * 100 + week)) ^ 0x5265676e5265676eULL);
	if (to_stdout) {
		f = stdout;
	} else if (ntml_mkdirs_for(out) < 0) {
		goto done;
	} else if (!(f = fopen(out, "w"))) {
		err = ntml_fail("cannot write '%s': %s", out, strerror(errno));
		goto done;
	}
	for (int j = 0; j < NFEAT; j++)
		fprintf(f, "%s,", feature_names[j]);
	fprintf(f, "%s,%s\n", NTML_LABEL, NTML_SLICE);   /* the slice last: the label stays column 9 */
	for (long i = 0; i < rows; i++) {
		double x[NFEAT];
		int label = draw_row(x, &r, d, t, noise);
		/* Two uniforms per row whatever the week, as draw_row does for the label. */
		double u_region = ntml_rng_uniform(&rr), u_degrade = ntml_rng_uniform(&rr);
		int g = u_region < region_share[0] ? 0 : u_region < region_share[0] + region_share[1] ? 1 : 2;

		if (k == DEGRADED_WEEK && g == DEGRADED_REGION && u_degrade < DEGRADED_NOISE)
			label = !label;
		pos += label;
		fprintf(f, "%.2f,%d,%.4f,%.4f,%.1f,%.2f,%d,%.4f,%d,%s\n", x[0], (int)x[1], x[2], x[3],
			x[4], x[5], (int)x[6], x[7], label, regions[g]);
	}
	if (fflush(f) != 0 || ferror(f)) {
		err = ntml_fail("cannot write '%s': %s", out, strerror(errno));
		goto done;
	}
	if (!to_stdout) {
		printf("ntml gen: %d-W%02d: %ld rows, positive share %.4f, new pattern share %.3f, "
		       "label noise %.3f -> %s\n", year, week, rows, rows ? (double)pos / rows : 0.0,
		       t, noise, out);
	}
	err = 0;
done:
	if (f && !to_stdout && fclose(f) != 0 && !err)
		err = ntml_fail("cannot write '%s': %s", out, strerror(errno));
	return err;
}

int
ntml_cmd_gen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "week", required_argument, NULL, 'w' },
		{ "rows", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *week_arg = NULL, *out = NULL;
	long rows = 20000, monday = 0;
	uint64_t seed = 42;
	int c, year = 0, week = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			week_arg = optarg;
			break;
		case 'n':
			if (ntml_parse_long(&rows, "--rows", optarg, 1, 100000000) < 0)
				return ntml_usage_error("gen", "%s", ntml_error());
			break;
		case 's':
			if (ntml_parse_seed(&seed, "--seed", optarg) < 0)
				return ntml_usage_error("gen", "%s", ntml_error());
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			fputs(ntml_help_gen, stdout);
			return 0;
		case ':':
			return ntml_usage_error("gen", "option '%s' needs a value", argv[optind - 1]);
		default:
			return ntml_usage_error("gen", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return ntml_usage_error("gen", "unexpected argument '%s'", argv[optind]);
	if (!week_arg)
		return ntml_usage_error("gen", "--week is required");
	if (!out)
		return ntml_usage_error("gen", "--out is required");
	if (parse_week(&monday, &year, &week, week_arg) < 0)
		return ntml_usage_error("gen", "%s", ntml_error());
	long k = (monday - (iso_week1_monday(BASE_YEAR) + 7L * (BASE_WEEK - 1))) / 7;
	if (write_week(out, k, seed, year, week, rows) < 0)
		return ntml_data_error();
	return 0;
}
