"""Search and start-up timings of another checkout and this tree, alternating in one run. Not a test.

    python benchmarks/before_after.py search INDEX --before DIR [--rounds 3] [--modes hybrid,lexical]
    python benchmarks/before_after.py start --before DIR [--rounds 3] [--corpus corpus]

``DIR`` holds another checkout's ``app.py`` and ``vraagbaak/`` (e.g. ``git
archive main vraagbaak app.py | tar -x -C DIR``). Each measurement runs in a
process of its own with that code first on the path, the two codes taking
turns, so that load on a shared machine falls on both alike.

- ``search``: ``Index.search`` (k=5) of 200 FAQ questions over INDEX, an index
  ``benchmarks/scale.py`` built with its stand-in embedder (query vectors
  precomputed, as scale.py does): p50/p95 of wall time and the p50 of the
  searching thread's CPU time, per mode. The index must be one both codes read.
- ``start``: ``python app.py`` to the first answered ``/search``
  (``speed.time_to_first_answer``), each code on an index of ``--corpus`` it
  built itself beforehand.

Prints one JSON line per measurement and the medians with their ratio (this tree over DIR).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARKS))

from isa import cpu_facts  # noqa: E402

FAQ_QUESTIONS = ROOT.parent / "shared" / "eval" / "rijksoverheid-faq" / "questions.jsonl"

SEARCH = r'''
import json, sys, time
code, index, modes, questions, benchmarks = sys.argv[1:6]
sys.path.insert(0, code)
import numpy as np
import vraagbaak
from pathlib import Path
if not vraagbaak.__file__.startswith(code):
    raise SystemExit(f"imported {vraagbaak.__file__}, not {code}")
sys.path.append(benchmarks)  # after the code: scale.py puts its own checkout first, which must not win
from scale import StandIn
from vraagbaak import Index, register_embedder
qs = [json.loads(line)["query"] for line in Path(questions).read_text(encoding="utf-8").splitlines()[:200]]
stand_in = StandIn.answering(qs)
register_embedder("standin", lambda: stand_in)
index = Index.load(index)
index.warm_up()
out = {}
for mode in modes.split(","):
    for q in qs[:20]:
        index.search(q, k=5, mode=mode)
    wall, cpu = [], []
    for q in qs:
        t, c = time.perf_counter(), time.thread_time()
        index.search(q, k=5, mode=mode)
        cpu.append(time.thread_time() - c)
        wall.append(time.perf_counter() - t)
    ms = np.array(wall) * 1000
    out[mode] = {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2),
                 "cpu_p50_ms": round(float(np.percentile(np.array(cpu) * 1000, 50)), 2)}
print(json.dumps(out))
'''


def search(args, codes: list[Path]) -> None:
    runs = {code: [] for code in codes}
    for n in range(args.rounds):
        for code in codes:
            out = subprocess.run([sys.executable, "-c", SEARCH, str(code), str(args.index), args.modes, str(FAQ_QUESTIONS), str(BENCHMARKS)],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                raise SystemExit(out.stderr[-3000:])
            runs[code].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(json.dumps({"round": n + 1, "code": str(code), **cpu_facts(), **runs[code][-1]}), flush=True)
    before, after = codes
    for mode in args.modes.split(","):
        for key in ("p50_ms", "p95_ms", "cpu_p50_ms"):
            b = statistics.median(r[mode][key] for r in runs[before])
            a = statistics.median(r[mode][key] for r in runs[after])
            print(f"{mode} {key}: before {b:.2f}, after {a:.2f}, after/before {a / b:.2f}")


def start(args, codes: list[Path]) -> None:
    from speed import time_to_first_answer

    corpus = Path(args.corpus).resolve()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    indexes = {}
    for n, code in enumerate(codes):
        indexes[code] = work / f"index-{n}"
        env = dict(os.environ, PYTHONPATH=str(code))
        subprocess.run([sys.executable, "-m", "vraagbaak", "build", "--corpus", str(corpus), "--index", str(indexes[code])],
                       cwd=code, env=env, check=True, capture_output=True)
    runs = {code: [] for code in codes}
    for n in range(args.rounds):
        for code in codes:
            env = dict(os.environ, PYTHONPATH=str(code))
            seconds, peak = time_to_first_answer(code, indexes[code], corpus, None, env)
            runs[code].append(seconds)
            print(json.dumps({"round": n + 1, "code": str(code), **cpu_facts(), "start_to_first_answer_s": round(seconds, 2),
                              "peak_mb": peak}), flush=True)
    before, after = codes
    b, a = statistics.median(runs[before]), statistics.median(runs[after])
    print(f"start to first answer: before {b:.2f} s, after {a:.2f} s, after/before {a / b:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("search", "start"))
    parser.add_argument("index", nargs="?", help="search: the index to search")
    parser.add_argument("--before", required=True, type=Path, help="another checkout's folder (app.py and vraagbaak/)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--modes", default="hybrid,lexical")
    parser.add_argument("--corpus", default=str(ROOT / "corpus"))
    parser.add_argument("--work", default="/tmp/vraagbaak-before-after")
    args = parser.parse_args()
    codes = [args.before.resolve(), ROOT]
    if args.what == "search":
        if not args.index:
            parser.error("search needs INDEX")
        search(args, codes)
    else:
        start(args, codes)


if __name__ == "__main__":
    main()
