#!/bin/sh
# t2065-direct-exec-like-sh.sh: a command exec'd without /bin/sh fails, runs and sees what
# it would through dash: a binary the kernel refuses (another machine's, or cut short) is
# "Exec format error" and status 126, never run as shell code; a text script without #!
# is run by /bin/sh; every failure to exec has dash's status (127 for a name the PATH does
# not run, a path that leads nowhere or a missing #! interpreter; 126 for what cannot be
# run); PWD is the stage's folder; the built-ins that differ from their programs (true,
# printf, test, kill, chdir) go through the shell; a run list is measured argument by
# argument; a failure that printed nothing names no log.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

# The cases, each run directly (NAME) and through the shell (NAME-sh: "; exit $?" is shell
# syntax, and the shell must fork for the command before it runs the built-in).
cases="blob:./blob nul-first-line:./nulscr nul-late:./late text:./script loop:./loop
	folder:./d noexec:./noexec interp:./badi in-path-folder:foo in-path-noexec:bar
	in-path-binary-first:baz
	missing:./nothing-here long:./$(printf 'x%.0s' $(seq 300))/x"

test_expect_success 'setup' '
	printf "\177ELF\0\0\0\0\ntouch pwned-by-blob\n" >blob &&
	printf "echo hi\0zz\ntouch pwned-by-nul\n" >nulscr &&
	{ printf "#" && printf "a%.0s" $(seq 130) && printf "\0\necho late-ran\n"; } >late &&
	printf "echo script-ran \$0\n" >script &&
	printf "#!/ntflow/no/such/interpreter\n" >badi &&
	chmod +x blob nulscr late script badi &&
	: >noexec && ln -s loop loop && mkdir d p1 p1/foo p2 sub &&
	: >p2/bar && : >sub/.keep &&
	mkdir p5 p6 && cp blob p5/baz && printf "echo p6-baz-ran\n" >p6/baz && chmod +x p6/baz &&
	for c in $cases; do
		name=${c%%:*} cmd=${c#*:} &&
		env= &&
		case $name in
		in-path-folder) env="  env { PATH = \"p1\" }" ;;
		in-path-noexec) env="  env { PATH = \"p2\" }" ;;
		in-path-binary-first) env="  env { PATH = \"p5:p6\" }" ;;
		esac &&
		printf "stage \"%s\" {\n  run = \"%s\"\n%s\n}\n" "$name" "$cmd" "$env" &&
		printf "stage \"%s-sh\" {\n  run = \"%s; exit \$?\"\n%s\n}\n" "$name" "$cmd" "$env" || return 1
	done >exec.dag &&
	printf "/.ntflow/\n/pwned-*\n" >.gitignore &&
	git add . && git commit -q -m cases
'

test_expect_success 'each failure to exec has the status and the words dash gives' '
	test_expect_code 1 ntflow run -k --no-tui exec.dag >out 2>err &&
	test_path_is_missing pwned-by-blob &&
	test_path_is_missing pwned-by-nul &&
	for c in $cases; do
		name=${c%%:*} &&
		for s in $name $name-sh; do
			if grep -q "^\[[0-9]*/[0-9]*\] $s succeeded" out; then
				echo 0
			else
				sed -n "s/^\[[0-9]*\/[0-9]*\] $s failed.*: exit \([0-9]*\).*/\1/p" out
			fi >code.$s &&
			ntflow logs $s 2>/dev/null | sed "s/^ntflow: //; s/^sh: 1: //" >log.$s || return 1
		done &&
		test_cmp code.$name-sh code.$name &&
		test_cmp log.$name-sh log.$name || return 1
	done &&
	echo 126 >expect && test_cmp expect code.blob && test_cmp expect code.folder &&
	echo 127 >expect && test_cmp expect code.loop && test_cmp expect code.in-path-folder &&
	test_cmp expect code.interp &&
	echo "./blob: Exec format error" >expect && test_cmp expect log.blob &&
	echo "bar: Permission denied" >expect && test_cmp expect log.in-path-noexec &&
	echo late-ran >expect && test_cmp expect log.nul-late &&
	echo p6-baz-ran >expect && test_cmp expect log.in-path-binary-first &&
	echo "script-ran ./script" >expect && test_cmp expect log.text
