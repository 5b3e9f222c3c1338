#!/bin/sh
# t3000-cache.sh: the cache keyed on git. A second run of an unchanged pipeline starts no
# process; edits to files that are no declared input, and commits without content changes,
# keep everything cached; an edited input reruns its stage and what depends on it, and
# `why` names the file and both blob ids; an uncommitted edit marks the run dirty with its
# path; a deleted output comes back from the store; --force, --no-cache and cache = false.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

# Every stage appends its name to spawns, so a test can tell which processes started.
write_dag p.dag <<\EOF
pipeline "cachetest" {
  params {
    rows = 2
  }
}

stage "ingest" {
  run     = "echo ingest >>spawns && mkdir -p build && cp data/raw.csv build/raw.csv"
  inputs  = ["data/raw.csv"]
  outputs = ["build/raw.csv"]
}

stage "prep" {
  needs   = ["ingest"]
  run     = "echo prep >>spawns && sh code/prep.sh build/raw.csv build/prep"
  inputs  = ["code/"]
  outputs = ["build/prep/"]
}

stage "train" {
  needs   = ["prep"]
  run     = "echo train >>spawns && cat build/prep/rows.txt build/prep/sub/head.txt >build/model.txt"
  outputs = ["build/model.txt"]
}

stage "report" {
  run     = "echo report >>spawns && mkdir -p build && head -n ${params.rows} notes/notes.txt >build/report.txt"
  inputs  = ["notes/notes.txt"]
  outputs = ["build/report.txt"]
}
EOF

write_dag side.dag <<\EOF
pipeline "side" {}

stage "make" {
  run     = "echo make >>side-spawns && mkdir -p build && echo made >build/made.txt"
  outputs = ["build/made.txt"]
}

stage "deploy" {
  needs = ["make"]
  run   = "echo deploy >>side-spawns && cp build/made.txt deployed.txt"
  cache = false
}
EOF

# spawns_since N: the stage names appended to spawns after its first N lines, sorted.
spawns_since() { tail -n +"$(($1 + 1))" spawns | sort | tr '\n' ' '; }
nspawns() { if test -f spawns; then wc -l <spawns; else echo 0; fi; }

test_expect_success 'setup: a committed pipeline, its inputs and code' '
	mkdir -p data code notes &&
	printf "id,x\n1,0.5\n2,0.7\n" >data/raw.csv &&
	cat >code/prep.sh <<-\EOF &&
	mkdir -p "$2/sub"
	wc -l <"$1" >"$2/rows.txt"
	head -n 1 "$1" >"$2/sub/head.txt"
	EOF
	printf "one\ntwo\nthree\n" >notes/notes.txt &&
	echo "the project" >README &&
	printf ".ntflow/\nbuild/\nspawns\nside-spawns\ndeployed.txt\n" >.gitignore &&
	git add . && git commit -q -m "pipeline" &&
	ntflow run p.dag >out &&
	cat out &&
	test "$(spawns_since 0)" = "ingest prep report train " &&
	show_json &&
	for s in ingest prep train report; do
		test "$(stage_field show.json $s state)" = succeeded &&
		test "$(stage_field show.json $s cached)" = false &&
		test "$(stage_field show.json $s reused_run)" = null &&
		test "$(stage_field show.json $s miss_reason)" = "no earlier run" &&
		stage_field show.json $s cache_key | grep -E "^[0-9a-f]{64}$" || return 1
	done &&
	cp show.json run1.json &&
	test "$(json_get show.json .run.dirty)" = false &&
	test "$(json_get show.json .run.dirty_paths)" = "[]" &&
	test "$(json_get show.json .run.branch)" = main &&
	test "$(json_get show.json .run.commit)" = "$(git rev-parse HEAD)" &&
	json_get show.json .run.dag_sha256 | grep -E "^[0-9a-f]{64}$" &&
	test "$(json_get show.json .run.dag_sha256)" = "$(sha256sum p.dag | cut -c1-64)" &&
	ntflow --version | grep -F "$(json_get show.json .run.ntflow_version)"
'

