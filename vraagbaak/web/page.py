"""The Gradio page: its layout, and the callbacks that turn page events into calls.

Every callback reads the live index once, through ``LiveIndex.view`` (a
``view.View``: what this user may see, the lists, the counts, the search and
its no-match rule), and renders with ``web.render``. Files to add come only
from ``web.uploads.UploadFolder``: what this server's upload route handed to
this session.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import gradio as gr

from ..accounts import Account, Accounts, may_update
from ..corpus import SUFFIXES, upload_limit
from ..errors import VraagbaakError
from ..live import LiveIndex
from ..progress import BuildProgress, describe_nl
from ..search import hit_to_json
from ..sources import link
from ..view import View
from .render import EDITORS_ONLY, message_html, render_hits, result_message, status_html, upload_label
from .uploads import UploadFolder

__all__ = ["UPLOAD_MAX_AGE", "add_texts", "build_page", "callbacks", "lists", "search_json", "search_page", "status_line", "update_index"]

UPLOAD_MAX_AGE = 3600  # seconds an upload waits to be added before Gradio's cache cleaning deletes it


def status_line(view: View) -> str:
    """The status line, as ``view``'s account may see the index."""
    if not view.built:
        return status_html(None)
    index, account = view.index, view.account
    return status_html(view.document_count, view.passage_count, index.updated, index.model, index.backend,
                       (account.name, account.role) if account else None)


def lists(view: View) -> tuple:
    """The status line and every list on the page, as they are in ``view``."""
    documents = [("Alle documenten", "")] + [(f"{title} ({source})", source) for source, title in sorted(view.documents.items())]
    return (
        status_line(view),
        gr.update(choices=documents),
        gr.update(choices=view.folders),
        gr.update(choices=view.types),
    )


def _names(value) -> list[str]:
    """A filter from the API or the page: a list, or names separated by commas; empty = all."""
    if not value:
        return []
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return [item.strip() for item in items if item and item.strip()]


def search_json(view: View, question: str, k: int = 5, source: str = "", folder: str = "", type: str = "") -> list[dict]:
    """The /search API: the answers as JSON, each with the ``link`` that opens its source."""
    try:
        results = view.search(question, k=int(k), source=source or None, folders=_names(folder), types=_names(type))
    except VraagbaakError as exc:
        raise gr.Error(str(exc)) from exc
    return [hit_to_json(h, link(h.source, h.page)) for h in results.everything]  # the API's callers judge weak hits themselves


def search_page(view: View, question: str, k: int, source: str, folders, types) -> str:
    """The results HTML for a question asked on the page: the answers, and how many weak matches were left out."""
    try:
        results = view.search(question, k=int(k), source=source or None, folders=_names(folders), types=_names(types))
    except VraagbaakError as exc:
        return result_message(question, str(exc))
    return render_hits(question, results.hits, hidden=len(results.weak))


def update_index(live: LiveIndex, progress, done_text: str = "Index bijgewerkt.", notes=(), account: Account | None = None) -> tuple:
    """Bring the index up to date: (message, status, and each list), for the page."""
    if not may_update(account):
        return message_html([EDITORS_ONLY]), *lists(live.view(account))
    skipped = []

    def report(p: BuildProgress):
        progress(p.documents_done / max(p.documents_total, 1), desc=describe_nl(p))

    progress(0, desc="Teksten lezen en in passages splitsen")
    try:
        r = live.update(progress=report, on_skip=lambda s, reason: skipped.append((s, reason)))
    except VraagbaakError as exc:
        return message_html([*notes, f"Fout: {exc}"]), *lists(live.view(account))
    view = live.view(account)
    lines = list(notes) + [
        f"{done_text} Documenten: {r.documents_added} nieuw, {r.documents_changed} gewijzigd, "
        f"{r.documents_removed} verwijderd; {r.passages_embedded} passages ingesloten, {r.passages_reused} hergebruikt."
    ]
    lines += [f"Overgeslagen: {s}: {reason}" for s, reason in skipped if account is None or account.may_see(s)]
    return message_html(lines), *lists(view)


