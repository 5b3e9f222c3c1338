# examples/sklearn/split.py: the preprocess stage of retrain-sklearn.dag. A seeded, stratified
# train/validation/test split (60/20/20), standardised with a scaler fitted on train only.
import argparse
import os

from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from common import read_csv, write_csv, write_json


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--in", dest="inp", required=True, help="the CSV file to split")
    ap.add_argument("--out", required=True, help="the folder for train.csv, val.csv, test.csv")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    names, X, y = read_csv(args.inp)
    X_train, X_rest, y_train, y_rest = train_test_split(
        X, y, test_size=0.4, stratify=y, random_state=args.seed)
    X_val, X_test, y_val, y_test = train_test_split(
        X_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=args.seed)
    scaler = StandardScaler().fit(X_train)
    for part, Xp, yp in (("train", X_train, y_train), ("val", X_val, y_val), ("test", X_test, y_test)):
        write_csv(os.path.join(args.out, part + ".csv"), names, scaler.transform(Xp), yp)
    write_json(os.path.join(args.out, "scaler.json"),
               {"features": names, "mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist()})
    print("train %d, val %d, test %d rows in %s" % (len(y_train), len(y_val), len(y_test), args.out))


if __name__ == "__main__":
    main()
