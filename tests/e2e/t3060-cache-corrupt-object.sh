#!/bin/sh
# t3060-cache-corrupt-object.sh: a corrupt cache object is rewritten when its stage
# reproduces it, and the run says it found one. Whether the stage runs because it is forced
# or because the cached result could not be restored from the damaged object, the object is
# sound again afterwards: cache verify finds nothing, and the next run restores from it.
. "$(dirname "$0")/lib.sh"

# object_of FILE: the path of the cache object holding FILE's content.
object_of() {
	sum=$(sha256sum "$1" | cut -d" " -f1) &&
	echo ".ntflow/cache/objects/$(echo "$sum" | cut -c1-2)/$(echo "$sum" | cut -c3-)"
}

test_expect_success 'setup: a stage with an output, run once' '
	write_dag p.dag <<-\EOF &&
	pipeline "p" {}

	stage "make" {
	  run     = "mkdir -p build && echo the output of make >build/data.txt"
	  outputs = ["build/data.txt"]
	}
	EOF
	printf "/.ntflow/\n/build/\n" >.gitignore &&
	git add . && git commit -q -m pipeline &&
	ntflow run p.dag >out 2>err &&
	obj=$(object_of build/data.txt) &&
	test_path_is_file "$obj" &&
	cp build/data.txt good.txt
'

test_expect_success 'a forced rerun rewrites the corrupt object, saying so' '
	obj=$(object_of good.txt) &&
	sum=$(sha256sum good.txt | cut -d" " -f1) &&
	chmod u+w "$obj" &&
	echo "the output of mak3" >"$obj" &&
	ntflow run p.dag --force make >out 2>err &&
	grep -x "ntflow: warning: run 2: rewrote corrupt cache object sha256:$sum" err &&
	test_cmp good.txt "$obj" &&
	ntflow cache verify >out &&
	grep "^checked [0-9]* objects\{0,1\}: 0 corrupt; 0 of [0-9]* cache entr.* dropped$" out
'

test_expect_success 'a rerun whose cached result cannot be restored rewrites it too' '
	obj=$(object_of good.txt) &&
	sum=$(sha256sum good.txt | cut -d" " -f1) &&
	chmod u+w "$obj" &&
	echo "garbage of another size" >"$obj" &&
	rm -rf build &&
	ntflow run p.dag >out 2>err &&
	grep "^\[1/1\] make succeeded" out &&
	grep -x "ntflow: warning: run 3: rewrote corrupt cache object sha256:$sum" err &&
	test_cmp good.txt "$obj" &&
	rm -rf build &&
	ntflow run p.dag >out 2>err &&
	grep "^\[1/1\] make cached: reused run 3$" out &&
	test_must_be_empty err &&
	test_cmp good.txt build/data.txt
'

test_expect_success 'a sound object is not rewritten, and nothing is said' '
	obj=$(object_of good.txt) &&
	ls -li "$obj" >before &&
	ntflow run p.dag --force make >out 2>err &&
	test_must_be_empty err &&
	ls -li "$obj" >after &&
	test_cmp before after
'

test_done
