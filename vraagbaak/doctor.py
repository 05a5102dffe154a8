"""``vraagbaak check``: read a whole index and say what is wrong, with the command that repairs it.

Every problem is one line ending in a command that, run as printed, repairs
it: ``build`` adopts a sound generation when CURRENT names none, deletes what
a killed build left, rebuilds a damaged generation and, when the index's
model cannot be found here, rebuilds with the bundled model (build.py).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .embeddings import DEFAULT_MODEL, model_available
from .errors import VraagbaakError, build_command
from .locations import locate
from .store import CURRENT, DB, FolderLocation, LocalStore, generation_problem, list_generations, read_pointer, unfinished_generation_name

__all__ = ["check_index"]


def check_index(spec, *, model_dir=None) -> list[str]:
    """One line per problem of the index at ``spec`` (a folder or ``milvus:``); [] when all is well."""
    location = locate(spec)
    if not isinstance(location, FolderLocation):
        try:
            store = location.open()
        except VraagbaakError as exc:
            return [str(exc)]
        return _model_problems(store.config.model, spec, model_dir)
    return _folder_problems(location.root, model_dir)


def _folder_problems(root: Path, model_dir) -> list[str]:
    fix = f"repair it with: {build_command(root)}"
    if not root.is_dir():
        return [f"no index in {root}: build it with: {build_command(root)}"]
    problems = []
    current, why = read_pointer(root, CURRENT)
    if current is None:
        problems.append(f"{root}/{CURRENT} {why}; {fix}")
    elif not (root / current).is_dir():
        problems.append(f"{root}/{CURRENT} names {current}, which is missing; {fix}")
    unfinished = unfinished_generation_name(root)
    for generation in list_generations(root):
        problem = generation_problem(root, generation)
        if problem:
            problems.append(f"{root}: {problem}; {fix}")
        elif generation != current and generation != unfinished:
            problems.append(f"{root}: {generation} is left over from an interrupted build; {fix}")
        elif generation == current:
            problems += _current_generation_problems(root, generation, fix, model_dir)
    if current is not None and not list_generations(root):
        problems.append(f"{root} holds no generation of the index; {fix}")
    return problems


def _current_generation_problems(root: Path, generation: str, fix: str, model_dir) -> list[str]:
    """Passage rows in SQLite against the counters the vector files were checked with, and the model it names."""
    store = LocalStore.open(root)
    try:
        expected, model = store.counts["rows"] - store.counts["dead_rows"], store.config.model
        with sqlite3.connect(f"file:{root / generation / DB}?mode=ro", uri=True) as con:
            rows = con.execute("SELECT count(*) FROM passages").fetchone()[0]
    finally:
        store.close()
    problems = [f"{root}: {generation} has {rows} passages in {DB} but its counters say {expected}; {fix}"] if rows != expected else []
    return problems + _model_problems(model, root, model_dir)


def _model_problems(model: str, index, model_dir) -> list[str]:
    if model_available(model, model_dir):
        return []
    return [f"the index in {index} was built with model {model!r}, which cannot be found here; "
            f"rebuild it with the bundled model: {build_command(index, '--model', DEFAULT_MODEL)}"]
