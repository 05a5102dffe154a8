"""Speed benchmark of both backends: prints one JSON object. Not a test; nothing here asserts.

    python benchmarks/speed.py [--corpus ../shared/eval/rijksoverheid-faq/corpus]
                               [--questions ../shared/eval/rijksoverheid-faq/questions.jsonl]

Runs the torch (fp32) and the openvino (int8, default) backend on the same texts, each in
a process of its own, and prints both and their ratios:
- a full build into a fresh index folder (model loaded, and exported, before
  timing): passages per second and texts per second (each passage's
  sentences are embedded too);
- 200 warm single questions: query encoding alone, and ``Index.search``
  (hybrid, k=5, with answers), p50/p95;
- peak resident memory of the benchmark process;
- ``python app.py --backend B`` with the index built: seconds to the first
  answered ``/search``, and the app's peak resident memory after 21 questions.
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
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from vraagbaak import Index  # noqa: E402
from vraagbaak.evaluate import read_questions  # noqa: E402

SHARED = ROOT.parent / "shared" / "eval" / "rijksoverheid-faq"


def percentiles(seconds):
    ms = np.array(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2)}


def time_to_first_answer(index_dir: Path, corpus: Path, backend: str) -> tuple[float, float]:
    """(seconds from starting app.py to the first answered /search, peak MB of that process)."""
    from gradio_client import Client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--corpus", str(corpus), "--index", str(index_dir), "--port", str(port), "--backend", backend],
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
        seconds = time.perf_counter() - start
        for _ in range(20):  # a few more questions, then read the peak
            client.predict("Hoe vraag ik huurtoeslag aan?", 5, "", api_name="/search")
        status = Path(f"/proc/{proc.pid}/status").read_text()
        peak_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
        return seconds, round(peak_kb / 1024, 1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def measure(backend: str, corpus: Path, questions_file: Path, queries: int) -> dict:
    """One backend, in its own process (so peak memory is its own)."""
    from vraagbaak.embeddings import load_embedder

    embedder = load_embedder(backend=backend)  # load (and if needed convert/export) outside the timed build
    questions = [q.query for q in read_questions(questions_file)][:queries]
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(tmp) / "index"
        t0 = time.perf_counter()
        index = Index.build(corpus, index_dir, progress=False, backend=backend)
        build_seconds = time.perf_counter() - t0
        r = index.report
        embedder.embed_queries([questions[0]])
        index.search(questions[0])  # warm
        encode, search = [], []
        for q in questions:
            t = time.perf_counter()
            embedder.embed_queries([q])
            encode.append(time.perf_counter() - t)
            t = time.perf_counter()
            index.search(q, k=5)
            search.append(time.perf_counter() - t)
        peak = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        startup, app_peak = time_to_first_answer(index_dir, corpus, backend)
    return {
        "backend": index.backend, "documents": len(index.documents), "passages": index.passage_count,
        "sentences_embedded": r.sentences_embedded, "build_seconds": round(build_seconds, 1),
        "passages_per_second": round(r.passages_embedded / build_seconds, 1),
        "texts_per_second": round((r.passages_embedded + r.sentences_embedded) / build_seconds, 1),
        "query_encode": percentiles(encode), "search": percentiles(search),
        "benchmark_peak_rss_mb": peak, "app_start_to_first_answer_seconds": round(startup, 1), "app_peak_rss_mb": app_peak,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=SHARED / "corpus")
    parser.add_argument("--questions", type=Path, default=SHARED / "questions.jsonl")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--backend", help=argparse.SUPPRESS)  # a child run of one backend
    args = parser.parse_args()
    if args.backend:
        print(json.dumps(measure(args.backend, args.corpus, args.questions, args.queries)))
        return
    runs = {}
    for backend in ("torch", "openvino"):
        out = subprocess.run(
            [sys.executable, __file__, "--backend", backend, "--corpus", str(args.corpus),
             "--questions", str(args.questions), "--queries", str(args.queries)],
            capture_output=True, text=True, check=True,
        )
        runs[backend] = json.loads(out.stdout.strip().splitlines()[-1])
    t, o = runs["torch"], runs["openvino"]
    ratios = {
        "build_texts_per_second_int8_over_torch": round(o["texts_per_second"] / t["texts_per_second"], 2),
        "build_passages_per_second_int8_over_torch": round(o["passages_per_second"] / t["passages_per_second"], 2),
        "query_encode_p50_int8_over_torch": round(o["query_encode"]["p50_ms"] / t["query_encode"]["p50_ms"], 2),
        "query_encode_p95_int8_over_torch": round(o["query_encode"]["p95_ms"] / t["query_encode"]["p95_ms"], 2),
        "search_p50_int8_over_torch": round(o["search"]["p50_ms"] / t["search"]["p50_ms"], 2),
        "app_peak_int8_over_torch": round(o["app_peak_rss_mb"] / t["app_peak_rss_mb"], 2),
    }
    from isa import cpu_facts  # benchmarks/isa.py: the CPU model and the flags that choose OpenVINO's kernels

    print(json.dumps({"machine_cores": os.cpu_count(), **cpu_facts(), "corpus": str(args.corpus), "torch": t, "openvino": o, "ratios": ratios}, indent=1))


if __name__ == "__main__":
    main()
