"""The Milvus store against Milvus Lite, through pymilvus (the calls a cluster gets), with the fake model."""

import json
import threading

import pytest
from click.testing import CliRunner

from vraagbaak import ChunkingSettings, Index, IndexLoadError, VraagbaakError
from helpers import build
from vraagbaak.stores import milvus as milvus_store
from vraagbaak.cli import cli
from vraagbaak.stores.milvus import META_ID, PASSAGE, MilvusLocation, MilvusWriter


@pytest.fixture
def spec(tmp_path):
    return f"milvus:{tmp_path / 'vraagbaak.db'}"


def stored_passages(index) -> int:
    """Passage entities in the collection, live or not (no stray rows may stay)."""
    store = index.store
    found = store._client.query(store.collection, filter=f"kind == {PASSAGE}", output_fields=["count(*)"])
    return int(found[0]["count(*)"])


def signature(hits):
    return [(h.source, h.start, h.end, h.answer_start, h.answer_end) for h in hits]


QUESTIONS = ["wat is preventie?", "hoe werkt een sociaal wijkteam?", "wat doet een buurtcoach"]


def test_same_counts_and_same_ranking_as_the_local_store(fake, corpus, tmp_path, spec):
    local = Index.build(corpus, tmp_path / "local", model="fake", progress=False)
    milvus = build(corpus, spec)
    skip = {"seconds"}
    assert {k: v for k, v in milvus.report.to_dict().items() if k not in skip} == {
        k: v for k, v in local.report.to_dict().items() if k not in skip
    }
    assert milvus.documents == local.documents and milvus.passage_count == local.passage_count
    for mode in ("hybrid", "dense", "lexical"):
        for question in QUESTIONS:
            assert signature(milvus.search(question, k=5, mode=mode)) == signature(local.search(question, k=5, mode=mode)), (mode, question)
    source = "in-gesprek-over-sociaal-werk.txt"
    hits = milvus.search("wat is preventie?", k=3, source=source)
    assert hits and {h.source for h in hits} == {source}
    assert signature(hits) == signature(local.search("wat is preventie?", k=3, source=source))


def test_milvus_bm25_mode_ranks_with_milvus_scores(fake, corpus, spec):
    index = build(corpus, spec)
    location = MilvusLocation(spec, milvus_store.MilvusSettings(lexical="milvus"))
    native = Index(location.open())
    for question in QUESTIONS:
        hits = native.search(question, k=5, mode="lexical")
        assert hits and all(h.score > 0 for h in hits)
        assert hits[0].source == index.search(question, k=5, mode="lexical")[0].source
        assert len(native.search(question, k=5)) == 5


def test_unchanged_corpus_embeds_nothing_and_one_new_file_only_itself(fake, corpus, spec):
    first = build(corpus, spec)
    again = build(corpus, spec)
    assert again.report.passages_embedded == 0 and again.report.documents_unchanged == 5
    assert not again.report.model_loaded
    (corpus / "mantelzorg.txt").write_text("Mantelzorg\n\nMantelzorgers krijgen respijtzorg van het wijkteam.", encoding="utf-8")
    fake.embedded.clear()
    added = build(corpus, spec)
    r = added.report
    assert (r.documents_added, r.documents_unchanged, r.passages_embedded) == (1, 5, 1)
    assert r.passages_reused == first.passage_count
    assert added.search("respijtzorg voor mantelzorgers", k=1)[0].source == "mantelzorg.txt"
    assert stored_passages(added) == added.passage_count


def test_changed_and_removed_documents_replace_their_rows(fake, corpus, spec):
    build(corpus, spec)
    changed = corpus / "in-gesprek-over-sociaal-werk.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\nEen nieuwe alinea over zwaluwstaarten.", encoding="utf-8")
    (corpus / "wat-is-sociaal-werk.txt").unlink()
    index = build(corpus, spec)
    r = index.report
    assert (r.documents_changed, r.documents_removed, r.documents_unchanged) == (1, 1, 3)
    assert r.passages_reused > r.passages_embedded > 0  # the unchanged text of the changed file keeps its vectors
    assert "wat-is-sociaal-werk.txt" not in index.documents
    assert index.search("zwaluwstaarten", k=1, mode="lexical")[0].source == changed.name
    assert stored_passages(index) == index.passage_count  # old rows deleted at commit
    assert Index.load(store=spec).passage_count == index.passage_count


def passage_texts(index) -> dict[str, list[str]]:
    return {s: [p.text for p in index.store.document_passages(s)] for s in index.documents}


def local_version(corpus, folder) -> dict[str, list[str]]:
    """Per document, the passage texts the local store makes of the corpus as it is now."""
    return passage_texts(Index.build(corpus, folder, model="fake", progress=False))


