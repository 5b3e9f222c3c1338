#!/bin/sh
# t2350-import-cli.sh: `ntflow import dvc.yaml` as a command: it writes dvc.dag beside the
# dvc.yaml (or -o FILE, - for stdout), never overwrites a file without --force, lists what
# it could not carry over with dvc.yaml's lines, exits 0 only when the result validates and
# 2 with the validator's file:line:col errors otherwise. (Running imported pipelines, and
# the constructs issue 17 adds to the language, are t2351's.)
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

# LANG17: the language has what the importer writes for a dvc.yaml in a sub-folder (dir).
printf 'stage "a" {\n  run = "true"\n  dir = "sub"\n}\n' >probe.dag
mkdir sub
ntflow validate probe.dag 2>/dev/null && test_set_prereq LANG17
rm -rf probe.dag sub

test_expect_success 'setup: a DVC pipeline using only plain stages' '
	mkdir -p src data &&
	printf "a\nb\nc\n" >data/raw.txt &&
	cat >src/count.sh <<-\EOS &&
	#!/bin/sh
	wc -l <"$1" >"$2"
	EOS
	chmod +x src/count.sh &&
	cat >dvc.yaml <<-\EOS &&
	stages:
	  prepare:
	    desc: Upper-cases the raw data
	    cmd: mkdir -p build && tr a-z A-Z <data/raw.txt >build/upper.txt
	    deps:
	    - data/raw.txt
	    outs:
	    - build/upper.txt
	  count:
	    cmd:
	    - src/count.sh build/upper.txt build/count.txt
	    - echo "counted $(cat build/count.txt) \"lines\"" >build/says.txt
	    deps: [build/upper.txt, src/count.sh]
	    outs: [build/count.txt, build/says.txt]
	EOS
	git add . && git commit -q -m dvc
'

test_expect_success 'import writes dvc.dag beside dvc.yaml, which validates' '
	ntflow import dvc.yaml >out 2>err &&
	test_must_be_empty out &&
	test_must_be_empty err &&
	ntflow validate dvc.dag &&
	grep "^stage \"prepare\" {" dvc.dag &&
	grep "^  description = \"Upper-cases the raw data\"" dvc.dag &&
	cat >expect <<-\EOS &&
	  run     = "src/count.sh build/upper.txt build/count.txt && (echo \"counted $(cat build/count.txt) \\\"lines\\\"\" >build/says.txt)"
	EOS
	grep -F -x -f expect dvc.dag &&
	ntflow fmt --check dvc.dag
'

test_expect_success 'an existing file is never overwritten without --force' '
	cp dvc.dag before &&
	echo "# mine" >>dvc.dag &&
	cp dvc.dag mine &&
	test_expect_code 2 ntflow import dvc.yaml 2>err &&
	grep "dvc.dag.* exists; use --force" err &&
	test_cmp mine dvc.dag &&
	ntflow import --force dvc.yaml &&
	test_cmp before dvc.dag
'

test_expect_success '-o FILE and -o - (stdout)' '
	ntflow import -o other.dag dvc.yaml &&
	ntflow validate other.dag &&
	ntflow import -o - dvc.yaml >stdout.dag &&
	sed 1d other.dag >a && sed 1d stdout.dag >b && test_cmp a b &&
	test_expect_code 2 ntflow import -o other.dag dvc.yaml
'

# -o naming a device or a pipe writes into it, and one naming a link writes what it leads
# to: `-o /dev/null --force` renamed a regular file over /dev/null, for the whole machine.
test_expect_success '-o into a pipe, or through a link, with --force: neither is replaced' '
	mkfifo out.fifo &&
	{ timeout 20 cat out.fifo >from-fifo & } &&
	ntflow import -o out.fifo --force dvc.yaml &&
	wait &&
	test -p out.fifo &&
	grep "^stage " from-fifo &&
	ls | grep -v "^out\.fifo$" | { ! grep "^out\.fifo\." ; } &&
	mkdir -p real && ln -s real/linked.dag link.dag &&
	: >real/linked.dag &&
	ntflow import -o link.dag --force dvc.yaml &&
	test -L link.dag &&
	grep "^stage " real/linked.dag
'

test_expect_success 'a dvc.yaml in a sub-folder: paths become relative to the project root' '
	mkdir -p sub/data &&
	echo x >sub/data/in.txt &&
	cat >sub/dvc.yaml <<-\EOS &&
	stages:
	  copy:
	    cmd: mkdir -p out && cp data/in.txt out/copy.txt
	    deps: [data/in.txt]
	    outs: [out/copy.txt]
	EOS
	ntflow import -o - sub/dvc.yaml >sub.dag 2>err;
	grep "^  dir *= \"sub\"" sub.dag &&
	grep "^  inputs *= \[\"sub/data/in.txt\"\]" sub.dag &&
	grep "^  outputs *= \[\"sub/out/copy.txt\"\]" sub.dag &&
	grep "^pipeline \"sub\"" sub.dag
'

test_expect_success LANG17 'the sub-folder pipeline validates and runs in its folder' '
	ntflow import sub/dvc.yaml &&
	ntflow run sub/dvc.dag --no-tui &&
	test_cmp sub/data/in.txt sub/out/copy.txt
'

test_expect_success 'what has no equivalent is commented at its place and listed with its line' '
	cat >notes.yaml <<-\EOS &&
	stages:
	  train.model:
	    cmd: ./train
	    meta: {owner: ml}
	    checkpoint: true
	artifacts:
	  m: {path: model.pkl}
	EOS
	ntflow import -o notes.dag notes.yaml 2>err &&
	grep "^notes.yaml:2:3: DVC stage \"train.model\" is \"train_model\" here" err &&
	grep "^notes.yaml:5:5: .checkpoint. has no equivalent in ntflow" err &&
	grep "^notes.yaml:6:1: top-level .artifacts. has no equivalent" err &&
	grep "^# ntflow import: DVC stage \"train.model\" is \"train_model\" here" notes.dag &&
	grep "^  # ntflow import: .checkpoint. has no equivalent in ntflow" notes.dag &&
	ntflow validate notes.dag
'

test_expect_success 'a result that does not validate: written, its errors printed, exit 2' '
	cat >bad.yaml <<-\EOS &&
	stages:
	  nocmd:
	    deps: [x]
	EOS
	test_expect_code 2 ntflow import -o bad.dag bad.yaml 2>err &&
	test_path_is_file bad.dag &&
	grep "^bad.yaml:2:3: the stage has no cmd" err &&
	grep "^bad.dag:[0-9]*:[0-9]*: error: .*run" err &&
	grep "does not validate" err
'

test_expect_success 'not a DVC pipeline, or not YAML: exit 2, nothing written' '
	echo "- a" >list.yaml &&
	test_expect_code 2 ntflow import list.yaml 2>err &&
	grep "no .stages. mapping" err &&
	test_path_is_missing list.dag &&
	printf "stages: [a\n" >broken.yaml &&
	test_expect_code 2 ntflow import broken.yaml 2>err &&
	grep "^ntflow: import: broken.yaml:" err &&
	test_path_is_missing broken.dag &&
	test_expect_code 2 ntflow import missing.yaml &&
	test_expect_code 2 ntflow import
'

test_done
