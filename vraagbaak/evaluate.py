"""Measuring retrieval on labelled questions.

Question file: one JSON object a line, ``query``, ``sources`` (file names
relative to the corpus folder) and optionally ``answer`` (a phrase the
answering passage contains). Definitions, over the top k of one question:

- passage hit: source listed and, where ``answer`` is given, the passage text
  contains it (both lower-cased, whitespace runs collapsed to one space);
- document hit: source listed;
- hit@n: a passage hit in the first n; mrr@10: mean of 1/rank of the first
  passage hit in the first 10 (0 if none); doc_hit@1, doc_mrr@10 likewise for
  document hits; answer_hit@1: the first passage is a passage hit and its
  answer sentence contains ``answer`` (only questions with ``answer`` count).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from . import messages
from .errors import VraagbaakError

__all__ = ["Question", "read_questions", "normalise", "metrics", "evaluate", "table", "METRIC_KEYS"]

METRIC_KEYS = ("hit@1", "hit@5", "hit@10", "mrr@10", "doc_hit@1", "doc_mrr@10", "answer_hit@1")


@dataclass(frozen=True)
class Question:
    query: str
    sources: tuple[str, ...]
    answer: str | None = None


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def read_questions(path: str | Path) -> list[Question]:
    """Parse a question file; every bad line is reported by number in one error."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise VraagbaakError(messages.question_file_unreadable(path, exc)) from exc
    questions, problems = [], []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            if not isinstance(d, dict):
                raise ValueError(messages.QUESTION_NOT_AN_OBJECT)
            query, sources, answer = d.get("query"), d.get("sources"), d.get("answer")
            if not isinstance(query, str) or not query.strip():
                raise ValueError(messages.QUESTION_QUERY_EMPTY)
            if not isinstance(sources, list) or not sources or not all(isinstance(s, str) for s in sources):
                raise ValueError(messages.QUESTION_SOURCES_EMPTY)
            if answer is not None and (not isinstance(answer, str) or not answer.strip()):
                raise ValueError(messages.QUESTION_ANSWER_EMPTY)
            questions.append(Question(query, tuple(sources), answer))
        except ValueError as exc:
            problems.append(messages.question_line(n, exc))
    if problems:
        raise VraagbaakError(messages.bad_question_lines(path, problems))
    if not questions:
        raise VraagbaakError(messages.no_questions(path))
    return questions


def _passage_hit(q: Question, source: str, text: str) -> bool:
    return source in q.sources and (q.answer is None or normalise(q.answer) in normalise(text))


def metrics(questions: list[Question], rankings: list[list[dict]]) -> dict:
    """Metrics of ``rankings[i]`` (hits as dicts with source, text, answer) for ``questions[i]``."""
    assert len(questions) == len(rankings)
    sums = dict.fromkeys(METRIC_KEYS, 0.0)
    with_answer = 0
    for q, hits in zip(questions, rankings):
        passage = [_passage_hit(q, h["source"], h["text"]) for h in hits[:10]]
        doc = [h["source"] in q.sources for h in hits[:10]]
        first = next((i for i, ok in enumerate(passage) if ok), None)
        first_doc = next((i for i, ok in enumerate(doc) if ok), None)
        sums["hit@1"] += first is not None and first < 1
        sums["hit@5"] += first is not None and first < 5
        sums["hit@10"] += first is not None
        sums["mrr@10"] += 1.0 / (first + 1) if first is not None else 0.0
        sums["doc_hit@1"] += first_doc == 0
        sums["doc_mrr@10"] += 1.0 / (first_doc + 1) if first_doc is not None else 0.0
        if q.answer is not None:
            with_answer += 1
            top = hits[0] if hits else None
            sums["answer_hit@1"] += bool(
                top and passage[0] and normalise(q.answer) in normalise(top.get("answer") or "")
            )
    n = len(questions)
    out = {key: round(value / n, 4) for key, value in sums.items()}
    out["answer_hit@1"] = round(sums["answer_hit@1"] / with_answer, 4) if with_answer else None
    out["questions"] = n
    return out


def evaluate(index, questions: list[Question], *, k: int = 10, mode: str = "hybrid") -> dict:
    """``metrics`` of ``index.search`` on ``questions`` in one mode, with the seconds the questions took."""
    import time

    t0 = time.perf_counter()
    rankings = [[{"source": h.source, "text": h.text, "answer": h.answer} for h in index.search(q.query, k=k, mode=mode, answers=1)]
                for q in questions]
    result = metrics(questions, rankings)
    result.update(mode=mode, k=k, seconds=round(time.perf_counter() - t0, 2))
    return result


def table(results: list[dict], *, k: int = 10) -> str:
    """A Markdown table of results (set x mode), the metrics as columns."""
    head = ["set", "mode", "questions", *METRIC_KEYS]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in results:
        values = ["n/a" if r[key] is None else f"{r[key]:.3f}" for key in METRIC_KEYS]
        lines.append("| " + " | ".join([r.get("set", ""), r["mode"], str(r["questions"]), *values]) + " |")
    return "\n".join(lines)
