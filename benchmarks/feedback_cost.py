"""What keeping judgments costs (issue 41): prints one JSON object. Not a test; nothing here asserts.

    python benchmarks/feedback_cost.py [--judgments 5000] [--corpus corpus]
                                       [--questions ../shared/eval/seed-questions.jsonl] [--work DIR]

Builds an index of ``--corpus`` with the bundled model in a fresh temporary
folder under ``--work`` (default: the system's; it must be a real disk, not a
tmpfs, for fsync to cost what it costs; deleted at the end), searches each question (k=5) and
then lets simulated users judge every hit they were shown, as the page's
``/feedback`` does: ``Feedback.shown`` once per results list, ``Feedback.judge``
per hit. Real hits, so real answer sentences, sources and questions go into
the file. Reports:

- ``judge_ms``: one judgment (memory check, one SQLite transaction in WAL mode
  with ``synchronous=FULL``, i.e. an fsync); ``rejudge_ms``: changing one;
- ``judge_ms_synchronous_normal``: the same on a second file with
  ``synchronous=NORMAL`` (no fsync per commit), to show what FULL costs;
- ``shown_ms``: remembering one results list of 5 hits; ``choices_ms``;
- ``bytes_per_1000``: growth of the file per 1,000 judgments (the database
  after a WAL checkpoint, sizes every 1,000);
- ``quality_s`` and ``export_ms``: the panel's figures and the export over all of them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from fidelity import cpu_facts  # noqa: E402 - the CPU model and flags, printed with every figure
from vraagbaak import Index  # noqa: E402
from vraagbaak.evaluate import read_questions  # noqa: E402
from vraagbaak.feedback import FEEDBACK_FILE, Feedback, export_questions, hit_key, quality  # noqa: E402


def ms(seconds: list[float]) -> dict:
    values = np.array(seconds) * 1000
    return {"p50": round(float(np.percentile(values, 50)), 3), "p95": round(float(np.percentile(values, 95)), 3),
            "mean": round(float(values.mean()), 3), "n": len(values)}


def file_bytes(feedback: Feedback) -> int:
    """The database after copying the WAL into it: what the judgments occupy."""
    with feedback._lock:  # the benchmark reads the module's own connection
        feedback._con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(p.stat().st_size for p in feedback.path.parent.glob(FEEDBACK_FILE + "*"))


def judge_all(feedback: Feedback, results: dict, total: int, sizes: list | None = None) -> tuple[list, list]:
    """Users user0, user1, … each judge every hit of every results list (the first positive, the others negative)."""
    judge_s, shown_s = [], []
    viewer = 0
    while len(judge_s) < total:
        name = f"user{viewer}"
        for question, hits in results.items():
            t0 = time.perf_counter()
            feedback.shown(name, question, hits)
            shown_s.append(time.perf_counter() - t0)
            for hit in hits:
                t0 = time.perf_counter()
                feedback.judge(name, question, hit_key(hit), "positive" if hit.rank == 1 else "negative", user=name)
                judge_s.append(time.perf_counter() - t0)
                if sizes is not None and len(judge_s) % 1000 == 0:
                    sizes.append(file_bytes(feedback))
                if len(judge_s) >= total:
                    return judge_s, shown_s
        viewer += 1
    return judge_s, shown_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judgments", type=int, default=5000)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--questions", type=Path, default=ROOT.parent / "shared" / "eval" / "seed-questions.jsonl")
    parser.add_argument("--work", type=Path, default=None, help="where the temporary folder goes (a real disk, not a tmpfs)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="vraagbaak-feedback-bench-", dir=args.work))
    index = Index.build(args.corpus, work / "index", progress=False)
    index.warm_up()
    results = {q.query: index.search(q.query, k=5) for q in read_questions(args.questions)}

    feedback = Feedback.open(index.path)
    sizes = [file_bytes(feedback)]
    judge_s, shown_s = judge_all(feedback, results, args.judgments, sizes)
    question, hits = next(iter(results.items()))
    rejudge_s, choices_s = [], []
    for n in range(200):
        t0 = time.perf_counter()
        feedback.judge(f"user{n % 10}", question, hit_key(hits[n % len(hits)]), "positive" if n % 2 else "negative", user=f"user{n % 10}")
        rejudge_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        feedback.choices(f"user{n % 10}", question)
        choices_s.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    exported = export_questions(feedback, index.store)
    export_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    figures = quality(feedback, index)
    quality_s = time.perf_counter() - t0

    normal = Feedback.open(work / "normal")
    with normal._lock:
        normal._con.execute("PRAGMA synchronous=NORMAL")
    normal_s, _ = judge_all(normal, results, min(args.judgments, 2000))

    growth = np.diff(sizes)
    print(json.dumps({
        "machine_cores": os.cpu_count(), **cpu_facts(), "corpus": str(args.corpus), "questions": len(results),
        "judgments": len(judge_s), "judge_ms": ms(judge_s), "rejudge_ms": ms(rejudge_s),
        "judge_ms_synchronous_normal": ms(normal_s), "shown_ms": ms(shown_s), "choices_ms": ms(choices_s),
        "bytes_per_1000": {"mean": int(growth.mean()), "min": int(growth.min()), "max": int(growth.max())},
        "file_bytes": sizes[-1], "export_ms": round(export_s * 1000, 1), "exported_questions": len(exported.questions),
        "quality_s": round(quality_s, 2), "quality_searches": len(results), "hit@1": figures.hit_at_1, "mrr@10": figures.mrr_at_10,
        "work_filesystem": filesystem(work),
    }, indent=1))
    shutil.rmtree(work)


def filesystem(path: Path) -> str:
    """The type of the filesystem ``path`` is on (from /proc/mounts: the longest mount point that holds it)."""
    best, kind = "", "unknown"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            mount, fs = line.split()[1:3]
            if str(path.resolve()).startswith(mount.rstrip("/") + "/") and len(mount) > len(best):
                best, kind = mount, fs
    except OSError:
        pass
    return kind


if __name__ == "__main__":
    main()
