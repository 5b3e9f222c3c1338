#!/bin/sh
# t4203-plot-validate.sh: plot blocks are checked as the rest of a .dag, each error with its
# file:line:col: a data file outside the stage's outputs, both data and image or neither, a
# template that does not exist (with a suggestion), columns a template needs, x and y on an
# image, a duplicate plot; a plot's file the stage did not write is recorded without a
# digest and the page says so instead of failing the run.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-report.sh"

test_expect_success 'each mistake reported at its place' '
	write_dag bad.dag <<-\EOF &&
	stage "ev" {
	  run     = "true"
	  outputs = ["build/eval/"]
	  metrics = "build/m.json"
	  plot "outside" {
	    data = "build/other.csv"
	    x    = "a"
	    y    = "b"
	  }
	  plot "both" {
	    data  = "build/eval/a.csv"
	    image = "build/eval/a.png"
	  }
	  plot "neither" { title = "x" }
	  plot "typo" {
	    data     = "build/eval/a.csv"
	    template = "scater"
	  }
	  plot "cols" {
	    data     = "build/eval/a.csv"
	    template = "bar"
	    x        = "a"
	  }
	  plot "img" {
	    image = "build/eval/a.png"
	    x     = "a"
	  }
	  plot "img" { image = "build/eval/b.png" }
	  plot "cm" {
	    data     = "build/eval/cm.csv"
	    template = "confusion"
	    x        = "actual"
	    y        = ["p", "q"]
	  }
	}
	EOF
	test_expect_code 2 ntflow validate bad.dag 2>err &&
	grep -F "bad.dag:6:12: error: data \"build/other.csv\" of plot \"outside\" is not in the outputs of stage \"ev\"" err &&
	grep -F "bad.dag:10:3: error: plot \"both\" needs exactly one of '\''data'\'' and '\''image'\''" err &&
	grep -F "bad.dag:14:3: error: plot \"neither\" needs exactly one of" err &&
	grep -F "bad.dag:17:16: error:" err &&
	grep -F "did you mean \"scatter\"" err &&
	grep -F "bad.dag:19:3: error: plot \"cols\" (template \"bar\") needs '\''y'\''" err &&
	grep -F "bad.dag:24:3: error: plot \"img\" shows an image: '\''x'\'' and '\''y'\'' are for data" err &&
	grep -F "bad.dag:28:3: error: duplicate plot \"img\" in stage \"ev\"" err &&
	grep -F "bad.dag:33:22: error: plot \"cm\" (template \"confusion\") takes one '\''y'\'' column" err
'

test_expect_success 'the metrics file may be plotted; roc needs no columns; fmt keeps plots' '
	write_dag good.dag <<-\EOF &&
	stage "ev" {
	  run     = "mkdir -p build && echo {} > build/m.json"
	  metrics = "build/m.json"
	  outputs = ["build/roc/"]
	  plot "m" {
	    data = "build/m.json"
	    x    = "a"
	    y    = "b"
	  }
	  plot "roc" {
	    data     = "build/roc/roc.csv"
	    template = "roc"
	  }
	}
	EOF
	ntflow validate good.dag &&
	ntflow fmt good.dag >formatted &&
	grep -F "  plot \"roc\" {" formatted &&
	grep -F "    template = \"roc\"" formatted
'

test_expect_success 'a plot file the stage did not write: the run goes on, the page says so' '
	write_dag miss.dag <<-\EOF &&
	stage "ev" {
	  run     = "mkdir -p build/roc"
	  outputs = ["build/roc/"]
	  plot "roc" {
	    data     = "build/roc/roc.csv"
	    template = "roc"
	  }
	}
	EOF
	ntflow run miss.dag --no-tui >out 2>&1 &&
	test "$(sqlite3 .ntflow/state.db "SELECT digest FROM plots")" = "" &&
	ntflow report --html miss.html >out &&
	tidy -e -q miss.html &&
	grep -F "run 1: the stage did not write build/roc/roc.csv" miss.html
'

test_expect_success 'a plot file that leads out of the project through a link is not read' '
	mkdir -p ../outside-t4203 &&
	printf "x,y\n1,31337\n" >../outside-t4203/secret.csv &&
	outside=$(cd ../outside-t4203 && pwd) &&
	cat >link.dag <<-EOF &&
	stage "t" {
	  run     = "mkdir -p lk && ln -sf $outside/secret.csv lk/plot.csv"
	  outputs = ["lk/"]
	  plot "p" {
	    data = "lk/plot.csv"
	    x    = "x"
	    y    = ["y"]
	  }
	}
	EOF
	ntflow run link.dag --no-tui >run.out 2>err &&
	grep "t: plot file .lk/plot.csv. leads to .*, outside the project, through a symbolic link; not recorded" err &&
	test "$(sqlite3 .ntflow/state.db "SELECT digest FROM plots WHERE node = '"'"'t'"'"'")" = "" &&
	ntflow report --html link.html >run.out &&
	! grep 31337 link.html
'

test_done
