/* prep.c: `ntml prep`, drop unusable rows, split stratified into train/val/test with a seed,
 * and standardise every feature with a scaler fitted on the training rows only. */
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

const char ntml_help_prep[] =
	"usage: ntml prep --in FILE --out DIR [--seed S] [--split TRAIN,VAL,TEST]\n"
	"\n"
	"Prepare a data file for training:\n"
	"  1. rows with a wrong number of fields, an empty cell, a cell that is not a finite\n"
	"     number, or a label other than 0/1 are dropped and counted (not an error);\n"
	"  2. the rows left are split per class (stratified): each class's rows are shuffled\n"
	"     (Fisher-Yates, xoshiro256** seeded with S), its first round(n * TRAIN) rows go to\n"
	"     train, the next round(n * VAL) to val, the rest to test; each split keeps the\n"
	"     input order of its rows;\n"
	"  3. every feature (every column but label) is standardised, (x - mean) / std, with\n"
	"     the mean and the population standard deviation of the TRAIN rows only (a\n"
	"     constant feature gets std 1), and the same scaler is applied to all three.\n"
	"\n"
	"Options:\n"
	"  --in FILE       input CSV with a 'label' column (0/1)\n"
	"  --out DIR       output folder, created if missing\n"
	"  --seed S        non-negative integer seed of the shuffle (default 42)\n"
	"  --split A,B,C   train, val and test fractions, each > 0, summing to 1\n"
	"                  (default 0.8,0.1,0.1)\n"
	"\n"
	"Writes DIR/train.csv, DIR/val.csv, DIR/test.csv (same columns, features\n"
	"standardised, label 0/1), DIR/scaler.json ({\"features\": [...], \"mean\": {NAME: x},\n"
	"\"std\": {NAME: x}, \"rows\": training rows}) and DIR/prep.json (rows_in, rows_dropped,\n"
	"dropped.{wrong_width, missing, not_a_number, bad_label}, train, val, test,\n"
	"positive_share and positive_share_{train,val,test}, seed, split).\n"
	"Errors (exit 1): a missing or empty file, no 'label' column, no usable row, a\n"
	"single class, or a split that would leave a part empty.\n";

enum { SPLIT_TRAIN, SPLIT_VAL, SPLIT_TEST, NSPLIT };
static const char *const split_names[NSPLIT] = { "train", "val", "test" };

static int
parse_split(double *frac, const char *s)
{
	double sum = 0;
	char tail;

	if (sscanf(s, "%lf,%lf,%lf%c", &frac[0], &frac[1], &frac[2], &tail) != 3)
		return ntml_fail("--split: expected three fractions like 0.8,0.1,0.1, got '%s'", s);
	for (int i = 0; i < NSPLIT; i++) {
		if (!(frac[i] > 0 && frac[i] < 1))
			return ntml_fail("--split: each fraction must be in (0, 1), got '%s'", s);
		sum += frac[i];
	}
	if (fabs(sum - 1.0) > 1e-6)
		return ntml_fail("--split: the fractions must sum to 1, got %g", sum);
	return 0;
}

static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

/* Assigns every row to a split, class by class; part[s] gets the row indices in order. */
static int
stratify(size_t **part, size_t *count, const ntml_table *t, const double *frac, uint64_t seed)
{
	size_t *idx = ntml_xmalloc(t->nrow * sizeof(*idx));
	ntml_rng r;

	ntml_rng_seed(&r, seed);
	for (int s = 0; s < NSPLIT; s++) {
		part[s] = ntml_xmalloc((t->nrow ? t->nrow : 1) * sizeof(**part));
		count[s] = 0;
	}
	for (int cls = 0; cls <= 1; cls++) {
		size_t n = 0;

		for (size_t i = 0; i < t->nrow; i++)
			if (t->v[i * t->ncol + t->label] == cls)
				idx[n++] = i;
		for (size_t i = n; i > 1; i--) {
			size_t j = ntml_rng_below(&r, i), tmp = idx[i - 1];

			idx[i - 1] = idx[j];
			idx[j] = tmp;
		}
		size_t ntrain = (size_t)floor((double)n * frac[SPLIT_TRAIN] + 0.5);
		size_t nval = (size_t)floor((double)n * frac[SPLIT_VAL] + 0.5);
		if (ntrain > n)
			ntrain = n;
		if (nval > n - ntrain)
			nval = n - ntrain;
		for (size_t i = 0; i < n; i++) {
			int s = i < ntrain ? SPLIT_TRAIN : i < ntrain + nval ? SPLIT_VAL : SPLIT_TEST;

			part[s][count[s]++] = idx[i];
		}
	}
	free(idx);
	for (int s = 0; s < NSPLIT; s++) {
		if (!count[s])
			return ntml_fail("%s: %zu usable rows are too few to split: '%s' would be empty",
					 t->path, t->nrow, split_names[s]);
		qsort(part[s], count[s], sizeof(**part), cmp_size);
	}
	return 0;
}

