"""The Gradio page: its layout, and the callbacks that turn page events into calls.

Every callback reads the live index once, through ``LiveIndex.view`` (a
``view.View``: what this user may see, the lists, the counts, the search and
its no-match rule), and renders with ``web.render``. Files to add come only
from ``web.uploads.UploadFolder``: what this server's upload route handed to
this session. With a ``feedback.Feedback`` (``app.py --feedback``) each hit
gets two judgment buttons, the ``/feedback`` API takes judgments, and a
redacteur gets the quality panel.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import SimpleNamespace

import gradio as gr

from ..accounts import Account, Accounts, may_read_judgments, may_update
from ..corpus import SUFFIXES, upload_limit
from ..dates import parse_day
from ..errors import VraagbaakError
from .. import messages
from ..feedback import Feedback, hit_key, quality
from ..live import LiveIndex
from ..progress import BuildProgress, describe_nl
from ..search import check_question, hit_to_json
from ..sources import link
from ..view import View
from .render import (error, limits_text, message_html, ok, quality_html, refused, render_hits, result_message,
                     status_html, upload_label)
from .uploads import UploadFolder

__all__ = ["EXAMPLES", "UPLOAD_MAX_AGE", "add_texts", "build_page", "callbacks", "judge", "lists", "quality_panel",
           "search_json", "search_page", "status_line", "update_index"]

log = logging.getLogger(__name__)

UPLOAD_MAX_AGE = 3600  # seconds an upload waits to be added before Gradio's cache cleaning deletes it
EXAMPLES = ["wat is preventie?", "Hoeveel sociaal werkers zijn er in Nederland?", "Wat is positieve gezondheid?"]


def status_line(view: View) -> str:
    """The status line, as ``view``'s account may see the index."""
    if not view.built:
        return status_html(None)
    index, account = view.index, view.account
    return status_html(view.document_count, view.passage_count, index.updated, index.model, index.backend,
                       (account.name, account.role) if account else None, view.followed)


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


def user_error(exc: VraagbaakError, what: str) -> gr.Error:
    """A user's mistake in an API call (an unknown folder, a hit never shown): one line in the server's log, no
    traceback, and the Dutch message for the caller."""
    log.warning("%s geweigerd: %s", what, exc)
    return gr.Error(str(exc), print_exception=False)


def search_json(view: View, question: str, k: int = 5, source: str = "", folder: str = "", type: str = "", since: str = "",
                until: str = "", *, feedback: Feedback | None = None, viewer: str | None = None) -> list[dict]:
    """The /search API: the answers as JSON, each with the ``link`` that opens its source and the ``hit`` key
    that names it (for ``/feedback``). With ``feedback`` the hits are remembered as shown to ``viewer``."""
    try:
        results = view.search(question, k=int(k), source=source or None, folders=_names(folder), types=_names(type),
                              since=since or None, until=until or None)
    except VraagbaakError as exc:
        raise user_error(exc, "Zoekvraag") from None
    hits = results.everything  # the API's callers judge weak hits themselves
    if feedback is not None:
        feedback.shown(viewer, question, hits)
    return [dict(hit_to_json(h, link(h.source, h.page)), hit=hit_key(h)) for h in hits]


def search_page(view: View, question: str, k: int, source: str, folders, types, since: str = "", *,
                feedback: Feedback | None = None, viewer: str | None = None) -> str:
    """The results HTML for a question asked on the page: the answers, the weak matches folded under them, and
    with ``feedback`` the judgment buttons (the hits remembered as shown to ``viewer``, earlier choices marked).
    ``since``: the *Alleen vanaf* box, a day as people write it ("1-3-2024", "2024-03-01")."""
    folders, types = _names(folders), _names(types)
    try:
        check_question(question)
    except VraagbaakError as exc:
        return result_message(question, str(exc))  # a hint, not an error
    try:
        since = parse_day(since, "Alleen vanaf:")
        results = view.search(question, k=int(k), source=source or None, folders=folders, types=types, since=since)
    except VraagbaakError as exc:
        return result_message(question, str(exc), kind="error")
    weak = results.folded
    choices = {}
    if feedback is not None:
        feedback.shown(viewer, question, results.hits + weak)
        choices = feedback.choices(viewer, question)
    account = view.account
    limits = limits_text(document=source or None, folders=folders, types=types, since=since,
                         collections=account.collections if account is not None else None)
    return render_hits(question, results.hits, weak, judging=feedback is not None, choices=choices, limits=limits,
                       may_add=may_update(account))


