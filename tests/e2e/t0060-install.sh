#!/bin/sh
# t0060-install.sh: `make install DESTDIR=...` lays out ntflow, its process spawner
# (LIBEXECDIR/ntflow/ntflow-spawn), both man pages, the bash and
# zsh completions, the scheduler's systemd user unit (its ExecStart naming the installed
# ntflow) and the examples under DATADIR/ntflow/, without ntml in bin; the installed
# scripts keep their modes; `make uninstall` removes every file it put; both man pages
# render without a warning; --version names the libraries.
. "$(dirname "$0")/lib.sh"

B=$NTFLOW_BUILD_DIR
# var NAME: a variable of the build's Makefile, with ${prefix} and ${exec_prefix} expanded
var() { sed -n "s/^$1 = //p" "$B/Makefile"; }
prefix=$(var prefix)
exec_prefix=$(var exec_prefix | sed "s|\${prefix}|$prefix|")
bindir=$(var bindir | sed "s|\${exec_prefix}|$exec_prefix|")

test_expect_success 'make install DESTDIR=... lays out the files' '
	test -n "$prefix" && test -n "$bindir" &&
	make -s -C "$B" install DESTDIR="$PWD/dest" >out 2>&1 &&
	d=$PWD/dest$prefix &&
	test -x "$PWD/dest$bindir/ntflow" &&
	test_path_is_missing "$PWD/dest$bindir/ntml" &&
	test -x "$d/libexec/ntflow/ntflow-spawn" &&
	test -f "$d/share/man/man1/ntflow.1" &&
	test -f "$d/share/man/man5/ntflow-dag.5" &&
	test -f "$d/share/bash-completion/completions/ntflow" &&
	test -f "$d/share/zsh/vendor-completions/_ntflow" &&
	test -f "$d/lib/systemd/user/ntflow-scheduler.service" &&
	grep -x "ExecStart=$bindir/ntflow scheduler dags/" "$d/lib/systemd/user/ntflow-scheduler.service" &&
	test -f "$d/share/ntflow/dags/retrain.dag" &&
	test -f "$d/share/ntflow/examples/hello.dag" &&
	test -f "$d/share/ntflow/examples/ml/ntml.c" &&
	test -x "$d/share/ntflow/examples/ml/deploy.sh" &&
	test -x "$d/share/ntflow/examples/simulate-weeks.sh" &&
	find dest -type f | sort >installed &&
	test "$(wc -l <installed)" -gt 15
'

# In a project copied from the installed folder (its inputs, the ntml sources, are
# relative to that root).
test_expect_success 'the installed ntflow validates the installed pipeline' '
	cp -R "$PWD/dest$prefix/share/ntflow" project &&
	(cd project && git init -q && "$OLDPWD/dest$bindir/ntflow" validate dags/retrain.dag)
'

test_expect_success 'make uninstall removes every file install put' '
	make -s -C "$B" uninstall DESTDIR="$PWD/dest" >out 2>&1 &&
	find dest -type f >left &&
	test_must_be_empty left
'

test_expect_success 'both man pages render without a warning' '
	for page in ntflow.1 ntflow-dag.5; do
		MANWIDTH=80 man --warnings -l "$NTFLOW_SRC_DIR/man/$page" >/dev/null 2>warn &&
		test_must_be_empty warn || return 1
	done
'

test_expect_success '--version names the libraries it runs with' '
	ntflow --version >v &&
	test "$(sed -n 1p v)" = "ntflow $(sed -n "s/^AC_INIT(\[ntflow\], *\[\([^]]*\)\].*/\1/p" "$NTFLOW_SRC_DIR/configure.ac")" &&
	for lib in libgit2 SQLite OpenSSL ncurses cJSON; do
		grep -E "^$lib [0-9]+\.[0-9]+" v || return 1
	done
'

test_done
