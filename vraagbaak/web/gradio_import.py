"""``import gradio`` without two things in it that the page never needs at its start.

Measured on this project's 2-core host (cProfile, ``-X importtime``, alternating
starts; BENCHMARKS.md), ``import gradio`` took 3.2-3.4 s, all of it holding the
GIL while ``app.py`` loads the model beside it: the largest part of the start
to the first answer. Two parts of it do nothing for a running page:

- *Stub writing*: gradio's component metaclass
  (``gradio.component_meta.ComponentMeta``) calls ``create_or_modify_pyi``
  for every component class it defines, about 80 at ``import gradio``: each
  reads the class's source file, parses it with ``ast`` (twice), renders a
  Jinja template and compares or rewrites the ``.pyi`` stub beside it. That
  keeps the stubs of gradio's own source tree in step while gradio is being
  developed; an installed gradio ships its stubs, and nothing at run time
  reads them. 1.2-1.6 s. Replaced by a function that does nothing, once
  ``gradio.component_meta`` has loaded and before the first class is made (the
  metaclass looks the name up in its module at each class; ``blocks_events``
  imports it after the module has loaded).
- *pandas*: ``gradio.caching`` imports it at its top for ``isinstance`` checks in
  functions of ``gr.Cache`` (which the page does not use), 0.4-0.6 s. While that
  module loads, ``pandas`` stands for a placeholder that imports the real pandas,
  under a lock and through the usual import system, the first time anything is
  asked of it, and then puts it in the placeholder's place. Every other
  ``import pandas`` (gradio's queue imports it after each event, in a worker
  thread) gets the real one.

``install()`` puts a finder in front of the import system that does both while
``import gradio`` runs and goes with its end. A gradio without these modules or
that function, or one imported before ``install()``, is left as it is.
"""

from __future__ import annotations

import importlib
import importlib.abc
import sys
import threading
import types

__all__ = ["install", "skips_stubs"]

_WRITER = "create_or_modify_pyi"
_lock = threading.Lock()  # the placeholder's first use imports pandas once


def _no_stubs(*args, **kwargs) -> None:
    """Gradio's stub writer, left out: an installed gradio's ``.pyi`` files are as its wheel shipped them."""


def _gradio(run, module) -> None:
    try:
        run(module)
    finally:
        _remove()  # gradio's import has ended: every later import goes straight to the usual finders


def _component_meta(run, module) -> None:
    run(module)
    if callable(getattr(module, _WRITER, None)):
        setattr(module, _WRITER, _no_stubs)


def _caching(run, module) -> None:
    placeholder = None
    if "pandas" not in sys.modules:
        placeholder = sys.modules["pandas"] = _LatePandas()
    try:
        run(module)
    finally:
        if placeholder is not None and sys.modules.get("pandas") is placeholder:
            del sys.modules["pandas"]
    if placeholder is not None:
        placeholder.holder = module


class _LatePandas(types.ModuleType):
    """pandas in ``gradio.caching`` until something is asked of it (see the module's docstring)."""

    def __init__(self):
        super().__init__("pandas")
        self.holder = None  # the module whose globals hold this placeholder

    def __getattr__(self, name):  # only for what the placeholder itself lacks: everything of pandas
        with _lock:
            if sys.modules.get("pandas") is self:
                del sys.modules["pandas"]  # asked while gradio.caching still loads: the real one now
            real = importlib.import_module("pandas")
            holder = self.__dict__.get("holder")
            for key, value in list(vars(holder).items()) if holder is not None else ():
                if value is self:
                    setattr(holder, key, real)
        return getattr(real, name)


_WRAPS = {"gradio": _gradio, "gradio.component_meta": _component_meta, "gradio.caching": _caching}


class _QuickGradio(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        wrap = _WRAPS.get(name)
        if wrap is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        run = getattr(spec.loader, "exec_module", None)
        if run is not None:  # this spec's own loader object: no other module shares it
            spec.loader.exec_module = lambda module: wrap(run, module)
        return spec


def install() -> None:
    """Import gradio, when it is imported later in this process, as the module's docstring says."""
    if "gradio" in sys.modules or any(isinstance(f, _QuickGradio) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _QuickGradio())


def _remove() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _QuickGradio)]


def skips_stubs() -> bool:
    """Whether this process's gradio was imported without its stub writer."""
    module = sys.modules.get("gradio.component_meta")
    return module is not None and getattr(module, _WRITER, None) is _no_stubs
