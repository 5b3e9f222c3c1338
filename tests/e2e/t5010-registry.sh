#!/bin/sh
# t5010-registry.sh: the model registry after real runs: versions in production and as
# candidates with their workspace copies, an identical artifact not registered twice,
# promotion refused without --force and --reason then forced and recorded with who and why,
# rollback (twice: two versions back, never back and forth; the version rolled back from is
# rolled-back), `registry verify` catching an
# edited registry copy (marked corrupt, never promoted) and an edited models/current copy,
# JSON output, usage errors, and a kill between archiving the old production version and
# recording the new one (SIGKILL) that leaves exactly one production version (tests/ntflow-test).
. "$(dirname "$0")/lib.sh"

test_need_hooks

# status_of MODEL VERSION: the status in `ntflow registry list --json`, or none.
status_of() {
	ntflow registry list --json >reg.json &&
	/usr/bin/python3 -c '
import json, sys
hit = [v for v in json.load(open("reg.json")) if v["model"] == sys.argv[1] and v["version"] == int(sys.argv[2])]
print(hit[0]["status"] if hit else "none")
' "$1" "$2"
}

# productions MODEL: the versions of MODEL in production, space-separated.
productions() {
	ntflow registry list "$1" --json >reg.json &&
	/usr/bin/python3 -c '
import json
print(" ".join(str(v["version"]) for v in json.load(open("reg.json")) if v["status"] == "production"))
'
}

test_expect_success 'setup: a pipeline registering a folder artifact behind a gate' '
	write_dag p.dag <<-\EOF &&
	pipeline "p" {
	  models_dir = "store/models"
	  params {
	    acc = 0.9
	  }
	}

	stage "train" {
	  run     = "mkdir -p build/model && echo weights ${params.acc} >build/model/weights.txt && echo {} >build/model/config.json && chmod +x build/model/weights.txt"
	  outputs = ["build/model/"]
	}

	stage "evaluate" {
	  needs   = ["train"]
	  run     = "mkdir -p build/eval && echo {\\\"accuracy\\\": ${params.acc}} >build/eval/metrics.json"
	  outputs = ["build/eval/"]
	  metrics = "build/eval/metrics.json"
	}

	gate "promote" {
	  needs   = ["evaluate"]
	  require = ["accuracy >= 0.85"]
	}

	model "clf" {
	  artifact = "build/model/"
	  gate     = "promote"
	}
	EOF
	printf "/.ntflow/\n/build/\n/store/\n" >.gitignore &&
	git add . && git commit -q -m "pipeline"
'

test_expect_success 'a passing run: version 1 in production, its folder under models_dir/current' '
	ntflow run p.dag >out 2>err &&
	cat out err &&
	grep "clf v1 → production" out &&
	test "$(status_of clf 1)" = production &&
	diff -r build/model store/models/current/clf/model &&
	test -x store/models/current/clf/model/weights.txt &&
	diff -r build/model .ntflow/registry/clf/1/model
'

test_expect_success 'a rejected run: version 2 a candidate under models_dir/candidates/clf/v2' '
	test_expect_code 3 ntflow run p.dag -p acc=0.7 >out 2>err &&
	cat out err &&
	grep "clf v2 → candidate" out &&
	test "$(status_of clf 2)" = candidate &&
	diff -r build/model store/models/candidates/clf/v2/model &&
	grep "weights 0.9" store/models/current/clf/model/weights.txt
'

test_expect_success 'an artifact identical to a version is not registered again' '
	# what a registration killed midway left (its process gone) goes even so
	sh -c "exit 0" & dead=$! && wait $dead &&
	mkdir -p .ntflow/registry/clf/.tmp-$dead/model &&
	echo partial >.ntflow/registry/clf/.tmp-$dead/model/weights.txt &&
	ntflow run p.dag >out 2>err &&
	cat out err &&
	grep "clf v1 unchanged" out &&
	test_path_is_missing .ntflow/registry/clf/.tmp-$dead &&
	ntflow registry list --json >reg.json &&
	test "$(json_get reg.json [-1].version)" = 2
'

