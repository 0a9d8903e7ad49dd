import copy

from proctor.chain import EventChain, genesis_for, make_entry, verify_chain


def _chain(n: int = 5) -> EventChain:
    c = EventChain(genesis_for("session-1"))
    for i in range(n):
        c.append({"type": "event", "id": f"e{i}", "start": i * 1.5, "evidence": {"series": [{"t": i}]}})
    return c


def test_untouched_chain_verifies():
    c = _chain()
    r = verify_chain(c.entries, c.genesis)
    assert r.ok and r.checked == 5 and r.first_bad_seq is None


def test_every_kind_of_tampering_is_found_at_the_right_entry():
    c = _chain()
    altered = copy.deepcopy(c.entries)
    altered[2]["record"]["start"] = 99.0
    assert verify_chain(altered, c.genesis).first_bad_seq == 2

    removed = copy.deepcopy(c.entries)
    del removed[1]
    assert verify_chain(removed, c.genesis).first_bad_seq == 1

    swapped = copy.deepcopy(c.entries)
    swapped[1], swapped[2] = swapped[2], swapped[1]
    assert not verify_chain(swapped, c.genesis).ok

    rehashed = copy.deepcopy(c.entries)  # a forger who recomputes one entry's hash breaks the next link
    rehashed[3] = make_entry(rehashed[2], {"type": "event", "id": "forged"}, c.genesis)
    r = verify_chain(rehashed, c.genesis)
    assert not r.ok and r.first_bad_seq == 4


def test_chain_is_anchored_to_its_session():
    c = _chain()
    assert not verify_chain(c.entries, genesis_for("another-session")).ok


def test_records_are_stored_exactly_as_hashed():
    c = EventChain()
    e = c.append({"values": (1, 2), "x": 0.1})
    assert e["record"] == {"values": [1, 2], "x": 0.1}
    assert verify_chain(c.entries).ok
