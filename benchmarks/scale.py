"""Scale benchmark: prints one JSON line per corpus size. Not a test; nothing here asserts.

    python benchmarks/scale.py [--sizes 10000 100000 1000000] [--work /tmp/vraagbaak-scale]

For each size (in passages, approximately) it writes a synthetic corpus of
Dutch documents made of real sentences from ../shared/eval/rijksoverheid-faq
(a title line and paragraphs of 3-6 sentences, about 8 passages a document,
1,000 files a folder), then measures with a stand-in embedder so that only the
non-model costs count:

- full build into an empty index folder (split, BM25 terms, store, HNSW);
- unchanged rebuild, adding one document, removing one document (each an
  ``Index.build`` of the same folder, in a fresh process with nothing cached
  in Python: one stat a file, the documents table, then only the change);
- load: ``Index.load`` plus reading the vector indexes (``warm_up``);
- hybrid, dense and lexical ``Index.search`` p50/p95 over 200 FAQ questions, k=5,
  excluding query encoding (the stand-in returns precomputed query vectors),
  and the p50 of the searching thread's CPU time (on a shared machine, wall
  time also counts the waits for a core);
- index bytes per passage (everything in the folder) and peak resident
  memory of the build process and of the serving process.

With ``--real-model-size N`` (default 10,000) that size is measured once more
with the bundled model (its default backend, int8 OpenVINO): the full build then
includes embedding, and the searches still exclude query encoding.

The stand-in embeds a text as a random unit vector drawn from the SHAKE-128
hash of the text (deterministic, 384 dimensions like e5-small, no meaning), and
counts tokens as characters / 4. Each measured step runs in its own process
so peak memory is that step's own.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
FAQ = ROOT.parent / "shared" / "eval" / "rijksoverheid-faq"
DIM = 384
PASSAGES_PER_DOC = 8  # measured: documents of ~35 sentences split into about this many passages


class StandIn:
    name = "standin"
    dimension = DIM
    prompts = {"query": "query: ", "document": "passage: "}
    max_tokens = 512

    def __init__(self, queries: dict[str, np.ndarray] | None = None):
        self.queries = queries or {}

    @classmethod
    def answering(cls, questions: list[str]) -> "StandIn":
        """A stand-in whose question vectors are made beforehand (so no timing counts them), under each
        question as given and as ``check_question`` passes it on (whitespace collapsed)."""
        stand_in = cls()
        stand_in.queries = {q: cls._vectors([" ".join(q.split())])[0] for q in questions}
        stand_in.queries.update({" ".join(q.split()): v for q, v in stand_in.queries.items()})
        return stand_in

    @staticmethod
    def _vectors(texts):
        raw = b"".join(hashlib.shake_128(t.encode("utf-8")).digest(DIM * 2) for t in texts)
        v = np.frombuffer(raw, np.int16).reshape(len(texts), DIM).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def embed_queries(self, texts):
        return np.vstack([self.queries[t] if t in self.queries else self._vectors([t])[0] for t in texts])

    def embed_passages(self, texts):
        return self._vectors(texts)

    def count_tokens(self, text):
        return len(text) // 4 + 2


def faq_sentences() -> list[str]:
    from vraagbaak.chunking import split_sentences

    sentences = []
    for path in sorted((FAQ / "corpus").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        sentences += [text[a:b] for a, b in split_sentences(text) if b - a > 30]
    return sentences


def write_corpus(folder: Path, passages: int, seed: int = 0) -> int:
    if (folder / ".complete").is_file():
        return int((folder / ".complete").read_text())
    shutil.rmtree(folder, ignore_errors=True)
    rng = random.Random(seed)
    sentences = faq_sentences()
    n_docs = max(1, passages // PASSAGES_PER_DOC)
    for d in range(n_docs):
        sub = folder / f"map-{d // 1000:04d}"
        if d % 1000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        title = rng.choice(sentences).rstrip(".?!")[:90]
        paragraphs = [" ".join(rng.choice(sentences) for _ in range(rng.randint(3, 6))) for _ in range(rng.randint(12, 18))]
        (sub / f"doc-{d:07d}.txt").write_text(title + "\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    (folder / ".complete").write_text(str(n_docs))
    return n_docs


def peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# ----------------------------------------------------------- child steps


def step_build(corpus: str, index: str, model: str = "standin") -> dict:
    from vraagbaak import Index, register_embedder

    register_embedder("standin", StandIn)
    t = time.perf_counter()
    built = Index.build(corpus, index, model=None if model == "real" else model, progress=False)
    seconds = time.perf_counter() - t
    r = built.report
    return {"seconds": round(seconds, 3), "passages": built.passage_count, "documents": len(built.documents),
            "embedded": r.passages_embedded, "added": r.documents_added, "removed": r.documents_removed,
            "model_loaded": r.model_loaded, "peak_mb": peak_mb()}


def step_serve(index: str, questions: str) -> dict:
    from vraagbaak import Index, register_embedder

    qs = [json.loads(line)["query"] for line in Path(questions).read_text(encoding="utf-8").splitlines()[:200]]
    stand_in = StandIn.answering(qs)
    register_embedder("standin", lambda: stand_in)
    t = time.perf_counter()
    index = Index.load(index)
    index.warm_up()
    load = time.perf_counter() - t
    real = index._searcher.embedder
    if real.name != "standin":  # the real model: encode the questions once, outside the timing
        vectors = dict(zip(stand_in.queries, real.embed_queries(list(stand_in.queries))))
        real.embed_queries = lambda texts: np.vstack([vectors[t] for t in texts])
    out = {"load_s": round(load, 3)}
    for mode in ("hybrid", "dense", "lexical"):
        index.search(qs[0], k=5, mode=mode)
        times, cpu = [], []
        for q in qs:
            t, c = time.perf_counter(), time.thread_time()
            index.search(q, k=5, mode=mode)
            cpu.append(time.thread_time() - c)
            times.append(time.perf_counter() - t)
        ms = np.array(times) * 1000
        out[f"{mode}_p50_ms"] = round(float(np.percentile(ms, 50)), 2)
        out[f"{mode}_p95_ms"] = round(float(np.percentile(ms, 95)), 2)
        # the searching thread's CPU time: what a question costs, less swayed than wall time by other work on the machine
        out[f"{mode}_cpu_p50_ms"] = round(float(np.percentile(np.array(cpu) * 1000, 50)), 2)
    out["serve_peak_mb"] = peak_mb()
    return out


def child(step: str, *args) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--step", step, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def measure(size: int, work: Path, model: str = "standin") -> dict:
    corpus, index = work / f"corpus-{size}", work / f"index-{size}-{model}"
    t = time.perf_counter()
    n_docs = write_corpus(corpus, size)
    gen_s = time.perf_counter() - t
    shutil.rmtree(index, ignore_errors=True)
    full = child("build", str(corpus), str(index), model)
    unchanged = child("build", str(corpus), str(index), model)
    extra = corpus / "extra.txt"
    extra.write_text("Extra document\n\n" + " ".join(faq_sentences()[:40]) + "\n", encoding="utf-8")
    add = child("build", str(corpus), str(index), model)
    extra.unlink()
    remove = child("build", str(corpus), str(index), model)
    serve = child("serve", str(index), str(FAQ / "questions.jsonl"))
    from isa import cpu_facts  # benchmarks/isa.py: the CPU and the load, printed with every figure

    return {
        "model": model, "target_passages": size, "documents": n_docs, "passages": full["passages"], **cpu_facts(),
        "corpus_seconds": round(gen_s, 1),
        "full_build_s": full["seconds"], "build_peak_mb": full["peak_mb"],
        "unchanged_rebuild_s": unchanged["seconds"], "unchanged_model_loaded": unchanged["model_loaded"],
        "add_one_s": add["seconds"], "add_embedded": add["embedded"],
        "remove_one_s": remove["seconds"], "removed": remove["removed"],
        **serve,
        "index_bytes_per_passage": round(folder_bytes(index) / max(1, remove["passages"])),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000],
                        help="stand-in sizes (none: only the --real-model-size run)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/vraagbaak-scale"))
    parser.add_argument("--real-model-size", type=int, default=10_000,
                        help="also run this size with the bundled model (its default backend); 0: never")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.step:
        print(json.dumps({"build": step_build, "serve": step_serve}[args.step](*rest)))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    for size in args.sizes:
        print(json.dumps(measure(size, args.work)), flush=True)
    if args.real_model_size:
        print(json.dumps(measure(args.real_model_size, args.work, "real")), flush=True)


if __name__ == "__main__":
    main()
