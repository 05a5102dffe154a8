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
    result = run("ask", "wat is preventie?", "--index", built, "-k", "3", "--json")
    hits = json.loads(result.stdout)
    assert [h["rank"] for h in hits] == [1, 2, 3]
    for h in hits:
        assert {"rank", "score", "source", "title", "text", "start", "end", "answer"} <= set(h)
        assert (corpus / h["source"]).read_text(encoding="utf-8")[h["start"] : h["end"]] == h["text"]
    assert hits[0]["score"] >= hits[1]["score"] >= hits[2]["score"]


def test_ask_prints_readable_text(built, run):
    result = run("ask", "wat is preventie?", "--index", built, "-k", "2")
    assert result.exit_code == 0 and "1. " in result.stdout and "Antwoord:" in result.stdout


def assert_user_error(result, fragment):
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "question, fragment",
    [("", "empty"), ("   \t ", "empty"), ("waarom " * 1500, "characters long")],
    ids=["empty", "whitespace", "10000-chars"],
)
def test_bad_questions(built, run, question, fragment):
    assert len(question) < 20 or len(question) >= 9000
    assert_user_error(run("ask", question, "--index", built), fragment)


def test_missing_and_empty_corpus_keep_the_index(built, tmp_path, run):
    assert_user_error(run("build", "--corpus", tmp_path / "nergens", "--index", built), "not found")
    (tmp_path / "leeg").mkdir()
    assert_user_error(run("build", "--corpus", tmp_path / "leeg", "--index", built), "no readable")
    assert json.loads(run("ask", "preventie", "--index", built, "--json").stdout)


def test_unreadable_file_is_named_and_skipped(fake, corpus, tmp_path, run):
    (corpus / "plaatje.txt").write_bytes(b"\x89PNG\x00\x00\x01")
    result = run("build", "--corpus", corpus, "--index", tmp_path / "idx", "--model", "fake", "--json")
    assert result.exit_code == 0
    assert "skipped plaatje.txt" in result.stderr
    assert json.loads(result.stdout)["documents_added"] == 5


def test_damaged_index(built, run):
    (built / "CURRENT").write_text("{kapot")
    assert_user_error(run("ask", "wat is preventie?", "--index", built), "damaged")


def test_missing_index(tmp_path, run):
    assert_user_error(run("ask", "wat is preventie?", "--index", tmp_path / "geen"), "no index")


def test_index_of_another_model(built, run):
    assert_user_error(run("ask", "preventie", "--index", built, "--model", "een-ander-model"), "built with model 'fake'")


def test_model_that_no_longer_matches_the_index(built, run):
    from fake_embedder import FakeEmbedder
    from vraagbaak import register_embedder

    class Wider(FakeEmbedder):
        dimension = 512  # same name, other vectors: e.g. a model folder replaced

    register_embedder("fake", Wider)
    assert_user_error(run("ask", "wat is preventie?", "--index", built), "rebuild it")


def test_unknown_document_filter(built, run):
    assert_user_error(run("ask", "preventie", "--index", built, "--source", "bestaat-niet.txt"), "no document")