def _change_every_document(corpus):
    for path in corpus.iterdir():
        path.write_text("Nieuw begin van de tekst.\n\n" + path.read_text(encoding="utf-8"), encoding="utf-8")


def test_a_renamed_file_reuses_its_vectors_on_milvus(fake, corpus, spec):
    build(corpus, spec)
    name = sorted(p.name for p in corpus.iterdir())[0]
    (corpus / name).rename(corpus / "hernoemd.txt")
    fake.embedded.clear()
    index = build(corpus, spec)
    r = index.report
    assert (r.documents_added, r.documents_removed, r.passages_embedded, r.sentences_embedded) == (1, 1, 0, 0) and fake.embedded == []
    assert name not in index.documents and {h.source for h in index.search("sociaal werk", k=3, source="hernoemd.txt")} == {"hernoemd.txt"}


def test_a_build_killed_midway_leaves_each_document_old_or_new(fake, corpus, tmp_path, spec, monkeypatch):
    build(corpus, spec)
    old = local_version(corpus, tmp_path / "old")
    _change_every_document(corpus)
    new = local_version(corpus, tmp_path / "new")
    calls = {"n": 0}
    original = MilvusWriter.add

    def dies_on_the_third(self, *args):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # as a kill: nothing after this point runs
        return original(self, *args)

    monkeypatch.setattr(MilvusWriter, "add", dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        build(corpus, spec)
    monkeypatch.setattr(MilvusWriter, "add", original)
    seen = passage_texts(Index.load(store=spec))
    assert set(seen) == set(old)
    assert all(seen[s] in (old[s], new[s]) for s in seen)
    assert sum(seen[s] == new[s] for s in seen) == 2 and sum(seen[s] == old[s] for s in seen) == 3
    index = build(corpus, spec)  # recovery drops the stray rows, then finishes the update
    assert index.report.documents_changed == 3 and index.report.documents_unchanged == 2
    assert passage_texts(index) == new
    assert stored_passages(index) == index.passage_count


def test_a_commit_killed_while_deleting_is_finished_by_the_next_build(fake, corpus, spec, monkeypatch):
    build(corpus, spec)
    _change_every_document(corpus)
    (corpus / "wat-is-sociaal-werk.txt").unlink()
    original = milvus_store._delete_other_versions

    def dies(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(milvus_store, "_delete_other_versions", dies)
    with pytest.raises(KeyboardInterrupt):
        build(corpus, spec)
    monkeypatch.setattr(milvus_store, "_delete_other_versions", original)
    reader = Index.load(store=spec)
    assert "wat-is-sociaal-werk.txt" not in reader.documents  # removed at the start of the commit
    assert stored_passages(reader) > reader.passage_count  # the old rows are still there, invisible
    hits = reader.search("nieuw begin van de tekst", k=5, mode="lexical")
    assert [h.text.startswith("Nieuw begin") for h in hits[:4]] == [True] * 4  # the four new versions lead
    assert "wat-is-sociaal-werk.txt" not in {h.source for h in hits}
    index = build(corpus, spec)
    assert index.report.passages_embedded == 0 and stored_passages(index) == index.passage_count
    assert len(index.documents) == 4


def test_a_reader_keeps_answering_while_a_writer_updates(fake, corpus, spec):
    build(corpus, spec)
    reader = Index.load(store=spec)
    errors, answered, stop = [], [], threading.Event()

    def ask():
        while not stop.is_set():
            try:
                hits = reader.search("wat is preventie?", k=5)
                assert len(hits) == 5 and all(h.answer for h in hits)
                answered.append(hits)
            except Exception as exc:  # any failure is the test's failure
                errors.append(exc)

    thread = threading.Thread(target=ask)
    thread.start()
    try:
        for n, fruit in enumerate(["appels", "peren", "kersen"]):
            (corpus / f"nieuw-{n}.txt").write_text(f"Tekst {n}\n\nPreventie met {fruit} in het wijkteam.", encoding="utf-8")
            changed = corpus / "burgers-en-sociaal-werkers.txt"
            changed.write_text(changed.read_text(encoding="utf-8") + f"\n\nAanvulling {n}.", encoding="utf-8")
            build(corpus, spec)
    finally:
        stop.set()
        thread.join()
    assert not errors, errors[0]
    assert len(answered) >= 3
    reader.store._checked = 0.0  # as after refresh_seconds: the reader sees the last commit
    assert reader.search("preventie met kersen", k=1, mode="lexical")[0].source == "nieuw-2.txt"


def test_other_model_is_refused_and_new_chunking_builds_a_new_collection(fake, corpus, spec):
    build(corpus, spec)
    with pytest.raises(IndexLoadError, match="gemaakt met model 'fake'"):
        Index.load(store=spec, model="other")
    location = MilvusLocation(spec)
    first = location.collection()
    before = Index.load(store=spec).passage_count
    rebuilt = build(corpus, spec, settings=ChunkingSettings(target_chars=400))
    assert rebuilt.report.model_loaded and rebuilt.passage_count > before
    assert location.collection() != first and first not in location.client.list_collections()


def test_format_version_mismatch_is_one_clear_line(fake, corpus, spec):
    index = build(corpus, spec)
    store = index.store
    meta = dict(store.meta, format_version=99)
    store._client.upsert(store.collection, [milvus_store._record_entity(2, META_ID, "", meta, store.config.dimension)])
    with pytest.raises(IndexLoadError, match="formaatversie 99, deze Vraagbaak leest"):
        Index.load(store=spec)


def test_missing_index_and_bad_names_are_clear(fake, corpus, spec, tmp_path):
    with pytest.raises(IndexLoadError, match="er is geen index 'vraagbaak' in .*maak hem met"):
        Index.load(store=spec)
    with pytest.raises(VraagbaakError, match="indexnaam"):
        Index.load(store=f"{spec}#bad-name")
    with pytest.raises(VraagbaakError, match="Milvus op http://127.0.0.1:9 kan niet worden geopend"):
        Index.load(store="milvus:http://127.0.0.1:9")


def test_two_indexes_in_one_milvus_are_separate(fake, corpus, tmp_path, spec):
    build(corpus, spec)
    other = tmp_path / "other"
    other.mkdir()
    (other / "een.txt").write_text("Een\n\nAlleen deze tekst.", encoding="utf-8")
    small = build(other, f"{spec}#vraagbaak_gemeente")  # a name that starts as the other's collections do
    assert small.documents == {"een.txt": "Een"}
    assert len(build(corpus, spec).documents) == 5  # its recovery leaves the other index alone
    assert Index.load(store=f"{spec}#vraagbaak_gemeente").documents == {"een.txt": "Een"}


def test_cli_build_and_ask_on_milvus(fake, corpus, spec):
    run = lambda *args: CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    counts = json.loads(run("build", "--corpus", corpus, "--store", spec, "--model", "fake", "--json").stdout)
    assert counts["documents_added"] == 5 and counts["index"] == spec
    again = json.loads(run("build", "--corpus", corpus, "--store", spec, "--json").stdout)
    assert again["passages_embedded"] == 0 and again["documents_unchanged"] == 5
    hits = json.loads(run("ask", "wat is preventie?", "--store", spec, "--json", "--weak").stdout)
    assert len(hits) == 5 and hits[0]["answer"]
    missing = run("ask", "wat is preventie?", "--store", spec + "#leeg")
    assert missing.exit_code == 2 and missing.stderr.startswith("fout: er is geen index 'leeg'")


def test_sentence_codes_fit_milvus_field_limit():
    import numpy as np

    vectors = np.random.default_rng(0).normal(size=(400, 384)).astype(np.float32)
    text = milvus_store._encode_codes(vectors, 384)
    assert len(text) <= milvus_store.MAX_VARCHAR
    decoded = milvus_store._decode_codes(text, 384)
    assert 100 < len(decoded) < 400  # the first ones that fit
    cos = (decoded * vectors[: len(decoded)]).sum(1) / np.linalg.norm(decoded, axis=1) / np.linalg.norm(vectors[: len(decoded)], axis=1)
    assert cos.min() > 0.99


def test_a_milvus_server_over_http(fake, corpus, tmp_path):
    """The server path (``milvus:http://...``): Milvus Lite's gRPC server in its own process, as a cluster is reached."""
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(tmp_path / "srv"), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        spec = f"milvus:http://127.0.0.1:{port}#faq"
        first = build(corpus, spec)
        assert first.report.documents_added == 5
        assert build(corpus, spec).report.passages_embedded == 0
        reader = Index.load(store=spec)
        assert reader.passage_count == first.passage_count and reader.search("wat is preventie?", k=3)[0].answer
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_page_index_updates_on_milvus(fake, corpus, spec):
    from vraagbaak.live import LiveIndex

    live = LiveIndex(corpus, spec, model="fake")
    assert live.update(progress=False).documents_added == 5
    live.add("respijt.txt", "Respijtzorg\n\nMantelzorgers krijgen respijtzorg van het wijkteam.".encode())
    report = live.update(progress=False)
    assert report.documents_added == 1 and report.passages_embedded == 1
    assert live.search("respijtzorg voor mantelzorgers", k=1)[0].source == "respijt.txt"
