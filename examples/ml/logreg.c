/* logreg.c: `ntml train`, `ntml predict` and `ntml eval`: L2-regularised logistic regression
 * fitted by damped Newton steps with early stopping, and the metrics of its scores. */
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
#include <sys/stat.h>

#define ECE_BINS 15
#define MIN_DELTA 1e-6   /* a smaller fall of the validation log-loss is no improvement */
#define PROB_CLIP 1e-15  /* probabilities are clipped to [1e-15, 1 - 1e-15] for the log-loss */

const char ntml_help_train[] =
	"usage: ntml train --train FILE --val FILE --lr X --l2 Y [--epochs E] [--patience P]\n"
	"                  [--seed S] [--scaler FILE] --out DIR\n"
	"\n"
	"Fit a logistic regression p = 1 / (1 + exp(-(b + w.x))) on the training file (every\n"
	"column but 'label' is a feature; use the standardised files of `ntml prep`).\n"
	"It minimises  (1/n) sum_i logloss_i + (l2 / 2) |w|^2  over the n training rows (the\n"
	"bias is not penalised), which is scikit-learn's LogisticRegression with\n"
	"C = 1 / (l2 * n) (and penalty=None when l2 = 0), by full-batch Newton steps damped\n"
	"by the learning rate: each epoch computes the gradient g and the Hessian H over all\n"
	"training rows and moves (w, b) by -lr H^-1 g (lr = 1 is plain Newton/IRLS). Near\n"
	"the optimum the error shrinks by a factor of about (1 - lr) per epoch, so lr sets\n"
	"how many epochs training needs and how close it gets to the optimum: on 16000 rows\n"
	"of `ntml gen` data, lr 0.2 stops after tens of epochs, lr 0.05 after a few hundred,\n"
	"and lr 0.01 uses up the default 500 epochs slightly short of the optimum.\n"
	"Weights start at 0 and the bias at the log-odds of the training positive share\n"
	"(with --seed S > 0 the weights start uniform in [-0.01, 0.01] instead). After each\n"
	"epoch the validation log-loss is measured; training stops when it has not fallen by\n"
	"at least 1e-6 for P epochs, and the weights of the best epoch are kept. The same\n"
	"inputs and options always give the same model.\n"
	"\n"
	"Options:\n"
	"  --train FILE    training CSV (both classes needed)\n"
	"  --val FILE      validation CSV with the same feature columns (both classes)\n"
	"  --lr X          learning rate (Newton step size) in (0, 1]; the shipped pipeline\n"
	"                  tunes 0.01, 0.05 and 0.2\n"
	"  --l2 Y          L2 penalty, >= 0 (the shipped pipeline tunes 0 and 0.001)\n"
	"  --epochs E      maximum number of epochs (default 500)\n"
	"  --patience P    early-stopping patience in epochs (default 20)\n"
	"  --seed S        weight initialisation, see above (default 0)\n"
	"  --scaler FILE   the scaler the data were standardised with, recorded in the model\n"
	"                  (default: scaler.json next to the training file, when it exists)\n"
	"  --out DIR       output folder, created if missing\n"
	"\n"
	"Writes DIR/model.json (format, features, weights by feature name, bias, scaler,\n"
	"lr, l2, epochs, best_epoch, patience, seed, train_rows, val_rows) and\n"
	"DIR/metrics.json (val_auc, val_logloss, train_logloss, epochs, best_epoch, lr, l2).\n"
	"A cell that is not a number is an error naming file:line and column (exit 1).\n";

const char ntml_help_predict[] =
	"usage: ntml predict --model FILE --in FILE [--scaler FILE] --out FILE\n"
	"\n"
	"Score every row of a CSV file with a model of `ntml train`: the output has the header\n"
	"'p' and one probability of label 1 per input row, in input order, written with 17\n"
	"significant digits (so other tools can recompute the metrics exactly). The input\n"
	"needs the model's feature columns (by name, in any order); 'label' is optional.\n"
	"\n"
	"Options:\n"
	"  --model FILE    model.json written by `ntml train`\n"
	"  --in FILE       CSV to score, standardised like the training data\n"
	"  --scaler FILE   standardise the input with this scaler.json first (for raw data)\n"
	"  --out FILE      output CSV, '-' for stdout; missing folders are created\n";

