"""Retrieval quality on every dev set in every mode: the BENCHMARKS table. Not a test.

    python benchmarks/quality.py [--work /tmp/vraagbaak-quality] [--backend openvino|torch] [--store milvus:URI]

Builds (or updates) one index per dev set in ``--work`` with the default
model, then prints a Markdown table of set x mode (hit@1, hit@5, mrr@10,
answer_hit@1, doc_hit@1, ...), the same figures ``python -m vraagbaak eval``
prints; long-docs also by question kind (paraphrase, specific).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from vraagbaak import Index  # noqa: E402
from vraagbaak.evaluate import evaluate, read_questions, table  # noqa: E402
from vraagbaak.search import MODES, RankingSettings  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
SETS = {  # name -> (corpus, question files)
    "seeds": (ROOT.parent / "shared" / "corpus", [EVAL / "seed-questions.jsonl"]),
    "faq": (EVAL / "rijksoverheid-faq" / "corpus", [EVAL / "rijksoverheid-faq" / "questions.jsonl"]),
    "long-docs": (EVAL / "long-docs" / "corpus", [EVAL / "long-docs" / f"questions{kind}.jsonl" for kind in ("", ".paraphrase", ".specific")]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/vraagbaak-quality"))
    parser.add_argument("--backend", default=None)
    parser.add_argument("--store", default=None, help="milvus:URI to measure the Milvus store (one collection per set)")
    parser.add_argument("--sets", default=",".join(SETS))
    args = parser.parse_args()
    results = []
    for name in args.sets.split(","):
        corpus, files = SETS[name]
        where = f"{args.store}#quality_{name.replace('-', '_')}" if args.store else args.work / f"{name}-{args.backend or 'default'}"
        index = Index.build(corpus, store=str(where), progress=False, backend=args.backend, ranking=RankingSettings())  # this version's ranking, not one an older build recorded
        index.warm_up()
        for path in files:
            questions = read_questions(path)
            for mode in MODES:
                result = evaluate(index, questions, mode=mode)
                kind = path.stem.removeprefix('questions').replace('.', ' ') if path.stem.startswith('questions') else ''
                result.update(set=name + kind, backend=index.backend)
                results.append(result)
    print(table(results))


if __name__ == "__main__":
    main()
