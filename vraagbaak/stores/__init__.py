"""Stores: the contract (``base``), the local index folder (``local``), Milvus (``milvus``).

Import the contract from here; ``locate`` turns ``--store``/``--index`` into a
``Location``. Only ``factory`` names the implementations.
"""

from . import base
from .base import *  # noqa: F403 - the contract is this package's interface: base.__all__ names it once
from .factory import build_command, evaluation_store, locate

__all__ = [*base.__all__, "build_command", "evaluation_store", "locate"]
