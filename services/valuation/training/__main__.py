"""``python -m services.valuation.training train|predict|evaluate``: see each command's ``--help``."""

# Commands import their modules lazily: `predict` must not pay for LightGBM or matplotlib.
# ruff: noqa: PLC0415

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.valuation.training", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train the ensemble and write the artifact")
    train.add_argument("--data", type=Path, default=None, help="auction CSV (default: the shared DVLA data)")
    train.add_argument("--out", type=Path, default=None, help="artifact directory (default: the shipped one)")
    predict = commands.add_parser("predict", help="value every registration of a CSV")
    predict.add_argument("input", type=Path, help="CSV with a 'registration' column")
    predict.add_argument("output", type=Path, help="CSV written with predicted_price, low, high (or error)")
    evaluate = commands.add_parser(
        "evaluate", help="score the held-out blocks and the gap validation against the plain baseline; write a report"
    )
    evaluate.add_argument("--data", type=Path, default=None)
    evaluate.add_argument("--out", type=Path, default=Path("reports/valuation"))
    evaluate.add_argument(
        "--no-gap", action="store_true", help="held-out blocks only (skips refitting at every origin, minutes)"
    )
    args = parser.parse_args(argv)

    if args.command == "train":
        from services.valuation.model import ARTIFACT_DIR
        from services.valuation.training.data import DEFAULT_DATA
        from services.valuation.training.train import train as run_train

        run_train(args.data or DEFAULT_DATA, args.out or ARTIFACT_DIR)
        return 0
    if args.command == "predict":
        from services.valuation.training.predict import predict_csv

        return predict_csv(args.input, args.output)
    from services.valuation.training.data import DEFAULT_DATA
    from services.valuation.training.evaluate import evaluate as run_evaluate

    run_evaluate(args.data or DEFAULT_DATA, args.out, gap=not args.no_gap)
    return 0


if __name__ == "__main__":
    sys.exit(main())
