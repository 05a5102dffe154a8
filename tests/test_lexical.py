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
    assert tokenize(texts, compounds=False) == [list(t) for t in expected]


def test_a_compound_brings_its_parts_and_a_common_word_stays_whole():
    from vraagbaak.compounds import split_compound

    assert split_compound("tuinbed") == ("tuin", "bed")
    assert split_compound("zorgverzekeringswet") == ("zorgverzekering", "wet")  # linking s dropped
    assert split_compound("schuldhulpverlening") == ("schuld", "hulpverlening")
    for word in ("verzekering", "uitkering", "aanvraag", "vriendelijk", "preventie", "kinderen", "12345678"):
        assert split_compound(word) == (), word  # common words, particles and suffixes are no parts
    plain, split = tokenize(["Een tuinbed kost"], compounds=False)[0], tokenize(["Een tuinbed kost"])[0]
    assert split == plain + tokenize(["tuin bed"], compounds=False)[0]  # the compound stays, its parts follow


def test_a_compound_question_finds_its_passage_through_bm25():
    docs = ["Een tuinbed huur je bij de volkstuinvereniging.",
            "In de tuin achter het buurthuis staat een bank.",
            "Het bed in de logeerkamer is opgemaakt."] + DOCS
    question = "Waar kan ik een bed in de tuin huren?"
    scores = ours(docs, question)
    assert int(np.argmax(scores)) == 0 and scores[0] > 1.5 * sorted(scores)[-2]  # it holds tuin, bed and huur
    plain = set(tokenize([docs[0]], compounds=False)[0])
    assert {"tuin", "bed"}.isdisjoint(plain)  # without the compound's parts only "huur" would match


def test_stored_scores_equal_bm25_over_the_parsed_terms():
    """The counting shortcut of ``stored_scores`` against ``bm25_scores`` of the same passages'
    term lists: words, compound parts after the marker, repeats, neighbours that share a prefix."""
    import random

    from vraagbaak.lexical import PARTS, bm25_scores, stored_scores, term_length, term_list

    rng = random.Random(7)
    vocab = [f"w{i}" for i in range(25)]  # "w1" and "w12": a term must not match inside another
    for _ in range(500):
        stored = []
        for _ in range(6):
            words = [rng.choice(vocab) for _ in range(rng.randint(0, 12))]
            parts = [rng.choice(vocab) for _ in range(rng.randint(0, 4))]
            stored.append(" ".join(words + ([PARTS, *parts] if parts else [])))
        question = [rng.choice(vocab) for _ in range(rng.randint(1, 5))]
        df = {t: rng.randint(0, 6) for t in vocab}
        expected = bm25_scores(question, [term_list(t) for t in stored], df, 60, 7.5, [term_length(t) for t in stored])
        np.testing.assert_allclose(stored_scores(question, stored, df, 60, 7.5), expected, atol=1e-6)


def _stored_scores_one_by_one(query_terms, stored, df, n, mean_length):
    """``stored_scores`` as it was before issue 39: each passage's terms doubled, a ``str.count`` per term."""
    from vraagbaak.lexical import B, K1, PARTS, idf

    scores = np.zeros(len(stored), np.float32)
    terms = [t for t in query_terms if df.get(t, 0) > 0]
    if not terms or n <= 0 or mean_length <= 0:
        return scores
    weights = [(f" {t} ", idf(df[t], n)) for t in terms]
    for i, text in enumerate(stored):
        spaced = f" {text} "
        cut = spaced.find(f" {PARTS} ")
        words = spaced[:cut] if cut >= 0 else spaced[:-1]
        length = words.count(" ") if words.strip() else 0
        doubled = spaced.replace(" ", "  ")
        norm = K1 * ((1 - B) + B * length / mean_length)
        total = 0.0
        for needle, weight in weights:
            count = doubled.count(needle)
            if count:
                total += weight * count / (norm + count)
        scores[i] = total
    return scores


def test_stored_scores_are_bit_for_bit_those_of_scoring_each_passage_alone():
    """All candidates' terms searched at once give exactly the float32 scores of the loop per passage:
    neighbouring repeats, a term that begins another, non-ASCII stems, only parts, empty passages."""
    import random

    from vraagbaak.lexical import PARTS, stored_scores

    rng = random.Random(11)
    vocab = ["kind", "kinder", "kinderopvang", "toeslag", "café", "ë", "w1", "w12", "a", "aa"]
    for _ in range(400):
        stored = []
        for _ in range(rng.randint(1, 40)):
            words = [rng.choice(vocab) for _ in range(rng.randint(0, 15))]
            parts = [rng.choice(vocab) for _ in range(rng.randint(0, 4))]
            stored.append(" ".join(words + ([PARTS, *parts] if parts else [])))
        question = [rng.choice(vocab + ["elders"]) for _ in range(rng.randint(1, 6))]
        df = {t: rng.randint(0, 30) for t in vocab}
        n, mean_length = rng.randint(30, 10**6), rng.uniform(3, 120)
        got, expected = stored_scores(question, stored, df, n, mean_length), _stored_scores_one_by_one(question, stored, df, n, mean_length)
        assert got.dtype == np.float32 and np.array_equal(got, expected), (question, stored)
    assert stored_scores(["kind"], [], {"kind": 1}, 10, 5.0).shape == (0,)
