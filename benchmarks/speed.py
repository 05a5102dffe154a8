"""Speed of builds, questions and starts: default backend against torch, a revision against this tree,
under each instruction-set profile, interleaved in one run. Not a test; nothing here asserts.

    python benchmarks/speed.py [--before main] [--profiles AVX2,AVX512_CORE,AVX512_CORE_VNNI,native]
                               [--docs 500] [--queries 200] [--rounds 1] [--backends default,torch] [--app]

Every combination of profile (``benchmarks/isa.py``: the environment that holds
oneDNN, MKL and ATen back to one instruction set), code (``--before REV``,
extracted with ``git archive``, and this working tree) and backend (the
default, which this tree chooses per CPU, and ``--backend torch``) runs in a
process of its own, one after the other within a round, so that load on a
shared machine falls on all of them alike; ``--rounds`` repeats the sequence.
Each prints one JSON line with the CPU and the load, and:

- ``build``: ``python -m vraagbaak build`` of the first ``--docs`` FAQ
  documents into a fresh index folder, the whole process (start, imports,
  model load, reading, splitting, embedding, writing): passages per minute;
- ``query_encode`` and ``search``: ``--queries`` warm FAQ questions, the model's
  encoding alone and ``Index.search`` (hybrid, k=5, with answers), p50/p95;
- with ``--app``: ``python app.py`` on that index, seconds to the first
  answered ``/search`` (``time_to_first_answer``) and the app's peak memory.

At the end a Markdown table per profile gives the medians and the ratios the
issue asks for (default over torch; this tree over the revision).
The models must exist beforehand (a first build of each backend makes them).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from isa import PROFILES, cpu_facts, profile_env  # noqa: E402

SHARED = ROOT.parent / "shared" / "eval" / "rijksoverheid-faq"
APP_QUESTION = "Waar mag ik parkeren met een parkeerschijf?"


def percentiles(seconds) -> dict:
    ms = np.array(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2)}


def time_to_first_answer(code: Path, index_dir: Path, corpus: Path, backend: str | None, env: dict) -> tuple[float, float]:
    """(seconds from starting ``code``'s app.py to the first answered /search, peak MB of that process)."""
    from gradio_client import Client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.perf_counter()
    command = [sys.executable, "app.py", "--corpus", str(corpus), "--index", str(index_dir), "--port", str(port)]
    proc = subprocess.Popen(command + (["--backend", backend] if backend else []), cwd=code, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError("app.py exited")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.05)
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        client.predict(APP_QUESTION, 5, "", api_name="/search")
        seconds = time.perf_counter() - start
        for _ in range(20):  # a few more questions, then read the peak
            client.predict("Hoe vraag ik huurtoeslag aan?", 5, "", api_name="/search")
        status = Path(f"/proc/{proc.pid}/status").read_text()
        peak_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
        return seconds, round(peak_kb / 1024, 1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def measure(code: Path, backend: str | None, corpus: Path, questions_file: Path, queries: int, app: bool) -> dict:
    """One code, one backend, under this process's profile: a whole-process build, then questions."""
    env = dict(os.environ, PYTHONPATH=str(code))
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(tmp) / "index"
        command = [sys.executable, "-m", "vraagbaak", "build", "--corpus", str(corpus), "--index", str(index_dir), "--json"]
        t0 = time.perf_counter()
        out = subprocess.run(command + (["--backend", backend] if backend else []), cwd=code, env=env,
                             capture_output=True, text=True, check=True)
        build_seconds = time.perf_counter() - t0
        report = json.loads(out.stdout.strip().splitlines()[-1])
        sys.path.insert(0, str(code))
        import vraagbaak
        from vraagbaak import Index
        from vraagbaak.evaluate import read_questions

        if Path(vraagbaak.__file__).resolve().parent.parent != code.resolve():
            raise SystemExit(f"imported vraagbaak from {vraagbaak.__file__}, not from {code}")
        index = Index.load(index_dir)
        index.warm_up()
        embedder = index._searcher.embedder
        questions = [q.query for q in read_questions(questions_file)][:queries]
        encode, search = [], []
        for q in questions:
            t = time.perf_counter()
            embedder.embed_queries([q])
            encode.append(time.perf_counter() - t)
            t = time.perf_counter()
            index.search(q, k=5)
            search.append(time.perf_counter() - t)
        result = {
            "backend": report["backend"], "passages": report["passages_total"], "sentences_embedded": report["sentences_embedded"],
            "build_seconds": round(build_seconds, 2), "build_passages_per_minute": round(report["passages_total"] / build_seconds * 60, 1),
            "query_encode": percentiles(encode), "search": percentiles(search),
        }
        if app:
            startup, peak = time_to_first_answer(code, index_dir, corpus, backend, env)
            result.update(app_start_to_first_answer_seconds=round(startup, 2), app_peak_rss_mb=peak)
        return result


def extract(rev: str, work: Path) -> tuple[Path, str]:
    """REV's app.py and vraagbaak package in a folder of their own (made once per commit)."""
    def git(*args):
        return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    target = work / f"src-{commit[:12]}"
    if not (target / "vraagbaak" / "__init__.py").is_file():
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit, "vraagbaak", "app.py"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target, commit[:12]


def corpus_subset(docs: int, work: Path) -> Path:
    folder = work / f"faq-{docs}"
    if not folder.is_dir():
        folder.mkdir(parents=True)
        for path in sorted((SHARED / "corpus").iterdir())[:docs]:
            shutil.copy(path, folder / path.name)
    return folder


def summary(runs: list[dict]) -> str:
    """Per profile, the medians of each code x backend and the ratios."""
    lines = []
    for profile in dict.fromkeys(r["profile"] for r in runs):
        mine = [r for r in runs if r["profile"] == profile and "error" not in r]
        cell = {}
        for r in mine:
            cell.setdefault((r["code"], r["choice"]), []).append(r)
        lines += [f"\n{profile} ({mine[0]['cpu'] if mine else '?'}; load {mine[0]['load_1_5_15'] if mine else '?'})",
                  "| code | backend | build passages/min | query encode p50 / p95 ms | search p50 / p95 ms | app first answer s |",
                  "| --- | --- | --- | --- | --- | --- |"]
        med = {}
        for (code, choice), rs in cell.items():
            m = {"build": statistics.median(r["build_passages_per_minute"] for r in rs),
                 "enc": statistics.median(r["query_encode"]["p50_ms"] for r in rs), "enc95": statistics.median(r["query_encode"]["p95_ms"] for r in rs),
                 "search": statistics.median(r["search"]["p50_ms"] for r in rs), "search95": statistics.median(r["search"]["p95_ms"] for r in rs)}
            app = [r["app_start_to_first_answer_seconds"] for r in rs if "app_start_to_first_answer_seconds" in r]
            med[code, choice] = m
            lines.append(f"| {code} | {choice} ({rs[0]['backend']}) | {m['build']:.1f} | {m['enc']:.1f} / {m['enc95']:.1f} | "
                         f"{m['search']:.1f} / {m['search95']:.1f} | {statistics.median(app) if app else ''} |")
        codes = list(dict.fromkeys(c for c, _ in med))
        for code in codes:
            if (code, "default") in med and (code, "torch") in med:
                lines.append(f"- {code}: default over torch, build {med[code, 'default']['build'] / med[code, 'torch']['build']:.2f}x")
        if len(codes) == 2:
            for choice in ("default", "torch"):
                if all((c, choice) in med for c in codes):
                    lines.append(f"- {choice}: {codes[1]} over {codes[0]}, build {med[codes[1], choice]['build'] / med[codes[0], choice]['build']:.2f}x")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=None, help="a git revision (e.g. main), or another checkout's folder, to measure beside this tree")
    parser.add_argument("--profiles", default=",".join(PROFILES))
    parser.add_argument("--backends", default="default,torch")
    parser.add_argument("--docs", type=int, default=500, help="the first DOCS FAQ documents (500: all)")
    parser.add_argument("--questions", type=Path, default=SHARED / "questions.jsonl")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--app", action="store_true", help="also time app.py to its first answer")
    parser.add_argument("--work", type=Path, default=Path("/tmp/vraagbaak-speed"))
    parser.add_argument("--child", nargs=3, metavar=("CODE", "BACKEND", "CORPUS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        code, backend, corpus = args.child
        print(json.dumps(measure(Path(code), None if backend == "default" else backend, Path(corpus), args.questions, args.queries, args.app)))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    corpus = corpus_subset(args.docs, args.work)
    codes = []
    if args.before:  # a git revision, or a folder holding another checkout's app.py and vraagbaak/
        codes.append((Path(args.before), Path(args.before).name) if Path(args.before, "vraagbaak").is_dir() else extract(args.before, args.work))
    codes.append((ROOT, "tree"))
    runs = []
    for n in range(args.rounds):
        for profile in args.profiles.split(","):
            for code, label in codes:
                for choice in args.backends.split(","):
                    command = [sys.executable, __file__, "--child", str(code), choice, str(corpus), "--questions", str(args.questions),
                               "--queries", str(args.queries)] + (["--app"] if args.app else [])
                    out = subprocess.run(command, env=profile_env(profile), capture_output=True, text=True)
                    run = {"round": n + 1, "profile": profile, "code": label, "choice": choice, **cpu_facts(), "docs": args.docs}
                    if out.returncode != 0:
                        run["error"] = (out.stderr.strip().splitlines() or ["?"])[-1]
                    else:
                        run.update(json.loads(out.stdout.strip().splitlines()[-1]))
                    runs.append(run)
                    print(json.dumps(run), flush=True)
    print(summary(runs))


if __name__ == "__main__":
    main()
