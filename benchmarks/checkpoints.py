"""What checkpoints cost a build: the FAQ corpus built with and without them. Not a test.

    python benchmarks/checkpoints.py [--corpus ../shared/eval/rijksoverheid-faq/corpus] [--intervals none,60,10,2] [--repeat 2]

Each build goes into a fresh index folder with the default (int8 OpenVINO)
model, loaded once before any timing; the builds of the different intervals
alternate, so drift of the machine hits them alike. Prints one JSON object:
seconds per build, its checkpoints, and the time per checkpoint implied by the
difference from the build without any.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from vraagbaak import Index  # noqa: E402
from vraagbaak.embeddings import load_embedder  # noqa: E402

FAQ = ROOT.parent / "shared" / "eval" / "rijksoverheid-faq" / "corpus"


def one_build(corpus: Path, interval: float | None) -> tuple[float, int]:
    seen = []
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        Index.build(corpus, Path(folder) / "idx", progress=seen.append, checkpoint_seconds=interval)
        return time.perf_counter() - t0, (seen[-1].checkpoints if seen else 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=FAQ)
    parser.add_argument("--intervals", default="none,60,10,2", help="seconds between checkpoints; none = only the final commit")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    intervals = [None if i == "none" else float(i) for i in args.intervals.split(",")]
    load_embedder().embed_passages(["Opwarmen van het model."])  # load and compile before timing
    runs: dict[str, list[tuple[float, int]]] = {str(i): [] for i in intervals}
    for _ in range(args.repeat):
        for interval in intervals:
            runs[str(interval)].append(one_build(args.corpus, interval))
    base = statistics.median(s for s, _ in runs[str(None)]) if str(None) in runs else None
    result = {}
    for key, measured in runs.items():
        seconds = statistics.median(s for s, _ in measured)
        checkpoints = max(c for _, c in measured)
        entry = {"seconds": [round(s, 2) for s, _ in measured], "median_s": round(seconds, 2), "checkpoints": checkpoints}
        if base is not None and key != "None":
            entry["vs_none"] = f"{100 * (seconds / base - 1):+.1f}%"
            if checkpoints:
                entry["ms_per_checkpoint"] = round(1000 * (seconds - base) / checkpoints, 1)
        result[f"checkpoint_seconds={key}"] = entry
    print(json.dumps({"corpus": str(args.corpus), "repeat": args.repeat, **result}, indent=1))


if __name__ == "__main__":
    main()
