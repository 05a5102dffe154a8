"""int8 against fp32 on Dutch statutes: do the two models rank the same articles? (issue 22)

    python benchmarks/law_fidelity.py [--limit 300] [--work /tmp/vraagbaak-law]

Builds the law-text corpus (../shared/eval/law-text: 5,502 articles of 35
Dutch laws) twice, with the int8 OpenVINO model and with fp32 torch, then asks
each of its query lines (the opening words of an article) in dense and in
hybrid mode and prints, per mode:
- top-10 agreement: the mean share of the int8 top 10 (as passages) that is
  also in the fp32 top 10, and how often the first hit is the same passage;
- self-retrieval mrr@10 for each backend: the query's own article as the one
  right answer (a stand-in for labels, which this set does not have).
The CPU is printed with the figures: int8 kernels differ between CPUs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from fidelity import cpu_facts  # noqa: E402 - its neighbour in benchmarks/
from vraagbaak import Index  # noqa: E402

LAW = ROOT.parent / "shared" / "eval" / "law-text"


def reciprocal_rank(sources: list[str], right: str) -> float:
    return next((1 / n for n, s in enumerate(sources[:10], start=1) if s == right), 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--work", type=Path, default=Path("/tmp/vraagbaak-law"))
    args = parser.parse_args()
    queries = [line.split("\t") for line in (LAW / "queries.txt").read_text(encoding="utf-8").splitlines() if "\t" in line]
    queries = queries[: args.limit]
    indexes, build_seconds = {}, {}
    for backend in ("openvino", "torch"):
        started = time.perf_counter()
        indexes[backend] = Index.build(LAW / "corpus", store=str(args.work / backend), backend=backend, progress=False)
        indexes[backend].warm_up()
        build_seconds[backend] = round(time.perf_counter() - started, 1)
    out = {**cpu_facts(), "queries": len(queries), "passages": indexes["openvino"].passage_count, "build_seconds": build_seconds}
    for mode in ("dense", "hybrid"):
        overlap = same_first = 0.0
        rr = {"openvino": 0.0, "torch": 0.0}
        for query, right in queries:
            tops = {b: ix.search(query.strip(), k=10, mode=mode, answers=0) for b, ix in indexes.items()}
            ids = {b: [(h.source, h.start) for h in hits] for b, hits in tops.items()}  # the same passage in both indexes
            overlap += len(set(ids["openvino"]) & set(ids["torch"])) / 10
            same_first += ids["openvino"][:1] == ids["torch"][:1]
            for b, hits in tops.items():
                rr[b] += reciprocal_rank([h.source for h in hits], right.strip())
        n = len(queries)
        out[mode] = {"top10_agreement": round(overlap / n, 4), "same_first": round(same_first / n, 4),
                     "mrr@10_int8": round(rr["openvino"] / n, 4), "mrr@10_fp32": round(rr["torch"] / n, 4)}
    print(json.dumps(out, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
