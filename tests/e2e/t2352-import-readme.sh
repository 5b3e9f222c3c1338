#!/bin/sh
# t2352-import-readme.sh: the side-by-side in README.md's "Coming from DVC" is what
# `ntflow import` really writes for its dvc.yaml, beside a params.yaml (the header comments
# aside, as the README leaves them out; whether it validates is t2351's question).
. "$(dirname "$0")/lib.sh"

README=$NTFLOW_SRC_DIR/README.md

test_expect_success 'the README pair: its dvc.yaml imports to its dvc.dag' '
	awk "/^## Coming from DVC/ { on = 1; next } on && /^## / { exit }
		on && /^\`\`\`yaml\$/ { f = \"dvc.yaml\"; next }
		on && f == \"\" && /^\`\`\`\$/ && !seen { f = \"expect\"; seen = 1; next }
		on && f != \"\" && /^\`\`\`\$/ { f = \"\"; next }
		on && f != \"\" { print > f }" "$README" &&
	test -s dvc.yaml &&
	test -s expect &&
	printf "prepare:\n  split: 0.2\ntrain:\n  n_est: 100\n" >params.yaml &&
	ntflow import -o - dvc.yaml >out 2>err;
	sed "/^ *#/d" out | sed "1{/^\$/d}" >actual &&
	test_cmp expect actual
'

test_done