const char ntml_help_eval[] =
	"usage: ntml eval --model FILE --test FILE [--scaler FILE] --out FILE\n"
	"\n"
	"Score a labelled test file and write its metrics as JSON. With p the predicted\n"
	"probability and y the label of each of the n rows:\n"
	"  accuracy, precision, recall, f1   predicted class 1 when p >= 0.5; precision\n"
	"                                    (recall) is 0 when nothing is predicted (is) 1\n"
	"  auc        ROC AUC by the rank-sum formula; tied scores get their average rank\n"
	"  logloss    mean of -(y ln p + (1 - y) ln(1 - p)), p clipped to [1e-15, 1 - 1e-15]\n"
	"  brier      mean of (p - y)^2\n"
	"  ece        expected calibration error: 15 equal-width bins over [0, 1] (bin\n"
	"             min(floor(15 p), 14)), sum over bins of |mean p - share of y = 1| times\n"
	"             the bin's rows, divided by n\n"
	"  n, positives, and confusion.{tp, fp, tn, fn}\n"
	"\n"
	"Options:\n"
	"  --model FILE    model.json written by `ntml train`\n"
	"  --test FILE     labelled CSV (both classes needed), standardised like the training\n"
	"                  data\n"
	"  --scaler FILE   standardise the input with this scaler.json first (for raw data)\n"
	"  --out FILE      output JSON; missing folders are created\n";

typedef struct {
	size_t k;
	char **names;
	double *w;
	double b;
} model;

static void
model_free(model *m)
{
	if (!m)
		return;
	for (size_t j = 0; j < m->k && m->names; j++)
		free(m->names[j]);
	free(m->names);
	free(m->w);
	free(m);
}

static double
sigmoid(double z)
{
	if (z >= 0)
		return 1.0 / (1.0 + exp(-z));
	double e = exp(z);
	return e / (1.0 + e);
}

/* Log-loss of one row from its logit, without overflow or cancellation. */
static double
logit_loss(double z, double y)
{
	return (z > 0 ? z : 0) - y * z + log1p(exp(-fabs(z)));
}

static double
score(const model *m, const double *x)
{
	double z = m->b;

	for (size_t j = 0; j < m->k; j++)
		z += m->w[j] * x[j];
	return z;
}

/* Copies the columns NAMES of T into an n x k matrix (and the labels into *y, when asked). */
static int
extract(double **xout, double **yout, const ntml_table *t, char *const *names, size_t k,
	const char *who)
{
	int *col = ntml_xmalloc(k * sizeof(*col));
	double *x = NULL, *y = NULL;
	int err = -1;

	*xout = NULL;
	if (yout)
		*yout = NULL;
	for (size_t j = 0; j < k; j++) {
		if ((col[j] = ntml_table_col(t, names[j])) < 0) {
			err = ntml_fail("%s: no column '%s' (%s has it)", t->path, names[j], who);
			goto done;
		}
	}
	x = ntml_xmalloc(t->nrow * k * sizeof(*x));
	for (size_t i = 0; i < t->nrow; i++)
		for (size_t j = 0; j < k; j++)
			x[i * k + j] = t->v[i * t->ncol + col[j]];
	if (yout) {
		y = ntml_xmalloc(t->nrow * sizeof(*y));
		for (size_t i = 0; i < t->nrow; i++)
			y[i] = t->v[i * t->ncol + t->label];
		*yout = y;
	}
	*xout = x;
	x = NULL;
	err = 0;
done:
	free(col);
	free(x);
	return err;
}

/* Standardises the columns of X in place with a scaler.json of `ntml prep`. */
static int
apply_scaler(double *x, size_t n, char *const *names, size_t k, const char *path)
{
	cJSON *root = NULL;
	int err = -1;

	if (ntml_json_read(&root, path) < 0)
		goto done;
	const cJSON *mean = cJSON_GetObjectItemCaseSensitive(root, "mean");
	const cJSON *sd = cJSON_GetObjectItemCaseSensitive(root, "std");
	for (size_t j = 0; j < k; j++) {
		const cJSON *mj = cJSON_GetObjectItemCaseSensitive(mean, names[j]);
		const cJSON *sj = cJSON_GetObjectItemCaseSensitive(sd, names[j]);

		if (!cJSON_IsNumber(mj) || !cJSON_IsNumber(sj) || !(sj->valuedouble > 0)) {
			err = ntml_fail("%s: no mean and std for feature '%s'", path, names[j]);
			goto done;
		}
		for (size_t i = 0; i < n; i++)
			x[i * k + j] = (x[i * k + j] - mj->valuedouble) / sj->valuedouble;
	}
	err = 0;
done:
	cJSON_Delete(root);
	return err;
}

