#!/bin/sh
# t6000-ntml.sh: the ntml stage program end to end: help and usage errors, deterministic
# data, the stratified split and its train-only scaler, training, scoring, drift, and a
# clear message with a non-zero exit for every kind of bad input.
. "$(dirname "$0")/lib.sh"

# col_stats FILE COLUMN: prints "mean std" (population) of a CSV column, by name.
col_stats() {
	awk -F, -v name="$2" '
		NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
		{ n++; s += $c; ss += $c * $c }
		END { m = s / n; printf "%.12f %.12f\n", m, sqrt(ss / n - m * m) }' "$1"
}

# count_label FILE VALUE: rows whose label is VALUE.
count_label() {
	awk -F, -v v="$2" '
		NR == 1 { for (i = 1; i <= NF; i++) if ($i == "label") c = i; next }
		$c == v { n++ } END { print n + 0 }' "$1"
}

# near A B TOL: |A - B| <= TOL
near() {
	awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }' ||
	{ echo "near: |$1 - $2| > $3" >&2; return 1; }
}

# above A B: A > B
above() {
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }' || { echo "above: $1 <= $2" >&2; return 1; }
}

test_expect_success 'ntml --help lists the commands and the drift schedule' '
	ntml --help >out 2>err &&
	test_must_be_empty err &&
	grep "^usage: ntml COMMAND" out &&
	for c in gen prep train predict eval drift; do
		grep "^  $c  *[a-zA-Z]" out || return 1
	done &&
	grep "base week 2026-W27" out &&
	grep "from 2026-W40" out &&
	grep "from 2026-W46 on only the new pattern" out &&
	ntml help >out2 &&
	test_cmp out out2
'

test_expect_success 'ntml CMD --help and ntml help CMD print the command usage' '
	for c in gen prep train predict eval drift; do
		ntml $c --help >out 2>err &&
		test_must_be_empty err &&
		head -n 1 out | grep "^usage: ntml $c " &&
		ntml help $c >out2 &&
		test_cmp out out2 || return 1
	done &&
	ntml gen --help | grep "old pattern  z = -2.9" &&
	ntml train --help | grep "C = 1 / (l2 \* n)" &&
	ntml eval --help | grep "15 equal-width bins" &&
	ntml drift --help | grep "scipy.special.kolmogorov"
'

test_expect_success 'usage errors exit 2 with a message' '
	test_expect_code 2 ntml >out 2>err &&
	grep "^usage: ntml" err &&
	test_expect_code 2 ntml frobnicate 2>err &&
	grep "^ntml: unknown command .frobnicate." err &&
	test_expect_code 2 ntml help frobnicate 2>err &&
	test_expect_code 2 ntml gen --week 2026-W40 2>err &&
	grep "^ntml gen: --out is required" err &&
	test_expect_code 2 ntml gen --out x.csv 2>err &&
	grep "^ntml gen: --week is required" err &&
	test_expect_code 2 ntml gen --week 2026-40 --out x.csv 2>err &&
	grep "expected an ISO week like 2026-W40, got .2026-40." err &&
	test_expect_code 2 ntml gen --week 2026-W54 --out x.csv 2>err &&
	grep "2026 has no week 54 (it has 53)" err &&
	test_expect_code 2 ntml gen --week 2025-W53 --out x.csv 2>err &&
	grep "2025 has no week 53 (it has 52)" err &&
	test_expect_code 2 ntml gen --week 2026-W40 --rows 0 --out x.csv 2>err &&
	grep "rows: 0 is out of range" err &&
	test_expect_code 2 ntml gen --week 2026-W40 --seed -1 --out x.csv 2>err &&
	grep "seed: not a non-negative integer" err &&
	test_expect_code 2 ntml gen --week 2026-W40 --bogus --out x.csv 2>err &&
	grep "^ntml gen: unknown option .--bogus." err &&
	test_expect_code 2 ntml gen --week 2026-W40 --out 2>err &&
	grep "option .--out. needs a value" err &&
	test_expect_code 2 ntml gen --week 2026-W40 --out x.csv extra 2>err &&
	grep "unexpected argument .extra." err &&
	test_expect_code 2 ntml prep --in x --out d --split 0.8,0.1 2>err &&
	grep "expected three fractions" err &&
	test_expect_code 2 ntml prep --in x --out d --split 0.8,0.3,0.1 2>err &&
	grep "must sum to 1" err &&
	test_expect_code 2 ntml train --train a --val b --lr 0 --l2 0 --out m 2>err &&
	grep "lr: must be in (0, 1]" err &&
	test_expect_code 2 ntml train --train a --val b --lr 0.1 --l2 -1 --out m 2>err &&
	grep "l2: must be >= 0" err &&
	test_expect_code 2 ntml train --train a --val b --lr abc --l2 0 --out m 2>err &&
	grep "lr: not a number: .abc." err &&
	test_expect_code 2 ntml train --train a --val b --l2 0 --out m 2>err &&
	grep "lr is required" err &&
	test_expect_code 2 ntml eval --model m --in x --out e 2>err &&
	grep "^ntml eval: unknown option .--in." err &&
	test_expect_code 2 ntml predict --model m --in x 2>err &&
	grep "^ntml predict: --out is required" err &&
	test_expect_code 2 ntml drift --ref a --out x 2>err &&
	grep "^ntml drift: --cur is required" err &&
	test_path_is_missing x.csv
