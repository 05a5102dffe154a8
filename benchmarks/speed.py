"""Speed benchmark: prints one JSON object. Not a test; nothing here asserts.

    python benchmarks/speed.py [--corpus ../shared/eval/rijksoverheid-faq/corpus]
                               [--questions ../shared/eval/rijksoverheid-faq/questions.jsonl]

Measures, in one run on this machine:
- a full build into a fresh index folder: passages embedded per second (each
  passage's sentences are embedded too, so also texts per second);
- 200 warm single-question ``Index.search`` calls (hybrid, k=5), p50/p95, both
  with answer sentences (the default) and ranking only (``answers=0``);
- the bare work for the same questions: ``SentenceTransformer.encode_query``
  + the store's dense search, so the overhead is a ratio taken in the same run;
- peak resident memory of this process;
- seconds from starting ``python app.py`` (index already built) to the first
  answered ``/search`` request.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from vraagbaak import Index  # noqa: E402
from vraagbaak.evaluate import read_questions  # noqa: E402

SHARED = ROOT.parent / "shared" / "eval" / "rijksoverheid-faq"


def percentiles(seconds):
    ms = np.array(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2)}


def time_to_first_answer(index_dir: Path, corpus: Path) -> float:
    from gradio_client import Client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--corpus", str(corpus), "--index", str(index_dir), "--port", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError("app.py exited")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        client.predict("Waar mag ik parkeren met een parkeerschijf?", 5, "", api_name="/search")
        return time.perf_counter() - start
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=SHARED / "corpus")
    parser.add_argument("--questions", type=Path, default=SHARED / "questions.jsonl")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(tmp) / "index"
        from vraagbaak.embeddings import load_embedder

        embedder = load_embedder()  # load (and if needed convert) outside the timed build
        t0 = time.perf_counter()
        index = Index.build(args.corpus, index_dir, progress=False)
        build_seconds = time.perf_counter() - t0
        embedded = index.report.passages_embedded

        questions = [q.query for q in read_questions(args.questions)][: args.queries]
        index.search(questions[0])  # warm: BM25 index, torch kernels
        full, ranking_only, bare = [], [], []
        model, store = embedder.model, index._store
        for q in questions:
            t = time.perf_counter()
            index.search(q, k=5)
            full.append(time.perf_counter() - t)
            t = time.perf_counter()
            index.search(q, k=5, answers=0)
            ranking_only.append(time.perf_counter() - t)
            t = time.perf_counter()
            v = model.encode_query([q], convert_to_numpy=True, normalize_embeddings=True)
            store.dense_search(v[0], 5)
            bare.append(time.perf_counter() - t)

        startup = time_to_first_answer(index_dir, args.corpus)

    result = {
        "machine_cores": os.cpu_count(),
        "corpus": str(args.corpus),
        "documents": len(index.documents),
        "passages": index.passage_count,
        "build_seconds": round(build_seconds, 1),
        "sentences": index.report.sentences_embedded,
        "passages_embedded_per_second": round(embedded / build_seconds, 1),
        "texts_embedded_per_second": round((embedded + index.report.sentences_embedded) / build_seconds, 1),
        "queries": len(questions),
        "search_with_answers": percentiles(full),
        "search_ranking_only": percentiles(ranking_only),
        "bare_encode_plus_dense_search": percentiles(bare),
        "overhead_ratio_p50_with_answers": round(float(np.median(full) / np.median(bare)), 2),
        "overhead_ratio_p50_ranking_only": round(float(np.median(ranking_only) / np.median(bare)), 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "app_start_to_first_answer_seconds": round(startup, 1),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
