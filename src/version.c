/* version.c: `ntflow --version`: ntflow's version and those of the libraries it runs with,
 * as they report themselves at run time (a bug report needs the libraries actually loaded,
 * not the headers it was built against). */
#include "config.h"
#include "ntflow/cmd.h"
#include "ntflow/store.h"

#include <cjson/cJSON.h>
#include <curses.h>
#include <git2.h>
#include <openssl/crypto.h>
#include <string.h>

void
nf_print_version(FILE *f)
{
	int major = 0, minor = 0, rev = 0;
	const char *curses = curses_version();

	/* curses_version() says "ncurses 6.4.20221231": keep only the number. */
	if (strncmp(curses, "ncurses ", 8) == 0)
		curses += 8;
	git_libgit2_version(&major, &minor, &rev);
	fprintf(f, "ntflow %s\n", PACKAGE_VERSION);
	fprintf(f, "libgit2 %d.%d.%d\n", major, minor, rev);
	fprintf(f, "SQLite %s\n", nf_store_sqlite_version());
	fprintf(f, "OpenSSL %s\n", OpenSSL_version(OPENSSL_VERSION_STRING));
	fprintf(f, "ncurses %s\n", curses);
	fprintf(f, "cJSON %s\n", cJSON_Version());
}