static int
model_load(model **out, const char *path)
{
	cJSON *root = NULL;
	model *m = ntml_xcalloc(1, sizeof(*m));
	int err = -1;

	*out = NULL;
	if (ntml_json_read(&root, path) < 0)
		goto done;
	const cJSON *names = cJSON_GetObjectItemCaseSensitive(root, "features");
	const cJSON *weights = cJSON_GetObjectItemCaseSensitive(root, "weights");
	const cJSON *bias = cJSON_GetObjectItemCaseSensitive(root, "bias");
	if (!cJSON_IsArray(names) || !cJSON_IsObject(weights) || !cJSON_IsNumber(bias) ||
	    cJSON_GetArraySize(names) < 1) {
		err = ntml_fail("%s: not a model of `ntml train` (needs features, weights, bias)", path);
		goto done;
	}
	m->k = (size_t)cJSON_GetArraySize(names);
	m->names = ntml_xcalloc(m->k, sizeof(*m->names));
	m->w = ntml_xcalloc(m->k, sizeof(*m->w));
	m->b = bias->valuedouble;
	size_t j = 0;
	for (const cJSON *it = names->child; it; it = it->next, j++) {
		if (!cJSON_IsString(it)) {
			err = ntml_fail("%s: feature %zu is not a name", path, j + 1);
			goto done;
		}
		m->names[j] = ntml_xstrdup(it->valuestring);
		const cJSON *w = cJSON_GetObjectItemCaseSensitive(weights, it->valuestring);
		if (!cJSON_IsNumber(w)) {
			err = ntml_fail("%s: no weight for feature '%s'", path, it->valuestring);
			goto done;
		}
		m->w[j] = w->valuedouble;
	}
	*out = m;
	m = NULL;
	err = 0;
done:
	cJSON_Delete(root);
	model_free(m);
	return err;
}

typedef struct {
	double p, y;
} scored;

static int
cmp_scored(const void *a, const void *b)
{
	double x = ((const scored *)a)->p, y = ((const scored *)b)->p;

	return (x > y) - (x < y);
}

/* ROC AUC as the normalised rank sum of the positives, ties at their average rank. */
static double
roc_auc(const double *p, const double *y, size_t n)
{
	scored *s = ntml_xmalloc(n * sizeof(*s));
	double npos = 0, rank_sum = 0;

	for (size_t i = 0; i < n; i++) {
		s[i].p = p[i];
		s[i].y = y[i];
		npos += y[i];
	}
	qsort(s, n, sizeof(*s), cmp_scored);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		double pos = 0;

		while (j < n && s[j].p == s[i].p)
			pos += s[j++].y;
		rank_sum += pos * ((double)(i + 1) + (double)j) / 2.0;  /* ranks i+1 .. j */
		i = j;
	}
	free(s);
	double nneg = (double)n - npos;
	return (rank_sum - npos * (npos + 1) / 2.0) / (npos * nneg);
}

static double
mean_logloss(const double *p, const double *y, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++) {
		double q = p[i] < PROB_CLIP ? PROB_CLIP : p[i] > 1 - PROB_CLIP ? 1 - PROB_CLIP : p[i];
		s -= y[i] ? log(q) : log(1 - q);
	}
	return s / (double)n;
}

static double
expected_calibration_error(const double *p, const double *y, size_t n)
{
	double sum_p[ECE_BINS] = { 0 }, sum_y[ECE_BINS] = { 0 }, count[ECE_BINS] = { 0 }, e = 0;

	for (size_t i = 0; i < n; i++) {
		int b = (int)floor(p[i] * ECE_BINS);

		b = b < 0 ? 0 : b >= ECE_BINS ? ECE_BINS - 1 : b;
		sum_p[b] += p[i];
		sum_y[b] += y[i];
		count[b]++;
	}
	for (int b = 0; b < ECE_BINS; b++)
		if (count[b] > 0)
			e += fabs(sum_p[b] / count[b] - sum_y[b] / count[b]) * count[b];
	return e / (double)n;
}

/* ---- train ---- */

typedef struct {
	const char *train, *val, *out, *scaler;
	double lr, l2;
	long epochs, patience;
	uint64_t seed;
} train_opts;

static double
val_loss(const model *m, const double *x, const double *y, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += logit_loss(score(m, x + i * m->k), y[i]);
	return s / (double)n;
}

static char *
default_scaler(const char *train)
{
	const char *slash = strrchr(train, '/');
	size_t dirlen = slash ? (size_t)(slash - train) + 1 : 0;
	char *path = ntml_xmalloc(dirlen + sizeof("scaler.json"));
	struct stat st;

	memcpy(path, train, dirlen);
	strcpy(path + dirlen, "scaler.json");
	if (stat(path, &st) < 0) {
		free(path);
		return NULL;
	}
	return path;
}

/* Solves A d = b in place for a symmetric positive definite K x K matrix (Cholesky);
 * returns -1 when A is not positive definite. */
