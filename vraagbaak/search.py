"""Ranking passages for a question, and choosing the sentence that answers it.

Three modes share one result type:

- ``dense``: cosine similarity of e5 embeddings (exact, or HNSW for large stores);
- ``lexical``: Dutch BM25 (``lexical.py``);
- ``hybrid`` (default): the dense candidates, re-ordered by small bounded
  bonuses for a BM25 match, for the passage's best single sentence and for
  being a document's opening passage — see ``fuse`` and why plain fusion is
  not used.

A question touches only what it needs: the store's nearest passages, then the
texts, sentence vectors and BM25 scores of those candidates alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .embeddings import DEFAULT_MODEL, Embedder, backend_choice
from .errors import IndexLoadError, VraagbaakError, build_command
from .lexical import tokenize
from .store import StoredPassage

__all__ = [
    "Hit",
    "RankingSettings",
    "Searcher",
    "MODES",
    "MAX_QUESTION_CHARS",
    "NO_MATCH_SIMILARITY",
    "check_question",
    "choose_answer",
    "fuse",
    "good_matches",
    "hit_to_json",
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
NO_MATCH_SIMILARITY = 0.83


@dataclass(frozen=True)
class RankingSettings:
    """Every ranking knob in one place; the values and how they were chosen are
    explained at ``fuse`` and ``choose_answer`` below and in BENCHMARKS.md."""

    candidates: int = 200  # dense candidates re-ranked in hybrid mode
    lexical_weight: float = 0.03  # passage BM25, scaled by the best BM25 among the candidates
    sentence_weight: float = 0.15  # the passage's best single-sentence cosine
    lead_weight: float = 0.025  # a document's opening passage
    answer_lead_bonus: float = 0.02  # a passage's first sentence, when choosing the answer
    short_sentence: int = 60  # characters: shorter answer sentences are shown with the next one


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

    def to_dict(self) -> dict:
        return asdict(self)


JSON_KEYS = ("rank", "score", "similarity", "source", "title", "heading", "page", "text", "start", "end", "answer", "answer_start", "answer_end")


def hit_to_json(hit: Hit) -> dict:
    """The one JSON form of a hit: ``ask --json``, the page's /search API and eval use it."""
    return {key: getattr(hit, key) for key in JSON_KEYS}


def check_question(question) -> str:
    if not isinstance(question, str) or not question.strip():
        raise VraagbaakError("the question is empty: type a question, for example 'wat is preventie?'")
    question = " ".join(question.split())
    if len(question) > MAX_QUESTION_CHARS:
        raise VraagbaakError(
            f"the question is {len(question)} characters long; ask it in at most {MAX_QUESTION_CHARS}"
        )
    return question


def good_matches(hits: list["Hit"], threshold: float = NO_MATCH_SIMILARITY) -> list["Hit"]:
    """The hits strong enough to be answers; [] means nothing in the corpus answers.

    Lexical hits carry no cosine and are all kept.
    """
    return [h for h in hits if h.similarity is None or h.similarity >= threshold]


@dataclass
class _Candidates:
    """Passages under consideration for one question, with what ranking needs of them."""

    rows: np.ndarray
    passages: list[StoredPassage]
    scores: np.ndarray  # the ranking score
    similarities: np.ndarray | None  # e5 cosines (None in lexical mode)
    sentence_sims: list[np.ndarray] | None = None

    def keep(self, order) -> "_Candidates":
        sims = None if self.similarities is None else self.similarities[order]
        sentence = None if self.sentence_sims is None else [self.sentence_sims[i] for i in order]
        return _Candidates(self.rows[order], [self.passages[i] for i in order], self.scores[order], sims, sentence)


