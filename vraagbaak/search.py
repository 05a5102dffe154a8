"""Ranking passages for a question, and choosing the sentence that answers it.

Three modes share one result type:

- ``dense``: cosine similarity of e5 embeddings (exact, or HNSW for large stores);
- ``lexical``: Dutch BM25 (``lexical.py``);
- ``hybrid`` (default): a pool of the nearest passages by e5 cosine and the
  passages richest in the question's rare terms, ranked by ``fuse`` (the
  cosine plus small bounded bonuses for BM25, the best single sentence, the
  passages beside it and a short document's opening passage; or
  reciprocal-rank fusion, or the signals standardised per question), with
  weights chosen by cross-validation over dev sets of different shapes
  (BENCHMARKS.md).

Overlapping passages of a document become one hit (``one_per_stretch``), and
``split_weak`` divides a result list into answers and weak matches.

A question touches only what it needs: the store's nearest passages and
lexical candidates, then the texts, sentence vectors and BM25 scores of those
candidates alone.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace

import numpy as np

from . import messages
from .cpu import PRECISION_ENV
from .embeddings import AGREEMENT, DEFAULT_MODEL, Embedder, backend_choice, probe_agreement
from .errors import IndexLoadError, VraagbaakError
from .lexical import idf, question_terms, term_list, tokenize
from .stores import build_command
from .stores.base import Passage, PassageHead, StoreReader

__all__ = [
    "FUSIONS",
    "Features",
    "Hit",
    "RankingSettings",
    "Searcher",
    "MODES",
    "MAX_QUESTION_CHARS",
    "NO_MATCH_SIMILARITY",
    "NO_MATCH_SIMILARITY_FP32",
    "STRONG_MATCH_SIMILARITY",
    "match_words",
    "relevance",
    "check_question",
    "choose_answer",
    "fuse",
    "looks_like_contents",
    "contents_flags",
    "best_of_each",
    "hit_to_json",
    "split_weak",
    "one_per_stretch",
    "join_passages",
    "RANKING_VERSION",
]

MODES = ("hybrid", "dense", "lexical")
MAX_QUESTION_CHARS = 1000
WARM_UP_QUESTION = "Waar kan ik terecht met een vraag over mijn uitkering?"  # a typical question: its token count is the common case
# Below this e5 cosine (question vs. best passage) nothing in the corpus answers
# the question. Calibrated with benchmarks/calibrate_no_match.py on ../shared/eval:
# the best passages of the 20 seed questions over the default corpus score
# 0.834-0.927 (lowest: the English question), those of the 500 rijksoverheid
# questions over their own corpus at least 0.849; asked of the social-work
# corpus, which cannot answer them, the rijksoverheid questions score up to
# 0.874, and 0.83 turns away 350 of the 500 while keeping every answerable one. e5 cosines are compressed
# (unrelated Dutch texts still score ~0.75), so no threshold separates all.
# Round 4 (issue 37) recalibrated the rule on every dev set's answerable questions
# and 60 off-topic ones (benchmarks/ranking_lab.py rates); the cosine alone stays
# 0.83, and a passage one of whose sentences reaches 0.83 passes from 0.81 (a
# question in other words than the text matches the sentence that answers it better
# than the passage around it): split_weak.
NO_MATCH_SIMILARITY = 0.83
# fp32 vectors (OpenVINO fp32 on a CPU without VNNI, or torch) give off-topic questions
# slightly higher cosines than int8 ones: with the int8 rule the FAQ corpus turned away
# 73% of them. The same procedure on fp32 indexes of the five labelled sets (law-text
# was not rebuilt in fp32) keeps the sentence clause and moves the cosine alone to 0.84
# (0% answerable turned away, 80-100% off-topic): BENCHMARKS.md.
NO_MATCH_SIMILARITY_FP32 = 0.84
# Relevance in words for the page and the CLI. The right first hits of the 20
# seed questions (int8, hybrid) score 0.834-0.925, median 0.86: from 0.87 a
# passage is among the closest matches seen there ("sterke overeenkomst").
STRONG_MATCH_SIMILARITY = 0.87


FUSIONS = ("weighted", "zscore", "rrf")
# The version of the ranking rules and defaults below. An index records the
# settings it was built with; one recorded by another version is ranked with
# this version's defaults for every term (its recorded weights were chosen
# for other rules), see ``RankingSettings.recorded``.
RANKING_VERSION = 5  # 5: the lead bonus only near the best cosine, documents up to 12 passages


@dataclass(frozen=True)
class RankingSettings:
    """Every ranking knob in one place; the values and how they were chosen are
    explained at ``fuse`` and ``choose_answer`` below and in BENCHMARKS.md.
    A build records them in the index, and ``Index.load`` uses the recorded ones
    unless given others."""

    dense_candidates: int = 200  # nearest passages by e5 cosine, in hybrid mode's pool
    lexical_candidates: int = 100  # passages richest in the question's rare terms, added to the pool
    fusion: str = "weighted"  # FUSIONS: "weighted" (cosine + bounded bonuses) or "rrf" (reciprocal ranks)
    lexical_weight: float = 0.03  # passage BM25, scaled by the best BM25 in the pool
    sentence_weight: float = 0.25  # the passage's best single-sentence cosine
    lead_weight: float = 0.04  # a document's opening passage ...
    lead_max_passages: int = 12  # ... in a document of at most this many passages (a report opens with a cover and contents) ...
    lead_within: float = 0.03  # ... whose own cosine is within this of the pool's best: never over a clearly closer passage
    neighbour_weight: float = 0.1  # the best e5 cosine of the passages just before and after it in its document
    rrf_k: float = 60.0  # "rrf": 1/(rrf_k + rank) per signal (Cormack et al. 2009)
    answer_lead_bonus: float = 0.02  # a passage's first sentence, when choosing the answer
    answer_lexical_weight: float = 0.05  # share of the question's term weight (IDF) a sentence holds, when choosing the answer
    short_sentence: int = 60  # characters: shorter answer sentences are shown with the next one
    answer_tie: float = 0.02  # the sentence before or after joins the answer when its cosine is within this of the answer's
    no_match_similarity: float = NO_MATCH_SIMILARITY  # from this e5 cosine a hit answers, whatever else (split_weak)
    # ... or, with at least the floor's cosine, when one of its sentences reaches this cosine, or when
    # the passage holds this share of the question's term weight (IDF; > 1: never). Calibrated with
    # benchmarks/ranking_lab.py rates on every dev set (BENCHMARKS.md, round 4): with the sentence
    # clause, the coverage clause (0.6 before it) no longer admits anything the off-topic side allows.
    no_match_sentence: float = 0.83
    no_match_coverage: float = 1.01
    no_match_floor: float = 0.81
    version: int = RANKING_VERSION

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "RankingSettings":
        """Settings recorded by a build (keys this version does not know are ignored)."""
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in values.items() if k in known})

    def for_vectors(self, backend: str) -> "RankingSettings":
        """These settings for an index whose vectors ``backend`` made ("openvino-int8",
        "openvino-fp32", "torch", "" for a registered embedder): the no-match cosine
        calibrated on fp32 cosines for fp32 vectors, unless it was set to another value."""
        fp32 = backend in ("openvino-fp32", "torch")
        if fp32 and self.no_match_similarity == NO_MATCH_SIMILARITY:
            return replace(self, no_match_similarity=NO_MATCH_SIMILARITY_FP32)
        return self

    @classmethod
    def recorded(cls, values: dict | None) -> "RankingSettings":
        """The settings to rank an index with, from what its build recorded: those,
        when this version of the rules recorded them; else this version's defaults
        (an earlier version's weights fit its own rules, not these)."""
        if not values or values.get("version") != RANKING_VERSION:
            return cls()
        return cls.from_dict(values)


@dataclass
class Hit:
    rank: int
    score: float  # the ranking score: cosine (dense), cosine plus bonuses (hybrid), BM25 (lexical)
    source: str  # file name relative to the corpus folder
    title: str
    text: str
    start: int  # offsets of the passage in the source text
    end: int
    heading: str = ""
    answer: str = ""  # the sentence of the passage that best answers the question
    answer_start: int = -1  # its offsets in the source text
    answer_end: int = -1
    id: str = ""  # "<source>#<row>"
    similarity: float | None = None  # e5 cosine of question and passage (None in lexical mode)
    page: int | None = None  # PDF page of the answer (else of the passage start); None for formats without pages
    also_in: tuple[str, ...] = ()  # other files with the same content (copies), shown once as this hit
    date: str = ""  # the day its document was made, ISO "2024-03-12" (``DocumentRecord.date``; ``dates.dutch_date`` says it in Dutch)
    # The evidence ``split_weak`` weighs (None where the mode has none):
    best_sentence: float | None = None  # the best e5 cosine of one of its sentences
    coverage: float | None = None  # share of the question's term weight (IDF) the passage holds (its rare terms found together)
    weak: bool | None = None  # set by split_weak: a weak match rather than an answer

    def to_dict(self) -> dict:
        return asdict(self)


JSON_KEYS = ("rank", "score", "similarity", "source", "title", "date", "heading", "page", "text", "start", "end", "answer",
             "answer_start", "answer_end", "also_in")


def hit_to_json(hit: Hit, link: str | None = None) -> dict:
    """The one JSON form of a hit: ``ask --json``, the page's /search API and eval use it.

    ``link``: where the source opens at the hit's page (``sources.link``), when the caller knows.
    """
    out = {key: getattr(hit, key) for key in JSON_KEYS}
    out["also_in"] = list(hit.also_in)
    if link is not None:
        out["link"] = link
    return out


def relevance(hit: Hit, no_match: float = NO_MATCH_SIMILARITY) -> str:
    """How well a hit matches, as the page and ``vraagbaak ask`` both show it: the words of
    ``match_words`` and the e5 cosine of question and passage, Dutch style ("sterke overeenkomst, 0,87").

    The cosine, not the ranking score: the score adds bonuses that only order one
    question's hits, while the cosine is the one number that means the same for every
    question (and decides ``split_weak``). Two decimals, not a percentage: e5's cosines
    are compressed (an unrelated Dutch passage still scores about 0.75), so "75%" would
    read as a probability it is not. A lexical hit has no cosine: its BM25 score, named.
    """
    if hit.similarity is None:
        return f"{match_words(hit, no_match)}, BM25 {hit.score:.2f}".replace(".", ",")
    return f"{match_words(hit, no_match)}, {hit.similarity:.2f}".replace(".", ",")


def check_question(question) -> str:
    # In Dutch, the language of the people who ask: the page shows these as they are.
    if not isinstance(question, str) or not question.strip():
        raise VraagbaakError(messages.EMPTY_QUESTION)
    question = " ".join(question.split())
    if len(question) > MAX_QUESTION_CHARS:
        raise VraagbaakError(messages.question_too_long(len(question), MAX_QUESTION_CHARS))
    return question


def split_weak(hits: list[Hit], settings: RankingSettings) -> tuple[list[Hit], list[Hit]]:
    """(answers, weak matches): both ranked from 1 in their own list.

    A hit answers when its e5 cosine reaches ``no_match_similarity``, or when
    its cosine reaches ``no_match_floor`` and one of its sentences reaches
    ``no_match_sentence`` (the sentence that answers a question asked in other
    words) or its passage holds ``no_match_coverage`` of the question's term
    weight (its rare terms found together; off by default). No answer: nothing in the corpus answers the question
    well (the weak matches may still be shown, folded). Lexical hits carry no
    cosine and are all answers. The caller's hits are left as they were; each
    returned hit says which it is in ``weak``. Calibrated on the answerable
    questions of every dev set and on off-topic questions (BENCHMARKS.md).
    """
    answers, weak = [], []
    for h in hits:
        (answers if _answers(h, settings) else weak).append(h)
    return ([replace(h, rank=rank, weak=False) for rank, h in enumerate(answers, start=1)],
            [replace(h, rank=rank, weak=True) for rank, h in enumerate(weak, start=1)])


def _answers(hit: Hit, settings: RankingSettings) -> bool:
    if hit.similarity is None or hit.similarity >= settings.no_match_similarity:
        return True
    if hit.similarity < settings.no_match_floor:
        return False
    sentence = hit.best_sentence is not None and hit.best_sentence >= settings.no_match_sentence
    return sentence or (hit.coverage is not None and hit.coverage >= settings.no_match_coverage)


def match_words(hit: "Hit", no_match: float = NO_MATCH_SIMILARITY) -> str:
    """How well a hit matches, in words a reader understands (the number stays available as ``hit.similarity``)."""
    if hit.similarity is None:
        return "overeenkomst in woorden"  # lexical mode: BM25 has no scale of its own
    if hit.weak:
        return "zwakke overeenkomst"
    if hit.similarity >= max(STRONG_MATCH_SIMILARITY, no_match):
        return "sterke overeenkomst"
    return "redelijke overeenkomst" if hit.similarity >= no_match or hit.weak is False else "zwakke overeenkomst"


@dataclass
class Features:
    """What hybrid ranking knows of each candidate passage (arrays over the same candidates)."""

    dense: np.ndarray  # e5 cosine of question and passage
    lexical: np.ndarray  # BM25 of the passage (title and heading included) for the question's terms
    best_sentence: np.ndarray  # the best cosine of any one sentence of the passage (-1: none)
    lead: np.ndarray  # 1.0 for a document's opening passage
    document_passages: np.ndarray | None = None  # passages in the candidate's document (None: not known; lead counts always)
    neighbour: np.ndarray | None = None  # best e5 cosine of the passages beside it in its document (its own when it has none)
    contents: np.ndarray | None = None  # 1.0 for a table of contents (``looks_like_contents``)


@dataclass
class _Candidates:
    """Passages under consideration for one question, with what ranking needs of them."""

    rows: np.ndarray
    passages: list[PassageHead] | list[Passage]  # heads while ranking (``StoreReader.passage_heads``), whole once shown
    scores: np.ndarray  # the ranking score
    similarities: np.ndarray | None  # e5 cosines (None in lexical mode)
    sentence_sims: list[np.ndarray] | None = None

    def keep(self, order) -> "_Candidates":
        sims = None if self.similarities is None else self.similarities[order]
        sentence = None if self.sentence_sims is None else [self.sentence_sims[i] for i in order]
        return _Candidates(self.rows[order], [self.passages[i] for i in order], self.scores[order], sims, sentence)


class Searcher:
    """Ranks a store's passages; ``store`` is a ``LocalStore`` or a ``MilvusStore``
    (they answer the same calls, ``stores.base.StoreReader``)."""

    def __init__(self, store: StoreReader, embedder_loader, settings: RankingSettings = RankingSettings()):
        self.store = store
        self.settings = settings
        self._embedder_loader = embedder_loader  # called on the first search that needs the model
        self._embedder: Embedder | None = None
        self._copies: tuple[object, dict[str, str]] = (None, {})  # (the document records it was computed from, copies)
        # questions are tokenized as the index's passages were (an index of an earlier version has no compound parts)
        self.compounds = bool((store.config.chunking or {}).get("lexical_terms"))

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            try:
                embedder = self._embedder_loader()
            except IndexLoadError:
                raise
            except VraagbaakError as exc:
                model, root = self.store.config.model, self.store.root
                raise IndexLoadError(messages.index_model_not_loadable(root, model, exc, build_command(root, "--model", DEFAULT_MODEL))) from exc
            check_embedder(self.store, embedder)
            self._embedder = embedder
        return self._embedder

    def warm_up(self) -> None:
        """Do now what the first question would otherwise wait for: load the
        model and run it once (OpenVINO builds its kernels per input shape),
        and load the stemmer, stop words and compound word list (measured: the first
        search took 248 ms against 26 ms for the next, 157 ms of it importing bm25s)."""
        self.embedder.embed_queries([WARM_UP_QUESTION])
        tokenize([WARM_UP_QUESTION], compounds=self.compounds)

    def reuse_from(self, other: "Searcher") -> None:
        """Take over an already loaded model (after an update of the same index)."""
        if other._embedder is not None and self._embedder is None:
            check_embedder(self.store, other._embedder)
            self._embedder = other._embedder

    def search(self, question: str, k: int = 5, mode: str = "hybrid", within: frozenset[str] | None = None,
               answers: int | None = None) -> list[Hit]:
        """Top ``k`` passages of the documents ``within`` (None: all; see ``filters.scope``);
        ``answers`` = how many of them get an answer sentence (default all)."""
        question = check_question(question)
        if mode not in MODES:
            raise VraagbaakError(messages.unknown_mode(mode, MODES))
        if not isinstance(k, int) or not 1 <= k <= 100:
            raise VraagbaakError(messages.K_OUT_OF_RANGE)
        if within is not None and not within:
            return []  # the filters leave no document
        n_answers = k if answers is None else min(answers, k)
        terms = question_terms(question, compounds=self.compounds, passages_holding=lambda stems: self.store.lexical_stats(stems)[0])
        query_vector = None
        if mode != "lexical" or n_answers:  # lexical ranking needs no model; its answers do
            query_vector = self.embedder.embed_queries([question])[0]
        copies = self.copies()
        wanted = k
        while True:  # copies of a file, and overlapping passages, fold into one hit: ask for more until k distinct ones are found
            found = self._ranked(mode, terms, query_vector, wanted, within)
            folded, also_in = _fold_copies(found, copies)
            kept, joined = one_per_stretch(folded.passages)
            if len(kept) >= k or len(found.rows) < wanted or mode == "hybrid" or wanted >= 16 * k:
                break
            wanted *= 2
        shown = self._shown(folded, kept[:k], joined, query_vector)
        hits = self._hits(shown, query_vector, n_answers, terms)
        for hit, row in zip(hits, shown.rows):
            hit.also_in = also_in.get(int(row), ())
        return hits

    def _ranked(self, mode: str, terms: list[str], query_vector, wanted: int, within) -> _Candidates:
        """The candidates best first: ``wanted`` of them in dense and lexical mode, hybrid's whole pool."""
        if mode == "lexical":
            return self._lexical(terms, wanted, within)
        if mode == "dense":
            return self._dense(query_vector, wanted, within)
        found, features = self.candidates(terms, query_vector, within)
        found.scores = fuse(features, self.settings)
        return found.keep(np.argsort(-found.scores, kind="stable"))

    def copies(self) -> dict[str, str]:
        """source -> the first source (in sorted order) with the same content, for each
        document that is a copy of another; computed once per committed state."""
        records = self.store.document_records
        if self._copies[0] is not records:
            first, copies = {}, {}
            for source, record in sorted(records.items()):
                original = first.setdefault(record.sha256, source)
                if original != source:
                    copies[source] = original
            self._copies = (records, copies)
        return self._copies[1]

    # ------------------------------------------------------------- ranking

    def _shown(self, found: _Candidates, kept: list[int], joined: dict[int, int], query_vector) -> _Candidates:
        """The candidates at positions ``kept`` (of ``one_per_stretch``), read whole, each joined
        with the passage ``joined`` names, with the sentence cosines of both (to choose the answer
        from). Only these few are read whole: ranking needed no more than their heads."""
        sims = found.sentence_sims
        if joined and sims is None and query_vector is not None:
            sims = self.store.sentence_similarities(query_vector, found.rows)  # all of them, as ever: a hit's cosines stay the same
        positions = kept + [joined[i] for i in kept if i in joined]
        whole = {p.id: p for p in (found.passages[i] for i in positions) if isinstance(p, Passage)}  # dense mode read them whole
        unread = [row for row in found.rows[positions].tolist() if row not in whole]
        whole.update(zip(unread, self.store.passages(unread)) if unread else ())
        out = found.keep(np.array(kept, np.int64))
        out.passages = [whole[row] for row in out.rows.tolist()]
        out.sentence_sims = None if sims is None else [sims[i] for i in kept]
        for n, i in enumerate(kept):
            b = whole[int(found.rows[joined[i]])] if i in joined else None
            if b is not None and out.passages[n] is not None:
                a = out.passages[n]
                out.passages[n] = join_passages(a, b)
                if sims is not None:
                    by_span = dict(zip(b.sentences, sims[joined[i]].tolist())) | dict(zip(a.sentences, sims[i].tolist()))
                    out.sentence_sims[n] = np.array([by_span[span] for span in out.passages[n].sentences], np.float32)
        # a passage a build removed since it was ranked (after its commit) is no longer shown
        present = [n for n, p in enumerate(out.passages) if p is not None]
        return out if len(present) == len(out.passages) else out.keep(np.array(present, np.int64))

    def _dense(self, query_vector, k, within) -> _Candidates:
        scores, rows = self.store.dense_search(query_vector, k, within)
        return self._live(rows, scores, scores, whole=True)  # k candidates, about all shown: read once, whole

    def _live(self, rows, scores, similarities, whole: bool = False) -> _Candidates:
        """The candidates whose passages still exist (a row removed by a later build has none), as
        heads (``StoreReader.passage_heads``) or ``whole`` passages."""
        passages = self.store.passages(rows) if whole else self.store.passage_heads(rows)
        live = [i for i, p in enumerate(passages) if p is not None]
        return _Candidates(np.asarray(rows, np.int64), passages, scores, similarities).keep(live)

    def candidates(self, terms: list[str], query_vector, within: frozenset[str] | None = None) -> tuple[_Candidates, Features]:
        """Hybrid mode's pool and what ``fuse`` ranks it by.

        The pool is the union of the nearest passages by e5 cosine and the
        passages richest in the question's rare terms: a passage that BM25
        ranks first but e5 ranks 300th (a specific term on page 17 of a long
        report) is still considered. Every candidate gets both scores. The
        candidates' ``passages`` are heads (``StoreReader.passage_heads``):
        ``store.passages`` reads one whole.
        """
        s = self.settings
        dense_scores, dense_rows = self.store.dense_search(query_vector, s.dense_candidates, within)
        lexical_rows = self.store.lexical_candidates(terms, s.lexical_candidates, within, pool=True) if terms and s.lexical_candidates else []
        extra = np.setdiff1d(np.asarray(lexical_rows, np.int64), np.asarray(dense_rows, np.int64))
        rows = np.concatenate([np.asarray(dense_rows, np.int64), extra])
        scores = np.concatenate([np.asarray(dense_scores, np.float32), self.store.dense_scores(query_vector, extra)]).astype(np.float32)
        found = self._live(rows, scores, scores)
        found.sentence_sims = self.store.sentence_similarities(query_vector, found.rows)
        extents = _document_extents(self.store.document_records, found.passages)
        features = Features(found.similarities, self.store.bm25(terms, found.rows, found.passages), best_of_each(found.sentence_sims),
                            np.asarray(self.store.leads(found.rows), np.float32), document_passages=extents[:, 1].astype(np.float32),
                            contents=contents_flags(found.passages))
        if s.neighbour_weight:
            features.neighbour = self._neighbour_similarities(query_vector, found, extents)
        return found, features

    def _neighbour_similarities(self, query_vector, found: _Candidates, extents: np.ndarray) -> np.ndarray:
        """Per candidate, the best e5 cosine of the passages just before and after
        it in its own document (its own cosine when it has neither)."""
        rows = found.rows
        before = np.where(rows - 1 >= extents[:, 0], rows - 1, -1)
        after = np.where(rows + 1 < extents[:, 0] + extents[:, 1], rows + 1, -1)
        wanted = np.unique(np.concatenate([before, after]))
        wanted = wanted[wanted >= 0]
        # -inf stands for "no neighbour on that side"; every other row is one of ``wanted``, found by bisection
        cosine = np.append(np.asarray(self.store.dense_scores(query_vector, wanted), np.float32), np.float32(-np.inf))
        best = np.full(len(rows), -np.inf, np.float32)
        for side in (before, after):
            best = np.maximum(best, cosine[np.where(side >= 0, np.searchsorted(wanted, side), len(wanted))])
        return np.where(np.isfinite(best), best, found.similarities).astype(np.float32)

    def _lexical(self, terms, k, within) -> _Candidates:
        """BM25 over the whole store: the store finds the passages richest in the
        question's terms (SQLite FTS5, or Milvus's BM25), which are then scored exactly."""
        rows = self.store.lexical_candidates(terms, max(k, self.settings.dense_candidates), within)
        found = self._live(rows, np.zeros(len(rows), np.float32), None)
        found.scores = self.store.bm25(terms, found.rows, found.passages)
        # equal scores in row order, not in the order a store found its candidates: every store ranks alike
        order = [i for i in np.lexsort((found.rows, -found.scores))[:k] if found.scores[i] > 0]
        return found.keep(np.array(order, dtype=np.int64))

    # ------------------------------------------------------------- answers

    def _hits(self, found: _Candidates, query_vector, n_answers: int, terms: list[str]) -> list[Hit]:
        hits = []
        records = self.store.document_records
        for rank, (p, score) in enumerate(zip(found.passages, found.scores), start=1):
            sim = None if found.similarities is None else round(float(found.similarities[rank - 1]), 4)
            record = records.get(p.source)
            hits.append(
                Hit(rank, round(float(score), 4), p.source, p.title, p.text, p.start, p.end, p.heading,
                    id=f"{p.source}#{p.id}", similarity=sim, page=p.page_at(p.start), date=record.date if record else "")
            )
        weights = self._term_weights(terms) if hits else {}
        for hit, p in zip(hits, found.passages):
            hit.coverage = round(_coverage(p.terms, weights), 4) if weights else None
        if found.sentence_sims is not None:
            for hit, sentence_sims in zip(hits, found.sentence_sims):
                hit.best_sentence = round(float(sentence_sims.max()), 4) if len(sentence_sims) else None
        if n_answers and hits:
            sims = found.sentence_sims
            if sims is None:
                sims = self.store.sentence_similarities(query_vector, found.rows[:n_answers])
            if not self.settings.answer_lexical_weight:
                weights = {}
            for hit, passage, sentence_sims in zip(hits[:n_answers], found.passages, sims):
                hit.answer_start, hit.answer_end = choose_answer(passage, sentence_sims, self.settings, weights)
                hit.answer = hit.text[hit.answer_start - hit.start : hit.answer_end - hit.start]
                hit.page = passage.page_at(hit.answer_start)
        return hits

    def _term_weights(self, terms: list[str]) -> dict[str, float]:
        """IDF of each distinct question term in this store (what makes a term telling)."""
        df, n, _ = self.store.lexical_stats(terms)
        return {t: idf(df[t], n) for t in set(terms) if t in df}


def _coverage(passage_terms: str, weights: dict[str, float]) -> float:
    """The share of the question's term weight (IDF of each distinct term) that a passage's terms hold."""
    total = sum(weights.values())
    if not total:
        return 0.0
    present = set(term_list(passage_terms))
    return sum(w for t, w in weights.items() if t in present) / total


def _document_extents(records, passages: list[PassageHead]) -> np.ndarray:
    """(first row, passage count) of each passage's document; a passage whose
    document the records no longer hold (Milvus deletes a replaced version's rows
    after its commit) stands alone."""
    extent = {}
    for source in {p.source for p in passages}:  # each document looked up once
        record = records.get(source)
        extent[source] = (record.first_row, record.rows) if record is not None else None
    return np.array([extent[p.source] or (p.id, 1) for p in passages], np.int64).reshape(-1, 2)


def best_of_each(values: list[np.ndarray]) -> np.ndarray:
    """The largest of each array (-1 for an empty one) as float32: one ``reduceat`` over them
    all, where a ``max()`` per candidate cost 0.5 ms of a hybrid question's 300."""
    lengths = np.fromiter(map(len, values), np.int64, len(values))
    best = np.full(len(values), -1.0, np.float32)
    some = lengths > 0
    if some.any():
        flat = np.concatenate(values).astype(np.float32, copy=False)  # float32 already from every store; rounding keeps the order
        best[some] = np.maximum.reduceat(flat, (np.cumsum(lengths) - lengths)[some])
    return best


# A table-of-contents entry: a title, a leader of dots (or a tab) and a page
# number, "1.3 Ontvangen postcode ........ 7". Long reports open with pages of
# them; such a passage names every subject of the report and answers none.
_CONTENTS_ENTRY = re.compile(r"(?:\.{4,}|…{2,}|(?:\. ){3,}|\t)\s*\d{1,4}\b")
_CONTENTS_HEADING = re.compile(r"^(?:inhoud(?:sopgave|stafel)?|table of contents|contents)$", re.I)


def looks_like_contents(passage: Passage) -> bool:
    """A passage of a table of contents: under such a heading, or three entries or more."""
    return bool(_CONTENTS_HEADING.match(passage.heading.strip())) or _has_entries(passage.text)


def _has_entries(text: str) -> bool:
    """Three table-of-contents entries or more."""
    if not ("...." in text or "……" in text or ". . ." in text or "\t" in text):  # a leader (spelt out: a generator costs 0.1 ms a pool)
        return False  # most passages: a substring test is ten times faster than the expression (measured: 4.8 ms a question)
    return len(_CONTENTS_ENTRY.findall(text)) >= 3


def contents_flags(passages: list[PassageHead]) -> np.ndarray:
    """``looks_like_contents`` of each passage as 1.0 or 0.0, each distinct heading tested once."""
    named = {h for h in {p.heading for p in passages} if _CONTENTS_HEADING.match(h.strip())}
    return np.array([p.heading in named or _has_entries(p.text) for p in passages], np.float32)


def one_per_stretch(passages: list[Passage]) -> tuple[list[int], dict[int, int]]:
    """No two hits share text (neighbours repeat a sentence, ``ChunkingSettings.overlap_sentences``).
    Walking the ranked passages: one that overlaps a higher-ranked one of its
    document joins it, when that one has not been joined yet (a hit is at most
    two passages long); else it is dropped. Returns the positions kept, in
    order, and kept position -> the position that joins it."""
    kept, joined, taken = [], {}, {}
    for i, p in enumerate(passages):
        stretches = taken.get(p.source)
        if stretches is None:  # its document's first: nothing to overlap (most of a pool; the search below cost 0.4 ms a question)
            taken[p.source] = [(p.start, p.end, i)]
            kept.append(i)
            continue
        overlap = next((n for n, (start, end, _) in enumerate(stretches) if p.start < end and start < p.end), None)
        if overlap is None:
            stretches.append((p.start, p.end, i))
            kept.append(i)
            continue
        start, end, first = stretches[overlap]
        if first not in joined:
            joined[first] = i
            stretches[overlap] = (min(start, p.start), max(end, p.end), first)
    return kept, joined


def join_passages(a: Passage, b: Passage) -> Passage:
    """One passage spanning two overlapping passages of a document (``a`` ranked higher: its id, heading and terms)."""
    first, second = (a, b) if a.start <= b.start else (b, a)
    text = first.text if second.end <= first.end else first.text + second.text[first.end - second.start :]
    return replace(a, start=first.start, end=max(first.end, second.end), text=text, heading=first.heading,
                   sentences=tuple(sorted(set(a.sentences) | set(b.sentences))),
                   pages=tuple(sorted(dict(first.pages + second.pages).items())))


def _fold_copies(found: _Candidates, copies: dict[str, str]) -> tuple[_Candidates, dict[int, tuple[str, ...]]]:
    """Keep one passage of identical files: a candidate from a copy whose same
    passage (same offsets) ranks higher in its original or another copy is
    dropped, and its file is listed under the kept one. Returns the kept
    candidates, in order, and row -> the other files each kept row stands for."""
    if not copies:
        return found, {}
    kept, seen, also_in = [], {}, {}
    for i, p in enumerate(found.passages):
        key = (copies.get(p.source, p.source), p.start, p.end)
        if key in seen:
            row = seen[key]
            also_in[row] = also_in.get(row, ()) + (p.source,)
            continue
        seen[key] = int(found.rows[i])
        kept.append(i)
    return found.keep(np.array(kept, np.int64)), also_in


def check_embedder(store, embedder: Embedder) -> None:
    """Refuse to search with a model other than the one that built the index."""
    c = store.config
    backend = getattr(embedder, "backend", "")
    if c.backend != backend and embedder.name == c.model:
        # int8 and fp32 vectors differ slightly (BENCHMARKS.md): another way of embedding the
        # same model is used only where its vectors of the index's probe texts agree with them
        agreement = probe_agreement(embedder, c.probes) if c.probes else None
        if agreement is None or agreement < AGREEMENT:
            rebuild = build_command(store.root, "--backend", backend_choice(backend) or backend)
            choice = backend_choice(c.backend)
            same_runtime = choice and choice == backend_choice(backend)  # in another precision: VRAAGBAAK_PRECISION chose it
            raise IndexLoadError(messages.backend_differs(
                store.root, c.backend or "default", backend or "default", rebuild, agreement=agreement, needed=AGREEMENT,
                search_with=choice, without_env=PRECISION_ENV if same_runtime else None))
    if embedder.name != c.model or embedder.dimension != c.dimension or embedder.prompts != c.prompts:
        raise IndexLoadError(messages.model_dimension_differs(store.root, c.model, c.dimension, embedder.name, embedder.dimension,
                                                              build_command(store.root, "--rebuild")))


# The answering sentence: the passage sentence closest to the question, with
# rules measured on ../shared/eval (answer_hit@1, see BENCHMARKS.md): the
# passage's first sentence gets a small bonus (texts and their sections lead
# with the point); a question or a very short sentence ("Ja.") is no answer on
# its own, so it is shown together with the sentence after it; and so is a
# sentence whose next one is as close to the question (within int8 noise:
# a point made over two sentences, "Een signaal is geen zaak." after the
# sentence that names the signal), or the one before it ("Alleen volledige
# objecten kunnen worden geconstateerd." before the example that echoes the
# question): the closer of the two joins.


def choose_answer(passage, sims: np.ndarray, settings: RankingSettings = RankingSettings(), term_weights: dict[str, float] | None = None) -> tuple[int, int]:
    """(start, end) offsets of the answer in the passage's document.

    A sentence scores its cosine with the question, plus
    ``answer_lexical_weight`` × the share of the question's term weight (IDF)
    it holds (``term_weights``), plus ``answer_lead_bonus`` for the first.
    """
    spans = list(passage.sentences)
    if not spans:
        return passage.start, passage.end
    texts = [passage.text[a - passage.start : b - passage.start] for a, b in spans]
    candidates = [i for i, t in enumerate(texts) if not (i == 0 and passage.heading and t == passage.heading)]
    candidates = candidates or list(range(len(spans)))
    scores = np.array([sims[i] for i in candidates], dtype=np.float32)
    if term_weights:
        scores += settings.answer_lexical_weight * _term_share([texts[i] for i in candidates], term_weights)
    scores[0] += settings.answer_lead_bonus
    best = candidates[int(np.argmax(scores))]
    first, last = best, best
    if best + 1 < len(spans) and (texts[best].rstrip().endswith("?") or len(texts[best]) < settings.short_sentence):
        last = best + 1
    beside = [i for i in (first - 1, last + 1) if i in candidates]  # not a heading, not outside the passage
    if beside:
        closest = max(beside, key=lambda i: sims[i])
        if sims[closest] >= sims[best] - settings.answer_tie:
            first, last = min(first, closest), max(last, closest)
    return spans[first][0], spans[last][1]


def _term_share(texts: list[str], term_weights: dict[str, float]) -> np.ndarray:
    """Per text, the IDF-weighted share of the question's distinct terms it contains."""
    total = sum(term_weights.values())
    return np.array([sum(term_weights.get(t, 0.0) for t in set(terms)) / total if total else 0.0
                     for terms in tokenize(texts)], np.float32)


# Fusion (RankingSettings.fusion). "weighted" is the e5 cosine plus small
# bounded bonuses: BM25 scaled by the best BM25 in the pool (at most
# lexical_weight), the best single-sentence cosine, the best cosine of the
# passages beside it in its document (an answer often follows the text that
# names the question's subject), and a short document's opening passage (an
# FAQ answer or an article leads with its point; a report opens with a cover
# and its contents). A table of contents names every subject of a report and
# answers none: it is ranked last. e5 cosines of right and wrong passages
# differ by hundredths, so the weights are small. They were chosen by
# benchmarks/fusion_fit.py over a grid of 5,095 settings (both fusions) on
# three dev sets of different shapes (20 seed questions over 5 articles, 500
# FAQ answers, 60 questions over 8 long reports), each set counting once; the
# leave-one-set-out figures are in BENCHMARKS.md, and statutes (law-text, not
# fitted on) are checked with benchmarks/law_ranking.py. The answer's lexical
# weight likewise (it costs the FAQ set 0.03 answer_hit@1 and gains the other
# two 0.05). "rrf" is reciprocal-rank fusion of the same signals (Cormack,
# Clarke & Büttcher 2009), for comparison and for corpora whose cosines are
# not comparable across passages; it never won a fold.


def fuse(features: Features, settings: RankingSettings = RankingSettings()) -> np.ndarray:
    """The hybrid score of each candidate (higher is better)."""
    if len(features.dense) == 0:
        return np.zeros(0, np.float32)
    if settings.fusion == "rrf":
        return _reciprocal_ranks(features, settings)
    if settings.fusion == "zscore":
        return _standardised(features, settings)
    if settings.fusion != "weighted":
        raise VraagbaakError(messages.unknown_fusion(settings.fusion, FUSIONS))
    top = float(features.lexical.max())
    lexical = features.lexical / top if top > 0 else np.zeros_like(features.lexical)
    score = (features.dense + settings.lexical_weight * lexical + settings.sentence_weight * features.best_sentence
             + settings.lead_weight * _leads(features, settings))
    if settings.neighbour_weight and features.neighbour is not None:
        score = score + settings.neighbour_weight * features.neighbour
    return _contents_last(score, features).astype(np.float32)


def _leads(features: Features, settings: RankingSettings) -> np.ndarray:
    """The lead flag, only for documents short enough to lead with their point, and
    only where the opening passage is about as close to the question as the closest
    candidate: the bonus settles near-ties (an FAQ answer's first passage against its
    details) but does not lift an opening passage over a passage whose cosine is clearly
    higher (issue 37: an article's opening passage ranked above the one that answers).
    0.03 is beyond int8's cosine noise (about 0.02); both values were chosen on every dev
    set by the rule in BENCHMARKS.md (round 4, "the lead bonus")."""
    lead = features.lead
    if features.document_passages is not None:
        lead = lead * (features.document_passages <= settings.lead_max_passages)
    if len(features.dense):
        lead = lead * (features.dense >= features.dense.max() - settings.lead_within)
    return lead


def _contents_last(score: np.ndarray, features: Features) -> np.ndarray:
    """Tables of contents ranked after every other candidate (in their own order)."""
    if features.contents is None or not features.contents.any():
        return score
    return score - features.contents * (float(score.max() - score.min()) + 1.0)


def _standardised(features: Features, settings: RankingSettings) -> np.ndarray:
    """Each signal standardised over the question's pool (mean 0, standard
    deviation 1) and weighted, the cosine with weight 1: BM25 then counts as
    much as its weight says, whatever the spread of e5's cosines or the size of
    BM25's scores for this question; the lead flag counts in standard deviations."""
    score = _z(features.dense) + settings.lexical_weight * _z(features.lexical) + settings.sentence_weight * _z(features.best_sentence)
    score = score + settings.lead_weight * _leads(features, settings)
    if settings.neighbour_weight and features.neighbour is not None:
        score = score + settings.neighbour_weight * _z(features.neighbour)
    return _contents_last(score, features).astype(np.float32)


def _z(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, np.float64)
    sd = values.std()
    return (values - values.mean()) / sd if sd > 0 else np.zeros_like(values)


def _reciprocal_ranks(features: Features, settings: RankingSettings) -> np.ndarray:
    """Σ weight / (rrf_k + rank) over the dense, lexical and best-sentence rankings (rank 1 = best)."""
    def ranks(values):
        order = np.argsort(-values, kind="stable")
        out = np.empty(len(values), np.float32)
        out[order] = np.arange(1, len(values) + 1)
        return out

    k = settings.rrf_k
    lexical = np.where(features.lexical > 0, 1.0 / (k + ranks(features.lexical)), 0.0)
    score = (1.0 / (k + ranks(features.dense)) + settings.lexical_weight * lexical
             + settings.sentence_weight / (k + ranks(features.best_sentence))
             + settings.lead_weight * _leads(features, settings) / k)
    if settings.neighbour_weight and features.neighbour is not None:
        score = score + settings.neighbour_weight / (k + ranks(features.neighbour))
    return _contents_last(score, features).astype(np.float32)