static int
cholesky_solve(double *a, double *b, size_t K)
{
	for (size_t j = 0; j < K; j++) {
		double d = a[j * K + j];

		for (size_t q = 0; q < j; q++)
			d -= a[j * K + q] * a[j * K + q];
		if (!(d > 0))
			return -1;
		a[j * K + j] = d = sqrt(d);
		for (size_t i = j + 1; i < K; i++) {
			double v = a[i * K + j];

			for (size_t q = 0; q < j; q++)
				v -= a[i * K + q] * a[j * K + q];
			a[i * K + j] = v / d;
		}
	}
	for (size_t i = 0; i < K; i++) {         /* L z = b */
		for (size_t q = 0; q < i; q++)
			b[i] -= a[i * K + q] * b[q];
		b[i] /= a[i * K + i];
	}
	for (size_t i = K; i-- > 0;) {           /* L^T d = z */
		for (size_t q = i + 1; q < K; q++)
			b[i] -= a[q * K + i] * b[q];
		b[i] /= a[i * K + i];
	}
	return 0;
}

/* The training rows, stored by column so that the sums over rows run over contiguous
 * memory, with the work arrays of one Newton step. */
typedef struct {
	size_t n, k;
	double *col;     /* k columns of n values */
	const double *y;
	double *z, *r, *wt, *u;
} newton_work;

static void
newton_work_init(newton_work *nw, const double *x, const double *y, size_t n, size_t k)
{
	nw->n = n;
	nw->k = k;
	nw->y = y;
	nw->col = ntml_xmalloc(n * k * sizeof(*nw->col));
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < k; j++)
			nw->col[j * n + i] = x[i * k + j];
	nw->z = ntml_xmalloc(n * sizeof(*nw->z));
	nw->r = ntml_xmalloc(n * sizeof(*nw->r));
	nw->wt = ntml_xmalloc(n * sizeof(*nw->wt));
	nw->u = ntml_xmalloc(n * sizeof(*nw->u));
}

static void
newton_work_release(newton_work *nw)
{
	free(nw->col);
	free(nw->z);
	free(nw->r);
	free(nw->wt);
	free(nw->u);
}

/* Four running sums, so the additions do not wait on each other. */
static double
dot(const double *restrict a, const double *restrict b, size_t n)
{
	double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	size_t i = 0;

	for (; i + 4 <= n; i += 4) {
		s0 += a[i] * b[i];
		s1 += a[i + 1] * b[i + 1];
		s2 += a[i + 2] * b[i + 2];
		s3 += a[i + 3] * b[i + 3];
	}
	for (; i < n; i++)
		s0 += a[i] * b[i];
	return (s0 + s1) + (s2 + s3);
}

/* One epoch: the gradient g and Hessian H of the penalised mean log-loss over all training
 * rows, then (w, b) -= lr H^-1 g. The parameters are (w_1..w_k, b); b is not penalised. */
static int
newton_step(model *m, newton_work *nw, double lr, double l2)
{
	size_t n = nw->n, k = m->k, K = k + 1;
	double *restrict z = nw->z, *restrict r = nw->r, *restrict wt = nw->wt;
	double *restrict u = nw->u;
	double *g = ntml_xcalloc(K, sizeof(*g)), *h = ntml_xcalloc(K * K, sizeof(*h));
	double *hh = ntml_xmalloc(K * K * sizeof(*hh)), *d = ntml_xmalloc(K * sizeof(*d));
	int err = -1;

	for (size_t i = 0; i < n; i++)
		z[i] = m->b;
	for (size_t j = 0; j < k; j++) {
		const double *restrict c = nw->col + j * n;
		double w = m->w[j];

		for (size_t i = 0; i < n; i++)
			z[i] += w * c[i];
	}
	for (size_t i = 0; i < n; i++) {
		double p = sigmoid(z[i]);

		r[i] = p - nw->y[i];
		wt[i] = p * (1 - p);
	}
	/* H[a][c] is the sum over rows of wt x_a x_c, with x_k = 1 for the bias; H is
	 * symmetric, so only c <= a is summed. */
	for (size_t i = 0; i < n; i++)
		u[i] = 1.0;
	g[k] = dot(r, u, n);
	h[k * K + k] = dot(wt, u, n);
	for (size_t a = 0; a < k; a++) {
		const double *ca = nw->col + a * n;

		for (size_t i = 0; i < n; i++)
			u[i] = wt[i] * ca[i];
		g[a] = dot(r, ca, n);
		for (size_t c = 0; c <= a; c++)
			h[a * K + c] = h[c * K + a] = dot(u, nw->col + c * n, n);
		for (size_t i = 0; i < n; i++)
			h[k * K + a] += u[i];
		h[a * K + k] = h[k * K + a];
	}
	for (size_t a = 0; a < K; a++) {
		g[a] /= (double)n;
		for (size_t c = 0; c < K; c++)
			h[a * K + c] /= (double)n;
	}
	for (size_t a = 0; a < k; a++) {
		g[a] += l2 * m->w[a];
		h[a * K + a] += l2;
	}
	/* Without a penalty H can be (nearly) singular: add the smallest ridge that works. */
	for (double ridge = 0; ridge <= 1e-2; ridge = ridge ? ridge * 100 : 1e-12) {
		memcpy(hh, h, K * K * sizeof(*hh));
		memcpy(d, g, K * sizeof(*d));
		for (size_t a = 0; a < K; a++)
			hh[a * K + a] += ridge;
		if (cholesky_solve(hh, d, K) == 0) {
			err = 0;
			break;
		}
	}
	for (size_t a = 0; a < K && err == 0; a++)
		if (!isfinite(d[a]) || !isfinite((a < k ? m->w[a] : m->b) - lr * d[a]))
			err = -1;
	if (err == 0) {
		for (size_t a = 0; a < k; a++)
			m->w[a] -= lr * d[a];
		m->b -= lr * d[k];
	}
	free(g);
	free(h);
	free(hh);
	free(d);
	return err;
}

