"""How should a reading worker's memory ceiling work? Measures the three ways issue 35 names. Not a test.

    python benchmarks/reader_ceiling.py [--budget-gb 1.5]

A parent process that holds what a build or the server holds (the bundled
int8 OpenVINO model, warmed by embedding, and an index of the bundled
corpus, opened and searched) then reads a normal PDF, a large normal ODT (its
XML 20 MB: 0.1 GB to read) and three bombs (the
200-inch page rendered at 300 dpi, the DOCX whose XML inflates to 1.2 GB, the
PDF whose content stream inflates to 1.2 GB), with the readers' own limits
lifted so that only the ceiling stands in the way, in a child made four ways:

  fork + absolute RLIMIT_AS   a forked child limited to ``budget`` of address space
  fork + relative RLIMIT_AS   a forked child limited to its inherited size + ``budget``
  spawn + RLIMIT_AS           a fresh interpreter (no model) limited to its own size + ``budget``
  fork + parent watching      no limit; the parent samples the child's memory every
                              100 ms (psutil) and kills it past ``budget`` over its start

and prints, for each: the parent's size at the fork, what the child answered,
its time to answer, and its peak resident memory (VmHWM, the kernel's high-
water mark, read while the child lives). Prints the CPU model. Uses the
bombs of tests/bombs.py.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

GB = 1024**3


def status(pid: int | str = "self") -> dict[str, int]:
    """VmSize, VmHWM, VmRSS, VmData (bytes) of a process, from /proc."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("VmSize", "VmHWM", "VmRSS", "VmData", "Threads"):
                out[key] = int(line.split()[1]) * (1024 if key != "Threads" else 1)
    return out


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def read(path: str) -> str:
    from vraagbaak.ocr import OcrSettings
    from vraagbaak.readers import ReaderLimits, Unreadable, extract

    no_limits = ReaderLimits(zip_part_bytes=2**50, zip_total_bytes=2**50)
    try:
        got = extract(path, Path(path).read_bytes(), OcrSettings(max_pixels=2**50, min_dpi=1), limits=no_limits)
        return f"read, {len(got.text)} characters"
    except Unreadable as exc:
        cause = exc.__cause__ or exc
        return f"refused: {type(cause).__name__}"[:80]
    except MemoryError:
        return "refused: MemoryError"


def child(path: str, limit: int | None, relative: bool, answer) -> None:
    """Runs in the child: limit its address space (optionally), read, send (answer, seconds, peak)."""
    if limit is not None:
        base = status()["VmSize"] if relative else 0
        resource.setrlimit(resource.RLIMIT_AS, (base + limit, resource.RLIM_INFINITY))
    started = time.perf_counter()
    try:
        outcome = read(path)
    except BaseException as exc:  # noqa: BLE001 - what the child met is the measurement
        outcome = f"failed: {type(exc).__name__}"
    answer.send((outcome, round(time.perf_counter() - started, 2), status()["VmHWM"]))


def signal_name(exitcode: int) -> str:
    import signal

    return signal.Signals(-exitcode).name if exitcode < 0 else f"exit {exitcode}"


def run(method: str, path: str, budget: int) -> dict:
    context = multiprocessing.get_context("spawn" if method == "spawn + RLIMIT_AS" else "fork")
    receive, send = context.Pipe(duplex=False)
    limit = {"fork + absolute RLIMIT_AS": budget, "fork + relative RLIMIT_AS": budget, "spawn + RLIMIT_AS": budget}.get(method)
    relative = method != "fork + absolute RLIMIT_AS"
    started = time.perf_counter()
    process = context.Process(target=child, args=(path, limit, relative, send))
    process.start()
    send.close()
    watched_peak, killed = 0, False
    start_rss = None
    while process.is_alive() and not receive.poll(0.1):
        try:
            now = status(process.pid)
        except OSError:
            break
        if "VmRSS" not in now:  # a zombie: it has ended
            break
        start_rss = start_rss or now["VmRSS"]
        watched_peak = max(watched_peak, now["VmHWM"])
        if method == "fork + parent watching" and now["VmRSS"] > start_rss + budget:
            process.kill()
            killed = True
    try:
        answer = receive.recv() if receive.poll(0) else None
    except EOFError:  # it died without answering
        answer = None
    process.join()
    seconds = round(time.perf_counter() - started, 2)
    if answer:
        outcome, read_seconds, peak = answer
        return {"outcome": outcome, "seconds": seconds, "read_seconds": read_seconds, "peak_rss_gb": round(peak / GB, 2)}
    return {"outcome": "killed by the parent" if killed else f"died ({signal_name(process.exitcode)})", "seconds": seconds,
            "peak_rss_gb_seen": round(watched_peak / GB, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget-gb", type=float, default=1.5)
    args = parser.parse_args()
    budget = int(args.budget_gb * GB)

    import bombs
    import documents
    from vraagbaak import Index

    folder = Path(tempfile.mkdtemp(prefix="ceiling-"))
    files = {
        "normal PDF": documents.write_pdf(folder / "notitie.pdf"),
        "large ODT (20 MB of XML, a normal file)": bombs.odt_bomb(folder / "groot.odt", inflated=20 * 1024**2),
        "200-inch page": bombs.huge_page_pdf(folder / "groot.pdf"),
        "DOCX bomb": bombs.docx_bomb(folder / "bom.docx"),
        "content-stream bomb": bombs.stream_pdf(folder / "stroom.pdf"),
    }
    index = Index.build(ROOT / "corpus", folder / "index", progress=False)
    index.search("wat is preventie?", k=5)  # the model loaded and run, the vectors mapped
    parent = status()
    print(json.dumps({"cpu": cpu_model(), "cores": os.cpu_count(), "parent_at_fork_gb": {k: round(v / GB, 2) for k, v in parent.items() if k != "Threads"},
                      "parent_threads": parent["Threads"], "budget_gb": args.budget_gb}), flush=True)
    for method in ("fork + absolute RLIMIT_AS", "fork + relative RLIMIT_AS", "spawn + RLIMIT_AS", "fork + parent watching"):
        for name, path in files.items():
            print(json.dumps({"method": method, "file": name, **run(method, str(path), budget)}), flush=True)


if __name__ == "__main__":
    main()
