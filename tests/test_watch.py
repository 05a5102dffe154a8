"""Following the corpus folder with a real watcher (watchfiles, inotify here) and the fake model.

Each test waits for an outcome with a timeout (a hang fails instead of
stalling) and asserts the outcome; none asserts how fast it came.
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from conftest import SHARED
from vraagbaak.live import LiveIndex
from vraagbaak.watch import Watcher, WatchSettings, filesystem_type

FOUND_WITHIN = 10.0  # seconds: the promise for one file


def wait_for(condition, timeout: float = FOUND_WITHIN, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def found(live: LiveIndex, words: str, source: str) -> bool:
    """Does a lexical search for ``words`` return ``source`` (a search as the page makes it)?"""
    index = live.current
    return index is not None and source in index.documents and any(
        h.source == source for h in live.search(words, k=10, mode="lexical"))


def holds(live: LiveIndex, phrase: str, source: str) -> bool:
    """Does the index in use hold ``phrase`` in a passage of ``source``? (Not a search: a question's
    compound may match another's part, "kerstmarkt" the "markt" of "paasmarkt".)"""
    index = live.current
    return index is not None and source in index.documents and any(
        phrase in p.text for p in index.store.document_passages(source))


class Followed:
    """A LiveIndex with a running watcher, recording every update's report and what each index held."""

    def __init__(self, corpus: Path, index_dir: Path, settings: WatchSettings = WatchSettings(rescan_seconds=0)):
        self.live = LiveIndex(corpus, index_dir, model="fake")
        self.live.update(progress=False)
        self.reports, self.lines, self.sizes = [], [], []
        update = self.live.update

        def recording_update(*args, **kwargs):
            report = update(*args, **kwargs)
            self.reports.append(report)
            records = self.live.current.store.document_records
            self.sizes.append({source: r.size for source, r in records.items()})
            return report

        self.live.update = recording_update
        self.watcher = Watcher(self.live, settings, on_line=self.lines.append).start()
        assert wait_for(lambda: self.watcher.status().events and self.reports), "the watcher did not start"

    def changed(self) -> list:
        return [r for r in self.reports if r.written]


@pytest.fixture
def followed(fake, corpus, tmp_path):
    f = Followed(corpus, tmp_path / "idx")
    try:
        yield f
    finally:
        f.watcher.stop()
    assert not f.watcher._thread.is_alive()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_new_file_is_found_within_seconds(followed, corpus):
    write(corpus / "wijkboot.txt", "De wijkboot\n\nDe wijkboot vaart elke dinsdag langs de kade van de Oostwijk.")
    assert wait_for(lambda: found(followed.live, "wijkboot kade", "wijkboot.txt"))
    assert followed.live.followed is not None
    assert any("1 toegevoegd" in line for line in followed.lines)


def test_a_changed_file_shows_its_new_text_and_not_its_old(followed, corpus):
    path = write(corpus / "notitie.txt", "Notitie\n\nDe zeilwagen staat in de schuur.")
    assert wait_for(lambda: found(followed.live, "zeilwagen", "notitie.txt"))
    write(path, "Notitie\n\nDe ijsbaan gaat in januari open.")
    assert wait_for(lambda: found(followed.live, "ijsbaan", "notitie.txt"))
    assert not holds(followed.live, "zeilwagen", "notitie.txt")


def test_a_save_by_rename_is_followed(followed, corpus):
    """An editor writes a hidden temporary file and renames it over the document."""
    path = write(corpus / "brief.txt", "Brief\n\nDe kerstmarkt is op het plein.")
    assert wait_for(lambda: found(followed.live, "kerstmarkt", "brief.txt"))
    temporary = write(corpus / ".brief.txt.tmp", "Brief\n\nDe paasmarkt is in het park.")
    temporary.replace(path)
    assert wait_for(lambda: holds(followed.live, "paasmarkt", "brief.txt"))
    assert found(followed.live, "paasmarkt", "brief.txt") and not holds(followed.live, "kerstmarkt", "brief.txt")


def test_a_removed_file_is_gone(followed, corpus):
    name = sorted(p.name for p in corpus.iterdir())[0]
    assert name in followed.live.current.documents
    (corpus / name).unlink()
    assert wait_for(lambda: name not in followed.live.current.documents)
    assert all(h.source != name for h in followed.live.search("sociaal werk", k=20, mode="dense"))


def test_a_renamed_or_moved_file_is_found_under_its_new_name_without_embedding_again(followed, corpus, fake):
    names = sorted(p.name for p in corpus.iterdir())
    fake.embedded.clear()
    already = len(followed.reports)
    (corpus / names[0]).rename(corpus / "hernoemd.txt")
    (corpus / "archief").mkdir()
    (corpus / names[1]).rename(corpus / "archief" / names[1])
    wanted = {"hernoemd.txt", f"archief/{names[1]}"}
    assert wait_for(lambda: wanted <= set(followed.live.current.documents) and not {names[0], names[1]} & set(followed.live.current.documents))
    assert wait_for(lambda: sum(r.documents_added for r in followed.reports[already:]) >= 2, timeout=30)  # its report follows the swap
    reports = followed.reports[already:]
    assert sum(r.documents_added for r in reports) == 2 and sum(r.documents_removed for r in reports) == 2
    assert sum(r.passages_embedded + r.sentences_embedded for r in reports) == 0 and fake.embedded == []
    assert sum(r.passages_reused for r in reports if r.written) > 0
    assert {h.source for h in followed.live.search("sociaal werk", k=5, source="hernoemd.txt")} == {"hernoemd.txt"}


def test_a_folder_moved_in_whole_is_followed(followed, corpus, tmp_path):
    outside = tmp_path / "elders" / "team"
    write(outside / "a.txt", "Team\n\nDe fietsenmaker repareert banden.")
    write(outside / "b.txt", "Team\n\nDe bakker bakt brood.")
    shutil.move(str(outside), str(corpus / "team"))  # one event for the folder, none for its files
    assert wait_for(lambda: found(followed.live, "fietsenmaker", "team/a.txt") and found(followed.live, "bakker", "team/b.txt"))
    (corpus / "team").rename(corpus / "ploeg")
    assert wait_for(lambda: {"ploeg/a.txt", "ploeg/b.txt"} <= set(followed.live.current.documents)
                    and "team/a.txt" not in followed.live.current.documents)


@pytest.mark.skipif(not (SHARED / "eval" / "rijksoverheid-faq" / "corpus").is_dir(), reason="needs ../shared/eval")
def test_200_files_copied_at_once_are_one_or_a_few_updates_and_all_searchable(followed, corpus):
    faq = sorted((SHARED / "eval" / "rijksoverheid-faq" / "corpus").glob("*.txt"))[:200]
    already = len(followed.reports)
    target = corpus / "faq"
    target.mkdir()
    for path in faq:
        shutil.copy(path, target / path.name)
    wanted = {f"faq/{p.name}" for p in faq}
    assert wait_for(lambda: wanted <= set(followed.live.current.documents), timeout=120)
    # the index is swapped in just before its update returns the report the test records
    assert wait_for(lambda: sum(r.documents_added for r in followed.reports[already:] if r.written) >= 200, timeout=30)
    changed = [r for r in followed.reports[already:] if r.written]
    assert sum(r.documents_added for r in changed) == 200
    assert 1 <= len(changed) <= 3, [r.documents_added for r in changed]
    some = faq[17]
    title = some.read_text(encoding="utf-8").splitlines()[0]
    assert any(h.source == f"faq/{some.name}" for h in followed.live.search(title, k=10, mode="lexical"))


def test_a_file_written_slowly_is_read_once_complete(followed, corpus):
    path = corpus / "verslag.txt"
    parts = ["Verslag van de wijkavond\n\n"] + [f"Punt {i}: de bewoners bespraken de speeltuin en het groen. " for i in range(12)] + ["Slotwoord: tot volgend jaar."]

    def slow_writer():
        with open(path, "w", encoding="utf-8") as f:
            for part in parts:
                f.write(part)
                f.flush()
                time.sleep(0.2)  # well within the settle time between writes: the file is still growing

    writer = threading.Thread(target=slow_writer)
    writer.start()
    writer.join(30)
    final = path.stat().st_size
    assert wait_for(lambda: found(followed.live, "slotwoord", "verslag.txt"))
    seen = {sizes["verslag.txt"] for sizes in followed.sizes if "verslag.txt" in sizes}
    assert seen == {final}, "an update read the file before it was complete"


def test_a_bad_file_is_skipped_with_its_reason_the_rest_indexed_and_it_is_read_again_once_changed(followed, corpus):
    bad = corpus / "kapot.txt"
    bad.write_bytes(b"\x00\x01\x02 geen tekst")
    write(corpus / "goed.txt", "Goed\n\nDe buurtbus rijdt op zaterdag.")
    assert wait_for(lambda: found(followed.live, "buurtbus", "goed.txt"))
    assert "NUL-bytes" in followed.live.skipped.get("kapot.txt", "")
    assert [line for line in followed.lines if "kapot.txt" in line] == ["Overgeslagen: kapot.txt: bevat NUL-bytes: een binair bestand, geen tekst"]
    tries = len(followed.reports)
    write(corpus / "ander.txt", "Ander\n\nDe markt is op woensdag.")  # another update: the bad file is not read again
    assert wait_for(lambda: found(followed.live, "markt", "ander.txt"))
    assert all("kapot.txt" not in dict(r.skipped) for r in followed.reports[tries:])
    assert "kapot.txt" in followed.live.skipped and "kapot.txt" not in followed.live.current.documents
    write(bad, "Hersteld\n\nDe kapotte notitie is nu leesbaar: de fietsenstalling gaat open.")
    assert wait_for(lambda: found(followed.live, "fietsenstalling", "kapot.txt"))
    assert "kapot.txt" not in followed.live.skipped


def test_never_two_updates_at_once(fake, corpus, tmp_path, monkeypatch):
    from vraagbaak import live as live_module

    running, most, lock = [0], [0], threading.Lock()
    build = live_module.Index.build

    def counting(*args, **kwargs):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            time.sleep(0.05)
            return build(*args, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(live_module.Index, "build", counting)
    f = Followed(corpus, tmp_path / "idx", WatchSettings(rescan_seconds=0, settle_ms=200))
    try:
        stop = threading.Event()

        def button():  # the page's "Index bijwerken", pressed again and again
            while not stop.is_set():
                f.live.update(progress=False)

        pressing = threading.Thread(target=button)
        pressing.start()
        for i in range(8):
            write(corpus / f"extra-{i}.txt", f"Extra {i}\n\nHet buurthuis opent om {i} uur.")
            time.sleep(0.3)
        assert wait_for(lambda: all(f"extra-{i}.txt" in f.live.current.documents for i in range(8)))
        stop.set()
        pressing.join(30)
    finally:
        f.watcher.stop()
    assert most[0] == 1


def test_without_file_events_the_periodic_scan_follows_the_folder(fake, corpus, tmp_path, monkeypatch):
    import watchfiles

    def no_events(*args, **kwargs):
        raise OSError("OS file watch limit reached. about [Some(Os { code: 28 })]")

    monkeypatch.setattr(watchfiles, "watch", no_events)
    live = LiveIndex(corpus, tmp_path / "idx", model="fake")
    live.update(progress=False)
    lines = []
    watcher = Watcher(live, WatchSettings(rescan_seconds=1), on_line=lines.append).start()
    try:
        write(corpus / "laat.txt", "Laat\n\nDe nachtbus stopt bij het station.")
        assert wait_for(lambda: found(live, "nachtbus", "laat.txt"))
        status = watcher.status()
        assert status.running and not status.events and "max_user_watches" in status.why_no_events
        assert any("max_user_watches" in line for line in lines)
    finally:
        watcher.stop()


def test_a_rescan_that_finds_nothing_keeps_the_index_in_use_and_says_when_it_followed(fake, corpus, tmp_path, monkeypatch):
    from vraagbaak import live as live_module

    live = LiveIndex(corpus, tmp_path / "idx", model="fake")
    live.update(progress=False)
    index, first = live.current, live.followed
    builds = []
    build = live_module.Index.build
    monkeypatch.setattr(live_module.Index, "build", lambda *a, **k: builds.append(1) or build(*a, **k))
    watcher = Watcher(live, WatchSettings(rescan_seconds=0.5)).start()
    try:
        assert wait_for(lambda: watcher.status().updates >= 3)
        assert live.current is index  # nothing changed: not reopened, not warmed up again
        assert live.followed > first and watcher.status().last_report.written is False
        assert builds == []  # told from the index in use: the index was not opened again
        (corpus / sorted(p.name for p in corpus.iterdir())[0]).unlink()  # and a change still makes a build
        assert wait_for(lambda: len(live.current.documents) == 4) and builds
    finally:
        watcher.stop()


def test_what_counts_as_a_change(fake, corpus, tmp_path):
    live = LiveIndex(corpus, corpus / "index", model="fake")  # an index inside the corpus folder: its own writes are no change
    watcher = Watcher(live)
    root = corpus.resolve()
    (root / "map.v2").mkdir()
    relevant = lambda path: watcher._relevant(None, str(root / path))  # noqa: E731
    assert relevant("nota.pdf") and relevant("team/brief.DOCX") and relevant("map.v2")
    assert relevant("weg")  # gone, without a suffix: perhaps a folder
    assert not relevant(".verborgen.txt") and not relevant(".git/x.txt") and not relevant("~$nota.docx")
    assert not relevant("index/g000001/store.sqlite") and not relevant("index/CURRENT")
    assert not relevant("nota.txt~") and not relevant("foto.psd")


@pytest.mark.parametrize("start", ["with texts", "empty"])
def test_the_cli_watches_until_stopped(fake, corpus, tmp_path, monkeypatch, start):
    from click.testing import CliRunner

    from vraagbaak import watch as watch_module
    from vraagbaak.cli import cli

    started = []
    real_init = watch_module.Watcher.__init__

    def capture(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        started.append(self)

    monkeypatch.setattr(watch_module.Watcher, "__init__", capture)
    if start == "empty":  # a server set up before the first file arrives
        for path in corpus.iterdir():
            path.unlink()
    result = {}

    def run():
        result["r"] = CliRunner().invoke(cli, ["watch", "--corpus", str(corpus), "--index", str(tmp_path / "idx"), "--model", "fake",
                                               "--rescan", "0"], catch_exceptions=False)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert wait_for(lambda: started and started[0].status().events, timeout=30)
        write(corpus / "wijkboot.txt", "De wijkboot\n\nDe wijkboot vaart langs de kade.")
        assert wait_for(lambda: (index := started[0].live.current) is not None and "wijkboot.txt" in index.documents)
    finally:
        if started:
            started[0].stop()
        thread.join(30)
    out = result["r"]
    assert out.exit_code == 0, out.output
    assert "wordt gevolgd" in out.stderr and "index bijgewerkt: 1 toegevoegd" in out.stdout
    assert ("nog geen leesbare bestanden" in out.stderr) == (start == "empty")
    assert ("Index " in out.stdout) == (start != "empty")


def test_filesystem_type_of_the_corpus():
    kind = filesystem_type(Path("/proc"))
    assert kind in (None, "proc")  # None off Linux


def test_a_corpus_folder_that_appears_later_is_followed(fake, corpus, tmp_path):
    """The folder is gone while watching (a share not yet mounted): the rescan follows it once it is back."""
    live = LiveIndex(corpus, tmp_path / "idx", model="fake")
    live.update(progress=False)
    moved = tmp_path / "weg"
    corpus.rename(moved)
    lines = []
    watcher = Watcher(live, WatchSettings(rescan_seconds=1), on_line=lines.append).start()
    try:
        assert wait_for(lambda: "bestaat (nog) niet" in watcher.status().why_no_events)
        moved.rename(corpus)
        write(corpus / "terug.txt", "Terug\n\nDe veerpont vaart weer.")
        assert wait_for(lambda: found(live, "veerpont", "terug.txt"))
        assert any("bestaat (nog) niet" in line for line in lines)
    finally:
        watcher.stop()


def test_a_corpus_folder_replaced_while_watched_is_watched_anew(followed, corpus, tmp_path):
    """Renamed away and made anew (a restore, a remount): the old folder's watch is dead, the new one is watched."""
    corpus.rename(tmp_path / "oud")
    write(corpus / "nieuw.txt", "Nieuw\n\nDe waterbus vaart naar de overkant.")
    assert wait_for(lambda: found(followed.live, "waterbus", "nieuw.txt"))
    write(corpus / "later.txt", "Later\n\nDe kabelbaan gaat omhoog.")  # an event from the new folder
    assert wait_for(lambda: found(followed.live, "kabelbaan", "later.txt"))


def test_a_watcher_started_after_another_thread_follows_the_folder_once_that_one_ended(fake, corpus, tmp_path):
    """``app.py`` starts its watcher after the model's warm-up (``Watcher.start(after=...)``)."""
    live = LiveIndex(corpus, tmp_path / "idx", model="fake")
    live.update(progress=False)
    write(corpus / "wijkboot.txt", "De wijkboot\n\nDe wijkboot vaart elke dinsdag langs de kade van de Oostwijk.")
    release = threading.Event()
    warm_up = threading.Thread(target=release.wait)
    warm_up.start()
    watcher = Watcher(live, WatchSettings(rescan_seconds=0)).start(after=warm_up)
    try:
        assert not wait_for(lambda: watcher.status().running or found(live, "wijkboot kade", "wijkboot.txt"), timeout=1.5)
        release.set()
        assert wait_for(lambda: found(live, "wijkboot kade", "wijkboot.txt"))
    finally:
        release.set()
        watcher.stop()
    assert not watcher._thread.is_alive()


def test_a_watcher_stopped_while_it_waits_never_starts(fake, corpus, tmp_path):
    live = LiveIndex(corpus, tmp_path / "idx", model="fake")
    live.update(progress=False)
    release = threading.Event()
    warm_up = threading.Thread(target=release.wait)
    warm_up.start()
    watcher = Watcher(live, WatchSettings(rescan_seconds=0)).start(after=warm_up)
    stopper = threading.Thread(target=watcher.stop)
    stopper.start()
    assert wait_for(watcher._stop.is_set)
    release.set()
    stopper.join(30)
    assert not watcher._thread.is_alive() and not watcher.status().running and watcher.status().updates == 0
