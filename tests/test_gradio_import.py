"""``vraagbaak.web.gradio_import``: gradio imported without its stub writer, and still whole.

Each case runs in a fresh interpreter: whether the writer runs is decided when
gradio is first imported in a process.
"""

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A component class defined in a file of its own: gradio's stub writer, when it
# runs, writes a ``.pyi`` beside the file that defines the class.
COMPONENT = """
import gradio as gr


class Shout(gr.Textbox):
    pass
"""


def _run(code: str, folder: Path) -> str:
    (folder / "shout.py").write_text(COMPONENT, encoding="utf-8")
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=folder, capture_output=True, text=True,
                         env={"PYTHONPATH": f"{ROOT}:{folder}", "PATH": "/usr/bin:/bin", "HOME": str(folder)}, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip()


def test_gradio_after_vraagbaak_web_writes_no_stubs(tmp_path):
    out = _run("""
        import vraagbaak.web
        import gradio
        from vraagbaak.web.gradio_import import skips_stubs
        import shout
        print(skips_stubs(), shout.Shout(value="ja").value, shout.Shout.change is not None)
    """, tmp_path)
    assert out == "True ja True"  # the subclass is a working component, with its events
    assert not (tmp_path / "shout.pyi").exists()


def test_gradio_on_its_own_still_writes_them(tmp_path):
    """The control: without ``vraagbaak.web`` first, gradio's writer runs (so the test above tests something)."""
    out = _run("""
        import gradio
        import shout
        from vraagbaak.web.gradio_import import skips_stubs
        print(skips_stubs())
    """, tmp_path)
    assert out == "False"
    assert (tmp_path / "shout.pyi").exists()


def test_the_finder_is_gone_once_gradio_is_imported(tmp_path):
    out = _run("""
        import sys
        import vraagbaak.web
        from vraagbaak.web.gradio_import import _QuickGradio
        before = any(isinstance(f, _QuickGradio) for f in sys.meta_path)
        import gradio
        after = any(isinstance(f, _QuickGradio) for f in sys.meta_path)
        print(before, after)
    """, tmp_path)
    assert out == "True False"


def test_page_builds_without_the_writer(tmp_path):
    """The page Vraagbaak serves is built from a gradio imported this way (its server module imports vraagbaak.web first)."""
    out = _run("""
        from vraagbaak.web.server import make_app
        from vraagbaak.web.gradio_import import skips_stubs
        import gradio as gr
        with gr.Blocks() as page:
            box = gr.Textbox(label="Vraag")
            gr.Button("Zoek").click(lambda q: q, box, box)
        print(skips_stubs(), sorted({c["type"] for c in page.get_config_file()["components"]} & {"textbox", "button"}))
    """, tmp_path)
    assert out == "True ['button', 'textbox']"


def test_pandas_is_imported_only_when_gradio_needs_it_and_then_is_the_real_one(tmp_path):
    out = _run("""
        import sys, threading
        import vraagbaak.web
        import gradio
        from gradio import caching
        before = "pandas" in sys.modules
        found = []
        threads = [threading.Thread(target=lambda: found.append(caching.pd.DataFrame)) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        import pandas
        frame = pandas.DataFrame({"a": [1, 2, 3]})
        print(before, all(f is pandas.DataFrame for f in found) and len(found) == 8, caching.pd is pandas,
              caching._estimate_size(frame) == frame.memory_usage(deep=True).sum())
    """, tmp_path)
    assert out == "False True True True"
