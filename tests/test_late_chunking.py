"""Sentence vectors from their passage's own pass ("late chunking", build._Embedding), with a fake that has token states."""

import numpy as np
import pytest

from fake_embedder import FakeEmbedder, TokenFakeEmbedder
from helpers import live_passages, texts_embedded
from vraagbaak import Index, embeddings
from vraagbaak.build import BuildOptions, BuildSettings, build_index, plan_changes
from vraagbaak.chunking import ChunkingSettings
from vraagbaak.corpus import scan_corpus
from vraagbaak.embeddings import embed_with_sentences


@pytest.fixture
def token_fake():
    instance = TokenFakeEmbedder()
    embeddings.register_embedder("fake", lambda: instance)
    try:
        yield instance
    finally:
        embeddings.unregister_embedder("fake")


def build(corpus, store, late=True, rebuild=False) -> Index:
    """A build that takes sentence vectors from their passage's pass (``BuildSettings.late_chunking``) where it can."""
    reader, report = build_index(corpus, store, BuildOptions(model="fake", progress=False, rebuild=rebuild, tuning=BuildSettings(late_chunking=late)))
    index = Index(reader, report=report)
    return index


def _sentence_texts(p):
    return [p.text[a - p.start : b - p.start] for a, b in p.sentences]


def test_a_new_index_embeds_each_passage_once_and_no_sentence(token_fake, corpus, tmp_path):
    index = build(corpus, tmp_path / "idx")
    store, r = index.store, index.report
    assert store.config.sentences == "late"
    passages = live_passages(index)
    texts = texts_embedded(token_fake)
    assert len(texts) == r.passages_embedded == len(passages)  # passages only: no sentence embedded alone
    assert r.sentences_embedded == sum(len(p.sentences) for p in passages)
    for p in passages:
        stored = store.sentence_vectors(p.id)
        expected = token_fake.embed_passages(_sentence_texts(p))  # the fake's late vectors equal these (see its docstring)
        assert stored.shape == expected.shape and np.all(np.sum(stored * expected, axis=1) > 0.99)
        assert float(store.passage_vector(p.id) @ token_fake.embed_passages([t for t in texts if t.endswith(p.text)][:1])[0]) > 0.999


def test_a_changed_document_reembeds_only_its_changed_passages(token_fake, corpus, tmp_path):
    first = build(corpus, tmp_path / "idx")
    before = {(p.source, p.text): first.store.sentence_vectors(p.id) for p in live_passages(first)}
    doc = sorted(corpus.iterdir())[0]
    doc.write_text(doc.read_text(encoding="utf-8") + "\n\nEen nieuwe alinea over het buurthuis. Die gaat over koffie.\n", encoding="utf-8")
    token_fake.embedded.clear()
    again = build(corpus, tmp_path / "idx")
    r = again.report
    assert r.documents_changed == 1 and 0 < r.passages_embedded <= 3 and r.passages_reused > 0
    assert len(token_fake.embedded) == r.passages_embedded  # the changed passages, and not one sentence alone
    assert all("buurthuis" in t or doc.stem not in t for t in token_fake.embedded)
    for p in live_passages(again):
        if (p.source, p.text) in before:  # an unchanged passage keeps the sentence vectors of its own pass
            assert np.allclose(again.store.sentence_vectors(p.id), before[p.source, p.text])


def test_an_index_keeps_the_way_its_sentence_vectors_were_made(corpus, tmp_path):
    """An index whose sentences were embedded alone (an earlier version, or an embedder without
    token states) stays so when updated by one that has them; a rebuild makes it anew."""
    plain = FakeEmbedder()
    embeddings.register_embedder("fake", lambda: plain)
    try:
        assert build(corpus, tmp_path / "idx").store.config.sentences == ""
        embeddings.register_embedder("fake", TokenFakeEmbedder)
        (corpus / "nieuw.txt").write_text("Nieuw\n\nEen tekst over de wijk. Met twee zinnen.\n", encoding="utf-8")
        updated = build(corpus, tmp_path / "idx")
        assert updated.store.config.sentences == "" and updated.report.documents_added == 1
        store = updated.store
        files = scan_corpus(corpus, lambda *a: None)
        chunking = ChunkingSettings().to_dict()
        assert not plan_changes(files, store, "fake", chunking, sentences=None).new_generation  # not known before loading: kept
        assert plan_changes(files, store, "fake", chunking, sentences="late").new_generation  # the bundled model's builds know
        rebuilt = build(corpus, tmp_path / "idx", rebuild=True)
        assert rebuilt.store.config.sentences == "late"
        assert plan_changes(files, rebuilt.store, "fake", chunking, sentences="").new_generation  # the default way again: made anew
        assert build(corpus, tmp_path / "other", late=False).store.config.sentences == ""  # the default: each sentence alone
    finally:
        embeddings.unregister_embedder("fake")


def test_a_sentence_past_the_tokens_the_model_sees_is_embedded_alone():
    fake = TokenFakeEmbedder(max_tokens=5)
    text = "Eerste zin met vijf woorden. Tweede zin die te ver staat."
    spans = [(0, 28), (29, len(text))]
    [(passage, sentences)] = embed_with_sentences(fake, [text], [spans])
    assert fake.embedded == [text, text[29:]]  # the passage once, and the sentence the model did not see
    assert np.allclose(sentences, fake.embed_passages([text[0:28], text[29:]]), atol=1e-6)
    assert np.allclose(passage, fake.embed_passages(["Eerste zin met vijf woorden."])[0], atol=1e-6)  # what it saw
