/* fs.c: the file system under a path, for the messages and checks of a full disk: how much
 * is free, where it is mounted and what it is, errors that name it, and sizes as people
 * write them ("100MB") and read them ("1.5 MB"). */
#include "config.h"
#include "ntflow/util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* The nearest existing ancestor of path (itself when it exists), made absolute. */
static char *
existing_abs(const char *path)
{
	char *p = xstrdup(path && *path ? path : "."), *abs;

	for (;;) {
		char *slash;

		if ((abs = realpath(p, NULL)))
			break;
		if (!(slash = strrchr(p, '/'))) {
			abs = realpath(".", NULL);
			break;
		}
		if (slash == p) {
			abs = xstrdup("/");
			break;
		}
		*slash = '\0';
	}
	free(p);
	return abs ? abs : xstrdup("/");
}

int
nf_fs_space(const char *path, uint64_t *avail, uint64_t *size)
{
	char *abs = NULL;
	struct statvfs sv;
	int err = 0;

	/* The path itself when it exists (a run asks before each stage: no realpath then). */
	if ((!path || !*path || statvfs(path, &sv) < 0) && statvfs((abs = existing_abs(path)), &sv) < 0) {
		err = nf_error_set_errno(NF_EIO, "cannot read the free space of '%s'", abs);
	} else {
		uint64_t unit = sv.f_frsize ? sv.f_frsize : sv.f_bsize;

		/* Root may write into the blocks a file system reserves for it. ntflow never
		 * changes its user: asked once per process, not twice per stage. */
		static int is_root = -1;

		if (is_root < 0)
			is_root = geteuid() == 0;
		*avail = (uint64_t)(is_root ? sv.f_bfree : sv.f_bavail) * unit;
		*size = (uint64_t)sv.f_blocks * unit;
	}
	free(abs);
	return err;
}

/* The mount point holding abs: the last ancestor on the same device. */
static char *
mount_point(const char *abs)
{
	char *cur = xstrdup(abs), *slash;
	struct stat st, up;

	if (stat(cur, &st) < 0)
		return cur;
	while ((slash = strrchr(cur, '/')) && strcmp(cur, "/") != 0) {
		char *parent = slash == cur ? xstrdup("/") : xstrndup(cur, (size_t)(slash - cur));

		if (stat(parent, &up) < 0 || up.st_dev != st.st_dev) {
			free(parent);
			break;
		}
		free(cur);
		cur = parent;
	}
	return cur;
}

/* The type /proc/self/mounts gives the mount point (the last mount there wins), or NULL. */
static char *
mount_type(const char *mnt)
{
	FILE *f = fopen("/proc/self/mounts", "re");
	char line[4096], *type = NULL;

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		char dev[1024], dir[2048], fstype[64];

		/* Spaces in mount points are written \040; such a mount simply does not match. */
		if (sscanf(line, "%1023s %2047s %63s", dev, dir, fstype) == 3 && strcmp(dir, mnt) == 0) {
			free(type);
			type = xstrdup(fstype);
		}
	}
	fclose(f);
	return type;
}

char *
nf_fs_describe(const char *path)
{
	char *abs = existing_abs(path), *mnt = mount_point(abs), *type = mount_type(mnt), *out;
	char free_s[32], size_s[32];
	uint64_t avail = 0, size = 0;

	if (nf_fs_space(abs, &avail, &size) < 0) {
		out = xasprintf("the file system at %s%s%s%s", mnt, type ? " (" : "", type ? type : "", type ? ")" : "");
	} else {
		nf_format_bytes(free_s, sizeof(free_s), avail);
		nf_format_bytes(size_s, sizeof(size_s), size);
		out = xasprintf("the file system at %s%s%s%s has %s free of %s", mnt, type ? " (" : "",
				type ? type : "", type ? ")" : "", free_s, size_s);
	}
	free(type);
	free(mnt);
	free(abs);
	return out;
}

int
nf_error_set_io(int code, const char *path, const char *fmt, ...)
{
	int saved = errno;
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (saved == ENOSPC || saved == EDQUOT) {
		char *fs = nf_fs_describe(path);

		nf_error_set(code, "%s: %s (%s)", msg, strerror(saved), fs);
		free(fs);
	} else {
		nf_error_set(code, "%s: %s", msg, strerror(saved));
	}
	errno = saved;
	return code;
}

void
nf_format_bytes(char *out, size_t size, uint64_t n)
{
	static const char *const units[] = { "KB", "MB", "GB", "TB", "PB" };
	double v = (double)n;
	size_t u = 0;

	if (n < 1024) {
		snprintf(out, size, "%llu bytes", (unsigned long long)n);
		return;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < NF_ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	if (v < 10 && v != (double)(uint64_t)v)
		snprintf(out, size, "%.1f %s", v, units[u]);
	else
		snprintf(out, size, "%.0f %s", v, units[u]);
}

int
nf_parse_size(uint64_t *out, const char *s)
{
	static const struct { const char *name; uint64_t mult; } units[] = {
		{ "", 1 }, { "B", 1 },
		{ "K", 1ULL << 10 }, { "KB", 1ULL << 10 },
		{ "M", 1ULL << 20 }, { "MB", 1ULL << 20 },
		{ "G", 1ULL << 30 }, { "GB", 1ULL << 30 },
		{ "T", 1ULL << 40 }, { "TB", 1ULL << 40 },
	};
	const char *p = s;
	uint64_t v = 0;

	*out = 0;
	/* Digits only: no sign, no hex, no exponent, no fraction. */
	if (!isdigit((unsigned char)*p))
		goto bad;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return nf_error_set(NF_EINVALID, "invalid size \"%s\": too large", s);
		v = v * 10 + (uint64_t)(*p - '0');
	}
	for (size_t i = 0; i < NF_ARRAY_SIZE(units); i++) {
		if (strcmp(p, units[i].name) == 0) {
			if (units[i].mult > 1 && v > UINT64_MAX / units[i].mult)
				return nf_error_set(NF_EINVALID, "invalid size \"%s\": too large", s);
			*out = v * units[i].mult;
			return 0;
		}
	}
bad:
	return nf_error_set(NF_EINVALID, "invalid size \"%s\": expected a whole number followed by B, KB, MB, GB or TB",
			    s);
}
