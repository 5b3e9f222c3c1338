#!/bin/sh
# t4118-why-previous-run.sh: `why` compares a stage with the same stage in the previous run of
# its pipeline where it ran or was cached, not with the newest cache entry of the stage, which
# may be a run in between: a run of another param value, or a run of another file of the
# same pipeline. A failed run in between is passed over (it left no result), and another
# pipeline's runs never count.
. "$(dirname "$0")/lib.sh"

write_dag p.dag <<\EOF
pipeline "p" {
  params {
    lr = 1
  }
}

stage "train" {
  run     = "mkdir -p build && cat data.txt >build/model.txt && echo ${params.lr} >>build/model.txt"
  inputs  = ["data.txt"]
  outputs = ["build/model.txt"]
}
EOF
# The same pipeline in another file, whose train runs another command.
write_dag other.dag <<\EOF
pipeline "p" {
  params {
    lr = 1
  }
}

stage "train" {
  run     = "mkdir -p build && cat data.txt >build/model.txt && echo other ${params.lr} >>build/model.txt"
  inputs  = ["data.txt"]
  outputs = ["build/model.txt"]
}
EOF
echo one >data.txt
printf 'build/\n.ntflow/\n' >.gitignore
git add -A && git commit -qm init

test_expect_success 'a run of another param value in between: the previous run is compared with' '
	ntflow run p.dag >out &&
	ntflow run -p lr=2 p.dag >out &&
	ntflow run p.dag >out &&
	echo "train: cached: reused the result of run 1 (commit $(git rev-parse --short=7 HEAD), $(date -u +%Y-%m-%d))" >expect &&
	ntflow why train >actual &&
	test_cmp expect actual &&
	echo two >data.txt && git commit -qam two &&
	ntflow run p.dag >out &&
	ntflow why train >actual &&
	grep "^train: ran: input data.txt changed (blob " actual &&
	! grep "param lr" actual
'

test_expect_success 'a run of another file of the pipeline in between' '
	ntflow run other.dag >out &&
	echo three >data.txt && git commit -qam three &&
	ntflow run other.dag >out &&
	ntflow why train >actual &&
	grep "^train: ran: input data.txt changed (blob " actual &&
	ntflow run p.dag >out &&
	ntflow why train >actual &&
	echo "train: ran: command changed" >expect &&
	test_cmp expect actual
'

test_expect_success 'a failed run in between is passed over; other pipelines never count' '
	ntflow run -p lr=3 p.dag >out &&
	write_dag q.dag <<-\EOF &&
	pipeline "q" {
	  params {
	    lr = 9
	  }
	}

	stage "train" {
	  run     = "mkdir -p build && echo q ${params.lr} >build/model.txt"
	  outputs = ["build/model.txt"]
	}
	EOF
	ntflow run q.dag >out &&
	mv data.txt data.keep &&
	test_must_fail ntflow run -p lr=4 p.dag >out 2>&1 &&
	mv data.keep data.txt &&
	ntflow run -p lr=5 p.dag >out &&
	echo "train: ran: param lr changed 3 → 5" >expect &&
	ntflow why train >actual &&
	test_cmp expect actual
'

test_expect_success 'why for an older run keeps its own comparison' '
	echo "train: ran: param lr changed 1 → 2" >expect &&
	ntflow why 2 train >actual &&
	test_cmp expect actual
'

test_done
