"""The one deep-merge of settings dicts: the engine's per-exam overrides (strict: an unknown setting is an
error) and the server's exam + session overrides (open: both are partial override dicts)."""

from __future__ import annotations

import pytest

from proctor.settings import EngineSettings, deep_merge


def test_nested_dicts_merge_key_by_key_and_inputs_stay_unchanged() -> None:
    base = {"identity": {"threshold": 0.51, "interval_s": 60}, "analysis_fps": 5}
    over = {"identity": {"threshold": 0.45}, "analysis_fps": 4}
    assert deep_merge(base, over) == {"identity": {"threshold": 0.45, "interval_s": 60}, "analysis_fps": 4}
    assert base == {"identity": {"threshold": 0.51, "interval_s": 60}, "analysis_fps": 5}
    assert over == {"identity": {"threshold": 0.45}, "analysis_fps": 4}


def test_open_merge_adds_new_keys_strict_merge_refuses_them() -> None:
    assert deep_merge({"a": {"b": 1}}, {"a": {"c": 2}, "d": {"e": 3}}) == {"a": {"b": 1, "c": 2}, "d": {"e": 3}}
    with pytest.raises(KeyError, match="unknown setting 'c'"):
        deep_merge({"a": {"b": 1}}, {"a": {"c": 2}}, strict=True)


def test_engine_overrides_use_the_strict_merge() -> None:
    s = EngineSettings().with_overrides({"looking_away": {"yaw_deg": 40}})
    assert s.looking_away.yaw_deg == 40 and s.looking_away.pitch_deg == EngineSettings().looking_away.pitch_deg
    with pytest.raises(KeyError):
        EngineSettings().with_overrides({"looking_away": {"nope": 1}})
