#!/bin/sh
# t5040-registry-reconcile.sh: the files under models/ follow the registry. A production
# copy that disagrees is repaired by the next run, a missing one by registry promote (even
# when it refuses), a missing candidate copy and a copy left under candidates/ by
# registry verify --repair, a missing registry copy of a file from the cache; a copy whose
# bytes are nowhere else is reported and the version marked corrupt. A kill at each step of
# a promotion by a run, by registry promote and by registry rollback (fault injection, test
# builds only) ends with `ntflow registry verify` clean after the next command.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-registry.sh"

test_need_hooks

test_expect_success 'setup: a gated model and a monitor that runs once the gate passed' '
	write_gated_pipeline &&
	ntflow run p.dag >out 2>err &&
	grep "clf v1 → production" out &&
	ntflow run p.dag -p acc=0.95 >out 2>err &&
	grep "clf v2 → production" out &&
	test_expect_code 3 ntflow run p.dag -p acc=0.8 >out 2>err &&
	grep "clf v3 → candidate" out &&
	ntflow registry verify
'

test_expect_success 'models/current disagreeing with the registry: the next run repairs it' '
	cp .ntflow/registry/clf/1/model.txt models/current/clf/model.txt &&
	test_expect_code 1 ntflow registry verify clf >out &&
	grep "^bad  clf v2: models/current/clf/model.txt holds the files of clf v1, not its own (a promotion or rollback cut short: ntflow registry verify --repair, or the next run, puts them right)$" out &&
	ntflow run p.dag -p acc=0.95 >out 2>err &&
	cat err &&
	grep "^ntflow: warning: repaired models/current/clf: it held the files of clf v1; now clf v2, the production version$" err &&
	grep "clf v2 unchanged" out &&
	ntflow registry verify >out &&
	grep "^ok 3 versions$" out &&
	current_is 2
'

test_expect_success 'a missing models/current is repaired by registry promote, even when it refuses' '
	rm -rf models/current &&
	test_expect_code 1 ntflow registry promote clf 2 2>err &&
	cat err &&
	grep "^ntflow: repaired models/current/clf: it was missing; now clf v2, the production version$" err &&
	grep "^ntflow: clf v2 is already in production$" err &&
	current_is 2
'

test_expect_success 'registry verify --repair: a missing candidate copy and a left-over one' '
	rm -rf models/candidates/clf/v3 &&
	mkdir -p models/candidates/clf/v1 models/candidates/clf/keep &&
	echo stale >models/candidates/clf/v1/model.txt &&
	test_expect_code 1 ntflow registry verify >out &&
	cat out &&
	grep "^bad  clf v1 is archived but models/candidates/clf/v1 is still there$" out &&
	grep "^bad  clf v3 is a candidate but models/candidates/clf/v3/model.txt is missing$" out &&
	test_expect_code 2 ntflow registry list --repair 2>err &&
	grep "list: --repair is for verify" err &&
	ntflow registry verify --repair >out 2>err &&
	cat out err &&
	grep "^ntflow: removed models/candidates/clf/v1: clf v1 is archived, no longer a candidate$" err &&
	grep "^ntflow: repaired models/candidates/clf/v3: it was missing; now clf v3, a candidate$" err &&
	grep "^ok 3 versions$" out &&
	cmp .ntflow/registry/clf/3/model.txt models/candidates/clf/v3/model.txt &&
	test_path_is_dir models/candidates/clf/keep &&
	test_path_is_missing models/candidates/clf/v1
'

test_expect_success 'a missing registry copy of a file comes back from the cache' '
	rm .ntflow/registry/clf/2/model.txt &&
	rm -rf models/current &&
	ntflow registry verify --repair >out 2>err &&
	cat err &&
	grep "^ntflow: restored clf v2.s registry copy registry/clf/2/model.txt from the cache$" err &&
	grep "^ntflow: repaired models/current/clf: it was missing; now clf v2, the production version$" err &&
	grep "^ok 3 versions$" out &&
	current_is 2
'

# A promotion killed at each of its steps; the next command (named in each case) must leave
# the files matching the registry, and nothing half-done behind.
after_kill() {
	ntflow registry verify >verify.out || { cat verify.out; return 1; }
	v=$(production) &&
	current_is "$v" &&
	! ls -a models/current models/candidates/clf | grep -e "\.tmp-" -e "\.old-"
}

