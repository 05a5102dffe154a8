"""Judgments of hits (issue 41): stored whole, only for hits shown, within a reader's collections,
deleted after the retention period, and turned into figures that ``vraagbaak eval`` reproduces."""

import json
import os
import shutil
import sqlite3
import stat
import threading
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from helpers import build

from vraagbaak.accounts import Account
from vraagbaak.cli import cli
from vraagbaak.errors import VraagbaakError
from vraagbaak.evaluate import read_questions
from vraagbaak.feedback import (CHANGED, FEEDBACK_FILE, REMOVED, Feedback, FeedbackRefused, FeedbackSettings, Judgment,
                                ShownHits, export_questions, feedback_folder, hit_key, parse_since, quality,
                                ranks_over_time, text_hash)

DAY = 86400.0
T0 = 1_780_000_000.0  # 2026-05-28, a Thursday
PREVENTIE = "wat is preventie?"
GEZONDHEID = "wat is positieve gezondheid?"


class Clock:
    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def index(fake, corpus, tmp_path):
    return build(corpus, tmp_path / "idx")


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def kept(index, clock):
    feedback = Feedback.open(index.path, clock=clock)
    yield feedback
    feedback.close()


def shown(feedback, index, question, viewer="anna", k=5, **search):
    hits = index.search(question, k=k, **search)
    feedback.shown(viewer, question, hits)
    return hits


def stored_rows(path):
    with sqlite3.connect(path) as con:
        return con.execute("SELECT count(*) FROM judgments").fetchone()[0]


def test_a_judgment_is_stored_with_every_field(index, kept, clock):
    hits = shown(kept, index, "  wat is   preventie? ")  # stored as searched: whitespace runs collapsed
    hit = hits[1]
    kept.judge("anna", "wat is preventie?", hit_key(hit), "positive", user="anna")
    path = index.path / FEEDBACK_FILE
    assert kept.path == path
    files = sorted(index.path.glob(FEEDBACK_FILE + "*"))
    assert len(files) == 3 and {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o600}  # personal data: its owner only, WAL too
    reread = Feedback.read(index.path, clock=clock)
    [judgment] = reread.judgments()
    assert judgment == Judgment(
        question="wat is preventie?", source=hit.source, text_sha256=text_hash(hit.text), start=hit.start, end=hit.end,
        answer=hit.answer, answer_start=hit.answer_start, answer_end=hit.answer_end, page=hit.page, rank=2,
        judgment="positive", judged_at="2026-05-28T20:26:40Z", user="anna")
    assert hit.answer and hit.answer in hit.text  # a real answer sentence was shown, and is what was kept
    # what identifies the hit survives updates: the document's text at that span, not a row number
    assert (index.path.parent / "corpus" / hit.source).read_text(encoding="utf-8")[hit.start:hit.end] == hit.text


def test_without_names_no_user_is_kept(index, clock):
    anonymous = Feedback.open(index.path, FeedbackSettings(record_names=False), clock=clock)
    hits = shown(anonymous, index, PREVENTIE)
    assert anonymous.judge("anna", PREVENTIE, hit_key(hits[0]), "negatief", user="anna").user is None
    [judgment] = anonymous.judgments()
    assert judgment.user is None and judgment.judgment == "negative"
    assert b"anna" not in (index.path / FEEDBACK_FILE).read_bytes() + _wal(index.path)


def _wal(folder):
    wal = folder / (FEEDBACK_FILE + "-wal")
    return wal.read_bytes() if wal.exists() else b""


def test_feedback_is_off_unless_asked_for(index, fake):
    index.search(PREVENTIE)
    assert not (index.path / FEEDBACK_FILE).exists()
    assert Feedback.read(index.path) is None
    show = run("feedback", "show", "--index", index.path)
    assert show.exit_code == 0 and "Geen oordelen opgeslagen" in show.stdout
    export = run("feedback", "export", "--index", index.path)
    assert export.exit_code == 2 and "--feedback" in export.stderr and export.stdout == ""
    assert run("feedback", "delete", "--index", index.path, "--yes").exit_code == 0
    assert not (index.path / FEEDBACK_FILE).exists()  # reading, exporting or deleting never starts collecting