'

test_expect_success 'PWD is the folder the stage runs in, wherever ntflow was started' '
	write_dag pwd.dag <<-\EOF &&
	stage "in-dir" {
	  dir = "sub"
	  run = "printenv PWD"
	}
	stage "in-dir-sh" {
	  dir = "sub"
	  run = "printenv PWD; exit $?"
	}
	stage "in-root" {
	  run = "printenv PWD"
	}
	stage "in-root-sh" {
	  run = "printenv PWD; exit $?"
	}
	EOF
	git add pwd.dag && git commit -q -m pwd &&
	(cd sub && ntflow run --no-tui ../pwd.dag >../out 2>../err) &&
	root=$(pwd) &&
	for s in in-dir in-root; do
		ntflow logs $s >log.$s && ntflow logs $s-sh >log.$s-sh &&
		test_cmp log.$s-sh log.$s || return 1
	done &&
	echo "$root/sub" >expect && test_cmp expect log.in-dir &&
	echo "$root" >expect && test_cmp expect log.in-root
'

test_expect_success 'built-ins that differ from their programs run as the shell runs them' '
	write_dag builtins.dag <<-\EOF &&
	stage "true" {
	  run = "true --help"
	}
	stage "printf" {
	  run = "printf %q x"
	}
	stage "test" {
	  run = "test a == a"
	}
	stage "kill" {
	  run = "kill -l 137"
	}
	stage "chdir" {
	  run = "chdir sub"
	}
	EOF
	git add builtins.dag && git commit -q -m builtins &&
	test_expect_code 1 ntflow run -k --no-tui builtins.dag >out 2>err &&
	grep "^\[[0-9]*/[0-9]*\] true succeeded" out &&
	grep "^\[[0-9]*/[0-9]*\] chdir succeeded" out &&
	grep "^\[[0-9]*/[0-9]*\] printf failed.*: exit 2" out &&
	grep "^\[[0-9]*/[0-9]*\] test failed.*: exit 2" out &&
	ntflow logs kill >log && echo KILL >expect && test_cmp expect log &&
	test_expect_code 0 ntflow logs true >log 2>err && test_must_be_empty log
'

test_expect_success 'a run list is measured argument by argument, as execve takes it' '
	a=$(printf "%0100000d" 0) &&
	big=$(printf "%0131072d" 0) &&
	printf "stage \"fits\" {\n  run = [\"true\", \"%s\", \"%s\"]\n}\n" "$a" "$a" >list.dag &&
	printf "stage \"too-long\" {\n  run = [\"true\", \"x\", \"%s\"]\n}\n" "$big" >long.dag &&
	git add list.dag long.dag && git commit -q -m lists &&
	ntflow run --no-tui list.dag >out 2>err &&
	grep "fits succeeded" out &&
	test_expect_code 1 ntflow run --no-tui long.dag >out 2>err &&
	grep "argument list too long: argument 2 of the command is 131072 bytes, over the limit of 131071" out
'

test_expect_success 'a failure that printed nothing names no log (nor does show); one that printed does' '
	write_dag quiet.dag <<-\EOF &&
	stage "quiet" {
	  run = "false"
	}
	stage "loud" {
	  run = "ls /ntflow/no/such/file"
	}
	EOF
	git add quiet.dag && git commit -q -m quiet &&
	test_expect_code 1 ntflow run -k --no-tui quiet.dag >out 2>err &&
	grep "^\[[0-9]*/[0-9]*\] quiet failed.*: exit 1$" out &&
	grep "^\[[0-9]*/[0-9]*\] loud failed.*: exit 2 (log: .ntflow/logs/[0-9]*/loud.1.log)$" out &&
	ntflow show >show.txt &&
	grep -E "^quiet +failed +1 +1 +.* - +not cached" show.txt &&
	grep -E "^loud +failed +1 +2 +.* \.ntflow/logs/[0-9]+/loud\.1\.log +not cached" show.txt
'

test_done