static int
train(const train_opts *o)
{
	ntml_table *tt = NULL, *vt = NULL;
	double *x = NULL, *y = NULL, *vx = NULL, *vy = NULL, *best_w = NULL;
	newton_work nw = { 0 };
	double *p = NULL;
	model m = { 0 };
	char *scaler = NULL, *path = NULL;
	cJSON *mj = NULL, *metrics = NULL;
	int err = -1;

	if (ntml_table_read(&tt, o->train, NTML_CSV_STRICT, 1) < 0 ||
	    ntml_table_check_classes(tt) < 0 ||
	    ntml_table_read(&vt, o->val, NTML_CSV_STRICT, 1) < 0 ||
	    ntml_table_check_classes(vt) < 0)
		goto done;
	if (tt->ncol < 2u + (tt->slice >= 0)) {
		err = ntml_fail("%s: no feature columns besides '%s'", o->train, NTML_LABEL);
		goto done;
	}
	m.k = tt->ncol - 1 - (tt->slice >= 0);
	m.names = ntml_xcalloc(m.k, sizeof(*m.names));
	for (size_t j = 0, k = 0; j < tt->ncol; j++)
		if (ntml_table_is_feature(tt, j))
			m.names[k++] = tt->names[j];  /* borrowed from the table */
	if (extract(&x, &y, tt, m.names, m.k, "the training file") < 0 ||
	    extract(&vx, &vy, vt, m.names, m.k, "the training file") < 0)
		goto done;

	size_t n = tt->nrow, vn = vt->nrow, k = m.k;
	double share = ntml_table_label_share(tt);
	m.w = ntml_xcalloc(k, sizeof(*m.w));
	m.b = log(share / (1 - share));
	if (o->seed) {
		ntml_rng r;

		ntml_rng_seed(&r, o->seed);
		for (size_t j = 0; j < k; j++)
			m.w[j] = (ntml_rng_uniform(&r) * 2 - 1) * 0.01;
	}
	best_w = ntml_xmalloc(k * sizeof(*best_w));
	memcpy(best_w, m.w, k * sizeof(*best_w));
	double best_b = m.b, best_loss = val_loss(&m, vx, vy, vn);
	long epoch, best_epoch = 0, since = 0;

	newton_work_init(&nw, x, y, n, k);
	for (epoch = 1; epoch <= o->epochs && since < o->patience; epoch++) {
		if (newton_step(&m, &nw, o->lr, o->l2) < 0)
			break;  /* no usable step: keep the best epoch so far */
		double loss = val_loss(&m, vx, vy, vn);
		if (loss < best_loss - MIN_DELTA) {
			best_loss = loss;
			best_epoch = epoch;
			memcpy(best_w, m.w, k * sizeof(*best_w));
			best_b = m.b;
			since = 0;
		} else {
			since++;
		}
	}
	long epochs_run = epoch - 1;
	memcpy(m.w, best_w, k * sizeof(*best_w));
	m.b = best_b;

	p = ntml_xmalloc(vn * sizeof(*p));
	for (size_t i = 0; i < vn; i++)
		p[i] = sigmoid(score(&m, vx + i * k));
	double auc = roc_auc(p, vy, vn);
	double train_loss = val_loss(&m, x, y, n);

	scaler = o->scaler ? ntml_xstrdup(o->scaler) : default_scaler(o->train);
	mj = cJSON_CreateObject();
	cJSON_AddStringToObject(mj, "format", "ntml-logreg/1");
	cJSON *jnames = cJSON_AddArrayToObject(mj, "features");
	cJSON *jw = cJSON_AddObjectToObject(mj, "weights");
	for (size_t j = 0; j < k; j++) {
		cJSON_AddItemToArray(jnames, cJSON_CreateString(m.names[j]));
		cJSON_AddNumberToObject(jw, m.names[j], m.w[j]);
	}
	cJSON_AddNumberToObject(mj, "bias", m.b);
	if (scaler)
		cJSON_AddStringToObject(mj, "scaler", scaler);
	else
		cJSON_AddNullToObject(mj, "scaler");
	cJSON_AddNumberToObject(mj, "lr", o->lr);
	cJSON_AddNumberToObject(mj, "l2", o->l2);
	cJSON_AddNumberToObject(mj, "epochs", (double)epochs_run);
	cJSON_AddNumberToObject(mj, "best_epoch", (double)best_epoch);
	cJSON_AddNumberToObject(mj, "max_epochs", (double)o->epochs);
	cJSON_AddNumberToObject(mj, "patience", (double)o->patience);
	cJSON_AddNumberToObject(mj, "seed", (double)o->seed);
	cJSON_AddNumberToObject(mj, "train_rows", (double)n);
	cJSON_AddNumberToObject(mj, "val_rows", (double)vn);
	cJSON_AddStringToObject(mj, "train", o->train);
	cJSON_AddStringToObject(mj, "val", o->val);

	metrics = cJSON_CreateObject();
	cJSON_AddNumberToObject(metrics, "val_auc", auc);
	cJSON_AddNumberToObject(metrics, "val_logloss", best_loss);
	cJSON_AddNumberToObject(metrics, "train_logloss", train_loss);
	cJSON_AddNumberToObject(metrics, "epochs", (double)epochs_run);
	cJSON_AddNumberToObject(metrics, "best_epoch", (double)best_epoch);
	cJSON_AddNumberToObject(metrics, "lr", o->lr);
	cJSON_AddNumberToObject(metrics, "l2", o->l2);

	if (ntml_mkdirs(o->out) < 0)
		goto done;
	path = ntml_xmalloc(strlen(o->out) + sizeof("/metrics.json"));
	sprintf(path, "%s/model.json", o->out);
	if (ntml_json_write(path, mj) < 0)
		goto done;
	sprintf(path, "%s/metrics.json", o->out);
	if (ntml_json_write(path, metrics) < 0)
		goto done;
	printf("ntml train: lr=%g l2=%g: %ld epochs (best %ld%s), val_auc %.4f, val_logloss %.4f "
	       "-> %s/\n", o->lr, o->l2, epochs_run, best_epoch,
	       since >= o->patience ? ", stopped early" : "", auc, best_loss, o->out);
	err = 0;
done:
	free(m.names);
	free(m.w);
	free(x);
	free(y);
	free(vx);
	free(vy);
	free(best_w);
	newton_work_release(&nw);
	free(p);
	free(scaler);
	free(path);
	cJSON_Delete(mj);
	cJSON_Delete(metrics);
	ntml_table_free(tt);
	ntml_table_free(vt);
	return err;
}

