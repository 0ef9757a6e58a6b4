"""mreg end to end, in a throw-away git repository: `make demo` (or python examples/demo.py).

It trains a real (tiny) churn model twice, logistic regression by gradient descent in pure
Python, registers each as a version with its params and held-out metrics, and shows what
`mreg ls`, `mreg show` and `mreg status` report. Every mreg call goes through the installed
console script, so a failure of mreg fails the demo. Nothing outside a temporary folder is
touched, and no global git identity is needed.
"""

# A demo prints what it does:

from __future__ import annotations

import datetime as dt
import math
import os
import pickle
import random
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

MREG = Path(sys.executable).parent / "mreg"
FEATURES = ["tenure_years", "monthly_charges", "support_calls", "has_contract"]
SEED = 7
Rows = list[tuple[list[float], int]]
Model = dict[str, Any]  # pickled as a plain dict: loadable without this script


# ----------------------------------------------------------------------------- the model


def make_data(n: int, seed: int) -> Rows:
    """Customers whose churn depends (noisily) on four features."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        tenure = rng.uniform(0, 6)
        charges = rng.uniform(0.2, 1.2)
        calls = float(rng.randint(0, 6))
        contract = 1.0 if rng.random() < 0.45 else 0.0
        logit = 0.4 - 0.7 * tenure + 1.8 * charges + 0.45 * calls - 1.4 * contract
        label = 1 if rng.random() < 1 / (1 + math.exp(-logit)) else 0
        rows.append(([tenure, charges, calls, contract], label))
    return rows


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


def predict(model: Model, x: list[float]) -> float:
    return sigmoid(model["bias"] + sum(w * v for w, v in zip(model["weights"], x, strict=True)))


def train(rows: Rows, lr: float, epochs: int) -> Model:
    """Full-batch gradient descent on the log loss."""
    weights = [0.0] * len(FEATURES)
    bias = 0.0
    n = len(rows)
    for _ in range(epochs):
        grad_w = [0.0] * len(weights)
        grad_b = 0.0
        for x, y in rows:
            err = sigmoid(bias + sum(w * v for w, v in zip(weights, x, strict=True))) - y
            for i, v in enumerate(x):
                grad_w[i] += err * v
            grad_b += err
        weights = [w - lr * g / n for w, g in zip(weights, grad_w, strict=True)]
        bias -= lr * grad_b / n
    return {"kind": "logistic-regression", "features": FEATURES, "weights": weights, "bias": bias}


def auc(scores: list[float], labels: list[int]) -> float:
    """Area under the ROC curve: the chance a churner scores above a stayer (ties 1/2)."""
    ranked = sorted(zip(scores, labels, strict=True))
    rank_sum = 0.0
    i = 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mid_rank = (i + j + 1) / 2  # ranks are 1-based; ties share their mean rank
        rank_sum += mid_rank * sum(label for _, label in ranked[i:j])
        i = j
    pos = sum(labels)
    neg = len(labels) - pos
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


def evaluate(model: Model, rows: Rows) -> dict[str, float]:
    scores = [predict(model, x) for x, _ in rows]
    labels = [y for _, y in rows]
    correct = sum((s >= 0.5) == (y == 1) for s, y in zip(scores, labels, strict=True))
    return {"auc": round(auc(scores, labels), 4), "accuracy": round(correct / len(rows), 4)}


# ----------------------------------------------------------------------------- the session


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def run(*args: str) -> None:
    """Print `$ command`, then run it; any failure stops the demo."""
    shown = " ".join(shlex.quote(a) for a in args)
    print(f"\n$ {shown}", flush=True)
    cmd = [str(MREG), *args[1:]] if args[0] == "mreg" else list(args)
    subprocess.run(cmd, check=True)


def write_csv(path: Path, rows: Rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join([*FEATURES, "churned"])]
    lines += [",".join([*(f"{v:.4f}" for v in x), str(y)]) for x, y in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def register(rows_train: Rows, rows_test: Rows, lr: float, epochs: int) -> None:
    started = now()
    model = train(rows_train, lr=lr, epochs=epochs)
    finished = now()
    metrics = evaluate(model, rows_test)
    Path("out").mkdir(exist_ok=True)
    with open("out/model.pkl", "wb") as f:
        pickle.dump(model, f, protocol=4)
    print(f"\n# trained with lr={lr}, epochs={epochs}: held-out {metrics}")
    run(
        "mreg", "add", "churn", "out/model.pkl",
        "-p", f"lr={lr}", "-p", f"epochs={epochs}",
        "-m", f"auc={metrics['auc']}", "-m", f"accuracy={metrics['accuracy']}",
        "--data", "train=data/train.csv", "--data", "test=data/test.csv",
        "--started", started, "--finished", finished,
        "--commit",
    )  # fmt: skip


def main() -> int:
    if not MREG.exists():
        print(f"demo: {MREG} not found; install mreg first: make venv", file=sys.stderr)
        return 1
    rows = make_data(800, SEED)
    rows_train, rows_test = rows[:600], rows[600:]
    with tempfile.TemporaryDirectory(prefix="mreg-demo-") as tmp:
        os.chdir(tmp)
        print(f"# a fresh git repository in {tmp}")
        run("git", "-c", "init.defaultBranch=main", "init", "-q")
        for key, value in (
            ("user.name", "Demo User"),
            ("user.email", "demo@example.com"),
            ("commit.gpgsign", "false"),
            ("tag.gpgsign", "false"),
        ):
            subprocess.run(["git", "config", key, value], check=True)
        write_csv(Path("data/train.csv"), rows_train)
        write_csv(Path("data/test.csv"), rows_test)
        run("git", "add", "data")
        run("git", "commit", "-q", "-m", "training data")
        run("mreg", "init")

        register(rows_train, rows_test, lr=0.02, epochs=50)
        register(rows_train, rows_test, lr=0.5, epochs=150)

        run("git", "log", "--oneline")
        run("mreg", "ls")
        run("mreg", "show", "churn")
        run("mreg", "status")
        Path("out/model.pkl").unlink()
        print("\n# the model file is gone (a fresh clone looks like this); the cache has it")
        run("mreg", "checkout")
        run("mreg", "status")
        os.chdir(Path(tmp).parent)
    print("\ndemo: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
