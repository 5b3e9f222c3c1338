#!/bin/sh
# t5020-registry-decisions.sh: a person's decision in the registry stands. A rollback then
# a cached rerun keeps the rolled-back choice (the rolled-back version is marked so, and
# returns only by promote --force); list, show, the run's show, the audit log and the
# dashboard say why the champion is the champion; a forced promotion stands against a
# passing rerun of bytes the registry holds, also of a candidate that failed its gate; a
# model with different bytes that passes the gate ends the decision.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-registry.sh"

test_expect_success 'setup: a gated model and a monitor that runs once the gate passed' '
	write_gated_pipeline &&
	ntflow run p.dag --date 2026-09-07 >out 2>err &&
	grep "clf v1 → production" out &&
	ntflow run p.dag --date 2026-09-07 -p acc=0.95 >out 2>err &&
	grep "clf v2 → production" out &&
	test "$(production)" = 2
'

test_expect_success 'rollback then a cached rerun keeps the rolled-back choice' '
	USER=alice ntflow registry rollback clf --reason "bad canary" >rollback.out &&
	test "$(production)" = 1 &&
	ntflow run p.dag --date 2026-09-07 -p acc=0.95 >out 2>err &&
	cat out err &&
	ntflow show --json >show.json &&
	test "$(json_get show.json ".stages[0].state")" = cached &&
	test "$(json_get show.json ".stages[1].state")" = cached &&
	test "$(json_get show.json ".gates[0].passed")" = true &&
	test "$(production)" = 1 &&
	current_is 1 &&
	test "$(status_of clf 2)" = rolled-back &&
	echo "clf v1 → production (v2 rolled back: only registry promote --force returns it)" >expect &&
	test_cmp expect rollback.out &&
	grep "clf v2 unchanged (not returned to production: v2 was rolled back by alice: bad canary; only registry promote --force returns it to production)" out &&
	test "$(json_get show.json ".held[0].version")" = 2 &&
	test "$(json_get show.json ".production[0].version")" = 1
'

test_expect_success 'list, show and the run say why the champion is the champion' '
	ntflow registry list >out &&
	cat out &&
	grep "^clf    2        rolled-back  promote (pass)  2 " out &&
	grep "^clf v1 is in production: returned to production by alice.s rollback: bad canary; a person.s decision: it stands until a model with different bytes passes the gate$" out &&
	ntflow registry show clf@2 >out &&
	grep "^status     rolled-back$" out &&
	grep "^why        rolled back by alice: bad canary; only registry promote --force returns it to production$" out &&
	grep "rollback  rolled-back  by alice: bad canary$" out &&
	ntflow registry show clf --json >v.json &&
	test "$(json_get v.json .version)" = 1 &&
	json_get v.json .why | grep "^returned to production by alice.s rollback" &&
	ntflow show >out &&
	sed -n "/^registered/,\$p" out >actual &&
	cat >expect <<-\EOF &&
	registered
	  clf v2  unchanged (rolled-back): not returned to production: v2 was rolled back by alice: bad canary; only registry promote --force returns it to production

	in production
	  clf v1  returned to production by alice'"'"'s rollback: bad canary; a person'"'"'s decision: it stands until a model with different bytes passes the gate
	EOF
	test_cmp expect actual
'

test_expect_success 'the rollback and the held promotion are in the audit log with who, when and why' '
	ntflow audit show --json >audit.json &&
	/usr/bin/python3 -c "
import json
recs = json.load(open(\"audit.json\"))[\"records\"]
rb = [r for r in recs if r[\"kind\"] == \"rollback\"]
held = [r for r in recs if r[\"kind\"] == \"promotion-held\"]
p = rb[-1][\"payload\"]
assert p[\"actor\"] == \"alice\" and p[\"reason\"] == \"bad canary\" and p[\"previous\"] == 2, p
assert rb[-1][\"time_ms\"] > 0, rb[-1]
assert held[-1][\"payload\"][\"version\"] == 2 and held[-1][\"run_id\"] == 3, held
" &&
	ntflow audit verify
'

test_expect_success 'the dashboard shows the rolled-back version and why v1 is in production' '
	ntflow dash --max-frames 2 --screen d.screen --size 160x48 &&
	grep -a -q -F "rolled-back" d.screen &&
	grep -a -q -F "registry: clf v1 in production (rollback by alice)" d.screen
'

test_expect_success 'a rolled-back version returns only by promote --force' '
	test_expect_code 1 ntflow registry promote clf 2 2>err &&
	echo "ntflow: clf v2 was rolled back; returning it to production needs --force and --reason TEXT" >expect &&
	test_cmp expect err &&
	USER=bob ntflow registry promote clf 2 --force --reason "canary fixed" >out &&
	grep "clf v2 → production (v1 archived), forced by bob: canary fixed" out &&
	test "$(production)" = 2 &&
	current_is 2
'

test_expect_success 'a forced promotion stands against a passing rerun of bytes the registry holds' '
	ntflow run p.dag --date 2026-09-07 >out 2>err &&
	cat out &&
	grep "clf v1 unchanged (not returned to production: the forced promotion of v2 by bob stands until a model with different bytes passes the gate)" out &&
	test "$(production)" = 2 &&
	current_is 2
'

test_expect_success 'a model with different bytes that passes the gate ends the decision' '
	ntflow run p.dag --date 2026-09-07 -p acc=0.96 >out 2>err &&
	grep "clf v3 → production" out &&
	test "$(status_of clf 2)" = archived &&
	ntflow run p.dag --date 2026-09-07 >out 2>err &&
	grep "clf v1 → production" out &&
	ntflow registry list >out &&
	grep "^clf v1 is in production: its bytes passed gate promote again in run 6$" out &&
	current_is 1
'

test_expect_success 'promote --force of a failing candidate stands until different bytes pass' '
	test_expect_code 3 ntflow run p.dag -p acc=0.8 >out 2>err &&
	grep "clf v4 → candidate" out &&
	USER=carol ntflow registry promote clf 4 --force --reason "risk team" >out &&
	ntflow run p.dag -p acc=0.96 >out 2>err &&
	grep "clf v3 unchanged (not returned to production: the forced promotion of v4 by carol stands" out &&
	ntflow registry show clf >out &&
	grep "^why        promoted by carol past its failed gate promote: risk team; a person.s decision" out &&
	test "$(production)" = 4 &&
	current_is 4 &&
	ntflow run p.dag -p acc=0.97 >out 2>err &&
	grep "clf v5 → production" out &&
	test "$(production)" = 5
'

test_done
