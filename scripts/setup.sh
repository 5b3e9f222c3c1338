#!/bin/sh
# scripts/setup.sh: from a fresh clone on Debian 12, install the Debian packages ntflow needs
# (only the missing ones), then generate, configure and build in the tree; quick when done.
#
# NTFLOW_CONFIGURE_FLAGS is passed to ./configure (e.g. --enable-werror); configure reruns
# when those flags change. Prints little; errors and compiler warnings always show.
#
# --clang also installs clang and its sanitizer and libFuzzer runtimes, which only `make fuzz`
# and CI's clang passes use (the README's commands do not need them).
set -eu

# Build tools, the libraries configure checks, and what the test suite drives
# (git, sqlite3, tmux for the dashboard tests, graphviz for `graph --format dot`,
# scikit-learn/scipy to cross-check the ntml stage tool and run examples/sklearn/,
# jsonschema to validate OpenLineage events (tests/lineage/),
# jq for examples/simulate-weeks.sh, croniter to cross-check cron schedules, tzdata for
# their time zones, and a Slurm controller, node daemon, client and munge for the Slurm
# executor's tests, which start a private single-node cluster (tests/slurm/cluster.sh; apt
# starts nothing), zsh to check the zsh completion, man-db to render the man pages, and for
# `ntflow report`'s tests headless Chromium (the page's DOM and a screenshot), tidy (HTML
# validity) and locales (a German LC_NUMERIC built with localedef).
PACKAGES="build-essential autoconf automake pkg-config libncurses-dev libgit2-dev
libsqlite3-dev libcjson-dev libssl-dev libyaml-dev libcurl4-openssl-dev check git sqlite3 tmux ninja-build graphviz
python3-sklearn python3-scipy python3-jsonschema jq python3-croniter tzdata slurmctld slurmd slurm-client munge zsh man-db
chromium tidy locales"

# --clang: what `make fuzz` and a clang build with --enable-sanitizers need besides.
CLANG_PACKAGES="clang libclang-rt-dev"

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# Runs a noisy step with its output kept aside, shown only when the step fails.
quietly() {
	log=$(mktemp "${TMPDIR:-/tmp}/ntflow-setup.XXXXXX")
	if "$@" >"$log" 2>&1; then
		rm -f "$log"
	else
		rc=$?
		cat "$log" >&2
		rm -f "$log"
		die "'$*' failed (exit $rc)"
	fi
}

case ${1-} in
--clang) PACKAGES="$PACKAGES $CLANG_PACKAGES" ;;
'') ;;
*) die "unknown argument '$1' (usage: scripts/setup.sh [--clang])" ;;
esac

cd "$(dirname "$0")/.."
test -f configure.ac || die "run me from an ntflow source tree (no configure.ac in $(pwd))"

# 1. Debian packages: ask dpkg which are missing; touch apt only when some are.
missing=
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	case $status in
	?i*) ;;
	*) missing="$missing $p" ;;
	esac
done
if test -n "$missing"; then
	if test "$(id -u)" -ne 0; then
		die "missing Debian packages:$missing; install them as root: apt-get install$missing"
	fi
	say "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	quietly apt-get update -q
	# shellcheck disable=SC2086
	quietly apt-get install -y -q --no-install-recommends $missing
fi

# 2. autoreconf when configure or a Makefile.in is missing or older than what makes it:
# configure.ac, Makefile.am and every fragment Makefile.am includes.
inputs="configure.ac Makefile.am $(sed -n 's/^include[[:space:]]\{1,\}//p' Makefile.am)"
regen=no
for out in configure Makefile.in config.h.in; do
	test -f "$out" || regen=yes
done
if test $regen = no; then
	for f in $inputs; do
		if test "$f" -nt configure || test "$f" -nt Makefile.in; then
			regen=yes
			break
		fi
	done
fi
if test $regen = yes; then
	say "generating configure (autoreconf -fi)"
	quietly autoreconf -fi
fi

# 3. configure when never run, when configure is newer, or when the flags changed.
flags=${NTFLOW_CONFIGURE_FLAGS-}
# config.status --config prints the arguments, quoted only where needed: compare words.
want=$(echo $flags)
reconf=no clean=no
if ! test -f config.status || ! test -f Makefile || test configure -nt config.status; then
	reconf=yes
elif test "$(echo $(./config.status --config | tr -d "'"))" != "$want"; then
	# Objects do not depend on the flags: build afresh so that, say, a sanitizer
	# build never links objects compiled without it.
	reconf=yes clean=yes
fi
if test $reconf = yes; then
	say "configuring${flags:+ with $flags}"
	# shellcheck disable=SC2086
	./configure -q $flags
	test $clean = no || make -s clean >/dev/null
fi

# 4. Build. Silent rules print one line per file; keep only warnings and errors.
jobs=$(nproc 2>/dev/null || echo 2)
make -s -j"$jobs" >/dev/null || die "the build failed (rerun 'make' to see it again)"
say "built ./ntflow"
# README.md types `ntflow` from here on: say how to get it on PATH (a script cannot set the
# caller's PATH).
case ":$PATH:" in
*":$PWD:"*) ;;
*) say "to type 'ntflow' as README.md does: export PATH=\"$PWD:\$PATH\"" ;;
esac
