#!/bin/sh
# t6010-ntml-reference.sh: ntml's numbers checked against scikit-learn and SciPy on the same
# files: eval's metrics from predict's probabilities, drift's KS statistic and p-value, and
# train's AUC against LogisticRegression with the equivalent C; ECE and PSI against short
# reference implementations written here from their documented definitions.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
if ! $PY -c 'import sklearn, scipy' >/dev/null 2>&1; then
	test_skip_all "scikit-learn and SciPy are not installed for $PY (Debian: apt-get install python3-sklearn python3-scipy)"
fi

test_expect_success 'setup: three weeks of data, a split, a model, its scores' '
	ntml gen --week 2026-W36 --rows 20000 --seed 42 --out w36.csv >/dev/null &&
	ntml gen --week 2026-W37 --rows 20000 --seed 42 --out w37.csv >/dev/null &&
	ntml gen --week 2026-W43 --rows 20000 --seed 42 --out w43.csv >/dev/null &&
	for w in w36 w43; do
		ntml prep --in $w.csv --out $w --seed 42 >/dev/null &&
		ntml train --train $w/train.csv --val $w/val.csv --lr 0.2 --l2 0.001 --out $w/m >/dev/null &&
		ntml train --train $w/train.csv --val $w/val.csv --lr 0.2 --l2 0 --out $w/m0 >/dev/null &&
		ntml eval --model $w/m/model.json --test $w/test.csv --out $w/eval.json >/dev/null &&
		ntml predict --model $w/m/model.json --in $w/test.csv --out $w/p.csv || return 1
	done &&
	cat >metrics.py <<-\EOF &&
	# metrics.py TEST PRED EVAL: eval.json against scikit-learn on the same probabilities.
	import csv, json, sys
	from sklearn import metrics
	test, pred, ev = sys.argv[1:4]
	with open(test) as f:
	    y = [int(float(r["label"])) for r in csv.DictReader(f)]
	with open(pred) as f:
	    p = [float(r["p"]) for r in csv.DictReader(f)]
	with open(ev) as f:
	    got = json.load(f)
	assert len(y) == len(p) == got["n"], (len(y), len(p), got["n"])
	yhat = [int(q >= 0.5) for q in p]
	want = {
	    "accuracy": metrics.accuracy_score(y, yhat),
	    "precision": metrics.precision_score(y, yhat, zero_division=0),
	    "recall": metrics.recall_score(y, yhat, zero_division=0),
	    "f1": metrics.f1_score(y, yhat, zero_division=0),
	    "auc": metrics.roc_auc_score(y, p),
	    "logloss": metrics.log_loss(y, p),
	    "brier": metrics.brier_score_loss(y, p),
	}
	# ECE from its definition: 15 equal-width bins, bin min(floor(15 p), 14), weighted by count
	bins = [[] for _ in range(15)]
	for q, t in zip(p, y):
	    bins[min(int(q * 15), 14)].append((q, t))
	want["ece"] = sum(abs(sum(q for q, _ in b) / len(b) - sum(t for _, t in b) / len(b)) * len(b)
	                  for b in bins if b) / len(p)
	bad = 0
	for k, v in want.items():
	    print("%-9s ntml %.12f reference %.12f" % (k, got[k], v))
	    if abs(got[k] - v) > 1e-6:
	        print("MISMATCH", k)
	        bad = 1
	sys.exit(bad)
	EOF
	cat >drift.py <<-\EOF &&
	# drift.py REF CUR DRIFT: drift.json against SciPy (KS) and a reference PSI.
	import csv, json, math, sys
	import numpy as np
	from scipy import special, stats
	ref_path, cur_path, out = sys.argv[1:4]
	def load(path):
	    with open(path) as f:
	        rows = list(csv.DictReader(f))
	    return {k: [float(r[k]) for r in rows] for k in rows[0] if k != "region"}  # a slice, not a feature
	ref, cur = load(ref_path), load(cur_path)
	with open(out) as f:
	    got = json.load(f)
	def psi(r, c, edges):
	    def shares(v):
	        n = [0] * 10
	        for x in v:
	            n[sum(1 for e in edges if e < x)] += 1   # bins closed on the right
	        return [k / len(v) if k else 1e-4 for k in n]
	    rs, cs = shares(r), shares(c)
	    return sum((b - a) * math.log(b / a) for a, b in zip(rs, cs))
	def deciles(r):
	    s = sorted(r)
	    e = []
	    for k in range(1, 10):
	        pos = k * (len(s) - 1) / 10
	        i = int(math.floor(pos))
	        e.append(s[i] + (pos - i) * (s[i + 1] - s[i]))
	    return e
	bad = 0
	def check(name, a, b, tol):
	    global bad
	    ok = abs(a - b) <= tol
	    print("%-32s ntml %.12g reference %.12g%s" % (name, a, b, "" if ok else "  MISMATCH"))
	    bad |= not ok
	features = [k for k in ref if k != "label"]
	assert sorted(got["features"]) == sorted(features)
	best = None
	for k in features:
	    g = got["features"][k]
	    edges = deciles(ref[k])
	    assert all(abs(a - b) <= 1e-9 * max(1, abs(b)) for a, b in
	               zip(edges, np.quantile(ref[k], [i / 10 for i in range(1, 10)])))
	    p = psi(ref[k], cur[k], edges)
	    check(k + ".psi", g["psi"], p, 1e-9)
	    ks = stats.ks_2samp(ref[k], cur[k], method="asymp")
	    check(k + ".ks", g["ks"], ks.statistic, 1e-6)
	    n, m = len(ref[k]), len(cur[k])
	    check(k + ".ks_p (special.kolmogorov)", g["ks_p"],
	          special.kolmogorov(math.sqrt(n * m / (n + m)) * ks.statistic), 1e-6)
	    # ks_2samp itself uses the finite-sample kstwo: close, not equal
	    check(k + ".ks_p (ks_2samp asymp)", g["ks_p"], ks.pvalue, 0.02)
	    if best is None or p > best[1]:
	        best = (k, p)
	check("max_psi", got["max_psi"], max(got["features"][k]["psi"] for k in features), 0)
	check("max_ks", got["max_ks"], max(got["features"][k]["ks"] for k in features), 0)
	most = max(features, key=lambda k: got["features"][k]["psi"])
	if most != best[0]:
	    print("most drifted: ntml", most, "reference", best[0])
	    bad = 1
	check("label_share_ref", got["label_share_ref"], sum(ref["label"]) / len(ref["label"]), 1e-12)
	check("label_share_cur", got["label_share_cur"], sum(cur["label"]) / len(cur["label"]), 1e-12)
	sys.exit(bad)
	EOF
	cat >sklearn_lr.py <<-\EOF
	# sklearn_lr.py DIR MODEL EVAL L2: LogisticRegression with the equivalent C on DIR/train.csv;
	# its test AUC must be within 0.005 of ntml eval, and its weights close to ntml weights
	# (0.01 with a penalty; 0.1 without, where early stopping ends a flat descent sooner).
	import csv, json, sys
	import numpy as np
	from sklearn.linear_model import LogisticRegression
	from sklearn.metrics import roc_auc_score
	d, model_path, ev_path, l2 = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
	def load(path):
	    with open(path) as f:
	        rows = list(csv.DictReader(f))
	    names = [k for k in rows[0] if k not in ("label", "region")]  # region: a slice, not a feature
	    x = np.array([[float(r[k]) for k in names] for r in rows])
	    y = np.array([int(float(r["label"])) for r in rows])
	    return names, x, y
	names, x, y = load(d + "/train.csv")
	_, xt, yt = load(d + "/test.csv")
	# ntml minimises mean logloss + l2/2 |w|^2; sklearn C * sum logloss + 1/2 |w|^2
	C = 1.0 / (l2 * len(y)) if l2 > 0 else 1e12
	lr = LogisticRegression(C=C, tol=1e-10, max_iter=10000).fit(x, y)
	auc = roc_auc_score(yt, lr.predict_proba(xt)[:, 1])
	with open(model_path) as f:
	    model = json.load(f)
	with open(ev_path) as f:
	    ntml_auc = json.load(f)["auc"]
	w = dict(zip(names, lr.coef_[0]))
	dw = max(abs(model["weights"][k] - w[k]) for k in names)
	print("C %.6g: sklearn test auc %.6f, ntml %.6f; largest weight difference %.4f; bias %.4f vs %.4f"
	      % (C, auc, ntml_auc, dw, lr.intercept_[0], model["bias"]))
	sys.exit(0 if abs(auc - ntml_auc) <= 0.005 and dw <= (0.01 if l2 > 0 else 0.1) else 1)
	EOF
