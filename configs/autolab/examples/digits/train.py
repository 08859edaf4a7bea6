#!/usr/bin/python3
"""One AutoLab experiment on the 8x8 digits data set that ships with scikit-learn (no network).

Trains a small MLP (--model mlp, one hidden layer of --width units) or a multinomial logistic
regression (--model logreg: the same MLPClassifier with no hidden layer, so --lr and --alpha mean the
same thing for both) with Adam, one epoch at a time (partial_fit), and prints one JSON line per epoch
    {"step": <epoch>, "val_loss": <log-loss on the validation split>}
so that AutoLab's median stopping has intermediate metrics, then one final line
    {"val_loss": <...>, "val_accuracy": <...>}
Every line is flushed as it is written.

Why it is built this way:
- The train/validation split uses a fixed random_state (SPLIT_SEED), independent of --seed: repeats
  of one configuration differ only in weight initialisation and minibatch order, so the confidence
  interval over seeds measures the configuration, not which digits landed in validation.
- The MLP gets a numpy RandomState object rather than the integer seed: with an integer, sklearn
  re-seeds on every partial_fit call and each epoch would shuffle the minibatches identically.
- BLAS/OpenMP threads are pinned to 1 (before numpy is imported) unless the caller set them: AutoLab
  runs several experiments in parallel on few cores, and oversubscribed BLAS threads only slow that
  down (and can change floating-point summation order between machines).

Exit codes: 0 done; 1 the training diverged (non-finite loss: no metric to report); 2 bad arguments.
"""
import argparse
import json
import math
import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

SPLIT_SEED = 0          # the fixed train/validation split (never the experiment's seed)
VALIDATION_SHARE = 0.3  # 539 of the 1797 digits are held out
BATCH_SIZE = 64


def positive_float(text):
    value = float(text)  # ValueError -> argparse reports "invalid positive_float value"
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def non_negative_float(text):
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def bounded_int(low, high):
    def parse(text):
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be an integer in [{low}, {high}], got {text!r}")
        return value
    parse.__name__ = "integer"
    return parse


def parse_args(argv):
    # argparse exits with status 2 and a usage message on any bad or missing argument.
    parser = argparse.ArgumentParser(description="Train on sklearn's digits; print val_loss as JSON lines.")
    parser.add_argument("--lr", type=positive_float, required=True, help="Adam's learning_rate_init")
    parser.add_argument("--width", type=bounded_int(1, 4096), default=32,
                        help="hidden units (mlp only)")
    parser.add_argument("--alpha", type=non_negative_float, default=1e-4, help="L2 regularisation")
    parser.add_argument("--epochs", type=bounded_int(1, 10000), default=30, help="passes over the training split")
    parser.add_argument("--seed", type=bounded_int(0, 2**32 - 1), default=0,
                        help="weight initialisation and minibatch order")
    parser.add_argument("--model", choices=("mlp", "logreg"), default="mlp")
    return parser.parse_args(argv)


def emit(record):
    print(json.dumps(record), flush=True)


def diverged(epoch, lr, why):
    # A clean one-line reason (not a traceback) and no final metric line: the run has no result.
    print(f"train.py: training diverged at epoch {epoch} (lr={lr}): {why}", file=sys.stderr)
    return 1


def main(argv):
    args = parse_args(argv)

    try:
        import warnings
        import numpy as np
        from sklearn.datasets import load_digits
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.metrics import accuracy_score, log_loss
        from sklearn.model_selection import train_test_split
        from sklearn.neural_network import MLPClassifier
    except ImportError as error:
        print(f"train.py: scikit-learn is needed (Debian: apt-get install python3-sklearn): {error}",
              file=sys.stderr)
        return 1

    digits = load_digits()
    features = digits.data / 16.0  # pixel intensities 0..16 -> 0..1
    x_train, x_val, y_train, y_val = train_test_split(
        features, digits.target, test_size=VALIDATION_SHARE, random_state=SPLIT_SEED,
        stratify=digits.target)
    classes = np.unique(digits.target)

    hidden = (args.width,) if args.model == "mlp" else ()
    model = MLPClassifier(hidden_layer_sizes=hidden, learning_rate_init=args.lr, alpha=args.alpha,
                          batch_size=BATCH_SIZE, solver="adam",
                          random_state=np.random.RandomState(args.seed))

    val_loss = math.nan
    probabilities = None
    for epoch in range(1, args.epochs + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            with np.errstate(all="ignore"):  # divergence is reported below, not as numpy noise
                try:
                    model.partial_fit(x_train, y_train, classes=classes)
                except ValueError as error:  # sklearn refuses weights that overflowed to inf/NaN
                    return diverged(epoch, args.lr, error)
                probabilities = model.predict_proba(x_val)
        if not np.all(np.isfinite(probabilities)):
            return diverged(epoch, args.lr, "non-finite outputs")
        val_loss = float(log_loss(y_val, probabilities, labels=classes))
        emit({"step": epoch, "val_loss": val_loss})

    accuracy = float(accuracy_score(y_val, classes[np.argmax(probabilities, axis=1)]))
    emit({"val_loss": val_loss, "val_accuracy": accuracy})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
