"""What reading in processes of their own costs a build of ordinary files: this checkout against another. Not a test.

    python benchmarks/read_speed.py [--other DIR] [--runs 3] [--corpus DIR ...]

Builds each corpus with the tests' fake embedder (so the figure is reading,
hashing and splitting, not the model) into a fresh index, alternating this
checkout and the other one (default: where this branch left main, exported
with ``git archive``), each build a process of its own, and prints one JSON
line per corpus: the seconds of each run and the ratio of the medians.
Default corpora: the FAQ (500 .txt), law-text (5,505 .txt, many small files:
the most messages per byte), and mixed-docs + long-docs together (PDF, DOCX,
ODT, HTML, Markdown).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT.parent / "shared" / "eval"

RUN = """
import sys, time, tempfile
sys.path[:0] = [{checkout!r}, {tests!r}]
from fake_embedder import FakeEmbedder
from vraagbaak import Index, register_embedder
register_embedder("fake", FakeEmbedder)
if __name__ == "__main__":
    folder = tempfile.mkdtemp()
    started = time.perf_counter()
    index = Index.build({corpus!r}, folder + "/idx", model="fake", progress=False, on_skip=lambda s, r: None)
    print(time.perf_counter() - started, len(index.documents))
"""


def build_seconds(checkout: Path, corpus: Path) -> tuple[float, int]:
    code = RUN.format(checkout=str(checkout), tests=str(ROOT / "tests"), corpus=str(corpus))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=checkout).stdout.split()
    return float(out[0]), int(out[1])


def branch_point() -> Path:
    """The code where this branch left main, in a temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix="read-speed-"))
    commit = subprocess.run(["git", "merge-base", "HEAD", "main"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--other", type=Path, default=None, help="another checkout (default: where this branch left main)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--corpus", type=Path, nargs="*", default=None)
    args = parser.parse_args()
    other = args.other or branch_point()
    corpora = args.corpus
    if not corpora:
        documents = Path(tempfile.mkdtemp(prefix="read-speed-docs-"))
        for name in ("mixed-docs", "long-docs"):
            shutil.copytree(EVAL / name / "corpus", documents / name)
        corpora = [EVAL / "rijksoverheid-faq" / "corpus", EVAL / "law-text" / "corpus", documents]
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "unknown")
    print(json.dumps({"cpu": cpu, "this": str(ROOT), "other": str(other)}), flush=True)
    for corpus in corpora:
        times = {"this": [], "other": []}
        count = {}
        for _ in range(args.runs):
            for name, checkout in (("other", other), ("this", ROOT)):
                seconds, count[name] = build_seconds(checkout, corpus)
                times[name].append(round(seconds, 2))
        ratio = statistics.median(times["this"]) / statistics.median(times["other"])
        print(json.dumps({"corpus": str(corpus), "documents": count, "seconds": times, "this_over_other": round(ratio, 2)}), flush=True)


if __name__ == "__main__":
    main()