test_expect_success 'a second run of the unchanged pipeline: all cached, no process started' '
	n=$(nspawns) &&
	ntflow run p.dag >out &&
	cat out &&
	test "$(nspawns)" = "$n" &&
	test_path_is_missing .ntflow/logs/2 &&
	grep -x "\[1/4\] ingest cached: reused run 1" out &&
	show_json &&
	for s in ingest prep train report; do
		test "$(stage_field show.json $s state)" = cached &&
		test "$(stage_field show.json $s cached)" = true &&
		test "$(stage_field show.json $s reused_run)" = 1 &&
		test "$(stage_field show.json $s miss_reason)" = null &&
		test "$(stage_field show.json $s cache_key)" = "$(stage_field run1.json $s cache_key)" || return 1
	done &&
	c=$(git rev-parse HEAD | cut -c1-7) &&
	echo "train: cached: reused the result of run 1 (commit $c, $(date -u +%Y-%m-%d))" >expect &&
	ntflow why train >actual &&
	test_cmp expect actual &&
	ntflow show >show.txt &&
	grep -E "^train +cached .* run 1$" show.txt
'

test_expect_success 'editing a file that is no declared input keeps everything cached' '
	n=$(nspawns) &&
	echo "more words" >>README &&
	echo "four" >notes/unrelated.txt &&
	ntflow run p.dag >out &&
	test "$(nspawns)" = "$n" &&
	show_json &&
	for s in ingest prep train report; do
		test "$(stage_field show.json $s state)" = cached || return 1
	done
'

test_expect_success 'a commit without content changes keeps everything cached' '
	n=$(nspawns) &&
	git add README notes/unrelated.txt && git commit -q -m "docs only" &&
	git commit -q --allow-empty -m "nothing at all" &&
	ntflow run p.dag >out &&
	test "$(nspawns)" = "$n" &&
	show_json &&
	test "$(json_get show.json .run.commit)" = "$(git rev-parse HEAD)" &&
	test "$(json_get show.json .run.dirty)" = false &&
	for s in ingest prep train report; do
		test "$(stage_field show.json $s state)" = cached &&
		test "$(stage_field show.json $s reused_run)" = 1 || return 1
	done
'

test_expect_success 'editing an input reruns its stage and its dependents; why names both blobs' '
	n=$(nspawns) &&
	old=$(git rev-parse HEAD:data/raw.csv | cut -c1-7) &&
	echo "3,0.9" >>data/raw.csv &&
	git commit -q -a -m "more data" &&
	new=$(git rev-parse HEAD:data/raw.csv | cut -c1-7) &&
	ntflow run p.dag >out &&
	cat out &&
	test "$(spawns_since $n)" = "ingest prep train " &&
	show_json &&
	test "$(stage_field show.json report state)" = cached &&
	test "$(stage_field show.json ingest miss_reason)" = "input data/raw.csv changed (blob $old → $new)" &&
	echo "ingest: ran: input data/raw.csv changed (blob $old → $new)" >expect &&
	ntflow why ingest >actual &&
	test_cmp expect actual &&
	echo "prep: ran: upstream ingest produced different outputs" >expect &&
	ntflow why prep >actual &&
	test_cmp expect actual &&
	test "$(cat build/model.txt)" = "$(printf "4\nid,x")" &&
	ntflow show >show.txt &&
	grep -E "^ingest +succeeded .*  input data/raw.csv changed$" show.txt
'

test_expect_success 'an uncommitted edit of an input: rerun, and the run is dirty with that path' '
	n=$(nspawns) &&
	echo "4,1.1" >>data/raw.csv &&
	wt=$(git hash-object data/raw.csv | cut -c1-7) &&
	head=$(git rev-parse HEAD:data/raw.csv | cut -c1-7) &&
	ntflow run p.dag >out &&
	test "$(spawns_since $n)" = "ingest prep train " &&
	show_json &&
	test "$(json_get show.json .run.dirty)" = true &&
	test "$(json_get show.json .run.dirty_paths)" = "[\"data/raw.csv\"]" &&
	test "$(json_get show.json .run.commit)" = "$(git rev-parse HEAD)" &&
	echo "ingest: ran: input data/raw.csv changed (blob $head → $wt)" >expect &&
	ntflow why ingest >actual &&
	test_cmp expect actual &&
	ntflow show | grep -x "dirty     yes"
