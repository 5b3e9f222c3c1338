#!/bin/sh
# t5018-registry-linked-state.sh: a state folder that is a symbolic link (.ntflow moved to a
# bigger disk and linked back, or made a link from the start) still belongs to its project:
# the registry places models in the project's models/, never under the link's end, and
# doctor, verify and rollback find them there (versions recorded by an ntflow that took the
# link's end for the project: check_registry).
. "$(dirname "$0")/lib.sh"


# proj/ is the project; disk/ beside it stands for the other disk.
test_expect_success 'setup: a project with a model, two versions' '
	mkdir -p disk proj &&
	cd proj &&
	git init -q -b main . &&
	write_dag p.dag <<-\EOF &&
	pipeline "p" {
	  params {
	    v = 1
	  }
	}

	stage "train" {
	  run     = "mkdir -p out && echo model ${params.v} >out/m.txt"
	  outputs = ["out/m.txt"]
	}

	gate "g" {
	  needs   = ["train"]
	  require = ["1 >= 0"]
	}

	model "m" {
	  artifact = "out/m.txt"
	  gate     = "g"
	}
	EOF
	printf "out/\nmodels/\n.ntflow\n" >.gitignore &&
	git add . && git commit -q -m p &&
	ntflow run p.dag --no-tui -p v=1 >/dev/null &&
	ntflow run p.dag --no-tui -p v=2 >/dev/null &&
	test "$(cat models/current/m/m.txt)" = "model 2"
'

# The rollback placed v1 under disk/models (outside the project) and left models/current
# at v2, while it said "m v1 -> production" and verify said ok.
test_expect_success 'moved to another disk and linked back: a rollback changes the project'"'"'s models' '
	cd proj &&
	mv .ntflow ../disk/state &&
	ln -s ../disk/state .ntflow &&
	ntflow registry rollback m --reason "v2 misbehaves" &&
	test "$(cat models/current/m/m.txt)" = "model 1" &&
	test_path_is_missing ../disk/models &&
	ntflow registry verify &&
	ntflow doctor >doctor.out &&
	ntflow run p.dag --no-tui -p v=3 >/dev/null &&
	test "$(cat models/current/m/m.txt)" = "model 3" &&
	test_path_is_missing ../disk/models
'

# A link from the start to a folder beside the project: doctor looked for the models one
# folder too deep and failed (exit 1) on every check.
test_expect_success 'a link from the start: doctor, verify and rollback find the project'"'"'s models' '
	mkdir -p side/proj2 side/state2 &&
	cd side/proj2 &&
	git init -q -b main . &&
	cp ../../proj/p.dag ../../proj/.gitignore . &&
	git add . && git commit -q -m p &&
	ln -s ../state2 .ntflow &&
	ntflow run p.dag --no-tui -p v=1 >/dev/null &&
	ntflow run p.dag --no-tui -p v=2 >/dev/null &&
	ntflow doctor >doctor.out &&
	ntflow registry verify &&
	ntflow registry rollback m --reason r &&
	test "$(cat models/current/m/m.txt)" = "model 1" &&
	test_path_is_missing ../models
'

test_done