def judge(feedback: Feedback, account: Account | None, viewer: str, question: str, hit: str, judgment: str) -> dict:
    """Store (or with an empty ``judgment`` take back) ``viewer``'s judgment of the hit ``hit`` shown for
    ``question``: what the page's buttons and the /feedback API call. ``FeedbackRefused`` for a hit never shown."""
    visible = account.may_see if account is not None else None
    if not (judgment or "").strip():
        feedback.withdraw(viewer, question, hit, visible=visible)
        return {"question": check_question(question), "hit": hit, "judgment": ""}
    record = feedback.judge(viewer, question, hit, judgment, user=account.name if account is not None else None, visible=visible)
    return {"question": record.question, "hit": hit, "judgment": record.judgment, "rank": record.rank}


def quality_panel(view: View, feedback: Feedback) -> str:
    """The quality panel's figures and plot for ``view``'s account (a redacteur: ``may_read_judgments``), over the
    judgments about documents they may see."""
    if not may_read_judgments(view.account):
        raise gr.Error(messages.JUDGMENTS_EDITORS_ONLY, print_exception=False)
    if not view.built:
        return message_html([messages.NO_INDEX_YET])
    account = view.account
    return quality_html(quality(feedback, view.index, visible=account.may_see if account is not None else None))


def _update_lines(r, done_text: str) -> str:
    """What an update did, in words: the documents, and the passages the model read anew or kept."""
    changes = [f"{n} {word}" for n, word in ((r.documents_added, "nieuw"), (r.documents_changed, "gewijzigd"),
                                             (r.documents_removed, "verwijderd")) if n]
    if not changes:
        return f"{done_text} Er waren geen nieuwe, gewijzigde of verwijderde documenten."
    line = f"{done_text} Documenten: {', '.join(changes)}. Passages: {r.passages_embedded} nieuw doorzoekbaar gemaakt"
    return line + (f", {r.passages_reused} ongewijzigd overgenomen." if r.passages_reused else ".")


def update_index(live: LiveIndex, progress, done_text: str = "Index bijgewerkt.", notes=(), account: Account | None = None) -> tuple:
    """Bring the index up to date: (message, status, and each list), for the page."""
    if not may_update(account):
        return message_html([refused(messages.EDITORS_ONLY)]), *lists(live.view(account))
    skipped = []

    def report(p: BuildProgress):
        progress(p.documents_done / max(p.documents_total, 1), desc=describe_nl(p))

    progress(0, desc="Teksten lezen en in passages splitsen")
    try:
        r = live.update(progress=report, on_skip=lambda s, reason: skipped.append((s, reason)))
    except VraagbaakError as exc:
        return message_html([*notes, error(f"Fout: {exc}")]), *lists(live.view(account))
    view = live.view(account)
    lines = list(notes) + [ok(_update_lines(r, done_text))]
    lines += [refused(f"Overgeslagen: {s}: {reason}") for s, reason in skipped if account is None or account.may_see(s)]
    return message_html(lines), *lists(view)


def add_texts(live: LiveIndex, uploads: UploadFolder | None, files, title: str, text: str, progress,
              account: Account | None = None, session: str | None = None) -> tuple:
    """Save uploads and a pasted text, then update: (message, status, each list, the emptied upload box).

    ``files``: Gradio's descriptions of the uploaded files (dicts with ``path``
    and ``orig_name``) or paths. A file is taken only from ``uploads``, and only
    one the upload route handed to ``session``: any other path is refused
    unopened. Each upload is deleted as soon as it is saved or refused."""
    if not may_update(account):
        return message_html([refused(messages.EDITORS_ONLY)]), *lists(live.view(account)), None
    saved, problems = _save_uploads(live, uploads, session, files or [], progress)
    saved_text, text_problems = _save_pasted(live, title, text, has_files=bool(files))
    saved += saved_text
    problems = [refused(p) for p in problems + text_problems]
    if not saved:
        message = message_html(problems or [messages.choose_a_file(SUFFIXES)])
        return message, *lists(live.view(account)), None
    notes = problems + [ok(f"Opgeslagen als {name}.") for name in saved]
    return *update_index(live, progress, "Toegevoegd en doorzoekbaar.", notes, account), None


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
            problems.append(messages.not_uploaded_here(name))
            continue
        progress(n / len(files), desc=f"Lezen: {name}")
        try:
            with open(path, "rb") as upload_file:  # never more than the limit into memory
                data = upload_file.read(upload_limit(name) + 1)
            size = path.stat().st_size
            saved.append(live.add(name, data, size=size, on_page=_ocr_progress(progress, name)).name)
        except VraagbaakError as exc:
            problems.append(messages.not_added(exc))
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
            return [], [messages.not_added(exc)]
    if title and title.strip() and not has_files:
        return [], [messages.PASTE_THE_TEXT]
    return [], []


