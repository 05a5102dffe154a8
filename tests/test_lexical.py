"""bm25s against a hand-written reference BM25 (Lucene variant, as bm25s documents)."""

import math

import numpy as np
import pytest

from vraagbaak.lexical import LexicalIndex, tokenize

DOCS = [
    "Sociaal werkers werken in de wijk en ondersteunen bewoners.",
    "Preventie voorkomt problemen; preventief werken in wijken loont.",
    "Mantelzorgers zorgen voor een naaste en krijgen steun.",
    "De wijkteams werken samen met huisartsen en de politie in de wijk.",
]


def reference_bm25(docs, query, k1=1.5, b=0.75):
    tokens = tokenize(docs)
    n = len(tokens)
    avgdl = sum(len(t) for t in tokens) / n
    scores = np.zeros(n)
    for term in tokenize([query])[0]:  # a repeated query word counts again, as in Lucene
        df = sum(term in t for t in tokens)
        if df == 0:
            continue
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        for i, t in enumerate(tokens):
            tf = t.count(term)
            scores[i] += idf * tf / (tf + k1 * (1 - b + b * len(t) / avgdl))
    return scores


@pytest.mark.parametrize("query", ["werken in de wijk", "preventie", "steun voor mantelzorgers", "wijk wijken wijkteams"])
def test_scores_match_reference(query):
    ours = LexicalIndex(DOCS).scores(query)
    assert np.allclose(ours, reference_bm25(DOCS, query), atol=1e-5)


def test_dutch_stemming_and_stop_words():
    assert tokenize(["De wijken en het werken"])[0] == tokenize(["wijk werk"])[0]
    assert LexicalIndex(DOCS).scores("de het een en").max() == 0  # only stop words
    assert LexicalIndex(DOCS).scores("onbekendwoord").max() == 0
