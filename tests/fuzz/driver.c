/* driver.c: main() for a fuzz target built without libFuzzer (`make check`). Each argument
 * is a file, or a folder whose regular files are all used, in name order; each file's bytes
 * go once through LLVMFuzzerTestOneInput. A bug aborts (a sanitizer build reports it
 * first); otherwise prints how many inputs ran and exits 0. Exit 2 when an argument cannot
 * be read, or when there was no input at all (a corpus that went missing is no pass). */
#include "config.h"
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "ntflow/util.h"

static int
run_file(const char *path, size_t *count)
{
	char *data = NULL;
	uint8_t *copy;
	size_t len;

	if (nf_read_file(&data, &len, path, 0) < 0) {
		fprintf(stderr, "%s\n", nf_error_last());
		return -1;
	}
	/* A copy of exactly len bytes (nf_read_file adds a NUL), so a read past the end of
	 * the input is one past a heap block, which ASan reports. */
	copy = xmalloc(len ? len : 1);
	memcpy(copy, data, len);
	free(data);
	LLVMFuzzerTestOneInput(copy, len);
	free(copy);
	(*count)++;
	return 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
run_dir(const char *dir, size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **paths = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	if (!d) {
		fprintf(stderr, "cannot read folder '%s': %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		char *path;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			NF_PUSH(paths, n, cap, path);
		else
			free(path);
	}
	closedir(d);
	qsort(paths, n, sizeof(*paths), cmp_names);
	for (size_t i = 0; i < n; i++) {
		if (err == 0 && run_file(paths[i], count) < 0)
			err = -1;
		free(paths[i]);
	}
	free(paths);
	return err;
}

int
main(int argc, char **argv)
{
	size_t count = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		int err;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "%s: cannot read '%s': %s\n", argv[0], argv[i], strerror(errno));
			return 2;
		}
		err = S_ISDIR(st.st_mode) ? run_dir(argv[i], &count) : run_file(argv[i], &count);
		if (err < 0)
			return 2;
	}
	if (count == 0) {
		fprintf(stderr, "%s: no input\n", argv[0]);
		return 2;
	}
	printf("%s: %zu inputs\n", argv[0], count);
	return 0;
}
