"""What the live benchmarks (bench_live on one node, bench_cluster across nodes) read back from the server at the
end of a level: each session's stats since the level began, with the samples (an answer other than 200 reads as
no stats: its counters count as zero)."""

from __future__ import annotations

from typing import Any

import httpx


async def session_stats(base: str, clients: list[Any], since: float) -> list[dict[str, Any]]:
    """Each client's session stats since `since` (monotonic seconds), in the clients' order."""
    out = []
    async with httpx.AsyncClient(timeout=30) as http:
        for c in clients:
            r = await http.get(f"{base}/api/live/sessions/{c.session_id}/stats",
                               params={"since": since, "samples": "true"},
                               headers={"Authorization": f"Bearer {c.token}"})
            out.append(r.json() if r.status_code == 200 else {})
    return out
