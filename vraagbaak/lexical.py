"""Dutch BM25: bm25s's tokenizer with the Snowball Dutch stemmer and Dutch stop
words, and each closed compound's parts beside it (``compounds.py``).

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

from .compounds import dutch_stop_words, split_compound

__all__ = ["K1", "B", "PARTS", "bm25_scores", "idf", "passage_terms", "question_terms", "stem_word", "stored_scores", "term_length",
           "term_list", "tokenize"]

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


def tokenize(texts: list[str], *, compounds: bool = True) -> list[list[str]]:
    """Lower-cased, stop words removed, stemmed word lists, as ``bm25s.tokenize``
    with ``stopwords="nl"`` gives them (``tests/test_lexical.py`` compares), then,
    with ``compounds``, the stems of each compound's parts (``tuinbed`` -> tuinbed,
    tuin, bed): the question and the passages must be tokenized alike (an index
    records which in ``ChunkingSettings.lexical_terms``).

    Written out because bm25s's tokenizer costs about 0.4 ms a call in
    set-up alone, and a question scores 200 candidate passages.
    """
    return [words + parts for words, parts in (_analyse(text, compounds) for text in texts)]


def question_terms(question: str, *, compounds: bool = True, passages_holding=None) -> list[str]:
    """A question's terms: the stems of its words and, for a compound the index
    does not hold (``passages_holding(stems)`` -> {stem: passages holding it}),
    its parts. A compound the corpus holds matches itself; its parts would
    only add weight to a subject every passage about it shares
    ("softwarecatalogus" in a report on the Softwarecatalogus) at the cost
    of the question's other words. The passages hold their compounds' parts
    (``passage_terms``), so "hulp bij schulden" still finds schuldhulpverlening."""
    words, _ = _analyse(question, False)
    if not compounds:
        return words
    lowered = [w for w in _WORD.findall(question.lower()) if w not in _stop_words]
    split = [(stem, split_compound(w)) for w, stem in zip(lowered, words)]
    split = [(stem, parts) for stem, parts in split if parts]
    held = passages_holding([stem for stem, _ in split]) if split and passages_holding else {}
    return words + [part for stem, parts in split if not held.get(stem) for part in _stem().stemWords(list(parts))]


def _analyse(text: str, compounds: bool) -> tuple[list[str], list[str]]:
    """(stems of the words, stems of the compounds' parts)."""
    global _stop_words
    if _stop_words is None:
        _stop_words = dutch_stop_words()
    stem = _stem().stemWords
    words = [w for w in _WORD.findall(text.lower()) if w not in _stop_words]
    parts = [part for w in words for part in split_compound(w)] if compounds else []
    return stem(words), stem(parts)


# In a passage's stored terms the compounds' parts follow the words after this
# mark (a separator to SQLite FTS5 and to Milvus's analyser, so never a term):
# a part matches like any term but, like a synonym at the same position
# (Lucene's BM25 discounts such overlapping tokens from the length by
# default), does not make the passage longer.
PARTS = "+"


def passage_terms(context: str, text: str, *, compounds: bool = True) -> str:
    """The terms BM25 sees for a passage: the context lines the model sees in front
    of it (``chunking.passage_context``: title, section heading) and its text,
    space-separated, the compounds' parts after ``PARTS``."""
    words, parts = _analyse(f"{context}\n{text}", compounds)
    return " ".join(words + ([PARTS, *parts] if parts else []))


def term_list(terms: str) -> list[str]:
    """Every term of a passage's stored terms, parts included (what a question term may match)."""
    return [t for t in terms.split() if t != PARTS]


def term_length(terms: str) -> int:
    """A passage's length for BM25: its words, not its compounds' parts."""
    words = terms.split()
    return words.index(PARTS) if PARTS in words else len(words)


def stem_word(word: str) -> str:
    """The stem ``tokenize`` would give one lower-cased word (for marking matches)."""
    return _stem().stemWord(word.lower())


def bm25_scores(query_terms: list[str], passages_terms: list[list[str]], df: dict[str, int], n: int, mean_length: float,
                lengths: list[int] | None = None) -> np.ndarray:
    """BM25 (Lucene variant) of each passage for the query, given corpus statistics.

    ``df``: passages containing each term, ``n``: passages in the corpus,
    ``mean_length``: their mean length in terms; ``lengths``: each passage's
    length, where it is not its number of terms (``term_length``). A repeated
    query term counts each time, as in bm25s and Lucene.
    """
    scores = np.zeros(len(passages_terms), np.float32)
    terms = [t for t in query_terms if df.get(t, 0) > 0]
    if not terms or n <= 0 or mean_length <= 0:
        return scores
    weight = {t: idf(df[t], n) for t in terms}
    for i, words in enumerate(passages_terms):
        counts = Counter(words)
        length = len(words) if lengths is None else lengths[i]
        norm = K1 * ((1 - B) + B * length / mean_length)
        scores[i] = sum(weight[t] * counts[t] / (norm + counts[t]) for t in terms if counts[t])
    return scores


def stored_scores(query_terms: list[str], stored: list[str], df: dict[str, int], n: int, mean_length: float) -> np.ndarray:
    """``bm25_scores`` of passages given their stored terms (``passage_terms``), the same
    numbers, without making a list and a Counter of every passage's terms: a hybrid question
    scores some 300 candidates of about 100 terms each for its handful of terms, and counting
    them all was the largest part of a search at 100,000 passages (BENCHMARKS.md, Round 4,
    cpus). Each question term is looked for once in all the candidates' terms together
    (``_term_counts``): a count per term and passage cost 2.1 ms for 300 candidates, this
    1.2 ms (issue 39). The arithmetic is ``bm25_scores``', in the same order: the same float32 scores."""
    scores = np.zeros(len(stored), np.float32)
    terms = [t for t in query_terms if df.get(t, 0) > 0]
    if not terms or n <= 0 or mean_length <= 0 or not len(stored):
        return scores
    spaced = [f" {text} " for text in stored]
    norm = K1 * ((1 - B) + B * _lengths(spaced) / mean_length)
    counts = _term_counts(spaced, set(terms))
    total = np.zeros(len(stored), np.float64)
    for t in terms:
        total += idf(df[t], n) * counts[t] / (norm + counts[t])  # + 0.0 where the passage lacks the term: no change
    return total.astype(np.float32)


def _lengths(spaced: list[str]) -> np.ndarray:
    """``term_length`` of each " stored terms ": the spaces before the parts' mark (terms hold no other whitespace)."""
    out = []
    for text in spaced:
        cut = text.find(_MARK)
        cut = len(text) - 1 if cut < 0 else cut
        spaces = text.count(" ", 0, cut)
        out.append(spaces if spaces < cut else 0)  # nothing but spaces: no words
    return np.array(out, np.float64)


_MARK = f" {PARTS} "


def _term_counts(spaced: list[str], terms: set[str]) -> dict[str, np.ndarray]:
    """How often each term occurs in each " stored terms " (parts included), as float64.

    The passages one a line; each match of " term" followed by a space is one
    occurrence (the search goes on from the next character, so that neighbouring
    occurrences, " a a ", both count), and its passage is the line it is on."""
    joined = "\n".join(spaced)
    starts = np.cumsum([0] + [len(text) + 1 for text in spaced[:-1]])
    counts = {}
    for t in terms:
        needle = f" {t}"
        after, found = len(needle), []
        at = joined.find(needle)
        while at >= 0:
            if joined[at + after] == " ":  # the whole term, not the start of a longer one
                found.append(at)
            at = joined.find(needle, at + 1)
        lines = np.searchsorted(starts, np.array(found, np.int64), side="right") - 1
        counts[t] = np.bincount(lines, minlength=len(spaced)).astype(np.float64)
    return counts


def idf(df: int, n: int) -> float:
    """BM25's inverse document frequency (Lucene variant) of a term in ``df`` of ``n`` passages."""
    return math.log(1 + (n - df + 0.5) / (df + 0.5))
