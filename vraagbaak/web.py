"""The Gradio page: ask in Dutch, read passages with their sources, add texts.

All searching and indexing goes through ``LiveIndex``; this module only turns
hits into HTML and page events into calls.
"""

from __future__ import annotations

import html
import re
import time
from datetime import datetime
from types import SimpleNamespace
from pathlib import Path

import gradio as gr
from fastapi import Request  # at module level: FastAPI resolves the route's annotations here

from .accounts import Account, Accounts, LoginThrottle, may_update
from .corpus import SUFFIXES, upload_limit
from .readers import FORMATS
from .embeddings import DEFAULT_MODEL
from .errors import VraagbaakError
from .filters import list_folders, list_types
from .lexical import stem_word, tokenize
from .live import LiveIndex
from .progress import BuildProgress, describe_nl
from .search import good_matches, hit_to_json, match_words
from .sources import SOURCE_ROUTE, disposition, link, media_type, resolve_source

__all__ = ["FRAMEWORK_UPLOAD_LIMIT", "add_texts", "build_page", "dutch_datetime", "make_app", "render_hits", "search_json",
           "search_page", "status_line", "update_index", "upload_label"]

# Gradio's own upload limit sits well above ours (upload_limit: 5 MB for text,
# 50 MB for documents), so that a file over our limit gets our Dutch message,
# not Gradio's English toast; it only bounds what reaches the server's disk.
FRAMEWORK_UPLOAD_LIMIT = 4 * max(fmt.upload_limit for fmt in FORMATS)
MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december")
BACKEND_WORDS = {"openvino-int8": "int8 via OpenVINO", "torch": "fp32 via PyTorch"}  # as indexes record them

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
.vb-open {margin-left: 6px;}
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
        where = [f'<a class="vb-open" href="{html.escape(link(h.source, h.page))}" target="_blank" rel="noopener">{html.escape(h.source)}</a>']
        if h.page is not None:
            where.append(f'<span class="vb-page">p. {h.page}</span>')
        if h.heading and h.heading != h.title:
            where.append(f"§ {html.escape(h.heading)}")
        number = f"e5-cosinus {h.similarity:.2f}" if h.similarity is not None else f"BM25 {h.score:.2f}"
        where.append(f'<span class="vb-match" title="{number}">{match_words(h)}</span>')
        copies = ""
        if h.also_in:
            copies = f'<div class="vb-meta vb-copies">ook in: {", ".join(html.escape(c) for c in h.also_in)}</div>'
        parts.append(
            f'<div class="vb-hit" data-source="{html.escape(h.source)}">'
            f'<div class="vb-head">{h.rank}. {html.escape(h.title)}</div>'
            f'<div class="vb-meta">{" · ".join(where)}</div>{copies}'
            f'<div class="vb-text">{body}</div></div>'
        )
    if hidden:
        parts.append(f'<div class="vb-meta">{hidden} andere passage(s) passen te slecht bij de vraag en zijn weggelaten.</div>')
    return wrap.format("\n".join(parts))


def _message(question: str, text: str) -> str:
    return f'<div class="vb-results" data-question="{html.escape(question or "")}"><div class="vb-none">{html.escape(text)}</div></div>'


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


def status_line(live: LiveIndex, account: Account | None = None) -> str:
    """Read anew on every page load and after every update: never the counts of when the page was built.
    A user limited to collections sees the counts of those only."""
    index = live.current
    if index is None:
        return "**Index:** nog niet gebouwd."
    visible = _visible(index, account)
    records = index.store.document_records
    passages = index.passage_count if visible is None else sum(records[s].rows for s in visible)
    documents = len(index.documents) if visible is None else len(visible)
    who = f" · ingelogd als {account.name} ({account.role})" if account else ""
    return (
        f"**Index:** {documents} {'document' if documents == 1 else 'documenten'}, {passages} passages · "
        f"bijgewerkt op {dutch_datetime(index.updated)} · zoekt met {model_words(index.model, index.backend)}{who}"
    )


def _visible(index, account: Account | None) -> frozenset[str] | None:
    """The sources ``account`` may see (None: all)."""
    return None if account is None else account.visible(index.documents)


def _document_choices(live: LiveIndex, account: Account | None = None):
    index = live.current
    docs = index.documents if index else {}
    visible = _visible(index, account) if index else None
    return [("Alle documenten", "")] + [(f"{title} ({source})", source) for source, title in sorted(docs.items())
                                        if visible is None or source in visible]


