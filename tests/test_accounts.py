"""Accounts: the users file, password hashes, the login throttle, and collections enforced in the search itself."""

import json
import stat
import subprocess
import sys

import pytest
from click.testing import CliRunner

from helpers import build
from vraagbaak import VraagbaakError
from vraagbaak.accounts import Account, Accounts, LoginThrottle
from vraagbaak.cli import cli
from vraagbaak.stores.local import FolderLocation, StoreSettings

PASSWORD = "koffie-in-de-wijk"


@pytest.fixture
def accounts(tmp_path):
    users = Accounts(tmp_path / "gebruikers.json")
    users.add("anna", PASSWORD, "redacteur")
    users.add("bas", "een ander wachtwoord", "lezer", ["team-b"])
    return users


def test_passwords_are_checked_against_hashes_only(accounts):
    assert accounts.check("anna", PASSWORD) == Account("anna", "redacteur", None)
    assert accounts.check("anna", PASSWORD + "x") is None
    assert accounts.check("niemand", PASSWORD) is None
    text = accounts.path.read_text(encoding="utf-8")
    assert PASSWORD not in text and "een ander wachtwoord" not in text
    assert PASSWORD.encode().hex() not in text  # not even encoded
    entries = json.loads(text)["users"]
    assert all(e["password_hash"].startswith("$argon2id$") for e in entries.values())
    assert entries["anna"]["password_hash"] != Accounts(accounts.path)._users()["bas"]["password_hash"]


def test_the_users_file_is_readable_by_its_owner_only_and_changes_count_at_once(accounts):
    assert stat.S_IMODE(accounts.path.stat().st_mode) == 0o600
    other = Accounts(accounts.path)  # the server's instance, say
    assert other.get("bas") == Account("bas", "lezer", ("team-b",))
    accounts.set_password("bas", "nieuw wachtwoord!")
    assert other.check("bas", "nieuw wachtwoord!") is not None and other.check("bas", "een ander wachtwoord") is None
    accounts.remove("bas")
    assert other.get("bas") is None and other.names() == ["anna"]
    assert not [p for p in accounts.path.parent.iterdir() if p.name.startswith(".")]  # no temporary file left


@pytest.mark.parametrize("name, password, role, message", [
    ("anna", PASSWORD, "lezer", "bestaat al"),
    ("carla", "kort", "lezer", "minstens 8 tekens"),
    ("carla", PASSWORD, "beheerder", "onbekende rol"),
    (" carla", PASSWORD, "lezer", "gebruikersnaam"),
])
def test_bad_accounts_are_refused(accounts, name, password, role, message):
    with pytest.raises(VraagbaakError, match=message):
        accounts.add(name, password, role)


def test_collections_hold_their_subfolders_only():
    bas = Account("bas", "lezer", ("team-b",))
    assert bas.may_see("team-b/x.txt") and bas.may_see("team-b/2024/y.pdf")
    assert not bas.may_see("team-bis/x.txt") and not bas.may_see("x.txt") and not bas.may_see("team-a/team-b/x.txt")
    assert Account("anna", "redacteur", None).visible(["a", "b"]) is None
    assert Account("c", "lezer", ()).visible(["a.txt", "team-b/x.txt"]) == frozenset()


def test_repeated_wrong_passwords_for_a_name_wait_longer_and_longer():
    now = [0.0]
    throttle = LoginThrottle(free=3, first_wait=2, max_wait=60, clock=lambda: now[0])
    for _ in range(3):
        throttle.failed("anna")
        assert throttle.wait_left("anna") == 0  # three tries are free: typos happen
    waits = []
    for _ in range(7):
        throttle.failed("anna")
        waits.append(throttle.wait_left("anna"))
    assert waits == [2, 4, 8, 16, 32, 60, 60]
    assert throttle.wait_left("bas") == 0  # per name
    now[0] += 60
    assert throttle.wait_left("anna") == 0
    throttle.succeeded("anna")
    throttle.failed("anna")
    assert throttle.wait_left("anna") == 0