static int
write_split(const char *path, const ntml_table *t, const size_t *rows, size_t n,
	    const double *mean, const double *sd)
{
	FILE *f = fopen(path, "w");
	int err = 0;

	if (!f)
		return ntml_fail("cannot write '%s': %s", path, strerror(errno));
	for (size_t j = 0; j < t->ncol; j++)
		fprintf(f, "%s%c", t->names[j], j + 1 < t->ncol ? ',' : '\n');
	for (size_t i = 0; i < n; i++) {
		const double *x = t->v + rows[i] * t->ncol;

		for (size_t j = 0; j < t->ncol; j++) {
			char sep = j + 1 < t->ncol ? ',' : '\n';

			if ((int)j == t->label)
				fprintf(f, "%d%c", (int)x[j], sep);
			else if ((int)j == t->slice)
				fprintf(f, "%s%c", t->levels[(size_t)x[j]], sep);
			else
				fprintf(f, "%.10g%c", (x[j] - mean[j]) / sd[j], sep);
		}
	}
	if (ferror(f))
		err = ntml_fail("cannot write '%s': %s", path, strerror(errno));
	if (fclose(f) != 0 && !err)
		err = ntml_fail("cannot write '%s': %s", path, strerror(errno));
	return err;
}

static double
share_of(const ntml_table *t, const size_t *rows, size_t n)
{
	double pos = 0;

	for (size_t i = 0; i < n; i++)
		pos += t->v[rows[i] * t->ncol + t->label];
	return n ? pos / (double)n : 0.0;
}

static char *
join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *s = ntml_xmalloc(n);

	snprintf(s, n, "%s/%s", dir, name);
	return s;
}