def _lists(live: LiveIndex, account: Account | None = None):
    """The status line and every list on the page, as they are now and as this user may see them."""
    index = live.current
    visible = None if index is None else _visible(index, account)
    sources = [] if index is None else sorted(index.documents if visible is None else visible)  # an empty set stays empty
    return (
        status_line(live, account),
        gr.update(choices=_document_choices(live, account)),
        gr.update(choices=list_folders(sources)),
        gr.update(choices=list_types(sources)),
    )


def upload_label() -> str:
    """The upload box's label: each format with its limit (``readers.FORMATS``)."""
    by_limit: dict[int, list[str]] = {}
    for fmt in FORMATS:
        by_limit.setdefault(fmt.upload_limit, []).append(fmt.name)
    return "Per bestand: " + "; ".join(f"{', '.join(names)} tot {limit >> 20} MB" for limit, names in sorted(by_limit.items()))


def _names(value) -> list[str]:
    """A filter from the API or the page: a list, or names separated by commas; empty = all."""
    if not value:
        return []
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return [item.strip() for item in items if item and item.strip()]


def search_json(live: LiveIndex, question: str, k: int = 5, source: str = "", folder: str = "", type: str = "",
                account: Account | None = None) -> list[dict]:
    """The /search API: the hits as JSON, each with the ``link`` that opens its source."""
    try:
        hits = _search(live, question, k, source, _names(folder), _names(type), account)
    except VraagbaakError as exc:
        raise gr.Error(str(exc)) from exc
    return [hit_to_json(h, link(h.source, h.page)) for h in hits]


def _search(live: LiveIndex, question, k, source, folders, types, account: Account | None):
    """A search narrowed to what ``account`` may see: inside the stores, so a restricted user still gets ``k`` hits."""
    index = live.current
    within = _visible(index, account) if index is not None else None
    return live.search(question, k=int(k), source=source or None, folders=folders, types=types, within=within)


def search_page(live: LiveIndex, question: str, k: int, source: str, folders, types, account: Account | None = None) -> str:
    """The results HTML for a question asked on the page (messages in the page's Dutch)."""
    try:
        hits = _search(live, question, k, source, _names(folders), _names(types), account)
    except VraagbaakError as exc:
        return _message(question, str(exc))
    good = good_matches(hits, live.current.ranking.no_match_similarity)
    return render_hits(question, good, hidden=len(hits) - len(good))


EDITORS_ONLY = "Alleen een redacteur mag teksten toevoegen en de index bijwerken."


def update_index(live: LiveIndex, progress, done_text: str = "Index bijgewerkt.", notes=(), account: Account | None = None) -> tuple:
    """Bring the index up to date: (message, status, and each list), for the page."""
    if not may_update(account):
        return EDITORS_ONLY, *_lists(live, account)
    skipped = []

    def report(p: BuildProgress):
        progress(p.documents_done / max(p.documents_total, 1), desc=describe_nl(p))

    progress(0, desc="Teksten lezen en in passages splitsen")
    try:
        r = live.update(progress=report, on_skip=lambda s, reason: skipped.append(f"{s}: {reason}"))
    except VraagbaakError as exc:
        return f"Fout: {exc}", *_lists(live, account)
    lines = list(notes) + [
        f"{done_text} Documenten: {r.documents_added} nieuw, {r.documents_changed} gewijzigd, "
        f"{r.documents_removed} verwijderd; {r.passages_embedded} passages ingesloten, {r.passages_reused} hergebruikt."
    ]
    lines += [f"Overgeslagen: {s}" for s in skipped if account is None or account.may_see(s.split(": ", 1)[0])]
    return "\n\n".join(lines), *_lists(live, account)


def add_texts(live: LiveIndex, files, title: str, text: str, progress, account: Account | None = None) -> tuple:
    """Save uploads and a pasted text, then update: (message, status, each list, the emptied upload box)."""
    if not may_update(account):
        return EDITORS_ONLY, *_lists(live, account), None
    saved, problems = _save_uploads(live, files, title, text, progress)
    if not saved:
        message = "\n\n".join(problems or [f"Kies een bestand ({', '.join(SUFFIXES)}) of plak een tekst."])
        return message, *_lists(live, account), None
    notes = problems + [f"Opgeslagen als {name}." for name in saved]
    return *update_index(live, progress, "Tekst toegevoegd en doorzoekbaar.", notes, account), None


