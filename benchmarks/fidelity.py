"""int8 fidelity: does a text's int8 vector depend on what it is batched with? Not a test.

    python benchmarks/fidelity.py [--queries ../shared/eval/law-text/queries.txt] [--limit 300]

Embeds question-like texts three ways and prints, as one JSON object, the
cosine of each int8 vector to the fp32 (torch) vector of the same text:
- ``lone``: each text embedded on its own, as a search embeds a question;
- ``batched``: all texts in one call (batches of similar length);
and the time to embed one question alone (p50 over the texts, warm).
The CPU's model name and its AMX / VNNI / AVX-512 flags are printed with it,
since OpenVINO's int8 kernels differ between CPUs (issue 28).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

LAW_QUERIES = ROOT.parent / "shared" / "eval" / "law-text" / "queries.txt"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from isa import cpu_facts  # noqa: E402  (the CPU model and the flags that choose OpenVINO's kernels)

def summary(cosines: np.ndarray) -> dict:
    return {"min": round(float(cosines.min()), 4), "mean": round(float(cosines.mean()), 4),
            "below_0.99": int((cosines < 0.99).sum()), "below_0.999": int((cosines < 0.999).sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=Path, default=LAW_QUERIES, help="lines '<query>\\t<file>' (law-text) or one question a line")
    parser.add_argument("--limit", type=int, default=300)
    args = parser.parse_args()
    texts = [line.split("\t")[0].strip() for line in args.queries.read_text(encoding="utf-8").splitlines() if line.strip()][: args.limit]

    from vraagbaak.embeddings import load_embedder

    int8, fp32 = load_embedder(backend="openvino-int8"), load_embedder(backend="torch")
    reference = fp32.embed_queries(texts)
    batched = int8.embed_queries(texts)
    int8.embed_queries([texts[0]])  # warm
    lone, seconds = [], []
    for text in texts:
        t0 = time.perf_counter()
        lone.append(int8.embed_queries([text])[0])
        seconds.append(time.perf_counter() - t0)
    lone = np.array(lone)
    tokens = [len(int8._token_ids(["query: " + t])[0]) for t in texts]
    print(json.dumps({
        **cpu_facts(),
        "texts": len(texts), "tokens": {"min": min(tokens), "median": int(np.median(tokens)), "max": max(tokens)},
        "lone_vs_fp32": summary(np.sum(lone * reference, axis=1)),
        "batched_vs_fp32": summary(np.sum(batched * reference, axis=1)),
        "lone_vs_batched": summary(np.sum(lone * batched, axis=1)),
        "lone_query_encode_p50_ms": round(float(np.percentile(np.array(seconds) * 1000, 50)), 2),
        "lone_query_encode_p95_ms": round(float(np.percentile(np.array(seconds) * 1000, 95)), 2),
    }, indent=1))


if __name__ == "__main__":
    main()
