#!/bin/sh
# t0110-model-at-version.sh: MODEL@VERSION wherever a version is named: registry show,
# promote (MODEL VERSION still works) and rollback (MODEL@VERSION only when VERSION is the
# production one); an unknown model gets a "did you mean" (issue 19).
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup: three candidate versions of fraud-clf' '
	write_dag p.dag <<-\EOF &&
	pipeline "p" {
	  params {
	    acc = 0.9
	  }
	}
	stage "train" {
	  run     = "mkdir -p build && echo w ${params.acc} >build/m.txt"
	  outputs = ["build/m.txt"]
	}
	model "fraud-clf" {
	  artifact = "build/m.txt"
	}
	EOF
	ntflow run p.dag --no-tui >/dev/null &&
	ntflow run p.dag --no-tui -p acc=0.8 >/dev/null &&
	ntflow run p.dag --no-tui -p acc=0.7 >/dev/null
'

test_expect_success 'promote MODEL@VERSION, and MODEL VERSION as before' '
	ntflow registry promote fraud-clf@1 >out &&
	grep "fraud-clf v1 → production" out &&
	ntflow registry promote fraud-clf 2 >out &&
	grep "fraud-clf v2 → production (v1 archived)" out &&
	ntflow registry show fraud-clf@2 --json >v &&
	grep "\"status\":.*\"production\"" v &&
	test_expect_code 2 ntflow registry promote fraud-clf 2>err &&
	grep "which version of .fraud-clf." err &&
	test_expect_code 2 ntflow registry promote fraud-clf@x 2>err &&
	grep "is not MODEL or MODEL@VERSION" err
'

test_expect_success 'rollback MODEL@VERSION rolls back only the production version' '
	test_expect_code 1 ntflow registry rollback fraud-clf@1 2>err &&
	grep "v1 is not in production (v2 is)" err &&
	ntflow registry rollback fraud-clf@2 >out &&
	grep "fraud-clf v1 → production (v2 rolled back" out
'

test_expect_success 'an unknown model: did you mean' '
	test_expect_code 1 ntflow registry show fraud-cfl 2>err &&
	grep "no model .fraud-cfl. in the registry; did you mean .fraud-clf.?" err &&
	test_expect_code 1 ntflow registry promote fraud-cfl@1 2>err &&
	grep "did you mean .fraud-clf.?" err
'

test_done
