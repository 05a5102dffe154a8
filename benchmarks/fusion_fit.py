"""Choose hybrid ranking's weights by leave-one-set-out cross-validation. Not a test.

    python benchmarks/fusion_fit.py [--work /tmp/vraagbaak-fit] [--sets seeds,faq,long-docs]

For each labelled dev set it builds (or reuses) an index with the default
model, and for every question takes hybrid mode's candidate pool with its
features (``Searcher.candidates``) once. Then, in numpy only, it scores a grid
of ``RankingSettings`` on every set and prints one JSON object:

- ``leave_one_out``: for each set, the settings that score best on the *other*
  sets (mean of their mrr@10, each set counting the same however many
  questions it has) and what they score on the held-out set: the honest
  estimate of how the choice does on text it was not fitted on;
- ``chosen``: the settings best on all sets together, and their scores;
- ``answer``: the same for ``answer_lexical_weight`` (answer_hit@1), with the
  chosen fusion; and answer_hit@1 with the mean answer length for each
  ``answer_tie`` (-1: a sentence is never joined by the next for being as close).

Sets: seeds (20 questions, 5 articles), faq (500 questions, 500 short answers),
long-docs (60 questions, 8 long reports). The hidden sets are other shapes
again (statutes, real scans); a setting that only one set likes loses there.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from vraagbaak import Index  # noqa: E402
from vraagbaak.evaluate import normalise, read_questions  # noqa: E402
from vraagbaak.lexical import tokenize  # noqa: E402
from vraagbaak.search import Features, RankingSettings, choose_answer, fuse  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
SETS = {
    "seeds": (ROOT.parent / "shared" / "corpus", EVAL / "seed-questions.jsonl"),
    "faq": (EVAL / "rijksoverheid-faq" / "corpus", EVAL / "rijksoverheid-faq" / "questions.jsonl"),
    "long-docs": (EVAL / "long-docs" / "corpus", EVAL / "long-docs" / "questions.jsonl"),
}


@dataclass
class Pool:
    """One question's candidates: features, which are passage hits, and what answer choice needs of the hits."""

    features: Features
    hit: np.ndarray  # bool per candidate
    answers: dict  # candidate index -> (passage, sentence sims, term weights, answer phrase)
    has_answer: bool  # the question names an answer phrase (only those count for answer_hit@1)


def pools_of(name: str, work: Path) -> list[Pool]:
    corpus, questions_file = SETS[name]
    index = Index.build(corpus, work / f"{name}-default", progress=False)
    searcher = index._searcher
    searcher.settings = replace(searcher.settings, neighbour_weight=1.0)  # so that the pool carries every feature the grid weighs
    pools = []
    for q in read_questions(questions_file):
        terms = tokenize([q.query])[0]
        vector = searcher.embedder.embed_queries([q.query])[0]
        found, features = searcher.candidates(terms, vector)
        hit = np.array([p.source in q.sources and (q.answer is None or normalise(q.answer) in normalise(p.text))
                        for p in found.passages], bool)
        weights = searcher._term_weights(terms)
        answers = {int(i): (p, found.sentence_sims[i], weights, q.answer)  # the answer is chosen from the whole passage, not its head
                   for i, p in zip(np.flatnonzero(hit), searcher.store.passages(found.rows[hit])) if q.answer}
        pools.append(Pool(features, hit, answers, q.answer is not None))
    return pools


def mrr(pools: list[Pool], settings: RankingSettings) -> float:
    total = 0.0
    for pool in pools:
        order = np.argsort(-fuse(pool.features, settings), kind="stable")[:10]
        first = np.flatnonzero(pool.hit[order])
        total += 1.0 / (first[0] + 1) if len(first) else 0.0
    return total / len(pools)


def answer_hit(pools: list[Pool], settings: RankingSettings) -> float:
    """answer_hit@1 as ``evaluate.metrics`` counts it: the top passage is a hit and its answer sentence holds the phrase."""
    return answer_figures(pools, settings)[0]


def answer_figures(pools: list[Pool], settings: RankingSettings) -> tuple[float, float]:
    """(answer_hit@1, mean characters of the answers shown in right top passages): a longer answer
    holds the phrase more often, so the length is reported beside the hit rate."""
    hits, counted, lengths = 0, 0, []
    for pool in pools:
        if not pool.has_answer:
            continue
        counted += 1
        top = int(np.argmax(fuse(pool.features, settings))) if len(pool.hit) else -1
        if top in pool.answers:
            passage, sims, weights, phrase = pool.answers[top]
            a, b = choose_answer(passage, sims, settings, weights)
            hits += normalise(phrase) in normalise(passage.text[a - passage.start : b - passage.start])
            lengths.append(b - a)
    return (hits / counted if counted else 0.0), (float(np.mean(lengths)) if lengths else 0.0)


