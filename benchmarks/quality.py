"""Retrieval quality on every dev set in every mode, for one revision or two side by side. Not a test.

    python benchmarks/quality.py [--work DIR] [--sets seeds,faq,...] [--backend openvino|torch] [--store milvus:URI]
    python benchmarks/quality.py --compare REV [--work DIR] ...   # git revision REV against the working tree
    python benchmarks/quality.py --compare REV --against REV2     # two revisions (the working tree may change meanwhile)
    python benchmarks/quality.py --table RUN.json                 # the tables of a saved run, again

Sets (``../shared/eval``):

- seeds: 20 questions over ``../shared/corpus`` (the bundled corpus);
- bundled: 40 questions over the same corpus, 28 of them asked in other words
  than the text (``benchmarks/eval/bundled-paraphrase.jsonl``, written in round 4
  from the texts alone, never fitted on; see ``benchmarks/eval/README.md``);
- faq: 500 rijksoverheid questions over their 500 answers;
- long-docs: 60 questions over 8 long reports, also by kind (paraphrase, specific);
- mixed-docs: 40 questions over 10 documents of every format, also by kind;
- law-text: self-retrieval over 5,502 articles of statutes, the 300 query
  lines of its README (an article's opening words; the article itself is the
  one right answer, and there is no answer phrase).

Every set in every mode (hybrid, dense, lexical): mrr@10, hit@1, hit@5 and
answer_hit@1, defined as ``vraagbaak/evaluate.py`` defines them (a passage
hit: the question's source, holding its answer phrase when it names one).
And the two rates of the no-match rule, as the page applies it (k=5, hybrid,
the revision's own rule: ``search.split_weak`` where it exists, else
``good_matches`` with the ranking's threshold): answerable questions turned
away (the page shows no hit) over every labelled set, and the 60 off-topic
questions of ``../shared/eval/off-topic.txt`` turned away, asked of every
dev corpus (none answers them).

``--compare REV`` extracts REV with ``git archive`` into WORK/src/ and measures each revision in a process of its own with that revision's
``vraagbaak`` first on the path (this file's measuring code for both, so
both are measured alike), then prints every set x mode side by side with the
difference, flagging a loss over 0.01. Each revision keeps its indexes in
WORK/code-<hash of its vraagbaak folder>/ (the working tree's in WORK/tree/),
so a second run only updates them; a new revision starts from a copy of the
folder used last, so its build too only does what its code changes. Each run is saved as JSON in WORK/runs/ (``--table`` prints it again).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
EVAL = SHARED / "eval"
MODES = ("hybrid", "dense", "lexical")
METRICS = ("mrr@10", "hit@1", "hit@5", "answer_hit@1")
LOSS = 0.01  # a loss larger than this, anywhere, is flagged
PAGE_K = 5  # results the page shows by default: the no-match rule is judged on them

SETS = {  # name -> (corpus, questions: a .jsonl file, or law-text's queries.txt)
    "seeds": (SHARED / "corpus", EVAL / "seed-questions.jsonl"),
    "bundled": (SHARED / "corpus", ROOT / "benchmarks" / "eval" / "bundled-paraphrase.jsonl"),
    "faq": (EVAL / "rijksoverheid-faq" / "corpus", EVAL / "rijksoverheid-faq" / "questions.jsonl"),
    "long-docs": (EVAL / "long-docs" / "corpus", EVAL / "long-docs" / "questions.jsonl"),
    "mixed-docs": (EVAL / "mixed-docs" / "corpus", EVAL / "mixed-docs" / "questions.jsonl"),
    "law-text": (EVAL / "law-text" / "corpus", EVAL / "law-text" / "queries.txt"),
}
LABELLED = ("seeds", "bundled", "faq", "long-docs", "mixed-docs")  # questions written as questions, with answer phrases
OFF_TOPIC = EVAL / "off-topic.txt"


# ------------------------------------------------------------ questions


def read_set(path: Path) -> list[dict]:
    """Questions as dicts: query, sources, answer (or None), kind ("" if the set has none)."""
    if path.suffix == ".txt":  # law-text: "<query>\t<file>"
        pairs = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if "\t" in line]
        return [{"query": q.strip(), "sources": [f.strip()], "answer": None, "kind": ""} for q, f in pairs]
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            out.append({"query": d["query"], "sources": d["sources"], "answer": d.get("answer"), "kind": d.get("kind", "")})
    return out


def normalise(text: str) -> str:
    return " ".join(text.lower().split())  # as vraagbaak/evaluate.py


def judge(question: dict, hits) -> dict:
    """One question's ranking: the rank of the first passage hit in the top 10 (None: none), and
    whether the first hit's answer sentence holds the answer phrase (None: the question names none)."""
    phrase = normalise(question["answer"]) if question["answer"] else None
    first = next((n for n, h in enumerate(hits[:10], start=1)
                  if h.source in question["sources"] and (phrase is None or phrase in normalise(h.text))), None)
    answer = None if phrase is None else bool(first == 1 and phrase in normalise(hits[0].answer or ""))
    return {"first": first, "answer": answer}