'

test_expect_success 'eval agrees with scikit-learn to 1e-6 (stable week)' '
	$PY metrics.py w36/test.csv w36/p.csv w36/eval.json
'

test_expect_success 'eval agrees with scikit-learn to 1e-6 (concept drift week)' '
	$PY metrics.py w43/test.csv w43/p.csv w43/eval.json
'

test_expect_success 'eval agrees with scikit-learn when many scores tie' '
	# two count features only: few distinct scores, so the AUC must average tied ranks
	for f in train val test; do
		cut -d, -f2,7,9 w36/$f.csv >ties-$f.csv || return 1
	done &&
	ntml train --train ties-train.csv --val ties-val.csv --lr 0.2 --l2 0 --out ties >/dev/null &&
	ntml eval --model ties/model.json --test ties-test.csv --out ties/eval.json >/dev/null &&
	ntml predict --model ties/model.json --in ties-test.csv --out ties/p.csv &&
	test $(sort -u ties/p.csv | wc -l) -lt 100 &&
	$PY metrics.py ties-test.csv ties/p.csv ties/eval.json
'

test_expect_success 'drift agrees with SciPy and the reference PSI (one week apart)' '
	ntml drift --ref w36.csv --cur w37.csv --out d37.json >/dev/null &&
	$PY drift.py w36.csv w37.csv d37.json
'

test_expect_success 'drift agrees with SciPy and the reference PSI (seven weeks apart)' '
	ntml drift --ref w36.csv --cur w43.csv --out d43.json >/dev/null &&
	$PY drift.py w36.csv w43.csv d43.json
'

test_expect_success 'drift agrees on prepared (standardised) files too' '
	ntml drift --ref w36/train.csv --cur w36/test.csv --out dsplit.json >/dev/null &&
	$PY drift.py w36/train.csv w36/test.csv dsplit.json
'

test_expect_success 'train reaches the AUC of LogisticRegression with C = 1 / (l2 n)' '
	$PY sklearn_lr.py w36 w36/m/model.json w36/eval.json 0.001 &&
	$PY sklearn_lr.py w43 w43/m/model.json w43/eval.json 0.001
'

test_expect_success 'train without a penalty matches an unpenalised LogisticRegression' '
	for w in w36 w43; do
		ntml eval --model $w/m0/model.json --test $w/test.csv --out $w/eval0.json >/dev/null &&
		$PY sklearn_lr.py $w $w/m0/model.json $w/eval0.json 0 || return 1
	done
'

test_done