def callbacks(live: LiveIndex, accounts: Accounts | None = None, uploads: UploadFolder | None = None,
              session_of=lambda request: None, feedback: Feedback | None = None) -> SimpleNamespace:
    """The page's event handlers. Gradio reads their signatures (the API's parameters,
    the progress and request arguments). ``session_of(request)``: the login session a
    request belongs to (what ``uploads`` keys its files by; None without accounts)."""

    def user(request: gr.Request | None) -> Account | None:
        if accounts is None:
            return None
        account = accounts.get(getattr(request, "username", None))
        if account is None:  # removed from the users file since logging in
            raise gr.Error(messages.ACCOUNT_GONE, print_exception=False)
        return account

    def viewer(account: Account | None, request: gr.Request | None) -> str:
        """Whose results these are, for the judgments: the account, or without accounts the page's session."""
        return account.name if account is not None else str(getattr(request, "session_hash", "") or "")

    def search_api(question: str, k: int = 5, source: str = "", folder: str = "", type: str = "", since: str = "",
                   until: str = "", request: gr.Request = None) -> list[dict]:
        """Search the texts; returns the hits as JSON (rank, score, similarity, source, title, date, text, answer,
        start, end, link, hit, ...).

        ``folder`` and ``type``: names separated by commas (a subfolder of the
        corpus, a file type such as "pdf"); empty = all. ``since``, ``until``:
        only documents made on or after, on or before that day ("2024-01-31"
        or "31-01-2024"; the date the document states, else its file's).
        """
        account = user(request)
        return search_json(live.view(account), question, k, source, folder, type, since, until, feedback=feedback,
                           viewer=viewer(account, request))

    def feedback_api(question: str, hit: str, judgment: str = "positive", request: gr.Request = None) -> dict:
        """Judge a hit that /search (or the page) showed you for ``question``: ``hit`` is its "hit" key, ``judgment``
        "positive" (it answers the question) or "negative" (not what you look for); "" takes your judgment back."""
        account = user(request)
        try:
            return judge(feedback, account, viewer(account, request), question, hit, judgment)
        except VraagbaakError as exc:
            raise user_error(exc, "Oordeel") from None

    def ask_on_page(question, k, source, folders, types, since, request: gr.Request):
        account = user(request)
        return search_page(live.view(account), question, k, source, folders, types, since, feedback=feedback,
                           viewer=viewer(account, request))

    def judge_on_page(question, hit, judgment, request: gr.Request) -> str:
        """A judgment button clicked: the outcome as JSON for the page's script (which marks the buttons)."""
        account = user(request)
        try:
            outcome = judge(feedback, account, viewer(account, request), question, hit, judgment)
        except VraagbaakError as exc:  # not shown to them (FeedbackRefused), or the judgments file cannot be written
            return json.dumps({"question": question, "hit": hit, "refused": True, "note": str(exc)})
        note = "Opgeslagen: dank je." if outcome["judgment"] else "Oordeel ingetrokken."
        return json.dumps(dict(outcome, question=question, note=note))

    def show_quality(request: gr.Request):
        return quality_panel(live.view(user(request)), feedback)

    def refresh(request: gr.Request, progress=gr.Progress()):
        account = user(request)
        if not may_update(account):
            raise gr.Error(messages.EDITORS_ONLY, print_exception=False)  # the /update API: an error, not a message
        return update_index(live, progress, account=account)

    def add(files, title, text, request: gr.Request, progress=gr.Progress()):
        return add_texts(live, uploads, files, title, text, progress, user(request), session_of(request))

    def on_load(request: gr.Request):
        account = user(request)
        quality = [gr.update(visible=may_read_judgments(account))] if feedback is not None else []
        return *lists(live.view(account)), gr.update(visible=may_update(account)), *quality

    return SimpleNamespace(search_api=search_api, feedback_api=feedback_api, ask_on_page=ask_on_page, judge_on_page=judge_on_page,
                           show_quality=show_quality, refresh=refresh, add=add, on_load=on_load)


