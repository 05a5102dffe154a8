"""Ranking experiments on every dev set at once, from the indexes quality.py built. Not a test.

    python benchmarks/ranking_lab.py terms   [--work /tmp/vraagbaak-quality]   # BM25 analysers, lexical + hybrid
    python benchmarks/ranking_lab.py fusion  [--work ...]                      # leave-one-set-out fit + ablations
    python benchmarks/ranking_lab.py rates   [--work ...]                      # the no-match rule, calibrated
    python benchmarks/ranking_lab.py recall  [--work ...]                      # paraphrase recall: Rocchio, document context

Reads the working tree's indexes (WORK/tree/<set>-default, made by
``quality.py``) and ranks with this checkout's ``Searcher``. ``terms``
swaps the BM25 side for an in-memory one with another analyser (old terms:
title always, no compounds; compounds from wordfreq; from Debian's
hunspell-nl word list), so analysers are compared on the same vectors
without rebuilding. ``fusion`` takes hybrid mode's candidate pool of every
question once (``Searcher.candidates``) and scores fusions in numpy: for
each set, the settings best on the *other* sets (each set counting once)
scored on it, and every term left out in turn. Law-text is self-retrieval
(the query's own article is the one right answer).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from quality import SETS, judge, read_set  # noqa: E402
from vraagbaak import Index, compounds  # noqa: E402
from vraagbaak.chunking import ChunkingSettings, looks_like_title, passage_context  # noqa: E402
from vraagbaak.evaluate import normalise  # noqa: E402
from vraagbaak.lexical import idf, passage_terms, question_terms, stored_scores, term_length, term_list  # noqa: E402
from vraagbaak.search import Features, RankingSettings, choose_answer, fuse, one_per_stretch  # noqa: E402

# ------------------------------------------------------------ BM25 analysers


def old_terms(p) -> str:
    """Round 3's passage terms: the title always, the heading unless the passage starts with it, no compounds."""
    context = []
    if p.heading and p.heading != p.title and not p.text.lstrip("# ").startswith(p.heading):
        context.append(p.heading)
    return passage_terms(f"{p.title}\n" + "\n".join(context), p.text, compounds=False)


def context_terms(compound: bool, parts_lengthen: bool = False):
    def terms(p) -> str:
        lines = passage_context(p.title, p.heading, p.text, ChunkingSettings())
        stored = passage_terms("\n".join(lines), p.text, compounds=compound)
        return " ".join(term_list(stored)) if parts_lengthen else stored  # without the mark every part counts in the length
    return terms


def hunspell_words() -> dict[str, float]:
    """Debian hunspell-nl's word list (lemmas, no frequencies): every word counts 1."""
    from bm25s.stopwords import STOPWORDS_DUTCH

    words = {}
    for line in Path("/usr/share/hunspell/nl.dic").read_text(encoding="utf-8").splitlines()[1:]:
        w = line.split("/")[0].strip().lower()
        if len(w) >= compounds.MIN_HEAD and w.isalpha() and w not in STOPWORDS_DUTCH:
            words[w] = 1.0
    return words


class LexicalOverlay:
    """A store whose BM25 side is held in memory with other passage terms."""

    def __init__(self, store, terms_of):
        self._store = store
        rows = np.flatnonzero(store.alive)
        self._terms = {}
        for lo in range(0, len(rows), 2000):
            for p in store.passages(rows[lo:lo + 2000]):
                if p is not None:
                    self._terms[p.id] = terms_of(p)
        self._df = Counter(t for stored in self._terms.values() for t in set(term_list(stored)))
        self._postings: dict[str, list[int]] = {}
        for row, stored in self._terms.items():
            for t in set(term_list(stored)):
                self._postings.setdefault(t, []).append(row)
        self._n = len(self._terms)
        self._mean = sum(term_length(t) for t in self._terms.values()) / max(self._n, 1)

    def __getattr__(self, name):
        return getattr(self._store, name)

    def lexical_stats(self, terms):
        return {t: self._df[t] for t in set(terms) if self._df.get(t)}, self._n, self._mean

    def bm25(self, terms, rows, passages):
        df, n, mean = self.lexical_stats(terms)
        return stored_scores(terms, [self._terms.get(int(r), "") for r in rows], df, n, mean)

    def lexical_candidates(self, terms, limit, within=None, *, pool=False):
        df, n, _ = self.lexical_stats(terms)
        scores = Counter()
        for term, count in Counter(t for t in terms if t in df).items():
            for row in self._postings[term]:
                scores[row] += count * idf(df[term], n)
        return np.array([r for r, _ in scores.most_common(limit)], np.int64)


