"""Dutch BM25: bm25s's tokenizer with the Snowball Dutch stemmer and Dutch stop words.

The store keeps each passage's terms in SQLite's full-text index (to find
candidates and document frequencies); the scores themselves are computed here,
for just the passages a question needs, with the same formula as bm25s's
Lucene variant (``tests/test_lexical.py`` checks it against bm25s).
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np

__all__ = ["K1", "B", "bm25_scores", "idf", "passage_terms", "stem_word", "tokenize"]

K1, B = 1.5, 0.75  # bm25s's defaults (Lucene variant)
_stemmer = None


def _stem():
    global _stemmer
    if _stemmer is None:
        import Stemmer

        _stemmer = Stemmer.Stemmer("dutch")
    return _stemmer


_WORD = re.compile(r"(?u)\b\w\w+\b")  # bm25s's default token pattern
_stop_words: frozenset | None = None


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stop words removed, stemmed word lists, as ``bm25s.tokenize``
    with ``stopwords="nl"`` gives them (``tests/test_lexical.py`` compares).

    Written out because bm25s's tokenizer costs about 0.4 ms a call in
    set-up alone, and a question scores 200 candidate passages.
    """
    global _stop_words
    if _stop_words is None:
        _stop_words = frozenset(_bm25s_stopwords().STOPWORDS_DUTCH)
    stem = _stem().stemWords
    return [stem([w for w in _WORD.findall(text.lower()) if w not in _stop_words]) for text in texts]


def _bm25s_stopwords():
    """bm25s's ``stopwords`` module, without importing the bm25s package: its
    ``__init__`` imports scipy.sparse, a tenth of a second of an app's start for
    a list of words. Loaded from the installed package's own file."""
    import importlib.util
    import sys

    if "bm25s.stopwords" in sys.modules:
        return sys.modules["bm25s.stopwords"]
    origin = importlib.util.find_spec("bm25s").origin  # finding a package does not run its __init__
    spec = importlib.util.spec_from_file_location("vraagbaak._bm25s_stopwords", origin.replace("__init__.py", "stopwords.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def passage_terms(title: str, text: str) -> str:
    """The terms BM25 sees for a passage: its context (the document's title, the
    section heading) and its text, space-separated."""
    return " ".join(tokenize([f"{title}\n{text}"])[0])


def stem_word(word: str) -> str:
    """The stem ``tokenize`` would give one lower-cased word (for marking matches)."""
    return _stem().stemWord(word.lower())


def bm25_scores(query_terms: list[str], passages_terms: list[list[str]], df: dict[str, int], n: int, mean_length: float) -> np.ndarray:
    """BM25 (Lucene variant) of each passage for the query, given corpus statistics.

    ``df``: passages containing each term, ``n``: passages in the corpus,
    ``mean_length``: their mean length in terms. A repeated query term counts
    each time, as in bm25s and Lucene.
    """
    scores = np.zeros(len(passages_terms), np.float32)
    terms = [t for t in query_terms if df.get(t, 0) > 0]
    if not terms or n <= 0 or mean_length <= 0:
        return scores
    weight = {t: idf(df[t], n) for t in terms}
    for i, words in enumerate(passages_terms):
        counts = Counter(words)
        norm = K1 * ((1 - B) + B * len(words) / mean_length)
        scores[i] = sum(weight[t] * counts[t] / (norm + counts[t]) for t in terms if counts[t])
    return scores


def idf(df: int, n: int) -> float:
    """BM25's inverse document frequency (Lucene variant) of a term in ``df`` of ``n`` passages."""
    return math.log(1 + (n - df + 0.5) / (df + 0.5))
