#!/bin/sh
# docs/screenshots.sh: the README's pictures of the dashboard. In a scratch copy of
# dags/retrain.dag and examples/ml it runs four weeks without the dashboard (so the
# registry, the alerts and the usual durations have a history), then a fifth in a private
# tmux server at 120x40, captures the screen with its colours (capture-pane -e) while the
# tuning runs and when the run has finished, then the finished run again at 80x24 and at
# 200x60 (the window resized: the panes lay themselves out again), and turns each capture
# into HTML (Debian's aha) and PNG (headless chromium) of the terminal's size.
#
# usage: docs/screenshots.sh [BUILD_DIR]   (from anywhere; BUILD_DIR holds ntflow and
#        examples/ml/ntml, default: the source tree). Needs tmux, aha and chromium.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src}" && pwd)
out=$src/docs
for tool in tmux aha chromium; do
	command -v $tool >/dev/null 2>&1 || { echo "screenshots: $tool is needed (apt-get install $tool)" >&2; exit 1; }
done
test -x "$build/ntflow" && test -x "$build/examples/ml/ntml" ||
	{ echo "screenshots: no ntflow or examples/ml/ntml in $build (build first)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ntflow-shots.XXXXXX")
sock=ntflow-shots-$$
trap 'tmux -L $sock kill-server 2>/dev/null; rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$sock"; rm -rf "$work"' EXIT

mkdir -p "$work/dags" "$work/examples"
cp "$src/dags/retrain.dag" "$work/dags/"
cp -r "$src/examples/ml" "$work/examples/"
cp "$build/examples/ml/ntml" "$work/examples/ml/"
printf 'examples/ml/ntml\n.ntflow/\nbuild/\ndata/\nmodels/\n' >"$work/.gitignore"
(cd "$work" && git init -q && git add -A &&
	git -c user.name=ntflow -c user.email=ntflow@example.invalid commit -q -m retrain)
export PATH="$build:$PATH"
for day in 2026-09-07 2026-09-14 2026-10-19 2026-10-26; do
	(cd "$work" && ntflow run dags/retrain.dag --date $day --no-tui >/dev/null 2>&1) || :
done

# screen PATTERN NAME: waits until PATTERN is on the screen, saves it as NAME.ans
screen() {
	i=0
	while ! tmux -L $sock capture-pane -p -t :1 | grep -q -e "$1"; do
		i=$((i + 1))
		test $i -lt 600 || { echo "screenshots: no '$1' on the screen" >&2; exit 1; }
		sleep 0.02
	done
	tmux -L $sock capture-pane -e -p -t :1 >"$work/$2.ans"
}

tmux -L $sock -f /dev/null new -d -x 120 -y 40 "sleep 600"
tmux -L $sock set -g default-terminal tmux-256color
tmux -L $sock new-window -d -e LC_ALL=C.UTF-8 -e LANG=C.UTF-8 \
	"cd '$work' && unset NO_COLOR && ntflow run dags/retrain.dag --date 2026-11-02 --no-cache; sleep 600"
screen '●   \[lr=0.05' dashboard-running
screen 'finished' dashboard
# the same screen at the smallest size it supports and on a large terminal
for size in 80x24 200x60; do
	tmux -L $sock resize-window -t :1 -x "${size%x*}" -y "${size#*x}"
	i=0
	while test "$(tmux -L $sock display -p -t :1 '#{window_width}x#{window_height}')" != "$size" ||
		! tmux -L $sock capture-pane -p -t :1 | grep -q 'finished'; do
		i=$((i + 1))
		test $i -lt 600 || { echo "screenshots: no $size screen" >&2; exit 1; }
		sleep 0.02
	done
	sleep 0.3   # the frame after the resize (at most ten a second)
	tmux -L $sock capture-pane -e -p -t :1 >"$work/dashboard-$size.ans"
done

for name in dashboard-running dashboard dashboard-80x24 dashboard-200x60; do
	case $name in
	*-80x24) cols=80 rows=24 ;;
	*-200x60) cols=200 rows=60 ;;
	*) cols=120 rows=40 ;;
	esac
	# aha knows no faint text: dim becomes grey; a dark grey page, DejaVu Sans Mono
	perl -pe 's/\e\[([0-9;]*)m/"\e[" . join(";", map { $_ eq "2" ? "38;5;245" : $_ } split(";", $1)) . "m"/ge' \
		"$work/$name.ans" |
		aha --black --title "ntflow dashboard" |
		sed -e 's/background-color:black/background-color:#1c1c1c/' \
		    -e "s/<pre>/<pre style=\"font-family: 'DejaVu Sans Mono', monospace; font-size: 14px; line-height: 17px; margin: 10px;\">/" \
		>"$work/$name.html"
	# DejaVu Sans Mono at 14px: 8.43px a column, 17px a line, and the page's margins
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--window-size=$((cols * 843 / 100 + 30)),$((rows * 17 + 40)) \
		--screenshot="$out/$name.png" "file://$work/$name.html" >/dev/null 2>&1
	echo "screenshots: $out/$name.png"
done
