"""Contract validation of a large frame: iml4e's ``validate_frame`` beside plain pandera.

The frame is the one ``profile_speed.py`` builds (default 1,000,000 rows x 20 columns). Both
sides check the same frame against a strict contract inferred from it beforehand (not timed):

* iml4e: ``infer_contract`` (dtypes, nullability, ranges, allowed categories up to 50) and
  ``validate_frame`` (pandera's lazy validation plus iml4e's violation report);
* baseline: ``pandera.infer_schema`` (dtypes, nullability, ranges) and ``schema.validate``,
  what a user of pandera alone would write.

Then the same contract is checked against a copy with 1 % of values broken, so the cost of
finding and reporting violations is measured too.

    .venv/bin/python benchmarks/validate_speed.py --repeat 3 --json validate_speed.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from contextlib import suppress
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from profile_speed import build_frame  # the benchmarks folder is not a package

TARGET_SECONDS = 5.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)

    import pandera.pandas as pa

    from iml4e.data.contract_files import infer_contract
    from iml4e.data.contracts import validate_frame
    from iml4e.data.errors import ContractViolation

    frame = build_frame(args.rows)
    broken = _break(frame)
    contract = infer_contract(frame, name="bench")
    baseline = pa.infer_schema(frame)

    def ours(data: pd.DataFrame) -> None:
        with suppress(ContractViolation):
            validate_frame(data, contract, source="bench")

    def theirs(data: pd.DataFrame) -> None:
        with suppress(pa.errors.SchemaErrors):
            baseline.validate(data, lazy=True)

    results: dict[str, float] = {}
    for label, data in (("valid", frame), ("1% broken", broken)):
        for side, call in (("iml4e", ours), ("pandera", theirs)):
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                call(data)
                times.append(time.perf_counter() - started)
            results[f"{side} {label}"] = statistics.median(times)

    lines = [
        f"validation of {args.rows:,} rows x {len(frame.columns)} columns, "
        f"median of {args.repeat} (target < {TARGET_SECONDS:g} s)",
        "",
        f"{'frame':<12}{'iml4e (s)':>12}{'pandera (s)':>14}{'ratio':>8}",
    ]
    for label in ("valid", "1% broken"):
        ours_s, theirs_s = results[f"iml4e {label}"], results[f"pandera {label}"]
        lines.append(f"{label:<12}{ours_s:>12.2f}{theirs_s:>14.2f}{ours_s / theirs_s:>8.2f}")
    lines.append("")
    lines.append(
        "iml4e's contract also checks allowed categories, which pandera's inferred schema does not."
    )
    print("\n".join(lines))
    if args.json:
        args.json.write_text(
            json.dumps({"rows": args.rows, "repeat": args.repeat, "seconds": results}, indent=2)
        )


def _break(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with 1 % of the values of every other column set out of range or unseen."""
    broken = frame.copy()
    rng = np.random.default_rng(7)
    rows = rng.choice(len(frame), size=max(1, len(frame) // 100), replace=False)
    for position, column in enumerate(frame.columns):
        if position % 2:
            continue
        if pd.api.types.is_numeric_dtype(frame[column]):
            broken.loc[rows, column] = frame[column].max() + 1
        else:
            broken.loc[rows, column] = "never-seen"
    return broken


if __name__ == "__main__":
    main()
