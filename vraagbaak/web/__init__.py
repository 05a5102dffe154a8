"""The web page, in three layers that each stand alone:

- ``render``: hits, messages and the status line as HTML (no Gradio);
- ``page``: the Gradio page, its layout and callbacks, over ``LiveIndex.view``;
- ``server``: FastAPI around the page: sessions, the login, the access guard (``make_app``);

and ``uploads``, the upload folder the page and the server share.
Import from the module you need (``from vraagbaak.web.server import make_app``).

Importing this package first makes a later ``import gradio`` skip gradio's
stub writer (``gradio_import``: 1.2-1.6 s of the app's start).
"""

from .gradio_import import install as _install_gradio_import

_install_gradio_import()
