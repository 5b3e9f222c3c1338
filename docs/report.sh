#!/bin/sh
# docs/report.sh: the README's picture of `ntflow report` (docs/report.png). In a scratch
# copy of dags/retrain.dag and examples/ml it adds one stage, "curves", that scores the
# test split with `ntml predict` and writes the data of three plot blocks with awk (an ROC
# curve, a calibration curve and the confusion pairs; the shipped pipeline writes metrics
# only), runs six weeks of retraining (so the registry, the drift metrics and the resource
# medians have a history; the data drift from week to week as examples/ml/README.md says),
# then writes the last run's page and photographs it with headless Chromium.
#
# usage: docs/report.sh [BUILD_DIR]   (from anywhere; BUILD_DIR holds ntflow and
#        examples/ml/ntml, default: the source tree). Needs chromium. Keeps the page as
#        docs/report.html only with KEEP_HTML=1.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src}" && pwd)
command -v chromium >/dev/null 2>&1 || { echo "report.sh: chromium is needed (apt-get install chromium)" >&2; exit 1; }
test -x "$build/ntflow" && test -x "$build/examples/ml/ntml" ||
	{ echo "report.sh: no ntflow or examples/ml/ntml in $build (build first)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ntflow-report.XXXXXX")
trap 'test "${KEEP_WORK-}" = 1 || rm -rf "$work"' EXIT
mkdir -p "$work/dags" "$work/examples" "$work/bin"
cp -r "$src/examples/ml" "$work/examples/"
cp "$build/examples/ml/ntml" "$work/examples/ml/"

# curves.sh PRED TEST OUT: from the scores and the labels, OUT/roc.csv (fpr, tpr at each
# threshold), OUT/calibration.csv (ten bins: mean score and share of positives) and
# OUT/confusion.csv (actual and predicted class per row, at 0.5).
cat >"$work/bin/curves.sh" <<-\EOS
	#!/bin/sh
	set -eu
	pred=$1 test=$2 out=$3
	mkdir -p "$out"
	awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "label") c = i; next } { print $c }' "$test" >"$out/labels"
	tail -n +2 "$pred" | paste -d, - "$out/labels" >"$out/scored"
	sort -t, -k1,1gr "$out/scored" | awk -F, '
		{ p[NR] = $1; y[NR] = $2; pos += $2 }
		END {
			print "fpr,tpr"; print "0,0"
			for (i = 1; i <= NR; i++) {
				tp += y[i]; fp += 1 - y[i]
				if (i == NR || p[i + 1] != p[i]) printf "%.6f,%.6f\n", fp / (NR - pos), tp / pos
			}
		}' >"$out/roc.csv"
	awk -F, '
		{ b = int($1 * 10); if (b > 9) b = 9; n[b]++; s[b] += $1; k[b] += $2 }
		END {
			print "bin,mean_score,share_positive"
			for (b = 0; b < 10; b++) if (n[b]) printf "%.2f,%.4f,%.4f\n", (b + 0.5) / 10, s[b] / n[b], k[b] / n[b]
		}' "$out/scored" >"$out/calibration.csv"
	awk -F, 'BEGIN { print "actual,predicted" } { printf "%s,%d\n", $2, ($1 >= 0.5) }' "$out/scored" >"$out/confusion.csv"
	rm -f "$out/labels" "$out/scored"
	EOS
chmod +x "$work/bin/curves.sh"
cp "$src/dags/retrain.dag" "$work/dags/retrain.dag"
cat >>"$work/dags/retrain.dag" <<-\EOF

	# Added by docs/report.sh: curves of the trained model on the test split, for the report.
	stage "curves" {
	  description = "ROC and calibration curves and the confusion matrix of the test split"
	  needs       = ["train"]
	  run         = "ntml predict --model build/model/model.json --in build/prep/test.csv --out build/curves/pred.csv && bin/curves.sh build/curves/pred.csv build/prep/test.csv build/curves"
	  inputs      = ["bin/curves.sh"]
	  outputs     = ["build/curves/"]
	  plot "roc" {
	    data     = "build/curves/roc.csv"
	    template = "roc"
	    title    = "ROC, test split"
	  }
	  plot "calibration" {
	    data  = "build/curves/calibration.csv"
	    x     = "bin"
	    y     = ["mean_score", "share_positive"]
	    title = "Calibration by score decile"
	  }
	  plot "confusion" {
	    data     = "build/curves/confusion.csv"
	    x        = "actual"
	    y        = "predicted"
	    template = "confusion"
	    title    = "Confusion at 0.5"
	  }
	}
	EOF
printf 'examples/ml/ntml\n.ntflow/\nbuild/\ndata/\nmodels/\n' >"$work/.gitignore"
(cd "$work" && git init -q && git add -A &&
	git -c user.name=ntflow -c user.email=ntflow@example.invalid commit -q -m retrain)
export PATH="$build:$PATH"
for day in ${DAYS:-2026-09-07 2026-09-14 2026-09-21 2026-10-12 2026-10-19 2026-10-26}; do
	(cd "$work" && ntflow run dags/retrain.dag --date $day --no-tui >/dev/null 2>&1) || :
done
(cd "$work" && ntflow report --html report.html >/dev/null)
chromium --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
	--user-data-dir="$work/.chromium" --window-size=1240,5200 \
	--screenshot="$src/docs/report.png" "file://$work/report.html" 2>/dev/null
if test "${KEEP_HTML-}" = 1; then
	cp "$work/report.html" "$src/docs/report.html"
fi
echo "report.sh: wrote $src/docs/report.png"