ANALYSERS = {  # name -> (passage terms, question compounds, vocabulary)
    "round 3 (title always, no compounds)": (old_terms, False, None),
    "context only (no compounds)": (context_terms(False), False, None),
    "context + compounds (wordfreq), parts lengthen": (context_terms(True, parts_lengthen=True), True, "wordfreq"),
    "context + compounds (wordfreq)": (context_terms(True), True, "wordfreq"),
    "context + compounds (hunspell-nl), parts lengthen": (context_terms(True, parts_lengthen=True), True, "hunspell"),
}


def use_vocabulary(name: str | None) -> None:
    compounds.split_compound.cache_clear()
    compounds._words = hunspell_words() if name == "hunspell" else None


# ------------------------------------------------------------ evaluation


def open_set(name: str, work: Path):
    """The working tree's index of a set (built, or brought up to date, where quality.py keeps it) and its questions."""
    index = Index.build(SETS[name][0], work / "tree" / f"{name}-default", progress=False, ranking=RankingSettings())
    return index, read_set(SETS[name][1])


def mode_metrics(index, questions, mode: str) -> dict:
    firsts, answers = [], []
    for q in questions:
        hits = index.search(q["query"], k=10, mode=mode, answers=1)
        j = judge(q, hits)
        firsts.append(j["first"])
        if j["answer"] is not None:
            answers.append(j["answer"])
    return summary(firsts, answers)


def summary(firsts, answers=()) -> dict:
    n = len(firsts)
    return {"mrr@10": round(sum(1 / f for f in firsts if f) / n, 4), "hit@1": round(sum(f == 1 for f in firsts) / n, 4),
            "answer_hit@1": round(sum(answers) / len(answers), 4) if answers else None}


def terms_experiment(names: list[str], work: Path, only: str | None = None) -> dict:
    out = {}
    for analyser, (terms_of, question_compounds, vocabulary) in ANALYSERS.items():
        if only and only not in analyser:
            continue
        use_vocabulary(vocabulary)
        out[analyser] = {}
        for name in names:
            index, questions = open_set(name, work)
            searcher = index._searcher
            searcher.store = LexicalOverlay(index.store, terms_of)
            searcher.compounds = question_compounds
            out[analyser][name] = {mode: mode_metrics(index, questions, mode)["mrr@10"] for mode in ("lexical", "hybrid")}
            print(analyser, name, out[analyser][name], file=sys.stderr, flush=True)
    use_vocabulary(None)
    return out


# ------------------------------------------------------------ fusion


@dataclass
class Pool:
    features: Features
    hit: np.ndarray
    answers: dict
    has_answer: bool
    spans: list  # (source, start, end) per candidate


def distinct(order: np.ndarray, spans: list, hit: np.ndarray) -> np.ndarray:
    """Passage hits of the first 10 hits once overlapping passages are joined or dropped (``search.one_per_stretch``)."""
    from types import SimpleNamespace

    ranked = [SimpleNamespace(source=spans[i][0], start=spans[i][1], end=spans[i][2]) for i in order[:40]]
    kept, joined = one_per_stretch(ranked)
    return np.array([hit[order[k]] or (k in joined and hit[order[joined[k]]]) for k in kept[:10]], bool)


def pools_of(name: str, work: Path) -> list[Pool]:
    index, questions = open_set(name, work)
    searcher = index._searcher
    searcher.settings = replace(searcher.settings, neighbour_weight=1.0)  # so that the pool carries every feature
    pools = []
    for q in questions:
        terms = question_terms(q["query"], compounds=searcher.compounds, passages_holding=lambda stems: searcher.store.lexical_stats(stems)[0])
        vector = searcher.embedder.embed_queries([q["query"]])[0]
        found, features = searcher.candidates(terms, vector)
        phrase = normalise(q["answer"]) if q["answer"] else None
        hit = np.array([p.source in q["sources"] and (phrase is None or phrase in normalise(p.text)) for p in found.passages], bool)
        weights = searcher._term_weights(terms)
        answers = {int(i): (p, found.sentence_sims[i], weights, q["answer"])  # the answer is chosen from the whole passage, not its head
                   for i, p in zip(np.flatnonzero(hit), searcher.store.passages(found.rows[hit])) if q["answer"]}
        pools.append(Pool(features, hit, answers, q["answer"] is not None, [(p.source, p.start, p.end) for p in found.passages]))
    return pools