def test_users_commands(tmp_path):
    users = tmp_path / "gebruikers.json"
    run = CliRunner().invoke
    for team in ("team-a", "team-b", "team-c"):
        (tmp_path / "corpus" / team).mkdir(parents=True)
    added = run(cli, ["users", "add", "carla", "--role", "lezer", "--collections", "team-a,team-b", "--users", str(users),
                      "--corpus", str(tmp_path / "corpus")], input="geheim-genoeg\n")
    assert added.exit_code == 0 and "let op" not in added.output, added.output
    listed = run(cli, ["users", "list", "--users", str(users)])
    assert listed.output == "carla\tlezer\tteam-a, team-b\n"
    assert "geheim" not in users.read_text() and "argon2" not in listed.output
    assert run(cli, ["users", "passwd", "carla", "--users", str(users)], input="nog-geheimer\n").exit_code == 0
    assert Accounts(users).check("carla", "nog-geheimer")
    short = run(cli, ["users", "add", "dirk", "--role", "lezer", "--users", str(users)], input="kort\n")
    assert short.exit_code == 2 and "minstens 8 tekens" in short.output
    assert run(cli, ["users", "remove", "carla", "--users", str(users)]).exit_code == 0
    assert Accounts(users).names() == []


def test_a_collection_that_is_not_a_folder_of_the_corpus_is_warned_about(tmp_path):
    users, corpus = tmp_path / "gebruikers.json", tmp_path / "corpus"
    for team in ("wijkteam-noord", "wijkteam-zuid"):
        (corpus / team).mkdir(parents=True)
    added = CliRunner().invoke(cli, ["users", "add", "eva", "--role", "lezer", "--collections", "wijkteam-nord,wijkteam-zuid",
                                     "--users", str(users), "--corpus", str(corpus)], input="geheim-genoeg\n")
    assert added.exit_code == 0 and Accounts(users).get("eva").collections == ("wijkteam-nord", "wijkteam-zuid")
    assert added.stderr == (f"let op: wijkteam-nord is geen map in {corpus} (wel: wijkteam-noord, wijkteam-zuid); "
                            "eva ziet er niets van tot die map bestaat\n")
    elsewhere = CliRunner().invoke(cli, ["users", "add", "fien", "--role", "lezer", "--collections", "x", "--users", str(users),
                                         "--corpus", str(tmp_path / "nergens")], input="geheim-genoeg\n")
    assert elsewhere.exit_code == 0 and "niet gecontroleerd" in elsewhere.stderr


@pytest.fixture
def teams(tmp_path):
    """Two collections: team-a with four articles (where "preventie" is answered), team-b with one."""
    from conftest import ROOT

    corpus = tmp_path / "corpus"
    names = sorted(p.name for p in (ROOT / "corpus").glob("*.txt"))
    for name in names:
        folder = corpus / ("team-b" if name == "wat-is-sociaal-werk.txt" else "team-a")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes((ROOT / "corpus" / name).read_bytes())
    return corpus


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_a_restricted_user_gets_k_hits_from_their_collection_only_on_an_hnsw_index(fake, teams, tmp_path, mode):
    index = build(teams, FolderLocation(tmp_path / "idx", StoreSettings(ann_min_rows=10)))
    assert index.store.ann_file  # the graph search with a selector is what is tested
    bas = Account("bas", "lezer", ("team-b",))
    within = bas.visible(index.documents)
    assert within == {"team-b/wat-is-sociaal-werk.txt"}
    unrestricted = index.search("wat is preventie?", k=10, mode=mode)
    assert any(not h.source.startswith("team-b/") for h in unrestricted)  # the best answers lie elsewhere
    hits = index.search("wat is preventie?", k=10, mode=mode, within=within)
    assert {h.source for h in hits} == set(within)
    if mode != "lexical":  # BM25 returns only passages holding a question term
        assert len(hits) == 10


def test_filters_of_a_restricted_user_name_nothing_outside_their_collections(fake, teams, tmp_path):
    index = build(teams, tmp_path / "idx")
    within = Account("bas", "lezer", ("team-b",)).visible(index.documents)
    with pytest.raises(VraagbaakError) as error:
        index.search("wat is preventie?", folders=["team-c"], within=within)
    assert "team-a" not in str(error.value) and "wel: team-b" in str(error.value)
    with pytest.raises(VraagbaakError, match="Het document .* staat niet in de index"):  # another collection's file is as unknown as a missing one
        index.search("wat is preventie?", source="team-a/vertrouw-op-je-kracht.txt", within=within)
    with pytest.raises(VraagbaakError, match=r"De map 'team-a' staat niet in de index \(wel: team-b\)"):
        index.search("wat is preventie?", folders=["team-a"], within=within)  # another collection is as unknown as none