'

test_expect_success 'gen writes the header and N rows, and is deterministic for (week, seed)' '
	ntml gen --week 2026-W36 --rows 3000 --seed 42 --out a/w36.csv >out &&
	grep "^ntml gen: 2026-W36: 3000 rows" out &&
	head -n 1 a/w36.csv >actual &&
	echo "amount,n_tx_24h,merchant_risk,foreign_share,account_age_days,distance_km,n_declines_7d,velocity_ratio,label,region" >expect &&
	test_cmp expect actual &&
	test_line_count = 3001 a/w36.csv &&
	ntml gen --week 2026-W36 --rows 3000 --seed 42 --out b.csv &&
	cmp a/w36.csv b.csv &&
	ntml gen --week 2026-W36 --rows 3000 --seed 42 --out - >c.csv &&
	cmp a/w36.csv c.csv &&
	ntml gen --week 2026-W36 --rows 3000 --seed 7 --out d.csv &&
	! cmp -s a/w36.csv d.csv &&
	ntml gen --week 2026-W37 --rows 3000 --seed 42 --out e.csv &&
	! cmp -s a/w36.csv e.csv
'

test_expect_success 'gen: every value is a number, labels are 0/1 with both classes' '
	awk -F, "NR > 1 { for (i = 1; i <= 9; i++) if (\$i !~ /^-?[0-9]+(\\.[0-9]+)?\$/) { print \"bad: \" \$0; exit 1 } }" a/w36.csv &&
		awk -F, "NR > 1 && (NF != 10 || \$10 !~ /^(EU|US|APAC)\$/) { print \"bad region: \" \$0; exit 1 }" a/w36.csv &&
	awk -F, "NR > 1 && \$9 != 0 && \$9 != 1 { exit 1 }" a/w36.csv &&
	pos=$(count_label a/w36.csv 1) &&
	test "$pos" -gt 300 && test "$pos" -lt 1500 &&
	awk -F, "NR > 1 && (\$3 < 0 || \$3 > 1 || \$4 < 0 || \$4 > 1 || \$1 <= 0) { exit 1 }" a/w36.csv
'

test_expect_success 'gen: the concept drift schedule in the summary line' '
	ntml gen --week 2026-W39 --rows 10 --out sched.csv >out &&
	grep "new pattern share 0.000, label noise 0.000" out &&
	ntml gen --week 2026-W40 --rows 10 --out sched.csv >out &&
	grep "new pattern share 0.055" out &&
	ntml gen --week 2026-W46 --rows 10 --out sched.csv >out &&
	grep "new pattern share 1.000, label noise 0.000" out &&
	ntml gen --week 2020-W10 --rows 10 --out sched.csv >out &&
	grep "new pattern share 0.000" out
'

