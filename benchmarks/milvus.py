"""The Milvus store beside the local store: prints one JSON object. Not a test; nothing here asserts.

    python benchmarks/milvus.py [--corpus ../shared/eval/rijksoverheid-faq/corpus]
                                [--questions ../shared/eval/rijksoverheid-faq/questions.jsonl] [--n 200]

Builds the corpus with the default model into a fresh index folder and a fresh
Milvus Lite collection (the model loaded before timing, so both times are the
same embedding plus each store's writes), then times ``Index.search`` (hybrid,
k=10, one answer, as ``eval`` asks) on the first ``n`` questions, warm, for the
local store and for the Milvus store with each BM25 source (``project``:
our BM25 with term counts from Milvus's text match; ``milvus``: Milvus's BM25
function). Retrieval quality comes from ``python -m vraagbaak eval --store``
(BENCHMARKS.md quotes both).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from vraagbaak import Index  # noqa: E402
from vraagbaak.embeddings import DEFAULT_MODEL, load_embedder  # noqa: E402
from vraagbaak.evaluate import read_questions  # noqa: E402
from vraagbaak.stores.milvus import MilvusLocation, MilvusSettings  # noqa: E402

SHARED = ROOT.parent / "shared" / "eval" / "rijksoverheid-faq"


def timed_searches(index: Index, questions: list[str]) -> dict:
    index.warm_up()
    index.search(questions[0], k=10, answers=1)
    seconds = []
    for q in questions:
        t = time.perf_counter()
        index.search(q, k=10, answers=1)
        seconds.append(time.perf_counter() - t)
    ms = np.array(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 1), "p95_ms": round(float(np.percentile(ms, 95)), 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=SHARED / "corpus")
    parser.add_argument("--questions", type=Path, default=SHARED / "questions.jsonl")
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    questions = [q.query for q in read_questions(args.questions)][: args.n]
    load_embedder(DEFAULT_MODEL)  # converted and loaded once, outside the timings
    out = {"corpus": str(args.corpus), "questions": len(questions)}
    with tempfile.TemporaryDirectory() as tmp:
        spec = f"milvus:{Path(tmp) / 'bench.db'}"
        for name, target in (("local", Path(tmp) / "index"), ("milvus", spec)):
            t = time.perf_counter()
            index = Index.build(args.corpus, store=str(target), progress=False)
            out[f"{name}_build_s"] = round(time.perf_counter() - t, 1)
            t = time.perf_counter()
            Index.build(args.corpus, store=str(target), progress=False)
            out[f"{name}_unchanged_rebuild_s"] = round(time.perf_counter() - t, 2)
            if name == "local":
                out["passages"] = index.passage_count
                out["local_search"] = timed_searches(index, questions)
        for lexical in ("project", "milvus"):
            store = MilvusLocation(spec, MilvusSettings(lexical=lexical)).open()
            out[f"milvus_{lexical}_bm25_search"] = timed_searches(Index(store), questions)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
