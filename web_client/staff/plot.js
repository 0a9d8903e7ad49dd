// A small SVG line plot of a learner's footprint over time (no library, no CDN): attendance, on-time hand-ins
// and progress (0..100 %) as lines, grades as dots. The same figures are in a table beside it for screen readers;
// the SVG itself has a title and description and hides its marks from the accessibility tree.
const NS = "http://www.w3.org/2000/svg";
export const SERIES = [
  { key: "attendance_pct", color: "#0b57d0", dash: "" },
  { key: "on_time_pct", color: "#8a4b00", dash: "6 3" },
  { key: "progress_pct", color: "#146c2e", dash: "2 3" },
];

function s(tag, attrs = {}, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

export function footprintPlot(points, grades, { title, desc, labels, width = 720, height = 260 }) {
  const m = { l: 44, r: 28, t: 12, b: 34 };
  const W = width - m.l - m.r, H = height - m.t - m.b;
  const times = points.map((p) => Date.parse(p.at)).concat(grades.map((g) => Date.parse(g.at)));
  const t0 = Math.min(...times), t1 = Math.max(...times);
  const x = (t) => m.l + (t1 === t0 ? W : ((t - t0) / (t1 - t0)) * W);
  const y = (v) => m.t + H - (v / 100) * H;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": "plot-title plot-desc", id: "fp-plot" });
  svg.append(s("title", { id: "plot-title" }, title), s("desc", { id: "plot-desc" }, desc));
  const g = s("g", { "aria-hidden": "true" });
  for (const v of [0, 25, 50, 75, 100]) {
    g.append(s("line", { x1: m.l, x2: m.l + W, y1: y(v), y2: y(v), stroke: "#d0d0d0" }),
      s("text", { x: m.l - 6, y: y(v) + 4, "text-anchor": "end" }, `${v}%`));
  }
  const fmt = (t) => new Date(t).toLocaleDateString(document.documentElement.lang, { month: "short", day: "numeric" });
  const ticks = points.length <= 8 ? points : points.filter((_, i) => i % Math.ceil(points.length / 8) === 0);
  ticks.forEach((p, i) => g.append(s("text", { x: x(Date.parse(p.at)), y: m.t + H + 18,
    "text-anchor": ticks.length > 1 && i === ticks.length - 1 ? "end" : i === 0 ? "start" : "middle" }, fmt(Date.parse(p.at)))));
  for (const ser of SERIES) {
    let d = "";
    let pen = false;
    for (const p of points) {
      const v = p[ser.key];
      if (v === null || v === undefined) { pen = false; continue; }
      d += `${pen ? "L" : "M"}${x(Date.parse(p.at)).toFixed(1)},${y(v).toFixed(1)} `;
      pen = true;
    }
    if (d) g.append(s("path", { d, fill: "none", stroke: ser.color, "stroke-width": 2.5, "stroke-dasharray": ser.dash, "data-series": ser.key }));
    for (const p of points) { // a mark at every point: a series with one point so far still shows
      const v = p[ser.key];
      if (v !== null && v !== undefined) g.append(s("rect", { x: x(Date.parse(p.at)) - 3, y: y(v) - 3, width: 6, height: 6, fill: ser.color }));
    }
  }
  for (const gr of grades) {
    if (gr.percent === null || gr.percent === undefined) continue;
    g.append(s("circle", { cx: x(Date.parse(gr.at)), cy: y(gr.percent), r: 5, fill: "#6b1d8f", "data-series": "grade" }));
  }
  svg.append(g);
  const legend = document.createElement("ul");
  legend.className = "legend";
  for (const ser of SERIES.concat([{ key: "grade", color: "#6b1d8f", dash: "" }])) {
    const li = document.createElement("li");
    const sw = document.createElement("span");
    sw.className = `swatch ${ser.key}`;
    sw.setAttribute("aria-hidden", "true");
    li.append(sw, document.createTextNode(labels[ser.key]));
    legend.append(li);
  }
  return [svg, legend];
}
