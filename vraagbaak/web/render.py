"""What the page shows, as HTML: hits, messages, the status line, dates and labels.

No Gradio here: every function takes plain values and returns a string, so
each is tested without a server. Everything a user or a file wrote (a
question, a title, a file name, a heading, a reason) is escaped: it is text,
never markup.
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from ..dates import MONTHS, dutch_date, dutch_moment
from ..embeddings import DEFAULT_MODEL
from ..feedback import hit_key
from ..lexical import stem_word, tokenize
from ..progress import count_nl
from ..readers import FORMATS
from ..search import NO_MATCH_SIMILARITY, STRONG_MATCH_SIMILARITY, RankingSettings, relevance
from ..sources import link

__all__ = ["CSS", "JUDGMENT_BUTTONS", "NO_MATCH_TEXT", "dutch_datetime", "error", "limits_text",
           "message_html", "model_words", "no_match_text", "ok", "quality_html", "refused", "render_hits",
           "result_message", "status_html", "upload_label", "weeks_svg"]

BACKEND_WORDS = {"openvino-int8": "int8 via OpenVINO", "openvino-fp32": "fp32 via OpenVINO", "torch": "fp32 via PyTorch"}  # as indexes record them

NO_MATCH_TEXT = "Geen passage in de teksten beantwoordt deze vraag goed."
# The two judgment buttons of each hit: (the judgment sent, the words on the button)
JUDGMENT_BUTTONS = (("positive", "Beantwoordt mijn vraag"), ("negative", "Niet wat ik zoek"))
_DEFAULTS = RankingSettings()
SCALE_HINT = (f"Gelijkenis van vraag en passage volgens het taalmodel (e5-cosinus, van 0 tot 1; ongerelateerde "
              f"Nederlandse teksten halen al ongeveer 0,75): vanaf {NO_MATCH_SIMILARITY:.2f} een antwoord (vanaf "
              f"{_DEFAULTS.no_match_floor:.2f} als één zin {_DEFAULTS.no_match_sentence:.2f} haalt), vanaf "
              f"{STRONG_MATCH_SIMILARITY:.2f} een sterke overeenkomst.").replace("0.", "0,")

CSS = """
.vb-hit {border: 1px solid #d0d7de; border-radius: 8px; padding: 12px 14px; margin: 10px 0;}
.vb-head {font-weight: 600; margin-bottom: 4px;}
.vb-meta {color: #57606a; font-size: 0.9em; margin-bottom: 8px;}
.vb-text {line-height: 1.55; white-space: pre-wrap;}
.vb-text mark.vb-answer {background: #fff3b0; padding: 1px 0;}
.vb-text .vb-term {font-weight: 700;}
.vb-open {margin-left: 6px;}
.vb-match {cursor: help; border-bottom: 1px dotted #8c959f;}
.vb-judge {display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin-top: 10px;}
.vb-judge button {font: inherit; font-size: 0.85em; padding: 2px 10px; border: 1px solid #d0d7de; border-radius: 999px;
                  background: white; color: #24292f; cursor: pointer;}
.vb-judge button:hover {border-color: #8c959f;}
.vb-judge button[aria-pressed=true][data-judgment=positive] {background: #dafbe1; border-color: #1a7f37; color: #116329;}
.vb-judge button[aria-pressed=true][data-judgment=negative] {background: #ffebe9; border-color: #cf222e; color: #a40e26;}
.vb-judge button[aria-pressed=true]::before {content: "✓ ";}
.vb-judge-note {font-size: 0.85em; color: #57606a;}
.vb-judge-note.vb-judge-refused {color: #a40e26;}
.vb-weak {margin: 14px 0 4px 0;}
.vb-weak > summary {cursor: pointer; color: #57606a; font-weight: 600;}
.vb-weak .vb-hit {border-style: dashed;}
.vb-none, .vb-note, .vb-ok, .vb-refused, .vb-error {padding: 10px 12px; border-left: 4px solid; border-radius: 4px; margin: 0 0 6px 0;}
.vb-none, .vb-note {border-color: #bf8700; background: #fff8c5;}
.vb-ok {border-color: #1a7f37; background: #dafbe1;}
.vb-refused, .vb-error {border-color: #cf222e; background: #ffebe9; color: #82071e;}
.vb-none p {margin: 0 0 4px 0;}
.vb-message p {margin: 0 0 4px 0;}
.vb-message p:last-child {margin-bottom: 0;}
.vb-quality table {border-collapse: collapse; margin: 6px 0 10px 0; border: none !important;}
.vb-quality tr {border: none !important;}
.vb-quality td, .vb-quality th {text-align: left; padding: 4px 16px 4px 0; vertical-align: top; border: none !important;
                                border-bottom: 1px solid #eaeef2 !important; background: none !important;}
.vb-quality th {font-weight: 600;}
.vb-plot-title {margin: 12px 0 4px 0; color: #57606a;}
.vb-quality ul {margin: 4px 0 8px 18px; padding: 0;}
/* The filter row: one line on a wide screen, the slider's column wide enough for its label beside its number
   box; below 900 px the slider on a line of its own and the four filters two by two, each wide enough for its
   choice. The choice's text stops before the dropdown's arrow (Gradio lays the arrow over the input). */
#filters > .form {display: grid !important; grid-template-columns: minmax(250px, 1.3fr) repeat(4, minmax(0, 1fr));}
@media (max-width: 900px) {#filters > .form {grid-template-columns: 1fr 1fr;} #aantal {grid-column: 1 / -1;}}
#filters input[role=combobox] {padding-right: 22px; text-overflow: ellipsis;}
"""


# ------------------------------------------------------------------ messages


def ok(text: str) -> tuple[str, str]:
    """A line saying what was done."""
    return ("ok", text)


def refused(text: str) -> tuple[str, str]:
    """A line saying what was not done, and why (a file refused, a role that may not)."""
    return ("refused", text)


def error(text: str) -> tuple[str, str]:
    """A line saying that something failed."""
    return ("error", text)


def _line(line) -> tuple[str, str]:
    return line if isinstance(line, tuple) else ("note", line)


def message_html(lines) -> str:
    """The adding panel's message: each line a paragraph, the lines of one kind in a row in one box styled by it
    (``ok``, ``refused``, ``error``; a plain string is a note), every character of it text."""
    parts = [_line(line) for line in lines if line and _line(line)[1]]
    boxes = [f'<div class="vb-{kind}">' + "".join(f"<p>{html.escape(text)}</p>" for _, text in run) + "</div>"
             for kind, run in itertools.groupby(parts, key=lambda part: part[0])]
    return '<div class="vb-message">' + "".join(boxes) + "</div>"


def result_message(question: str, text: str, kind: str = "note") -> str:
    """A message in place of results (an empty question: a note; a filter that names nothing: an error), escaped."""
    return (f'<div class="vb-results" data-question="{html.escape(question or "")}">'
            f'<div class="vb-{kind}" role="{"alert" if kind == "error" else "status"}">{html.escape(text)}</div></div>')


# ------------------------------------------------------------------ hits


def _mark_terms(fragment: str, stems: set[str]) -> str:
    """Escape ``fragment`` and bold the words whose stem is a question stem."""
    out = []
    for token in re.split(r"(\w+)", fragment):
        if len(token) > 1 and re.fullmatch(r"\w+", token) and stem_word(token) in stems:
            out.append(f'<span class="vb-term">{html.escape(token)}</span>')
        else:
            out.append(html.escape(token))
    return "".join(out)


def _judge_buttons(choice: str | None) -> str:
    """The two judgment buttons of a hit; ``choice``: the judgment made earlier (pressed)."""
    buttons = "".join(
        f'<button type="button" data-judgment="{value}" aria-pressed="{"true" if choice == value else "false"}">{words}</button>'
        for value, words in JUDGMENT_BUTTONS)
    return (f'<div class="vb-judge" role="group" aria-label="Jouw oordeel over dit resultaat">{buttons}'
            f'<span class="vb-judge-note" aria-live="polite"></span></div>')


def _hit_html(h, stems: set[str], judging: bool, choice: str | None) -> str:
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
    if getattr(h, "date", ""):
        where.append(f'<span class="vb-date" title="De datum van het document (uit het bestand zelf, anders de laatste wijziging)">'
                     f'{html.escape(dutch_date(h.date))}</span>')
    if h.heading and h.heading != h.title:
        where.append(f"§ {html.escape(h.heading)}")
    hint = SCALE_HINT if h.similarity is not None else "Overeenkomst in woorden (BM25): geen schaal van 0 tot 1."
    where.append(f'<span class="vb-match" title="{html.escape(hint)}">{html.escape(relevance(h))}</span>')
    copies = ""
    if h.also_in:
        copies = f'<div class="vb-meta vb-copies">ook in: {", ".join(html.escape(c) for c in h.also_in)}</div>'
    return (
        f'<div class="vb-hit" data-source="{html.escape(h.source)}" data-hit="{html.escape(hit_key(h))}">'
        f'<div class="vb-head">{int(h.rank)}. {html.escape(h.title)}</div>'
        f'<div class="vb-meta">{" · ".join(where)}</div>{copies}'
        f'<div class="vb-text">{body}</div>{_judge_buttons(choice) if judging else ""}</div>'
    )


def limits_text(*, document: str | None = None, folders: Sequence[str] = (), types: Sequence[str] = (), since: str | None = None,
                until: str | None = None, collections: Sequence[str] | None = None) -> str:
    """What narrowed a search, in words ("" when nothing did): the filters set (``since``/``until``: ISO days),
    and the user's collections."""
    parts = []
    if document:
        parts.append(f"het document {document}")
    if folders:
        parts.append(f"{'de map' if len(folders) == 1 else 'de mappen'} {', '.join(folders)}")
    if types:
        parts.append(f"bestanden van {'het type' if len(types) == 1 else 'de typen'} {', '.join(types)}")
    if since and until:
        parts.append(f"documenten van {dutch_date(since)} tot en met {dutch_date(until)}")
    elif since or until:
        parts.append(f"documenten van {dutch_date(since or until)} of {'later' if since else 'eerder'}")
    filters = ""
    if parts:
        filters = f"Er is alleen gezocht in {' en '.join(parts)}: zet {'het filter' if len(parts) == 1 else 'de filters'} uit om ruimer te zoeken."
    if collections is not None:
        yours = f"Je zoekt alleen in je eigen {'collectie' if len(collections) == 1 else 'collecties'} ({', '.join(collections) or 'geen'})."
        filters = f"{filters} {yours}".strip()
    return filters


def no_match_text(limits: str = "", may_add: bool = True) -> str:
    """The message when nothing answers: what narrowed the search, and what the reader can do about it
    (adding a text only for someone who may)."""
    advice = "Probeer andere woorden, of voeg een tekst toe die erover gaat." if may_add else "Probeer andere woorden."
    return " ".join(part for part in (NO_MATCH_TEXT, limits, advice) if part)


def render_hits(question: str, hits, weak: Iterable = (), *, judging: bool = False, choices: Mapping[str, str] | None = None,
                limits: str = "", may_add: bool = True) -> str:
    """HTML for a search's answers (``hits``), with the weak matches folded under them.

    ``judging``: each hit gets the two judgment buttons (the server keeps judgments),
    ``choices`` (``hit_key`` -> judgment) marks the ones made earlier. ``limits``
    (``limits_text``) and ``may_add`` shape the message when nothing answers."""
    weak = list(weak)
    choices = choices or {}
    wrap = f'<div class="vb-results" data-question="{html.escape(question)}">{{}}</div>'
    stems = set(tokenize([question])[0])
    parts = [_hit_html(h, stems, judging, choices.get(hit_key(h))) for h in hits]
    if not hits:
        parts.append(f'<div class="vb-none" role="status">{html.escape(no_match_text(limits, may_add))}</div>')
    if weak:
        inner = "\n".join(_hit_html(h, stems, judging, choices.get(hit_key(h))) for h in weak)
        parts.append(f'<details class="vb-weak"><summary>Toon zwakkere overeenkomsten ({len(weak)})</summary>\n{inner}</details>')
    return wrap.format("\n".join(parts))


# ------------------------------------------------------------------ the quality panel


def _figure(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}".replace(".", ",")


def quality_html(q) -> str:
    """The redacteur's quality panel (a ``feedback.Quality``): the judgments, hit@1 and mrr@10 of the current
    index on the judged questions, the passages judged wrong that still rank first, and what was left out."""
    c = q.counts
    if not c.judgments:
        return ('<div class="vb-quality"><p class="vb-note">Nog geen oordelen over documenten die jij mag zien. Ze komen '
                'binnen zodra lezers bij een resultaat op <em>Beantwoordt mijn vraag</em> of <em>Niet wat ik zoek</em> klikken.</p></div>')
    rows = [
        ("Beoordeelde vragen", f"{c.questions} ({count_nl(c.judgments, 'oordeel', 'oordelen')}: {c.positive} goed, {c.negative} fout)"),
        ("Gemeten op", count_nl(q.evaluated, "vraag met een goed beoordeelde passage", "vragen met een goed beoordeelde passage")),
        ("hit@1 (het goede antwoord bovenaan)", _figure(q.hit_at_1)),
        ("mrr@10 (gemiddeld 1/plek, top 10)", _figure(q.mrr_at_10)),
        ("Berekend in", f"{q.seconds:.1f} s".replace(".", ",")),
    ]
    table = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    out = [f'<div class="vb-quality"><table>{table}</table>']
    if q.negatives_checked:
        out.append(f"<p>Als fout beoordeeld en nog steeds bovenaan: {len(q.wrong_first)} van {q.negatives_checked}.</p>")
    if q.wrong_first:
        items = "".join(f"<li>{html.escape(j.question)} → {html.escape(j.source)}</li>" for j in q.wrong_first[:20])
        out.append(f"<ul>{items}</ul>")
    if q.flagged:
        out.append(f'<p class="vb-note">{html.escape(count_nl(len(q.flagged), "oordeel telt", "oordelen tellen"))} niet mee: '
                   "de passage staat niet meer zo in de index (document gewijzigd of verwijderd).</p>")
    plot = weeks_svg(q.weeks)
    if plot:
        out.append(f'<p class="vb-plot-title">De plek van de goed beoordeelde passages toen ze werden beoordeeld, per week:</p>{plot}')
    out.append("</div>")
    return "".join(out)


# The plot's two lines, per week, of the hits judged to answer: the share shown at rank 1, and the mean 1/rank.
WEEK_SERIES = (("share_first", "op plek 1", "#0969da"), ("mrr", "gemiddeld 1/plek", "#bf8700"))


def weeks_svg(weeks: list[dict], width: int = 560, height: int = 190) -> str:
    """The quality panel's small plot (``feedback.ranks_over_time``): per week of judging, the share of the hits
    judged to answer that stood at rank 1, and their mean 1/rank; rising lines: the right passage came up higher.

    Drawn here as SVG rather than with Gradio's LinePlot: that one labels weeks in English ("Mon 07") and
    draws no point for a week alone, which is what a new panel has."""
    weeks = [w for w in weeks if w.get("positive")]
    if not weeks:
        return ""
    left, right, top, bottom = 44, 12, 26, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(weeks) - 1, 1)
    xs = [left + (i * step if len(weeks) > 1 else plot_w / 2) for i in range(len(weeks))]
    y = lambda value: top + (1 - value) * plot_h  # noqa: E731
    parts = [f'<svg class="vb-plot" viewBox="0 0 {width} {height}" width="100%" style="max-width:{width}px" role="img" '
             f'aria-label="Plek van de goed beoordeelde passages, per week" font-size="11" font-family="system-ui, sans-serif">']
    for tick in (0, 0.25, 0.5, 0.75, 1):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#d0d7de"/>'
                     f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" fill="#57606a">{f"{tick:g}".replace(".", ",")}</text>')
    every = max(1, round(len(weeks) / 8))  # at most about eight dates under the axis
    for i, (x, w) in enumerate(zip(xs, weeks)):
        if i % every == 0 or i == len(weeks) - 1:
            day = datetime.fromisoformat(w["start"])
            parts.append(f'<text x="{x:.1f}" y="{height - 12}" text-anchor="middle" fill="#57606a">{day.day} {MONTHS[day.month - 1][:3]}</text>')
    for n, (key, name, colour) in enumerate(WEEK_SERIES):
        points = [(x, w[key]) for x, w in zip(xs, weeks) if w[key] is not None]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(f"{x:.1f},{y(v):.1f}" for x, v in points)}"/>')
        for (x, v), w in zip(points, weeks):
            tip = (f"week van {dutch_date(w['start'])}: {count_nl(w['positive'], 'goed oordeel', 'goede oordelen')}, "
                   f"{name} {v:.2f}".replace(".", ","))
            # the first line's points larger: where both lines meet, both points still show
            parts.append(f'<circle cx="{x:.1f}" cy="{y(v):.1f}" r="{5.5 - 2 * n}" fill="{colour}"><title>{html.escape(tip)}</title></circle>')
        parts.append(f'<rect x="{left + n * 150}" y="6" width="12" height="4" fill="{colour}"/>'
                     f'<text x="{left + n * 150 + 16}" y="12" fill="#24292f">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


# ------------------------------------------------------------------ the status line and labels


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
                user: tuple[str, str] | None = None, followed=None) -> str:
    """The status line: counts, when the index last changed and when it last followed the corpus folder
    (``followed``: a ``datetime``, from the watcher or the update button), the model in words, who is logged in.
    ``documents`` None: there is no index yet."""
    if documents is None:
        return "<p><strong>Index:</strong> nog niet gebouwd.</p>"
    who = f" · ingelogd als {html.escape(user[0])} ({html.escape(user[1])})" if user else ""
    checked = f" · map nagekeken {html.escape(dutch_moment(followed))}" if followed is not None else ""
    return (
        f"<p><strong>Index:</strong> {count_nl(documents, 'document', 'documenten')}, {count_nl(passages, 'passage', 'passages')} · "
        f"bijgewerkt op {html.escape(dutch_datetime(updated))}{checked} · zoekt met {html.escape(model_words(model, backend))}{who}</p>"
    )


def upload_label() -> str:
    """The upload box's label: each format with its limit (``readers.FORMATS``)."""
    by_limit: dict[int, list[str]] = {}
    for fmt in FORMATS:
        by_limit.setdefault(fmt.upload_limit, []).append(fmt.name)
    return "Per bestand: " + "; ".join(f"{', '.join(names)} tot {limit >> 20} MB" for limit, names in sorted(by_limit.items()))
