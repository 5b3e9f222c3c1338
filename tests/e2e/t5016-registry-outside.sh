#!/bin/sh
# t5016-registry-outside.sh: a model's artifact and metrics file are read only inside the
# project: a parameter with "..", or a link the training stage made, that leads out of it
# (or to the whole project) registers nothing and reads nothing there (a warning says why);
# validate refuses such a path written in the file (tests/dag/bad/model-outside).
. "$(dirname "$0")/lib.sh"

# The project is proj/, a repository of its own; outside/ beside it stands for the rest of
# the machine (in the trash directory, so that the test writes nothing elsewhere).
test_expect_success 'setup: a model whose artifact and metrics file come from parameters' '
	mkdir -p outside proj &&
	echo SECRET >outside/secret &&
	echo "{\"leaked\": 1234}" >outside/m.json &&
	cd proj &&
	git init -q -b main . &&
	write_dag p.dag <<-\EOF &&
	pipeline "p" {
	  params {
	    a = "model.bin"
	    m = "out/m.json"
	  }
	}

	stage "train" {
	  run     = "mkdir -p out && echo weights >out/model.bin && echo {\\\"acc\\\": 1} >out/m.json && ln -sf \"$(cd ../outside && pwd)/secret\" out/link && ln -sfn .. out/up"
	  outputs = ["out/"]
	}

	model "byparam" {
	  artifact = "out/${params.a}"
	  metrics  = "${params.m}"
	}

	model "bylink" {
	  artifact = "out/link"
	}

	model "byroot" {
	  artifact = "out/up"
	}
	EOF
	printf "/.ntflow/\n/out/\n/models/\n" >.gitignore &&
	git add . && git commit -q -m "pipeline"
'

test_expect_success 'an artifact a parameter or a link leads out of the project is not registered' '
	cd proj &&
	ntflow run p.dag -p a=../../outside/secret >run.out 2>run.err &&
	cat run.out run.err &&
	grep "model byparam: model artifact .out/../../outside/secret. is outside the workspace; not registered" run.err &&
	grep "model bylink: model artifact .out/link. leads to .*outside/secret., outside the project, through a symbolic link; not registered" run.err &&
	grep "model byroot: model artifact .out/up. leads to the whole project; not registered" run.err &&
	ntflow registry list >list &&
	grep "no model versions yet" list &&
	! grep -r SECRET .ntflow models 2>/dev/null
'

test_expect_success 'a metrics file a parameter leads out of the project is not read' '
	cd proj &&
	ntflow run p.dag -p m=../outside/m.json >run.out 2>run.err &&
	cat run.out run.err &&
	grep "model byparam: cannot read its metrics file ../outside/m.json (metrics file .../outside/m.json. is outside the workspace); using its gate.s metrics" run.err &&
	ntflow registry show byparam@1 >show &&
	! grep leaked show
'

test_done
