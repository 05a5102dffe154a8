"""Which file a source link may reach, what a hit links to, duplicates, and the page's words for dates and matches."""

import os

import pytest

from helpers import build
from vraagbaak import VraagbaakError
from vraagbaak.corpus import add_document, fingerprint
from vraagbaak.search import Hit, RankingSettings, match_words, split_weak
from vraagbaak.sources import link, resolve_source


@pytest.fixture
def folder(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "team-a").mkdir(parents=True)
    (corpus / "team-a" / "nota.pdf").write_bytes(b"%PDF-1.4")
    (corpus / "a.txt").write_text("tekst", encoding="utf-8")
    (tmp_path / "geheim.txt").write_text("buiten de map", encoding="utf-8")
    return corpus


def test_a_known_source_resolves_to_its_file(folder):
    assert resolve_source(folder, "team-a/nota.pdf", {"team-a/nota.pdf", "a.txt"}) == (folder / "team-a" / "nota.pdf").resolve()


@pytest.mark.parametrize("requested", [
    "../geheim.txt", "team-a/../../geheim.txt", "/etc/passwd", str("{folder}/a.txt"), "team-a\\..\\..\\geheim.txt",
    "%2e%2e/geheim.txt", "a.txt\x00.pdf", "", "./a.txt", "team-a//nota.pdf",
])
def test_paths_that_leave_the_corpus_or_are_not_indexed_are_refused(folder, requested):
    requested = requested.replace("{folder}", str(folder))
    known = {"team-a/nota.pdf", "a.txt", requested}  # even a listed name must stay inside the corpus folder
    assert resolve_source(folder, requested, known) is None


def test_a_source_the_caller_may_not_open_is_refused(folder):
    assert resolve_source(folder, "a.txt", {"team-a/nota.pdf"}) is None  # another collection's file


def test_a_symlink_out_of_the_corpus_is_refused(folder, tmp_path):
    os.symlink(tmp_path / "geheim.txt", folder / "link.txt")
    os.symlink(tmp_path, folder / "map")
    assert resolve_source(folder, "link.txt", {"link.txt"}) is None
    assert resolve_source(folder, "map/geheim.txt", {"map/geheim.txt"}) is None


def test_links_carry_the_page_of_a_pdf_only():
    assert link("team a/nota.pdf", 12) == "bron/team%20a/nota.pdf#page=12"
    assert link("a.txt", None) == "bron/a.txt" and link("a.txt", 3) == "bron/a.txt"
    assert link("team-a/nota.pdf", 2, base="corpus") == "corpus/team-a/nota.pdf#page=2"


def test_answers_and_weak_matches_are_each_ranked_without_gaps():
    hits = [Hit(r, 0.9, "a.txt", "A", "t", 0, 1, similarity=s) for r, s in enumerate([0.9, 0.7, 0.85, None], start=1)]
    good, weak = split_weak(hits, RankingSettings(no_match_similarity=0.83))
    assert [(h.rank, h.similarity) for h in good] == [(1, 0.9), (2, 0.85), (3, None)]
    assert [(h.rank, h.similarity) for h in weak] == [(1, 0.7)]  # ranked in their own list
    assert [h.rank for h in hits] == [1, 2, 3, 4]  # the caller's hits are left as they were


def test_relevance_in_words():
    hit = Hit(1, 0.9, "a.txt", "A", "t", 0, 1)
    assert [match_words(Hit(1, 0, "a", "A", "t", 0, 1, similarity=s)) for s in (0.9, 0.85, 0.8)] == [
        "sterke overeenkomst", "redelijke overeenkomst", "zwakke overeenkomst"]
    assert match_words(hit) == "overeenkomst in woorden"


def test_an_upload_equal_to_an_indexed_document_is_refused_naming_it(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    data = "Buurtwerk\n\nEen tekst over buurtwerk in de wijk.\n".encode("utf-8")
    known = {fingerprint("team-a/buurtwerk.txt", data): "team-a/buurtwerk.txt"}
    with pytest.raises(VraagbaakError, match="kopie.txt staat er al in: de inhoud is gelijk aan team-a/buurtwerk.txt; niets opgeslagen"):
        add_document(corpus, "kopie.txt", data, known=known)
    # the same text in another encoding is the same content too
    with pytest.raises(VraagbaakError, match="gelijk aan team-a/buurtwerk.txt"):
        add_document(corpus, "kopie.txt", "\ufeff".encode("utf-8") + data, known=known)
    assert list(corpus.iterdir()) == []
    assert add_document(corpus, "anders.txt", data + b"Nog een zin.\n", known=known).name == "anders.txt"


def test_identical_files_show_a_passage_once_with_the_other_files(fake, corpus, tmp_path):
    (corpus / "archief").mkdir()
    original = "in-gesprek-over-sociaal-werk.txt"
    (corpus / "archief" / "kopie.txt").write_bytes((corpus / original).read_bytes())
    index = build(corpus, tmp_path / "idx")
    question = " ".join(index.store.document_passages(original)[1].text.split()[:30])  # sure to find these files
    for mode in ("hybrid", "dense", "lexical"):
        hits = index.search(question, k=10, mode=mode)
        assert len(hits) == 10
        keys = [(h.text, h.start) for h in hits]
        assert len(keys) == len(set(keys)), mode  # no passage twice
        pair = {original, "archief/kopie.txt"}
        folded = [h for h in hits if h.source in pair]
        assert folded and all({h.source, *h.also_in} == pair for h in folded), mode  # one hit stands for both files
        assert all(not h.also_in for h in hits if h.source not in pair)
    only_copy = index.search("wat is preventie?", k=3, folders=["archief"])
    assert {h.source for h in only_copy} == {"archief/kopie.txt"} and len(only_copy) == 3  # a filter to the copy still finds it