static int
prep(const char *in, const char *dir, uint64_t seed, const double *frac)
{
	ntml_table *t = NULL;
	size_t *part[NSPLIT] = { NULL }, count[NSPLIT] = { 0 };
	double *mean = NULL, *sd = NULL;
	cJSON *scaler = NULL, *info = NULL;
	char *path = NULL;
	int err = -1;

	if (ntml_table_read(&t, in, NTML_CSV_DROP, 1) < 0 || ntml_table_check_classes(t) < 0 ||
	    stratify(part, count, t, frac, seed) < 0 || ntml_mkdirs(dir) < 0)
		goto done;

	/* The scaler sees the training rows only, so val and test stay unseen. */
	mean = ntml_xcalloc(t->ncol, sizeof(*mean));
	sd = ntml_xcalloc(t->ncol, sizeof(*sd));
	for (size_t j = 0; j < t->ncol; j++) {
		double s = 0, ss = 0, n = (double)count[SPLIT_TRAIN];

		for (size_t i = 0; i < count[SPLIT_TRAIN]; i++)
			s += t->v[part[SPLIT_TRAIN][i] * t->ncol + j];
		mean[j] = s / n;
		for (size_t i = 0; i < count[SPLIT_TRAIN]; i++) {
			double dev = t->v[part[SPLIT_TRAIN][i] * t->ncol + j] - mean[j];
			ss += dev * dev;
		}
		sd[j] = sqrt(ss / n);
		if (!(sd[j] > 1e-12))
			sd[j] = 1.0;
	}
	for (int s = 0; s < NSPLIT; s++) {
		char name[16];

		snprintf(name, sizeof(name), "%s.csv", split_names[s]);
		free(path);
		path = join(dir, name);
		if (write_split(path, t, part[s], count[s], mean, sd) < 0)
			goto done;
	}

	scaler = cJSON_CreateObject();
	cJSON *names = cJSON_AddArrayToObject(scaler, "features");
	cJSON *jmean = cJSON_AddObjectToObject(scaler, "mean");
	cJSON *jsd = cJSON_AddObjectToObject(scaler, "std");
	for (size_t j = 0; j < t->ncol; j++) {
		if (!ntml_table_is_feature(t, j))
			continue;
		cJSON_AddItemToArray(names, cJSON_CreateString(t->names[j]));
		cJSON_AddNumberToObject(jmean, t->names[j], mean[j]);
		cJSON_AddNumberToObject(jsd, t->names[j], sd[j]);
	}
	cJSON_AddNumberToObject(scaler, "rows", (double)count[SPLIT_TRAIN]);
	cJSON_AddStringToObject(scaler, "fitted_on", "train.csv");
	free(path);
	path = join(dir, "scaler.json");
	if (ntml_json_write(path, scaler) < 0)
		goto done;

	size_t dropped = t->rows_in - t->nrow;
	info = cJSON_CreateObject();
	cJSON_AddStringToObject(info, "input", in);
	cJSON_AddNumberToObject(info, "rows_in", (double)t->rows_in);
	cJSON_AddNumberToObject(info, "rows_dropped", (double)dropped);
	cJSON *why = cJSON_AddObjectToObject(info, "dropped");
	cJSON_AddNumberToObject(why, "wrong_width", (double)t->drop_width);
	cJSON_AddNumberToObject(why, "missing", (double)t->drop_missing);
	cJSON_AddNumberToObject(why, "not_a_number", (double)t->drop_number);
	cJSON_AddNumberToObject(why, "bad_label", (double)t->drop_label);
	for (int s = 0; s < NSPLIT; s++)
		cJSON_AddNumberToObject(info, split_names[s], (double)count[s]);
	cJSON_AddNumberToObject(info, "positive_share", ntml_table_label_share(t));
	for (int s = 0; s < NSPLIT; s++) {
		char key[32];

		snprintf(key, sizeof(key), "positive_share_%s", split_names[s]);
		cJSON_AddNumberToObject(info, key, share_of(t, part[s], count[s]));
	}
	cJSON_AddNumberToObject(info, "seed", (double)seed);
	cJSON_AddItemToObject(info, "split", cJSON_CreateDoubleArray(frac, NSPLIT));
	free(path);
	path = join(dir, "prep.json");
	if (ntml_json_write(path, info) < 0)
		goto done;

	printf("ntml prep: %s: %zu rows in, %zu dropped; train %zu, val %zu, test %zu; "
	       "positive share %.4f -> %s/\n", in, t->rows_in, dropped, count[SPLIT_TRAIN],
	       count[SPLIT_VAL], count[SPLIT_TEST], ntml_table_label_share(t), dir);
	err = 0;
done:
	for (int s = 0; s < NSPLIT; s++)
		free(part[s]);
	free(mean);
	free(sd);
	free(path);
	cJSON_Delete(scaler);
	cJSON_Delete(info);
	ntml_table_free(t);
	return err;
}

int
ntml_cmd_prep(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "in", required_argument, NULL, 'i' },
		{ "out", required_argument, NULL, 'o' },
		{ "seed", required_argument, NULL, 's' },
		{ "split", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *in = NULL, *out = NULL;
	double frac[NSPLIT] = { 0.8, 0.1, 0.1 };
	uint64_t seed = 42;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			in = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 's':
			if (ntml_parse_seed(&seed, "--seed", optarg) < 0)
				return ntml_usage_error("prep", "%s", ntml_error());
			break;
		case 'p':
			if (parse_split(frac, optarg) < 0)
				return ntml_usage_error("prep", "%s", ntml_error());
			break;
		case 'h':
			fputs(ntml_help_prep, stdout);
			return 0;
		case ':':
			return ntml_usage_error("prep", "option '%s' needs a value", argv[optind - 1]);
		default:
			return ntml_usage_error("prep", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return ntml_usage_error("prep", "unexpected argument '%s'", argv[optind]);
	if (!in)
		return ntml_usage_error("prep", "--in is required");
	if (!out)
		return ntml_usage_error("prep", "--out is required");
	if (prep(in, out, seed, frac) < 0)
		return ntml_data_error();
	return 0;
}