# --------------------------------------------------------------- worker


def measure(label: str, work_code: Path, sets: list[str], work: Path, backend: str | None, store: str | None) -> dict:
    """Build (or update) each set's index with the ``vraagbaak`` first on sys.path and ask every question.

    Runs in its own process (``--worker``), so that the revision measured is
    the only ``vraagbaak`` imported.
    """
    import vraagbaak
    from vraagbaak import Index
    from vraagbaak import search as search_module
    from vraagbaak.search import RankingSettings

    code = Path(vraagbaak.__file__).resolve().parent.parent
    if code != work_code.resolve():  # e.g. an editable install's import hook that wins over the path
        raise SystemExit(f"[{label}] imported vraagbaak from {code}, not from {work_code}: the comparison would be void")
    split_weak = getattr(search_module, "split_weak", None)

    def turned_away(index, question: str) -> bool:
        hits = index.search(question, k=PAGE_K)
        if split_weak is not None:
            return not split_weak(hits, index.ranking)[0]
        return not search_module.good_matches(hits, index.ranking.no_match_similarity)

    off_topic = [line.strip() for line in OFF_TOPIC.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = {"label": label, "code": str(code), "sets": {}}
    for name in sets:
        corpus, questions_file = SETS[name]
        where = f"{store}#quality_{label}_{name}".replace("-", "_") if store else str(work / label / f"{name}-{backend or 'default'}")
        t0 = time.perf_counter()
        # this version's ranking, not one an older build recorded
        index = Index.build(corpus, store=where, progress=False, backend=backend, ranking=RankingSettings())
        built = time.perf_counter() - t0
        index.warm_up()
        questions = read_set(questions_file)
        result = {"build_seconds": round(built, 1), "passages": index.passage_count, "questions": [], "off_topic": []}
        t0 = time.perf_counter()
        for q in questions:
            record = {"query": q["query"], "kind": q["kind"], "modes": {}}
            for mode in MODES:
                hits = index.search(q["query"], k=10, mode=mode, answers=1)
                record["modes"][mode] = judge(q, hits)
                if mode == "hybrid":  # for looking into a ranking: where the hits came from
                    record["hybrid_top"] = [[h.source, h.start, h.end, h.similarity] for h in hits[:PAGE_K]]
            record["turned_away"] = turned_away(index, q["query"])
            result["questions"].append(record)
        asked_before = any(SETS[other][0] == corpus for other in sets[: sets.index(name)])  # once per corpus
        result["off_topic"] = [] if asked_before else [{"query": q, "turned_away": turned_away(index, q)} for q in off_topic]
        result["search_seconds"] = round(time.perf_counter() - t0, 1)
        out["sets"][name] = result
        print(f"[{label}] {name}: {index.passage_count} passages, build {built:.0f} s, "
              f"questions {result['search_seconds']:.0f} s", file=sys.stderr, flush=True)
    return out


# --------------------------------------------------------------- driver


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout.strip()


def extract(rev: str, work: Path) -> tuple[Path, str]:
    """REV's code in WORK/src/<its vraagbaak tree> (extracted once), and its commit."""
    commit = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    target = work / "src" / git("rev-parse", f"{commit}:vraagbaak")
    if not (target / "vraagbaak" / "__init__.py").is_file():
        tmp = work / "src" / f".{commit}.tmp"
        subprocess.run(["rm", "-rf", str(tmp)], check=True)
        tmp.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit, "vraagbaak"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
        subprocess.run(["rm", "-rf", str(target)], check=True)
        tmp.rename(target)
    return target, commit


def slot(rev: str, work: Path) -> str:
    """The folder of a revision's indexes: one per content of its ``vraagbaak`` package
    (two commits with the same code share it). A new one starts as a copy of the
    folder used last, so its build only updates what the code changes (vectors are
    reused by text key)."""
    name = "code-" + git("rev-parse", f"{rev}:vraagbaak")[:12]
    if not (work / name).is_dir():
        used = [p for p in work.iterdir() if p.is_dir() and (p.name.startswith("code-") or p.name == "tree")] if work.is_dir() else []
        if used:
            seed = max(used, key=lambda p: p.stat().st_mtime)
            print(f"{name}: starting from a copy of {seed.name}", file=sys.stderr)
            shutil.copytree(seed, work / f".{name}.tmp", dirs_exist_ok=True)
            os.replace(work / f".{name}.tmp", work / name)
    return name


def run_worker(label: str, code: Path, args) -> dict:
    """``measure`` in a fresh process with ``code`` first on the path."""
    out = args.work / "runs" / f".{label}-{os.getpid()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(code), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               HF_HUB_OFFLINE="1")
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", str(code), "--label", label,
               "--work", str(args.work), "--sets", args.sets, "--json", str(out)]
    command += ["--backend", args.backend] if args.backend else []
    command += ["--store", args.store] if args.store else []
    subprocess.run(command, env=env, check=True)
    try:
        return json.loads(out.read_text(encoding="utf-8"))
    finally:
        out.unlink(missing_ok=True)