'

test_expect_success 'the same uncommitted content again is cached; reverting it reuses the committed result' '
	n=$(nspawns) &&
	ntflow run p.dag >out &&
	test "$(nspawns)" = "$n" &&
	git checkout -q data/raw.csv &&
	ntflow run p.dag >out &&
	test "$(nspawns)" = "$n" &&
	show_json &&
	test "$(json_get show.json .run.dirty)" = false &&
	test "$(stage_field show.json ingest reused_run)" = 5 &&
	test "$(cat build/model.txt)" = "$(printf "4\nid,x")"
'

test_expect_success 'deleted outputs are restored from the store without running the stage' '
	n=$(nspawns) &&
	cp build/model.txt model.before &&
	cp -R build/prep prep.before &&
	rm -rf build/prep build/model.txt &&
	echo junk >build/report.txt &&
	show_json &&
	last=$(json_get show.json .run.id) &&
	ntflow run p.dag >out &&
	test "$(nspawns)" = "$n" &&
	test_path_is_missing .ntflow/logs/$((last + 1)) &&
	test_cmp model.before build/model.txt &&
	diff -r prep.before build/prep &&
	test "$(cat build/report.txt)" = "$(printf "one\ntwo")" &&
	show_json &&
	for s in ingest prep train report; do
		test "$(stage_field show.json $s state)" = cached || return 1
	done
'

test_expect_success 'a param change reruns only the stage that names it' '
	n=$(nspawns) &&
	ntflow run p.dag -p rows=3 >out &&
	test "$(spawns_since $n)" = "report " &&
	echo "report: ran: param rows changed 2 → 3" >expect &&
	ntflow why report >actual &&
	test_cmp expect actual &&
	test "$(wc -l <build/report.txt)" = 3
'

test_expect_success '--force STAGE reruns it and its dependents, the rest is cached' '
	n=$(nspawns) &&
	ntflow run p.dag --force prep >out &&
	test "$(spawns_since $n)" = "prep train " &&
	echo "prep: ran: forced" >expect &&
	ntflow why prep >actual &&
	test_cmp expect actual &&
	show_json &&
	test "$(stage_field show.json ingest state)" = cached &&
	test "$(stage_field show.json report state)" = cached &&
	test "$(stage_field show.json train miss_reason)" = forced
'

test_expect_success '--no-cache runs everything; the results still reach the cache' '
	n=$(nspawns) &&
	ntflow run p.dag --no-cache >out &&
	test "$(spawns_since $n)" = "ingest prep report train " &&
	echo "ingest: ran: forced: --no-cache" >expect &&
	ntflow why ingest >actual &&
	test_cmp expect actual &&
	show_json &&
	run=$(json_get show.json .run.id) &&
	n=$(nspawns) &&
	ntflow run p.dag >out &&
	test "$(nspawns)" = "$n" &&
	show_json &&
	test "$(stage_field show.json ingest reused_run)" = "$run"
'

test_expect_success 'cache = false: the stage runs every time, the others are cached' '
	ntflow run side.dag >out &&
	ntflow run side.dag >out &&
	test "$(sort side-spawns | tr "\n" " ")" = "deploy deploy make " &&
	show_json &&
	test "$(stage_field show.json make state)" = cached &&
	test "$(stage_field show.json deploy state)" = succeeded &&
	test "$(stage_field show.json deploy cached)" = false &&
	test "$(stage_field show.json deploy cache_key)" = null &&
	echo "deploy: ran: caching is off for this stage (cache = false)" >expect &&
	ntflow why deploy >actual &&
	test_cmp expect actual &&
	ntflow show >show.txt &&
	grep -E "^deploy +succeeded .* off \(cache = false\)$" show.txt
'

