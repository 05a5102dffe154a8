"""What the page shows, as HTML: hits, messages, the status line, dates and labels.

No Gradio here: every function takes plain values and returns a string, so
each is tested without a server. Everything a user or a file wrote (a
question, a title, a file name, a heading, a reason) is escaped: it is text,
never markup.
"""

from __future__ import annotations

import html
import re
from datetime import datetime

from ..embeddings import DEFAULT_MODEL
from ..lexical import stem_word, tokenize
from ..readers import FORMATS
from ..search import match_words
from ..sources import link

__all__ = ["CSS", "EDITORS_ONLY", "NO_MATCH_TEXT", "dutch_datetime", "message_html", "model_words", "render_hits",
           "result_message", "status_html", "upload_label"]

MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december")
BACKEND_WORDS = {"openvino-int8": "int8 via OpenVINO", "torch": "fp32 via PyTorch"}  # as indexes record them

NO_MATCH_TEXT = (
    "Geen passage in de teksten beantwoordt deze vraag goed. "
    "Probeer andere woorden, of voeg een tekst toe die erover gaat."
)
EDITORS_ONLY = "Alleen een redacteur mag teksten toevoegen en de index bijwerken."

CSS = """
.vb-hit {border: 1px solid #d0d7de; border-radius: 8px; padding: 12px 14px; margin: 10px 0;}
.vb-head {font-weight: 600; margin-bottom: 4px;}
.vb-meta {color: #57606a; font-size: 0.9em; margin-bottom: 8px;}
.vb-text {line-height: 1.55; white-space: pre-wrap;}
.vb-text mark.vb-answer {background: #fff3b0; padding: 1px 0;}
.vb-text .vb-term {font-weight: 700;}
.vb-none {padding: 12px; border-left: 4px solid #bf8700; background: #fff8c5;}
.vb-open {margin-left: 6px;}
.vb-message p {margin: 0 0 6px 0;}
"""


def _mark_terms(fragment: str, stems: set[str]) -> str:
    """Escape ``fragment`` and bold the words whose stem is a question stem."""
    out = []
    for token in re.split(r"(\w+)", fragment):
        if len(token) > 1 and re.fullmatch(r"\w+", token) and stem_word(token) in stems:
            out.append(f'<span class="vb-term">{html.escape(token)}</span>')
        else:
            out.append(html.escape(token))
    return "".join(out)


def _hit_html(h, stems: set[str]) -> str:
    a, b = h.answer_start - h.start, h.answer_end - h.start
    text = h.text
    if 0 <= a < b <= len(text):
        body = (
            _mark_terms(text[:a], stems)
            + f'<mark class="vb-answer">{_mark_terms(text[a:b], stems)}</mark>'
            + _mark_terms(text[b:], stems)
        )
    else:
        body = _mark_terms(text, stems)
    where = [f'<a class="vb-open" href="{html.escape(link(h.source, h.page))}" target="_blank" rel="noopener">{html.escape(h.source)}</a>']
    if h.page is not None:
        where.append(f'<span class="vb-page">p. {int(h.page)}</span>')
    if h.heading and h.heading != h.title:
        where.append(f"§ {html.escape(h.heading)}")
    number = f"e5-cosinus {h.similarity:.2f}" if h.similarity is not None else f"BM25 {h.score:.2f}"
    where.append(f'<span class="vb-match" title="{number}">{html.escape(match_words(h))}</span>')
    copies = ""
    if h.also_in:
        copies = f'<div class="vb-meta vb-copies">ook in: {", ".join(html.escape(c) for c in h.also_in)}</div>'
    return (
        f'<div class="vb-hit" data-source="{html.escape(h.source)}">'
        f'<div class="vb-head">{int(h.rank)}. {html.escape(h.title)}</div>'
        f'<div class="vb-meta">{" · ".join(where)}</div>{copies}'
        f'<div class="vb-text">{body}</div></div>'
    )


def render_hits(question: str, hits, hidden: int = 0) -> str:
    """HTML for the hits; ``hidden`` = how many weaker passages were left out."""
    wrap = f'<div class="vb-results" data-question="{html.escape(question)}">{{}}</div>'
    if not hits:
        return wrap.format(f'<div class="vb-none">{NO_MATCH_TEXT}</div>')
    stems = set(tokenize([question])[0])
    parts = [_hit_html(h, stems) for h in hits]
    if hidden:
        parts.append(f'<div class="vb-meta">{int(hidden)} andere passage(s) passen te slecht bij de vraag en zijn weggelaten.</div>')
    return wrap.format("\n".join(parts))


def result_message(question: str, text: str) -> str:
    """A message in place of results (an empty question, a filter that names nothing), escaped."""
    return f'<div class="vb-results" data-question="{html.escape(question or "")}"><div class="vb-none">{html.escape(text)}</div></div>'


def message_html(lines) -> str:
    """The adding panel's message: each line a paragraph, every character of it text."""
    return '<div class="vb-message">' + "".join(f"<p>{html.escape(line)}</p>" for line in lines if line) + "</div>"


def dutch_datetime(iso: str) -> str:
    """"2026-12-04T15:30:00+0000" as "4 december 2026, 15:30" in this machine's time zone."""
    try:
        moment = datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S%z").astimezone()
    except ValueError:
        return iso or "onbekend"
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}, {moment:%H:%M}"


def model_words(model: str, backend: str) -> str:
    name = "het meegeleverde meertalige model (multilingual-e5-small)" if model == DEFAULT_MODEL else f"het model {model}"
    runtime = BACKEND_WORDS.get(backend)
    return f"{name}, {runtime}" if runtime else name


def status_html(documents: int | None, passages: int = 0, updated: str = "", model: str = "", backend: str = "",
                user: tuple[str, str] | None = None) -> str:
    """The status line: counts, when the index was last updated, the model in words, who is logged in.
    ``documents`` None: there is no index yet."""
    if documents is None:
        return "<p><strong>Index:</strong> nog niet gebouwd.</p>"
    who = f" · ingelogd als {html.escape(user[0])} ({html.escape(user[1])})" if user else ""
    return (
        f"<p><strong>Index:</strong> {documents} {'document' if documents == 1 else 'documenten'}, {passages} passages · "
        f"bijgewerkt op {html.escape(dutch_datetime(updated))} · zoekt met {html.escape(model_words(model, backend))}{who}</p>"
    )


def upload_label() -> str:
    """The upload box's label: each format with its limit (``readers.FORMATS``)."""
    by_limit: dict[int, list[str]] = {}
    for fmt in FORMATS:
        by_limit.setdefault(fmt.upload_limit, []).append(fmt.name)
    return "Per bestand: " + "; ".join(f"{', '.join(names)} tot {limit >> 20} MB" for limit, names in sorted(by_limit.items()))