def tree_label() -> str:
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    return f"tree ({git('rev-parse', '--short', 'HEAD')}{' + changes' if dirty else ''})"


# --------------------------------------------------------------- report


def metrics(records: list[dict], mode: str) -> dict:
    n = len(records)
    firsts = [r["modes"][mode]["first"] for r in records]
    answers = [r["modes"][mode]["answer"] for r in records if r["modes"][mode]["answer"] is not None]
    return {
        "n": n,
        "mrr@10": sum(1 / f for f in firsts if f) / n,
        "hit@1": sum(f == 1 for f in firsts) / n,
        "hit@5": sum(bool(f and f <= 5) for f in firsts) / n,
        "answer_hit@1": sum(answers) / len(answers) if answers else None,
    }


def rows_of(run: dict) -> dict[tuple[str, str], dict]:
    """(set, mode) -> metrics, the sets with kinds also split by kind."""
    rows = {}
    for name, result in run["sets"].items():
        records = result["questions"]
        kinds = sorted({r["kind"] for r in records if r["kind"]})
        for part, subset in [(name, records)] + [(f"{name} {k}", [r for r in records if r["kind"] == k]) for k in kinds]:
            for mode in MODES:
                rows[(part, mode)] = metrics(subset, mode)
    return rows


def rates_of(run: dict) -> dict[str, tuple[int, int]]:
    """name -> (turned away, asked): answerable questions per set and over the labelled sets; off-topic per corpus and over all."""
    rates, answerable, off = {}, [0, 0], [0, 0]
    for name, result in run["sets"].items():
        away = sum(r["turned_away"] for r in result["questions"])
        rates[f"answerable turned away: {name}"] = (away, len(result["questions"]))
        if name in LABELLED:
            answerable[0] += away
            answerable[1] += len(result["questions"])
    for name, result in run["sets"].items():
        if not result["off_topic"]:
            continue  # its corpus was asked under another set's name
        away = sum(r["turned_away"] for r in result["off_topic"])
        rates[f"off-topic turned away: {name} corpus"] = (away, len(result["off_topic"]))
        off[0] += away
        off[1] += len(result["off_topic"])
    rates["answerable turned away: all labelled sets"] = tuple(answerable)
    rates["off-topic turned away: all corpora"] = tuple(off)
    return rates