int
ntml_cmd_train(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "train", required_argument, NULL, 't' },
		{ "val", required_argument, NULL, 'v' },
		{ "lr", required_argument, NULL, 'r' },
		{ "l2", required_argument, NULL, 'l' },
		{ "epochs", required_argument, NULL, 'e' },
		{ "patience", required_argument, NULL, 'p' },
		{ "seed", required_argument, NULL, 's' },
		{ "scaler", required_argument, NULL, 'c' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	train_opts o = { .lr = -1, .l2 = -1, .epochs = 500, .patience = 20 };
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		int bad = 0;

		switch (c) {
		case 't':
			o.train = optarg;
			break;
		case 'v':
			o.val = optarg;
			break;
		case 'r':
			bad = ntml_parse_double(&o.lr, "--lr", optarg) < 0;
			if (!bad && !(o.lr > 0 && o.lr <= 1))
				bad = ntml_fail("--lr: must be in (0, 1], got '%s'", optarg) < 0;
			break;
		case 'l':
			bad = ntml_parse_double(&o.l2, "--l2", optarg) < 0;
			if (!bad && !(o.l2 >= 0))
				bad = ntml_fail("--l2: must be >= 0, got '%s'", optarg) < 0;
			break;
		case 'e':
			bad = ntml_parse_long(&o.epochs, "--epochs", optarg, 1, 10000000) < 0;
			break;
		case 'p':
			bad = ntml_parse_long(&o.patience, "--patience", optarg, 1, 10000000) < 0;
			break;
		case 's':
			bad = ntml_parse_seed(&o.seed, "--seed", optarg) < 0;
			break;
		case 'c':
			o.scaler = optarg;
			break;
		case 'o':
			o.out = optarg;
			break;
		case 'h':
			fputs(ntml_help_train, stdout);
			return 0;
		case ':':
			return ntml_usage_error("train", "option '%s' needs a value", argv[optind - 1]);
		default:
			return ntml_usage_error("train", "unknown option '%s'", argv[optind - 1]);
		}
		if (bad)
			return ntml_usage_error("train", "%s", ntml_error());
	}
	if (optind < argc)
		return ntml_usage_error("train", "unexpected argument '%s'", argv[optind]);
	if (!o.train)
		return ntml_usage_error("train", "--train is required");
	if (!o.val)
		return ntml_usage_error("train", "--val is required");
	if (o.lr < 0)
		return ntml_usage_error("train", "--lr is required");
	if (o.l2 < 0)
		return ntml_usage_error("train", "--l2 is required");
	if (!o.out)
		return ntml_usage_error("train", "--out is required");
	if (train(&o) < 0)
		return ntml_data_error();
	return 0;
}

