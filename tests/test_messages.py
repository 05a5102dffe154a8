"""What users read comes from one module (vraagbaak/messages.py), in Dutch: an English or ad-hoc message fails here."""

import ast
import inspect
import re
from pathlib import Path

import pytest

from helpers import build
from vraagbaak import Index, VraagbaakError, messages
from vraagbaak.dates import parse_day
from vraagbaak.filters import scope
from vraagbaak.view import View

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "vraagbaak"
# The errors a user reads (VraagbaakError and its subclasses, and the page's gr.Error)
ERRORS = {"VraagbaakError", "IndexLoadError", "FeedbackRefused", "Error"}
# Common English words that are no Dutch words: one of them in a message means an English text crept back
ENGLISH = {"the", "not", "cannot", "choose", "found", "with", "and", "must", "should", "please", "unknown", "missing",
           "damaged", "already", "exists", "give", "use", "only", "file", "folder", "there", "which", "when", "does",
           "has", "have", "will", "from", "into", "this", "that", "you", "your", "are", "or", "no", "it", "its"}


def english_words(text: str) -> set[str]:
    """The English words of ``text``, leaving out what is kept literally: a command, an option, an env var, quoted names."""
    text = re.sub(r"python -m vraagbaak \S+.*", "", text)  # a command runs to the end of its message
    text = re.sub(r"--[\w-]+|\b[A-Z][A-Z0-9_]+\b|'[^']*'|\S+/\S+|\S+\.\w+", " ", text)
    words = set(re.findall(r"[a-z]+", text.lower()))
    return ENGLISH & words


def _sources():
    yield ROOT / "app.py"
    yield from (p for p in PACKAGE.rglob("*.py") if p.name not in ("messages.py", "errors.py"))


def _from_messages(node: ast.expr) -> bool:
    """``messages.NAME`` or ``messages.name(...)``, or ``str(error)``: passing on another error's text."""
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "str":
        return len(node.args) == 1 and isinstance(node.args[0], ast.Name)
    if isinstance(node, ast.Call):
        node = node.func
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "messages"


def _raised_texts(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name in ERRORS:
                yield node


def test_every_user_error_takes_its_text_from_messages():
    found, ad_hoc = 0, []
    for path in _sources():
        for call in _raised_texts(path):
            found += 1
            if not call.args or not _from_messages(call.args[0]) or len(call.args) > 1:
                ad_hoc.append(f"{path.relative_to(ROOT)}:{call.lineno}: {ast.unparse(call)[:100]}")
    assert found > 50, found  # the scan sees the package's raises (it would pass vacuously on none)
    assert ad_hoc == [], "\n".join(ad_hoc)


def test_the_scan_catches_a_literal_message(tmp_path):
    code = ('raise VraagbaakError(f"cannot read {path}")\nraise errors.IndexLoadError(messages.index_missing(a, b))\n'
            'raise gr.Error("Log in", print_exception=False)\nraise FeedbackRefused(str(exc))\n')
    (tmp_path / "bad.py").write_text(code, encoding="utf-8")
    calls = list(_raised_texts(tmp_path / "bad.py"))
    assert [_from_messages(c.args[0]) for c in calls] == [False, True, False, True]


def test_the_package_prints_no_warnings_itself():
    """Warnings and notes go to the package's logger (cli.setup_logging shows it); only the CLI and the
    terminal's progress line write to stderr themselves."""
    printed = []
    for path in _sources():
        if path.name in ("cli.py", "progress.py", "app.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print"
                    and any(k.arg == "file" for k in node.keywords)):
                printed.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert printed == []


def test_messages_imports_nothing_from_the_package():
    """Any module may import it: no cycle, no import back up."""
    tree = ast.parse((PACKAGE / "messages.py").read_text(encoding="utf-8"))
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert imports and not [n for n in imports if isinstance(n, ast.ImportFrom) and (n.level or (n.module or "").startswith("vraagbaak"))]
    assert not [a.name for n in imports if isinstance(n, ast.Import) for a in n.names if a.name.startswith("vraagbaak")]


def _example(parameter: inspect.Parameter):
    name = parameter.name
    if name in ("suffixes", "backends", "roles", "modes", "fusions", "precisions", "known", "changed", "problems"):
        return ["a", "b"] if name != "problems" else ["regel 1: x"]
    if name in ("length", "limit", "version", "reads", "rows", "expected", "dimension", "used_dimension", "passages",
                "minutes", "number", "limit_mb", "agreement", "needed", "seconds"):
        return 3
    if name == "command":
        return "python -m vraagbaak build --corpus corpus --index index"
    return "X"


def _every_message():
    for name in messages.__all__:
        value = getattr(messages, name)
        if isinstance(value, str):
            yield name, value
        else:
            params = inspect.signature(value).parameters.values()
            yield name, value(*[_example(p) for p in params if p.default is inspect.Parameter.empty])


@pytest.mark.parametrize("name, text", list(_every_message()), ids=lambda v: v if isinstance(v, str) and len(v) < 40 else "")
def test_every_message_is_dutch(name, text):
    assert text.strip() and english_words(text) == set(), (name, text)


def test_the_dutch_check_can_fail():
    assert english_words("no folder 'x' in this index") == {"no", "folder", "this"}
    assert english_words("there is no index yet") == {"there", "no"}
    assert english_words("k must be 1 to 100, not 0") == {"must", "not"}
    assert english_words("--store milvus: kies een adres; python -m vraagbaak build --index the folder") == set()


@pytest.fixture
def index(fake, corpus, tmp_path):
    return build(corpus, tmp_path / "idx")


def _refused(call) -> str:
    with pytest.raises(VraagbaakError) as refused:
        call()
    return str(refused.value)


def test_what_the_page_can_refuse_is_dutch(index, tmp_path):
    """What a user can do wrong on the page (a folder, type, document or date filter, k, a question, an empty index)."""
    view = View(index)
    said = [
        _refused(lambda: view.search("zorg", folders=["geen-map"])),
        _refused(lambda: view.search("zorg", types=["xls"])),
        _refused(lambda: view.search("zorg", source="nergens.txt")),
        _refused(lambda: view.search("zorg", since="gisteren")),
        _refused(lambda: view.search("zorg", since="2024-05-01", until="2024-01-01")),
        _refused(lambda: view.search("zorg", k=0)),
        _refused(lambda: view.search("zorg", k=101)),
        _refused(lambda: view.search("zorg", mode="magisch")),
        _refused(lambda: view.search("   ")),
        _refused(lambda: view.search("zorg " * 1000)),
        _refused(lambda: View(None).search("zorg")),
        _refused(lambda: scope(["a.txt"], folders=["team"])),
        _refused(lambda: parse_day("31-02-2024")),
        _refused(lambda: Index.load(tmp_path / "geen-index")),
    ]
    for text in said:
        assert english_words(text) == set(), text
    assert said[-4] == messages.NO_INDEX_YET and "'geen-map'" in said[0] and "2024-05-01" in said[4]
