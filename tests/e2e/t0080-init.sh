#!/bin/sh
# t0080-init.sh: `ntflow init` in a new repository writes a starter pipeline that
# validates, is in the canonical layout and runs (the model reaches production, a rerun is
# all cached); it adds the state and build folders to .gitignore once, keeping what was
# there; it never overwrites the pipeline without --force; it prints the next commands.
. "$(dirname "$0")/lib.sh"

test_expect_success 'init writes the pipeline and .gitignore, and says what to type next' '
	printf "node_modules\n.ntflow\n" >.gitignore &&
	ntflow init >out 2>err &&
	test_must_be_empty err &&
	test -f dags/pipeline.dag &&
	grep "^next:" out &&
	grep "^  ntflow run dags/pipeline.dag\$" out &&
	grep "^  ntflow scheduler dags/\$" out &&
	test "$(sed -n "/^next:/,\$p" out | grep -c "^  ")" = 3 &&
	printf "node_modules\n.ntflow\n# ntflow: its state, build products and served models\n/build/\n/models/\n" >expect &&
	test_cmp expect .gitignore
'

test_expect_success 'the starter validates, is canonical, has the promised shape' '
	ntflow validate dags/pipeline.dag &&
	ntflow fmt --check dags/pipeline.dag &&
	for b in "stage \"preprocess\"" "stage \"train\"" "stage \"evaluate\"" "gate \"quality\"" \
		 "model \"model\"" "stage \"deploy\"" "monitor \"drift\"" "schedule    = \"@weekly\""; do
		grep -F "$b" dags/pipeline.dag || return 1
	done
'

test_expect_success 'the starter runs: the model goes to production, a rerun is cached' '
	git add . && git commit -q -m starter &&
	ntflow run --no-tui dags/pipeline.dag >out 2>&1 &&
	grep "model v1 → production" out &&
	test -f models/serving/model.json &&
	ntflow run --no-tui dags/pipeline.dag >out2 2>&1 &&
	grep "cached" out2 &&
	! grep "running" out2 &&
	git status --porcelain --untracked-files=all >st &&
	! grep -E "\.ntflow/|build/|models/" st
'

test_expect_success 'init never overwrites; --force does; .gitignore gets no duplicate' '
	echo "# mine" >dags/pipeline.dag &&
	test_expect_code 1 ntflow init >out 2>err &&
	grep "dags/pipeline.dag exists" err &&
	echo "# mine" >expect && test_cmp expect dags/pipeline.dag &&
	cp .gitignore gi.before &&
	ntflow init --force >out &&
	ntflow validate dags/pipeline.dag &&
	test_cmp gi.before .gitignore
'

test_expect_success 'init DIR makes the folder; outside git it says to run git init' '
	ntflow init new >out &&
	test -f new/dags/pipeline.dag &&
	grep "^  ntflow run new/dags/pipeline.dag\$" out &&
	! grep "not in a git repository" out &&
	d=$(mktemp -d) &&
	ntflow init "$d/p" >out2 &&
	grep "not in a git repository" out2 &&
	rm -rf "$d"
'

test_expect_success 'too many operands is a usage error' '
	test_expect_code 2 ntflow init a b
'

test_done