def _callbacks(live: LiveIndex, accounts: Accounts | None) -> SimpleNamespace:
    """The page's event handlers: thin closures over the module's functions. Gradio reads
    their signatures (the API's parameters, the progress and request arguments)."""

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
        return search_json(live, question, k, source, folder, type, account=user(request))

    def ask_on_page(question, k, source, folders, types, request: gr.Request):
        return search_page(live, question, k, source, folders, types, user(request))

    def refresh(request: gr.Request, progress=gr.Progress()):
        account = user(request)
        if not may_update(account):
            raise gr.Error(EDITORS_ONLY)  # the /update API: an error, not a message
        return update_index(live, progress, account=account)

    def add(files, title, text, request: gr.Request, progress=gr.Progress()):
        return add_texts(live, files, title, text, progress, user(request))

    def on_load(request: gr.Request):
        account = user(request)
        return *_lists(live, account), gr.update(visible=may_update(account))

    return SimpleNamespace(search_api=search_api, ask_on_page=ask_on_page, refresh=refresh, add=add, on_load=on_load)


def build_page(live: LiveIndex, accounts: Accounts | None = None) -> gr.Blocks:
    """The page. With ``accounts`` every event acts as the logged-in user: their collections, their role."""
    on = _callbacks(live, accounts)
    with gr.Blocks(title="Vraagbaak") as page:
        with gr.Row():
            gr.Markdown("# Vraagbaak\nStel een vraag in gewoon Nederlands: Vraagbaak zoekt de passages in de teksten die hem beantwoorden.")
            if accounts is not None:
                gr.Button("Uitloggen", link="/logout", size="sm", scale=0, elem_id="uitloggen")
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
        status = gr.Markdown("**Index:** wordt gelezen…", elem_id="status")
        lists = [status, source, folders, types]
        page.load(on.on_load, None, [*lists, adding], api_visibility="private")
        add_button.click(on.add, [upload, paste_title, paste_text], [message, *lists, upload], api_visibility="private",
                         concurrency_limit=1, concurrency_id="update", show_progress_on=[message])
        rebuild.click(on.refresh, None, [message, *lists], api_name="update", concurrency_limit=1, concurrency_id="update",
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
        message = gr.Markdown(elem_id="melding")
    return panel, upload, paste_title, paste_text, add_button, rebuild, message


def _ocr_progress(progress, name: str):
    def on_page(done: int, total: int) -> None:
        progress(done / total, desc=f"Tekst herkennen in {name} (OCR): pagina {done} van {total}")

    return on_page


def _save_uploads(live: LiveIndex, files, title, text, progress) -> tuple[list[str], list[str]]:
    """Save the uploaded files and the pasted text into the corpus folder: (saved names, problems)."""
    saved, problems = [], []
    for n, f in enumerate(files or []):
        path = Path(f)
        progress(n / len(files), desc=f"Lezen: {path.name}")
        try:
            with open(path, "rb") as upload_file:  # never more than the limit into memory
                data = upload_file.read(upload_limit(path.name) + 1)
            saved.append(live.add(path.name, data, size=path.stat().st_size, on_page=_ocr_progress(progress, path.name)).name)
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
    return saved, problems


SESSION_SECONDS = 8 * 3600  # a working day: log in in the morning, not again at lunch


def make_app(live: LiveIndex, page: gr.Blocks, *, accounts: Accounts | None = None,
             session_seconds: float = SESSION_SECONDS, **gradio_options):
    """The web app: the page at "/", and each indexed source file at ``bron/<source>``.

    ``gradio_options`` go to ``gr.mount_gradio_app`` (theme, css, ...). Gradio's
    own file route serves only what the page itself made (uploads in its
    temporary folder); the corpus and index folders are blocked there outright.

    With ``accounts`` every route needs a login (Gradio's own login, checked
    against the users file, wrong passwords slowed down by ``LoginThrottle``);
    a session ends after ``session_seconds``; a source link opens only a file
    of the user's collections; only a redacteur may upload.
    """
    from fastapi import FastAPI
    from fastapi.responses import FileResponse, PlainTextResponse
    from starlette.routing import Mount

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    sessions = Sessions(session_seconds)

    def gradio_app():
        return next(r.app for r in app.routes if isinstance(r, Mount))

    def logged_in(request: Request) -> Account | None:
        return accounts.get(sessions.user(gradio_app(), request)) if accounts else None

    @app.get(f"/{SOURCE_ROUTE}/{{requested:path}}")
    def open_source(requested: str, request: Request):
        account = logged_in(request)
        if accounts is not None and account is None:
            return PlainTextResponse("Log eerst in.", status_code=401)
        index = live.current
        visible = None if index is None else _visible(index, account)
        allowed = () if index is None else (index.documents if visible is None else visible)  # an empty set stays empty
        path = resolve_source(live.corpus_dir, requested, allowed)
        if path is None:
            return PlainTextResponse("Dit bestand staat niet in de index, of mag niet worden geopend.", status_code=404)
        headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
        if path.suffix.lower() in (".html", ".htm"):
            headers["Content-Security-Policy"] = "sandbox"  # a stored page's scripts never run in our origin
        return FileResponse(path, media_type=media_type(path), headers=headers, filename=path.name,
                            content_disposition_type=disposition(path))

    if accounts is not None:
        _guard(app, gradio_app, sessions, accounts)
        gradio_options.update(auth=_login_check(accounts, LoginThrottle()),
                              auth_message="Log in met je Vraagbaak-account (vraag het de beheerder als je er geen hebt).")
    blocked = [str(Path(live.corpus_dir).resolve())]
    if isinstance(live.index_dir, (str, Path)) and not str(live.index_dir).startswith("milvus:"):
        blocked.append(str(Path(live.index_dir).resolve()))
    if accounts is not None:
        blocked.append(str(accounts.path.resolve()))
    return gr.mount_gradio_app(app, page, path="", blocked_paths=blocked, max_file_size=FRAMEWORK_UPLOAD_LIMIT,
                               show_error=True, **gradio_options)


def _login_check(accounts: Accounts, throttle: LoginThrottle):
    """Gradio's ``auth`` callable: the password against its hash, unless this name is waiting out failed attempts."""

    def check(name: str, password: str) -> bool:
        if throttle.wait_left(name) > 0:
            return False  # refused unheard: guessing gets slower, the right password too until the wait is over
        ok = accounts.check(name, password) is not None
        (throttle.succeeded if ok else throttle.failed)(name)
        return ok

    return check


class Sessions:
    """Gradio keeps a login token until the server stops; this ends each after ``seconds``.

    A token is dated when Gradio's /login hands it out (its Set-Cookie). A
    token past its time, or one this process never saw handed out, is dropped
    from Gradio's table, so every route then asks for a login again.
    """

    def __init__(self, seconds: float, clock=time.monotonic):
        self.seconds, self.clock = seconds, clock
        self._issued: dict[str, float] = {}

    @staticmethod
    def token(gradio_app, request) -> str | None:
        return (request.cookies.get(f"access-token-{gradio_app.cookie_id}")
                or request.cookies.get(f"access-token-unsecure-{gradio_app.cookie_id}"))

    def issued(self, set_cookie_headers: list[str]) -> None:
        now = self.clock()
        for token in [t for t, at in self._issued.items() if now - at > self.seconds]:
            del self._issued[token]  # sessions nobody came back to
        for header in set_cookie_headers:
            name, _, rest = header.partition("=")
            if name.startswith("access-token-"):
                self._issued[rest.split(";", 1)[0]] = self.clock()

    def user(self, gradio_app, request) -> str | None:
        """The logged-in user of ``request``, after ending an expired session."""
        token = self.token(gradio_app, request)
        if token is None:
            return None
        issued = self._issued.get(token)
        if issued is None or self.clock() - issued > self.seconds:
            gradio_app.tokens.pop(token, None)
            self._issued.pop(token, None)
            return None
        return gradio_app.tokens.get(token)


def _guard(app, gradio_app, sessions: Sessions, accounts: Accounts) -> None:
    """Every request: end expired sessions; date new ones; uploads only for a redacteur."""
    from fastapi.responses import JSONResponse

    @app.middleware("http")
    async def guard(request, call_next):
        user = sessions.user(gradio_app(), request)
        if request.url.path.rstrip("/").endswith("/upload") and request.method == "POST" and not (
                user and may_update(accounts.get(user))):
            return JSONResponse({"detail": EDITORS_ONLY}, status_code=403 if user else 401)
        response = await call_next(request)
        if request.method == "POST" and request.url.path.rstrip("/").endswith("/login") and response.status_code == 200:
            sessions.issued(response.headers.getlist("set-cookie"))
        return response
