# examples/sklearn/evaluate.py: the evaluate stage of retrain-sklearn.dag. Scores the test
# split with the trained model and writes the metrics the promotion gate reads: accuracy,
# precision, recall, f1, auc, logloss, brier, ece (15 bins) and n.
import argparse
import pickle

from sklearn.metrics import (accuracy_score, brier_score_loss, f1_score, log_loss,
                             precision_score, recall_score, roc_auc_score)

from common import ece, read_csv, write_json


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
    write_json(args.out, metrics)
    print(" ".join("%s=%.4g" % kv for kv in sorted(metrics.items())))


if __name__ == "__main__":
    main()
