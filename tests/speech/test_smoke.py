"""`deck2video smoke`, the speech image's self-test, with and without converter weights."""

from __future__ import annotations

from deck2video import cli


def test_smoke_without_weights_speaks_and_says_no_cloning(capsys, monkeypatch):
    monkeypatch.delenv("DECK2VIDEO_OPENVOICE_DIR", raising=False)
    assert cli.main(["smoke"]) == 0
    out = capsys.readouterr().out
    assert "synthesis RTF" in out
    assert "no voice cloning" in out


def test_smoke_with_weights_reports_the_conversion(capsys, monkeypatch, tiny_weights):
    monkeypatch.setenv("DECK2VIDEO_OPENVOICE_DIR", str(tiny_weights))
    assert cli.main(["smoke"]) == 0
    out = capsys.readouterr().out
    for line in ("model load", "converter        cpu, loaded in", "embedding", "conversion RTF"):
        assert line in out
