"""``python tests/fake_app.py ARGS``: ``app.py ARGS`` with the fake model registered as "fake" (give ``--model fake``),
so that the server's tests start in seconds and need no weights."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import app  # noqa: E402
from fake_embedder import FakeEmbedder  # noqa: E402
from vraagbaak import register_embedder  # noqa: E402

if __name__ == "__main__":
    register_embedder("fake", FakeEmbedder)
    app.main(prog_name="fake_app.py")