LEAD_MAX = (10, 20, 40, 80, 10**9)  # passages; 10**9: every document's opening passage


def grid() -> list[RankingSettings]:
    weighted = [RankingSettings(fusion="weighted", lexical_weight=lw, sentence_weight=sw, lead_weight=ld, lead_max_passages=lm, neighbour_weight=nw)
                for lw, sw, ld, lm, nw in itertools.product((0.0, 0.02, 0.03, 0.05, 0.08, 0.12, 0.2), (0.0, 0.1, 0.15, 0.25, 0.4),
                                                            (0.0, 0.01, 0.025, 0.04, 0.06), LEAD_MAX, (0.0, 0.05, 0.1, 0.2, 0.3))]
    rrf = [RankingSettings(fusion="rrf", rrf_k=k, lexical_weight=lw, sentence_weight=sw, lead_weight=ld, lead_max_passages=lm, neighbour_weight=nw)
           for k, lw, sw, ld, lm, nw in itertools.product((10.0, 30.0, 60.0), (0.25, 0.5, 1.0, 1.5), (0.0, 0.5, 1.0), (0.0, 0.5), LEAD_MAX, (0.0, 0.5))]
    return weighted + rrf


def best(table: dict[str, list[float]], sets: list[str], candidates: list[RankingSettings]) -> int:
    """Index of the settings with the best mean over ``sets`` (each set counts once)."""
    means = np.mean([table[s] for s in sets], axis=0)
    return int(np.argmax(means))


def describe(settings: RankingSettings) -> dict:
    keys = ("fusion", "lexical_weight", "sentence_weight", "lead_weight", "lead_max_passages", "neighbour_weight") + (("rrf_k",) if settings.fusion == "rrf" else ())
    return {k: getattr(settings, k) for k in keys}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/vraagbaak-quality"))
    parser.add_argument("--sets", default=",".join(SETS))
    args = parser.parse_args()
    names = args.sets.split(",")
    pools = {name: pools_of(name, args.work) for name in names}
    candidates = grid()
    table = {name: [mrr(pools[name], c) for c in candidates] for name in names}
    default = RankingSettings()
    out = {"grid_size": len(candidates), "previous_default": {n: round(mrr(pools[n], default), 4) for n in names}}
    out["leave_one_out"] = {}
    for held in names:
        train = [n for n in names if n != held]
        i = best(table, train, candidates)
        out["leave_one_out"][held] = {"fitted_on": train, "settings": describe(candidates[i]),
                                      "held_out_mrr@10": round(table[held][i], 4),
                                      "best_possible_mrr@10": round(max(table[held]), 4)}
    i = best(table, names, candidates)
    chosen = candidates[i]
    out["chosen"] = {"settings": describe(chosen), "mrr@10": {n: round(table[n][i], 4) for n in names}}
    answer_grid = (0.0, 0.02, 0.05, 0.1, 0.2)
    answer_table = {n: [answer_hit(pools[n], replace(chosen, answer_lexical_weight=w)) for w in answer_grid] for n in names}
    out["answer"] = {"answer_lexical_weight": {str(w): {n: round(answer_table[n][j], 4) for n in names} for j, w in enumerate(answer_grid)}}
    for held in names:
        train = [n for n in names if n != held]
        j = int(np.argmax(np.mean([answer_table[n] for n in train], axis=0)))
        out["answer"].setdefault("leave_one_out", {})[held] = {"weight": answer_grid[j], "held_out_answer_hit@1": round(answer_table[held][j], 4)}
    # answer_tie is not fitted (a longer answer always holds the phrase more
    # often): 0.02 is about the cosine noise of int8 against fp32; every value is shown.
    out["answer"]["answer_tie"] = {}
    for tie in (-1.0, 0.01, 0.02, 0.03, 0.05):
        figures = {n: answer_figures(pools[n], replace(chosen, answer_tie=tie)) for n in names}
        out["answer"]["answer_tie"][str(tie)] = {n: {"answer_hit@1": round(h, 4), "mean_chars": round(c)} for n, (h, c) in figures.items()}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