def mrr(pools: list[Pool], settings: RankingSettings) -> float:
    total = 0.0
    for pool in pools:
        first = np.flatnonzero(distinct(np.argsort(-fuse(pool.features, settings), kind="stable"), pool.spans, pool.hit))
        total += 1.0 / (first[0] + 1) if len(first) else 0.0
    return total / len(pools)


def answer_hit(pools: list[Pool], settings: RankingSettings) -> float:
    hits = counted = 0
    for pool in pools:
        if not pool.has_answer:
            continue
        counted += 1
        top = int(np.argmax(fuse(pool.features, settings))) if len(pool.hit) else -1
        if top in pool.answers:
            passage, sims, weights, phrase = pool.answers[top]
            a, b = choose_answer(passage, sims, settings, weights)
            hits += normalise(phrase) in normalise(passage.text[a - passage.start: b - passage.start])
    return hits / counted if counted else 0.0


TERMS = ("lexical_weight", "sentence_weight", "lead_weight", "neighbour_weight")


GRIDS = {  # fusion -> (lexical, sentence, lead, neighbour) weights tried
    "weighted": ((0.0, 0.03, 0.05, 0.08, 0.12, 0.2), (0.0, 0.1, 0.25, 0.4), (0.0, 0.02, 0.04), (0.0, 0.1, 0.2)),
    "zscore": ((0.0, 0.1, 0.2, 0.3, 0.5, 0.75), (0.0, 0.25, 0.5, 1.0), (0.0, 0.25, 0.5), (0.0, 0.25, 0.5)),
    "rrf": ((0.0, 0.25, 0.5, 1.0), (0.0, 0.5, 1.0), (0.0, 0.5), (0.0, 0.5)),
}


def grid(fusions) -> list[RankingSettings]:
    return [RankingSettings(fusion=f, lexical_weight=lw, sentence_weight=sw, lead_weight=ld, neighbour_weight=nw)
            for f in fusions for lw, sw, ld, nw in itertools.product(*GRIDS[f])]


def describe(s: RankingSettings) -> str:
    return f"{s.fusion}: " + ", ".join(f"{k.removesuffix('_weight')} {getattr(s, k)}" for k in TERMS)


def fusion_experiment(names: list[str], work: Path, fusions: list[str]) -> dict:
    pools = {name: pools_of(name, work) for name in names}
    candidates = grid(fusions)
    table = {name: np.array([mrr(pools[name], c) for c in candidates]) for name in names}
    default = RankingSettings()
    out = {"grid": len(candidates), "default": {n: round(mrr(pools[n], default), 4) for n in names}, "leave_one_out": {}}
    for held in names:
        train = [n for n in names if n != held]
        i = int(np.argmax(np.mean([table[n] for n in train], axis=0)))
        out["leave_one_out"][held] = {"chosen": describe(candidates[i]), "held_out": round(float(table[held][i]), 4),
                                      "default": out["default"][held], "best_possible": round(float(table[held].max()), 4)}
    i = int(np.argmax(np.mean([table[n] for n in names], axis=0)))
    chosen = candidates[i]
    out["chosen_on_all"] = {"settings": describe(chosen), "mrr@10": {n: round(float(table[n][i]), 4) for n in names},
                            "answer_hit@1": {n: round(answer_hit(pools[n], chosen), 4) for n in names}}
    out["ablation"] = {}
    for term in TERMS:
        without = replace(chosen, **{term: 0.0})
        out["ablation"][term] = {n: round(mrr(pools[n], without) - float(table[n][i]), 4) for n in names}
    print(json.dumps(out, indent=1))
    return out


# ------------------------------------------------------------ paraphrase recall


