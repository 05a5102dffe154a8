"""Hybrid ranking settings on Dutch statutes, a shape no weight was fitted on. Not a test.

    python benchmarks/law_ranking.py [--index /tmp/vraagbaak-law/openvino] [--limit 300]

Asks the query lines of ../shared/eval/law-text (an article's opening words)
of an index ``benchmarks/law_fidelity.py`` built (int8), and prints
self-retrieval mrr@10 (the query's own article as the one right answer; the
set has no labels) in dense, lexical and hybrid mode, hybrid once with the
previous round's fusion and once with this version's defaults. A check that
the fusion chosen on the labelled sets does not lose on statutes, not a
fitting set: its queries are the article's own words, which favours BM25.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from law_fidelity import LAW, reciprocal_rank  # noqa: E402 - its neighbour in benchmarks/
from vraagbaak import Index  # noqa: E402
from vraagbaak.search import RankingSettings  # noqa: E402

# Round 3's first fusion (before the neighbour cosine and the short-document lead).
PREVIOUS = RankingSettings(lead_weight=0.025, lead_max_passages=10**9, neighbour_weight=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, default=Path("/tmp/vraagbaak-law/openvino"))
    parser.add_argument("--limit", type=int, default=300)
    args = parser.parse_args()
    queries = [line.split("\t") for line in (LAW / "queries.txt").read_text(encoding="utf-8").splitlines() if "\t" in line]
    queries = queries[: args.limit]  # the same lines as law_fidelity.py
    runs = {"dense": (None, "dense"), "lexical": (None, "lexical"), "hybrid previous": (PREVIOUS, "hybrid"),
            "hybrid default": (RankingSettings(), "hybrid")}
    out = {}
    for name, (ranking, mode) in runs.items():
        index = Index.load(args.index, ranking=ranking or RankingSettings())
        total = 0.0
        for query, right in queries:
            hits = index.search(query.strip(), k=10, mode=mode, answers=0)
            total += reciprocal_rank([h.source for h in hits], right.strip())
        out[name] = round(total / len(queries), 4)
    print(json.dumps({"queries": len(queries), "self_mrr@10": out}, indent=1))


if __name__ == "__main__":
    main()