def add_texts(live: LiveIndex, uploads: UploadFolder | None, files, title: str, text: str, progress,
              account: Account | None = None, session: str | None = None) -> tuple:
    """Save uploads and a pasted text, then update: (message, status, each list, the emptied upload box).

    ``files``: Gradio's descriptions of the uploaded files (dicts with ``path``
    and ``orig_name``) or paths. A file is taken only from ``uploads``, and only
    one the upload route handed to ``session``: any other path is refused
    unopened. Each upload is deleted as soon as it is saved or refused."""
    if not may_update(account):
        return message_html([EDITORS_ONLY]), *lists(live.view(account)), None
    saved, problems = _save_uploads(live, uploads, session, files or [], progress)
    saved_text, text_problems = _save_pasted(live, title, text, has_files=bool(files))
    saved += saved_text
    problems += text_problems
    if not saved:
        message = message_html(problems or [f"Kies een bestand ({', '.join(SUFFIXES)}) of plak een tekst."])
        return message, *lists(live.view(account)), None
    notes = problems + [f"Opgeslagen als {name}." for name in saved]
    return *update_index(live, progress, "Tekst toegevoegd en doorzoekbaar.", notes, account), None


def _ocr_progress(progress, name: str):
    def on_page(done: int, total: int) -> None:
        progress(done / total, desc=f"Tekst herkennen in {name} (OCR): pagina {done} van {total}")

    return on_page


def _upload_of(f) -> tuple[str, str]:
    """(path, the file's name on the user's machine) of a file description (Gradio's FileData as a dict; a path)."""
    if isinstance(f, dict):
        path = f.get("path")
        path = path if isinstance(path, str) else ""
        return path, str(f.get("orig_name") or Path(path).name)
    return str(f), Path(str(f)).name


def _save_uploads(live: LiveIndex, uploads: UploadFolder | None, session: str | None, files, progress) -> tuple[list[str], list[str]]:
    """Save each uploaded file into the corpus folder: (saved names, problems). Each is deleted after."""
    saved, problems = [], []
    for n, f in enumerate(files):
        where, name = _upload_of(f)
        path = uploads.claim(session, where) if uploads is not None else None
        if path is None:
            problems.append(f"Niet toegevoegd: {name}: dit bestand is niet via deze pagina geüpload; upload het opnieuw.")
            continue
        progress(n / len(files), desc=f"Lezen: {name}")
        try:
            with open(path, "rb") as upload_file:  # never more than the limit into memory
                data = upload_file.read(upload_limit(name) + 1)
            size = path.stat().st_size
            saved.append(live.add(name, data, size=size, on_page=_ocr_progress(progress, name)).name)
        except VraagbaakError as exc:
            problems.append(f"Niet toegevoegd: {exc}")
        finally:
            uploads.discard(path)
    return saved, problems


def _save_pasted(live: LiveIndex, title, text, has_files: bool) -> tuple[list[str], list[str]]:
    if text and text.strip():
        title = (title or "").strip()
        body = f"{title}\n\n{text.strip()}\n" if title else text.strip() + "\n"
        try:
            return [live.add((title or "geplakte tekst") + ".txt", body.encode("utf-8")).name], []
        except VraagbaakError as exc:
            return [], [f"Niet toegevoegd: {exc}"]
    if title and title.strip() and not has_files:
        return [], ["Niet toegevoegd: plak ook de tekst zelf, niet alleen een titel."]
    return [], []


def callbacks(live: LiveIndex, accounts: Accounts | None = None, uploads: UploadFolder | None = None,
              session_of=lambda request: None) -> SimpleNamespace:
    """The page's event handlers. Gradio reads their signatures (the API's parameters,
    the progress and request arguments). ``session_of(request)``: the login session a
    request belongs to (what ``uploads`` keys its files by; None without accounts)."""

    def user(request: gr.Request | None) -> Account | None:
        if accounts is None:
            return None
        account = accounts.get(getattr(request, "username", None))
        if account is None:  # removed from the users file since logging in
            raise gr.Error("Log opnieuw in: dit account bestaat niet (meer).")
        return account

    def search_api(question: str, k: int = 5, source: str = "", folder: str = "", type: str = "",
                   request: gr.Request = None) -> list[dict]:
        """Search the texts; returns the hits as JSON (rank, score, source, title, text, answer, start, end, link, ...).

        ``folder`` and ``type``: names separated by commas (a subfolder of the
        corpus, a file type such as "pdf"); empty = all.
        """
        return search_json(live.view(user(request)), question, k, source, folder, type)

    def ask_on_page(question, k, source, folders, types, request: gr.Request):
        return search_page(live.view(user(request)), question, k, source, folders, types)

    def refresh(request: gr.Request, progress=gr.Progress()):
        account = user(request)
        if not may_update(account):
            raise gr.Error(EDITORS_ONLY)  # the /update API: an error, not a message
        return update_index(live, progress, account=account)

    def add(files, title, text, request: gr.Request, progress=gr.Progress()):
        return add_texts(live, uploads, files, title, text, progress, user(request), session_of(request))

    def on_load(request: gr.Request):
        account = user(request)
        return *lists(live.view(account)), gr.update(visible=may_update(account))

    return SimpleNamespace(search_api=search_api, ask_on_page=ask_on_page, refresh=refresh, add=add, on_load=on_load)


