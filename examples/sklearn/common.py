# examples/sklearn/common.py: what the stage scripts of retrain-sklearn.dag share: reading and
# writing the CSV files between stages, the calibration error, and writing metrics as JSON.
import csv
import json
import os

import numpy as np


# The slice column of ntml's data (the merchant region): a category, never a feature.
SLICE = "region"


def read_csv(path):
    """Returns (feature names, X, y) from a CSV file with a header and a 'label' column;
    a 'region' column (ntml gen's slice column) is left out of the features."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    if "label" not in header:
        raise SystemExit("%s: no 'label' column" % path)
    if SLICE in header:
        s = header.index(SLICE)
        header = header[:s] + header[s + 1:]
        body = [r[:s] + r[s + 1:] for r in body]
    data = np.array(body, dtype=float)
    k = header.index("label")
    names = [h for i, h in enumerate(header) if i != k]
    return names, np.delete(data, k, axis=1), data[:, k].astype(int)


def read_slices(path):
    """The slice column's value of each row ('region'), or None when the file has none."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if SLICE not in rows[0]:
        return None
    s = rows[0].index(SLICE)
    return [r[s] for r in rows[1:]]


def write_csv(path, names, X, y):
    """Writes X and y with a header; floats with repr's precision, so nothing is lost."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(list(names) + ["label"])
        for row, label in zip(X, y):
            w.writerow([repr(float(v)) for v in row] + [int(label)])


def write_json(path, obj):
    """Writes obj as sorted, indented JSON, through a temporary name."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def ece(p, y, bins=15):
    """Expected calibration error: 15 equal-width bins of the predicted probability, each
    |mean(y) - mean(p)| weighted by its share of the rows (ntml eval's definition)."""
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() / len(p) * abs(y[m].mean() - p[m].mean())
    return float(total)
