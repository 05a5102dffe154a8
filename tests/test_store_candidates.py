"""The local store's candidate paths give what reading everything gives (they read less)."""

import random
from collections import Counter

import numpy as np

from helpers import build
from vraagbaak.lexical import idf, tokenize

WORDS = ["gemeente", "zorg", "wijkteam", "bijstand", "woning", "jeugd", "armoede", "schulden", "vrijwilliger", "buurthuis",
         "mantelzorg", "uitkering", "bezwaar", "besluit", "college", "subsidie", "preventie", "welzijn", "school", "werk"]


def _corpus(folder, documents=60, seed=3):
    """Documents whose words follow a steep curve: a few words in almost every passage, most in few."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) ** 1.2 for rank in range(len(WORDS))]
    folder.mkdir()
    for d in range(documents):
        paragraphs = [" ".join(rng.choices(WORDS, weights, k=rng.randint(6, 14))).capitalize() + "." for _ in range(rng.randint(2, 6))]
        (folder / f"doc-{d:03d}.txt").write_text(f"Document {d}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")


def _reading_everything(store, terms, limit, within=None):
    """The candidates as a store found them before MaxScore: every list read, a row scores the summed weights
    (added rarest term first, so that rows with equal weights tie exactly and rank by row)."""
    df, n, _ = store.lexical_stats(terms)
    allowed = store.allowed_rows(within)
    score = Counter()
    for term, count in sorted(Counter(t for t in terms if t in df).items(), key=lambda tc: (df[tc[0]], tc[0])):
        for (row,) in store._query("SELECT rowid FROM lexical WHERE lexical MATCH ?", [f'"{term}"']):
            if row < len(allowed) and allowed[row]:
                score[row] += count * idf(df[term], n)
    rows = np.array(sorted(score), np.int64)
    values = np.array([score[r] for r in rows])
    return rows[np.argsort(-values, kind="stable")[:limit]]


def test_lexical_candidates_are_those_of_reading_every_posting_list(fake, tmp_path):
    _corpus(tmp_path / "corpus")
    store = build(tmp_path / "corpus", tmp_path / "idx").store
    rng = random.Random(7)
    sources = sorted(store.document_records)
    checked, expressions, read = 0, [], store._rowids
    store._rowids = lambda expression: expressions.append(expression) or read(expression)
    for _ in range(60):
        question = " ".join(rng.sample(WORDS, rng.randint(1, 6)))
        terms = tokenize([question])[0]
        for limit in (1, 5, 20, 200):
            for within in (None, frozenset(rng.sample(sources, 10))):
                got = store.lexical_candidates(terms, limit, within)
                assert got.tolist() == _reading_everything(store, terms, limit, within).tolist(), (question, limit, within)
                checked += 1
    assert checked == 480
    pruned = [e for e in expressions if " AND " in e]  # a commoner term looked up only among the rows read
    assert len(pruned) > 50 and len(pruned) < len(expressions) / 2


def test_sentence_similarities_are_each_rows_sentences_against_the_question(fake, corpus, tmp_path):
    store = build(corpus, tmp_path / "idx").store
    query = fake.embed_queries(["wat is preventie in de wijk?"])[0]
    rows = [3, 0, store.passage_count - 1, 3, 7]  # any order, a row twice
    got = store.sentence_similarities(query, rows)
    expected = [store.sentence_vectors(r) @ query for r in rows]
    assert [len(g) for g in got] == [len(e) for e in expected] and all(len(e) for e in expected)
    assert all(np.allclose(g, e, atol=1e-6) for g, e in zip(got, expected))
    assert store.sentence_similarities(query, []) == []


def test_a_reader_maps_the_sqlite_file_and_reads_the_same_passages(fake, corpus, tmp_path):
    from vraagbaak.stores.local import FolderLocation, LocalStore, StoreSettings

    store = build(corpus, tmp_path / "idx").store
    unmapped = LocalStore.open(tmp_path / "idx", settings=StoreSettings(sqlite_mmap_bytes=0))
    assert store._con.execute("PRAGMA mmap_size").fetchone()[0] > 0
    assert unmapped._con.execute("PRAGMA mmap_size").fetchone()[0] == 0
    rows = list(range(store.passage_count))
    assert store.passages(rows) == unmapped.passages(rows) and all(p is not None for p in store.passages(rows))
    assert FolderLocation(tmp_path / "idx").open()._con.execute("PRAGMA mmap_size").fetchone()[0] > 0


def test_passage_heads_are_the_heads_of_the_whole_passages(fake, corpus, tmp_path):
    from vraagbaak.stores.base import heads_of

    store = build(corpus, tmp_path / "idx").store
    rows = [5, 0, store.passage_count - 1, 5, store.passage_count + 3]  # any order, a row twice, one that does not exist
    heads = store.passage_heads(rows)
    assert heads == heads_of(store.passages(rows)) and heads[-1] is None and all(h is not None for h in heads[:-1])
    whole = store.passages([5])[0]
    assert (heads[0].id, heads[0].source, heads[0].text, heads[0].terms) == (5, whole.source, whole.text, whole.terms)
    assert store.passage_heads([]) == []


def test_half_floats_convert_as_numpy_converts_them():
    from vraagbaak.stores.local import _as_float32, _cosines

    every = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16).reshape(256, 256)  # subnormals, inf, NaN too
    got = _as_float32(every)
    assert got.dtype == np.float32 and np.array_equal(got.view(np.uint32), every.astype(np.float32).view(np.uint32))
    rng = np.random.default_rng(1)
    rows, query = rng.normal(size=(50, 384)).astype(np.float16), rng.normal(size=384).astype(np.float32)
    assert np.array_equal(_cosines(rows, query), np.einsum("ij,j->i", rows.astype(np.float32), query))
    codes = rng.integers(-127, 128, size=(7, 384)).astype(np.int8)
    assert np.array_equal(_as_float32(codes), codes.astype(np.float32))


def test_postings_merged_one_list_at_a_time_sum_as_all_lists_sorted_together():
    from vraagbaak.stores.local import add_postings, best_rows

    rng = np.random.default_rng(8)
    for trial in range(300):
        lists, unique, scores = [], np.zeros(0, np.int64), np.zeros(0)
        for _ in range(rng.integers(1, 6)):
            rows = np.unique(rng.integers(0, 400, size=rng.integers(0, 120)))
            if trial % 5 == 0:  # not in ascending order (nor unique): the general way
                rows = rng.permutation(np.concatenate([rows, rows[: len(rows) // 3]]))
            lists.append((rows, float(rng.choice([0.3, 1.7, 2.05, 0.1 + 0.2]))))
            unique, scores = add_postings(unique, scores, lists)
            # as lexical_candidates summed them before: every list read so far, sorted together
            expected, inverse = np.unique(np.concatenate([r for r, _ in lists]), return_inverse=True)
            sums = np.bincount(inverse, weights=np.concatenate([np.full(len(r), w) for r, w in lists]), minlength=len(expected))
            assert np.array_equal(unique, expected) and np.array_equal(scores, sums)
        for limit in (1, 5, 50, 1000):
            assert best_rows(unique, scores, limit).tolist() == unique[np.argsort(-scores, kind="stable")[:limit]].tolist()
    ties = np.array([10, 11, 12, 13]), np.array([1.0, 2.0, 1.0, 1.0])
    assert best_rows(*ties, 2).tolist() == [11, 10] and best_rows(*ties, 0).tolist() == []
