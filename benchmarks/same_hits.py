"""Do another checkout and this tree return the same hits? Not a test; exits 1 on any difference.

    python benchmarks/same_hits.py INDEX --before DIR [--k 5,20] [--within 3000,30]

For a speed change that must not change ranking. ``DIR`` holds another
checkout's ``vraagbaak/`` (e.g. ``git archive main vraagbaak app.py | tar -x -C
DIR``); INDEX is an index ``benchmarks/scale.py`` built with its stand-in
embedder (query vectors precomputed, as ``before_after.py`` does). Each code,
in a process of its own, asks the 200 FAQ questions in hybrid, dense and
lexical mode for each k, and the first 100 of them again within each number of
random documents (k=5), and writes every hit (``Hit.to_dict``: rows, order,
scores and cosines to 4 decimals, answers, pages); the two outputs must be
equal to the byte.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = Path(__file__).resolve().parent
FAQ_QUESTIONS = ROOT.parent / "shared" / "eval" / "rijksoverheid-faq" / "questions.jsonl"

DUMP = r'''
import json, random, sys
code, index, ks, withins, questions, benchmarks, out = sys.argv[1:8]
sys.path.insert(0, code)
import vraagbaak
if not vraagbaak.__file__.startswith(code):
    raise SystemExit(f"imported {vraagbaak.__file__}, not {code}")
sys.path.append(benchmarks)
from pathlib import Path
from scale import StandIn
from vraagbaak import Index, register_embedder
qs = [json.loads(line)["query"] for line in Path(questions).read_text(encoding="utf-8").splitlines()[:200]]
stand_in = StandIn.answering(qs)
register_embedder("standin", lambda: stand_in)
index = Index.load(index)
sources, rng = sorted(index.documents), random.Random(1)
asks = [(mode, int(k), q, None) for mode in ("hybrid", "dense", "lexical") for k in ks.split(",") for q in qs]
asks += [(mode, 5, q, within) for n in filter(None, withins.split(",")) for q in qs[:100]
         for within in [rng.sample(sources, min(int(n), len(sources)))] for mode in ("hybrid", "dense", "lexical")]
with open(out, "w", encoding="utf-8") as f:
    for mode, k, q, within in asks:
        hits = index.search(q, k=k, mode=mode, within=within)
        f.write(json.dumps({"mode": mode, "k": k, "q": q, "within": None if within is None else len(within),
                            "hits": [h.to_dict() for h in hits]}, ensure_ascii=False, sort_keys=True) + "\n")
'''


def dump(code: Path, args, out: Path) -> list[str]:
    subprocess.run([sys.executable, "-c", DUMP, str(code), str(args.index), args.k, args.within, str(FAQ_QUESTIONS), str(BENCHMARKS), str(out)],
                   check=True)
    return out.read_text(encoding="utf-8").splitlines()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index")
    parser.add_argument("--before", required=True, type=Path, help="another checkout's folder (vraagbaak/)")
    parser.add_argument("--k", default="5,20")
    parser.add_argument("--within", default="3000,30", help="numbers of random documents to search within (k=5); empty: none")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before = dump(args.before.resolve(), args, Path(tmp) / "before.jsonl")
        after = dump(ROOT, args, Path(tmp) / "after.jsonl")
    differ = [n for n, (b, a) in enumerate(zip(before, after)) if b != a]
    hits = sum(line.count('"rank":') for line in after)
    print(f"{len(after)} searches, {hits} hits: {'identical' if not differ and len(before) == len(after) else 'DIFFERENT'}")
    for n in differ[:5]:
        print("before:", before[n][:300], "\nafter: ", after[n][:300])
    sys.exit(1 if differ or len(before) != len(after) else 0)


if __name__ == "__main__":
    main()
