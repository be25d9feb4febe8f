"""scikit-learn's side of bench/model.ts: train a RandomForestClassifier on the rows bench/model.ts wrote.

Input: a CSV whose first column is `split` (train/test), second `label` (0/1), then the features. Trains with
scikit-learn's defaults (100 trees, max_features sqrt, no depth limit) on one core (n_jobs=1), and prints one
JSON object: training time, test AUC (of predict_proba, and of the share of trees voting risky), and node
count. Only the benchmark uses Python;
rollguard itself does not.
"""

import csv
import json
import sys
import time

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score


def main() -> None:
    path, trees, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        rows = list(reader)
    split = np.array([row[0] for row in rows])
    label = np.array([int(row[1]) for row in rows])
    features = np.array([[float(value) for value in row[2:]] for row in rows])
    train, test = split == "train", split == "test"

    forest = RandomForestClassifier(n_estimators=trees, n_jobs=1, random_state=seed)
    start = time.perf_counter()
    forest.fit(features[train], label[train])
    train_ms = (time.perf_counter() - start) * 1000

    start = time.perf_counter()
    scores = forest.predict_proba(features[test])[:, 1]
    predict_ms = (time.perf_counter() - start) * 1000
    # rollguard's score rule: the share of trees voting risky (hard votes), not the mean leaf probability.
    votes = np.mean([tree.predict(features[test]) for tree in forest.estimators_], axis=0)
    nodes = sum(tree.tree_.node_count for tree in forest.estimators_)
    print(
        json.dumps(
            {
                "trainMs": train_ms,
                "auc": roc_auc_score(label[test], scores),
                "aucVotes": roc_auc_score(label[test], votes),
                "nodes": int(nodes),
                "predictMs": predict_ms,
            }
        )
    )


if __name__ == "__main__":
    main()
