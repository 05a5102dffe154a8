"""Where an index lives: ``--store FOLDER`` (the local store) or ``--store milvus:URI[#NAME]``.

The one place outside a store's own module that names the implementations;
everything else talks to the contract in ``stores/base.py``.
"""

from __future__ import annotations

from pathlib import Path

from .base import Location
from .local import FolderLocation
from .milvus import MilvusLocation

__all__ = ["locate"]


def locate(spec: "str | Path | Location") -> Location:
    """``milvus:...`` -> a Milvus index; anything else is an index folder; a Location is returned as it is."""
    if isinstance(spec, (str, Path)):
        if isinstance(spec, str) and spec.startswith("milvus:"):
            return MilvusLocation(spec)
        return FolderLocation(Path(spec))
    return spec
