"""``app.py``'s start on an index that exists: it answers from that index at once, and the
watcher's first scan then brings in what changed in the folder (fake model, real app.py).

The tests assert outcomes, never times.
"""

import time

from gradio_client import Client

from servers import running_server
from vraagbaak.live import LiveIndex


def _sources(client: Client, question: str) -> list[str]:
    return [hit["source"] for hit in client.predict(question, 10, "", api_name="/search")]


def _wait_for(condition, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_the_page_answers_while_the_watchers_first_scan_is_still_held(fake, corpus, tmp_path, monkeypatch):
    index = tmp_path / "index"
    LiveIndex(corpus, index, model="fake").update(progress=False)
    (corpus / "wijkboot.txt").write_text("De wijkboot\n\nDe wijkboot vaart elke dinsdag langs de kade.", encoding="utf-8")
    hold = tmp_path / "hold"
    hold.touch()  # the update that reads wijkboot.txt cannot finish while this file exists (tests/fake_app.py)
    monkeypatch.setenv("FAKE_APP_HOLD", str(hold))
    with running_server(tmp_path, "tests/fake_app.py", "--corpus", corpus, "--index", index, "--model", "fake") as url:
        client = Client(url, verbose=False)
        assert "in-gesprek-over-sociaal-werk.txt" in _sources(client, "wat is preventie?")
        assert "wijkboot.txt" not in _sources(client, "wijkboot kade")  # not yet: its update is held
        log = (tmp_path / "app.log").read_text()
        assert "de map wordt nagekeken terwijl de pagina al antwoordt" in log and "embedded now" not in log
        hold.unlink()
        assert _wait_for(lambda: "wijkboot.txt" in _sources(client, "wijkboot kade")), "the watcher's first scan did not follow"


def test_without_a_watcher_the_start_updates_before_it_answers(fake, corpus, tmp_path):
    index = tmp_path / "index"
    LiveIndex(corpus, index, model="fake").update(progress=False)
    (corpus / "wijkboot.txt").write_text("De wijkboot\n\nDe wijkboot vaart elke dinsdag langs de kade.", encoding="utf-8")
    with running_server(tmp_path, "tests/fake_app.py", "--corpus", corpus, "--index", index, "--model", "fake",
                        "--no-watch") as url:
        client = Client(url, verbose=False)
        assert "wijkboot.txt" in _sources(client, "wijkboot kade")
        log = (tmp_path / "app.log").read_text()
        assert "embedded now" in log and "de map wordt nagekeken" not in log
