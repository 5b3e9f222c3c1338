#!/bin/sh
# t4115-registry-params.sh: a model version records the params and commit of the run that
# made it: `registry show` prints every value the run used (a -p override included), the
# same as the run's own record, and its commit, marked +dirty when the run's tree had
# uncommitted changes; a version whose run recorded no params (an older one) keeps "-".
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null 2>&1 && test_set_prereq SQLITE3

# A model whose training reads data.txt: an uncommitted edit of it makes the run dirty.
write_dag p.dag <<\EOF
pipeline "p" {
  params {
    acc   = 0.9
    check = 0
  }
}

stage "train" {
  run     = "mkdir -p build && cat data.txt >build/model.txt && echo ${params.acc} >>build/model.txt"
  inputs  = ["data.txt"]
  outputs = ["build/model.txt"]
}

model "clf" {
  artifact = "build/model.txt"
}
EOF
echo data >data.txt
printf "/.ntflow/\n/build/\n/models/\n" >.gitignore
git add -A && git commit -qm init

test_expect_success 'a version registered with -p: the params and commit of its run' '
	ntflow run -p acc=0.95 p.dag >out &&
	ntflow registry show clf >show.txt &&
	grep -x "params     acc=0.95 check=0" show.txt &&
	grep -x "commit     $(git rev-parse HEAD)" show.txt &&
	grep -x "run        1" show.txt &&
	ntflow registry show clf --json >v.json &&
	ntflow runs --json --params >runs.json &&
	/usr/bin/python3 - <<-\EOF
	import json
	v = json.load(open("v.json"))
	r = json.load(open("runs.json"))[0]
	assert v["params"] == r["params"] == {"acc": 0.95, "check": 0}, (v["params"], r["params"])
	assert v["commit"] == r["commit"] and v["run_id"] == r["id"] and v["dirty"] is False, v
	EOF
'

test_expect_success 'a version from a dirty tree: its commit is marked +dirty' '
	echo more >>data.txt &&
	ntflow run -p acc=0.97 p.dag >out &&
	ntflow registry show clf@2 >show.txt &&
	grep -x "commit     $(git rev-parse HEAD) +dirty (the run had uncommitted changes)" show.txt &&
	grep -x "params     acc=0.97 check=0" show.txt &&
	ntflow registry show clf@2 --json >v.json &&
	test "$(json_get v.json .dirty)" = true &&
	git checkout -q data.txt
'

test_expect_success SQLITE3 'an older version without params keeps -; a version whose run is gone has dirty null' '
	sqlite3 .ntflow/state.db "UPDATE model_versions SET params = '"'"'{}'"'"' WHERE version = 1" &&
	ntflow registry show clf@1 >show.txt &&
	grep -x "params     -" show.txt &&
	sqlite3 .ntflow/state.db "PRAGMA foreign_keys = ON; DELETE FROM runs WHERE id = 1" &&
	ntflow registry show clf@1 --json >v.json &&
	test "$(json_get v.json .dirty)" = null &&
	ntflow registry show clf@1 >show.txt &&
	grep -x "commit     $(git rev-parse HEAD)" show.txt
'

test_done