def _f(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def table(runs: list[dict]) -> str:
    """Markdown: one run's figures, or two runs side by side with the difference (⚠: a loss over 0.01)."""
    labels = [r["label"] for r in runs]
    all_rows = [rows_of(r) for r in runs]
    keys = list(all_rows[-1])
    if len(runs) == 1:
        lines = ["| set | mode | n | " + " | ".join(METRICS) + " |", "|" + " --- |" * (3 + len(METRICS))]
        for key in keys:
            m = all_rows[0][key]
            lines.append(f"| {key[0]} | {key[1]} | {m['n']} | " + " | ".join(_f(m[k]) for k in METRICS) + " |")
    else:
        lines = [f"{labels[0]} → {labels[1]}; ⚠ marks a loss over {LOSS}.", "",
                 "| set | mode | n | " + " | ".join(f"{k} | Δ" for k in METRICS) + " |", "|" + " --- |" * (3 + 2 * len(METRICS))]
        for key in keys:
            if key not in all_rows[0]:
                continue
            a, b = all_rows[0][key], all_rows[1][key]
            cells = []
            for k in METRICS:
                if a[k] is None or b[k] is None:
                    cells += [f"{_f(a[k])} → {_f(b[k])}", ""]
                    continue
                delta = b[k] - a[k]
                cells += [f"{a[k]:.3f} → {b[k]:.3f}", f"{delta:+.3f}" + (" ⚠" if delta < -LOSS - 1e-9 else "")]
            lines.append(f"| {key[0]} | {key[1]} | {b['n']} | " + " | ".join(cells) + " |")
    lines += ["", "| no-match rule (page: k=5, hybrid) | " + " | ".join(labels) + " |", "|" + " --- |" * (1 + len(runs))]
    all_rates = [rates_of(r) for r in runs]
    for name in all_rates[-1]:
        cells = []
        for rates in all_rates:
            away, n = rates.get(name, (0, 0))
            cells.append(f"{away / n:.1%} ({away}/{n})" if n else "n/a")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def losses(runs: list[dict]) -> list[str]:
    """Every set x mode x metric where the second run lost more than ``LOSS``."""
    before, after = rows_of(runs[0]), rows_of(runs[1])
    out = []
    for key, b in after.items():
        a = before.get(key)
        for k in METRICS if a else ():
            if a[k] is not None and b[k] is not None and b[k] - a[k] < -LOSS - 1e-9:
                out.append(f"{key[0]} {key[1]} {k}: {a[k]:.3f} -> {b[k]:.3f}")
    return out


def cpu() -> str:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from fidelity import cpu_facts

    facts = cpu_facts()
    return f"{facts['cpu']} ({', '.join(facts['flags']) or 'none of the flags fidelity.py names'})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/vraagbaak-quality"),
                        help="indexes (one folder per revision), extracted revisions and saved runs")
    parser.add_argument("--compare", metavar="REV", default=None, help="a git revision to measure beside the working tree")
    parser.add_argument("--against", metavar="REV2", default=None, help="with --compare: a second revision instead of the working tree")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--backend", default=None)
    parser.add_argument("--store", default=None, help="milvus:URI to measure the Milvus store (one collection per revision and set)")
    parser.add_argument("--table", type=Path, default=None, help="print the tables of a saved run and stop")
    parser.add_argument("--worker", type=Path, default=None, help=argparse.SUPPRESS)  # internal: measure with this code
    parser.add_argument("--label", default="tree", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.worker is not None:
        sys.path.insert(0, str(args.worker))
        result = measure(args.label, args.worker, args.sets.split(","), args.work, args.backend, args.store)
        args.json.write_text(json.dumps(result), encoding="utf-8")
        return
    if args.table is not None:
        saved = json.loads(args.table.read_text(encoding="utf-8"))
        print(f"{saved['date']}, {saved['cpu']}\n\n{table(saved['runs'])}")
        return
    unknown = set(args.sets.split(",")) - set(SETS)
    if unknown:
        parser.error(f"unknown set(s) {', '.join(sorted(unknown))}; choose from {', '.join(SETS)}")
    t0 = time.perf_counter()
    revisions = []
    if args.compare:
        code, commit = extract(args.compare, args.work)
        revisions.append((slot(commit, args.work), code, f"{args.compare} ({commit[:7]})"))
    if args.against:
        code, commit = extract(args.against, args.work)
        revisions.append((slot(commit, args.work), code, f"{args.against} ({commit[:7]})"))
    else:
        revisions.append(("tree", ROOT, tree_label()))
    runs = []
    for folder, code, label in revisions:
        run = run_worker(folder, code, args)
        run["label"] = label
        runs.append(run)
    saved = {"date": time.strftime("%Y-%m-%d %H:%M"), "cpu": cpu(), "backend": args.backend or "default",
             "store": args.store or "local", "minutes": round((time.perf_counter() - t0) / 60, 1), "runs": runs}
    path = args.work / "runs" / f"{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(saved), encoding="utf-8")
    print(f"{saved['date']}, {saved['cpu']}, {saved['minutes']} min; saved in {path}\n\n{table(runs)}")
    if len(runs) == 2:
        lost = losses(runs)
        print("\n" + (f"LOSSES over {LOSS}:\n  " + "\n  ".join(lost) if lost else f"No set x mode x metric lost more than {LOSS}."))


if __name__ == "__main__":
    main()
