# examples/sklearn/train.py: the tune and train stages of retrain-sklearn.dag. Fits
# scikit-learn's LogisticRegression with inverse regularisation strength C and writes the
# fitted model (pickle) and its validation metrics (val_auc, val_logloss).
import argparse
import os
import pickle

from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score

from common import read_csv, write_json


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--train", required=True)
    ap.add_argument("--val", required=True)
    ap.add_argument("--C", type=float, required=True, help="inverse regularisation strength")
    ap.add_argument("--out", required=True, help="the folder for model.pkl and metrics.json")
    args = ap.parse_args()
    _, X, y = read_csv(args.train)
    _, Xv, yv = read_csv(args.val)
    model = LogisticRegression(C=args.C, max_iter=5000).fit(X, y)
    p = model.predict_proba(Xv)[:, 1]
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "model.pkl"), "wb") as f:
        pickle.dump(model, f, protocol=4)
    write_json(os.path.join(args.out, "metrics.json"), {
        "C": args.C,
        "val_auc": float(roc_auc_score(yv, p)),
        "val_logloss": float(log_loss(yv, p)),
        "iterations": int(model.n_iter_[0]),
    })
    print("C=%g: val_auc %.4f" % (args.C, roc_auc_score(yv, p)))


if __name__ == "__main__":
    main()
