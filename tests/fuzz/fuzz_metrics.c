/* fuzz_metrics.c: a stage's metrics file as nf_metrics_read reads it, with any bytes in it.
 * The input goes through a real file (one temporary file per process, rewritten for each
 * input) so that the whole reader runs, from the size and NUL checks to the flattening.
 * Properties: the result is a set of distinct names with finite values, each found again by
 * nf_metrics_get; a failure names the file. */
#include "config.h"
#include "fuzz.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#include "ntflow/run.h"

static char path[4096];
static int fd = -1;

static void
remove_file(void)
{
	if (fd >= 0)
		unlink(path);
}

static void
write_input(const uint8_t *data, size_t size)
{
	if (fd < 0) {
		const char *tmp = getenv("TMPDIR");

		snprintf(path, sizeof(path), "%s/ntflow-fuzz-metrics.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if ((fd = mkstemp(path)) < 0) {
			perror(path);
			abort();
		}
		atexit(remove_file);
	}
	if (ftruncate(fd, 0) < 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) {
		perror(path);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	nf_metric_set m;
	int err;

	write_input(data, size);
	err = nf_metrics_read(&m, path);
	if (err < 0) {
		FUZZ_CHECK(err == NF_EINVALID);
		FUZZ_CHECK(strstr(nf_error_last(), path) != NULL);
		FUZZ_CHECK(m.n == 0 && m.names == NULL && m.nwarnings == 0);
		return 0;
	}
	for (size_t i = 0; i < m.n; i++) {
		double v;

		FUZZ_CHECK(m.names[i] != NULL && isfinite(m.values[i]));
		FUZZ_CHECK(nf_metrics_get(&m, m.names[i], &v) == 0 && v == m.values[i]);
		for (size_t j = 0; j < i && m.n < 256; j++)
			FUZZ_CHECK(strcmp(m.names[i], m.names[j]) != 0);
	}
	for (size_t i = 0; i < m.nwarnings; i++)
		FUZZ_CHECK(strstr(m.warnings[i], path) != NULL);
	nf_metric_set_release(&m);
	return 0;
}