test_expect_success 'prep: stratified split, counts and shares in prep.json' '
	ntml gen --week 2026-W36 --rows 5000 --seed 42 --out w.csv &&
	ntml prep --in w.csv --out p --seed 42 >out &&
	grep "^ntml prep: w.csv: 5000 rows in, 0 dropped" out &&
	for f in train val test; do
		head -n 1 p/$f.csv >actual &&
		head -n 1 w.csv >expect &&
		test_cmp expect actual || return 1
	done &&
	test "$(json_get p/prep.json .rows_in)" = 5000 &&
	test "$(json_get p/prep.json .rows_dropped)" = 0 &&
	pos=$(count_label w.csv 1) && neg=$(count_label w.csv 0) &&
	# per class: round(n * 0.8) to train, round(n * 0.1) to val, the rest to test
	ptrain=$(awk -v n=$pos "BEGIN { print int(n * 0.8 + 0.5) }") &&
	ntrain=$(awk -v n=$neg "BEGIN { print int(n * 0.8 + 0.5) }") &&
	pval=$(awk -v n=$pos "BEGIN { print int(n * 0.1 + 0.5) }") &&
	nval=$(awk -v n=$neg "BEGIN { print int(n * 0.1 + 0.5) }") &&
	test "$(count_label p/train.csv 1)" = $ptrain &&
	test "$(count_label p/train.csv 0)" = $ntrain &&
	test "$(count_label p/val.csv 1)" = $pval &&
	test "$(count_label p/val.csv 0)" = $nval &&
	test "$(count_label p/test.csv 1)" = $((pos - ptrain - pval)) &&
	test "$(count_label p/test.csv 0)" = $((neg - ntrain - nval)) &&
	test "$(json_get p/prep.json .train)" = $((ptrain + ntrain)) &&
	test "$(json_get p/prep.json .val)" = $((pval + nval)) &&
	test "$(json_get p/prep.json .test)" = $((5000 - ptrain - ntrain - pval - nval)) &&
	share=$(json_get p/prep.json .positive_share) &&
	near "$share" "$(awk -v p=$pos "BEGIN { print p / 5000 }")" 1e-12 &&
	for f in train val test; do
		near "$(json_get p/prep.json .positive_share_$f)" "$share" 0.002 || return 1
	done
'

test_expect_success 'prep: the scaler is fitted on the training rows only' '
	for c in amount n_tx_24h velocity_ratio; do
		set -- $(col_stats p/train.csv $c) &&
		near "$1" 0 1e-6 && near "$2" 1 1e-6 &&
		set -- $(col_stats p/val.csv $c) &&
		above "$(awk -v m="$1" "BEGIN { print (m < 0 ? -m : m) }")" 1e-6 || return 1
	done &&
	# the scaler holds the training mean and population std of the raw values
	set -- $(col_stats w.csv amount) &&
	all_mean=$1 &&
	train_mean=$(json_get p/scaler.json .mean.amount) &&
	above "$(awk -v a="$all_mean" -v b="$train_mean" "BEGIN { d = a - b; print (d < 0 ? -d : d) }")" 1e-9 &&
	test "$(json_get p/scaler.json .rows)" = "$(json_get p/prep.json .train)" &&
	json_get p/scaler.json .features >names &&
	grep "\"amount\"" names && ! grep "\"label\"" names
'

test_expect_success 'prep: the same seed gives the same split, another seed another one' '
	ntml prep --in w.csv --out p2 --seed 42 >/dev/null &&
	for f in train.csv val.csv test.csv scaler.json prep.json; do
		cmp p/$f p2/$f || return 1
	done &&
	ntml prep --in w.csv --out p3 --seed 43 >/dev/null &&
	! cmp -s p/train.csv p3/train.csv &&
	ntml prep --in w.csv --out p4 --seed 42 --split 0.6,0.2,0.2 >/dev/null &&
	test "$(json_get p4/prep.json .train)" -lt "$(json_get p/prep.json .train)" &&
	near "$(json_get p4/prep.json .val)" 1000 2 &&
	near "$(json_get p4/prep.json .test)" 1000 2
'

