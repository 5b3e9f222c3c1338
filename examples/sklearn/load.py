# examples/sklearn/load.py: the ingest stage of retrain-sklearn.dag. Writes scikit-learn's
# bundled Wisconsin breast cancer data (569 rows, 30 features; nothing is downloaded) as CSV,
# with label 1 for a malignant tumour, the class the classifier is meant to find.
import argparse

from sklearn.datasets import load_breast_cancer

from common import write_csv


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True, help="the CSV file to write")
    args = ap.parse_args()
    data = load_breast_cancer()
    names = [n.replace(" ", "_") for n in data.feature_names]
    # scikit-learn codes malignant as 0; the positive class here is the one to detect.
    write_csv(args.out, names, data.data, 1 - data.target)
    print("wrote %d rows, %d features to %s" % (data.data.shape[0], len(names), args.out))


if __name__ == "__main__":
    main()
