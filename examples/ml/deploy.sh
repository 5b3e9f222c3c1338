#!/bin/sh
# examples/ml/deploy.sh: the deploy stage of dags/retrain.dag. Installs a promoted model where
# a scoring service would read it: first a smoke test (the model must load and score the test
# split), then an atomic rename, so a reader never sees a half-written model.
#
# usage: deploy.sh MODEL TEST_CSV DEST
set -eu

if test $# -ne 3; then
	echo "usage: deploy.sh MODEL TEST_CSV DEST" >&2
	exit 2
fi
model=$1 test_csv=$2 dest=$3
dir=$(dirname "$dest")
mkdir -p "$dir"

# The smoke test: ntml predict must read the model and score every row of the test split.
scores="$dir/.smoke.$$.csv"
trap 'rm -f "$scores" "$dest.tmp.$$"' EXIT
ntml predict --model "$model" --in "$test_csv" --out "$scores"
rows=$(($(wc -l <"$test_csv") - 1))
scored=$(($(wc -l <"$scores") - 1))
if test "$scored" -ne "$rows"; then
	echo "deploy.sh: $model scored $scored of $rows test rows; not deployed" >&2
	exit 1
fi

cp "$model" "$dest.tmp.$$"
mv -f "$dest.tmp.$$" "$dest"
echo "deployed $model to $dest (smoke test: $scored rows scored)"
