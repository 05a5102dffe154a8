"""``import gradio`` without the stub writer that runs inside it.

Gradio's component metaclass (``gradio.component_meta.ComponentMeta``) calls
``create_or_modify_pyi`` for every component class it defines, about 80 at
``import gradio``: each reads the class's source file, parses it with ``ast``
(twice), renders a Jinja template and compares or rewrites the ``.pyi`` stub
beside it, which keeps the type stubs of gradio's own source tree in step
while gradio is being developed. An installed gradio ships its stubs, and
nothing at run time reads them. On this project's 2-core host that work was
1.2-1.6 s of the 3.2-3.4 s ``import gradio`` took (cProfile and alternating
starts, BENCHMARKS.md), all of it holding the GIL while ``app.py`` loads the
model beside it: the largest part of the start to the first answer.

``install()`` puts a one-use finder in front of the import system that lets
``gradio.component_meta`` load as it is and then replaces that one function
with one that does nothing, before the first component class is made (the
metaclass looks the name up in its module at each class; ``blocks_events``
imports it after the module has loaded). A gradio without the function, or
one imported before ``install()``, is left as it is.
"""

from __future__ import annotations

import importlib.abc
import sys

__all__ = ["install", "skips_stubs"]

_MODULE = "gradio.component_meta"
_WRITER = "create_or_modify_pyi"


def _no_stubs(*args, **kwargs) -> None:
    """Gradio's stub writer, left out: an installed gradio's ``.pyi`` files are as its wheel shipped them."""


class _SkipStubs(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != _MODULE:
            return None
        _remove()  # one use: every later import goes straight to the usual finders
        for finder in sys.meta_path:
            spec = finder.find_spec(name, path, target) if hasattr(finder, "find_spec") else None
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        run = getattr(loader, "exec_module", None)
        if run is None:
            return spec

        def exec_module(module):
            run(module)
            if callable(getattr(module, _WRITER, None)):
                setattr(module, _WRITER, _no_stubs)

        loader.exec_module = exec_module  # this spec's own loader object: no other module shares it
        return spec


def install() -> None:
    """Skip gradio's stub writer when gradio is imported later in this process (see the module's docstring)."""
    if _MODULE in sys.modules or any(isinstance(f, _SkipStubs) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _SkipStubs())


def _remove() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _SkipStubs)]


def skips_stubs() -> bool:
    """Whether this process's gradio was imported without its stub writer."""
    module = sys.modules.get(_MODULE)
    return module is not None and getattr(module, _WRITER, None) is _no_stubs
