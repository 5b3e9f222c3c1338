# tests/e2e/lib-registry.sh: what the registry scripts (t5020, t5030, t5040) share: queries of
# the registry and the gated pipeline they run. Sourced after lib.sh:
#	. "$NTFLOW_SRC_DIR/tests/e2e/lib-registry.sh"

# status_of MODEL VERSION: the status in `ntflow registry list --json`, or none.
status_of() {
	ntflow registry list --json >reg.json &&
	/usr/bin/python3 -c '
import json, sys
hit = [v for v in json.load(open("reg.json")) if v["model"] == sys.argv[1] and v["version"] == int(sys.argv[2])]
print(hit[0]["status"] if hit else "none")
' "$1" "$2"
}

# production: the versions of clf in production, space-separated.
production() {
	ntflow registry list clf --json >reg.json &&
	/usr/bin/python3 -c '
import json
print(" ".join(str(v["version"]) for v in json.load(open("reg.json")) if v["status"] == "production"))
'
}

# current_is VERSION: models/current/clf holds exactly the registry copy of clf VERSION.
current_is() {
	test "$(ls -A models/current/clf)" = model.txt &&
	cmp .ntflow/registry/clf/$1/model.txt models/current/clf/model.txt
}

# write_gated_pipeline: p.dag (a model "clf" whose artifact build/model.txt holds
# params.acc, a gate "promote" on accuracy >= 0.85 and a monitor "check" after it that
# exits params.check), a .gitignore for what runs write, both committed.
write_gated_pipeline() {
	write_dag p.dag <<-\EOF &&
	pipeline "p" {
	  params {
	    acc   = 0.9
	    check = 0
	  }
	}

	stage "train" {
	  run     = "mkdir -p build && echo weights ${params.acc} >build/model.txt"
	  outputs = ["build/model.txt"]
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
	  artifact = "build/model.txt"
	  gate     = "promote"
	}

	monitor "check" {
	  needs = ["promote"]
	  run   = "exit ${params.check}"
	}
	EOF
	printf "/.ntflow/\n/build/\n/models/\n" >.gitignore &&
	git add . && git commit -q -m pipeline
}
