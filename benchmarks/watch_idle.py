"""What following the corpus folder costs while nothing changes: CPU and memory of an idle watcher.

Builds the index of a copy of a corpus first (so the watcher starts idle),
then starts each process below on it and samples its CPU time and resident
memory (Linux /proc) every ``--every`` seconds for ``--minutes`` minutes,
with the default settings (a full rescan every 60 s):

    cli          python -m vraagbaak watch           (a server without the page)
    app-watch    python app.py                        (the page, following the folder: the default)
    app-nowatch  python app.py --no-watch             (the page alone: what watching adds is the difference)

    python benchmarks/watch_idle.py [--corpus corpus] [--minutes 10] [--only cli] [--only app-watch] ...

What grows with the corpus is the periodic rescan (one stat per file, the
documents table read, nothing else): ``--rescan-cost 500 --rescan-cost 20000``
times a rescan that finds nothing (``LiveIndex.update``, median of 5) over that
many small text files, indexed with the tests' fake model (the model plays no
part in a rescan that finds nothing).

CPU % is of one core (CPU seconds used / seconds elapsed x 100) over the
whole window; RSS is the median and the largest sample. The processes run one
after another, so that none measures another's work.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 2**20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(kind: str, corpus: Path, index: Path) -> tuple[list[str], str]:
    """The command line, and the text on stderr that says it is ready."""
    if kind == "cli":
        return [sys.executable, "-m", "vraagbaak", "watch", "--corpus", str(corpus), "--index", str(index)], "wordt gevolgd"
    args = [sys.executable, "app.py", "--corpus", str(corpus), "--index", str(index), "--port", str(free_port())]
    return args + (["--no-watch"] if kind == "app-nowatch" else []), "Vraagbaak: http"


def measure(kind: str, corpus: Path, index: Path, minutes: float, every: float, log: Path) -> dict:
    args, ready = command(kind, corpus, index)
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    with open(log, "w") as out:
        process = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 300
        while ready not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{kind} did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.5)
        time.sleep(10)  # past start-up (the page's first requests, the watcher's first scan)
        start_cpu, start = cpu_seconds(process.pid), time.monotonic()
        samples = []
        while time.monotonic() - start < minutes * 60:
            time.sleep(every)
            samples.append(rss_mb(process.pid))
        used, elapsed = cpu_seconds(process.pid) - start_cpu, time.monotonic() - start
    finally:
        process.terminate()
        process.wait(60)
    return {"kind": kind, "cpu_percent": 100 * used / elapsed, "cpu_seconds": used, "seconds": elapsed,
            "rss_median": statistics.median(samples), "rss_max": max(samples)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--every", type=float, default=5.0, help="seconds between memory samples")
    parser.add_argument("--only", action="append", choices=["cli", "app-watch", "app-nowatch"], default=[])
    parser.add_argument("--rescan-cost", type=int, action="append", default=[], metavar="FILES",
                        help="instead: time a rescan that finds nothing over this many files (repeat)")
    args = parser.parse_args()
    if args.rescan_cost:
        print(f"{cpu_name()}, {os.cpu_count()} cores; a rescan that finds nothing (median of 5)")
        for files in args.rescan_cost:
            seconds = rescan_seconds(files)
            print(f"{files:,} files: {seconds * 1000:.0f} ms, {100 * seconds / 60:.2f} % of one core at one rescan a minute")
        return
    kinds = args.only or ["cli", "app-watch", "app-nowatch"]
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        corpus, index = work / "corpus", work / "index"
        shutil.copytree(args.corpus, corpus)
        files = sum(1 for p in corpus.rglob("*") if p.is_file())
        subprocess.run([sys.executable, "-m", "vraagbaak", "build", "--corpus", str(corpus), "--index", str(index)], cwd=ROOT, check=True,
                       env=dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT)), stdout=subprocess.DEVNULL)
        rows = [measure(kind, corpus, index, args.minutes, args.every, work / f"{kind}.log") for kind in kinds]
    print(f"{cpu_name()}, {os.cpu_count()} cores; corpus {args.corpus} ({files} files); {args.minutes:g} minutes idle each")
    print("| process | CPU % of one core | CPU seconds | RSS median | RSS max |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['kind']} | {r['cpu_percent']:.3f} | {r['cpu_seconds']:.2f} in {r['seconds']:.0f} s | "
              f"{r['rss_median']:.0f} MB | {r['rss_max']:.0f} MB |")


def rescan_seconds(files: int) -> float:
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    from fake_embedder import FakeEmbedder

    from vraagbaak import embeddings
    from vraagbaak.live import LiveIndex

    embeddings.register_embedder("fake", FakeEmbedder)
    with tempfile.TemporaryDirectory() as work:
        corpus = Path(work) / "corpus"
        for n in range(files):
            folder = corpus / f"map-{n % 100}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"tekst-{n}.txt").write_text(f"Tekst {n}\n\nEen korte notitie over onderwerp {n} in de wijk.", encoding="utf-8")
        live = LiveIndex(corpus, Path(work) / "index", model="fake")
        live.update(progress=False)
        times = []
        for _ in range(5):
            started = time.perf_counter()
            report = live.update(progress=False, retry_skipped=False)
            times.append(time.perf_counter() - started)
            assert not report.written
        return statistics.median(times)


if __name__ == "__main__":
    main()