# Logging out is a POST (a link or an image elsewhere cannot end a session): the button submits a form.
_LOGOUT_JS = """() => { const form = document.createElement('form'); form.method = 'post'; form.action = 'logout';
                       document.body.appendChild(form); form.submit(); }"""

# The judgment buttons are plain HTML inside the results (``render._judge_buttons``). One listener, installed
# when the page loads, turns a click into the hidden judgment event: it leaves the question, the hit and the
# judgment (empty: a pressed button clicked again takes it back) where that event's ``js`` picks them up.
_JUDGE_LISTENER_JS = """() => {
  if (window.vbJudge) return;
  window.vbJudge = {pending: ["", "", ""]};
  document.addEventListener("click", (event) => {
    const button = event.target.closest(".vb-judge button");
    if (!button) return;
    const hit = button.closest(".vb-hit"), results = button.closest(".vb-results");
    const pressed = button.getAttribute("aria-pressed") === "true";
    window.vbJudge.pending = [results.dataset.question, hit.dataset.hit, pressed ? "" : button.dataset.judgment];
    hit.querySelector(".vb-judge-note").textContent = "Wordt opgeslagen…";
    document.querySelector("#oordeel-knop").click();
  });
}"""
_JUDGE_PENDING_JS = "(...ignored) => window.vbJudge.pending"
# The server's answer marks the buttons: the judgment kept is pressed, the other not; a refusal changes nothing but the note.
_JUDGE_SHOW_JS = """(answer) => {
  const r = JSON.parse(answer || "{}");
  const results = document.querySelector("#resultaten .vb-results");
  if (!results || results.dataset.question !== r.question) return;
  const hit = [...results.querySelectorAll(".vb-hit")].find((e) => e.dataset.hit === r.hit);
  if (!hit) return;
  if (!r.refused) hit.querySelectorAll(".vb-judge button").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.judgment === r.judgment)));
  const note = hit.querySelector(".vb-judge-note");
  note.textContent = r.note || "";
  note.classList.toggle("vb-judge-refused", !!r.refused);
}"""


