"""Which OpenVINO model is fastest, and faithful, under each instruction-set profile. Not a test.

    python benchmarks/precision.py [--docs 40] [--rounds 3] [--profiles AVX2,AVX512_CORE,AVX512_CORE_VNNI,native]

For each profile (``benchmarks/isa.py``: the environment that holds oneDNN,
MKL and ATen back to AVX2, AVX-512 without VNNI, AVX-512 VNNI, or no limit), a
child process embeds the passages of the first ``--docs`` FAQ documents, as a
build embeds them, with each candidate in turn, ``--rounds`` times
interleaved (so load on the machine falls on all alike), and prints one JSON
line: the CPU, passages per second per candidate (median of the rounds; also
per CPU second of the process, which other processes on a shared machine sway
less) and
the lowest and mean cosine of its vectors with torch's fp32 ones. Candidates:

- ``int8``: the static int8 model (NNCF, weights and activations), the default on VNNI/AMX;
- ``fp32``: the fp32 model Vraagbaak makes for CPUs without VNNI;
- ``f16w``: the fp32 model with float16 weights (OpenVINO expands them when it compiles);
- ``wint8``: int8 weights only (NNCF ``compress_weights``), activations in float;
- ``torch``: fp32 sentence-transformers, the ``--backend torch`` path.

The last two OpenVINO models are made here, in ``--work``, from the fp32 one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from isa import PROFILES, cpu_facts, profile_env  # noqa: E402

FAQ = ROOT.parent / "shared" / "eval" / "rijksoverheid-faq" / "corpus"
CANDIDATES = ("int8", "fp32", "f16w", "wint8", "torch")


def passage_texts(docs: int) -> list[str]:
    """The texts a build embeds for the passages of the first ``docs`` FAQ documents."""
    from vraagbaak.build import _Job, _split
    from vraagbaak.chunking import ChunkingSettings
    from vraagbaak.corpus import read_document
    from vraagbaak.embeddings import load_embedder
    from vraagbaak.stores import DocumentRecord

    counter = load_embedder(backend="openvino-fp32")
    job = _Job(ChunkingSettings(), counter.count_tokens, counter.name, counter.prompts["document"])
    texts = []
    for path in sorted(FAQ.glob("*.txt"))[:docs]:
        document = read_document(str(path), path.name)
        texts += _split(DocumentRecord(path.name, document.title, document.sha256, 0, 0), document, job).embedding_texts
    return texts


def make_variants(work: Path) -> dict[str, Path]:
    """Folders of every OpenVINO candidate (the two Vraagbaak makes, and two made here from the fp32 one)."""
    import openvino as ov

    from vraagbaak.bundled_model import ensure_bundled_model
    from vraagbaak.openvino_model import ensure_openvino_model

    model = ensure_bundled_model()
    folders = {p: ensure_openvino_model(model, p) for p in ("int8", "fp32")}
    for name in ("f16w", "wint8"):
        folder = work / name
        folders[name] = folder
        if (folder / "model.xml").is_file():
            continue
        shutil.copytree(folders["fp32"], folder, ignore=shutil.ignore_patterns("compiled", "model.*"), dirs_exist_ok=True)
        fp32 = ov.Core().read_model(str(folders["fp32"] / "model.xml"))
        if name == "wint8":
            os.environ.setdefault("NNCF_CI", "1")
            import nncf

            fp32 = nncf.compress_weights(fp32, mode=nncf.CompressWeightsMode.INT8_ASYM)
        ov.save_model(fp32, str(folder / "model.xml"), compress_to_fp16=name == "f16w")
    return folders


def child(profile: str, docs: int, rounds: int, work: Path) -> dict:
    import numpy as np

    from vraagbaak.embeddings import load_embedder
    from vraagbaak.openvino_model import OpenVinoEmbedder

    texts = passage_texts(docs)
    folders = make_variants(work)
    embedders, errors = {}, {}
    for name in CANDIDATES:
        try:
            embedder = load_embedder(backend="torch") if name == "torch" else OpenVinoEmbedder("e5", folders[name])
            embedder.embed_passages(texts[:8])  # warm: kernels for the first shapes
            embedders[name] = embedder
        except Exception as exc:  # noqa: BLE001 - a kernel this profile lacks (e.g. weight-only int8 under AVX2)
            errors[name] = str(exc).strip().splitlines()[-1][:160]
    speed = {name: [] for name in embedders}
    work = {name: [] for name in embedders}
    vectors = {}
    for _ in range(rounds):
        for name, embedder in embedders.items():
            t, c = time.perf_counter(), time.process_time()
            vectors[name] = embedder.embed_passages(texts)
            speed[name].append(len(texts) / (time.perf_counter() - t))
            work[name].append(len(texts) / (time.process_time() - c))
    out = {"profile": profile, **cpu_facts(), "passages": len(texts), "rounds": rounds,
           "passages_per_second": {n: round(statistics.median(v), 2) for n, v in speed.items()},
           # CPU seconds of all the process's threads: less swayed by other processes on a shared machine than wall time
           "passages_per_cpu_second": {n: round(statistics.median(v), 2) for n, v in work.items()},
           "each_round": {n: [round(x, 2) for x in v] for n, v in speed.items()}, "errors": errors}
    if "torch" in vectors:
        out["cosine_with_torch"] = {n: {"min": round(float(c.min()), 4), "mean": round(float(c.mean()), 4)}
                                    for n, v in vectors.items() if n != "torch" for c in [np.sum(v * vectors["torch"], axis=1)]}
        out["over_torch"] = {n: round(s / out["passages_per_second"]["torch"], 2) for n, s in out["passages_per_second"].items()}
        out["over_torch_cpu"] = {n: round(s / out["passages_per_cpu_second"]["torch"], 2) for n, s in out["passages_per_cpu_second"].items()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profiles", default=",".join(PROFILES))
    parser.add_argument("--work", type=Path, default=Path("/tmp/vraagbaak-precision"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.child:
        print(json.dumps(child(args.child, args.docs, args.rounds, args.work)))
        return
    for profile in args.profiles.split(","):
        out = subprocess.run([sys.executable, __file__, "--child", profile, "--docs", str(args.docs), "--rounds", str(args.rounds),
                              "--work", str(args.work)], env=profile_env(profile), capture_output=True, text=True)
        if out.returncode != 0:
            print(json.dumps({"profile": profile, "error": out.stderr.strip().splitlines()[-1:]}), flush=True)
            continue
        print(out.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