def test_a_throttle_forgets_old_failures_and_keeps_a_bounded_number_of_keys():
    now = [0.0]
    throttle = LoginThrottle(free=1, first_wait=2, forget_after=900, keys=3, clock=lambda: now[0])
    throttle.failed("a")
    throttle.failed("a")
    assert throttle.wait_left("a") == 2
    now[0] += 901
    throttle.failed("a")
    assert throttle.wait_left("a") == 0  # a failure long after the last one starts afresh
    for name in ("b", "c", "d"):
        throttle.failed(name)
    assert len(throttle._failures) == 3 and "a" not in throttle._failures  # made-up names cannot fill the memory


class SlowAccounts:
    """Accounts whose password check waits for a signal, so that checks can be held running."""

    def __init__(self):
        import threading

        self.release = threading.Event()
        self.started = 0

    def check(self, name, password):
        self.started += 1
        self.release.wait(30)
        return Account(name, "lezer", None) if password == "goed-wachtwoord" else None


def test_logins_run_off_the_event_loop_and_a_flood_from_one_address_takes_two_places():
    import asyncio

    from vraagbaak.accounts import Logins

    accounts = SlowAccounts()
    logins = Logins(accounts, threads=2, queue=2, per_address=2)

    async def scenario():
        flood = [asyncio.ensure_future(logins.check(f"x{i}", "fout", "203.0.113.9")) for i in range(10)]
        await asyncio.sleep(0.2)  # the event loop is free meanwhile: this coroutine runs
        refused = [f.result() for f in flood if f.done()]
        colleague = asyncio.ensure_future(logins.check("anna", "goed-wachtwoord", "198.51.100.1"))
        await asyncio.sleep(0.2)
        accounts.release.set()
        return refused, await asyncio.gather(*flood), await colleague

    refused, flood, colleague = asyncio.run(scenario())
    assert len(refused) == 8 and all(r.busy and r.account is None for r in refused)  # refused unheard, at once
    assert sum(not r.busy for r in flood) == 2 and colleague.account.name == "anna"
    assert accounts.started == 3


def test_logins_wait_per_name_and_per_address():
    import asyncio

    from vraagbaak.accounts import Logins

    accounts = SlowAccounts()
    accounts.release.set()
    logins = Logins(accounts, by_name=LoginThrottle(free=2), by_address=LoginThrottle(free=3))
    check = lambda name, address: asyncio.run(logins.check(name, "fout", address))  # noqa: E731
    assert [check("anna", "a1").wait for _ in range(2)] == [0, 0]
    check("anna", "a2")  # the third failure for anna, from another address
    locked = check("anna", "a3")
    assert locked.wait > 0 and locked.account is None and accounts.started == 3  # refused unheard: not checked
    assert [check(f"naam-{i}", "b1").wait for i in range(3)] == [0, 0, 0]
    assert check("nog-een-naam", "b1").wait == 0 and check("weer-een", "b1").wait > 0  # the address waits now
    assert asyncio.run(logins.check("carla", "goed-wachtwoord", "b2")).account.name == "carla"  # others do not


def test_importing_accounts_hashes_nothing_and_an_unknown_name_still_costs_a_check():
    """The dummy hash (what makes a wrong name cost what a wrong password costs) is made at the first unknown
    name, not at import: every start-up, also of commands that never log in, paid half a second for it."""
    code = """
import argon2
calls = []
real = argon2.PasswordHasher.hash
argon2.PasswordHasher.hash = lambda self, *a, **k: calls.append("hash") or real(self, *a, **k)
real_verify = argon2.PasswordHasher.verify
argon2.PasswordHasher.verify = lambda self, *a, **k: calls.append("verify") or real_verify(self, *a, **k)
import vraagbaak.accounts as accounts
print(calls)
assert accounts.Accounts("/nonexistent/users.json").check("niemand", "een-wachtwoord") is None
print(calls)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == ["[]", "['hash', 'verify']"]
