"""One list of event kinds (proctor.events.EVENT_KINDS): the rules, the score, the live data channel, the review
and both pages' translations follow it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from proctor.events import BASE_SEVERITY, BROWSER_KINDS, EVENT_KINDS, ROOM_SCAN_KINDS, UNSCORED_KINDS
from proctor.rules import EventIds
from proctor.score import weight_for
from proctor.settings import EngineSettings, ScoreWeights

WEB = Path(__file__).resolve().parents[1] / "web_client"
LANGS = ("en", "ru", "kk")


def _keys(path: Path) -> dict[str, set[str]]:
    text = path.read_text()
    blocks = dict(re.findall(r"const (en|ru|kk) = \{(.*?)\n\};", text, re.S))
    assert set(blocks) == set(LANGS), path
    return {lang: set(re.findall(r'"([a-z_]+\.[a-z_.]+)":', body)) for lang, body in blocks.items()}


def test_groups_of_kinds_are_kinds():
    assert set(BROWSER_KINDS) | set(ROOM_SCAN_KINDS) | set(UNSCORED_KINDS) <= set(EVENT_KINDS)
    assert set(BASE_SEVERITY) == set(EVENT_KINDS)


def test_every_scored_kind_has_a_weight():
    fields = set(ScoreWeights.model_fields)
    per_kind = fields - {"browser", "per_event_penalty", "violation_below", "suspicious_below"}
    assert per_kind <= set(EVENT_KINDS), per_kind - set(EVENT_KINDS)  # no weight for a kind that does not exist
    for kind in set(EVENT_KINDS) - set(UNSCORED_KINDS):
        assert kind in fields or kind in BROWSER_KINDS or kind == "room_scan_incomplete", kind
        assert weight_for(kind, EngineSettings()) > 0


def test_rules_refuse_a_kind_not_in_the_list():
    ids = EventIds()
    assert ids.next("speech") == "speech-1"
    with pytest.raises(ValueError, match="unknown event kind"):
        ids.next("keylogger")
    ids.tag = "ab12"
    assert ids.next("noise") == "noise-2.ab12"


def test_the_data_channel_takes_the_engines_browser_kinds():
    from server.live import protocol

    for kind in BROWSER_KINDS:
        assert protocol.parse_client_message(f'{{"type":"browser_signal","kind":"{kind}"}}').kind == kind
    assert set(protocol.WARNING_TEXT) <= set(EVENT_KINDS)


@pytest.mark.parametrize("lang", LANGS)
def test_every_kind_has_a_review_label_in_each_language(lang):
    keys = _keys(WEB / "review" / "i18n.js")[lang]
    missing = [k for k in EVENT_KINDS if f"kind.{k}" not in keys]
    assert not missing, missing


@pytest.mark.parametrize("lang", LANGS)
def test_every_warned_kind_has_a_student_text_in_each_language(lang):
    from server.live import protocol

    keys = _keys(WEB / "student" / "i18n.js")[lang]
    missing = [k for k in protocol.WARNING_TEXT if f"warning.{k}" not in keys]
    assert not missing, missing