class VectorOverlay:
    """A store whose passage vectors are replaced (exact search over them, in memory)."""

    def __init__(self, store, vectors: np.ndarray):
        self._store, self._vectors = store, vectors

    def __getattr__(self, name):
        return getattr(self._store, name)

    def dense_search(self, query, k, within=None):
        scores = self._vectors @ np.asarray(query, np.float32)
        scores[~self._store.alive] = -np.inf
        order = np.argsort(-scores, kind="stable")[:k]
        return scores[order].astype(np.float32), order.astype(np.int64)

    def dense_scores(self, query, rows):
        rows = np.asarray(rows, np.int64)
        return self._vectors[rows] @ np.asarray(query, np.float32) if len(rows) else np.zeros(0, np.float32)


def with_document_context(store, weight: float) -> np.ndarray:
    """Each passage vector plus ``weight`` x its document's mean vector, normalised."""
    vectors = np.asarray(store.vectors, np.float32).copy()
    for record in store.document_records.values():
        rows = slice(record.first_row, record.first_row + record.rows)
        vectors[rows] += weight * vectors[rows].mean(axis=0)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


class Rocchio:
    """The question vector moved toward its top passages (pseudo-relevance feedback):
    q + beta x mean of the ``top`` nearest passage vectors, normalised."""

    def __init__(self, embedder, store, beta: float, top: int = 3):
        self._embedder, self._store, self.beta, self.top = embedder, store, beta, top

    def __getattr__(self, name):
        return getattr(self._embedder, name)

    def embed_queries(self, texts):
        out = []
        for q in self._embedder.embed_queries(texts):
            _, rows = self._store.dense_search(q, self.top)
            moved = q + self.beta * np.asarray(self._store.vectors[rows], np.float32).mean(axis=0)
            out.append(moved / np.linalg.norm(moved))
        return np.vstack(out).astype(np.float32)


def recall_experiment(names: list[str], work: Path) -> dict:
    """hybrid mrr@10 (default ranking) and dense mrr@10 with each variant, per set and question kind."""
    variants = {"as is": None, "rocchio 0.3 top 3": ("rocchio", 0.3), "rocchio 0.6 top 3": ("rocchio", 0.6),
                "document context 0.3": ("context", 0.3), "document context 0.6": ("context", 0.6)}
    out = {}
    for name in names:
        index, questions = open_set(name, work)
        searcher, store = index._searcher, index.store
        embedder = searcher.embedder
        kinds = sorted({q["kind"] for q in questions if q["kind"]})
        for variant, how in variants.items():
            searcher.store, searcher._embedder = store, embedder
            if how and how[0] == "rocchio":
                searcher._embedder = Rocchio(embedder, store, how[1])
            elif how:
                searcher.store = VectorOverlay(store, with_document_context(store, how[1]))
            row = {}
            for mode in ("hybrid", "dense"):
                firsts = {q["query"]: judge(q, index.search(q["query"], k=10, mode=mode, answers=0))["first"] for q in questions}
                row[mode] = summary(list(firsts.values()))["mrr@10"]
                for kind in kinds:
                    row[f"{mode} {kind}"] = summary([firsts[q["query"]] for q in questions if q["kind"] == kind])["mrr@10"]
            out.setdefault(name, {})[variant] = row
            print(name, variant, row, file=sys.stderr, flush=True)
        searcher.store, searcher._embedder = store, embedder
    print(json.dumps(out, indent=1))
    return out


# ------------------------------------------------------------ no-match rule


def evidence(name: str, work: Path) -> tuple[list, list]:
    """The page's hits (k=5, hybrid) with split_weak's evidence (cosine, coverage, best sentence), for the
    set's questions and the off-topic ones (none for a set whose corpus another set already asks them of)."""
    index, questions = open_set(name, work)
    off_topic = [line.strip() for line in (SETS["seeds"][1].parent / "off-topic.txt").read_text(encoding="utf-8").splitlines() if line.strip()]
    asked_elsewhere = any(SETS[other][0] == SETS[name][0] for other in SETS if other != name and list(SETS).index(other) < list(SETS).index(name))

    def of(question):
        return [(h.similarity, h.coverage or 0.0, -1.0 if h.best_sentence is None else h.best_sentence)
                for h in index.search(question, k=5, answers=0)]

    return [of(q["query"]) for q in questions], [] if asked_elsewhere else [of(q) for q in off_topic]


def answers(sim: float, cov: float, sentence: float, rule: RankingSettings) -> bool:
    """``search._answers`` on the evidence of one hit."""
    if sim >= rule.no_match_similarity:
        return True
    return sim >= rule.no_match_floor and (sentence >= rule.no_match_sentence or cov >= rule.no_match_coverage)


