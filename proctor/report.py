"""``report.html`` for an analysed session: timeline, signal plots and evidence thumbnails (one HTML file,
plots inline as SVG, thumbnails linked from ``evidence/``)."""

from __future__ import annotations

import io
from html import escape
from pathlib import Path
from typing import Any

import jinja2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from proctor.events import EVENT_KINDS  # noqa: E402

SEVERITY_COLOURS = {"low": "#f2c14e", "medium": "#f08a4b", "high": "#d7263d"}

TEMPLATE = jinja2.Template(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Proctoring report: {{ summary.video_name }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222;max-width:1100px}
h1{font-size:1.4rem} h2{font-size:1.1rem;margin-top:2rem}
.verdict{display:inline-block;padding:.3rem .7rem;border-radius:4px;color:#fff;font-weight:600}
.clean{background:#2a9d8f}.suspicious{background:#f08a4b}.violation{background:#d7263d}
.ok{color:#2a9d8f;font-weight:600}.bad{color:#d7263d;font-weight:600}
table{border-collapse:collapse;width:100%;font-size:.9rem} td,th{border-bottom:1px solid #ddd;padding:.35rem;text-align:left;vertical-align:top}
.sev{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;margin-right:.3rem;vertical-align:middle}
img.thumb{width:160px;border:1px solid #ccc;margin:2px}
svg{max-width:100%;height:auto}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem} dt{font-weight:600}
</style></head><body>
<h1>Proctoring report: {{ summary.video_name }}</h1>
<p><span class="verdict {{ score.recommendation }}">{{ score.recommendation }}</span>
 integrity score <strong>{{ score.score }}</strong> / 100</p>
<dl>
<dt>Duration</dt><dd>{{ "%.1f"|format(summary.duration_s) }} s, {{ summary.frames_analysed }} frames analysed, {{ summary.identity_checks }} identity checks</dd>
<dt>Event chain</dt><dd>{% if verification.ok %}<span class="ok">verified</span>: {{ verification.checked }} entries, each linked to the one before (last hash <code>{{ last_hash[:16] }}…</code>){% else %}<span class="bad">FAILED</span>: {{ verification.reason }}{% endif %}</dd>
<dt>Neutral head pose</dt><dd>{% if neutral %}yaw {{ neutral.yaw }}°, pitch {{ neutral.pitch }}° (from {{ neutral.frames }} frames){% else %}not measured{% endif %}</dd>
<dt>Models</dt><dd>{% for k, v in models.items() %}<code>{{ v }}</code><br>{% endfor %}</dd>
</dl>
<h2>Timeline</h2>
{{ timeline_svg }}
<h2>Signals</h2>
{{ plots_svg }}
<h2>Score</h2>
<p>score = 100 − Σ weight × share of session time − {{ per_event }} × number of events (see README).</p>
<table><tr><th>kind</th><th>events</th><th>seconds</th><th>share</th><th>weight</th><th>penalty</th></tr>
{% for kind, b in score.breakdown.items() %}<tr><td>{{ kind }}</td><td>{{ b.count }}</td><td>{{ b.seconds }}</td><td>{{ "%.1f"|format(100*b.share) }}%</td><td>{{ b.weight }}</td><td>{{ b.penalty }}</td></tr>{% endfor %}
</table>
<h2>Events ({{ events|length }})</h2>
<table><tr><th>kind</th><th>from</th><th>to</th><th>duration</th><th>severity</th><th>confidence</th><th>evidence</th></tr>
{% for e in events %}<tr id="{{ e.id }}"><td><strong>{{ e.kind }}</strong><br><small>{{ e.message }}</small></td>
<td>{{ "%.1f"|format(e.start) }} s</td><td>{% if e.end is not none %}{{ "%.1f"|format(e.end) }} s{% else %}open{% endif %}</td>
<td>{% if e.duration is not none %}{{ "%.1f"|format(e.duration) }} s{% endif %}</td>
<td><span class="sev" style="background:{{ colours[e.severity] }}"></span>{{ e.severity }}</td><td>{{ "%.2f"|format(e.confidence) }}</td>
<td>{% for f in e.evidence.get("frames", []) %}<a href="evidence/{{ f.name }}"><img class="thumb" src="evidence/{{ f.name }}" alt="{{ e.kind }} at {{ f.t }} s" title="{{ f.t }} s, sha256 {{ f.sha256[:12] }}…"></a>{% endfor %}
{% for k, v in e.evidence.get("details", {}).items() %}<br><small>{{ k }}: {{ v }}</small>{% endfor %}</td></tr>
{% endfor %}</table>
</body></html>
"""
)


def timeline_svg(events: list[dict[str, Any]], duration: float) -> str:
    kinds = sorted({e["kind"] for e in events}) or ["(no events)"]
    width, left, row = 1000, 150, 22
    height = row * len(kinds) + 30
    scale = (width - left - 10) / max(duration, 1e-6)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="event timeline">']
    for i, kind in enumerate(kinds):
        y = i * row + 4
        parts.append(f'<text x="4" y="{y + 14}" font-size="12">{escape(kind)}</text>')
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y + 10}" y2="{y + 10}" stroke="#eee"/>')
    for e in events:
        y = kinds.index(e["kind"]) * row + 4
        end = e["end"] if e.get("end") is not None else duration
        x = left + e["start"] * scale
        w = max(3.0, (end - e["start"]) * scale)
        title = f'{e["kind"]} {e["start"]:.1f}-{end:.1f} s, {e["severity"]}, confidence {e["confidence"]:.2f}'
        parts.append(f'<a href="#{escape(e["id"])}"><rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="16" rx="2" '
                     f'fill="{SEVERITY_COLOURS.get(e["severity"], "#888")}"><title>{escape(title)}</title></rect></a>')
    axis_y = row * len(kinds) + 12
    step = _tick_step(duration)
    t = 0.0
    while t <= duration + 1e-6:
        x = left + t * scale
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{axis_y - 6}" y2="{axis_y}" stroke="#999"/>'
                     f'<text x="{x:.1f}" y="{axis_y + 12}" font-size="10" text-anchor="middle">{t:g}s</text>')
        t += step
    parts.append("</svg>")
    return "".join(parts)


def _tick_step(duration: float) -> float:
    for step in (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800):
        if duration / step <= 12:
            return float(step)
    return 3600.0


def plots_svg(series: dict[str, list[dict[str, Any]]], events: list[dict[str, Any]], duration: float,
               threshold: float | None) -> str:
    frames, audio = series.get("frames", []), series.get("audio", [])
    fig, axes = plt.subplots(4, 1, figsize=(10, 7.5), sharex=True)
    t = [f["t"] for f in frames]

    def col(key: str) -> list[float]:
        return [float("nan") if f.get(key) is None else float(f[key]) for f in frames]

    ax = axes[0]
    ax.plot(t, col("yaw"), label="yaw", lw=1)
    ax.plot(t, col("pitch"), label="pitch", lw=1)
    ax.set_ylabel("head (°)")
    ax.legend(loc="upper right", fontsize=8)
    axes[1].step(t, col("faces"), where="post", lw=1, color="#444")
    axes[1].set_ylabel("faces")
    ident = [(f["t"], f["identity_distance"]) for f in frames if f.get("identity_distance") is not None]
    if ident:
        axes[2].plot([a for a, _ in ident], [b for _, b in ident], "o-", ms=3, lw=1, color="#6a4c93")
    if threshold is not None:
        axes[2].axhline(threshold, color="#d7263d", lw=0.8, ls="--", label=f"threshold {threshold:.3f}")
        axes[2].legend(loc="upper right", fontsize=8)
    axes[2].set_ylabel("identity dist.")
    if audio:
        axes[3].plot([a["t"] for a in audio], [a["dbfs"] for a in audio], lw=0.8, color="#1d3557")
        for a in audio:
            if a.get("speech"):
                axes[3].axvspan(a["t"], a["t"] + 0.1, color="#a8dadc", lw=0)
    axes[3].set_ylabel("audio (dBFS)")
    axes[3].set_xlabel("time (s)")
    for e in events:
        end = e["end"] if e.get("end") is not None else duration
        for ax in axes:
            ax.axvspan(e["start"], end, color=SEVERITY_COLOURS.get(e["severity"], "#888"), alpha=0.12, lw=0)
    axes[-1].set_xlim(0, max(duration, 1e-3))
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]


def write_report(out: Path, doc: dict[str, Any], series: dict[str, list[dict[str, Any]]],
                 summary: dict[str, Any]) -> Path:
    entries = doc["entries"]
    start = entries[0]["record"] if entries else {}
    end = entries[-1]["record"] if entries else {}
    events = doc["events"]
    duration = float(summary["duration_s"])
    threshold = (start.get("settings") or {}).get("identity", {}).get("threshold") if start.get("enrolment") else None
    html = TEMPLATE.render(
        summary={**summary, "video_name": Path(summary["video"]).name},
        score=doc["score"],
        verification=doc["verification"],
        last_hash=entries[-1]["hash"] if entries else "",
        neutral=end.get("neutral_pose"),
        models=start.get("model_versions", {}),
        events=[{**e, "message": e.get("message") or EVENT_KINDS.get(e["kind"], "")} for e in events],
        colours=SEVERITY_COLOURS,
        per_event=(start.get("settings") or {}).get("score", {}).get("per_event_penalty", 0),
        timeline_svg=jinja2.utils.markupsafe.Markup(timeline_svg(events, duration)),
        plots_svg=jinja2.utils.markupsafe.Markup(plots_svg(series, events, duration, threshold)),
    )
    path = out / "report.html"
    path.write_text(html)
    return path