/* ---- predict and eval ---- */

/* Loads the model and scores every row of IN; *y gets the labels when need_label, and
 * *tout (when not NULL) the table, for its slice column. */
static int
score_file(double **pout, double **yout, size_t *nout, const char *model_path, const char *in,
	   const char *scaler, int need_label, ntml_table **tout)
{
	model *m = NULL;
	ntml_table *t = NULL;
	double *x = NULL, *p = NULL;
	int err = -1;

	*pout = NULL;
	if (yout)
		*yout = NULL;
	if (model_load(&m, model_path) < 0 ||
	    ntml_table_read(&t, in, NTML_CSV_STRICT, need_label) < 0 ||
	    (need_label && ntml_table_check_classes(t) < 0) ||
	    extract(&x, need_label ? yout : NULL, t, m->names, m->k, "the model") < 0 ||
	    (scaler && apply_scaler(x, t->nrow, m->names, m->k, scaler) < 0))
		goto done;
	p = ntml_xmalloc(t->nrow * sizeof(*p));
	for (size_t i = 0; i < t->nrow; i++)
		p[i] = sigmoid(score(m, x + i * m->k));
	*pout = p;
	*nout = t->nrow;
	if (tout) {
		*tout = t;
		t = NULL;
	}
	err = 0;
done:
	if (err < 0 && yout) {
		free(*yout);
		*yout = NULL;
	}
	free(x);
	model_free(m);
	ntml_table_free(t);
	return err;
}

