"""Our BM25 over candidate passages against bm25s and a hand-written reference (Lucene variant)."""

import math

import numpy as np
import pytest

from vraagbaak.lexical import bm25_scores, tokenize

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


def ours(docs, query, subset=None):
    """Scores of the passages in ``subset`` (default all) given whole-corpus statistics, as the store supplies them."""
    tokens = tokenize(docs)
    df = {}
    for t in tokens:
        for term in set(t):
            df[term] = df.get(term, 0) + 1
    subset = range(len(docs)) if subset is None else subset
    mean = sum(len(t) for t in tokens) / len(tokens)
    return bm25_scores(tokenize([query])[0], [tokens[i] for i in subset], df, len(docs), mean)


def bm25s_scores(docs, query):
    import bm25s

    retriever = bm25s.BM25()  # Lucene variant, k1=1.5, b=0.75
    retriever.index(tokenize(docs), show_progress=False)
    words = [w for w in tokenize([query])[0] if w in retriever.vocab_dict]
    return np.asarray(retriever.get_scores(words)) if words else np.zeros(len(docs))


QUERIES = ["werken in de wijk", "preventie", "steun voor mantelzorgers", "wijk wijken wijkteams"]


@pytest.mark.parametrize("query", QUERIES)
def test_scores_match_bm25s(query):
    assert np.allclose(ours(DOCS, query), bm25s_scores(DOCS, query), atol=1e-5)


@pytest.mark.parametrize("query", QUERIES)
def test_scores_match_reference(query):
    assert np.allclose(ours(DOCS, query), reference_bm25(DOCS, query), atol=1e-5)


def test_candidates_get_the_scores_they_have_in_the_whole_corpus():
    assert np.allclose(ours(DOCS, "werken in de wijk", [3, 1]), bm25s_scores(DOCS, "werken in de wijk")[[3, 1]], atol=1e-5)


def test_dutch_stemming_and_stop_words():
    assert tokenize(["De wijken en het werken"])[0] == tokenize(["wijk werk"])[0]
    assert ours(DOCS, "de het een en").max() == 0  # only stop words
    assert ours(DOCS, "onbekendwoord").max() == 0


def test_our_tokenizer_is_bm25s_tokenizer():
    import bm25s
    from conftest import ROOT, SHARED

    from vraagbaak.lexical import _stem

    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "corpus").glob("*.txt"))]
    texts += [p.read_text(encoding="utf-8") for p in sorted((SHARED / "eval" / "rijksoverheid-faq" / "corpus").glob("*.txt"))[:100]]
    texts += ["De wijken en het werken", "Ça va? Één-op-één, 12,5% van de 2e groep; e-mail: a@b.nl", ""]
    expected = bm25s.tokenize(texts, stopwords="nl", stemmer=_stem(), return_ids=False, show_progress=False)
    assert tokenize(texts) == [list(t) for t in expected]


def test_the_pool_reads_the_rarest_terms_within_the_budget():
    from collections import Counter

    from vraagbaak.stores.local import rarest_within

    df = {"zvw": 3, "toeslag": 40, "gemeente": 900, "zorg": 300}
    counts = Counter({"gemeente": 1, "zvw": 2, "zorg": 1, "toeslag": 1})
    assert rarest_within(counts, df, 1_000) == Counter({"zvw": 2, "toeslag": 1, "zorg": 1})  # 3 + 40 + 300; + 900 would pass it
    assert rarest_within(counts, df, 342) == Counter({"zvw": 2, "toeslag": 1})
    assert rarest_within(counts, df, 2) == Counter()  # even the rarest list is too long: no lexical candidates


def test_a_local_pool_leaves_out_common_terms_and_lexical_mode_does_not(fake, tmp_path):
    from vraagbaak import Index
    from vraagbaak.stores.local import FolderLocation, StoreSettings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(30):
        (corpus / f"wijk-{i:02}.txt").write_text(f"De gemeente werkt in wijk {i} aan de buurt.\n", encoding="utf-8")
    (corpus / "regeling.txt").write_text("De gemeente herziet de Zvw-bijdrage jaarlijks.\n", encoding="utf-8")
    Index.build(corpus, tmp_path / "idx", model="fake", progress=False)
    store = Index.load(FolderLocation(tmp_path / "idx", StoreSettings(lexical_pool_postings=10))).store
    terms = tokenize(["wat doet de gemeente met de zvw-bijdrage?"])[0]
    df, _, _ = store.lexical_stats(terms)
    common = tokenize(["gemeente"])[0][0]
    assert df[common] == 31 and sorted(df.values()) == [1, 1, 31]  # one common term, two rare ones
    regeling = store.document_records["regeling.txt"].first_row
    pool = store.lexical_candidates(terms, 100, pool=True)
    assert list(pool) == [regeling]  # only the rare terms' lists were read
    assert len(store.lexical_candidates(terms, 100)) == 31  # lexical mode reads every list


def test_a_reader_reads_each_term_count_once(fake, tmp_path, monkeypatch):
    from vraagbaak import Index

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("De gemeente herziet de Zvw-bijdrage jaarlijks.\n", encoding="utf-8")
    store = Index.build(corpus, tmp_path / "idx", model="fake", progress=False).store
    asked = []
    query = store._query
    monkeypatch.setattr(store, "_query", lambda sql, params=(): asked.append(params) or query(sql, params))
    terms = tokenize(["herziet de gemeente de zvw-bijdrage?"])[0]
    first = store.lexical_stats(terms)
    assert store.lexical_stats(terms) == first and store.lexical_stats(terms + ["onbekend"])[0] == first[0]
    assert sorted(p[0] for p in asked) == sorted(set(terms) | {"onbekend"})  # one lookup a term, known or not
    from vraagbaak.stores import local

    monkeypatch.setattr(local, "_DF_CACHE_TERMS", 0)  # a full cache starts afresh, and still counts right
    assert store.lexical_stats(terms) == first and len(store._df) == len(set(terms))