test_expect_success 'a folder input holds what git ignores in it: a changed data file reruns' '
	mkdir -p gi/data && (
		cd gi && git init -q &&
		echo readme >data/README &&
		printf "/.ntflow/\n/out/\n*.csv\n" >.gitignore &&
		echo 1,2 >data/train.csv &&
		cat >p.dag <<-\EOF &&
		stage "train" {
		  run     = "mkdir -p out && cat data/train.csv >out/model"
		  inputs  = ["data/"]
		  outputs = ["out/model"]
		}
		stage "feat" {
		  run     = "cat data/train.csv >data/features.csv"
		  inputs  = ["data/"]
		  outputs = ["data/features.csv"]
		}
		EOF
		git add -A && git commit -q -m data &&
		ntflow run p.dag --no-tui >../gi.out &&
		ntflow run p.dag --no-tui >../gi.out &&
		grep "train cached" ../gi.out &&
		grep "feat cached" ../gi.out &&
		echo 9,9 >data/train.csv &&
		ntflow run p.dag --no-tui >../gi.out &&
		grep "train succeeded" ../gi.out &&
		grep "feat succeeded" ../gi.out &&
		echo 9,9 >expect && test_cmp expect out/model &&
		# a stage'"'"'s own ignored output in its input folder is not one of its inputs
		ntflow run p.dag --no-tui >../gi.out &&
		grep "train cached" ../gi.out &&
		grep "feat cached" ../gi.out &&
		# nor the bytecode Python leaves beside the code (an edit reruns once, not twice)
		mkdir src && echo "x = 1" >src/m.py &&
		printf "__pycache__/\n" >>.gitignore &&
		cat >code.dag <<-\EOF &&
		stage "code" {
		  run     = "mkdir -p src/__pycache__ out && cat src/m.py >src/__pycache__/m.pyc && cat src/m.py >out/code"
		  inputs  = ["src/"]
		  outputs = ["out/code"]
		}
		EOF
		git add -A && git commit -q -m code &&
		ntflow run code.dag --no-tui >../gi.out && grep "code succeeded" ../gi.out &&
		ntflow run code.dag --no-tui >../gi.out && grep "code cached" ../gi.out &&
		echo "x = 2" >src/m.py &&
		ntflow run code.dag --no-tui >../gi.out && grep "code succeeded" ../gi.out &&
		ntflow run code.dag --no-tui >../gi.out && grep "code cached" ../gi.out &&
		# its own output inside an ignored subfolder of the input is left out too; a FIFO or
		# socket in an ignored folder is named, never read, and fails nothing
		printf "data/out/\ndata/tmp/\n" >>.gitignore &&
		cat >sub.dag <<-\EOF &&
		stage "sub" {
		  run     = "mkdir -p data/out && cat data/train.csv >data/out/model.txt"
		  inputs  = ["data/"]
		  outputs = ["data/out/model.txt"]
		}
		EOF
		mkdir -p data/tmp && mkfifo data/tmp/pipe &&
		git add -A && git commit -q -m sub &&
		ntflow run sub.dag --no-tui >../gi.out 2>&1 && grep "sub succeeded" ../gi.out &&
		ntflow run sub.dag --no-tui >../gi.out 2>&1 && grep "sub cached" ../gi.out &&
		echo 8,8 >data/train.csv &&
		ntflow run sub.dag --no-tui >../gi.out 2>&1 && grep "sub succeeded" ../gi.out &&
		echo 8,8 >expect && test_cmp expect data/out/model.txt
	)
'

