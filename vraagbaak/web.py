"""The Gradio page: ask in Dutch, read passages with their sources, add texts.

All searching and indexing goes through ``LiveIndex``; this module only turns
hits into HTML and page events into calls.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import gradio as gr

from .corpus import MAX_DOCUMENT_UPLOAD_BYTES, MAX_UPLOAD_BYTES, SUFFIXES, upload_limit
from .errors import VraagbaakError
from .lexical import stem_word, tokenize
from .live import LiveIndex
from .progress import BuildProgress, describe_nl
from .search import MAX_QUESTION_CHARS, good_matches, hit_to_json

__all__ = ["build_page", "render_hits"]

NO_MATCH_TEXT = (
    "Geen passage in de teksten beantwoordt deze vraag goed. "
    "Probeer andere woorden, of voeg een tekst toe die erover gaat."
)

CSS = """
.vb-hit {border: 1px solid #d0d7de; border-radius: 8px; padding: 12px 14px; margin: 10px 0;}
.vb-head {font-weight: 600; margin-bottom: 4px;}
.vb-meta {color: #57606a; font-size: 0.9em; margin-bottom: 8px;}
.vb-text {line-height: 1.55; white-space: pre-wrap;}
.vb-text mark.vb-answer {background: #fff3b0; padding: 1px 0;}
.vb-text .vb-term {font-weight: 700;}
.vb-none {padding: 12px; border-left: 4px solid #bf8700; background: #fff8c5;}
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


def render_hits(question: str, hits, hidden: int = 0) -> str:
    """HTML for the hits; ``hidden`` = how many weaker passages were left out."""
    wrap = f'<div class="vb-results" data-question="{html.escape(question)}">{{}}</div>'
    if not hits:
        return wrap.format(f'<div class="vb-none">{NO_MATCH_TEXT}</div>')
    stems = set(tokenize([question])[0])
    parts = []
    for h in hits:
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
        relevance = f"relevantie {h.similarity:.2f}" if h.similarity is not None else f"score {h.score:.2f}"
        where = [html.escape(h.source)]
        if h.page is not None:
            where.append(f'<span class="vb-page">p. {h.page}</span>')
        if h.heading and h.heading != h.title:
            where.append(f"§ {html.escape(h.heading)}")
        parts.append(
            f'<div class="vb-hit" data-source="{html.escape(h.source)}">'
            f'<div class="vb-head">{h.rank}. {html.escape(h.title)}</div>'
            f'<div class="vb-meta">{" · ".join(where)} · {relevance}</div>'
            f'<div class="vb-text">{body}</div></div>'
        )
    if hidden:
        parts.append(f'<div class="vb-meta">{hidden} andere passage(s) passen te slecht bij de vraag en zijn weggelaten.</div>')
    return wrap.format("\n".join(parts))


def _message(question: str, text: str) -> str:
    return f'<div class="vb-results" data-question="{html.escape(question or "")}"><div class="vb-none">{html.escape(text)}</div></div>'


def _status(live: LiveIndex) -> str:
    index = live.current
    if index is None:
        return "**Index:** nog niet gebouwd."
    return (
        f"**Index:** {len(index.documents)} documenten, {index.passage_count} passages · "
        f"model `{index.model}` · bijgewerkt {index.updated}"
    )


def _document_choices(live: LiveIndex):
    index = live.current
    docs = index.documents if index else {}
    return [("Alle documenten", "")] + [(f"{title} ({source})", source) for source, title in sorted(docs.items())]


def build_page(live: LiveIndex) -> gr.Blocks:
    def search_api(question: str, k: int = 5, source: str = "") -> list[dict]:
        """Search the texts; returns the hits as JSON (rank, score, source, title, text, answer, start, end)."""
        try:
            hits = live.search(question, k=int(k), source=source or None)
        except VraagbaakError as exc:
            raise gr.Error(str(exc)) from exc
        return [hit_to_json(h) for h in hits]

    def search_page(question, k, source):
        if not (question or "").strip():
            return _message(question, "Typ eerst een vraag, bijvoorbeeld: wat is preventie?")
        if len(" ".join(question.split())) > MAX_QUESTION_CHARS:
            return _message(question, f"De vraag is {len(question)} tekens lang; stel hem in hoogstens {MAX_QUESTION_CHARS}.")
        try:
            hits = live.search(question, k=int(k), source=source or None)
        except VraagbaakError as exc:
            return _message(question, str(exc))
        good = good_matches(hits)
        return render_hits(question, good, hidden=len(hits) - len(good))

    def refresh(progress=gr.Progress()):
        return _update(progress, "Index bijgewerkt.")

    def _update(progress, done_text, notes=()):
        skipped = []

        def report(p: BuildProgress):
            progress(p.documents_done / max(p.documents_total, 1), desc=describe_nl(p))

        progress(0, desc="Teksten lezen en in passages splitsen")
        try:
            r = live.update(progress=report, on_skip=lambda s, reason: skipped.append(f"{s}: {reason}"))
        except VraagbaakError as exc:
            return f"Fout: {exc}", _status(live), gr.update()
        lines = list(notes) + [
            f"{done_text} Documenten: {r.documents_added} nieuw, {r.documents_changed} gewijzigd, "
            f"{r.documents_removed} verwijderd; {r.passages_embedded} passages ingesloten, {r.passages_reused} hergebruikt."
        ]
        lines += [f"Overgeslagen: {s}" for s in skipped]
        return "\n\n".join(lines), _status(live), gr.update(choices=_document_choices(live))

    def add_texts(files, title, text, progress=gr.Progress()):
        saved, problems = [], []
        for n, f in enumerate(files or []):
            path = Path(f)
            progress(n / len(files), desc=f"Lezen: {path.name}")
            try:
                with open(path, "rb") as upload_file:  # never more than the limit into memory
                    data = upload_file.read(upload_limit(path.name) + 1)
                saved.append(live.add(path.name, data, size=path.stat().st_size).name)
            except VraagbaakError as exc:
                problems.append(f"Niet toegevoegd: {exc}")
        if text and text.strip():
            title = (title or "").strip()
            body = f"{title}\n\n{text.strip()}\n" if title else text.strip() + "\n"
            try:
                saved.append(live.add((title or "geplakte tekst") + ".txt", body.encode("utf-8")).name)
            except VraagbaakError as exc:
                problems.append(f"Niet toegevoegd: {exc}")
        elif title and title.strip() and not files:
            problems.append("Niet toegevoegd: plak ook de tekst zelf, niet alleen een titel.")
        if not saved:
            text = "\n\n".join(problems or ["Kies een bestand (.txt, .md, .pdf, .docx, .odt, .html) of plak een tekst."])
            return text, _status(live), gr.update(), None
        notes = problems + [f"Opgeslagen als {name}." for name in saved]
        return *_update(progress, "Tekst toegevoegd en doorzoekbaar.", notes), None

    with gr.Blocks(title="Vraagbaak") as page:
        gr.Markdown("# Vraagbaak\nStel een vraag in gewoon Nederlands: Vraagbaak zoekt de passages in de teksten die hem beantwoorden.")
        with gr.Row():
            question = gr.Textbox(label="Vraag", placeholder="bijvoorbeeld: wat is preventie?", scale=5, elem_id="vraag")
            ask = gr.Button("Zoek", variant="primary", scale=1, elem_id="zoek")
        with gr.Row():
            k = gr.Slider(1, 20, value=5, step=1, label="Aantal resultaten")
            source = gr.Dropdown(choices=_document_choices(live), value="", label="Alleen in document")
        gr.Examples(
            ["wat is preventie?", "Hoeveel sociaal werkers zijn er in Nederland?", "Wat is positieve gezondheid?"],
            inputs=question,
            label="Voorbeeldvragen",
        )
        results = gr.HTML(elem_id="resultaten")
        for event in (ask.click, question.submit):
            event(search_page, [question, k, source], results, api_visibility="private", concurrency_limit=None)
        gr.api(search_api, api_name="search", concurrency_limit=None)

        with gr.Accordion("Teksten toevoegen", open=False):
            with gr.Row():
                with gr.Column():
                    upload = gr.File(
                        label=f"Bestanden ({', '.join(SUFFIXES)}; tekst en html max. {MAX_UPLOAD_BYTES >> 20} MB, "
                        f"pdf, docx en odt max. {MAX_DOCUMENT_UPLOAD_BYTES >> 20} MB)",
                        file_count="multiple", type="filepath", elem_id="upload",
                    )
                with gr.Column():
                    paste_title = gr.Textbox(label="Titel", elem_id="plak-titel")
                    paste_text = gr.Textbox(label="Tekst", lines=6, elem_id="plak-tekst")
            with gr.Row():
                add = gr.Button("Toevoegen en index bijwerken", variant="primary", elem_id="toevoegen")
                rebuild = gr.Button("Index bijwerken (bestanden in de map)", elem_id="bijwerken")
            message = gr.Markdown(elem_id="melding")
        status = gr.Markdown(_status(live), elem_id="status")
        add.click(add_texts, [upload, paste_title, paste_text], [message, status, source, upload], api_visibility="private", concurrency_limit=1, concurrency_id="update")
        rebuild.click(refresh, None, [message, status, source], api_name="update", concurrency_limit=1, concurrency_id="update")
    return page
