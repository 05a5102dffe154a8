"""Command line: ``python -m vraagbaak build | ask | check | eval``.

A thin shell over ``vraagbaak.Index``: every user error becomes one line on
stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from dataclasses import replace
from pathlib import Path

import click

from .accounts import ROLES, Accounts
from .api import Index
from .embeddings import BACKENDS
from .errors import VraagbaakError
from .ocr import OcrSettings
from .readers import SUFFIXES
from .search import MODES, RankingSettings, hit_to_json, match_words, split_weak
from .sources import link

__all__ = ["cli"]


def _user_errors(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except VraagbaakError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted; the index keeps what was committed (a build continues from its last checkpoint when run again)", err=True)
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


@cli.command()
@click.option("--corpus", "corpus_dir", default="corpus", show_default=True, type=click.Path(path_type=Path),
              help=f"Folder of the texts, subfolders included: {' '.join(SUFFIXES)}.")
@store_option("index")
@click.option("--model", default=None, help="sentence-transformers model name or folder (default: the bundled multilingual-e5-small, or the index's own model).")
@model_dir_option
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Processes that split documents (default: every core).")
@backend_option
@click.option("--rebuild", is_flag=True, help="Embed every document anew (an index whose model changed under it).")
@click.option("--no-ocr", "no_ocr", is_flag=True, help="Skip scanned PDF pages and images instead of reading them with OCR (seconds per page).")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@_user_errors
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
@click.argument("question")
@store_option("index")
@click.option("--corpus", "corpus_dir", default="corpus", show_default=True, type=click.Path(path_type=Path),
              help="The corpus folder, for the path each hit prints (corpus/nota.pdf#page=12).")
@click.option("-k", "k", default=5, show_default=True, type=click.IntRange(1, 100), help="Number of passages.")
@click.option("--mode", type=click.Choice(MODES), default="hybrid", show_default=True)
@click.option("--source", default=None, help="Only search this document (its path in the corpus folder).")
@click.option("--folder", "folders", multiple=True, help="Only documents in this subfolder of the corpus (repeat for several).")
@click.option("--type", "types", multiple=True, help="Only documents of this file type, e.g. pdf (repeat for several).")
@click.option("--weak", is_flag=True, help="Also show passages that match the question only weakly (the page hides them).")
@click.option("--model", default=None, help="Refuse the index unless this model built it.")
@model_dir_option
@backend_option
@click.option("--json", "as_json", is_flag=True, help="Print the hits as a JSON list.")
@_user_errors
def ask(question, index_dir, corpus_dir, k, mode, source, folders, types, weak, model, model_dir, backend, as_json):
    """Ask QUESTION and print the passages that answer it."""
    index = Index.load(index_dir, model=model, model_dir=model_dir, backend=backend)
    found = index.search(question, k=k, mode=mode, source=source, folders=folders, types=types)
    answers, weaker = split_weak(found, index.ranking)
    flags = {h.id: h.weak for h in answers + weaker}
    hits = [replace(h, weak=flags[h.id]) for h in found] if weak else answers  # --weak: every hit in ranked order, each marked
    if as_json:
        click.echo(json.dumps([hit_to_json(h, link(h.source, h.page, base=str(corpus_dir))) for h in hits], ensure_ascii=False, indent=1))
        return
    if not hits:
        click.echo("Geen passage beantwoordt deze vraag goed (--weak toont de zwakke overeenkomsten).", err=True)
        return
    for h in hits:
        click.secho(f"{h.rank}. {h.title}  ({match_words(h)}, score {h.score:.3f})", bold=True)
        click.echo(f"   {link(h.source, h.page, base=str(corpus_dir))}" + (f"  (ook in: {', '.join(h.also_in)})" if h.also_in else ""))
        click.echo(f"   Antwoord: {h.answer}")
        click.echo("   " + " ".join(h.text.split())[:600])
        click.echo()
    if len(hits) < len(found):
        click.echo(f"{len(found) - len(hits)} andere passage(s) passen te slecht bij de vraag (--weak toont ze).", err=True)


@cli.command()
@store_option("index")
@model_dir_option
@_user_errors
def check(index_dir, model_dir):
    """Read the whole index and say what is wrong with it, with the command that repairs each problem."""
    from .doctor import check_index

    problems = check_index(index_dir, model_dir=model_dir)
    for problem in problems:
        click.echo(f"problem: {problem}", err=True)
    if problems:
        sys.exit(1)
    click.echo(f"{index_dir}: all is well")


@cli.command("eval")
@click.argument("questions", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--corpus", "corpus_dir", required=True, type=click.Path(path_type=Path), help="Corpus the questions are about.")
@store_option(None)
@click.option("-k", "k", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--mode", "modes", type=click.Choice(MODES), multiple=True, default=("hybrid",), show_default=True,
              help="Repeat for several modes: one table of question file x mode.")
@click.option("--model", default=None)
@model_dir_option
@backend_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON: one object for one file and mode, else a list.")
@_user_errors
def eval_(questions, corpus_dir, index_dir, k, modes, model, model_dir, backend, as_json):
    """Measure retrieval on labelled QUESTIONS files (JSONL; see README) about one corpus."""
    from .evaluate import evaluate, read_questions, table

    sets = {path: read_questions(path) for path in questions}
    index_dir = _eval_index_dir(corpus_dir, backend, index_dir)
    # eval measures this version's ranking, not one that an earlier build recorded in its index
    index = Index.build(corpus_dir, index_dir, model=model, model_dir=model_dir, progress=not as_json, backend=backend,
                        ranking=RankingSettings())
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


users_file_option = click.option("--users", "users_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
                                 help="The users file (written readable by its owner only).")


def _password(prompt: str = "Wachtwoord") -> str:
    """At a terminal: asked twice without echo; otherwise the first line of standard input."""
    if sys.stdin.isatty():
        return click.prompt(prompt, hide_input=True, confirmation_prompt="Nog een keer")
    return sys.stdin.readline().rstrip("\r\n")


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="lezer: search and open sources; redacteur: also add texts and update.")
@click.option("--collections", default=None, help="Subfolders of the corpus this user may see, separated by commas (default: all).")
@users_file_option
@_user_errors
def users_add(name, role, collections, users_file):
    """Add user NAME; the password is read from standard input (or asked for at a terminal)."""
    folders = None if collections is None else [c for c in collections.split(",") if c.strip()]
    Accounts(users_file).add(name, _password(), role, folders)
    click.echo(f"{name} added to {users_file} as {role}" + (f", collections: {', '.join(folders)}" if folders is not None else ""))


@users.command("remove")
@click.argument("name")
@users_file_option
@_user_errors
def users_remove(name, users_file):
    """Remove user NAME (their open sessions end at their next request)."""
    Accounts(users_file).remove(name)
    click.echo(f"{name} removed from {users_file}")


@users.command("passwd")
@click.argument("name")
@users_file_option
@_user_errors
def users_passwd(name, users_file):
    """Set a new password for NAME (read like ``add``'s)."""
    Accounts(users_file).set_password(name, _password("Nieuw wachtwoord"))
    click.echo(f"password of {name} changed")


@users.command("list")
@users_file_option
@_user_errors
def users_list(users_file):
    """Every user with their role and collections (never a password or hash)."""
    accounts = Accounts(users_file)
    for name in accounts.names():
        account = accounts.get(name)
        folders = "all collections" if account.collections is None else ", ".join(account.collections) or "no collections"
        click.echo(f"{name}\t{account.role}\t{folders}")


def _eval_index_dir(corpus_dir: Path, backend: str | None = None, store: str | None = None) -> str:
    """A separate index per evaluated corpus (and backend), so eval never touches
    the main index: a folder beside it, or with ``--store milvus:URI`` (no #NAME)
    a collection of its own in that Milvus. A folder or #NAME given is used as is."""
    import hashlib
    import re

    if store is not None and not (store.startswith("milvus:") and "#" not in store):
        return store
    resolved = str(Path(corpus_dir).resolve())
    digest = hashlib.sha1(resolved.encode()).hexdigest()[:8]
    suffix = f"-{backend}" if backend else ""
    if store is not None:
        name = re.sub(r"[^A-Za-z0-9_]", "_", f"eval_{Path(resolved).name}_{digest}{suffix}")
        return f"{store}#{name}"
    return str(Path("index") / "eval" / f"{Path(resolved).name}-{digest}{suffix}")


def main():
    cli()  # click names the program as it was called: "vraagbaak" or "python -m vraagbaak"
