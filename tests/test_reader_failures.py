"""One failing reader costs only its files (issue 21): never the build, never the upload."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import shadow_library
from vraagbaak import Index
from vraagbaak.errors import VraagbaakError
from vraagbaak.live import LiveIndex

TESTS = Path(__file__).resolve().parent
PAGE = b"<html><body><article><h1>Wijkteam</h1><p>Het wijkteam helpt bewoners met vragen over zorg en geld.</p></article></body></html>"


RAISES = {
    "RuntimeError": 'def extract(*args, **kwargs):\n    raise RuntimeError("kapot in de bibliotheek")\n',
    "ImportError": 'raise ImportError("lxml.html.clean module is now a separate project")\n',
}


def build(corpus, index_dir, **kwargs):
    skipped = []
    index = Index.build(corpus, index_dir, model="fake", progress=False, on_skip=lambda s, r: skipped.append((s, r)), **kwargs)
    return index, skipped


@pytest.mark.parametrize("error", sorted(RAISES))
def test_a_reader_that_raises_skips_its_file_and_the_build_goes_on(fake, corpus, tmp_path, monkeypatch, error):
    (corpus / "pagina.html").write_bytes(PAGE)
    shadow_library(monkeypatch, tmp_path, "trafilatura", RAISES[error])
    index, skipped = build(corpus, tmp_path / "idx")
    assert index.report.skipped == [["pagina.html", "kon niet gelezen worden (fout in de HTML-lezer)"]]
    assert sorted(index.documents) == sorted(p.name for p in corpus.glob("*.txt"))  # the five others
    log = (tmp_path / "idx" / "errors.log").read_text(encoding="utf-8")
    assert "pagina.html" in log and "Traceback" in log and error in log
    assert skipped[0][0] == "pagina.html" and "errors.log" in skipped[0][1]  # the warning says where to look


def test_a_reader_out_of_memory_skips_its_file_as_too_large(fake, corpus, tmp_path, monkeypatch):
    (corpus / "pagina.html").write_bytes(PAGE)
    shadow_library(monkeypatch, tmp_path, "trafilatura", "def extract(*args, **kwargs):\n    raise MemoryError()\n")
    index, skipped = build(corpus, tmp_path / "idx")
    assert index.report.skipped == [["pagina.html", "te groot om te lezen: meer dan 1,5 GB geheugen nodig"]]
    assert sorted(index.documents) == sorted(p.name for p in corpus.glob("*.txt"))


def test_worker_processes_skip_a_failing_file_too(fake, corpus, tmp_path, monkeypatch):
    for n in range(70):  # past BuildSettings.pool_min_files: split by a pool of forked workers
        (corpus / f"notitie-{n:02}.txt").write_text(f"Notitie {n} over het buurthuis en de wijk.", encoding="utf-8")
    (corpus / "pagina.html").write_bytes(PAGE)
    shadow_library(monkeypatch, tmp_path, "trafilatura", RAISES["RuntimeError"])
    index, _ = build(corpus, tmp_path / "idx", workers=2)
    assert index.report.skipped == [["pagina.html", "kon niet gelezen worden (fout in de HTML-lezer)"]]
    assert len(index.documents) == 75
    assert "RuntimeError: kapot in de bibliotheek" in (tmp_path / "idx" / "errors.log").read_text(encoding="utf-8")


def test_a_failure_while_splitting_skips_that_file(fake, corpus, tmp_path, monkeypatch):
    from vraagbaak import build as build_module

    real = build_module.chunk_document

    def chunk(text, title, *args, **kwargs):
        if "preventie" in text.lower() and "Maar wat is preventie eigenlijk" in text:
            raise ValueError("splitter kapot")
        return real(text, title, *args, **kwargs)

    monkeypatch.setattr(build_module, "chunk_document", chunk)
    index, _ = build(corpus, tmp_path / "idx")
    assert index.report.skipped == [["in-gesprek-over-sociaal-werk.txt", "kon niet in passages worden verdeeld (fout in Vraagbaak)"]]
    assert len(index.documents) == 4
    assert "ValueError: splitter kapot" in (tmp_path / "idx" / "errors.log").read_text(encoding="utf-8")


BROKEN_LIBRARY = 'raise ImportError("lxml.html.clean module is now a separate project lxml_html_clean")\n'
CLI = """
import sys
sys.path.insert(0, {tests!r})
from fake_embedder import FakeEmbedder
from vraagbaak import register_embedder
from vraagbaak.cli import cli
register_embedder("fake", FakeEmbedder)
cli(sys.argv[1:], prog_name="vraagbaak")
"""


def test_a_reader_library_that_fails_to_import_costs_only_its_files(corpus, tmp_path):
    shadow = tmp_path / "shadow" / "trafilatura"  # found before the real one on PYTHONPATH
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(BROKEN_LIBRARY)
    (corpus / "pagina.html").write_bytes(PAGE)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path / "shadow"), str(TESTS.parent)]))
    out = subprocess.run([sys.executable, "-c", CLI.format(tests=str(TESTS)), "build", "--corpus", str(corpus),
                          "--index", str(tmp_path / "idx"), "--model", "fake", "--json"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["skipped"] == [["pagina.html", "kon niet gelezen worden (fout in de HTML-lezer)"]]
    assert report["documents_added"] == 5
    assert "Traceback" not in out.stderr and "Overgeslagen: pagina.html" in out.stderr
    log = (tmp_path / "idx" / "errors.log").read_text(encoding="utf-8")
    assert "ImportError: lxml.html.clean module is now a separate project" in log


def test_an_upload_a_reader_fails_on_is_refused_with_the_reason_and_not_saved(fake, corpus, tmp_path, monkeypatch):
    live = LiveIndex(corpus, tmp_path / "idx", model="fake")
    live.update(progress=False)
    before = sorted(p.name for p in corpus.iterdir())
    shadow_library(monkeypatch, tmp_path, "trafilatura", RAISES["RuntimeError"])
    with pytest.raises(VraagbaakError, match=r"pagina\.html is niet leesbaar: kon niet gelezen worden \(fout in de HTML-lezer\)"):
        live.add("pagina.html", PAGE)
    assert sorted(p.name for p in corpus.iterdir()) == before
    assert "RuntimeError: kapot in de bibliotheek" in (tmp_path / "idx" / "errors.log").read_text(encoding="utf-8")
