/* lineage-emit.c: OpenLineage events sent where the pipeline's lineage { } says: appended to
 * a JSON Lines file and POSTed to an HTTP endpoint through libcurl. A destination that fails
 * is dropped for the rest of the run after one message: lineage is a report about the run and
 * must never fail it, nor hold it up past one timeout.
 *
 * libcurl is loaded (dlopen) at the first POST, not linked: with the twenty libraries it
 * needs (TLS, LDAP, HTTP/2...) it is 3.3 MB of every run's resident memory and part of
 * every command's start, and only a run whose pipeline names a lineage url uses it. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "ntflow/lineage.h"
#include "ntflow/util.h"

/* The libcurl functions used, from the library loaded once per process (never unloaded:
 * curl_global_init may not be undone while another handle could exist). */
static struct curl_api {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *curl);
	CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode code);
	void (*easy_cleanup)(CURL *curl);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
	void (*slist_free_all)(struct curl_slist *list);
	bool loaded;
} curl;

/* The soname of libcurl's ABI (4 since 2006), which Debian's libcurl4 package installs. */
#define CURL_SONAME "libcurl.so.4"

/* libcurl loaded and initialised, once per process; ntflow runs no other thread that could
 * race it. */
static int
curl_load(void)
{
	static const struct { const char *name; size_t at; } syms[] = {
		{ "curl_global_init", offsetof(struct curl_api, global_init) },
		{ "curl_easy_init", offsetof(struct curl_api, easy_init) },
		{ "curl_easy_setopt", offsetof(struct curl_api, easy_setopt) },
		{ "curl_easy_perform", offsetof(struct curl_api, easy_perform) },
		{ "curl_easy_getinfo", offsetof(struct curl_api, easy_getinfo) },
		{ "curl_easy_strerror", offsetof(struct curl_api, easy_strerror) },
		{ "curl_easy_cleanup", offsetof(struct curl_api, easy_cleanup) },
		{ "curl_slist_append", offsetof(struct curl_api, slist_append) },
		{ "curl_slist_free_all", offsetof(struct curl_api, slist_free_all) },
	};
	void *lib;

	if (curl.loaded)
		return 0;
	if (!(lib = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL)))
		return nf_error_set(NF_EIO, "lineage: cannot load libcurl (%s; apt-get install libcurl4): %s", CURL_SONAME,
				    dlerror());
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *fn = dlsym(lib, syms[i].name);

		if (!fn) {
			dlclose(lib);
			return nf_error_set(NF_EIO, "lineage: %s has no %s", CURL_SONAME, syms[i].name);
		}
		/* POSIX makes a function's address from dlsym usable through a function pointer */
		memcpy((char *)&curl + syms[i].at, &fn, sizeof(fn));
	}
	if (curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		dlclose(lib);
		return nf_error_set(NF_EIO, "lineage: cannot initialise libcurl");
	}
	curl.loaded = true;
	return 0;
}

struct nf_lineage_sink {
	char *file;                 /* NULL: none, or dropped */
	int fd;                     /* -1 until the first event */
	char *url;                  /* NULL: none, or dropped */
	long timeout_ms;
	CURL *curl;                 /* kept across events: one connection for the run */
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
};

nf_lineage_sink *
nf_lineage_sink_new(const char *file_abs, const char *url, int64_t timeout_ms)
{
	nf_lineage_sink *s = xcalloc(1, sizeof(*s));

	s->file = file_abs ? xstrdup(file_abs) : NULL;
	s->fd = -1;
	s->url = url ? xstrdup(url) : NULL;
	s->timeout_ms = timeout_ms > 0 ? (long)timeout_ms : 5000;
	return s;
}

static void
drop_file(nf_lineage_sink *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(s->file);
	s->file = NULL;
}

static void
drop_url(nf_lineage_sink *s)
{
	if (s->curl)
		curl.easy_cleanup(s->curl);
	s->curl = NULL;
	if (s->headers)
		curl.slist_free_all(s->headers);
	s->headers = NULL;
	free(s->url);
	s->url = NULL;
}

/* One line in one write(2) with O_APPEND: lines of runs writing the same file at once do
 * not interleave (a local file system appends each write whole). */
static int
send_file(nf_lineage_sink *s, const char *json)
{
	size_t n = strlen(json);
	char *line = xmalloc(n + 2);
	ssize_t w;
	int err = 0;

	if (s->fd < 0 && (s->fd = open(s->file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		err = nf_error_set(NF_EIO, "lineage: cannot open %s: %s", s->file, strerror(errno));
		free(line);
		return err;
	}
	memcpy(line, json, n);
	line[n] = '\n';
	line[n + 1] = '\0';
	do
		w = write(s->fd, line, n + 1);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		err = nf_error_set(NF_EIO, "lineage: cannot write %s: %s", s->file, strerror(errno));
	else if ((size_t)w != n + 1)
		err = nf_error_set(NF_EIO, "lineage: short write to %s (the disk may be full)", s->file);
	free(line);
	return err;
}

static size_t
discard(char *p, size_t size, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * n;
}

static int
send_url(nf_lineage_sink *s, const char *json)
{
	CURLcode rc;
	long status = 0;

	if (!s->curl) {
		int err;

		if ((err = curl_load()) < 0)
			return err;
		if (!(s->curl = curl.easy_init()))
			return nf_error_set(NF_EIO, "lineage: cannot initialise libcurl");
		s->headers = curl.slist_append(NULL, "Content-Type: application/json");
		curl.easy_setopt(s->curl, CURLOPT_URL, s->url);
		curl.easy_setopt(s->curl, CURLOPT_HTTPHEADER, s->headers);
		curl.easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, s->timeout_ms);
		curl.easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, s->timeout_ms);
		curl.easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);   /* no SIGALRM in the run's loop */
		curl.easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, discard);
		curl.easy_setopt(s->curl, CURLOPT_ERRORBUFFER, s->errbuf);
		curl.easy_setopt(s->curl, CURLOPT_USERAGENT, "ntflow/" PACKAGE_VERSION);
	}
	s->errbuf[0] = '\0';
	curl.easy_setopt(s->curl, CURLOPT_POSTFIELDS, json);
	curl.easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
	rc = curl.easy_perform(s->curl);
	if (rc != CURLE_OK)
		return nf_error_set(NF_EIO, "lineage: cannot send to %s: %s", s->url,
				    s->errbuf[0] ? s->errbuf : curl.easy_strerror(rc));
	curl.easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299)
		return nf_error_set(NF_EIO, "lineage: %s answered HTTP %ld", s->url, status);
	return 0;
}

int
nf_lineage_sink_send(nf_lineage_sink *s, const char *json)
{
	char *file_msg = NULL;
	int err = 0;

	if (s->file && (err = send_file(s, json)) < 0) {
		file_msg = xstrdup(nf_error_last());
		drop_file(s);
	}
	if (s->url && send_url(s, json) < 0) {
		char *msg = xstrdup(nf_error_last());

		drop_url(s);
		/* Both failed on this event: one message for both. */
		err = file_msg ? nf_error_set(NF_EIO, "%s; %s", file_msg, msg) : nf_error_set(NF_EIO, "%s", msg);
		free(msg);
	} else if (file_msg) {
		err = nf_error_set(NF_EIO, "%s", file_msg);
	}
	free(file_msg);
	return err;
}

void
nf_lineage_sink_free(nf_lineage_sink *s)
{
	if (!s)
		return;
	drop_file(s);
	drop_url(s);
	free(s);
}
