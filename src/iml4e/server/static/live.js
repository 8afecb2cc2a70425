/* iml4e live charts: polls a deployment's stats route and draws SVG line charts.
   Plain JavaScript, no libraries; the page's table holds the same numbers without it. */
(function () {
  "use strict";
  const NS = "http://www.w3.org/2000/svg";
  const POLL_MS = 5000;
  const W = 360, H = 170, LEFT = 46, RIGHT = 10, TOP = 12, BOTTOM = 26;

  function node(name, attributes, text) {
    const made = document.createElementNS(NS, name);
    for (const [key, value] of Object.entries(attributes || {})) {
      made.setAttribute(key, String(value));
    }
    if (text !== undefined) made.textContent = text;
    return made;
  }

  function clock(ms) {
    return new Date(ms).toISOString().slice(11, 16);
  }

  function number(value) {
    if (value === null || value === undefined) return "–";
    if (Math.abs(value) >= 100) return value.toFixed(0);
    if (Math.abs(value) >= 10) return value.toFixed(1);
    return value.toFixed(2);
  }

  /* series: [{name, cls, points: [[ms, value|null], …]}] over [from, to] */
  function lineChart(box, series, from, to, summary) {
    const values = series.flatMap((s) => s.points.map((p) => p[1]).filter((v) => v !== null));
    const highest = values.length ? Math.max(...values) : 0;
    const peak = highest > 0 ? highest : 1;
    const top = peak * 1.1;
    const x = (ms) => LEFT + ((ms - from) / Math.max(to - from, 1)) * (W - LEFT - RIGHT);
    const y = (v) => H - BOTTOM - (v / top) * (H - TOP - BOTTOM);
    const label = document.getElementById(box.dataset.label);
    const svg = node("svg", {
      viewBox: `0 0 ${W} ${H}`, role: "img", class: "line-chart",
      "aria-label": `${label ? label.textContent : "chart"}: ${summary}`,
    });
    svg.appendChild(node("title", {}, `${label ? label.textContent : "chart"}: ${summary}`));
    for (const fraction of [0, 0.5, 1]) {
      const v = peak * fraction;
      svg.appendChild(node("line", { x1: LEFT, x2: W - RIGHT, y1: y(v), y2: y(v), class: "grid" }));
      svg.appendChild(node("text", { x: LEFT - 4, y: y(v) + 4, class: "tick y" }, number(v)));
    }
    svg.appendChild(node("text", { x: LEFT, y: H - 8, class: "tick" }, clock(from)));
    svg.appendChild(node("text", { x: W - RIGHT, y: H - 8, class: "tick end" }, clock(to) + " UTC"));
    series.forEach((s, index) => {
      let run = [];
      const flush = () => {
        if (run.length > 1) {
          svg.appendChild(node("polyline", { points: run.join(" "), class: `line ${s.cls}` }));
        }
        run = [];
      };
      for (const [ms, v] of s.points) {
        if (v === null) { flush(); continue; }
        run.push(`${x(ms).toFixed(1)},${y(v).toFixed(1)}`);
        svg.appendChild(node("circle", { cx: x(ms), cy: y(v), r: 2.2, class: `dot ${s.cls}` }));
      }
      flush();
      svg.appendChild(node("text", { x: LEFT + 6 + index * 70, y: TOP + 2, class: `legend ${s.cls}` }, s.name));
    });
    box.replaceChildren(svg);
  }

  function draw(section, data) {
    const from = Date.parse(data.since + "Z"), to = Date.parse(data.until + "Z");
    const middle = (b) => (Date.parse(b.start + "Z") + Date.parse(b.end + "Z")) / 2;
    const boxes = {};
    section.querySelectorAll("[data-chart]").forEach((box) => { boxes[box.dataset.chart] = box; });
    const counts = data.buckets.map((b) => b.count);
    if (boxes.requests) {
      lineChart(boxes.requests, [{ name: "requests", cls: "s1", points: data.buckets.map((b) => [middle(b), b.count]) }],
        from, to, `${data.total} requests, at most ${Math.max(0, ...counts)} in one bucket`);
    }
    if (boxes.latency) {
      const p95 = data.buckets.map((b) => b.p95_ms).filter((v) => v !== null);
      lineChart(boxes.latency, [
        { name: "p50", cls: "s1", points: data.buckets.map((b) => [middle(b), b.p50_ms]) },
        { name: "p95", cls: "s2", points: data.buckets.map((b) => [middle(b), b.p95_ms]) },
      ], from, to, p95.length ? `p95 up to ${number(Math.max(...p95))} ms` : "no requests");
    }
    if (boxes.drift) {
      const points = data.drift.map((p) => [Date.parse(p.at + "Z"), p.drift_share]);
      const last = data.drift.length ? data.drift[data.drift.length - 1].drift_share : null;
      lineChart(boxes.drift, [{ name: "drift share", cls: "s3", points }], from, to,
        data.drift.length ? `${data.drift.length} reports, latest ${number(last)}` : "no monitor report in the window");
    }
    const status = document.getElementById("live-status");
    if (status) {
      status.textContent = `${data.total} requests in the last ${data.window}; ` +
        `${data.drift.length} monitor reports. Updated ${clock(Date.now())} UTC.`;
    }
  }

  function poll(section) {
    const next = () => window.setTimeout(() => poll(section), POLL_MS);
    if (document.hidden) { next(); return; }
    fetch(section.dataset.statsUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((answer) => (answer.ok ? answer.json() : Promise.reject(new Error(`HTTP ${answer.status}`))))
      .then((data) => draw(section, data))
      .catch((error) => {
        const status = document.getElementById("live-status");
        if (status) status.textContent = `The live numbers could not be read (${error.message}); retrying.`;
      })
      .finally(next);
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("section[data-stats-url]").forEach((section) => poll(section));
  });
})();
