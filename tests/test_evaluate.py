import json

import pytest
from click.testing import CliRunner
from helpers import build

from vraagbaak import Index

from vraagbaak.cli import cli
from vraagbaak.errors import VraagbaakError
from vraagbaak.evaluate import METRIC_KEYS, Question, metrics, read_questions
from vraagbaak.search import RankingSettings


def hit(source, text, answer=""):
    return {"source": source, "text": text, "answer": answer}


def test_metrics_match_hand_computed_values():
    questions = [
        # passage hit at rank 2 (rank 1 is the right document, wrong passage)
        Question("q1", ("a.txt",), "de Sleutel"),
        # no passage hit and no document hit at all
        Question("q2", ("b.txt",), "nergens"),
        # no answer phrase: any passage of c.txt counts; first at rank 3; two
        # hits tie on score, but rank is the position in the list
        Question("q3", ("c.txt", "d.txt"), None),
        # passage hit at rank 1, its answer sentence misses the phrase
        Question("q4", ("a.txt",), "Eerste   zin"),
    ]
    rankings = [
        [hit("a.txt", "iets anders"), hit("a.txt", "Hier is DE   sleutel.", "Hier is de sleutel."), hit("x.txt", "")],
        [hit("x.txt", "nergens"), hit("y.txt", "nergens")],
        [hit("x.txt", "t", "t"), hit("y.txt", "t"), hit("d.txt", "t"), hit("c.txt", "t")],
        [hit("a.txt", "De eerste zin. Tweede.", "Tweede.")] + [hit("z.txt", "")] * 11,
    ]
    m = metrics(questions, rankings)
    assert m["hit@1"] == pytest.approx(1 / 4, abs=1e-4)  # q4
    assert m["hit@5"] == pytest.approx(3 / 4, abs=1e-4)  # q1, q3, q4
    assert m["hit@10"] == pytest.approx(3 / 4, abs=1e-4)
    assert m["mrr@10"] == pytest.approx((1 / 2 + 0 + 1 / 3 + 1) / 4, abs=1e-4)
    assert m["doc_hit@1"] == pytest.approx(2 / 4, abs=1e-4)  # q1 (a.txt first), q4
    assert m["doc_mrr@10"] == pytest.approx((1 + 0 + 1 / 3 + 1) / 4, abs=1e-4)
    # with answer: q1 (rank-1 passage is no passage hit), q2 (no), q4 (answer misses): 0/3
    assert m["answer_hit@1"] == 0.0
    assert m["questions"] == 4
    rankings[3][0]["answer"] = "De eerste zin."
    assert metrics(questions, rankings)["answer_hit@1"] == pytest.approx(1 / 3, abs=1e-4)


def test_hits_past_ten_do_not_count():
    q = [Question("q", ("a.txt",))]
    ranking = [[hit("x.txt", "")] * 10 + [hit("a.txt", "")]]
    m = metrics(q, ranking)
    assert m["hit@10"] == 0 and m["mrr@10"] == 0 and m["answer_hit@1"] is None


def test_bad_question_lines_are_reported_by_number(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(
        '{"query": "goed", "sources": ["a.txt"]}\n'
        "geen json\n"
        "\n"
        '{"query": "", "sources": ["a.txt"]}\n'
        '{"query": "x", "sources": "a.txt"}\n'
        '{"query": "x", "sources": ["a.txt"], "answer": 5}\n',
        encoding="utf-8",
    )
    with pytest.raises(VraagbaakError) as info:
        read_questions(path)
    message = str(info.value)
    for n in (2, 4, 5, 6):
        assert f"regel {n}:" in message
    assert "regel 1:" not in message and "regel 3:" not in message


def test_eval_command_prints_exactly_the_metric_object(fake, corpus, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"query": "wat is preventie?", "sources": ["in-gesprek-over-sociaal-werk.txt"], "answer": "preventie"})
        + "\n"
        + json.dumps({"query": "positieve gezondheid", "sources": ["vertrouw-op-je-kracht.txt"]})
        + "\n",
        encoding="utf-8",
    )
    args = ["eval", str(questions), "--corpus", str(corpus), "--index", str(tmp_path / "idx"), "--model", "fake", "--json"]
    for mode in ("dense", "lexical", "hybrid"):
        result = CliRunner().invoke(cli, args + ["--mode", mode], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert set(data) == set(METRIC_KEYS) | {"questions", "mode", "backend", "seconds", "set", "k"}
        assert data["mode"] == mode and data["questions"] == 2
        assert 0 <= data["mrr@10"] <= data["hit@10"] <= 1


def test_eval_reports_bad_lines_as_a_user_error(tmp_path, corpus):
    path = tmp_path / "q.jsonl"
    path.write_text("{kapot\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["eval", str(path), "--corpus", str(corpus)])
    assert result.exit_code == 2 and "regel 1:" in result.stderr


def test_eval_takes_several_question_files_and_modes_and_prints_one_table(fake, corpus, tmp_path):
    first, second = tmp_path / "een.jsonl", tmp_path / "twee.jsonl"
    first.write_text(json.dumps({"query": "wat is preventie?", "sources": ["in-gesprek-over-sociaal-werk.txt"]}) + "\n", encoding="utf-8")
    second.write_text(json.dumps({"query": "positieve gezondheid", "sources": ["vertrouw-op-je-kracht.txt"]}) + "\n", encoding="utf-8")
    base = ["eval", str(first), str(second), "--corpus", str(corpus), "--index", str(tmp_path / "idx"), "--model", "fake"]
    result = CliRunner().invoke(cli, base + ["--mode", "hybrid", "--mode", "lexical"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if line.startswith("| een") or line.startswith("| twee")]
    assert [row.split(" | ")[:2] for row in rows] == [["| een.jsonl", "hybrid"], ["| een.jsonl", "lexical"],
                                                       ["| twee.jsonl", "hybrid"], ["| twee.jsonl", "lexical"]]
    as_json = json.loads(CliRunner().invoke(cli, base + ["--mode", "dense", "--json"], catch_exceptions=False).stdout)
    assert [(r["set"], r["mode"]) for r in as_json] == [("een.jsonl", "dense"), ("twee.jsonl", "dense")]


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_eval_as_is_measures_the_index_with_its_own_ranking(fake, corpus, tmp_path):
    # recorded at build: a hybrid pool of one passage, so only one hit comes back
    narrow = build(corpus, tmp_path / "idx", ranking=RankingSettings(dense_candidates=1, lexical_candidates=0))
    top = narrow.search("wat is preventie?", k=10)
    assert len(top) == 1
    others = sorted(s for s in narrow.documents if s != top[0].source)
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"query": "wat is preventie?", "sources": others}) + "\n", encoding="utf-8")
    as_is = json.loads(_run("eval", questions, "--index", narrow.path, "--as-is", "--json").stdout)
    assert as_is["hit@10"] == 0.0  # its own ranking: the other documents never come up
    default = Index.load(narrow.path, ranking=RankingSettings()).search("wat is preventie?", k=10)
    assert {h.source for h in default} & set(others)  # the default ranking would have found them
    for args, fragment in ((["--as-is"], "--index"), (["--as-is", "--index", narrow.path, "--corpus", corpus], "zonder --corpus"),
                           (["--index", narrow.path], "--as-is")):
        result = _run("eval", questions, *args)
        assert result.exit_code == 2 and fragment in result.stderr
