"""Checkpointed builds (issue 21): a long build commits finished documents as it
goes, a kill keeps them, and the next build continues without embedding them again."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vraagbaak import ChunkingSettings, Index
from helpers import build, by_document
from vraagbaak.stores.local import NEXT

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
QUESTIONS = ["wat is preventie?", "hoe helpt het buurthuis bewoners?", "extra document over de wijk"]

KILLABLE_BUILD = """
import sys
sys.path.insert(0, {tests!r})
from fake_embedder import FakeEmbedder
from vraagbaak import ChunkingSettings, Index, register_embedder
register_embedder("fake", lambda: FakeEmbedder(delay=0.15))
def progress(p):
    print("progress", p.documents_done, p.documents_committed, p.checkpoints, flush=True)
Index.build({corpus!r}, {index!r}, model="fake", progress=progress, settings={settings}, checkpoint_seconds=0.3)
print("finished", flush=True)
"""


def rankings(index) -> list[list[tuple]]:
    return [[(h.source, h.start, h.end) for h in index.search(q, k=5)] for q in QUESTIONS]


@pytest.fixture
def big_corpus(corpus):
    for i in range(40):  # enough passages for many checkpoints at the fake model's pace
        (corpus / f"extra-{i:02}.txt").write_text(
            f"Extra document {i}\n\n" + "".join(f"Zin {j} over de wijk en het buurthuis nummer {i}. " for j in range(60)), encoding="utf-8")
    return corpus


def kill_after_checkpoint(corpus, index_dir, settings="None", reference=None) -> int:
    """Run a build in a process, SIGKILL it after its first checkpoint; return the documents it had committed.

    While it runs, readers open the index over and over: each must see whole documents only."""
    script = KILLABLE_BUILD.format(tests=str(TESTS), corpus=str(corpus), index=str(index_dir), settings=settings)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    committed, checks = 0, 0
    try:
        for line in proc.stdout:
            assert not line.startswith("finished"), "the build ended before it could be killed"
            _, done, committed_now, checkpoints = line.split()
            if reference is not None and (index_dir / "CURRENT").exists():
                seen = by_document(Index.load(index_dir))
                assert all(seen[s] == reference[s] for s in seen), "a reader saw part of a document"
                checks += 1
            if int(checkpoints) >= 2:
                committed = int(committed_now)
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    assert committed > 0 and (reference is None or checks > 0)
    return committed


def test_a_first_build_killed_after_a_checkpoint_keeps_its_documents_and_is_continued(fake, big_corpus, tmp_path):
    whole = build(big_corpus, tmp_path / "whole", checkpoint_seconds=None)
    reference = by_document(whole)
    index_dir = tmp_path / "idx"
    committed = kill_after_checkpoint(big_corpus, index_dir, reference=reference)
    survivor = Index.load(index_dir)  # the last checkpoint is a usable index
    kept = by_document(survivor)
    assert committed <= len(kept) < len(reference)
    assert all(kept[s] == reference[s] for s in kept)  # whole documents only
    fake.embedded.clear()
    again = build(big_corpus, index_dir)
    assert again.report.documents_unchanged == len(kept)  # not embedded again
    assert again.report.documents_added == len(reference) - len(kept)
    kept_texts = {t for s in kept for (_, _, t, _) in kept[s]}
    assert not kept_texts & {t.removeprefix("passage: ") for t in fake.embedded}
    assert by_document(again) == reference  # ends equal to an uninterrupted build
    assert rankings(again) == rankings(whole)


def test_a_rebuild_killed_after_a_checkpoint_keeps_the_old_index_and_is_continued(fake, big_corpus, tmp_path):
    index_dir = tmp_path / "idx"
    old = by_document(build(big_corpus, index_dir))
    other = "ChunkingSettings(target_chars=500)"
    whole = build(big_corpus, tmp_path / "whole", settings=ChunkingSettings(target_chars=500), checkpoint_seconds=None)
    kill_after_checkpoint(big_corpus, index_dir, settings=other)
    assert by_document(Index.load(index_dir)) == old  # readers keep the complete old index
    assert (index_dir / NEXT).is_file()  # the new generation's finished part is kept
    again = build(big_corpus, index_dir, settings=ChunkingSettings(target_chars=500))
    assert again.report.documents_unchanged > 0 and again.report.documents_added > 0
    assert again.report.documents_unchanged + again.report.documents_added == len(old)
    assert by_document(again) == by_document(whole)
    assert not (index_dir / NEXT).exists()
    assert len([p for p in index_dir.iterdir() if p.is_dir()]) == 1


def test_an_unfinished_generation_for_other_settings_is_given_up(fake, big_corpus, tmp_path):
    index_dir = tmp_path / "idx"
    build(big_corpus, index_dir)
    kill_after_checkpoint(big_corpus, index_dir, settings="ChunkingSettings(target_chars=500)")
    generations = {p.name for p in index_dir.iterdir() if p.is_dir()}
    assert len(generations) == 2  # the current one and the unfinished 500-character one
    again = build(big_corpus, index_dir, settings=ChunkingSettings(target_chars=900))
    whole = build(big_corpus, tmp_path / "whole", settings=ChunkingSettings(target_chars=900))
    assert by_document(again) == by_document(whole)
    assert not (index_dir / NEXT).exists()
    assert [p.name for p in index_dir.iterdir() if p.is_dir()] == [again.store.generation]


def test_ctrl_c_keeps_the_checkpointed_documents(fake, big_corpus, tmp_path, monkeypatch):
    from vraagbaak.stores.local import LocalWriter

    original, calls = LocalWriter.add, {"n": 0}

    def interrupted(self, *args):
        calls["n"] += 1
        if calls["n"] == 30:
            raise KeyboardInterrupt
        return original(self, *args)

    monkeypatch.setattr(LocalWriter, "add", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(big_corpus, tmp_path / "idx", checkpoint_seconds=0)
    monkeypatch.undo()
    kept = Index.load(tmp_path / "idx").documents
    assert 0 < len(kept) < 30  # what the checkpoints before the interrupt committed
    assert build(big_corpus, tmp_path / "idx").report.documents_unchanged == len(kept)


def test_progress_reports_documents_passages_rate_and_time_left(fake, big_corpus, tmp_path):
    seen = []
    Index.build(big_corpus, tmp_path / "idx", model="fake", progress=seen.append, checkpoint_seconds=0)
    last = seen[-1]
    assert last.documents_done == last.documents_total == 45 and last.passages_done > 45
    assert [p.documents_done for p in seen] == sorted(p.documents_done for p in seen)
    assert last.checkpoints >= 1 and last.documents_committed <= last.documents_done
    assert last.seconds_left == 0 and last.documents_per_minute > 0
    assert any(p.seconds_left is not None and p.seconds_left > 0 for p in seen[:-1])


def test_the_milvus_store_keeps_a_killed_first_build_s_checkpointed_documents(fake, big_corpus, tmp_path, monkeypatch):
    pytest.importorskip("milvus_lite")
    from vraagbaak.stores.milvus import MilvusWriter

    spec = f"milvus:{tmp_path / 'vraagbaak.db'}"
    original, calls = MilvusWriter.add, {"n": 0}

    def killed(self, *args):
        calls["n"] += 1
        if calls["n"] == 30:
            raise KeyboardInterrupt  # as a kill: nothing after this runs
        return original(self, *args)

    monkeypatch.setattr(MilvusWriter, "add", killed)
    with pytest.raises(KeyboardInterrupt):
        Index.build(big_corpus, store=spec, model="fake", progress=False, checkpoint_seconds=0)
    monkeypatch.undo()
    kept = Index.load(store=spec).documents
    assert 0 < len(kept) < 30
    again = Index.build(big_corpus, store=spec, model="fake", progress=False)
    assert again.report.documents_unchanged == len(kept) and len(again.documents) == 45
