"""``vraagbaak check``: read a whole index and say what is wrong, with the command that repairs it.

Every problem is one line ending in a command that, run as printed, repairs
it. The store finds its own problems (``Location.health``); what is added
here is the model: when the index's model cannot be found here, ``build``
rebuilds with the bundled model (build.py).
"""

from __future__ import annotations

from . import messages
from .embeddings import DEFAULT_MODEL, model_available
from .stores import locate

__all__ = ["check_index"]


def check_index(spec, *, model_dir=None) -> list[str]:
    """One line per problem of the index at ``spec`` (a folder or ``milvus:``); [] when all is well."""
    location = locate(spec)
    problems, model = location.health()
    if model is None or model_available(model, model_dir):
        return problems
    return problems + [messages.index_model_missing(location, model, location.build_command("--model", DEFAULT_MODEL))]
