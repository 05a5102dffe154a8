"""Command line: ``python -m vraagbaak build | watch | ask | check | eval``.

A thin shell over ``vraagbaak.Index``: every user error becomes one line on
stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from pathlib import Path

import click

from . import messages
from .accounts import ROLES, Accounts
from .api import Index
from .dates import dutch_date
from .embeddings import BACKENDS
from .errors import VraagbaakError
from .ocr import OcrSettings
from .progress import count_nl
from .readers import SUFFIXES
from .search import MODES, RankingSettings, hit_to_json, relevance
from .sources import link
from .stores import evaluation_store, locate
from .view import View
from .watch import WatchSettings

__all__ = ["backend_option", "cli", "corpus_option", "model_dir_option", "model_option", "no_ocr_option", "setup_logging",
           "store_option", "user_errors", "users_option"]


def setup_logging() -> None:
    """The one logging set-up of the entry points (this CLI, app.py): the package's own logger
    ("vraagbaak") prints its warnings on stderr, as they are; the root logger is left alone."""
    logger = logging.getLogger("vraagbaak")
    ours = [handler for handler in logger.handlers if getattr(handler, "vraagbaak", False)]
    if ours:
        ours[0].setStream(sys.stderr)  # the stderr of now (a command run in-process, as tests do, swaps it per run)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.vraagbaak = True
        logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False  # printed once, here, whatever another library does with the root logger


def user_errors(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except VraagbaakError as exc:
            click.echo(messages.error_line(exc), err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo(messages.INTERRUPTED, err=True)
            sys.exit(130)

    return wrapper


model_dir_option = click.option(
    "--model-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="VRAAGBAAK_MODEL_DIR",
    help="Folder of the converted bundled model (default: the user cache; env VRAAGBAAK_MODEL_DIR).",
)


STORE_HELP = "Index folder, or milvus:URI[#NAME] for a Milvus collection (URI: a local .db folder or http://host:19530; token from env VRAAGBAAK_MILVUS_TOKEN)."


def store_option(default):
    """``--store`` (``--index`` is its older name): where the index lives."""
    return click.option("--store", "--index", "index_dir", default=default, show_default=default is not None, help=STORE_HELP)


def corpus_option(help: str = f"Folder of the texts, subfolders included: {' '.join(SUFFIXES)}."):
    return click.option("--corpus", "corpus_dir", default="corpus", show_default=True, type=click.Path(path_type=Path), help=help)


def model_option(help: str = "sentence-transformers model name or folder (default: the bundled multilingual-e5-small, or the index's own model)."):
    return click.option("--model", default=None, help=help)


no_ocr_option = click.option("--no-ocr", "no_ocr", is_flag=True,
                             help="Skip scanned PDF pages and images instead of reading them with OCR (seconds per page).")


def users_option(required: bool, help: str = "The users file (written readable by its owner only)."):
    return click.option("--users", "users_file", required=required, default=None,
                        type=click.Path(dir_okay=False, path_type=Path), help=help)


backend_option = click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    envvar="VRAAGBAAK_BACKEND",
    default=None,
    help="Model runtime: int8 OpenVINO (default for the bundled model) or fp32 torch; a search uses the index's own (env VRAAGBAAK_BACKEND).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name=None, version="0.1.0", prog_name="vraagbaak")
def cli():
    """Vraagbaak: search Dutch texts offline and find the passage that answers a question."""
    setup_logging()


@cli.command()
@corpus_option()
@store_option("index")
@model_option()
@model_dir_option
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Processes that split documents (default: every core).")
@backend_option
@click.option("--rebuild", is_flag=True, help="Embed every document anew (an index whose model changed under it).")
@no_ocr_option
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@user_errors
def build(corpus_dir, index_dir, model, model_dir, workers, backend, rebuild, no_ocr, as_json):
    """Build, update or repair the index of a corpus folder (only new text is embedded)."""
    index = Index.build(corpus_dir, index_dir, model=model, model_dir=model_dir, workers=workers, backend=backend, rebuild=rebuild,
                        ocr=OcrSettings(enabled=not no_ocr))
    r = index.report
    if as_json:
        d = r.to_dict()
        d.update(index=str(index_dir), model=index.model, backend=index.backend)
        click.echo(json.dumps(d, ensure_ascii=False))
        return
    click.echo(
        f"Index {index_dir}: {r.passages_total} passages from {len(index.documents)} documents "
        f"(model {index.model}).\n"
        f"Documents: {r.documents_added} added, {r.documents_changed} changed, "
        f"{r.documents_removed} removed, {r.documents_unchanged} unchanged.\n"
        f"Passages: {r.passages_embedded} embedded, {r.passages_reused} reused, in {r.seconds:.1f} s."
    )


@cli.command()
@click.option("--corpus", "corpus_dir", default="corpus", show_default=True, type=click.Path(path_type=Path),
              help=f"Folder of the texts to follow, subfolders included: {' '.join(SUFFIXES)}.")
@store_option("index")
@click.option("--model", default=None, help="sentence-transformers model name or folder (default: the bundled model, or the index's own).")
@model_dir_option
@backend_option
@click.option("--no-ocr", "no_ocr", is_flag=True, help="Skip scanned PDF pages and images instead of reading them with OCR.")
@click.option("--rescan", type=click.FloatRange(min=0), default=WatchSettings.rescan_seconds, show_default=True,
              help="Also scan the whole folder every N seconds, for changes no file event reports (network shares); 0: never.")
@user_errors
def watch(corpus_dir, index_dir, model, model_dir, backend, no_ocr, rescan):
    """Keep the index following the corpus folder (for a server without the page): a file saved,
    changed, removed or renamed there is searchable within seconds. Ctrl-C stops."""
    from .corpus import scan_corpus
    from .live import LiveIndex
    from .progress import terminal_printer
    from .watch import Watcher, network_share

    live = LiveIndex(corpus_dir, index_dir, model=model, model_dir=model_dir, backend=backend, ocr=OcrSettings(enabled=not no_ocr))
    if scan_corpus(corpus_dir, lambda source, reason: None):
        r = live.update(progress=True, on_skip=lambda source, reason: click.echo(messages.skipped(source, reason), err=True))
        click.echo(f"Index {index_dir}: {r.passages_total} passages uit {len(live.current.documents)} documenten; "
                   f"{r.passages_embedded} passages nu ingebed, {r.passages_reused} hergebruikt.")
    else:  # a server set up before the first file arrives
        click.echo(f"De map {corpus_dir} bevat nog geen leesbare bestanden; de index volgt zodra er een is.", err=True)
    share = network_share(Path(corpus_dir))
    every = f"elke {rescan:g} s een volledige scan" if rescan else "geen periodieke scan"
    click.echo(f"De map {corpus_dir} wordt gevolgd ({every}"
               + (f"; een netwerkmap ({share}): wijzigingen van andere computers ziet alleen die scan" if share else "")
               + "). Ctrl-C stopt.", err=True)
    watcher = Watcher(live, WatchSettings(rescan_seconds=rescan, update_first=live.current is not None), on_line=click.echo,
                      progress=terminal_printer())
    watcher.run()



def _corpus_of(index_dir, corpus_dir: Path) -> Path:
    """The folder links point into: ``--corpus`` when given, else the folder the index was built from
    (so that `vraagbaak ask --index ~/vraagbaak/index` prints paths that open from any folder)."""
    if click.get_current_context().get_parameter_source("corpus_dir") is not click.core.ParameterSource.DEFAULT:
        return corpus_dir
    return locate(index_dir).recorded_corpus() or corpus_dir


@cli.command()
@click.argument("question")
@store_option("index")
@corpus_option("The corpus folder, for the path each hit prints (corpus/nota.pdf#page=12); default: the folder the index was built from.")
@click.option("-k", "k", default=5, show_default=True, type=click.IntRange(1, 100), help="Number of passages.")
@click.option("--mode", type=click.Choice(MODES), default="hybrid", show_default=True)
@click.option("--source", default=None, help="Only search this document (its path in the corpus folder).")
@click.option("--folder", "folders", multiple=True, help="Only documents in this subfolder of the corpus (repeat for several).")
@click.option("--type", "types", multiple=True, help="Only documents of this file type, e.g. pdf (repeat for several).")
@click.option("--since", default=None, metavar="DATE", help="Only documents made on or after this day (2024-01-01): the date the document states, else its file's.")
@click.option("--until", default=None, metavar="DATE", help="Only documents made on or before this day.")
@click.option("--weak", is_flag=True, help="Also show passages that match the question only weakly (the page hides them).")
@model_option("Refuse the index unless this model built it.")
@model_dir_option
@backend_option
@click.option("--json", "as_json", is_flag=True, help="Print the hits as a JSON list.")
@user_errors
def ask(question, index_dir, corpus_dir, k, mode, source, folders, types, since, until, weak, model, model_dir, backend, as_json):
    """Ask QUESTION and print the passages that answer it."""
    index = Index.load(index_dir, model=model, model_dir=model_dir, backend=backend)
    corpus_dir = _corpus_of(index_dir, corpus_dir)
    results = View(index).search(question, k=k, mode=mode, source=source, folders=folders, types=types, since=since, until=until)
    hits = results.everything if weak else results.hits
    if as_json:
        click.echo(json.dumps([hit_to_json(h, link(h.source, h.page, base=str(corpus_dir))) for h in hits], ensure_ascii=False, indent=1))
        return
    if not hits:
        click.echo("Geen passage beantwoordt deze vraag goed (--weak toont de zwakke overeenkomsten).", err=True)
        return
    for h in hits:
        made = f"{dutch_date(h.date)}; " if h.date else ""
        click.secho(f"{h.rank}. {h.title}  ({made}{relevance(h)})", bold=True)
        click.echo(f"   {link(h.source, h.page, base=str(corpus_dir))}" + (f"  (ook in: {', '.join(h.also_in)})" if h.also_in else ""))
        click.echo(f"   Antwoord: {h.answer}")
        click.echo("   " + " ".join(h.text.split())[:600])
        click.echo()
    if results.weak and not weak:
        n = len(results.weak)
        click.echo(f"{count_nl(n, 'andere passage past', 'andere passages passen')} te slecht bij de vraag (--weak toont "
                   f"{'hem' if n == 1 else 'ze'}).", err=True)


@cli.command()
@store_option("index")
@model_dir_option
@user_errors
def check(index_dir, model_dir):
    """Read the whole index and say what is wrong with it, with the command that repairs each problem."""
    from .doctor import check_index

    problems = check_index(index_dir, model_dir=model_dir)
    for problem in problems:
        click.echo(messages.problem_line(problem), err=True)
    if problems:
        sys.exit(1)
    click.echo(messages.all_is_well(index_dir))


@cli.command("eval")
@click.argument("questions", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--corpus", "corpus_dir", default=None, type=click.Path(path_type=Path),
              help="Corpus the questions are about (required unless --as-is).")
@store_option(None)
@click.option("--as-is", "as_is", is_flag=True,
              help="Evaluate the index --store as it is: no build, its own recorded ranking settings (e.g. on `feedback export`'s questions).")
@click.option("-k", "k", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--mode", "modes", type=click.Choice(MODES), multiple=True, default=("hybrid",), show_default=True,
              help="Repeat for several modes: one table of question file x mode.")
@model_option()
@model_dir_option
@backend_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON: one object for one file and mode, else a list.")
@user_errors
def eval_(questions, corpus_dir, index_dir, as_is, k, modes, model, model_dir, backend, as_json):
    """Measure retrieval on labelled QUESTIONS files (JSONL; see README) about one corpus (or one index, --as-is)."""
    from .evaluate import evaluate, read_questions, table

    sets = {path: read_questions(path) for path in questions}
    index = _eval_index(corpus_dir, index_dir, as_is, model=model, model_dir=model_dir, backend=backend, progress=not as_json)
    index.warm_up()  # time the questions, not loading the model
    results = []
    for path, qs in sets.items():
        for mode in modes:
            result = evaluate(index, qs, k=k, mode=mode)
            result.update(set=path.name, backend=index.backend)
            results.append(result)
    if as_json:
        click.echo(json.dumps(results[0] if len(results) == 1 else results))
        return
    click.echo(table(results, k=k))


# ------------------------------------------------------------------ users


@cli.group()
def users():
    """Accounts for a shared Vraagbaak (python app.py --users FILE): names, roles and collections."""


users_file_option = users_option(required=True)


def _password(prompt: str = "Wachtwoord") -> str:
    """At a terminal: asked twice without echo; otherwise the first line of standard input."""
    if sys.stdin.isatty():
        return click.prompt(prompt, hide_input=True, confirmation_prompt="Nog een keer")
    return sys.stdin.readline().rstrip("\r\n")


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="lezer: search and open sources; redacteur: also add texts and update.")
@click.option("--collections", default=None, help="Subfolders of the corpus this user may see, separated by commas (default: all).")
@corpus_option("The corpus folder the collections are subfolders of (a name that is not one is warned about).")
@users_file_option
@user_errors
def users_add(name, role, collections, corpus_dir, users_file):
    """Add user NAME; the password is read from standard input (or asked for at a terminal)."""
    folders = None if collections is None else [c for c in collections.split(",") if c.strip()]
    Accounts(users_file).add(name, _password(), role, folders)
    click.echo(f"{name} added to {users_file} as {role}" + (f", collections: {', '.join(folders)}" if folders is not None else ""))
    for warning in _collection_warnings(folders or [], corpus_dir, name):
        click.echo(f"let op: {warning}", err=True)


def _collection_warnings(collections: list[str], corpus_dir: Path, name: str) -> list[str]:
    """A collection that is not a folder of the corpus (a typo such as wijkteam-nord): the user would see nothing
    of it, silently. Warned about, not refused: the folder may be made later."""
    if not collections:
        return []
    if not corpus_dir.is_dir():
        return [f"de corpusmap {corpus_dir} bestaat niet, dus de collecties zijn niet gecontroleerd (geef --corpus MAP)"]
    present = sorted(p.name for p in corpus_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    return [f"{c.strip().strip('/')} is geen map in {corpus_dir} (wel: {', '.join(present) or 'geen mappen'}); "
            f"{name} ziet er niets van tot die map bestaat"
            for c in collections if not (corpus_dir / c.strip().strip("/")).is_dir()]


@users.command("remove")
@click.argument("name")
@users_file_option
@user_errors
def users_remove(name, users_file):
    """Remove user NAME (their open sessions end at their next request)."""
    Accounts(users_file).remove(name)
    click.echo(f"{name} removed from {users_file}")


@users.command("passwd")
@click.argument("name")
@users_file_option
@user_errors
def users_passwd(name, users_file):
    """Set a new password for NAME (read like ``add``'s)."""
    Accounts(users_file).set_password(name, _password("Nieuw wachtwoord"))
    click.echo(f"password of {name} changed")


@users.command("list")
@users_file_option
@user_errors
def users_list(users_file):
    """Every user with their role and collections (never a password or hash)."""
    accounts = Accounts(users_file)
    for name in accounts.names():
        account = accounts.get(name)
        folders = "all collections" if account.collections is None else ", ".join(account.collections) or "no collections"
        click.echo(f"{name}\t{account.role}\t{folders}")


# ------------------------------------------------------------------ feedback


@cli.group()
def feedback():
    """Judgments of hits kept by the page (python app.py --feedback): counts, quality, export as questions, delete.

    For whoever holds the index folder: these commands show every judgment, unfiltered by accounts."""


feedback_dir_option = click.option("--feedback", "feedback_dir", default=None, type=click.Path(file_okay=False, path_type=Path),
                                   help="Folder of the judgments file (default: the index folder; required for a Milvus index).")


def _read_feedback(index_dir, feedback_dir, *, required: bool = True):
    """The judgments file of an index, as its server keeps it; None (or, if ``required``, an error) when there is none."""
    from .feedback import FEEDBACK_FILE, Feedback, feedback_folder

    folder = feedback_folder(index_dir, feedback_dir)
    opened = Feedback.read(folder)
    if opened is None and required:
        raise VraagbaakError(messages.no_judgments(folder, FEEDBACK_FILE))
    return opened


def _flagged_lines(flagged) -> list[str]:
    return [f"  - {f.judgment.source}{'' if f.judgment.page is None else f' p. {f.judgment.page}'}: "
            f"\"{f.judgment.question}\" ({'positief' if f.judgment.judgment == 'positive' else 'negatief'}): {f.reason}" for f in flagged]


@feedback.command("show")
@store_option("index")
@feedback_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@user_errors
def feedback_show(index_dir, feedback_dir, as_json):
    """How many judgments are kept, of what, since when; and how many are about passages changed since."""
    from .feedback import check_current, count

    kept = _read_feedback(index_dir, feedback_dir, required=False)
    judgments = [] if kept is None else kept.judgments()
    _, flagged = check_current(judgments, Index.load(index_dir).store) if judgments else ([], [])
    counts = count(judgments)
    if as_json:
        click.echo(json.dumps({**counts.to_dict(), "changed": len(flagged), "file": None if kept is None else str(kept.path),
                               "retention_days": None if kept is None else kept.settings.retention_days}, ensure_ascii=False))
        return
    if kept is None:
        click.echo("Geen oordelen opgeslagen: de pagina bewaart ze alleen als ze met --feedback is gestart.")
        return
    size = sum(p.stat().st_size for p in kept.path.parent.glob(kept.path.name + "*"))
    click.echo(f"{kept.path} ({size / 1024:.0f} kB; oordelen worden {kept.settings.retention_days} dagen bewaard):\n"
               f"{counts.judgments} oordelen over {counts.questions} vragen en {counts.documents} documenten: "
               f"{counts.positive} positief, {counts.negative} negatief" + (f"; van {counts.users} {'gebruiker' if counts.users == 1 else 'gebruikers'}" if counts.users else ""))
    if judgments:
        click.echo(f"Oudste {counts.first}, nieuwste {counts.last} (UTC).")
    if flagged:
        click.echo(f"{len(flagged)} over passages die sinds het oordeel zijn gewijzigd (tellen nergens mee):")
        click.echo("\n".join(_flagged_lines(flagged)))


@feedback.command("export")
@store_option("index")
@feedback_dir_option
@click.option("--since", default=None, help="Only judgments from then on: a date (2026-01-31), a date and time, or 30d (the last 30 days).")
@user_errors
def feedback_export(index_dir, feedback_dir, since):
    """Print the positive judgments as a question file (JSONL) for `vraagbaak eval --index I --as-is`."""
    from .feedback import export_questions, parse_since

    since = None if since is None else parse_since(since)
    exported = export_questions(_read_feedback(index_dir, feedback_dir), Index.load(index_dir).store, since=since)
    for line in exported.questions:
        click.echo(json.dumps(line, ensure_ascii=False))
    click.echo(f"{len(exported.questions)} vragen geschreven uit {exported.positive} positieve oordelen.", err=True)
    if exported.flagged:
        click.echo(f"{len(exported.flagged)} oordelen overgeslagen: hun passage staat niet meer zo in de index:", err=True)
        click.echo("\n".join(_flagged_lines(exported.flagged)), err=True)


@feedback.command("quality")
@store_option("index")
@feedback_dir_option
@click.option("--since", default=None, help="Only judgments from then on (as export's --since).")
@model_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@user_errors
def feedback_quality(index_dir, feedback_dir, since, model_dir, as_json):
    """The figures of the quality panel: hit@1 and mrr@10 of the index on the judged questions,
    the passages judged wrong that still rank first, and the ranks judged hits had, per week."""
    from .feedback import parse_since, quality

    kept = _read_feedback(index_dir, feedback_dir)
    result = quality(kept, Index.load(index_dir, model_dir=model_dir), since=None if since is None else parse_since(since))
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
        return
    c = result.counts
    click.echo(f"Beoordeelde vragen: {c.questions} ({c.judgments} oordelen: {c.positive} positief, {c.negative} negatief).")
    if result.evaluated:
        click.echo(f"De index nu, op {result.evaluated} positief beoordeelde passages: hit@1 {result.hit_at_1:.3f}, mrr@10 {result.mrr_at_10:.3f}.")
    click.echo(f"Als fout beoordeeld en nog steeds als eerste gevonden: {len(result.wrong_first)} van {result.negatives_checked}.")
    for j in result.wrong_first:
        click.echo(f"  - \"{j.question}\" -> {j.source}{'' if j.page is None else f' p. {j.page}'}: {' '.join(j.answer.split())[:120]}")
    if result.flagged:
        click.echo(f"Niet meegeteld, de passage is sinds het oordeel gewijzigd: {len(result.flagged)}.")
        click.echo("\n".join(_flagged_lines(result.flagged)))
    if result.weeks:
        click.echo("\n| week | oordelen | positief | gem. rang positief | op rang 1 | mrr |\n| --- | --- | --- | --- | --- | --- |")
        for w in result.weeks:
            cells = ["-" if w[key] is None else f"{w[key]:.2f}" for key in ("mean_rank", "share_first", "mrr")]
            click.echo(f"| {w['week']} | {w['judgments']} | {w['positive']} | " + " | ".join(cells) + " |")


@feedback.command("delete")
@store_option("index")
@feedback_dir_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@user_errors
def feedback_delete(index_dir, feedback_dir, yes):
    """Delete every judgment (the file stays, empty; a running server keeps collecting unless restarted without --feedback)."""
    kept = _read_feedback(index_dir, feedback_dir, required=False)
    if kept is None:
        click.echo("Er zijn geen oordelen om te verwijderen.")
        return
    if not yes:
        if not sys.stdin.isatty():
            raise VraagbaakError(messages.DELETE_NEEDS_YES)
        click.confirm(f"Alle {len(kept.judgments())} oordelen in {kept.path} verwijderen?", abort=True)
    click.echo(f"{kept.delete_all()} oordelen verwijderd uit {kept.path}.")


def _eval_index(corpus_dir: Path | None, index_dir: str | None, as_is: bool, **options) -> Index:
    """The index eval measures: ``index_dir`` as it is (``--as-is``), or one it builds of ``corpus_dir``."""
    if as_is:
        if index_dir is None or corpus_dir is not None:
            raise VraagbaakError(messages.AS_IS_NEEDS_INDEX)
        options.pop("progress")
        return Index.load(index_dir, **options)
    if corpus_dir is None:
        raise VraagbaakError(messages.EVAL_NEEDS_CORPUS)
    # eval measures this version's ranking, not one that an earlier build recorded in its index
    return Index.build(corpus_dir, _eval_index_dir(corpus_dir, options["backend"], index_dir), ranking=RankingSettings(), **options)


def _eval_index_dir(corpus_dir: Path, backend: str | None = None, store: str | None = None) -> str:
    """A separate index per evaluated corpus (and backend), so eval never touches
    the main index: a folder beside it, or in the store ``store`` names, one of
    its own there (``stores.evaluation_store``). A folder given is used as is."""
    import hashlib

    resolved = str(Path(corpus_dir).resolve())
    digest = hashlib.sha1(resolved.encode()).hexdigest()[:8]
    name = f"{Path(resolved).name}-{digest}" + (f"-{backend}" if backend else "")
    if store is not None:
        return evaluation_store(store, f"eval_{name}")
    return str(Path("index") / "eval" / name)


def main():
    cli()  # click names the program as it was called: "vraagbaak" or "python -m vraagbaak"
