"""The real bundled model on the default corpus, in a Milvus Lite collection, through the CLI (integration)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
ENV = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))


def run_cli(*args, cwd):
    # A Milvus Lite folder is open in one process at a time: every step is its own process, as a user runs them.
    return subprocess.run([sys.executable, "-m", "vraagbaak", *map(str, args)], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=900)


def test_build_ask_and_update_on_milvus(tmp_path):
    shutil.copytree(ROOT / "corpus", tmp_path / "corpus")
    store = f"milvus:{tmp_path / 'x' / 'vraagbaak.db'}"
    built = run_cli("build", "--corpus", "corpus", "--store", store, "--json", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    counts = json.loads(built.stdout)
    assert counts["documents_added"] == 5 and counts["passages_embedded"] == counts["passages_total"] > 0

    result = run_cli("ask", "wat is preventie?", "--store", store, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert hits[0]["source"] == "in-gesprek-over-sociaal-werk.txt"
    assert "preventie" in hits[0]["answer"].lower()

    again = json.loads(run_cli("build", "--corpus", "corpus", "--store", store, "--json", cwd=tmp_path).stdout)
    assert again["passages_embedded"] == 0 and again["documents_unchanged"] == 5 and not again["model_loaded"]
    (tmp_path / "corpus" / "mantelzorg.txt").write_text(
        "Mantelzorg in de wijk\n\nMantelzorgers zorgen langdurig voor een naaste. "
        "Het sociaal wijkteam biedt hun respijtzorg, zodat zij even op adem kunnen komen.",
        encoding="utf-8",
    )
    added = json.loads(run_cli("build", "--corpus", "corpus", "--store", store, "--json", cwd=tmp_path).stdout)
    assert added["documents_added"] == 1 and added["documents_unchanged"] == 5
    assert added["passages_embedded"] == 1 and added["passages_reused"] == counts["passages_total"]
    hits = json.loads(run_cli("ask", "Wat is respijtzorg voor mantelzorgers?", "--store", store, "--json", "-k", "1", cwd=tmp_path).stdout)
    assert hits[0]["source"] == "mantelzorg.txt"
