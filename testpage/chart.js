// Value over time as inline SVG: one line, one circle per reading, axis extremes as labels.
// Built with DOM calls, never from markup strings, so a sensor id cannot inject anything.
(function (root) {
  "use strict";

  const SVG = "http://www.w3.org/2000/svg";
  const HEIGHT = 260;
  const PAD = { left: 64, right: 16, top: 16, bottom: 40 };

  function el(name, attrs, text) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attrs || {})) {
      node.setAttribute(key, String(value));
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function formatValue(value) {
    return Math.abs(value) >= 1e6 || (value !== 0 && Math.abs(value) < 1e-3)
      ? value.toExponential(2)
      : String(Math.round(value * 1000) / 1000);
  }

  function formatTime(ms, withMillis) {
    const text = new Date(ms).toISOString().replace("T", " ");
    return withMillis ? text : text.replace(/\.\d{3}Z$/, "Z");
  }

  /**
   * Draws `readings` ({time: ms, value: number}[], any order) into `svg`, replacing what was
   * there.
   */
  function drawChart(svg, readings, sensorId) {
    // The drawing is as wide as its box, so labels keep their size from phone to desktop.
    const WIDTH = Math.max(280, Math.min(1200, Math.round(svg.getBoundingClientRect().width) || 640));
    svg.replaceChildren();
    svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
    svg.setAttribute("role", "img");
    const points = readings.slice().sort((a, b) => a.time - b.time);
    if (points.length === 0) {
      svg.setAttribute("aria-label", "No readings to chart.");
      svg.append(el("text", { x: WIDTH / 2, y: HEIGHT / 2, "text-anchor": "middle", class: "chart-empty" }, "No readings"));
      return;
    }
    const times = points.map((p) => p.time);
    const values = points.map((p) => p.value);
    let [t0, t1] = [Math.min(...times), Math.max(...times)];
    let [v0, v1] = [Math.min(...values), Math.max(...values)];
    // A single reading (or a flat series) still needs a range to place it in the middle.
    if (t0 === t1) {
      t0 -= 1000;
      t1 += 1000;
    }
    if (v0 === v1) {
      const spread = Math.abs(v0) > 0 ? Math.abs(v0) * 0.1 : 1;
      v0 -= spread;
      v1 += spread;
    }
    const plotW = WIDTH - PAD.left - PAD.right;
    const plotH = HEIGHT - PAD.top - PAD.bottom;
    const x = (t) => PAD.left + ((t - t0) / (t1 - t0)) * plotW;
    const y = (v) => PAD.top + plotH - ((v - v0) / (v1 - v0)) * plotH;

    svg.setAttribute(
      "aria-label",
      `Chart of ${points.length} readings of sensor ${sensorId}, from ${formatTime(times[0])} to ` +
        `${formatTime(times[times.length - 1])}, values ${formatValue(Math.min(...values))} to ` +
        `${formatValue(Math.max(...values))}.`,
    );
    const bottom = PAD.top + plotH;
    const narrow = WIDTH < 480;
    // Readings seconds apart need the milliseconds to tell the axis ends apart.
    const millis = t1 - t0 < 10_000;
    svg.append(
      el("line", { x1: PAD.left, y1: bottom, x2: WIDTH - PAD.right, y2: bottom, class: "axis" }),
      el("line", { x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: bottom, class: "axis" }),
      el("text", { x: PAD.left - 6, y: PAD.top + 4, "text-anchor": "end", class: "tick" }, formatValue(v1)),
      el("text", { x: PAD.left - 6, y: bottom, "text-anchor": "end", class: "tick" }, formatValue(v0)),
      // On a narrow chart the two time labels would overlap on one line.
      el("text", { x: PAD.left, y: HEIGHT - (narrow ? 20 : 12), "text-anchor": "start", class: "tick" }, formatTime(t0, millis)),
      el("text", { x: WIDTH - PAD.right, y: HEIGHT - (narrow ? 4 : 12), "text-anchor": "end", class: "tick" }, formatTime(t1, millis)),
    );
    if (points.length > 1) {
      const path = points.map((p, i) => `${i === 0 ? "M" : "L"}${x(p.time).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ");
      svg.append(el("path", { d: path, class: "series" }));
    }
    for (const p of points) {
      const dot = el("circle", { cx: x(p.time).toFixed(1), cy: y(p.value).toFixed(1), r: 3.5, class: "point" });
      dot.append(el("title", {}, `${new Date(p.time).toISOString()}: ${p.value}`));
      svg.append(dot);
    }
  }

  root.TestPage = Object.assign(root.TestPage || {}, { chart: { drawChart } });
})(globalThis);