test_expect_success 'prep drops and counts rows with missing or unparsable values' '
	{
		head -n 41 w.csv &&
		echo "12.5,,0.3,0.1,100.0,3.2,0,1.0,0,EU" &&
		echo "12.5,abc,0.3,0.1,100.0,3.2,0,1.0,1,EU" &&
		echo "12.5,1,0.3,0.1,100.0,3.2,0,1.0,2,EU" &&
		echo "12.5,1,0.3,0.1,100.0,3.2,0,1.0" &&
		echo "12.5,1,0.3,0.1,nan,3.2,0,1.0,0,EU" &&
		echo &&
		sed -n "42,201p" w.csv
	} >dirty.csv &&
	ntml prep --in dirty.csv --out pd --seed 1 >out &&
	grep "205 rows in, 5 dropped" out &&
	test "$(json_get pd/prep.json .rows_in)" = 205 &&
	test "$(json_get pd/prep.json .rows_dropped)" = 5 &&
	test "$(json_get pd/prep.json .dropped.missing)" = 1 &&
	test "$(json_get pd/prep.json .dropped.not_a_number)" = 2 &&
	test "$(json_get pd/prep.json .dropped.bad_label)" = 1 &&
	test "$(json_get pd/prep.json .dropped.wrong_width)" = 1 &&
	test $(( $(json_get pd/prep.json .train) + $(json_get pd/prep.json .val) + $(json_get pd/prep.json .test) )) = 200
'

test_expect_success 'train writes model.json and metrics.json, deterministically' '
	ntml train --train p/train.csv --val p/val.csv --lr 0.2 --l2 0.001 --out m >out &&
	grep "^ntml train: lr=0.2 l2=0.001: " out &&
	for k in val_auc val_logloss train_logloss epochs best_epoch lr l2; do
		json_get m/metrics.json .$k >/dev/null || return 1
	done &&
	above "$(json_get m/metrics.json .val_auc)" 0.9 &&
	test "$(json_get m/model.json .format)" = ntml-logreg/1 &&
	test "$(json_get m/model.json .scaler)" = p/scaler.json &&
	test "$(json_get m/model.json .train_rows)" = "$(json_get p/prep.json .train)" &&
	test "$(json_get m/model.json .val_rows)" = "$(json_get p/prep.json .val)" &&
	test "$(json_get m/model.json .lr)" = 0.2 &&
	test "$(json_get m/model.json .l2)" = 0.001 &&
	for c in amount n_tx_24h merchant_risk foreign_share account_age_days distance_km n_declines_7d velocity_ratio; do
		json_get m/model.json .weights.$c >/dev/null || return 1
	done &&
	test_must_fail json_get m/model.json .weights.label &&
	json_get m/model.json .bias >/dev/null &&
	# the label model raises fraud with amount and lowers it with account age
	above "$(json_get m/model.json .weights.amount)" 0.5 &&
	above -0.3 "$(json_get m/model.json .weights.account_age_days)" &&
	ntml train --train p/train.csv --val p/val.csv --lr 0.2 --l2 0.001 --out m2 >/dev/null &&
	cmp m/model.json m2/model.json && cmp m/metrics.json m2/metrics.json
'

test_expect_success 'train: lr and l2 change the result' '
	ntml train --train p/train.csv --val p/val.csv --lr 0.01 --l2 0.001 --out slow >/dev/null &&
	ntml train --train p/train.csv --val p/val.csv --lr 0.2 --l2 0 --out nol2 >/dev/null &&
	above "$(json_get slow/metrics.json .epochs)" "$(json_get m/metrics.json .epochs)" &&
	! cmp -s slow/model.json m/model.json &&
	test "$(json_get nol2/model.json .weights.amount)" != "$(json_get m/model.json .weights.amount)" &&
	ntml train --train p/train.csv --val p/val.csv --lr 0.2 --l2 0 --epochs 3 --out short >out &&
	test "$(json_get short/metrics.json .epochs)" = 3 &&
	ntml train --train p/train.csv --val p/val.csv --lr 0.2 --l2 0 --seed 5 --out seeded >/dev/null &&
	test "$(json_get seeded/model.json .seed)" = 5 &&
	ntml train --train p/train.csv --val p/val.csv --lr 0.2 --l2 0 --scaler elsewhere.json --out sc >/dev/null &&
	test "$(json_get sc/model.json .scaler)" = elsewhere.json
