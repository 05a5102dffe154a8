"""Where an index lives: ``--store FOLDER`` (the local store) or ``--store milvus:URI[#NAME]``.

The one place outside a store's own module that names the implementations;
everything else talks to the contract in ``stores/base.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

from .base import Location
from .local import FolderLocation
from .milvus import MilvusLocation

__all__ = ["build_command", "evaluation_store", "locate"]

MILVUS = "milvus:"  # the one place outside stores/milvus.py that reads a store address


def locate(spec: "str | Path | Location") -> Location:
    """``milvus:...`` -> a Milvus index; anything else is an index folder; a Location is returned as it is."""
    if isinstance(spec, (str, Path)):
        if isinstance(spec, str) and spec.startswith(MILVUS):
            return MilvusLocation(spec)
        return FolderLocation(Path(spec))
    return spec


def build_command(index: "str | Path | Location", *options: str) -> str:
    """The ``python -m vraagbaak build ...`` line that builds or repairs ``index`` (for messages)."""
    return locate(index).build_command(*options)


def evaluation_store(spec: str, name: str) -> str:
    """Where ``eval --store spec`` keeps an index of its own: a Milvus address without ``#NAME``
    gets the collection ``name`` there; anything else (a folder, a named collection) is used as it is."""
    if spec.startswith(MILVUS) and "#" not in spec:
        return f"{spec}#{re.sub(r'[^A-Za-z0-9_]', '_', name)}"
    return spec