test_expect_success 'registry list: a table of the versions' '
	ntflow registry list >out &&
	cat out &&
	head -1 out | grep "^MODEL  VERSION  STATUS      GATE            RUN  COMMIT   SHA256        CREATED$" &&
	grep "^clf    1        production  promote (pass)  1 " out &&
	grep "^clf    2        candidate   promote (fail)  2 " out &&
	grep "^clf v1 is in production: its gate promote passed in run 1$" out &&
	test_line_count = 5 out
'

test_expect_success 'registry show: one version in full, JSON with its history' '
	ntflow registry show clf@2 >out &&
	cat out &&
	grep "^status     candidate$" out &&
	grep "^artifact   build/model/ (dir, " out &&
	grep "^gate       promote: fail$" out &&
	grep "^params     acc=0.7$" out &&
	grep "^  accuracy  0.7$" out &&
	ntflow registry show clf --json >show.json &&
	test "$(json_get show.json .version)" = 1 &&
	test "$(json_get show.json .status)" = production &&
	test "$(json_get show.json .kind)" = dir &&
	test "$(json_get show.json .metrics.accuracy)" = 0.9 &&
	test "$(json_get show.json .params.acc)" = 0.9 &&
	test "$(json_get show.json .history[0].action)" = register &&
	test "$(json_get show.json .run_id)" = 1
'

test_expect_success 'promoting a candidate that failed its gate needs --force, then --reason' '
	test_expect_code 1 ntflow registry promote clf 2 2>err &&
	echo "ntflow: clf v2 failed its gate '"'"'promote'"'"'; promoting it needs --force and --reason TEXT" >expect &&
	test_cmp expect err &&
	test_expect_code 1 ntflow registry promote clf 2 --force 2>err &&
	echo "ntflow: a forced promotion needs --reason TEXT (it is recorded with who promoted)" >expect &&
	test_cmp expect err &&
	test "$(status_of clf 2)" = candidate
'

test_expect_success 'a forced promotion with a reason: production, recorded with the actor' '
	USER=alice ntflow registry promote clf v2 --force --reason "hotfix for incident 42" >out &&
	echo "clf v2 → production (v1 archived), forced by alice: hotfix for incident 42" >expect &&
	test_cmp expect out &&
	test "$(productions clf)" = 2 &&
	test "$(status_of clf 1)" = archived &&
	ntflow registry show clf@2 --json >show.json &&
	test "$(json_get show.json .forced)" = true &&
	test "$(json_get show.json .actor)" = alice &&
	test "$(json_get show.json .reason)" = "hotfix for incident 42" &&
	diff -r .ntflow/registry/clf/2/model store/models/current/clf/model &&
	test_expect_code 1 ntflow registry promote clf 2 2>err &&
	grep "clf v2 is already in production" err
'

test_expect_success 'rollback: the previous production version returns; a second rollback goes further back' '
	ntflow registry rollback clf >out &&
	echo "clf v1 → production (v2 rolled back: only registry promote --force returns it)" >expect &&
	test_cmp expect out &&
	test "$(productions clf)" = 1 &&
	test "$(status_of clf 2)" = rolled-back &&
	diff -r .ntflow/registry/clf/1/model store/models/current/clf/model &&
	test_expect_code 1 ntflow registry rollback clf 2>err &&
	echo "ntflow: clf has no earlier production version to roll back to" >expect &&
	test_cmp expect err &&
	test "$(productions clf)" = 1
'

test_expect_success 'registry verify: ok, then an edited registry copy is caught and marked corrupt' '
	ntflow registry verify >out &&
	echo "ok 2 versions" >expect &&
	test_cmp expect out &&
	echo tampered >>.ntflow/registry/clf/2/model/weights.txt &&
	test_expect_code 1 ntflow registry verify >out &&
	cat out &&
	grep "^bad  clf v2: the registry copy registry/clf/2/model was modified (sha256 [0-9a-f]*, expected [0-9a-f]*)$" out &&
	grep "^1 problem in 2 versions$" out &&
	test "$(status_of clf 2)" = corrupt
'

test_expect_success 'a corrupt version can never be promoted' '
	test_expect_code 1 ntflow registry promote clf 2 --force --reason "try anyway" 2>err &&
	echo "ntflow: clf v2 is corrupt (its artifact failed verification) and cannot be promoted" >expect &&
	test_cmp expect err &&
	test "$(productions clf)" = 1
'

