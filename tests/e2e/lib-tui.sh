# tests/e2e/lib-tui.sh: helpers for the dashboard tests (t7xxx), sourced after lib.sh:
#	. "$NTFLOW_SRC_DIR/tests/e2e/lib-tui.sh"
# Each test gets a private tmux server (tmux -L, no config) running a plain sh whose prompt
# is "tui$ ", types with send-keys, and polls capture-pane for a marker (never a fixed sleep).
# Without tmux the whole script is skipped.

command -v tmux >/dev/null 2>&1 || test_skip_all 'tmux is not installed'

tui_n=0

# tui_start COLS ROWS: a new server with one window (a shell in the trash directory); sets
# $tui to its socket name and kills it when the test ends.
tui_start() {
	# unique per script, test and call: a server killed at the end of a test may still be
	# going away when the next test starts its own
	tui_n=$((tui_n + 1))
	tui=nftest$$_${test_count}_$tui_n
	tmux -L "$tui" -f /dev/null new -d -x "$1" -y "$2" "cd '$TRASH_DIRECTORY' && PS1='tui\$ ' exec sh" || return 1
	# tmux leaves its socket behind when killed
	test_when_finished "tmux -L '$tui' kill-server 2>/dev/null; rm -f '${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$tui'"
	tui_wait 'tui\$' || return 1
}

# tui_window: a second window (a shell too), made the target of what follows: tui_to 0|1.
tui_window() {
	tmux -L "$tui" new-window -d "cd '$TRASH_DIRECTORY' && PS1='tui\$ ' exec sh"
}
tui_target=:0
tui_to() { tui_target=:$1; }

# tui_keys KEYS...: send-keys to the target window (tmux key names: Enter, Tab, C-c, ...).
tui_keys() { tmux -L "$tui" send-keys -t "$tui_target" "$@"; }
# tui_type TEXT: a command line, then Enter.
tui_type() { tmux -L "$tui" send-keys -t "$tui_target" -l "$1" && tmux -L "$tui" send-keys -t "$tui_target" Enter; }

# tui_screen: the target window's text.
tui_screen() { tmux -L "$tui" capture-pane -p -t "$tui_target"; }

# tui_wait PATTERN [TENTHS]: polls the screen every 0.1s until a line matches the grep
# pattern, at most TENTHS tries (default 150, 15s); prints the screen when it gives up.
tui_wait() {
	tui_i=0
	while ! tui_screen | grep -q -e "$1"; do
		tui_i=$((tui_i + 1))
		if test "$tui_i" -ge "${2:-150}"; then
			echo "tui_wait: gave up waiting for '$1'; the screen:" >&2
			tui_screen >&2
			return 1
		fi
		sleep 0.1
	done
}

# tui_wait_not PATTERN [TENTHS]: until no line matches.
tui_wait_not() {
	tui_i=0
	while tui_screen | grep -q -e "$1"; do
		tui_i=$((tui_i + 1))
		if test "$tui_i" -ge "${2:-150}"; then
			echo "tui_wait_not: '$1' stays on the screen:" >&2
			tui_screen >&2
			return 1
		fi
		sleep 0.1
	done
}

# tui_resize COLS ROWS (tmux then keeps that size: no client is attached to change it)
tui_resize() { tmux -L "$tui" resize-window -t "$tui_target" -x "$1" -y "$2"; }

# tui_mask: times, bars, ages and dates become fixed words, trailing blanks go, so a screen
# compares with a golden one.
tui_mask() {
	sed -e 's/[0-9][0-9]*h[0-9][0-9]m/TIME/g' -e 's/[0-9][0-9]*m[0-9][0-9]s/TIME/g' \
	    -e 's/[0-9][0-9.]*m\{0,1\}s\b/TIME/g' -e 's/[0-9][0-9]*[smhd] ago/AGE/g' \
	    -e 's/[0-9]\{4\}-W[0-9][0-9]/WEEK/g' -e 's/[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]/DATE/g' \
	    -e 's/  *[#|][#|]*/ BAR/g' -e 's/  *TIME/ TIME/g' -e 's/  *$//'
}

# tui_click COL ROW: a left click at the 0-based cell, as the terminal reports it (xterm's
# X10 encoding, what kmous says for tmux's terminal type): the press, then the release.
tui_mouse_() {
	tmux -L "$tui" send-keys -t "$tui_target" -l "$(printf '\033[M%s%s%s' "$1" \
		"$(printf "\\$(printf %o $((33 + $2)))")" "$(printf "\\$(printf %o $((33 + $3)))")")"
}
tui_click() { tui_mouse_ " " "$1" "$2" && tui_mouse_ "#" "$1" "$2"; }
# tui_wheel up|down COL ROW: one notch of the wheel over the cell.
tui_wheel() {
	case $1 in up) tui_mouse_ "\`" "$2" "$3" ;; down) tui_mouse_ a "$2" "$3" ;; esac
}
# tui_row PATTERN: the 0-based screen row of the first line matching the grep pattern.
tui_row() { tui_screen | grep -n -e "$1" | head -1 | cut -d: -f1 | awk '{ print $1 - 1 }'; }

# gated_dag FILE NAME: a pipeline NAME whose stage "train" writes a model and its accuracy
# (${params.acc}, 0.9), gate "check" (accuracy >= 0.85) and model "clf" behind it: each run
# with -p acc=... registers a version, rejected below 0.85 (t7140, t7150).
gated_dag() {
	write_dag "$1" <<-EOF
	pipeline "$2" {
	  params {
	    acc = 0.9
	  }
	}

	stage "train" {
	  run     = "mkdir -p build && echo w \${params.acc} >build/model.txt && echo {\\\\\\"accuracy\\\\\\": \${params.acc}} >build/m.json"
	  outputs = ["build/model.txt", "build/m.json"]
	  metrics = "build/m.json"
	}

	gate "check" {
	  needs   = ["train"]
	  require = ["accuracy >= 0.85"]
	}

	model "clf" {
	  artifact = "build/model.txt"
	  metrics  = "build/m.json"
	  gate     = "check"
	}
	EOF
}

# hold_dag: hold.dag, one stage that waits until the file "go" exists, never cached: a run
# that stays live until the test lets it end.
hold_dag() {
	write_dag hold.dag <<-\EOF
	pipeline "hold" {}

	stage "wait" {
	  run   = "while [ ! -f go ]; do sleep 0.05; done; echo went"
	  cache = false
	}
	EOF
}
