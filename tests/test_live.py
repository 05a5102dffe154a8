"""Searching while the index is updated, and adding texts safely (fake model)."""

import threading

import pytest

from fake_embedder import FakeEmbedder
from vraagbaak import VraagbaakError, embeddings
from vraagbaak.corpus import add_document, safe_file_name
from vraagbaak.live import LiveIndex


def test_twenty_searches_succeed_while_an_update_runs(corpus, tmp_path):
    slow = FakeEmbedder(delay=0.05)
    embeddings.register_embedder("fake", lambda: slow)
    embeddings._cache.clear()
    live = LiveIndex(corpus, tmp_path / "idx", model="fake")
    live.update(progress=False)
    old_count = live.current.passage_count
    for i in range(20):
        (corpus / f"nieuw-{i}.txt").write_text(f"Nieuw {i}\n\n" + "".join(f"Zin {j} over wijk {i}. " for j in range(100)), encoding="utf-8")

    started = threading.Event()
    report = {}

    def update():
        report["r"] = live.update(progress=lambda p: started.set())

    updater = threading.Thread(target=update)
    updater.start()
    assert started.wait(30)
    results, errors = [], []

    def ask():
        try:
            results.append(live.search("wat is preventie?", k=3, mode="hybrid"))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    askers = [threading.Thread(target=ask) for _ in range(20)]
    for t in askers:
        t.start()
    for t in askers:
        t.join(60)
    still_updating = updater.is_alive()
    updater.join(120)
    assert errors == [] and len(results) == 20 and all(len(r) == 3 for r in results)
    assert still_updating, "the update finished before the searches: the test proved nothing"
    assert report["r"].documents_added == 20
    assert live.current.passage_count > old_count
    embeddings._cache.clear()


def test_new_text_is_searchable_after_update(fake, corpus, tmp_path):
    live = LiveIndex(corpus, tmp_path / "idx", model="fake")
    live.update(progress=False)
    path = live.add("Wijkboot.txt", "De wijkboot\n\nDe wijkboot vaart langs de kade.".encode())
    live.update(progress=False)
    assert live.search("wijkboot kade", k=1, mode="lexical")[0].source == path.name == "wijkboot.txt"


@pytest.mark.parametrize(
    "name, expected",
    [
        ("../../evil.txt", "evil.txt"),
        ("C:\\Users\\x\\Mijn Tekst.MD", "mijn-tekst.md"),
        ("/etc/passwd.txt", "passwd.txt"),
        ("Één café – overzicht.txt", "een-cafe-overzicht.txt"),
        ("...txt", "tekst.txt"),
        ("notities", "notities.txt"),
    ],
)
def test_safe_file_names(name, expected):
    assert safe_file_name(name) == expected


@pytest.mark.parametrize("name", ["script.sh", "archief.tar.gz", "tekening.svg"])
def test_only_readable_suffixes(name):
    with pytest.raises(VraagbaakError, match="kunnen niet worden gelezen; wel .txt, .md, .pdf"):
        safe_file_name(name)


def test_add_document_never_overwrites_nor_escapes(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    first = add_document(corpus, "../notitie.txt", b"Eerste versie.")
    second = add_document(corpus, "notitie.txt", b"Tweede versie.")
    assert (first.name, second.name) == ("notitie.txt", "notitie-2.txt")
    assert first.read_text() == "Eerste versie."
    assert sorted(p.name for p in tmp_path.rglob("*.txt")) == ["notitie-2.txt", "notitie.txt"]
    assert all(p.parent == corpus for p in tmp_path.rglob("*.txt"))


@pytest.mark.parametrize(
    "data, message",
    [(b"", "niet leesbaar: leeg bestand"), (b"  \n\t ", "niet leesbaar: leeg bestand"), (b"\x89PNG\x00\x00", "niet leesbaar: bevat NUL-bytes"), (b"a" * (5 * 1024 * 1024 + 1), "maximaal 5 MB")],
)
def test_add_document_refuses_non_text(tmp_path, data, message):
    with pytest.raises(VraagbaakError, match=message):
        add_document(tmp_path, "x.txt", data)
    assert list(tmp_path.iterdir()) == []


def test_a_first_builds_checkpoint_is_opened_by_the_next_request_not_by_the_build(fake, corpus, tmp_path):
    from helpers import build
    from vraagbaak.progress import BuildProgress

    build(corpus, tmp_path / "idx")  # what a first build has committed at a checkpoint
    live = LiveIndex(corpus, tmp_path / "idx", model="fake")
    assert not live.view().built
    progress = BuildProgress(5, 1000)
    progress.checkpoints = 1
    live._following(False)(progress)  # the build reports its checkpoint
    assert live.current is None  # nothing opened inside the build's callback
    view = live.view()
    assert view.built and view.document_count == 5 and live.current is view.index


def test_open_serves_the_index_as_it_is_and_the_first_update_follows_the_folder(fake, corpus, tmp_path):
    LiveIndex(corpus, tmp_path / "idx", model="fake").update(progress=False)
    (corpus / "wijkboot.txt").write_text("De wijkboot\n\nDe wijkboot vaart langs de kade.", encoding="utf-8")
    live = LiveIndex(corpus, tmp_path / "idx", model="fake")
    index = live.open()
    assert index is live.current and live.open() is index
    assert "wijkboot.txt" not in index.documents and live.followed is None  # the folder was not read
    assert live.search("wat is preventie?", k=1, mode="lexical")
    report = live.update(progress=False, retry_skipped=False)  # what a watcher's first scan runs
    assert report.documents_added == 1 and "wijkboot.txt" in live.current.documents and live.followed is not None


def test_open_leaves_to_an_update_an_index_of_another_model_or_none_at_all(fake, corpus, tmp_path):
    assert LiveIndex(corpus, tmp_path / "idx", model="fake").open() is None
    LiveIndex(corpus, tmp_path / "idx", model="fake").update(progress=False)
    other = LiveIndex(corpus, tmp_path / "idx", model="another-model")
    assert other.open() is None and other.current is None
    assert LiveIndex(corpus, tmp_path / "idx", model="fake").open() is not None