def build_page(live: LiveIndex, accounts: Accounts | None = None, uploads: UploadFolder | None = None,
               session_of=lambda request: None, feedback: Feedback | None = None) -> gr.Blocks:
    """The page. With ``accounts`` every event acts as the logged-in user: their collections, their role.
    With ``feedback`` hits can be judged, through the page and ``/feedback``, and a redacteur sees the quality panel."""
    on = callbacks(live, accounts, uploads, session_of, feedback)
    with gr.Blocks(title="Vraagbaak", delete_cache=(UPLOAD_MAX_AGE, UPLOAD_MAX_AGE)) as page:
        with gr.Row():
            gr.Markdown("# Vraagbaak\nStel een vraag in gewoon Nederlands: Vraagbaak zoekt de passages in de teksten die hem beantwoorden.")
            if accounts is not None:
                logout = gr.Button("Uitloggen", size="sm", scale=0, elem_id="uitloggen")
                logout.click(None, js=_LOGOUT_JS)
        with gr.Row():
            question = gr.Textbox(label="Vraag", placeholder="bijvoorbeeld: wat is preventie?", scale=5, elem_id="vraag")
            ask = gr.Button("Zoek", variant="primary", scale=1, elem_id="zoek")
        with gr.Row(elem_id="filters"):
            k = gr.Slider(1, 20, value=5, step=1, label="Aantal resultaten", elem_id="aantal")
            # The lists start empty and are filled for this user on load: never another user's documents in the page's config
            source = gr.Dropdown(choices=[("Alle documenten", "")], value="", label="Alleen in document", elem_id="document")
            folders = gr.Dropdown(choices=[], value=[], multiselect=True, label="Alleen in map", elem_id="map")
            types = gr.Dropdown(choices=[], value=[], multiselect=True, label="Alleen bestandstype", elem_id="type")
            # A text box, not Gradio's DateTime: that one's calendar and placeholder are English
            since = gr.Textbox(label="Alleen vanaf", placeholder="datum, bijv. 1-3-2024", max_lines=1, elem_id="vanaf")
        examples = gr.Examples(EXAMPLES, inputs=question, label="Voorbeeldvragen", elem_id="voorbeelden")
        results = gr.HTML(elem_id="resultaten")
        search_inputs = [question, k, source, folders, types, since]
        for event in (ask.click, question.submit, since.submit):
            event(on.ask_on_page, search_inputs, results, api_visibility="private", concurrency_limit=None)
        # An example searches when clicked (Gradio's own click only fills the box)
        examples.load_input_event.then(on.ask_on_page, search_inputs, results, api_visibility="private", concurrency_limit=None)
        gr.api(on.search_api, api_name="search", concurrency_limit=None)
        if feedback is not None:
            _judging(on, page)

        adding, upload, paste_title, paste_text, add_button, rebuild, message = _adding_panel(visible=accounts is None)
        quality = _quality_panel(on) if feedback is not None else None
        status = gr.HTML("<p><strong>Index:</strong> wordt gelezen…</p>", elem_id="status")
        page_lists = [status, source, folders, types]
        page.load(on.on_load, None, [*page_lists, adding] + ([quality] if quality is not None else []), api_visibility="private")
        # Each action replaces the previous message: the old one goes the moment a file is chosen or a button is
        # pressed (in the browser, at once), not when the new one arrives; under the progress it read as current.
        # Chained before the work, not beside it: a second listener writing the same output drops the first one's result.
        clear = dict(fn=None, inputs=None, outputs=message, js="() => ''", api_visibility="private", queue=False, show_progress="hidden")
        upload.upload(**clear)
        # preprocess=False: the callback gets each file's description (path, original name) as Gradio checked it;
        # File.preprocess would add nothing but an empty temporary file per upload that it never deletes.
        add_button.click(**clear).then(on.add, [upload, paste_title, paste_text], [message, *page_lists, upload], api_visibility="private",
                                       concurrency_limit=1, concurrency_id="update", show_progress_on=[message], preprocess=False)
        rebuild.click(**clear).then(on.refresh, None, [message, *page_lists], api_name="update", concurrency_limit=1,
                                    concurrency_id="update", show_progress_on=[message])
    return page


def _judging(on, page: gr.Blocks) -> None:
    """The hidden event behind every hit's judgment buttons, and the /feedback API."""
    with gr.Row(visible=False):
        pending = [gr.Textbox(visible=False) for _ in range(3)]  # question, hit, judgment: filled by _JUDGE_PENDING_JS
        answer = gr.Textbox(visible=False)
    trigger = gr.Button("Oordeel", visible="hidden", elem_id="oordeel-knop")
    trigger.click(on.judge_on_page, pending, answer, js=_JUDGE_PENDING_JS, api_visibility="private", concurrency_limit=None,
                  show_progress="hidden").then(None, answer, None, js=_JUDGE_SHOW_JS)
    page.load(None, js=_JUDGE_LISTENER_JS)
    gr.api(on.feedback_api, api_name="feedback", concurrency_limit=None)


def _quality_panel(on):
    """The redacteur's *Kwaliteit* panel (hidden until the page knows the user may read judgments)."""
    with gr.Accordion("Kwaliteit van de antwoorden (oordelen van lezers)", open=False, visible=False, elem_id="kwaliteit") as panel:
        gr.Markdown("Hoe goed vindt de huidige index de passages die lezers als antwoord hebben aangewezen? Berekenen "
                    "zoekt elke beoordeelde vraag opnieuw, en duurt dus even.")
        compute = gr.Button("Bereken de kwaliteit", elem_id="bereken-kwaliteit", size="sm")
        figures = gr.HTML(elem_id="kwaliteit-cijfers")
    compute.click(on.show_quality, None, figures, api_visibility="private", concurrency_limit=1, concurrency_id="kwaliteit")
    return panel


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
