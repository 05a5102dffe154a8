"""How well the "no good match" threshold separates answerable from unanswerable questions.

    python benchmarks/calibrate_no_match.py

Answerable: the seed questions over the default corpus, and the rijksoverheid
questions over their own corpus. Unanswerable: the rijksoverheid questions
asked of the social-work corpus. Prints, per threshold, how many of each the
page would keep or turn away (best passage's e5 cosine in hybrid mode).
"""

import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from vraagbaak import Index  # noqa: E402
from vraagbaak.evaluate import read_questions  # noqa: E402
from vraagbaak.search import NO_MATCH_SIMILARITY  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"


def best_similarity(index, questions):
    return np.array([index.search(q.query, k=1, answers=0)[0].similarity for q in questions])


def main():
    from vraagbaak.cli import _eval_index_dir  # the same index folders as `vraagbaak eval`

    seed_corpus, faq_corpus = ROOT / "corpus", EVAL / "rijksoverheid-faq" / "corpus"
    seed_index = Index.build(seed_corpus, ROOT / _eval_index_dir(seed_corpus), progress=False)
    faq_index = Index.build(faq_corpus, ROOT / _eval_index_dir(faq_corpus), progress=False)
    seed_q = read_questions(EVAL / "seed-questions.jsonl")
    faq_q = read_questions(EVAL / "rijksoverheid-faq" / "questions.jsonl")
    seed = best_similarity(seed_index, seed_q)
    faq_here = best_similarity(faq_index, faq_q)
    faq_elsewhere = best_similarity(seed_index, faq_q)
    print(f"seed questions, default corpus: {seed.min():.4f}-{seed.max():.4f}")
    print(f"FAQ questions, FAQ corpus:      {faq_here.min():.4f}-{faq_here.max():.4f}")
    print(f"FAQ questions, default corpus:  {faq_elsewhere.min():.4f}-{faq_elsewhere.max():.4f} (unanswerable)")
    for t in sorted({0.80, 0.81, 0.82, 0.825, 0.83, 0.835, 0.84, NO_MATCH_SIMILARITY}):
        mark = "  <- current" if t == NO_MATCH_SIMILARITY else ""
        print(
            f"{t:.3f}: seed kept {int((seed >= t).sum())}/{len(seed)}, FAQ kept {int((faq_here >= t).sum())}/{len(faq_here)}, "
            f"unanswerable turned away {int((faq_elsewhere < t).sum())}/{len(faq_elsewhere)}{mark}"
        )


if __name__ == "__main__":
    main()
