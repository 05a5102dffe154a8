"""The bundled-model cache: one conversion at a time, never a half-written folder (no real model)."""

import threading
import time

import pytest

from vraagbaak import bundled_model


def test_concurrent_callers_convert_once(tmp_path, monkeypatch):
    calls = []

    def fake_convert(source, target):
        calls.append(target)
        time.sleep(0.3)
        (target / "config.json").write_text("{}")
        (target / "vraagbaak-conversion.json").write_text("{}")

    monkeypatch.setattr(bundled_model, "convert", fake_convert)
    monkeypatch.setattr(bundled_model, "source_file", lambda: tmp_path / "e5.bin")
    folder = tmp_path / "model"
    results = []
    threads = [threading.Thread(target=lambda: results.append(bundled_model.ensure_bundled_model(folder, progress=lambda m: None))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(calls) == 1 and results == [folder] * 4
    assert (folder / "config.json").is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("model.tmp")] == []


def test_a_failed_conversion_leaves_nothing_usable(tmp_path, monkeypatch):
    def broken_convert(source, target):
        (target / "config.json").write_text("{}")
        raise MemoryError("killed half-way")

    monkeypatch.setattr(bundled_model, "convert", broken_convert)
    monkeypatch.setattr(bundled_model, "source_file", lambda: tmp_path / "e5.bin")
    folder = tmp_path / "model"
    with pytest.raises(MemoryError):
        bundled_model.ensure_bundled_model(folder, progress=lambda m: None)
    assert not folder.exists()
    assert [p for p in tmp_path.iterdir() if p.is_dir()] == []


def test_model_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("VRAAGBAAK_MODEL_DIR", str(tmp_path / "elders"))
    assert bundled_model.default_model_dir() == tmp_path / "elders"
