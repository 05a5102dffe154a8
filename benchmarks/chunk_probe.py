"""Does a passage size other than the default rank better on every dev set? Not a test.

    python benchmarks/chunk_probe.py [--sizes 400:700,700:1200] [--sets seeds,faq,long-docs]
                                     [--context title+heading,title,heading,none]

Builds each dev set once per passage size (target:max characters, the rest of
``ChunkingSettings`` default) in /tmp/vraagbaak-chunks and prints mrr@10 and
answer_hit@1 in every mode, with the passage count (what a size costs in
storage and build time). ``--context``: which of the document title and the
section heading go in front of each passage (default both, as the product).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from quality import SETS  # noqa: E402

from vraagbaak import Index  # noqa: E402
from vraagbaak.chunking import ChunkingSettings  # noqa: E402
from vraagbaak.evaluate import evaluate, read_questions  # noqa: E402
from vraagbaak.search import MODES, RankingSettings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="400:700,550:950,700:1200")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--context", default="title+heading")
    parser.add_argument("--work", type=Path, default=Path("/tmp/vraagbaak-chunks"))
    args = parser.parse_args()
    print("| size | context | set | passages | " + " | ".join(f"{m} mrr@10" for m in MODES) + " | hybrid answer_hit@1 |")
    print("| --- | --- | --- | --- |" + " --- |" * (len(MODES) + 1))
    for size, context in ((s, c) for s in args.sizes.split(",") for c in args.context.split(",")):
        target, cap = (int(x) for x in size.split(":"))
        chunking = ChunkingSettings(target_chars=target, max_chars=cap, title_in_passage="title" in context,
                                    heading_in_passage="heading" in context)
        for name in args.sets.split(","):
            corpus, files = SETS[name]
            index = Index.build(corpus, store=str(args.work / f"{name}-{target}-{cap}-{context}"), settings=chunking,
                                progress=False, ranking=RankingSettings())
            index.warm_up()
            results = {mode: evaluate(index, read_questions(files[0]), mode=mode) for mode in MODES}
            cells = " | ".join(f"{results[m]['mrr@10']:.3f}" for m in MODES)
            print(f"| {size} | {context} | {name} | {index.passage_count} | {cells} | {results['hybrid']['answer_hit@1']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