class Searcher:
    """Ranks a store's passages; ``store`` is a ``LocalStore`` or a ``MilvusStore``
    (they answer the same calls, listed in ``locations.py``)."""

    def __init__(self, store, embedder_loader, settings: RankingSettings = RankingSettings()):
        self.store = store
        self.settings = settings
        self._embedder_loader = embedder_loader  # called on the first search that needs the model
        self._embedder: Embedder | None = None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            try:
                embedder = self._embedder_loader()
            except IndexLoadError:
                raise
            except VraagbaakError as exc:
                model, root = self.store.config.model, self.store.root
                raise IndexLoadError(
                    f"the index in {root} was built with model {model!r}, which cannot be loaded here ({exc}); "
                    f"install that model, or rebuild the index with the bundled one: {build_command(root, '--model', DEFAULT_MODEL)}"
                ) from exc
            check_embedder(self.store, embedder)
            self._embedder = embedder
        return self._embedder

    def warm_up(self) -> None:
        """Do now what the first question would otherwise wait for: load the
        model and run it once (OpenVINO builds its kernels per input shape),
        and load the stemmer and stop words (measured: the first search took
        248 ms against 26 ms for the next, 157 ms of it importing bm25s)."""
        self.embedder.embed_queries([WARM_UP_QUESTION])
        tokenize([WARM_UP_QUESTION])

    def reuse_from(self, other: "Searcher") -> None:
        """Take over an already loaded model (after an update of the same index)."""
        if other._embedder is not None and self._embedder is None:
            check_embedder(self.store, other._embedder)
            self._embedder = other._embedder

    def search(self, question: str, k: int = 5, mode: str = "hybrid", source: str | None = None, answers: int | None = None) -> list[Hit]:
        """Top ``k`` passages; ``answers`` = how many of them get an answer sentence (default all)."""
        question = check_question(question)
        if mode not in MODES:
            raise VraagbaakError(f"unknown search mode {mode!r}; choose one of {', '.join(MODES)}")
        if not isinstance(k, int) or not 1 <= k <= 100:
            raise VraagbaakError("k must be a whole number from 1 to 100")
        if source is not None and source not in self.store.document_records:
            raise VraagbaakError(f"no document {source!r} in this index")
        n_answers = k if answers is None else min(answers, k)
        query_vector = None
        if mode != "lexical" or n_answers:  # lexical ranking needs no model; its answers do
            query_vector = self.embedder.embed_queries([question])[0]
        if mode == "lexical":
            found = self._lexical(question, k, source)
        else:
            found = self._dense(query_vector, k if mode == "dense" else max(k, self.settings.candidates), source)
            if mode == "hybrid":
                found = self._hybrid(question, query_vector, found, k)
            found = found.keep(np.arange(min(k, len(found.rows))))
        return self._hits(found, query_vector, n_answers)

    # ------------------------------------------------------------- ranking

    def _dense(self, query_vector, k, source) -> _Candidates:
        scores, rows = self.store.dense_search(query_vector, k, source)
        passages = self.store.passages(rows)
        live = [i for i, p in enumerate(passages) if p is not None]  # a row removed by a later build
        return _Candidates(rows, passages, scores, scores).keep(live)

    def _hybrid(self, question, query_vector, found: _Candidates, k) -> _Candidates:
        if not len(found.rows):
            return found
        found.sentence_sims = self.store.sentence_similarities(query_vector, found.rows)
        best_sentence = np.array([s.max() if len(s) else -1.0 for s in found.sentence_sims], np.float32)
        lexical = self.store.bm25(tokenize([question])[0], found.rows, found.passages)
        fused = fuse(found.scores, lexical, best_sentence, self.store.leads(found.rows), self.settings)
        order = np.argsort(-fused, kind="stable")[:k]
        found.scores = fused
        return found.keep(order)

    def _lexical(self, question, k, source) -> _Candidates:
        """BM25 over the whole store: the store finds the passages richest in the
        question's terms (SQLite FTS5, or Milvus's BM25), which are then scored exactly."""
        terms = tokenize([question])[0]
        rows = self.store.lexical_candidates(terms, max(k, self.settings.candidates), source)
        passages = self.store.passages(rows)
        live = [i for i, p in enumerate(passages) if p is not None]
        found = _Candidates(rows, passages, np.zeros(len(rows), np.float32), None).keep(live)
        found.scores = self.store.bm25(terms, found.rows, found.passages)
        order = [i for i in np.argsort(-found.scores, kind="stable")[:k] if found.scores[i] > 0]
        return found.keep(np.array(order, dtype=np.int64))

    # ------------------------------------------------------------- answers

    def _hits(self, found: _Candidates, query_vector, n_answers: int) -> list[Hit]:
        hits = []
        for rank, (p, score) in enumerate(zip(found.passages, found.scores), start=1):
            sim = None if found.similarities is None else round(float(found.similarities[rank - 1]), 4)
            hits.append(
                Hit(rank, round(float(score), 4), p.source, p.title, p.text, p.start, p.end, p.heading,
                    id=f"{p.source}#{p.id}", similarity=sim, page=p.page_at(p.start))
            )
        if n_answers and hits:
            sims = found.sentence_sims
            if sims is None:
                sims = self.store.sentence_similarities(query_vector, found.rows[:n_answers])
            for hit, passage, sentence_sims in zip(hits[:n_answers], found.passages, sims):
                hit.answer_start, hit.answer_end = choose_answer(passage, sentence_sims, self.settings)
                hit.answer = hit.text[hit.answer_start - hit.start : hit.answer_end - hit.start]
                hit.page = passage.page_at(hit.answer_start)
        return hits


