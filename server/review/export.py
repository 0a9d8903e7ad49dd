"""A session's report as one self-contained HTML file: verdict, decision and its audit log, the verification of
the event chain, the recording's hashes and the evidence, the timeline and signal plots (inline SVG, drawn by
``proctor.report``'s helpers, the same as ``proctor analyze``'s report), every event with its evidence frames
(``data:`` URIs), the identity photos and the proctor's comments. Print it to PDF from the browser."""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from typing import Any

import jinja2
from markupsafe import Markup

from proctor.report import SEVERITY_COLOURS, plots_svg, timeline_svg
from server.storage import Stores

TEMPLATE = jinja2.Environment(autoescape=True).from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Session report: {{ v.student.full_name }} — {{ v.exam.title }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1a1a1a;max-width:1100px}
h1{font-size:1.4rem} h2{font-size:1.1rem;margin-top:1.8rem;border-bottom:1px solid #ccc}
.ok{color:#146c2e;font-weight:700}.bad{color:#b3261e;font-weight:700}
.verdict{display:inline-block;padding:.2rem .6rem;border-radius:4px;color:#fff;font-weight:700}
.clean{background:#2a9d8f}.suspicious{background:#f08a4b}.violation{background:#d7263d}
table{border-collapse:collapse;width:100%;font-size:.9rem} td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left;vertical-align:top}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem} dt{font-weight:700}
.sev{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;margin-right:.3rem;vertical-align:middle}
img.ev{width:160px;border:1px solid #ccc;margin:2px} svg{max-width:100%;height:auto}
.fail{background:#fdecea;border-left:4px solid #b3261e;padding:.5rem}
@media print{h2{break-after:avoid} tr{break-inside:avoid}}
</style></head><body>
<h1>Session report: {{ v.student.full_name }} ({{ v.student.external_id or v.student.id }}) — {{ v.exam.title }}</h1>
<dl>
<dt>College / course</dt><dd>{{ v.college.name }} / {{ v.course.code }} {{ v.course.title }}</dd>
<dt>Session</dt><dd><code>{{ v.id }}</code>, {{ v.status }}, started {{ v.started_at or "—" }}, ended {{ v.ended_at or "—" }}, {{ "%.1f"|format(v.duration_s) }} s</dd>
<dt>Integrity score</dt><dd>{% if v.score %}<span class="verdict {{ v.score.recommendation }}">{{ v.score.recommendation }}</span> {{ v.score.score }} / 100{% else %}{{ v.integrity_score if v.integrity_score is not none else "not scored" }}{% endif %}</dd>
<dt>Attempt</dt><dd>#{{ v.attempt.id }}: <strong id="attempt-state">{{ v.attempt.state }}</strong>; grade: {{ v.attempt.grade.status }}{% if v.attempt.grade.score is not none %} {{ v.attempt.grade.score }} / {{ v.attempt.grade.max_score }}{% endif %}</dd>
<dt>Exported</dt><dd>{{ now }} by user {{ user_id }}</dd>
</dl>

<h2>Verification</h2>
<table id="verification">
<tr><th>what</th><th>result</th><th>details</th></tr>
<tr id="verify-chain"><td>Event chain ({{ ver.chain.checked }} entries, head <code>{{ (v.chain_head or "")[:16] }}…</code>)</td>
<td>{% if ver.chain.ok %}<span class="ok">verified</span>{% else %}<span class="bad">FAILED</span>{% endif %}</td>
<td>{% if not ver.chain.ok %}{{ ver.chain.reason }} (first bad entry: {{ ver.chain.first_bad_seq }}){% else %}every entry links to the one before it{% endif %}</td></tr>
<tr id="verify-recording"><td>Recording ({{ ver.recording.checked }} segments, sha256 manifest)</td>
<td>{% if ver.recording.ok %}<span class="ok">verified</span>{% else %}<span class="bad">FAILED</span>{% endif %}</td>
<td>{% for p in ver.recording.problems %}segment {{ p.kind }}#{{ p.index }}: {{ p.problem }} — {{ p.detail }}<br>{% endfor %}
{% for g in ver.recording.segments %}<small>#{{ g.index }} {{ g.t_start }}–{{ g.t_end }} s, {{ g.bytes }} B, <code>{{ g.sha256[:16] }}…</code></small><br>{% endfor %}</td></tr>
<tr id="verify-evidence"><td>Evidence frames ({{ ver.evidence.checked }})</td>
<td>{% if ver.evidence.ok %}<span class="ok">verified</span>{% else %}<span class="bad">FAILED</span>{% endif %}</td>
<td>{% for p in ver.evidence.problems %}{{ p.name }}: {{ p.problem }}<br>{% endfor %}</td></tr>
{% if ver.signature %}<tr id="verify-signature" data-status="{{ ver.signature.status }}"><td>Signature ({{ ver.signature.checkpoints }} checkpoints, {{ ver.signature.signed_entries }} of {{ ver.signature.entries }} entries signed, Ed25519 key {{ ver.signature.key_ids|join(", ") }})</td>
<td>{% if ver.signature.status == "verified" %}<span class="ok">verified</span>{% elif ver.signature.status == "verified_with_unsigned" %}<span class="ok">verified</span> (the latest entries are not signed yet){% elif ver.signature.status == "unsigned" %}<span class="bad">not signed</span>{% else %}<span class="bad">FAILED</span>{% endif %}</td>
<td>{% for f in ver.signature.findings if f.level in ("tampered", "unsigned") %}{{ f.message }}<br>{% else %}the checkpoints' signatures verify and cover every entry and segment{% endfor %}</td></tr>{% endif %}
</table>
{% if ver.signature %}<h3>Server public key{{ "s" if ver.signature["keys"]|length > 1 else "" }}</h3>
<p>Check this export offline with <code>proctor verify</code> and the server's published key (<code>GET /api/evidence/keys</code>); compare the key below with the one the college pinned.</p>
{% for k in ver.signature["keys"] %}<p id="key-{{ k.key_id }}">key id <code>{{ k.key_id }}</code> ({{ k.algorithm }}{% if k.retired %}, retired {{ k.retired }}{% endif %}), base64 <code>{{ k.public_key }}</code></p><pre>{{ k.public_key_pem }}</pre>{% endfor %}{% endif %}
{% if not (ver.chain.ok and ver.recording.ok and ver.evidence.ok and (not ver.signature or ver.signature.ok)) %}<p class="fail"><strong>This session's record failed verification.</strong> What is shown below may have been altered after it was written.</p>{% endif %}

<h2>Decision</h2>
{% if v.reviews %}<table><tr><th>when</th><th>reviewer</th><th>decision</th><th>state</th><th>reason</th></tr>
{% for r in v.reviews %}<tr><td>{{ r.created_at }}</td><td>user {{ r.reviewer_id }}</td><td>{{ r.decision }}{% if r.is_override %} (override of #{{ r.overrides_review_id }}){% endif %}</td><td>{{ r.from_state }} → {{ r.to_state }}</td><td>{{ r.reason or "" }}</td></tr>{% endfor %}
</table>{% else %}<p>No decision yet.</p>{% endif %}
{% if v.comments %}<h3>Comments</h3><ul>{% for c in v.comments %}<li><strong>{{ "%.1f"|format(c.t) }} s</strong>{% if c.event_seq is not none %} (entry {{ c.event_seq }}){% endif %}: {{ c.text }} <small>— user {{ c.author_id }}, {{ c.created_at }}</small></li>{% endfor %}</ul>{% endif %}

<h2>Timeline</h2>
{{ timeline }}
<h2>Signals</h2>
{% if plots %}{{ plots }}{% else %}<p>No signal series stored.</p>{% endif %}

<h2>Identity</h2>
<p>{% for p in photos %}<img class="ev" src="{{ p }}" alt="enrolment photo" title="enrolment photo">{% else %}No enrolment photo stored.{% endfor %}</p>
{% if checks %}<p>Live frames at the identity checks:</p><p>{% for c in checks %}<figure style="display:inline-block;margin:2px"><img class="ev" src="{{ c.uri }}" alt="identity check at {{ c.t }} s"><figcaption><small>{{ c.label }}</small></figcaption></figure>{% endfor %}</p>{% endif %}

<h2>Events ({{ v.events|length }})</h2>
<table><tr><th>kind</th><th>from</th><th>to</th><th>severity</th><th>confidence</th><th>evidence</th></tr>
{% for e in v.events %}<tr id="{{ e.id }}"><td><strong>{{ e.kind }}</strong><br><small>{{ e.message or e.label }}</small></td>
<td>{{ "%.1f"|format(e.start) }} s</td><td>{% if e.end is not none %}{{ "%.1f"|format(e.end) }} s{% else %}open{% endif %}</td>
<td><span class="sev" style="background:{{ colours.get(e.severity, '#888') }}"></span>{{ e.severity }}</td><td>{{ "%.2f"|format(e.confidence or 0) }}</td>
<td>{% for f in e.frames %}<img class="ev" src="{{ f.uri }}" alt="{{ e.kind }} at {{ f.t }} s" title="{{ f.t }} s, sha256 {{ f.sha256[:12] }}…">{% endfor %}</td></tr>{% endfor %}
</table>

<h2>Browser and room</h2>
<ul>{% for e in v.browser_events %}<li>{{ e.kind }} at {{ "%.1f"|format(e.start) }} s{% if e.duration %} for {{ "%.1f"|format(e.duration) }} s{% endif %}</li>{% else %}<li>No browser events.</li>{% endfor %}
{% for r in v.room_scan.records %}<li>room scan {{ r.phase }} at {{ r.t }} s</li>{% endfor %}
{% for e in v.room_scan.events %}<li>{{ e.kind }} at {{ "%.1f"|format(e.start) }} s</li>{% endfor %}
{% for a in v.proctor_actions %}<li>proctor {{ a.type }} at {{ a.t }} s: {{ a.text or a.reason }}</li>{% endfor %}</ul>
</body></html>
""")


def _uri(data: bytes, mime: str = "image/jpeg") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _identity_frames(view: dict[str, Any], series: dict[str, Any], stores: Stores, limit: int = 6) -> list[dict[str, Any]]:
    """Stills of the recording at the identity checks (live ``identity_step`` records, offline series)."""
    from server.review.media import Piece, frame_at

    moments = [(float(s["t"]), f"{s['t']} s: {s.get('result') or ('match' if s.get('ok') else 'no match')}")
               for s in view["identity"]["steps"] if isinstance(s.get("t"), (int, float))]
    moments += [(float(f["t"]), f"{f['t']} s: distance {f['identity_distance']:.3f}")
                for f in series.get("frames", []) if f.get("identity_distance") is not None]
    if not moments:
        return []
    blobs = stores.recordings.blobs  # type: ignore[attr-defined]
    pieces = []
    for g in stores.recordings.list(view["id"]):
        if g.kind == "video" and blobs.exists(g.key):
            pieces.append(Piece(blobs.get(g.key), float(g.t_start or 0.0)))
    out = []
    for t, label in moments[:limit]:
        jpeg = frame_at(pieces, t, max_width=320)
        if jpeg:
            out.append({"t": t, "label": label, "uri": _uri(jpeg)})
    return out


def render_export(view: dict[str, Any], series: dict[str, Any], stores: Stores, user_id: int | None = None) -> str:
    blobs = stores.recordings.blobs  # type: ignore[attr-defined]
    events = []
    for e in view["events"]:
        frames = []
        for f in (e.get("evidence") or {}).get("frames", []) or []:
            key = f"{view['id']}/evidence/{f.get('name')}"
            try:
                if blobs.exists(key):
                    frames.append({**f, "uri": _uri(blobs.get(key))})
            except Exception:  # noqa: BLE001 - a bad name: no thumbnail; the verification says why
                pass
        events.append({**e, "frames": frames})
    photos = []
    for p in view["identity"]["photos"]:
        key = f"{view['id']}/enrolment/{p['sha256']}.jpg"
        if blobs.exists(key):
            photos.append(_uri(blobs.get(key)))
    checks = _identity_frames(view, series, stores)
    duration = max(float(view["duration_s"] or 0.0), 1.0)
    plots = None
    if series.get("frames") or series.get("audio"):
        plots = Markup(plots_svg(series, view["events"], duration, view["identity"].get("threshold")))
    return TEMPLATE.render(
        v={**view, "events": events}, ver=view["verification"], colours=SEVERITY_COLOURS, photos=photos,
        checks=checks, timeline=Markup(timeline_svg(view["events"], duration)), plots=plots, user_id=user_id,
        now=datetime.now(timezone.utc).isoformat(timespec="seconds"))
