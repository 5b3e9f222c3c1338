#!/bin/sh
# t3050-paths.sh: paths stay in the project. The project is proj/, a repository of its own
# inside the trash directory, and outside/ beside it holds canaries that no run may touch:
# an output that a parameter sends out of the project, through a symbolic link on its way
# (also one a ".." climbs back out of) or onto a link is refused before anything moves, on
# the first run and on a cached rerun, and restore never writes through a link; a symlinked
# input is keyed on what it leads to, and refused when that is outside; path folders and
# metrics files are checked after interpolation too; and the cache keeps file modes (a
# private file stays 0600, in the store as well).
. "$(dirname "$0")/lib.sh"

mkdir proj outside outside/dirA outside/dirB &&
echo keep >outside/dirA/precious &&
echo keep >outside/dirB/precious &&
echo outside >outside/file &&
printf 'a,b\n1,2\n' >outside/x.csv &&
(cd proj && git init -q -b main . && git config user.name "$GIT_AUTHOR_NAME" &&
	git config user.email "$GIT_AUTHOR_EMAIL") || exit 1

# What outside/ holds, to the byte and the mode: no test may change it.
snapshot() { (cd "$TRASH_DIRECTORY/outside" && find . -printf '%p %y %s %m %l\n' | sort && cat dirA/* dirB/* file); }
snapshot >outside.before

outside_untouched() { snapshot >"$TRASH_DIRECTORY/outside.now" && test_cmp "$TRASH_DIRECTORY/outside.before" "$TRASH_DIRECTORY/outside.now"; }

cd proj || exit 1
write_dag out.dag <<\EOF
pipeline "out" {
  params {
    d = "build/d"
  }
}

stage "w" {
  run     = "mkdir -p ${params.d} && echo new >${params.d}/f"
  outputs = ["${params.d}/"]
}
EOF

write_dag links.dag <<\EOF
pipeline "links" {}

stage "file" {
  run     = "mkdir -p l && ln -sfn ../secret l/link"
  outputs = ["l/link"]
}

stage "folder" {
  run     = "mkdir -p elsewhere && echo x >elsewhere/f && ln -sfn elsewhere outdir"
  outputs = ["outdir/"]
}
EOF

write_dag model.dag <<\EOF
pipeline "model" {}

stage "train" {
  run     = "mkdir -p build/model && echo w1 >build/model/w && echo {} >build/model/config.json"
  outputs = ["build/model/"]
}
EOF

write_dag input.dag <<\EOF
pipeline "input" {
  params {
    in = "data/current"
  }
}

stage "read" {
  run     = "mkdir -p o && cat ${params.in}/x >o/read.txt"
  inputs  = ["${params.in}"]
  outputs = ["o/read.txt"]
}
EOF

write_dag modes.dag <<\EOF
pipeline "modes" {}

stage "m" {
  run     = "mkdir -p o && printf s >o/key && chmod 600 o/key && printf '#!/bin/sh\\n' >o/run && chmod 755 o/run && printf k >single && chmod 600 single && echo m >>spawns"
  outputs = ["o/", "single"]
}
EOF

write_dag path.dag <<\EOF
pipeline "path" {
  path = ["${params.tools}"]

  params {
    tools = "tools"
    m     = "m.json"
  }
}

stage "s" {
  run     = "echo {} >m.json && echo ran >>ran"
  metrics = "${params.m}"
}
EOF

mkdir -p data/v1 data/v2 tools &&
echo one >data/v1/x && echo two >data/v2/x && ln -s v1 data/current &&
echo secret >secret && chmod 600 secret &&
git add -A && git commit -qm init || exit 1
cd .. || exit 1

test_expect_success 'an output a parameter sends out of the project is refused before anything moves' '
	cd proj &&
	test_expect_code 1 ntflow run out.dag --no-tui -p d=../outside/dirA >out &&
	grep -F "stage \"w\": output '\''../outside/dirA/'\'' is outside the workspace" out &&
	test_expect_code 1 ntflow run out.dag --no-tui -p d=../../outside/dirA >out &&
	grep -F "is outside the workspace" out &&
	test_expect_code 1 ntflow run out.dag --no-tui -p d=/tmp/x >out &&
	grep -F "output '\''/tmp/x/'\'' is an absolute path" out &&
	outside_untouched
'

test_expect_success 'an output through a symbolic link out of the project is refused, nothing outside is deleted' '
	cd proj &&
	mkdir -p sub && ln -s ../../outside sub/link &&
	test_when_finished "rm -rf sub" &&
	test_expect_code 1 ntflow run out.dag --no-tui -p d=sub/link/dirA >out &&
	grep -F "stage \"w\": output '\''sub/link/dirA/'\'' goes through the symbolic link '\''sub/link'\''; ntflow does not follow links in outputs" out &&
	test_expect_code 1 ntflow run out.dag --no-tui -p d=sub/link/dirA >out &&
	outside_untouched
'

test_expect_success 'a ".." that climbs back out of a symbolic link is refused too' '
	cd proj &&
	mkdir -p sub && ln -s ../../outside/dirA sub/link &&
	test_when_finished "rm -rf sub ../x" &&
	test_expect_code 1 ntflow run out.dag --no-tui -p d=sub/link/../x >out &&
	grep -F "output '\''sub/link/../x/'\'' goes through the symbolic link '\''sub/link'\''" out &&
	test_path_is_missing ../outside/x &&
	outside_untouched
'

test_expect_success 'a cached rerun does not restore through a link planted on the way' '
	cd proj &&
	mkdir -p sub/link &&
	test_when_finished "rm -rf sub" &&
	ntflow run out.dag --no-tui -p d=sub/link/dirA >out &&
	test "$(cat sub/link/dirA/f)" = new &&
	rm -r sub/link && ln -s ../../outside sub/link &&
	test_expect_code 1 ntflow run out.dag --no-tui -p d=sub/link/dirA >out &&
	grep -F "output '\''sub/link/dirA/'\'' goes through the symbolic link '\''sub/link'\''" out &&
	outside_untouched
'

test_expect_success 'a cached rerun does not restore into an output folder replaced by a link' '
	cd proj &&
	ntflow run model.dag --no-tui >out &&
	rm -r build/model && ln -s ../../outside/dirB build/model &&
	test_when_finished "rm -rf build" &&
	test_expect_code 1 ntflow run model.dag --no-tui >out &&
	grep -F "stage \"train\": output '\''build/model/'\'' is a symbolic link; ntflow does not follow links in outputs" out &&
	outside_untouched &&
	# Inside an output folder a link is the output'\''s own: replaced, never written through.
	rm build/model && ntflow run model.dag --no-tui >out &&
	grep -F "train cached" out &&
	rm build/model/w && ln -s ../../../outside/file build/model/w &&
	ntflow run model.dag --no-tui >out &&
	test ! -L build/model/w && test "$(cat build/model/w)" = w1 &&
	outside_untouched
'

test_expect_success 'a symlinked output file is refused; what it points to is not stored' '
	cd proj &&
	test_when_finished "rm -rf l outdir elsewhere" &&
	test_expect_code 1 ntflow run links.dag --no-tui --only file >out &&
	grep -F "stage \"file\": output '\''l/link'\'' is a symbolic link; ntflow does not follow links in outputs" out &&
	sum=$(sha256sum secret | cut -c1-64) &&
	test_path_is_missing .ntflow/cache/objects/$(echo $sum | cut -c1-2)/$(echo $sum | cut -c3-) &&
	test "$(stat -c %a secret)" = 600
'

test_expect_success 'a symlinked output folder is refused' '
	cd proj &&
	test_when_finished "rm -rf l outdir elsewhere" &&
	test_expect_code 1 ntflow run links.dag --no-tui --only folder >out &&
	grep -F "stage \"folder\": output '\''outdir/'\'' is a symbolic link; ntflow does not follow links in outputs" out
'

test_expect_success 'a symlinked input is keyed on what it leads to: a changed target misses the cache' '
	cd proj &&
	ntflow run input.dag --no-tui >out &&
	test "$(cat o/read.txt)" = one &&
	ntflow run input.dag --no-tui >out &&
	grep -F "read cached" out &&
	# The link unchanged, what it leads to edited and committed: not the old result.
	echo uno >data/v1/x && git commit -qam "edit v1" &&
	ntflow run input.dag --no-tui >out &&
	grep -F "read succeeded" out &&
	test "$(cat o/read.txt)" = uno &&
	# Retargeted: the other folder'\''s content.
	ln -sfn v2 data/current && git commit -qam retarget &&
	ntflow run input.dag --no-tui >out &&
	test "$(cat o/read.txt)" = two
'

test_expect_success 'a symlinked input that leads out of the project is refused' '
	cd proj &&
	ln -s ../../outside data/big &&
	test_when_finished "rm -f data/big" &&
	test_expect_code 1 ntflow run input.dag --no-tui -p in=data/big >out &&
	grep -F "stage \"read\": input '\''data/big'\'' leads to '\''$TRASH_DIRECTORY/outside'\'', outside the project, through a symbolic link" out &&
	test_expect_code 1 ntflow run input.dag --no-tui -p in=../outside >out &&
	grep -F "input '\''../outside'\'' is outside the workspace" out &&
	outside_untouched
'

test_expect_success 'file modes go through the cache: 0600 stays 0600, 0755 stays 0755' '
	cd proj &&
	umask 022 &&
	ntflow run modes.dag --no-tui >out &&
	rm -rf o single &&
	ntflow run modes.dag --no-tui >out &&
	grep -F "m cached" out &&
	test_line_count = 1 spawns &&
	test "$(stat -c %a o/key)" = 600 &&
	test "$(stat -c %a o/run)" = 755 &&
	test "$(stat -c %a single)" = 600 &&
	# Only the mode changed: put back as it was stored.
	chmod 644 o/key single &&
	ntflow run modes.dag --no-tui >out &&
	test "$(stat -c %a o/key)" = 600 &&
	test "$(stat -c %a single)" = 600 &&
	# Nothing in the store is readable by others.
	find .ntflow/cache/objects -type f -perm /077 >readable &&
	test_must_be_empty readable
'

test_expect_success 'path folders and metrics files are checked after interpolation' '
	cd proj &&
	test_expect_code 1 ntflow run path.dag --no-tui -p tools=/tmp >out 2>err &&
	cat out err >all &&
	grep -F "path folder '\''/tmp'\'' is an absolute path" all &&
	test_expect_code 1 ntflow run path.dag --no-tui -p tools=../outside >out 2>err &&
	cat out err >all &&
	grep -F "path folder '\''../outside'\'' is outside the workspace" all &&
	test_expect_code 1 ntflow run path.dag --no-tui -p m=../outside/m.json >out &&
	grep -F "stage \"s\": metrics file '\''../outside/m.json'\'' is outside the workspace" out &&
	test_path_is_missing ran &&
	ntflow run path.dag --no-tui >out &&
	test_path_is_file ran &&
	outside_untouched
'

test_done
