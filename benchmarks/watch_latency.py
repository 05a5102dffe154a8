"""How soon a file saved into the corpus folder is searchable, with the real model and a real watcher.

On a copy of the default corpus, with the page's settings (``WatchSettings()``):

    one file      a FAQ answer written into the folder, ``--files`` times one after another:
                  seconds from the write until a search finds it (median, largest)
    burst         ``--burst`` FAQ answers copied at once: seconds until every one is
                  searchable, and how many updates that took
    rename        the burst's files moved into a subfolder: seconds until found under the
                  new names, passages embedded again (0 expected: vectors are reused by content)

    python benchmarks/watch_latency.py [--files 10] [--burst 200]

A search here is what the page runs (``LiveIndex.search``, lexical mode on the
answer's own title so that the check does not depend on ranking).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FAQ = ROOT.parent / "shared" / "eval" / "rijksoverheid-faq" / "corpus"


def main() -> None:
    from vraagbaak.live import LiveIndex
    from vraagbaak.watch import Watcher, WatchSettings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--burst", type=int, default=200)
    args = parser.parse_args()
    faq = sorted(FAQ.glob("*.txt"))
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        corpus = work / "corpus"
        shutil.copytree(ROOT / "corpus", corpus)
        live = LiveIndex(corpus, work / "index")
        live.update(progress=False)
        live.current.warm_up()
        reports = []
        update = live.update
        live.update = lambda *a, **k: reports.append(update(*a, **k)) or reports[-1]
        watcher = Watcher(live, WatchSettings()).start()
        wait(lambda: watcher.status().events and reports, 60)

        singles = []
        for path in faq[: args.files]:
            started = time.monotonic()
            shutil.copy(path, corpus / path.name)
            wait(lambda: searchable(live, path), 120)
            singles.append(time.monotonic() - started)
            time.sleep(1)

        burst = faq[args.files : args.files + args.burst]
        before = len(reports)
        started = time.monotonic()
        for path in burst:
            shutil.copy(path, corpus / path.name)
        wait(lambda: all(p.name in live.current.documents for p in burst), 1200)
        burst_seconds = time.monotonic() - started
        burst_updates = sum(1 for r in reports[before:] if r.written)

        before = len(reports)
        started = time.monotonic()
        (corpus / "verhuisd").mkdir()
        for path in burst:
            (corpus / path.name).rename(corpus / "verhuisd" / path.name)
        wait(lambda: all(f"verhuisd/{p.name}" in live.current.documents for p in burst)
             and not any(p.name in live.current.documents for p in burst), 1200)
        move_seconds = time.monotonic() - started
        embedded = sum(r.passages_embedded + r.sentences_embedded for r in reports[before:])
        reused = sum(r.passages_reused for r in reports[before:] if r.written)
        watcher.stop()

    print(f"one file, {len(singles)} times: median {statistics.median(singles):.1f} s, largest {max(singles):.1f} s")
    print(f"{len(burst)} files copied at once: all searchable after {burst_seconds:.1f} s, in {burst_updates} update(s)")
    print(f"the same {len(burst)} files moved into a subfolder: found under the new names after {move_seconds:.1f} s; "
          f"{embedded} passages and sentences embedded again, {reused} passages reused")


def searchable(live, path: Path) -> bool:
    index = live.current
    if index is None or path.name not in index.documents:
        return False
    title = path.read_text(encoding="utf-8").splitlines()[0]
    return any(h.source == path.name for h in live.search(title, k=10, mode="lexical"))


def wait(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(0.05)


if __name__ == "__main__":
    main()
