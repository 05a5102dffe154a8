"""A damaged index is repaired by the command its error names (issue 27), and
``vraagbaak check`` finds each damage. The commands are run exactly as printed."""

import json
import shlex
import shutil
import sqlite3

import pytest
from click.testing import CliRunner

from vraagbaak.cli import cli
from vraagbaak.stores.local import CURRENT, DB

integration = pytest.mark.integration  # the repair falls back to the bundled model


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def built(fake, corpus, tmp_path):
    index_dir = tmp_path / "idx"
    result = run("build", "--corpus", corpus, "--index", index_dir, "--model", "fake", "--json")
    assert result.exit_code == 0, result.output
    return index_dir


def generation(index_dir):
    return index_dir / json.loads((index_dir / CURRENT).read_text())["generation"]


def garbage_current(index_dir):
    (index_dir / CURRENT).write_text("{kapot")


def missing_current(index_dir):
    (index_dir / CURRENT).unlink()


def current_names_a_missing_generation(index_dir):
    (index_dir / CURRENT).write_text(json.dumps({"format_version": 3, "generation": "g000007"}))


def garbage_over_the_database(index_dir):
    with open(generation(index_dir) / DB, "r+b") as f:
        f.write(b"\x00kapot" * 200)


def truncated_vectors(index_dir):
    path = generation(index_dir) / "passages.f16"
    path.write_bytes(path.read_bytes()[:1000])


def deleted_database(index_dir):
    (generation(index_dir) / DB).unlink()


def unloadable_model(index_dir):
    with sqlite3.connect(generation(index_dir) / DB) as con:
        config = json.loads(con.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()[0])
        config["model"] = "/nergens/een-verdwenen-model"
        con.execute("UPDATE meta SET value = ? WHERE key = 'config'", (json.dumps(config),))


def printed_command(stderr: str) -> list[str]:
    """The command an error line names, as the words after 'python -m vraagbaak'."""
    line = stderr.strip().splitlines()[-1]
    assert "python -m vraagbaak build" in line, line
    return shlex.split(line[line.index("python -m vraagbaak build"):])[3:]


def top_hits(index_dir):
    answered = run("ask", "wat is preventie?", "--index", index_dir, "--json")
    assert answered.exit_code == 0, answered.output
    return [(h["source"], h["start"]) for h in json.loads(answered.stdout)]


def repaired_by_the_printed_command(index_dir, damage):
    before = top_hits(index_dir)
    damage(index_dir)
    asked = run("ask", "wat is preventie?", "--index", index_dir)
    if asked.exit_code == 0:
        return asked, None  # answered correctly despite the damage (nothing to repair)
    assert asked.exit_code == 2 and len(asked.stderr.strip().splitlines()) == 1, asked.output
    assert "Traceback" not in asked.output
    repair = run(*printed_command(asked.stderr), "--json")
    assert repair.exit_code == 0, repair.output
    report = json.loads(repair.stdout)
    if report["model"] == "fake":  # the same model: the same answers as before the damage
        assert top_hits(index_dir) == before
    else:  # rebuilt with the bundled model
        assert top_hits(index_dir)[0][0] == "in-gesprek-over-sociaal-werk.txt"
    return asked, report


# Damages the fake model survives: the generation itself is sound, so the repair adopts it.
@pytest.mark.parametrize("damage", [garbage_current, missing_current, current_names_a_missing_generation])
def test_a_sound_generation_is_adopted_not_embedded_again(built, damage):
    asked, report = repaired_by_the_printed_command(built, damage)
    assert report["passages_embedded"] == 0 and report["documents_unchanged"] == 5
    assert run("check", "--index", built).exit_code == 0


@integration
@pytest.mark.parametrize("damage", [garbage_over_the_database, truncated_vectors, deleted_database, unloadable_model])
def test_a_damaged_generation_is_rebuilt_by_the_printed_command(built, damage):
    asked, report = repaired_by_the_printed_command(built, damage)
    assert report is not None and report["documents_added"] + report["documents_unchanged"] == 5
    assert run("check", "--index", built).exit_code == 0


def test_the_message_names_the_corpus_the_index_was_built_from(built, corpus):
    garbage_current(built)
    asked = run("ask", "wat is preventie?", "--index", built)
    assert printed_command(asked.stderr)[:5] == ["build", "--corpus", str(corpus.resolve()), "--index", str(built)]


@pytest.mark.parametrize("damage", [garbage_current, missing_current, current_names_a_missing_generation,
                                    garbage_over_the_database, truncated_vectors, deleted_database, unloadable_model])
def test_check_finds_each_damage_and_names_the_repair(built, damage):
    assert run("check", "--index", built).exit_code == 0  # a healthy index passes
    damage(built)
    result = run("check", "--index", built)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert lines and all(line.startswith("probleem: ") and "python -m vraagbaak build" in line for line in lines), lines


def test_check_names_what_a_killed_build_left(built):
    shutil.copytree(generation(built), built / "g000009")  # a generation no pointer names
    result = run("check", "--index", built)
    assert result.exit_code == 1 and "g000009 is overgebleven van een onderbroken build" in result.stderr


def test_build_without_model_rebuilds_an_index_whose_model_is_gone_and_says_so(built, corpus, monkeypatch):
    from fake_embedder import FakeEmbedder
    from vraagbaak import embeddings

    unloadable_model(built)
    monkeypatch.setattr(embeddings, "DEFAULT_MODEL", "fake")  # the "bundled" model, without loading the real one
    from vraagbaak import build as build_module

    monkeypatch.setattr(build_module, "DEFAULT_MODEL", "fake")
    embeddings.register_embedder("fake", FakeEmbedder)
    result = run("build", "--corpus", corpus, "--index", built, "--json")
    assert result.exit_code == 0, result.output
    assert "dat hier niet te vinden is; hij wordt opnieuw gemaakt met het meegeleverde model" in result.stderr
    assert run("check", "--index", built).exit_code == 0
