"""Faults during a live exam on the two-node cluster, with a real aiortc student through HAProxy (the run is
``scenario_faults.py``, inside a loopback-only network namespace: needs root, as ``tests/live/`` does):
``kill -9`` of the student's node, the proctor's live view on the other node, a PostgreSQL restart, a restart of
the node holding the session. Nothing stored is lost, every chain and recording verifies."""

from __future__ import annotations

import re

import pytest

from tests.cluster.scenarios import run_scenario


@pytest.fixture(scope="module")
def run(tmp_path_factory, data_dir) -> dict:
    return run_scenario("scenario_faults.py", tmp_path_factory.mktemp("faults"), data_dir, "final")


def test_the_proctor_s_live_view_on_another_node_gets_every_event(run) -> None:
    """The review's stream read from the node that does not hold the session sees every event the page raised,
    as the holding node's own stream does (both poll the shared PostgreSQL)."""
    view = run["live_view"]
    other, home = view[run["other"]], view[run["home"]]
    assert other["served_by"] == run["other"] and home["served_by"] == run["home"] != run["other"]
    assert set(other["delays_s"]) == set(other["sent"]) == set(home["delays_s"])
    # the requirement: within a second (figures printed by the benchmark and in the README)
    delays = sorted(other["delays_s"].values())
    assert delays[len(delays) // 2] < 1.0, other["delays_s"]


def test_kill_9_of_the_student_s_node_moves_the_exam_to_the_other_node(run) -> None:
    assert run["first_node"] == run["home"]
    takeover = run["takeover"]
    assert takeover["proctoring"]["session_id"] == run["session_id"]
    # HAProxy sent the offer hashed to the dead node elsewhere: refusals are only "held by another node" (409,
    # while the dead node's heartbeat is fresh), then the other node claimed the session
    assert all("409" in r and "held_by_another_node" in r for r in takeover["refusals"])
    assert run["after_kill_node"] == run["other"]
    # a retried, redispatched offer in HAProxy's log (the "+" in its retries field)
    assert any(re.search(r" \d+/\d+/\d+/\d+/\+\d+ ", line) for line in run["offers_logged"]), run["offers_logged"]


def test_nothing_stored_before_the_kill_is_lost_and_everything_verifies(run) -> None:
    before, final = run["before_kill"], run["final"]
    assert before["segments"] and before["probes"]
    final_entries = [tuple(e) for e in final["entries"]]
    assert [tuple(e) for e in before["entries"]] == final_entries[:len(before["entries"])]  # same seq, same hash
    final_segments = {i: h for i, h in final["segments"]}
    assert all(final_segments[i] == h for i, h in before["segments"])
    assert final["chain_ok"], final["chain_problem"]
    assert final["manifest_ok"], final["manifest_problems"]
    assert final["segment_bytes_ok"]  # every segment's bytes in the bucket match its manifest sha256
    assert {int(k): v for k, v in final["segments_chained"].items()} == final_segments
    assert final["status"] == "ended" and final["types"][-1] == "session_end"


def test_each_gap_is_a_stream_lost_event(run) -> None:
    lost = run["final"]["stream_lost"]
    assert len(lost) == 2  # the kill, the node's restart
    assert all(e["status"] == "closed" and e["details"]["reconnected"] for e in lost)
    # the other node claims the session only once the dead node's heartbeat is 10 s old: the gap is longer
    assert lost[0]["duration"] >= 10.0
    assert lost[1]["duration"] > 0


def test_events_raised_while_postgresql_restarts_are_stored_afterwards_in_order(run) -> None:
    probes = run["final"]["probes"]
    expected = ([f"view-{n}" for n in range(10)] + [f"after-kill-{n}" for n in range(3)]
                + [f"db-down-{n}" for n in range(run["db_restart"]["sent"])] + [f"after-restart-{n}" for n in range(3)])
    assert probes == expected  # all of them, each once, in the order the page raised them
    assert run["stats_after_db"] == "live" and run["after_db_node"] == run["other"]


def test_a_restarted_node_resumes_its_session_from_the_store(run) -> None:
    restart = run["node_restart"]
    assert not any("held_by_another_node" in r for r in restart["refusals"])  # its own id: claimed at once
    assert run["after_restart_node"] == run["other"] and run["final"]["node_id"] == run["other"]
    assert restart["proctoring"]["session_id"] == run["session_id"]
