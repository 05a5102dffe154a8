"""``python tests/fake_app.py ARGS``: ``app.py ARGS`` with the fake model registered as "fake" (give ``--model fake``),
so that the server's tests start in seconds and need no weights.

With ``FAKE_APP_HOLD=PATH`` in the environment, embedding passages waits while the file PATH
exists: a test holds an update open (a question's embedding never waits)."""

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import app  # noqa: E402
from fake_embedder import FakeEmbedder  # noqa: E402
from vraagbaak import register_embedder  # noqa: E402


class HeldEmbedder(FakeEmbedder):
    def embed_passages(self, texts):
        hold = os.environ.get("FAKE_APP_HOLD")
        while hold and os.path.exists(hold):
            time.sleep(0.05)
        return super().embed_passages(texts)


if __name__ == "__main__":
    register_embedder("fake", HeldEmbedder)
    app.main(prog_name="fake_app.py")