def test_a_forged_judgment_is_refused(index, kept):
    hits = shown(kept, index, PREVENTIE, k=3)
    other = index.search(PREVENTIE, k=8)[5]  # ranked, but not shown to anyone
    elsewhere = next(h for h in index.search(GEZONDHEID) if hit_key(h) not in {hit_key(s) for s in hits})
    attempts = [
        ("anna", PREVENTIE, hit_key(other)),  # a hit of the same question that was not shown
        ("bas", PREVENTIE, hit_key(hits[0])),  # shown to someone else
        ("anna", GEZONDHEID, hit_key(hits[0])),  # shown, but for another question
        ("anna", PREVENTIE, hit_key(elsewhere)),  # a real passage of another question
        ("anna", PREVENTIE, "wat-is-sociaal-werk.txt#0-100"),  # made up
        ("anna", PREVENTIE, None),
    ]
    for viewer, question, key in attempts:
        with pytest.raises(FeedbackRefused) as refused:
            kept.judge(viewer, question, key, "positive", user=viewer)
        assert "zoek de vraag opnieuw" in str(refused.value)
    with pytest.raises(FeedbackRefused):
        kept.judge("anna", PREVENTIE, hit_key(hits[0]), "misschien")
    with pytest.raises(FeedbackRefused):  # shown, but its document is no longer one this user may see
        kept.judge("anna", PREVENTIE, hit_key(hits[0]), "positive", visible=set())
    assert kept.judgments() == [] and stored_rows(kept.path) == 0
    kept.judge("anna", PREVENTIE, hit_key(hits[0]), "positive")  # the real one is accepted
    assert len(kept.judgments()) == 1


def test_a_shown_list_can_be_judged_only_while_it_is_remembered(index, kept):
    monotonic = Clock(0.0)
    kept.shown_hits.clock = monotonic
    hits = shown(kept, index, PREVENTIE)
    monotonic.now = kept.settings.shown_seconds + 1
    with pytest.raises(FeedbackRefused):
        kept.judge("anna", PREVENTIE, hit_key(hits[0]), "positive")
    assert len(kept.shown_hits) == 0


def test_judgments_can_be_changed_and_withdrawn(index, kept):
    hits = shown(kept, index, PREVENTIE)
    key = hit_key(hits[0])
    kept.judge("anna", PREVENTIE, key, "positive", user="anna")
    kept.judge("anna", PREVENTIE, key, "negative", user="anna")  # changed her mind: replaces
    assert [(j.judgment, j.user) for j in kept.judgments()] == [("negative", "anna")]
    assert kept.choices("anna", PREVENTIE) == {key: "negative"}
    shown(kept, index, PREVENTIE, viewer="bas")
    kept.judge("bas", PREVENTIE, key, "positive", user="bas")  # another person: another judgment
    assert sorted((j.user, j.judgment) for j in kept.judgments()) == [("anna", "negative"), ("bas", "positive")]
    assert kept.choices("bas", PREVENTIE) == {key: "positive"} and kept.choices("carla", PREVENTIE) == {}
    assert kept.withdraw("anna", PREVENTIE, key) and not kept.withdraw("anna", PREVENTIE, key)
    assert [j.user for j in kept.judgments()] == ["bas"]