def turned_away(hits: list, settings: RankingSettings) -> bool:
    return not any(answers(*hit, settings) for hit in hits)


def rule_grid() -> list[RankingSettings]:
    """Cosine alone; or with a floor, a sentence that reaches its own bar and/or the question's rare terms found together."""
    return [RankingSettings(no_match_similarity=t, no_match_sentence=s, no_match_coverage=c, no_match_floor=f)
            for t in np.arange(0.80, 0.871, 0.005).round(3) for c in (0.4, 0.5, 0.6, 0.7, 1.01)
            for f in (0.78, 0.79, 0.80, 0.81, 0.82) for s in (0.83, 0.835, 0.84, 0.845, 0.85, 0.86, 0.87, 9.0) if f < t]


def rates_experiment(names: list[str], work: Path) -> dict:
    """Per rule: answerable questions turned away (each set, and all) and off-topic ones turned away (asked of every corpus).

    The rule chosen is the most lenient one (the most of the answerable questions' top-5 hits
    shown as answers: a short note's one passage must not be turned away) that still turns
    away at least 80% of the off-topic questions on every corpus and at most 1% of every
    set's answerable questions. Leaving one set out: the rule chosen with the others'
    answerable questions, and what it does to the held-out set's.
    """
    cache = work / "lab-evidence-v5.json"  # (cosine, coverage, best sentence) per hit
    found = json.loads(cache.read_text()) if cache.is_file() else {}
    for name in names:
        if name not in found:
            found[name] = evidence(name, work)
            cache.write_text(json.dumps(found))
    labelled = [n for n in names if n != "law-text"]
    corpora = [n for n in names if found[n][1]]

    def rates(rule, sets):
        away = {n: round(float(np.mean([turned_away(h, rule) for h in found[n][0]])), 4) for n in sets}
        off = {n: round(float(np.mean([turned_away(h, rule) for h in found[n][1]])), 4) for n in corpora}
        shown = float(np.mean([sum(answers(*hit, rule) for hit in h) for n in sets for h in found[n][0]]))
        return away, off, shown

    def choose(sets):
        best = None
        for rule in rule_grid():
            away, off, shown = rates(rule, sets)
            if max(away.values()) <= 0.01 and min(off.values()) >= 0.80 and (best is None or shown > best[1] + 1e-12):
                best = (rule, shown)
        return best[0] if best else RankingSettings()

    def show(rule):
        return {"similarity": rule.no_match_similarity, "sentence": rule.no_match_sentence, "coverage": rule.no_match_coverage,
                "floor": rule.no_match_floor}

    previous = RankingSettings(no_match_sentence=9.0, no_match_coverage=0.6, no_match_floor=0.82)
    out = {"previous rule (cosine 0.83, or coverage 0.6 from 0.82)": dict(zip(("answerable away", "off-topic away", "answer hits shown of 5"), rates(previous, names)))}
    chosen = choose(labelled)
    out["chosen on every labelled set"] = {"rule": show(chosen), **dict(zip(("answerable away", "off-topic away", "answer hits shown of 5"), rates(chosen, names)))}
    out["today's default"] = {"rule": show(RankingSettings()), **dict(zip(("answerable away", "off-topic away", "answer hits shown of 5"), rates(RankingSettings(), names)))}
    out["leave one set out"] = {}
    for held in labelled:
        rule = choose([n for n in labelled if n != held])
        away, off, _ = rates(rule, [held])
        out["leave one set out"][held] = {"rule": show(rule), "held-out answerable turned away": away[held]}
    print(json.dumps(out, indent=1, default=str))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", choices=("terms", "fusion", "rates", "recall"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/vraagbaak-quality"))
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--fusions", default="weighted")
    parser.add_argument("--only", default=None, help="terms: only the analysers whose name holds this")
    args = parser.parse_args()
    names = args.sets.split(",")
    if args.experiment == "terms":
        print(json.dumps(terms_experiment(names, args.work, args.only), indent=1))
    elif args.experiment == "rates":
        rates_experiment(names, args.work)
    elif args.experiment == "recall":
        recall_experiment(names, args.work)
    else:
        fusion_experiment(names, args.work, args.fusions.split(","))


if __name__ == "__main__":
    main()
