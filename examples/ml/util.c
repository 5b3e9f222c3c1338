/* util.c: what every ntml command needs: the error message, allocation that cannot fail
 * silently, strict option parsing, folders and JSON files, and the seeded PRNG. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "ntml.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char last_error[1024];

int
ntml_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return -1;
}

const char *
ntml_error(void)
{
	return last_error;
}

static void
out_of_memory(size_t n)
{
	fprintf(stderr, "ntml: out of memory (%zu bytes)\n", n);
	abort();
}

void *
ntml_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		out_of_memory(n);
	return p;
}

void *
ntml_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		out_of_memory(n * size);
	return p;
}

void *
ntml_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		out_of_memory(n);
	return q;
}

char *
ntml_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(ntml_xmalloc(n), s, n);
}

int
ntml_parse_double(double *out, const char *opt, const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end || errno || !isfinite(v))
		return ntml_fail("%s: not a number: '%s'", opt, s);
	*out = v;
	return 0;
}

int
ntml_parse_long(long *out, const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end || errno)
		return ntml_fail("%s: not an integer: '%s'", opt, s);
	if (v < min || v > max)
		return ntml_fail("%s: %ld is out of range [%ld, %ld]", opt, v, min, max);
	*out = v;
	return 0;
}

int
ntml_parse_seed(uint64_t *out, const char *opt, const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (*s == '-')
		return ntml_fail("%s: not a non-negative integer: '%s'", opt, s);
	v = strtoull(s, &end, 10);
	if (end == s || *end || errno)
		return ntml_fail("%s: not a non-negative integer: '%s'", opt, s);
	*out = v;
	return 0;
}

int
ntml_mkdirs(const char *dir)
{
	char *p = ntml_xstrdup(dir);
	int err = 0;

	/* Create each prefix in turn; an existing folder is fine, anything else is not. */
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;
		*s = 0;
		if (mkdir(p, 0777) < 0 && errno != EEXIST) {
			err = ntml_fail("cannot create folder '%s': %s", p, strerror(errno));
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	if (!err) {
		struct stat st;

		if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
			err = ntml_fail("'%s' is not a folder", p);
	}
	free(p);
	return err;
}

int
ntml_mkdirs_for(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int err;

	if (!slash || slash == path)
		return 0;
	dir = ntml_xstrdup(path);
	dir[slash - path] = 0;
	err = ntml_mkdirs(dir);
	free(dir);
	return err;
}

int
ntml_json_write(const char *path, const cJSON *root)
{
	char *text = NULL;
	FILE *f = NULL;
	int err = -1;

	if (ntml_mkdirs_for(path) < 0)
		goto done;
	if (!(text = cJSON_Print(root))) {
		err = ntml_fail("cannot format JSON for '%s'", path);
		goto done;
	}
	if (!(f = fopen(path, "w"))) {
		err = ntml_fail("cannot write '%s': %s", path, strerror(errno));
		goto done;
	}
	fputs(text, f);
	fputc('\n', f);
	if (fclose(f) != 0) {
		f = NULL;
		err = ntml_fail("cannot write '%s': %s", path, strerror(errno));
		goto done;
	}
	f = NULL;
	err = 0;
done:
	if (f)
		fclose(f);
	free(text);
	return err;
}

int
ntml_json_read(cJSON **out, const char *path)
{
	FILE *f = NULL;
	char *text = NULL;
	size_t len = 0, cap = 0;
	cJSON *root = NULL;
	int err = -1;

	*out = NULL;
	if (!(f = fopen(path, "r"))) {
		err = ntml_fail("cannot open '%s': %s", path, strerror(errno));
		goto done;
	}
	for (;;) {
		if (cap - len < 4096)
			text = ntml_xrealloc(text, cap = cap * 2 + 8192);
		size_t n = fread(text + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		err = ntml_fail("cannot read '%s': %s", path, strerror(errno));
		goto done;
	}
	text[len] = 0;
	if (!(root = cJSON_Parse(text))) {
		err = ntml_fail("'%s' is not valid JSON", path);
		goto done;
	}
	*out = root;
	err = 0;
done:
	if (f)
		fclose(f);
	free(text);
	return err;
}

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
ntml_rng_seed(ntml_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
ntml_rng_next(ntml_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double
ntml_rng_uniform(ntml_rng *r)
{
	return (double)(ntml_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t
ntml_rng_below(ntml_rng *r, uint64_t n)
{
	/* Reject the top partial range so every value is equally likely. */
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t x;

	do
		x = ntml_rng_next(r);
	while (x >= limit);
	return x % n;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void
ntml_sort_doubles(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
}