test_expect_success 'the pipeline'"'"'s path and an input'"'"'s executable bit are in the key' '
	mkdir -p pk && (
		cd pk && git init -q &&
		mkdir -p tools/v1 tools/v2 &&
		printf "#!/bin/sh\necho one\n" >tools/v1/mytool &&
		printf "#!/bin/sh\necho two\n" >tools/v2/mytool &&
		chmod +x tools/v1/mytool tools/v2/mytool &&
		echo "#!/bin/sh" >s.sh &&
		printf "/.ntflow/\n/out/\n" >.gitignore &&
		cat >p.dag <<-\EOF &&
		pipeline "p" {
		  path = ["tools/v1"]
		}
		stage "tool" {
		  run     = "mkdir -p out && mytool >out/tool"
		  outputs = ["out/tool"]
		}
		stage "mode" {
		  run     = "mkdir -p out && (test -x s.sh && echo x || echo nx) >out/m"
		  inputs  = ["s.sh"]
		  outputs = ["out/m"]
		}
		EOF
		git add -A && git commit -q -m p &&
		ntflow run p.dag --no-tui >../pk.out &&
		sed "s|tools/v1|tools/v2|" p.dag >p.tmp && mv p.tmp p.dag &&
		chmod +x s.sh && git commit -q -am v2 &&
		ntflow run p.dag --no-tui >../pk.out &&
		grep "tool succeeded" ../pk.out &&
		grep "mode succeeded" ../pk.out &&
		echo two >expect && test_cmp expect out/tool &&
		echo x >expect && test_cmp expect out/m
	)
'

test_expect_success 'a run command reading $NTFLOW_PARAM_N is keyed on params.n' '
	mkdir -p pv && (
		cd pv && git init -q &&
		printf "/.ntflow/\n/out/\n" >.gitignore &&
		cat >p.dag <<-\EOF &&
		pipeline "p" {
		  params {
		    n  = 1
		    nn = 1
		  }
		}
		stage "a" {
		  run     = "mkdir -p out && echo $((NTFLOW_PARAM_N + 1)) >out/a"
		  outputs = ["out/a"]
		}
		EOF
		git add -A && git commit -q -m p &&
		ntflow run p.dag --no-tui >../pv.out &&
		ntflow run p.dag --no-tui -p nn=7 >../pv.out &&
		grep "a cached" ../pv.out &&
		ntflow run p.dag --no-tui -p n=5 >../pv.out &&
		grep "a succeeded" ../pv.out &&
		echo 6 >expect && test_cmp expect out/a
	)
'

test_expect_success 'a matrix over a folder of ignored data: read once a run, again when a stage has written' '
	mkdir -p mx/data mx/out && (
		cd mx && git init -q &&
		printf "/.ntflow/\n/out/\n*.csv\nsrc.txt\n" >.gitignore &&
		echo keep >data/README && echo one >data/a.csv && echo w1 >src.txt && cp src.txt data/w.csv &&
		cat >m.dag <<-\EOF &&
		pipeline "m" {
		}
		stage "m" {
		  matrix {
		    i = [1, 2, 3]
		  }
		  inputs  = ["data"]
		  run     = "cat data/a.csv >out/m${matrix.i}"
		  outputs = ["out/m${matrix.i}"]
		}
		# no outputs, so it runs every time; what it copies is no declared input
		stage "w" {
		  needs = ["m"]
		  run   = "cp src.txt data/w.csv"
		}
		stage "r" {
		  needs   = ["w"]
		  inputs  = ["data"]
		  run     = "cat data/w.csv >out/r"
		  outputs = ["out/r"]
		}
		EOF
		git add -A && git commit -q -m m &&
		ntflow run m.dag --no-tui >../mx.out &&
		ntflow run m.dag --no-tui >../mx.out &&
		test $(grep -c "m\[i=.\] cached" ../mx.out) = 3 &&
		grep "r cached" ../mx.out &&
		echo two >data/a.csv &&
		ntflow run m.dag --no-tui >../mx.out &&
		test $(grep -c "m\[i=.\] succeeded" ../mx.out) = 3 &&
		echo w2 >src.txt &&
		ntflow run m.dag --no-tui >../mx.out &&
		test $(grep -c "m\[i=.\] cached" ../mx.out) = 3 &&
		grep "r succeeded" ../mx.out &&
		echo w2 >expect && test_cmp expect out/r
	)
'

