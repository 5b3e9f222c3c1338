#!/bin/sh
# docs/screenshots.sh: the README's pictures of the dashboard. In a scratch copy of
# dags/retrain.dag and examples/ml it runs four weeks without the dashboard (so the
# registry, the alerts and the usual durations have a history), then a fifth in a private
# tmux server at 120x40, captures the screen with its colours (capture-pane -e) while the
# tuning runs and when the run has finished, and turns each capture into HTML (Debian's
# aha) and PNG (headless chromium).
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

for name in dashboard-running dashboard; do
	# aha knows no faint text: dim becomes grey; a dark grey page, DejaVu Sans Mono
	perl -pe 's/\e\[([0-9;]*)m/"\e[" . join(";", map { $_ eq "2" ? "38;5;245" : $_ } split(";", $1)) . "m"/ge' \
		"$work/$name.ans" |
		aha --black --title "ntflow dashboard" |
		sed -e 's/background-color:black/background-color:#1c1c1c/' \
		    -e "s/<pre>/<pre style=\"font-family: 'DejaVu Sans Mono', monospace; font-size: 14px; line-height: 17px; margin: 10px;\">/" \
		>"$work/$name.html"
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1050,720 \
		--screenshot="$out/$name.png" "file://$work/$name.html" >/dev/null 2>&1
	echo "screenshots: $out/$name.png"
done