def test_judgments_from_many_threads_are_all_kept(index, kept):
    hits = shown(kept, index, PREVENTIE, k=8)
    for n in range(8):
        kept.shown(f"user{n}", PREVENTIE, hits)

    def judge(n):
        for hit in hits:
            kept.judge(f"user{n}", PREVENTIE, hit_key(hit), "positive" if n % 2 else "negative", user=f"user{n}")

    threads = [threading.Thread(target=judge, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert stored_rows(kept.path) == 64 and kept.counts().positive == 32


# ---------------------------------------------------------------- collections


@pytest.fixture
def teams(fake, corpus, tmp_path):
    """The default articles in two collections: team-a (two documents) and team-b (three)."""
    for n, path in enumerate(sorted(corpus.glob("*.txt"))):
        folder = corpus / ("team-a" if n < 2 else "team-b")
        folder.mkdir(exist_ok=True)
        shutil.move(path, folder / path.name)
    return build(corpus, tmp_path / "idx")


def judge_everything(feedback, index, questions, within=None):
    """anna judges every hit she is shown: the first of each list positive, the others negative."""
    for question in questions:
        hits = index.search(question, k=4, within=within)
        feedback.shown("anna", question, hits)
        for hit in hits:
            feedback.judge("anna", question, hit_key(hit), "positive" if hit.rank == 1 else "negative", user="anna")


def test_a_reader_limited_to_a_collection_never_gets_judgments_about_another(teams, clock, tmp_path):
    kept = Feedback.open(teams.path, clock=clock)
    judge_everything(kept, teams, [PREVENTIE, GEZONDHEID, "wie zijn de sociaal werkers?"])
    judge_everything(kept, teams, ["wat doet een sociaal werker?"], within=[s for s in teams.documents if s.startswith("team-a/")])
    everything = kept.judgments()
    assert {j.source.split("/")[0] for j in everything} == {"team-a", "team-b"}
    bas = Account("bas", "redacteur", ("team-a",))
    for visible in (bas.may_see, bas.visible(teams.documents)):  # a predicate, or the set of sources
        mine = kept.judgments(visible=visible)
        assert mine and all(j.source.startswith("team-a/") for j in mine)
        assert mine == [j for j in everything if j.source.startswith("team-a/")]
        assert kept.counts(visible=visible).judgments == len(mine)
        exported = export_questions(kept, teams.store, visible=visible)
        assert exported.questions and all(q["sources"][0].startswith("team-a/") for q in exported.questions)
        figures = quality(kept, teams, visible=visible)
        assert figures.counts.judgments == len(mine) and sum(w["judgments"] for w in figures.weeks) == len(mine)
        assert all(j.source.startswith("team-a/") for j in figures.wrong_first)
    # judgments about a document removed since are flagged, and still only for those who may see it
    removed = next(j.source for j in everything if j.source.startswith("team-b/"))
    (tmp_path / "corpus" / removed).unlink()
    teams = build(tmp_path / "corpus", teams.path)
    assert {f.judgment.source for f in quality(kept, teams).flagged} == {removed}
    assert quality(kept, teams, visible=bas.may_see).flagged == []


# ---------------------------------------------------------------- retention and deleting


def test_retention_deletes_old_entries(index, clock):
    kept = Feedback.open(index.path, FeedbackSettings(retention_days=30), clock=clock)
    old = shown(kept, index, "wat is een vertrouwensvraag in het oude jaar?")
    kept.judge("anna", "wat is een vertrouwensvraag in het oude jaar?", hit_key(old[0]), "positive")
    clock.now += 20 * DAY
    recent = shown(kept, index, PREVENTIE)
    kept.judge("anna", PREVENTIE, hit_key(recent[0]), "positive")
    clock.now += 11 * DAY  # the first is 31 days old now
    assert [j.question for j in kept.judgments()] == [PREVENTIE]  # never returned, even before the purge
    reader = Feedback.read(index.path, clock=clock)  # the command line keeps the server's retention
    assert reader.settings.retention_days == 30 and stored_rows(kept.path) == 1  # and its opening purged
    kept.close()
    reader.close()
    assert b"vertrouwensvraag" not in (index.path / FEEDBACK_FILE).read_bytes() + _wal(index.path)  # overwritten, not just unlinked


def test_delete_removes_every_judgment_from_the_file(index, kept):
    hits = shown(kept, index, "mag de gemeente mijn dossier inzien?")
    kept.judge("anna", "mag de gemeente mijn dossier inzien?", hit_key(hits[0]), "positive", user="anna")
    refused = run("feedback", "delete", "--index", index.path)  # not a terminal: says how to confirm
    assert refused.exit_code == 2 and "--yes" in refused.stderr and kept.judgments()
    result = run("feedback", "delete", "--index", index.path, "--yes")
    assert result.exit_code == 0 and "1 oordelen verwijderd" in result.stdout
    assert kept.judgments() == []
    kept.close()
    assert b"dossier" not in (index.path / FEEDBACK_FILE).read_bytes() + _wal(index.path)


# ---------------------------------------------------------------- export, eval and the panel


def test_export_then_eval_gives_the_figures_of_the_panel(index, kept, tmp_path):
    for question, rank in ((PREVENTIE, 1), (GEZONDHEID, 3), ("wie zijn de sociaal werkers?", 2)):
        hits = shown(kept, index, question)
        kept.judge("anna", question, hit_key(hits[rank - 1]), "positive", user="anna")
        kept.judge("anna", question, hit_key(hits[-1]), "negative", user="anna")
    shown(kept, index, PREVENTIE, viewer="bas")
    kept.judge("bas", PREVENTIE, hit_key(index.search(PREVENTIE)[0]), "positive", user="bas")  # the same hit again: one line

    export = run("feedback", "export", "--index", index.path)
    assert export.exit_code == 0 and "3 vragen geschreven uit 4 positieve oordelen" in export.stderr
    questions_file = tmp_path / "vragen.jsonl"
    questions_file.write_text(export.stdout, encoding="utf-8")
    questions = read_questions(questions_file)
    assert [q.query for q in questions] == [PREVENTIE, GEZONDHEID, "wie zijn de sociaal werkers?"] and all(q.answer for q in questions)
    assert json.loads(export.stdout.splitlines()[0])["judgments"] == 2

    generation = (index.path / "CURRENT").read_text()
    evaluated = run("eval", questions_file, "--index", index.path, "--as-is", "--json")
    assert evaluated.exit_code == 0, evaluated.output
    eval_figures = json.loads(evaluated.stdout)
    panel = quality(kept, index)
    # judged at ranks 1, 3 and 2 of an index that has not changed since
    assert (panel.hit_at_1, panel.mrr_at_10) == (pytest.approx(1 / 3, abs=1e-4), pytest.approx((1 + 1 / 3 + 1 / 2) / 3, abs=1e-4))
    assert (eval_figures["hit@1"], eval_figures["mrr@10"], eval_figures["questions"]) == (panel.hit_at_1, panel.mrr_at_10, panel.evaluated)
    assert panel.counts.questions == 3 and panel.counts.judgments == 7
    cli_panel = json.loads(run("feedback", "quality", "--index", index.path, "--json").stdout)
    assert (cli_panel["hit_at_1"], cli_panel["mrr_at_10"]) == (panel.hit_at_1, panel.mrr_at_10)
    # eval --as-is built nothing: same generation, no index of its own
    assert (index.path / "CURRENT").read_text() == generation and not (tmp_path / "index").exists()


def test_passages_judged_wrong_that_still_rank_first_are_reported(index, kept):
    hits = shown(kept, index, PREVENTIE)
    kept.judge("anna", PREVENTIE, hit_key(hits[0]), "negative")
    kept.judge("anna", PREVENTIE, hit_key(hits[2]), "negative")
    other = shown(kept, index, GEZONDHEID)
    kept.judge("anna", GEZONDHEID, hit_key(other[0]), "negative")
    panel = quality(kept, index)
    assert panel.negatives_checked == 3 and panel.evaluated == 0 and panel.hit_at_1 is None
    assert sorted((j.question, j.start) for j in panel.wrong_first) == sorted([(PREVENTIE, hits[0].start), (GEZONDHEID, other[0].start)])
    text = run("feedback", "quality", "--index", index.path).stdout
    assert "nog steeds als eerste gevonden: 2 van 3" in text and hits[0].source in text


def test_a_judgment_on_a_changed_document_is_flagged(index, kept, tmp_path):
    corpus = tmp_path / "corpus"
    judged = {}
    for question in (PREVENTIE, GEZONDHEID):
        # the best hit of a document not judged yet: one document is changed below, the other removed
        hit = next(h for h in shown(kept, index, question) if all(h.source != other.source for other in judged.values()))
        kept.judge("anna", question, hit_key(hit), "positive")
        judged[question] = hit
    changed = judged[PREVENTIE]
    path = corpus / changed.source
    text = path.read_text(encoding="utf-8")
    path.write_text(text[:changed.start] + text[changed.start:changed.end].replace(changed.answer, "Deze zin is herschreven.") + text[changed.end:],
                    encoding="utf-8")
    index = build(corpus, index.path)
    exported = export_questions(kept, index.store)
    assert [q["query"] for q in exported.questions] == [GEZONDHEID]  # not silently counted
    assert [(f.judgment.source, f.reason) for f in exported.flagged] == [(changed.source, CHANGED)]
    result = run("feedback", "export", "--index", index.path)
    assert "1 oordelen overgeslagen" in result.stderr and changed.source in result.stderr
    assert len(result.stdout.splitlines()) == 1
    panel = quality(kept, index)
    assert panel.evaluated == 1 and [f.reason for f in panel.flagged] == [CHANGED]
    assert "gewijzigd" in run("feedback", "show", "--index", index.path).stdout
    (corpus / judged[GEZONDHEID].source).unlink()
    index = build(corpus, index.path)
    assert sorted(f.reason for f in export_questions(kept, index.store).flagged) == sorted([CHANGED, REMOVED])


def test_since_limits_the_export(index, kept, clock):
    hits = shown(kept, index, PREVENTIE)
    kept.judge("anna", PREVENTIE, hit_key(hits[0]), "positive")
    clock.now += 10 * DAY
    hits = shown(kept, index, GEZONDHEID)
    kept.judge("anna", GEZONDHEID, hit_key(hits[0]), "positive")
    since = "2026-06-01"
    assert [q["query"] for q in export_questions(kept, index.store, since=parse_since(since)).questions] == [GEZONDHEID]
    assert [q["query"] for q in export_questions(kept, index.store).questions] == [PREVENTIE, GEZONDHEID]


# ---------------------------------------------------------------- small parts


def fake_hit(source, rank, start=0):
    return SimpleNamespace(source=source, start=start, end=start + 10, text=f"tekst {source} {start}", answer="tekst",
                           answer_start=start, answer_end=start + 5, page=None, rank=rank)


def test_the_memory_of_shown_hits_is_bounded():
    memory = ShownHits(FeedbackSettings(shown_questions_per_viewer=3, shown_hits_total=10, shown_hits_per_question=4))
    for n in range(5):
        memory.record("anna", f"vraag {n}", [fake_hit("a.txt", 1, n)])
    assert memory.find("anna", "vraag 1", "a.txt#1-11") is None and memory.find("anna", "vraag 4", "a.txt#4-14")  # her 3 latest
    memory.record("bas", "vraag", [fake_hit("b.txt", r, 100 * r) for r in range(1, 6)])  # 5 shown, 4 kept: the latest
    assert len(memory.shown("bas", "vraag")) == 4
    memory.record("carla", "vraag", [fake_hit("c.txt", r, 100 * r) for r in range(1, 5)])
    assert len(memory) <= 10 and memory.shown("anna", "vraag 2") == []  # the least recently shown forgotten first
    assert memory.shown("carla", "vraag") and memory.shown("bas", "vraag")


def test_ranks_over_time_per_week():
    def judged(day, rank, verdict="positive"):
        return Judgment("q", "a.txt", "h", 0, 1, "", 0, 0, None, rank, verdict, f"{day}T10:00:00Z", None)

    weeks = ranks_over_time([judged("2026-05-25", 1), judged("2026-05-28", 4), judged("2026-05-31", 2, "negative"),
                             judged("2026-06-02", 1)])
    assert weeks == [
        {"week": "2026-W22", "start": "2026-05-25", "judgments": 3, "positive": 2, "negative": 1,
         "mean_rank": 2.5, "share_first": 0.5, "mrr": 0.625},
        {"week": "2026-W23", "start": "2026-06-01", "judgments": 1, "positive": 1, "negative": 0,
         "mean_rank": 1.0, "share_first": 1.0, "mrr": 1.0},
    ]


def test_where_judgments_are_kept(tmp_path):
    assert feedback_folder(tmp_path / "idx") == tmp_path / "idx"
    assert feedback_folder("milvus:./m.db#c", tmp_path / "oordelen") == tmp_path / "oordelen"
    with pytest.raises(VraagbaakError, match="--feedback PATH"):
        feedback_folder("milvus:./m.db#c")


def test_since_accepts_dates_times_and_days():
    assert parse_since("2026-01-31T09:00:00Z") == "2026-01-31T09:00:00Z"
    assert parse_since("2026-01-31T10:00:00+01:00") == "2026-01-31T09:00:00Z"
    assert parse_since("2026-01-31") <= "2026-01-31T14:00:00Z"  # local midnight, in any zone within ±14 h
    assert parse_since("2026-01-31") >= "2026-01-30T10:00:00Z"
    assert parse_since("30d") < parse_since("1d")
    with pytest.raises(VraagbaakError, match="30d"):
        parse_since("vorige week")


def test_a_folder_without_write_permission_is_a_clear_error(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    folder = tmp_path / "alleen-lezen"
    folder.mkdir(mode=0o500)
    with pytest.raises(VraagbaakError, match="kunnen niet worden bewaard"):
        Feedback.open(folder)