test_expect_success 'registry verify catches an edited production copy under models_dir/current' '
	echo edited >store/models/current/clf/model/config.json &&
	test_expect_code 1 ntflow registry verify clf >out &&
	cat out &&
	grep "^bad  clf v1: store/models/current/clf/model was modified " out &&
	test "$(status_of clf 1)" = production
'

test_expect_success 'a passing run of bytes the registry holds returns that version to production' '
	st="$(pwd)/state-again" &&
	ntflow run p.dag --state "$st" -p acc=0.9 >out1 &&
	ntflow run p.dag --state "$st" -p acc=0.95 >out2 &&
	grep "clf v2 → production" out2 &&
	ntflow run p.dag --state "$st" -p acc=0.9 >out3 &&
	cat out3 &&
	grep "clf v1 → production" out3 &&
	ntflow registry list clf --state "$st" --json >again.json &&
	test "$(json_get again.json [0].status)" = production &&
	test "$(json_get again.json [1].status)" = archived &&
	test "$(json_get again.json [-1].version)" = 2
'

test_expect_success 'usage errors exit 2' '
	test_expect_code 2 ntflow registry 2>err &&
	grep "which subcommand" err &&
	test_expect_code 2 ntflow registry promte clf 1 2>err &&
	grep "did you mean .promote.?" err &&
	test_expect_code 2 ntflow registry promote clf x 2>err &&
	grep "promote: .x. is not a version number" err &&
	test_expect_code 2 ntflow registry list --force 2>err &&
	test_expect_code 2 ntflow registry show clf@ 2>err &&
	test_expect_code 1 ntflow registry show nope 2>err &&
	echo "ntflow: no model '"'"'nope'"'"' in the registry" >expect &&
	test_cmp expect err &&
	test_expect_code 1 ntflow registry show clf@9 2>err &&
	echo "ntflow: model '"'"'clf'"'"' has no version 9" >expect &&
	test_cmp expect err
'

test_expect_success 'a run killed between archiving and registering leaves one production version' '
	test_expect_code 137 env NTFLOW_FAULT=registry-after-archive ntflow-test run p.dag -p acc=0.95 >out 2>err &&
	cat out err &&
	test "$(productions clf 2>/dev/null)" = 1 &&
	test "$(status_of clf 3 2>/dev/null)" = none &&
	test_path_is_missing .ntflow/registry/clf/3 &&
	ntflow run p.dag -p acc=0.95 >out 2>err &&
	cat out err &&
	# its stages had ended and its outcome was decided: recovered with it, not as crashed
	ntflow show 4 --json >show.json &&
	test "$(json_get show.json .run.status)" = succeeded &&
	grep "clf v3 → production" out &&
	ls -a .ntflow/registry/clf >ls.out &&
	! grep tmp ls.out &&
	test "$(productions clf)" = 3 &&
	test "$(status_of clf 1)" = archived
'

test_expect_success 'a promotion killed at the same point changes nothing' '
	test_expect_code 137 env NTFLOW_FAULT=registry-after-archive ntflow-test registry promote clf 1 &&
	test "$(productions clf)" = 3 &&
	test "$(status_of clf 1)" = archived &&
	ntflow registry promote clf 1 >out &&
	grep "clf v1 → production (v3 archived)" out &&
	test "$(productions clf)" = 1
'

# A reason is a person's text, shown by promote, list and show; a control character in it
# (pasted, or a hostile $USER) is written \xNN, never sent to the terminal.
test_expect_success 'registry promote, list and show print a reason'"'"'s control characters as \xNN' '
	ntflow registry rollback clf --reason "$(printf "bad\033[2Jday")" >out &&
	USER="$(printf "eve\033]0;x\007")" ntflow registry promote clf 1 --force --reason "$(printf "fix\033[31mnow")" >out &&
	grep -F "forced by eve\x1b]0;x\x07: fix\x1b[31mnow" out &&
	ntflow registry list clf >list &&
	ntflow registry show clf >show &&
	grep -F "fix\x1b[31mnow" list &&
	grep -xF "by         eve\x1b]0;x\x07: fix\x1b[31mnow" show &&
	grep -F ": bad\x1b[2Jday" show &&
	ntflow show >showrun &&
	grep -F "eve\x1b]0;x\x07" showrun &&
	for f in out list show showrun; do
		! grep -q "$(printf "\033")" $f || return 1
	done
'

test_done
