"""Stores: the contract (``base``), the local index folder (``local``), Milvus (``milvus``).

Import the contract from here; ``locate`` turns ``--store``/``--index`` into a
``Location``. Only ``factory`` names the implementations.
"""

from .base import (
    FORMAT_VERSION,
    DocumentRecord,
    Documents,
    Health,
    Location,
    Passage,
    StoreConfig,
    StoreReader,
    StoreWriter,
    text_key,
)
from .factory import locate

__all__ = [
    "FORMAT_VERSION",
    "DocumentRecord",
    "Documents",
    "Health",
    "Location",
    "Passage",
    "StoreConfig",
    "StoreReader",
    "StoreWriter",
    "locate",
    "text_key",
]