static int
predict(const char *model_path, const char *in, const char *scaler, const char *out)
{
	double *p = NULL;
	size_t n = 0;
	FILE *f = NULL;
	int to_stdout = !strcmp(out, "-"), err = -1;

	if (score_file(&p, NULL, &n, model_path, in, scaler, 0, NULL) < 0)
		goto done;
	if (to_stdout) {
		f = stdout;
	} else if (ntml_mkdirs_for(out) < 0) {
		goto done;
	} else if (!(f = fopen(out, "w"))) {
		err = ntml_fail("cannot write '%s': %s", out, strerror(errno));
		goto done;
	}
	fputs("p\n", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%.17g\n", p[i]);
	if (fflush(f) != 0 || ferror(f)) {
		err = ntml_fail("cannot write '%s': %s", out, strerror(errno));
		goto done;
	}
	err = 0;
done:
	if (f && !to_stdout && fclose(f) != 0 && !err)
		err = ntml_fail("cannot write '%s': %s", out, strerror(errno));
	free(p);
	return err;
}

/* The metrics of one slice of the test rows (those of level g of the slice column):
 * accuracy, precision, recall, AUC (when the slice has both classes), ECE and n. */
static void
slice_metrics(cJSON *obj, const double *p, const double *y, size_t n, const ntml_table *t, size_t g)
{
	double *sp = ntml_xmalloc((n ? n : 1) * sizeof(*sp)), *sy = ntml_xmalloc((n ? n : 1) * sizeof(*sy));
	size_t m = 0, tp = 0, fp = 0, tn = 0, fn = 0;

	for (size_t i = 0; i < n; i++) {
		if ((size_t)t->v[i * t->ncol + t->slice] != g)
			continue;
		sp[m] = p[i];
		sy[m] = y[i];
		m++;
	}
	for (size_t i = 0; i < m; i++) {
		int pred = sp[i] >= 0.5;

		if (pred && sy[i])
			tp++;
		else if (pred)
			fp++;
		else if (sy[i])
			fn++;
		else
			tn++;
	}
	cJSON_AddNumberToObject(obj, "accuracy", (double)(tp + tn) / (double)m);
	cJSON_AddNumberToObject(obj, "precision", tp + fp ? (double)tp / (double)(tp + fp) : 0.0);
	cJSON_AddNumberToObject(obj, "recall", tp + fn ? (double)tp / (double)(tp + fn) : 0.0);
	if (tp + fn > 0 && tn + fp > 0)
		cJSON_AddNumberToObject(obj, "auc", roc_auc(sp, sy, m));
	cJSON_AddNumberToObject(obj, "ece", expected_calibration_error(sp, sy, m));
	cJSON_AddNumberToObject(obj, "n", (double)m);
	free(sp);
	free(sy);
}

static int
evaluate(const char *model_path, const char *in, const char *scaler, const char *out)
{
	double *p = NULL, *y = NULL;
	size_t n = 0, tp = 0, fp = 0, tn = 0, fn = 0;
	double brier = 0;
	cJSON *root = NULL;
	ntml_table *t = NULL;
	int err = -1;

	if (score_file(&p, &y, &n, model_path, in, scaler, 1, &t) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		int pred = p[i] >= 0.5;

		if (pred && y[i])
			tp++;
		else if (pred)
			fp++;
		else if (y[i])
			fn++;
		else
			tn++;
		brier += (p[i] - y[i]) * (p[i] - y[i]);
	}
	double accuracy = (double)(tp + tn) / (double)n;
	double precision = tp + fp ? (double)tp / (double)(tp + fp) : 0.0;
	double recall = tp + fn ? (double)tp / (double)(tp + fn) : 0.0;
	double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
	double auc = roc_auc(p, y, n);
	double logloss = mean_logloss(p, y, n);
	double ece = expected_calibration_error(p, y, n);

	root = cJSON_CreateObject();
	cJSON_AddNumberToObject(root, "accuracy", accuracy);
	cJSON_AddNumberToObject(root, "precision", precision);
	cJSON_AddNumberToObject(root, "recall", recall);
	cJSON_AddNumberToObject(root, "f1", f1);
	cJSON_AddNumberToObject(root, "auc", auc);
	cJSON_AddNumberToObject(root, "logloss", logloss);
	cJSON_AddNumberToObject(root, "brier", brier / (double)n);
	cJSON_AddNumberToObject(root, "ece", ece);
	cJSON_AddNumberToObject(root, "n", (double)n);
	cJSON_AddNumberToObject(root, "positives", (double)(tp + fn));
	cJSON *conf = cJSON_AddObjectToObject(root, "confusion");
	cJSON_AddNumberToObject(conf, "tp", (double)tp);
	cJSON_AddNumberToObject(conf, "fp", (double)fp);
	cJSON_AddNumberToObject(conf, "tn", (double)tn);
	cJSON_AddNumberToObject(conf, "fn", (double)fn);
	if (t->slice >= 0) {   /* per region: "slices": {"region=EU": {...}, ...} */
		cJSON *slices = cJSON_AddObjectToObject(root, "slices");

		for (size_t g = 0; g < t->nlevels; g++) {
			char *name = ntml_xmalloc(strlen(NTML_SLICE) + strlen(t->levels[g]) + 2);

			sprintf(name, "%s=%s", NTML_SLICE, t->levels[g]);
			slice_metrics(cJSON_AddObjectToObject(slices, name), p, y, n, t, g);
			free(name);
		}
	}
	if (ntml_json_write(out, root) < 0)
		goto done;
	printf("ntml eval: %s: n %zu, accuracy %.4f, auc %.4f, logloss %.4f, brier %.4f, ece %.4f "
	       "-> %s\n", in, n, accuracy, auc, logloss, brier / (double)n, ece, out);
	err = 0;
done:
	cJSON_Delete(root);
	ntml_table_free(t);
	free(p);
	free(y);
	return err;
}

/* predict and eval take the same options but for the input's name. */
static int
score_cmd(int argc, char **argv, int is_eval)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "in", required_argument, NULL, 'i' },
		{ "test", required_argument, NULL, 't' },
		{ "scaler", required_argument, NULL, 'c' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = is_eval ? "eval" : "predict";
	const char *model_path = NULL, *in = NULL, *scaler = NULL, *out = NULL;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			model_path = optarg;
			break;
		case 'i':
		case 't':
			if ((c == 't') != is_eval)
				return ntml_usage_error(cmd, "unknown option '%s'",
							c == 't' ? "--test" : "--in");
			in = optarg;
			break;
		case 'c':
			scaler = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			fputs(is_eval ? ntml_help_eval : ntml_help_predict, stdout);
			return 0;
		case ':':
			return ntml_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
		default:
			return ntml_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return ntml_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (!model_path)
		return ntml_usage_error(cmd, "--model is required");
	if (!in)
		return ntml_usage_error(cmd, is_eval ? "--test is required" : "--in is required");
	if (!out)
		return ntml_usage_error(cmd, "--out is required");
	if ((is_eval ? evaluate : predict)(model_path, in, scaler, out) < 0)
		return ntml_data_error();
	return 0;
}

int
ntml_cmd_predict(int argc, char **argv)
{
	return score_cmd(argc, argv, 0);
}

int
ntml_cmd_eval(int argc, char **argv)
{
	return score_cmd(argc, argv, 1);
}
