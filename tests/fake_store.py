"""An in-memory store that follows ``vraagbaak.stores.base.StoreReader``: ranking tests need no build.

Each document is given as (source, title, passages), each passage as text;
its sentences are split at ". ", its vector and its sentences' vectors come
from the embedder given (the fake model), its BM25 terms from the project's
own ``passage_terms``. Everything is exact: no HNSW, no 8-bit codes.
"""

from __future__ import annotations

import re

import numpy as np

from vraagbaak.lexical import idf, passage_terms, stored_scores, term_length, term_list
from vraagbaak.stores.base import DocumentRecord, Documents, Passage, StoreConfig, heads_of

_SENTENCE = re.compile(r"[^.]+(?:\.|$)")


class MemoryStore:
    """A committed index held in lists and arrays."""

    def __init__(self, embedder, documents: list[tuple[str, str, list[str]]]):
        self.root = "memory:"
        self.updated = "2026-12-04T15:30:00+0000"
        self.config = StoreConfig(embedder.name, embedder.dimension, embedder.prompts, {"lexical_terms": "compounds"})
        self._passages: list[Passage] = []
        records = []
        for source, title, texts in documents:
            records.append(DocumentRecord(source, title, "", 0, 0, len(self._passages), len(texts)))
            offset = 0  # passages follow one another in their document's text, a blank line apart
            for text in texts:
                spans = tuple((offset + m.start() + len(m.group()) - len(m.group().lstrip()), offset + m.end())
                              for m in _SENTENCE.finditer(text) if m.group().strip())
                self._passages.append(Passage("", offset, offset + len(text), text, spans, 0, passage_terms(title, text),
                                              id=len(self._passages), source=source, title=title))
                offset += len(text) + 2
        self.document_records = Documents(records)
        self.passage_count = len(self._passages)
        self._vectors = np.asarray(embedder.embed_passages([p.text for p in self._passages]), np.float32)
        self._sentences = [np.asarray(embedder.embed_passages([p.text[a:b] for a, b in p.sentences]), np.float32) for p in self._passages]
        self._leads = np.zeros(len(self._passages), np.float32)
        self._leads[[r.first_row for r in records if r.rows]] = 1.0

    @property
    def documents(self) -> dict[str, str]:
        return self.document_records.titles()

    def warm_up(self) -> None:
        pass

    def close(self) -> None:
        pass

    def _rows_of(self, within) -> np.ndarray:
        if within is None:
            return np.arange(len(self._passages))
        ranges = [self.document_records[s] for s in sorted(within)]
        return np.concatenate([np.arange(r.first_row, r.first_row + r.rows) for r in ranges] or [np.zeros(0, np.int64)])

    def dense_search(self, query, k: int, within=None):
        rows = self._rows_of(within)
        scores = self._vectors[rows] @ np.asarray(query, np.float32)
        order = np.argsort(-scores, kind="stable")[:k]
        return scores[order].astype(np.float32), rows[order]

    def dense_scores(self, query, rows) -> np.ndarray:
        rows = np.asarray(rows, np.int64)
        return self._vectors[rows] @ np.asarray(query, np.float32) if len(rows) else np.zeros(0, np.float32)

    def lexical_stats(self, terms):
        df = {t: sum(t in term_list(p.terms) for p in self._passages) for t in set(terms)}
        n = len(self._passages)
        return {t: c for t, c in df.items() if c}, n, sum(term_length(p.terms) for p in self._passages) / n

    def lexical_candidates(self, terms, limit: int, within=None, *, pool: bool = False) -> np.ndarray:
        df, n, _ = self.lexical_stats(terms)
        rows = self._rows_of(within)
        scores = np.array([sum(idf(df[t], n) for t in set(terms) if t in df and t in self._passages[r].terms.split()) for r in rows])
        keep = scores > 0
        return rows[keep][np.argsort(-scores[keep], kind="stable")[:limit]]

    def bm25(self, terms, rows, passages) -> np.ndarray:
        df, n, mean_length = self.lexical_stats(terms)
        return stored_scores(terms, [p.terms for p in passages], df, n, mean_length)

    def passages(self, rows) -> list[Passage | None]:
        return [self._passages[int(r)] for r in rows]

    def passage_heads(self, rows) -> list:
        return heads_of(self.passages(rows))

    def document_passages(self, source: str) -> list[Passage]:
        return self.passages(self._rows_of({source}))

    def sentence_similarities(self, query, rows) -> list[np.ndarray]:
        return [self._sentences[int(r)] @ np.asarray(query, np.float32) for r in rows]

    def leads(self, rows) -> np.ndarray:
        return self._leads[np.asarray(rows, np.int64)]

    def passage_vector(self, row: int) -> np.ndarray:
        return self._vectors[row]

    def sentence_vectors(self, row: int) -> np.ndarray:
        return self._sentences[row]
