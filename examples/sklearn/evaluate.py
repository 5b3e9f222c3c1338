# examples/sklearn/evaluate.py: the evaluate stage of retrain-sklearn.dag. Scores the test
# split with the trained model and writes the metrics the promotion gate reads: accuracy,
# precision, recall, f1, auc, logloss, brier, ece (15 bins) and n; for data with a region
# column (ntml gen's), the same per region under "slices", as ntml eval writes them.
import argparse
import pickle

from sklearn.metrics import (accuracy_score, brier_score_loss, f1_score, log_loss,
                             precision_score, recall_score, roc_auc_score)

import numpy as np

from common import SLICE, ece, read_csv, read_slices, write_json


def slices_of(y, p, regions):
    """ntml eval's "slices": per value r of the slice column, {"region=r": {accuracy,
    precision, recall, auc (when the slice has both classes), ece, n}}."""
    y, p, regions = np.asarray(y), np.asarray(p), np.asarray(regions)
    out = {}
    for r in sorted(set(regions.tolist())):
        m = regions == r
        ys, ps = y[m], p[m]
        pred = (ps >= 0.5).astype(int)
        s = {
            "accuracy": float(accuracy_score(ys, pred)),
            "precision": float(precision_score(ys, pred, zero_division=0)),
            "recall": float(recall_score(ys, pred, zero_division=0)),
            "ece": ece(ps, ys),
            "n": int(m.sum()),
        }
        if 0 < ys.sum() < len(ys):
            s["auc"] = float(roc_auc_score(ys, ps))
        out["%s=%s" % (SLICE, r)] = s
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--out", required=True, help="the metrics JSON file to write")
    args = ap.parse_args()
    with open(args.model, "rb") as f:
        model = pickle.load(f)
    _, X, y = read_csv(args.test)
    p = model.predict_proba(X)[:, 1]
    pred = (p >= 0.5).astype(int)
    metrics = {
        "accuracy": float(accuracy_score(y, pred)),
        "precision": float(precision_score(y, pred, zero_division=0)),
        "recall": float(recall_score(y, pred)),
        "f1": float(f1_score(y, pred)),
        "auc": float(roc_auc_score(y, p)),
        "logloss": float(log_loss(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "ece": ece(p, y),
        "n": int(len(y)),
    }
    regions = read_slices(args.test)
    if regions is not None:
        metrics["slices"] = slices_of(y, p, regions)
    write_json(args.out, metrics)
    print(" ".join("%s=%.4g" % kv for kv in sorted(metrics.items()) if kv[0] != "slices"))


if __name__ == "__main__":
    main()