test_expect_success 'inputs against upstream and own outputs: covered by a digest, inside one, or a folder holding some' '
	mkdir -p up && (
		cd up && git init -q &&
		mkdir -p src data data2 data4 &&
		echo x >src/in.txt && echo d >data/keep.txt && echo d2 >data2/keep && echo k >data4/keep &&
		printf "*.csv\n/.ntflow/\n" >.gitignore &&
		cat >p.dag <<-\EOF &&
		pipeline "up" {
		}
		stage "up" {
		  inputs  = ["src/in.txt"]
		  run     = "mkdir -p gen/b data/sub data2 m && echo a >gen/a.txt && echo c >gen/b/c.txt && echo s >data/sub/s && echo x >data2/x.csv && echo {} >m/metrics.json"
		  outputs = ["gen/a.txt", "./gen/b/", "data/sub", "data2/x.csv"]
		  metrics = "m/metrics.json"
		}
		stage "down" {
		  needs   = ["up"]
		  inputs  = ["gen/a.txt", "gen/b/c.txt", "gen", "data", "data/", "m/metrics.json", "gen//a.txt", "data/sub/deep", "./src/in.txt"]
		  run     = "echo o >data/own.txt"
		  outputs = ["data/own.txt"]
		}
		stage "self" {
		  inputs  = ["data4", "data4/q"]
		  run     = "mkdir -p data4 && echo z >data4/z"
		  outputs = ["data4/", "data4/z"]
		}
		EOF
		git add -A && git commit -q -m up &&
		ntflow run p.dag --no-tui >../up.out &&
		# the key s components as the run recorded them (no command prints them whole)
		input_id() { /usr/bin/python3 -c "
import json, sqlite3, sys
db = sqlite3.connect(\".ntflow/state.db\")
c, = db.execute(\"SELECT components FROM nodes WHERE name = ?\", (sys.argv[1],)).fetchone()
print(json.loads(c)[\"inputs\"][sys.argv[2]])
" "$1" "$2"; } &&
		test "$(input_id down gen/a.txt)" = upstream &&
		test "$(input_id down gen/b/c.txt)" = upstream &&
		test "$(input_id down m/metrics.json)" = upstream &&
		test "$(input_id down data/sub/deep)" = upstream &&
		test "$(input_id down gen//a.txt)" != upstream &&
		test "$(input_id down ./src/in.txt)" = "blob:$(git rev-parse HEAD:src/in.txt)" &&
		# data holds an upstream output and the stage s own: git s tree without them
		test "$(input_id down data)" = "tree:$(git rev-parse HEAD:data)" &&
		test "$(input_id down data/)" = "$(input_id down data)" &&
		# gen holds upstream outputs only (nothing git sees): the folder without them
		input_id down gen | grep "^sha256:" &&
		# data4/ is the stage s own output, whole: the folder is what it writes
		test "$(input_id self data4/q)" = missing
	)
'

test_expect_success !SANITIZED 'a stage reading the 5 000 files another writes: each output expanded once for its key, not once per input' '
	mkdir -p many && (
		cd many && git init -q &&
		printf "/.ntflow/\n/out/\n" >.gitignore &&
		/usr/bin/python3 -c "
n = 5000
outs = \", \".join(\"\\\"out/f%d\\\"\" % i for i in range(n))
print(\"pipeline \\\"many\\\" {\\n}\")
print(\"stage \\\"w\\\" {\\n  run = \\\"mkdir -p out && cd out && seq 0 %d | sed s/^/f/ | xargs touch\\\"\\n  outputs = [%s]\\n}\" % (n - 1, outs))
print(\"stage \\\"r\\\" {\\n  needs = [\\\"w\\\"]\\n  inputs = [%s]\\n  run = \\\"ls out | wc -l >count\\\"\\n  outputs = [\\\"count\\\"]\\n}\" % outs)
" >many.dag &&
		git add -A && git commit -q -m many &&
		# peak RSS of ntflow and its stages: 133 MB when every input expanded every output
		/usr/bin/python3 -c "
import resource, subprocess, sys
rc = subprocess.call([\"ntflow\", \"run\", \"many.dag\", \"--no-tui\"], stdout=subprocess.DEVNULL)
kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(rc, kb)
sys.exit(0 if rc == 0 and kb < 64 * 1024 else 1)
" &&
		echo 5000 >expect && test_cmp expect count
	)
'

test_done