# Logging out is a POST (a link or an image elsewhere cannot end a session): the button submits a form.
_LOGOUT_JS = """() => { const form = document.createElement('form'); form.method = 'post'; form.action = 'logout';
                       document.body.appendChild(form); form.submit(); }"""


def build_page(live: LiveIndex, accounts: Accounts | None = None, uploads: UploadFolder | None = None,
               session_of=lambda request: None) -> gr.Blocks:
    """The page. With ``accounts`` every event acts as the logged-in user: their collections, their role."""
    on = callbacks(live, accounts, uploads, session_of)
    with gr.Blocks(title="Vraagbaak", delete_cache=(UPLOAD_MAX_AGE, UPLOAD_MAX_AGE)) as page:
        with gr.Row():
            gr.Markdown("# Vraagbaak\nStel een vraag in gewoon Nederlands: Vraagbaak zoekt de passages in de teksten die hem beantwoorden.")
            if accounts is not None:
                logout = gr.Button("Uitloggen", size="sm", scale=0, elem_id="uitloggen")
                logout.click(None, js=_LOGOUT_JS)
        with gr.Row():
            question = gr.Textbox(label="Vraag", placeholder="bijvoorbeeld: wat is preventie?", scale=5, elem_id="vraag")
            ask = gr.Button("Zoek", variant="primary", scale=1, elem_id="zoek")
        with gr.Row():
            k = gr.Slider(1, 20, value=5, step=1, label="Aantal resultaten")
            # The lists start empty and are filled for this user on load: never another user's documents in the page's config
            source = gr.Dropdown(choices=[("Alle documenten", "")], value="", label="Alleen in document", elem_id="document")
            folders = gr.Dropdown(choices=[], value=[], multiselect=True, label="Alleen in map", elem_id="map")
            types = gr.Dropdown(choices=[], value=[], multiselect=True, label="Alleen bestandstype", elem_id="type")
        gr.Examples(
            ["wat is preventie?", "Hoeveel sociaal werkers zijn er in Nederland?", "Wat is positieve gezondheid?"],
            inputs=question,
            label="Voorbeeldvragen",
        )
        results = gr.HTML(elem_id="resultaten")
        for event in (ask.click, question.submit):
            event(on.ask_on_page, [question, k, source, folders, types], results, api_visibility="private", concurrency_limit=None)
        gr.api(on.search_api, api_name="search", concurrency_limit=None)

        adding, upload, paste_title, paste_text, add_button, rebuild, message = _adding_panel(visible=accounts is None)
        status = gr.HTML("<p><strong>Index:</strong> wordt gelezen…</p>", elem_id="status")
        page_lists = [status, source, folders, types]
        page.load(on.on_load, None, [*page_lists, adding], api_visibility="private")
        # preprocess=False: the callback gets each file's description (path, original name) as Gradio checked it;
        # File.preprocess would add nothing but an empty temporary file per upload that it never deletes.
        add_button.click(on.add, [upload, paste_title, paste_text], [message, *page_lists, upload], api_visibility="private",
                         concurrency_limit=1, concurrency_id="update", show_progress_on=[message], preprocess=False)
        rebuild.click(on.refresh, None, [message, *page_lists], api_name="update", concurrency_limit=1, concurrency_id="update",
                      show_progress_on=[message])
    return page


def _adding_panel(visible: bool):
    """The *Teksten toevoegen* panel (hidden until the page knows the user may add):
    (panel, upload box, title, text, add button, update button, message)."""
    with gr.Accordion("Teksten toevoegen", open=False, visible=visible) as panel:
        with gr.Row():
            with gr.Column():
                # The limits go below the box: as its label they wrapped under its buttons
                upload = gr.File(label="Bestanden", file_count="multiple", type="filepath", elem_id="upload")
                gr.Markdown(upload_label(), elem_id="upload-limieten")
            with gr.Column():
                paste_title = gr.Textbox(label="Titel", elem_id="plak-titel")
                paste_text = gr.Textbox(label="Tekst", lines=6, elem_id="plak-tekst")
        with gr.Row():
            add_button = gr.Button("Toevoegen en index bijwerken", variant="primary", elem_id="toevoegen")
            rebuild = gr.Button("Index bijwerken (bestanden in de map)", elem_id="bijwerken")
        message = gr.HTML(elem_id="melding")
    return panel, upload, paste_title, paste_text, add_button, rebuild, message