def check_embedder(store, embedder: Embedder) -> None:
    """Refuse to search with a model other than the one that built the index."""
    c = store.config
    backend = getattr(embedder, "backend", "")
    if c.backend != backend and embedder.name == c.model:
        # int8 and fp32 vectors differ slightly: measured in BENCHMARKS.md, mixing is refused
        rebuild = build_command(store.root, "--backend", backend_choice(backend) or backend)
        choice = backend_choice(c.backend)
        instead = f"search it with --backend {choice}, or rebuild it with: " if choice else "rebuild it with: "
        raise IndexLoadError(
            f"the index in {store.root} was built with the {c.backend or 'default'} backend, not {backend or 'default'}; {instead}{rebuild}"
        )
    if embedder.name != c.model or embedder.dimension != c.dimension or embedder.prompts != c.prompts:
        raise IndexLoadError(
            f"the index in {store.root} was built with model {c.model!r} "
            f"(dimension {c.dimension}), not {embedder.name!r} (dimension {embedder.dimension}); "
            f"rebuild it with: {build_command(store.root, '--rebuild')}"
        )


# The answering sentence: the passage sentence closest to the question, with
# two rules measured on ../shared/eval (answer_hit@1, see BENCHMARKS.md):
# the passage's first sentence gets a small bonus (texts and their sections
# lead with the point), and a question or a very short sentence ("Ja.") is no
# answer on its own, so it is shown together with the sentence after it.


def choose_answer(passage, sims: np.ndarray, settings: RankingSettings = RankingSettings()) -> tuple[int, int]:
    """(start, end) offsets of the answer in the passage's document."""
    spans = list(passage.sentences)
    if not spans:
        return passage.start, passage.end
    texts = [passage.text[a - passage.start : b - passage.start] for a, b in spans]
    candidates = [i for i, t in enumerate(texts) if not (i == 0 and passage.heading and t == passage.heading)]
    candidates = candidates or list(range(len(spans)))
    scores = np.array([sims[i] for i in candidates], dtype=np.float32)
    scores[0] += settings.answer_lead_bonus
    best = candidates[int(np.argmax(scores))]
    last = best
    if best + 1 < len(spans) and (texts[best].rstrip().endswith("?") or len(texts[best]) < settings.short_sentence):
        last = best + 1
    return spans[best][0], spans[last][1]


# Hybrid weights (RankingSettings). Chosen with a grid over these terms on
# ../shared/eval (the 20 seed questions and the 500 rijksoverheid questions;
# 216 combinations, of which 56 met every target with the chunking of the time
# and 160 with the current one; the defaults lie inside that region, not at
# its best point). So they are fitted to those sets, not held out: see
# BENCHMARKS.md. They are small because e5 cosines of right and wrong passages
# differ by hundredths: a larger lexical weight lets BM25 overrule e5, which is
# why plain reciprocal-rank fusion and score averaging lose to dense-only
# (measured: RRF k=60 on the FAQ set 0.687 vs dense 0.767 mrr@10).


def fuse(dense_scores, lexical_scores, best_sentence, is_lead, settings: RankingSettings = RankingSettings()) -> np.ndarray:
    """Hybrid score of each dense candidate: its cosine plus small bounded bonuses.

    All arrays are over the same candidates. BM25 is scaled by the best BM25
    among them, so the lexical bonus is at most ``lexical_weight``.
    """
    if len(dense_scores) == 0:
        return np.zeros(0, np.float32)
    top = float(lexical_scores.max())
    lex = lexical_scores / top if top > 0 else np.zeros_like(lexical_scores)
    return (
        dense_scores
        + settings.lexical_weight * lex
        + settings.sentence_weight * best_sentence
        + settings.lead_weight * is_lead
    ).astype(np.float32)
