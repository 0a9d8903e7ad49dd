"""An orphaned session on the two-node cluster (the run is ``scenario_orphan.py``, inside a loopback-only network
namespace: needs root, as ``tests/live/`` does): the node holding a live exam is killed (``kill -9``) and the
student never comes back. Once the dead node has been silent longer than the grace period, the other node's
orphan sweep ends the session, once, as a lost stream ends on a live node: a ``stream_lost`` event
(``reconnected: false``), ``session_end`` with the final integrity score, the session ``error``, the attempt's
answers refused until a proctor allows it; the chain and the export verify."""

from __future__ import annotations

import pytest

from tests.cluster.scenarios import run_scenario

NODE_SILENCE_S = 10.0  # server.services.attempts.NODE_SILENCE_S


@pytest.fixture(scope="module")
def run(tmp_path_factory, data_dir) -> dict:
    return run_scenario("scenario_orphan.py", tmp_path_factory.mktemp("orphan"), data_dir, "verify")


def test_the_other_node_ends_the_orphaned_session_after_the_grace_period(run) -> None:
    assert run["status_at_kill"] == "live"
    # not before the dead node's silence passes the grace period (+ the node silence), and not long after
    assert run["grace_s"] + NODE_SILENCE_S - 6.0 <= run["ended_after_kill_s"] < 60, run["ended_after_kill_s"]
    final = run["final"]
    assert final["status"] == "error"
    assert final["integrity_score"] is not None and not final["provisional"] and final["report_source"] == "live"


def test_the_session_is_ended_once_with_a_stream_lost_event(run) -> None:
    final = run["final"]
    assert final["types"].count("session_start") == 1
    assert final["types"].count("session_end") == 1 and final["types"][-1] == "session_end"
    lost = final["stream_lost"]
    assert len(lost) == 1 and lost[0]["status"] == "closed"
    details = lost[0]["details"]
    assert details["reconnected"] is False and details["ended_by"] == "orphan_sweep"
    assert details["node_id"] == run["home"]
    assert lost[0]["duration"] == pytest.approx(run["grace_s"])


def test_the_chain_the_recording_and_the_export_verify(run) -> None:
    final = run["final"]
    assert final["chain_ok"] and final["manifest_ok"] and final["segments"] >= 1
    assert run["verify"]["rc"] == 0, run["verify"]["out"]
    assert "VERIFIED" in run["verify"]["out"]


def test_the_attempt_s_answers_are_refused_as_on_one_node(run) -> None:
    assert run["answer_live"] == 200
    answer = run["answer"]
    assert answer["status"] == 409 and answer["error"]["code"] == "proctoring_interrupted"
    assert answer["error"]["details"]["session_status"] == "error"
