"""Dutch BM25 over the passages (bm25s + the Snowball Dutch stemmer).

Built in memory when an index is loaded: it takes well under a second for
thousands of passages, and not persisting it keeps the index folder to plain
files that one model version wrote.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LexicalIndex", "stem_word", "tokenize"]

_stemmer = None


def _stem():
    global _stemmer
    if _stemmer is None:
        import Stemmer

        _stemmer = Stemmer.Stemmer("dutch")
    return _stemmer


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stop words removed, stemmed word lists (bm25s's own tokenizer)."""
    import bm25s

    return bm25s.tokenize(texts, stopwords="nl", stemmer=_stem(), return_ids=False, show_progress=False)


def stem_word(word: str) -> str:
    """The stem ``tokenize`` would give one lower-cased word (for marking matches)."""
    return _stem().stemWord(word.lower())


class LexicalIndex:
    def __init__(self, texts: list[str]):
        import bm25s

        self.size = len(texts)
        self.retriever = bm25s.BM25()  # Lucene variant, k1=1.5, b=0.75
        if texts:
            self.retriever.index(tokenize(texts), show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for ``query`` (zeros when no word matches)."""
        if not self.size:
            return np.zeros(0, np.float32)
        vocab = self.retriever.vocab_dict
        words = [w for w in tokenize([query])[0] if w in vocab]
        if not words:
            return np.zeros(self.size, np.float32)
        return np.asarray(self.retriever.get_scores(words), dtype=np.float32)