test_expect_success 'a run killed at each step of its promotion: the next run repairs the files' '
	i=0 &&
	for point in registry-after-archive registry-after-commit place-after-copy place-after-aside place-after-swap
	do
		i=$((i + 1)) &&
		acc=0.90$i &&
		test_expect_code 137 env NTFLOW_FAULT=$point ntflow-test run p.dag -p acc=$acc >out 2>err &&
		case $point in
		# the files still match: the copy is built before the commit, which a kill then
		# never reached; and after the swap
		place-after-copy|registry-after-archive|place-after-swap) want=0 ;;
		*) want=1 ;;
		esac &&
		test_expect_code $want ntflow registry verify >pre.out &&
		ntflow run p.dag -p acc=$acc >out 2>err &&
		cat err &&
		grep -E "clf v[0-9]+ (→ production|unchanged)" out &&
		after_kill || { echo "after $point"; return 1; }
	done
'

# A run that dies once its last stage has ended and its outcome is decided, while it
# registers its model, is recovered with that outcome: a version it put in production is a
# succeeded run's, never a crashed run's (one that dies before its commit changed nothing).
test_expect_success 'a run killed while it registers: recorded succeeded, production as committed' '
	i=0 &&
	for point in registry-after-archive registry-after-commit
	do
		i=$((i + 1)) &&
		before=$(production) &&
		test_expect_code 137 env NTFLOW_FAULT=$point ntflow-test run p.dag -p acc=0.97$i >out 2>err &&
		ntflow runs --json >runs.json 2>err &&
		cat err &&
		run=$(json_get runs.json "[0].id") &&
		test "$(json_get runs.json "[0].status")" = succeeded &&
		grep "^ntflow: run $run had crashed after it succeeded" err &&
		case $point in
		registry-after-archive) test "$(production)" = "$before" ;;
		registry-after-commit)
			v=$(production) && test "$v" != "$before" &&
			ntflow registry list clf --json >reg.json &&
			/usr/bin/python3 -c "
import json, sys
v = [x for x in json.load(open(\"reg.json\")) if x[\"version\"] == int(sys.argv[1])][0]
sys.exit(v[\"run_id\"] != int(sys.argv[2]))
" "$v" "$run" ;;
		esac || { echo "after $point"; return 1; }
	done &&
	ntflow run p.dag -p acc=0.972 >out 2>err &&
	after_kill
'

test_expect_success 'registry promote killed at each step: verify --repair is clean after' '
	i=0 &&
	for point in registry-after-archive registry-after-commit place-after-copy place-after-aside place-after-swap registry-after-place
	do
		i=$((i + 1)) &&
		test_expect_code 3 ntflow run p.dag -p acc=0.7$i >out 2>err &&
		v=$(sed -n "s/.*clf v\([0-9]*\) → candidate.*/\1/p" out) &&
		test -n "$v" &&
		test_expect_code 137 env NTFLOW_FAULT=$point ntflow-test registry promote clf $v --force --reason "kill test" &&
		case $point in
		place-after-copy|registry-after-archive) want=0 ;;   # the transaction never committed
		*) want=1 ;;                                         # models/current or candidates/ disagree
		esac &&
		test_expect_code $want ntflow registry verify >pre.out &&
		ntflow registry verify --repair >out 2>err &&
		cat err &&
		after_kill || { echo "after $point"; return 1; }
	done
'

test_expect_success 'registry rollback killed at each step: the next run repairs the files' '
	for point in registry-after-archive registry-after-commit place-after-copy place-after-aside place-after-swap
	do
		test_expect_code 137 env NTFLOW_FAULT=$point ntflow-test registry rollback clf --reason "kill test" &&
		case $point in
		place-after-copy|registry-after-archive|place-after-swap) want=0 ;;
		*) want=1 ;;
		esac &&
		test_expect_code $want ntflow registry verify >pre.out &&
		test_expect_code 3 ntflow run p.dag -p acc=0.7 >out 2>err &&
		cat err &&
		after_kill || { echo "after $point"; return 1; }
	done
'

test_expect_success 'a production copy whose bytes are nowhere else is reported, not passed' '
	v=$(production) &&
	rm -rf .ntflow/registry/clf/$v .ntflow/cache models/current &&
	test_expect_code 1 ntflow registry verify --repair >out 2>err &&
	cat out err &&
	grep "^ntflow: cannot restore models/current/clf (clf v$v, the production version; it was missing): clf v$v: the registry copy registry/clf/$v/model.txt is missing, and its bytes are nowhere else; .ntflow registry verify. marks it corrupt$" err &&
	test "$(status_of clf $v)" = corrupt
'

test_done
