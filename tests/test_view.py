"""One request's view of the index: visibility, lists, counts and the no-match rule from one index (fake model, no Gradio)."""

import subprocess
import sys

import pytest

from helpers import build
from vraagbaak import Index, LiveIndex, RankingSettings, View, VraagbaakError
from vraagbaak.accounts import Account

BAS = Account("bas", "lezer", ("team",))


@pytest.fixture
def index(fake, corpus, tmp_path):
    (corpus / "team").mkdir()
    (corpus / "team" / "mantelzorg.md").write_text("# Mantelzorg\n\nMantelzorgers zorgen onbetaald voor een naaste.\n", encoding="utf-8")
    (corpus / "team" / "respijt.txt").write_text("Respijtzorg\n\nRespijtzorg geeft mantelzorgers even rust.\n", encoding="utf-8")
    return build(corpus, tmp_path / "idx")


def test_the_view_module_needs_no_gradio():
    code = "import sys, vraagbaak.view, vraagbaak.live; print('gradio' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_an_account_sees_its_collections_only(index):
    everyone, bas = View(index), View(index, BAS)
    assert everyone.visible is None and len(everyone.documents) == 7
    assert bas.sources == ["team/mantelzorg.md", "team/respijt.txt"] and bas.folders == ["team"] and bas.types == ["md", "txt"]
    assert bas.document_count == 2 and 0 < bas.passage_count < everyone.passage_count == index.passage_count
    assert bas.may_open("team/respijt.txt") and not bas.may_open("wat-is-sociaal-werk.txt") and not bas.may_open("nergens.txt")
    assert View(index, Account("c", "lezer", ())).documents == {}


def test_a_search_stays_within_what_the_account_sees_and_splits_weak_matches(index):
    results = View(index, BAS).search("mantelzorgers naaste rust", k=5, mode="lexical")
    assert {h.source for h in results.hits} == {"team/mantelzorg.md", "team/respijt.txt"} and results.weak == []
    dense = View(index, BAS).search("mantelzorgers naaste rust", k=2, mode="dense")
    assert dense.hits == [] and [h.rank for h in dense.weak] == [1, 2]  # the fake model's cosines lie below 0.83
    assert [h.rank for h in dense.everything] == [1, 2]
    with pytest.raises(VraagbaakError, match="no folder"):
        View(index, BAS).search("zorg", folders=["geen-map"])


def test_the_index_decides_what_is_weak(fake, corpus, tmp_path):
    build(corpus, tmp_path / "idx")
    strict = Index.load(tmp_path / "idx", ranking=RankingSettings(no_match_similarity=0.99))
    lenient = Index.load(tmp_path / "idx", ranking=RankingSettings(no_match_similarity=0.0))
    assert View(strict).search("preventie", k=3).hits == []
    assert len(View(lenient).search("preventie", k=3).hits) == 3


def test_no_index_yet_is_said_in_dutch():
    view = View(None)
    assert not view.built and view.documents == {} and view.sources == [] and view.passage_count == 0
    with pytest.raises(VraagbaakError, match="Er is nog geen index"):
        view.search("preventie")


def test_a_swap_during_a_request_cannot_mix_two_indexes(fake, corpus, tmp_path, monkeypatch):
    """An update swaps the live index while a page search runs: the answer is still wholly the first index's
    (its hits, its visibility, its no-match threshold), not the first's hits judged by the second's rule."""
    from vraagbaak.web.page import callbacks
    from vraagbaak.web.render import NO_MATCH_TEXT

    build(corpus, tmp_path / "idx")
    first = Index.load(tmp_path / "idx", ranking=RankingSettings(no_match_similarity=0.99))  # everything is weak
    second = Index.load(tmp_path / "idx", ranking=RankingSettings(no_match_similarity=0.0))  # everything answers
    live = LiveIndex(corpus, tmp_path / "idx", model="fake")
    live._current = first
    search = first.search

    def swapping_search(*args, **kwargs):
        found = search(*args, **kwargs)
        live._current = second  # the update finishes mid-request
        return found

    monkeypatch.setattr(first, "search", swapping_search)
    page = callbacks(live).ask_on_page("wat is preventie?", 3, "", [], [], None)
    assert NO_MATCH_TEXT in page and "vb-hit" not in page  # the first index's rule applied to the first index's hits
    assert live.current is second


class CountingLive(LiveIndex):
    """A LiveIndex that counts the views taken, and refuses any other read of the current index."""

    views = 0

    def view(self, account=None):
        self.views += 1
        return super().view(account)

    @property
    def current(self):
        raise AssertionError("the page reads the live index through view() only")


def test_the_page_reads_the_live_index_once_per_request(fake, corpus, tmp_path):
    from vraagbaak.web.page import callbacks

    live = CountingLive(corpus, tmp_path / "idx", model="fake")
    live.update(progress=False)
    on = callbacks(live)
    for call in (lambda: on.ask_on_page("wat is preventie?", 3, "", [], [], None),
                 lambda: on.search_api("wat is preventie?", 3, request=None),
                 lambda: on.on_load(None)):
        before = live.views
        call()
        assert live.views == before + 1