'

test_expect_success 'predict writes one probability per row' '
	ntml predict --model m/model.json --in p/test.csv --out pr/p.csv &&
	test "$(head -n 1 pr/p.csv)" = p &&
	test $(wc -l <pr/p.csv) = $(wc -l <p/test.csv) &&
	awk "NR > 1 && !(\$1 >= 0 && \$1 <= 1) { exit 1 }" pr/p.csv &&
	ntml predict --model m/model.json --in p/test.csv --out - >p2.csv &&
	cmp pr/p.csv p2.csv &&
	# no label needed to score; raw data with the scaler give the same scores
	cut -d, -f1-8 p/test.csv >nolabel.csv &&
	ntml predict --model m/model.json --in nolabel.csv --out p3.csv &&
	cmp pr/p.csv p3.csv &&
	ntml predict --model m/model.json --in w.csv --scaler p/scaler.json --out raw.csv &&
	test $(wc -l <raw.csv) = 5001
'

test_expect_success 'eval writes the metrics; accuracy and counts agree with predict' '
	ntml eval --model m/model.json --test p/test.csv --out ev/metrics.json >out &&
	grep "^ntml eval: p/test.csv: n " out &&
	for k in accuracy precision recall f1 auc logloss brier ece n positives confusion.tp confusion.fp confusion.tn confusion.fn; do
		json_get ev/metrics.json .$k >/dev/null || return 1
	done &&
	n=$(json_get ev/metrics.json .n) &&
	test "$n" = "$(json_get p/prep.json .test)" &&
	test "$(json_get ev/metrics.json .positives)" = "$(count_label p/test.csv 1)" &&
	cut -d, -f9 p/test.csv | paste -d, pr/p.csv - >joined.csv &&
	acc=$(awk -F, "NR > 1 { n++; if ((\$1 >= 0.5) == (\$2 == 1)) ok++ } END { printf \"%.12f\", ok / n }" joined.csv) &&
	near "$(json_get ev/metrics.json .accuracy)" "$acc" 1e-9 &&
	brier=$(awk -F, "NR > 1 { n++; d = \$1 - \$2; s += d * d } END { printf \"%.12f\", s / n }" joined.csv) &&
	near "$(json_get ev/metrics.json .brier)" "$brier" 1e-9 &&
	above "$(json_get ev/metrics.json .accuracy)" 0.85 &&
	above "$(json_get ev/metrics.json .auc)" 0.9 &&
	above 0.08 "$(json_get ev/metrics.json .ece)"
'

test_expect_success 'drift: a file against itself does not drift' '
	ntml drift --ref w.csv --cur w.csv --out dr/self.json >out &&
	test "$(json_get dr/self.json .max_psi)" = 0 &&
	test "$(json_get dr/self.json .max_ks)" = 0 &&
	test "$(json_get dr/self.json .features.amount.ks_p)" = 1 &&
	test "$(json_get dr/self.json .n_ref)" = 5000 &&
	near "$(json_get dr/self.json .label_share_ref)" "$(json_get p/prep.json .positive_share)" 1e-12
'

test_expect_success 'drift: twelve weeks later amount has drifted most' '
	ntml gen --week 2026-W48 --rows 5000 --seed 42 --out w48.csv &&
	ntml drift --ref w.csv --cur w48.csv --out dr/w48.json >out &&
	grep "max_psi" out &&
	for c in amount n_tx_24h merchant_risk foreign_share account_age_days distance_km n_declines_7d velocity_ratio; do
		json_get dr/w48.json .features.$c.psi >/dev/null &&
		json_get dr/w48.json .features.$c.ks >/dev/null &&
		json_get dr/w48.json .features.$c.ks_p >/dev/null || return 1
	done &&
	test_must_fail json_get dr/w48.json .features.label &&
	grep "max_psi [0-9.]* (most drifted: amount)" out &&
	test_must_fail json_get dr/w48.json .most_drifted &&
	test "$(json_get dr/w48.json .max_psi)" = "$(json_get dr/w48.json .features.amount.psi)" &&
	above "$(json_get dr/w48.json .max_psi)" 0.25 &&
	above "$(json_get dr/w48.json .max_ks)" 0.1 &&
	above 1e-10 "$(json_get dr/w48.json .features.amount.ks_p)" &&
	near "$(json_get dr/w48.json .label_share_cur)" "$(awk -v p=$(count_label w48.csv 1) "BEGIN { print p / 5000 }")" 1e-12
