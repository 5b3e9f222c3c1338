/* ntml.h: the internal interfaces of ntml, the example ML stage program that the shipped
 * pipelines run; it stands on its own (libc, libm, cJSON) and shares nothing with ntflow. */
#ifndef NTML_H
#define NTML_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Exit statuses: a data problem (bad or missing file) and a usage mistake (bad options). */
#define NTML_EXIT_DATA  1
#define NTML_EXIT_USAGE 2

#define NTML_LABEL "label"
/* The slice column: a category per row (the merchant region), never a feature; ntml eval
 * writes its metrics per value of it. */
#define NTML_SLICE "region"

/* Errors: a function that fails sets the message and returns -1; main prints it. */
int ntml_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *ntml_error(void);

/* Allocation that aborts with a message rather than returning NULL. */
void *ntml_xmalloc(size_t n);
void *ntml_xcalloc(size_t n, size_t size);
void *ntml_xrealloc(void *p, size_t n);
char *ntml_xstrdup(const char *s);

/* Option values: each returns 0, or -1 with a message naming the option. */
int ntml_parse_double(double *out, const char *opt, const char *s);
int ntml_parse_long(long *out, const char *opt, const char *s, long min, long max);
int ntml_parse_seed(uint64_t *out, const char *opt, const char *s);

/* Files: create the folders above PATH (mkdir -p of its dirname); write JSON with a newline. */
int ntml_mkdirs(const char *dir);
int ntml_mkdirs_for(const char *path);
int ntml_json_write(const char *path, const cJSON *root);
int ntml_json_read(cJSON **out, const char *path);

/* xoshiro256** seeded through splitmix64: small, fast, and the same on every platform. */
typedef struct {
	uint64_t s[4];
} ntml_rng;

void ntml_rng_seed(ntml_rng *r, uint64_t seed);
uint64_t ntml_rng_next(ntml_rng *r);
double ntml_rng_uniform(ntml_rng *r);           /* [0, 1) with 53 random bits */
uint64_t ntml_rng_below(ntml_rng *r, uint64_t n); /* uniform in [0, n), unbiased */

/* A numeric CSV table: a header of unique names, then rows of numbers (row-major). */
typedef struct {
	char *path;
	size_t ncol;
	char **names;
	size_t nrow;
	double *v;          /* nrow * ncol values */
	int label;          /* column of NTML_LABEL, or -1 */
	int slice;          /* column of NTML_SLICE, or -1: its cells are indexes into levels */
	char **levels;      /* the slice column's values, in order of first appearance */
	size_t nlevels;
	size_t rows_in;     /* data lines read (including dropped ones) */
	size_t drop_width;  /* dropped: wrong number of fields */
	size_t drop_missing;/* dropped: an empty cell */
	size_t drop_number; /* dropped: a cell that is not a finite number */
	size_t drop_label;  /* dropped: a label other than 0 or 1 */
} ntml_table;

enum {
	NTML_CSV_STRICT = 0,   /* the first bad cell is an error naming file:line and column */
	NTML_CSV_DROP = 1,     /* rows with a bad cell are dropped and counted */
};

/* Reads PATH; with need_label, a missing `label` column is an error (found before any row). */
int ntml_table_read(ntml_table **out, const char *path, int mode, int need_label);
void ntml_table_free(ntml_table *t);
int ntml_table_col(const ntml_table *t, const char *name);
/* Whether column j is a feature: neither the label nor the slice column. */
int ntml_table_is_feature(const ntml_table *t, size_t j);
/* 0 when both classes occur in the label column, else -1 with a message. */
int ntml_table_check_classes(const ntml_table *t);
double ntml_table_label_share(const ntml_table *t);

/* Sorting helpers shared by the metrics. */
void ntml_sort_doubles(double *v, size_t n);

/* The subcommands: each takes its own argv (argv[0] is the command name) and returns the
 * exit status. */
int ntml_cmd_gen(int argc, char **argv);
int ntml_cmd_prep(int argc, char **argv);
int ntml_cmd_train(int argc, char **argv);
int ntml_cmd_predict(int argc, char **argv);
int ntml_cmd_eval(int argc, char **argv);
int ntml_cmd_drift(int argc, char **argv);

/* Help texts, one per command, printed by `ntml CMD --help` and on usage errors. */
extern const char ntml_help_gen[];
extern const char ntml_help_prep[];
extern const char ntml_help_train[];
extern const char ntml_help_predict[];
extern const char ntml_help_eval[];
extern const char ntml_help_drift[];
extern const char ntml_schedule[];   /* the drift schedule of `ntml gen`, for `ntml --help` */

/* Prints "ntml CMD: MESSAGE" and a pointer to --help on stderr; returns NTML_EXIT_USAGE. */
int ntml_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "ntml: <last error>" on stderr; returns NTML_EXIT_DATA. */
int ntml_data_error(void);

#endif
