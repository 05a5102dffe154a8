"""Filters by document, folder and file type: narrowed in the search itself, on every store."""

import shutil

import pytest

from helpers import build
from vraagbaak import VraagbaakError
from vraagbaak.filters import folder_of, list_folders, list_types, scope, type_of
from vraagbaak.stores.local import FolderLocation, StoreSettings

from conftest import ROOT

SOURCES = ["a.txt", "team-a/nota.pdf", "team-a/2024/brief.docx", "team-b/x.md", "team-b/y.txt"]


def test_folders_and_types_of_sources():
    assert list_folders(SOURCES) == ["team-a", "team-a/2024", "team-b"]
    assert list_types(SOURCES) == ["docx", "md", "pdf", "txt"]
    assert folder_of("a.txt") == "" and folder_of("team-a/2024/brief.docx") == "team-a/2024"
    assert type_of("X.PDF") == "pdf"


def test_scope_combines_filters_with_and_and_values_with_or():
    assert scope(SOURCES) is None  # no filter: every document, and no work for the store
    assert scope(SOURCES, folders=["team-a"]) == {"team-a/nota.pdf", "team-a/2024/brief.docx"}
    assert scope(SOURCES, folders=["team-a/2024", "team-b"]) == {"team-a/2024/brief.docx", "team-b/x.md", "team-b/y.txt"}
    assert scope(SOURCES, types=[".PDF", "md"]) == {"team-a/nota.pdf", "team-b/x.md"}
    assert scope(SOURCES, folders=["team-b/"], types=["txt"]) == {"team-b/y.txt"}
    assert scope(SOURCES, folders=["team-a"], types=["md"]) == frozenset()  # both hold, nothing does both
    assert scope(SOURCES, within=["a.txt", "team-b/x.md"], types=["txt"]) == {"a.txt"}
    assert scope(SOURCES, folders=["", "."]) == set(SOURCES)  # the corpus folder itself
    assert scope(SOURCES, folders=[], types=[""]) is None  # empty values restrict nothing


@pytest.mark.parametrize("kwargs, message", [
    ({"folders": ["team-c"]}, "De map 'team-c' staat niet in de index (wel: team-a, team-a/2024, team-b)."),
    ({"folders": ["team"]}, "De map 'team' staat niet"),  # a prefix of a name is not a folder
    ({"types": ["odt"]}, "Het bestandstype 'odt' staat niet in de index (wel: docx, md, pdf, txt)."),
    ({"source": "b.txt"}, "Het document 'b.txt' staat niet in de index."),
])
def test_unknown_filter_values_are_errors_not_empty_results(kwargs, message):
    with pytest.raises(VraagbaakError, match=message.replace("(", r"\(").replace(")", r"\)")):
        scope(SOURCES, **kwargs)


@pytest.fixture
def teams(tmp_path):
    """The five default articles in two collections: three in team-a (one as .md), two in team-b."""
    corpus = tmp_path / "corpus"
    names = sorted(p.name for p in (ROOT / "corpus").glob("*.txt"))
    for i, name in enumerate(names):
        folder = corpus / ("team-a" if i < 3 else "team-b")
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / (name.replace(".txt", ".md") if i == 0 else name)
        shutil.copy(ROOT / "corpus" / name, target)
    return corpus


STORES = {
    "exact": lambda tmp: tmp / "idx",
    "hnsw": lambda tmp: FolderLocation(tmp / "idx", StoreSettings(ann_min_rows=10)),
    "milvus": lambda tmp: f"milvus:{tmp / 'vraagbaak.db'}",
}


@pytest.mark.parametrize("store", STORES)
@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_a_filtered_search_returns_k_hits_from_the_filter_only(fake, teams, tmp_path, store, mode):
    index = build(teams, STORES[store](tmp_path))
    if store == "hnsw":
        assert index.store.ann_file  # the graph is what is being tested
    team_b = [s for s in index.documents if s.startswith("team-b/")]
    available = sum(index.store.document_records[s].rows for s in team_b)
    k = min(20, available)
    for question in ("wat is preventie?", "sociaal werk in de wijk", "armoede bij kinderen"):
        unfiltered = index.search(question, k=k, mode=mode)
        hits = index.search(question, k=k, mode=mode, folders=["team-b"])
        assert {h.source for h in hits} <= set(team_b)
        if mode != "lexical":  # BM25 returns only passages holding a question term
            assert len(hits) == k, (question, len(hits))
        assert any(h.source not in team_b for h in unfiltered)  # the filter changed something


@pytest.mark.parametrize("store", STORES)
def test_type_and_source_filters(fake, teams, tmp_path, store):
    index = build(teams, STORES[store](tmp_path))
    md = [s for s in index.documents if s.endswith(".md")]
    assert index.types == ["md", "txt"] and index.folders == ["team-a", "team-b"]
    hits = index.search("sociaal werk", k=5, types=["md"])
    assert hits and {h.source for h in hits} == set(md)
    one = sorted(index.documents)[-1]
    assert {h.source for h in index.search("sociaal werk", k=5, source=one, folders=[one.split("/")[0]])} == {one}
    assert index.search("sociaal werk", k=5, source=one, types=["md"]) == []  # both filters hold, no document fits both


def test_a_filter_narrows_the_graph_search_even_when_few_rows_are_allowed(fake, teams, tmp_path):
    """One small document among many rows: the HNSW search with a selector (or its exact fallback) still finds all of it."""
    index = build(teams, FolderLocation(tmp_path / "idx", StoreSettings(ann_min_rows=10)))
    smallest = min(index.documents, key=lambda s: index.store.document_records[s].rows)
    rows = index.store.document_records[smallest].rows
    hits = index.search("wat is preventie?", k=min(rows, 100), mode="dense", source=smallest)
    assert {h.source for h in hits} == {smallest}
    # every passage found: as a hit, or inside one (overlapping neighbours are one hit)
    assert all(any(p.start < h.end and h.start < p.end for h in hits) for p in index.store.document_passages(smallest))