'

test_expect_success 'bad input: a missing file' '
	test_expect_code 1 ntml prep --in nope.csv --out x 2>err &&
	grep "^ntml: cannot open .nope.csv.: No such file or directory" err &&
	test_expect_code 1 ntml train --train nope.csv --val p/val.csv --lr 0.1 --l2 0 --out x 2>err &&
	grep "^ntml: cannot open .nope.csv.: No such file or directory" err &&
	test_expect_code 1 ntml eval --model nope.json --test p/test.csv --out x.json 2>err &&
	grep "^ntml: cannot open .nope.json.: No such file or directory" err &&
	test_expect_code 1 ntml eval --model m/model.json --test nope.csv --out x.json 2>err &&
	grep "^ntml: cannot open .nope.csv." err &&
	test_expect_code 1 ntml predict --model m/model.json --in nope.csv --out x.csv 2>err &&
	grep "^ntml: cannot open .nope.csv." err &&
	test_expect_code 1 ntml drift --ref w.csv --cur nope.csv --out x.json 2>err &&
	grep "^ntml: cannot open .nope.csv." err &&
	test_path_is_missing x && test_path_is_missing x.json
'

test_expect_success 'bad input: no label column' '
	cut -d, -f1-8 w.csv >nolabel.csv &&
	for cmd in "prep --in nolabel.csv --out x" \
		"train --train nolabel.csv --val p/val.csv --lr 0.1 --l2 0 --out x" \
		"eval --model m/model.json --test nolabel.csv --out x.json" \
		"drift --ref w.csv --cur nolabel.csv --out x.json"; do
		test_expect_code 1 ntml $cmd 2>err &&
		grep "^ntml: nolabel.csv: no .label. column in the header" err || return 1
	done
'

test_expect_success 'bad input: a non-numeric cell names file:line and column' '
	sed "5s/^[^,]*,[^,]*,/&oops/" p/val.csv >badval.csv &&
	sed -n 5p badval.csv | grep oops &&
	test_expect_code 1 ntml train --train p/train.csv --val badval.csv --lr 0.1 --l2 0 --out x 2>err &&
	grep "^ntml: badval.csv:5: column .merchant_risk.: not a number: .oops" err &&
	test_expect_code 1 ntml eval --model m/model.json --test badval.csv --out x.json 2>err &&
	grep "^ntml: badval.csv:5: column .merchant_risk.: not a number" err &&
	test_expect_code 1 ntml predict --model m/model.json --in badval.csv --out x.csv 2>err &&
	grep "^ntml: badval.csv:5: column .merchant_risk.: not a number" err &&
	sed "7s/^[^,]*,/,/" w.csv >badw.csv &&
	test_expect_code 1 ntml drift --ref w.csv --cur badw.csv --out x.json 2>err &&
	grep "^ntml: badw.csv:7: column .amount.: missing value" err &&
	sed "9s/,[01],\([A-Z]*\)\$/,7,\1/" w.csv >badlabel.csv &&
	test_expect_code 1 ntml drift --ref badlabel.csv --cur w.csv --out x.json 2>err &&
	grep "^ntml: badlabel.csv:9: column .label.: expected 0 or 1, got .7." err &&
	sed "3s/,[A-Z]*\$//" p/train.csv >badwidth.csv &&
	test_expect_code 1 ntml train --train badwidth.csv --val p/val.csv --lr 0.1 --l2 0 --out x 2>err &&
	grep "^ntml: badwidth.csv:3: expected 10 fields, got 9" err &&
	# prep drops such rows instead
	ntml prep --in badw.csv --out pb >/dev/null &&
	test "$(json_get pb/prep.json .rows_dropped)" = 1 &&
	test_path_is_missing x && test_path_is_missing x.json && test_path_is_missing x.csv
