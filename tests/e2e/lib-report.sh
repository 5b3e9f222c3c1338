# tests/e2e/lib-report.sh: what the report tests (t42xx) share: a DVC-style project whose
# stage writes one data file per plot template and an image, with a gate, a model, a flaky
# stage (retried) and a drift monitor; and the page read back by headless Chromium (the DOM
# after parsing, as a browser has it) and checked by tidy. Sourced after lib.sh.

# The project: gen.sh SHIFT writes build/eval/ (its numbers move with SHIFT).
report_project() {
	mkdir -p bin &&
	cat >bin/gen.sh <<-\EOS &&
	#!/bin/sh
	# gen.sh SHIFT: the evaluation's files, one per kind of plot
	set -e
	s=$1
	mkdir -p build/eval
	printf 'fpr,tpr\n0,0\n0.1,0.5\n0.3,0.8\n1,1\n' >build/eval/roc.csv
	awk -v s="$s" 'BEGIN { printf "epoch\ttrain_loss\tval_loss\n"; for (e = 1; e <= 5; e++) printf "%d\t%.3f\t%.3f\n", e, 1 / e, 1 / e + s }' >build/eval/loss.tsv
	printf '[{"feature": "amount", "weight": 0.8}, {"feature": "age", "weight": -0.3}, {"feature": "hour", "weight": 0.1}]\n' >build/eval/imp.json
	printf 'actual,predicted\n0,0\n0,0\n0,0\n0,1\n1,1\n1,1\n1,0\n' >build/eval/cm.csv
	printf 'x,y\n1,2\n2,3.5\n3,2.5\n4,5\n' >build/eval/points.csv
	printf '%s' iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg== | base64 -d >build/eval/pic.png
	awk -v s="$s" 'BEGIN { printf "{\"auc\": %.3f, \"accuracy\": 0.9}\n", 0.9 - s / 2 }' >build/eval/metrics.json
	echo "model $s" >build/eval/model.txt
	EOS
	chmod +x bin/gen.sh &&
	write_dag shop.dag <<-\EOF
	pipeline "shop" {
	  params {
	    shift = 0.1
	  }
	}

	stage "evaluate" {
	  run     = "bin/gen.sh ${params.shift}"
	  inputs  = ["bin/gen.sh"]
	  outputs = ["build/eval/"]
	  metrics = "build/eval/metrics.json"
	  plot "roc" {
	    data     = "build/eval/roc.csv"
	    template = "roc"
	    title    = "ROC of the test split"
	  }
	  plot "loss" {
	    data  = "build/eval/loss.tsv"
	    x     = "epoch"
	    y     = ["train_loss", "val_loss"]
	    title = "Loss by epoch"
	  }
	  plot "importance" {
	    data     = "build/eval/imp.json"
	    x        = "feature"
	    y        = "weight"
	    template = "bar"
	  }
	  plot "cm" {
	    data     = "build/eval/cm.csv"
	    x        = "actual"
	    y        = "predicted"
	    template = "confusion"
	  }
	  plot "points" {
	    data     = "build/eval/points.csv"
	    x        = "x"
	    y        = "y"
	    template = "scatter"
	  }
	  plot "picture" { image = "build/eval/pic.png" }
	}

	stage "flaky" {
	  run     = "test -f .flaky-ok || { touch .flaky-ok; exit 1; }"
	  retries = 1
	  backoff = "10ms"
	  cache   = false
	}

	gate "promote" {
	  needs   = ["evaluate"]
	  require = ["auc >= 0.5", "accuracy >= 0.8"]
	}

	model "clf" {
	  artifact = "build/eval/model.txt"
	  metrics  = "build/eval/metrics.json"
	  gate     = "promote"
	}

	monitor "drift" {
	  run     = "mkdir -p build && printf '{\"psi\": %s}' ${params.shift} > build/drift.json"
	  metrics = "build/drift.json"
	  alert "shift" {
	    when     = "psi > 0.25"
	    severity = "high"
	  }
	}
	EOF
}

# dom FILE.html: the DOM Chromium builds of the page (no network, a profile of our own).
dom() {
	timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$TRASH_DIRECTORY/.chromium" --dump-dom "file://$(pwd)/$1" 2>chromium.err
}

# screenshot FILE.html OUT.png: the page as Chromium draws it.
screenshot() {
	timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
		--user-data-dir="$TRASH_DIRECTORY/.chromium" --window-size=1200,3000 \
		--screenshot="$(pwd)/$2" "file://$(pwd)/$1" 2>chromium.err
}

# count PATTERN FILE: how many times the fixed string occurs.
count() { grep -o -F -- "$1" "$2" | wc -l | tr -d ' '; }