'

test_expect_success 'bad input: an empty file, a header without rows' '
	: >empty.csv &&
	head -n 1 w.csv >header.csv &&
	for cmd in "prep --in F --out x" \
		"train --train F --val p/val.csv --lr 0.1 --l2 0 --out x" \
		"eval --model m/model.json --test F --out x.json" \
		"drift --ref w.csv --cur F --out x.json"; do
		test_expect_code 1 ntml $(echo $cmd | sed s/F/empty.csv/) 2>err &&
		grep "^ntml: empty.csv: empty file (no header line)" err &&
		test_expect_code 1 ntml $(echo $cmd | sed s/F/header.csv/) 2>err &&
		grep "^ntml: header.csv: no data rows after the header" err || return 1
	done
'

test_expect_success 'bad input: a single class, or no usable row' '
	awk -F, "NR == 1 || \$9 == 0" w.csv >neg.csv &&
	test_expect_code 1 ntml prep --in neg.csv --out x 2>err &&
	grep "^ntml: neg.csv: only one class in .label. (all [0-9]* rows are 0)" err &&
	awk -F, "NR == 1 || \$9 == 1" p/train.csv >pos.csv &&
	test_expect_code 1 ntml train --train pos.csv --val p/val.csv --lr 0.1 --l2 0 --out x 2>err &&
	grep "^ntml: pos.csv: only one class in .label. (all [0-9]* rows are 1)" err &&
	test_expect_code 1 ntml train --train p/train.csv --val pos.csv --lr 0.1 --l2 0 --out x 2>err &&
	grep "^ntml: pos.csv: only one class" err &&
	test_expect_code 1 ntml eval --model m/model.json --test pos.csv --out x.json 2>err &&
	grep "^ntml: pos.csv: only one class" err &&
	{ head -n 1 w.csv && echo "1,2,3" && echo "a,b,c,d,e,f,g,h,1"; } >junk.csv &&
	test_expect_code 1 ntml prep --in junk.csv --out x 2>err &&
	grep "^ntml: junk.csv: no usable rows (all 2 dropped)" err &&
	awk -F, "NR == 1 || (\$9 == 0 && z++ < 2) || (\$9 == 1 && o++ < 1)" w.csv >tiny.csv &&
	test_line_count = 4 tiny.csv &&
	test_expect_code 1 ntml prep --in tiny.csv --out x 2>err &&
	grep "too few to split" err &&
	test_path_is_missing x && test_path_is_missing x.json
'

test_expect_success 'bad input: a model or a file without the needed columns' '
	echo "{\"weights\": {}}" >notmodel.json &&
	test_expect_code 1 ntml eval --model notmodel.json --test p/test.csv --out x.json 2>err &&
	grep "^ntml: notmodel.json: not a model of .ntml train." err &&
	echo "not json" >garbage.json &&
	test_expect_code 1 ntml predict --model garbage.json --in p/test.csv --out x.csv 2>err &&
	grep "^ntml: .garbage.json. is not valid JSON" err &&
	cut -d, -f2-9 p/test.csv >noamount.csv &&
	test_expect_code 1 ntml eval --model m/model.json --test noamount.csv --out x.json 2>err &&
	grep "^ntml: noamount.csv: no column .amount. (the model has it)" err &&
	cut -d, -f2-9 w.csv >noamount-raw.csv &&
	test_expect_code 1 ntml drift --ref w.csv --cur noamount-raw.csv --out x.json 2>err &&
	grep "^ntml: noamount-raw.csv: no column .amount. (the reference has it)" err &&
	test_expect_code 1 ntml train --train p/train.csv --val noamount.csv --lr 0.1 --l2 0 --out x 2>err &&
	grep "^ntml: noamount.csv: no column .amount. (the training file has it)" err
'

test_done
