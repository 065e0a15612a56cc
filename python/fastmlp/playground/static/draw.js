// Pictures of the session: the decision boundary (or the fit), loss curves as SVG, weights as colours.
const CLASS_COLOURS = [[230, 120, 40], [40, 110, 200], [60, 160, 80], [160, 60, 160]];
const SVG = "http://www.w3.org/2000/svg";
// several runs in one plot: colours safe for red-green colour blindness, each with its own dash pattern
export const SERIES = [
  { colour: "#0072b2", dash: "none" }, { colour: "#d55e00", dash: "6 3" }, { colour: "#009e73", dash: "2 2" },
  { colour: "#cc79a7", dash: "8 3 2 3" }, { colour: "#333333", dash: "1 3" }, { colour: "#e69f00", dash: "10 4" },
];
export const DASH_WORDS = ["solid", "dashed", "dotted", "dash-dot", "sparse dots", "long dashes"];

export function boundary(canvas, grid, points) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  if (grid.kind === "none") return canvas.setAttribute("aria-label", grid.reason);
  if (grid.kind === "fit") return fit(canvas, ctx, W, H, grid);
  canvas.setAttribute("aria-label", describeRegions(grid));
  // one pixel per grid point on a small canvas, scaled up smoothly (row 0 is the lowest y)
  const n = grid.resolution, small = document.createElement("canvas");
  small.width = n; small.height = n;
  const image = small.getContext("2d").createImageData(n, n);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const k = r * n + c, o = 4 * ((n - 1 - r) * n + c);
      const [R, G, B] = CLASS_COLOURS[grid.label[k] % CLASS_COLOURS.length];
      const a = Math.max(0, Math.min(1, ((grid.confidence[k] ?? 0) - 0.5) * 1.6)) * 0.55 + 0.08;
      image.data.set([R, G, B, Math.round(255 * a)], o);
    }
  }
  small.getContext("2d").putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(small, 0, 0, W, H);
  const [x0, x1] = grid.x_range, [y0, y1] = grid.y_range;
  const px = (x) => ((x - x0) / (x1 - x0)) * W, py = (y) => H - ((y - y0) / (y1 - y0)) * H;
  const dots = (xs, ys, hollow) => xs.forEach((p, i) => {
    const [R, G, B] = CLASS_COLOURS[ys[i] % CLASS_COLOURS.length];
    ctx.beginPath();
    ctx.arc(px(p[0]), py(p[1]), 3, 0, 2 * Math.PI);
    ctx.fillStyle = hollow ? "white" : `rgb(${R},${G},${B})`;
    ctx.strokeStyle = hollow ? `rgb(${R},${G},${B})` : "white";
    ctx.fill(); ctx.stroke();
  });
  dots(points.x, points.y, false);
  dots(points.x_val, points.y_val, true);
}

// the picture in words: how much of the plane each class takes, and how sure the network is
function describeRegions(grid) {
  const n = grid.label.length, counts = {};
  grid.label.forEach((c) => { counts[c] = (counts[c] || 0) + 1; });
  const shares = Object.keys(counts).sort().map((c) => `class ${c} ${Math.round((100 * counts[c]) / n)}%`);
  const sure = grid.confidence.filter((c) => c !== null && c >= 0.9).length;
  return `Decision regions on a ${grid.resolution} by ${grid.resolution} grid: ${shares.join(", ")} of the plane; ` +
    `the network gives its class a probability of 0.9 or more on ${Math.round((100 * sure) / n)}% of it.`;
}

function fit(canvas, ctx, W, H, grid) {
  // regression: predicted against actual on the validation set; the diagonal is a perfect fit
  const vals = grid.actual.concat(grid.predicted.filter((v) => v !== null));
  const lo = Math.min(...vals), hi = Math.max(...vals), pad = 0.05 * (hi - lo || 1);
  const s = (v) => ((v - lo + pad) / (hi - lo + 2 * pad));
  ctx.strokeStyle = "#999"; ctx.beginPath(); ctx.moveTo(0, H); ctx.lineTo(W, 0); ctx.stroke();
  ctx.fillStyle = "rgb(40,110,200)";
  grid.actual.forEach((a, i) => {
    const p = grid.predicted[i];
    if (p === null) return;
    ctx.fillRect(s(a) * W - 2, H - s(p) * H - 2, 4, 4);
  });
  ctx.fillStyle = "#333"; ctx.font = "12px sans-serif";
  ctx.fillText("x: actual (z-score), y: predicted", 6, 14);
  const pairs = grid.actual.map((a, i) => [a, grid.predicted[i]]).filter((p) => p[1] !== null);
  const mad = pairs.reduce((s, [a, p]) => s + Math.abs(a - p), 0) / (pairs.length || 1);
  canvas.setAttribute("aria-label", `Predicted against actual target on ${grid.actual.length} validation rows (z-scores): ` +
    `the mean distance from a perfect fit is ${mad.toPrecision(3)}.`);
}

function el(name, attrs, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

// series: [{points: [[x, y], ...], colour, dashed or dash (a pattern)}]; null y values end a line;
// marker: an x where a vertical line marks the step shown; yMax: higher values drawn at the top edge
export function curves(svg, series, xLabel, marker, yMax) {
  svg.replaceChildren();
  const W = +svg.getAttribute("width"), H = +svg.getAttribute("height");
  const m = { l: 48, r: 10, t: 10, b: 28 };
  el("rect", { x: 0, y: 0, width: W, height: H, fill: "white" }, svg);
  const all = series.flatMap((s) => s.points.filter((p) => p[1] !== null && isFinite(p[1])));
  if (!all.length) return;
  const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
  const xlo = Math.min(...xs), xhi = Math.max(...xs, xlo + 1);
  const ylo = Math.min(0, ...ys), yhi = Math.min(Math.max(...ys), yMax ?? Infinity) || 1;
  const X = (x) => m.l + ((x - xlo) / (xhi - xlo)) * (W - m.l - m.r);
  const Y = (y) => m.t + (1 - (Math.min(y, yhi) - ylo) / (yhi - ylo)) * (H - m.t - m.b);
  el("line", { x1: m.l, y1: H - m.b, x2: W - m.r, y2: H - m.b, stroke: "#888" }, svg);
  el("line", { x1: m.l, y1: m.t, x2: m.l, y2: H - m.b, stroke: "#888" }, svg);
  const text = (x, y, s, anchor) => { const t = el("text", { x, y, "font-size": 11, "text-anchor": anchor || "start", fill: "#333" }, svg); t.textContent = s; };
  text(m.l - 4, Y(yhi) + 4, yhi.toPrecision(3), "end");
  text(m.l - 4, Y(ylo), ylo.toPrecision(3), "end");
  text(m.l, H - 8, String(xlo));
  text(W - m.r, H - 8, `${xhi} ${xLabel}`, "end");
  for (const s of series) {
    let d = "", pen = "M";
    for (const [x, y] of s.points) {
      if (y === null || !isFinite(y)) { pen = "M"; continue; }
      d += `${pen}${X(x).toFixed(1)},${Y(y).toFixed(1)} `;
      pen = "L";
    }
    el("path", { d, fill: "none", stroke: s.colour, "stroke-width": 1.6, "stroke-dasharray": s.dash || (s.dashed ? "5 3" : "none") }, svg);
  }
  if (marker !== undefined) el("line", { x1: X(marker), y1: m.t, x2: X(marker), y2: H - m.b, stroke: "#555", "stroke-dasharray": "2 2" }, svg);
}

export function weights(container, matrices) {
  container.replaceChildren();
  matrices.forEach((w, k) => {
    const rows = w.length, cols = w[0].length, cell = Math.max(4, Math.min(14, Math.floor(160 / Math.max(rows, cols))));
    const canvas = document.createElement("canvas");
    canvas.width = cols * cell; canvas.height = rows * cell;
    canvas.title = `W${k + 1}: ${rows} x ${cols}`;
    const flat = w.flat(), positive = flat.filter((v) => v !== null && v > 0).length;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `W${k + 1}, ${rows} inputs by ${cols} units: ${positive} of ${flat.length} weights positive, ` +
      `the largest size ${Math.max(...flat.map((v) => Math.abs(v ?? 0))).toPrecision(3)}` +
      (flat.includes(null) ? `, ${flat.filter((v) => v === null).length} not finite` : ""));
    const ctx = canvas.getContext("2d");
    const big = Math.max(1e-12, ...w.flat().map((v) => Math.abs(v ?? 0)));
    w.forEach((row, i) => row.forEach((v, j) => {
      const a = Math.abs(v ?? 0) / big;
      ctx.fillStyle = v === null ? "black" : v >= 0 ? `rgba(230,120,40,${a})` : `rgba(40,110,200,${a})`;
      ctx.fillRect(j * cell, i * cell, cell, cell);
    }));
    container.appendChild(canvas);
  });
}

// the SVG drawn onto a canvas, as a PNG file the browser saves
export function svgToPng(svg, filename) {
  const text = new XMLSerializer().serializeToString(svg);
  const img = new Image();
  img.onload = () => {
    const canvas = document.createElement("canvas");
    canvas.width = svg.width.baseVal.value; canvas.height = svg.height.baseVal.value;
    canvas.getContext("2d").drawImage(img, 0, 0);
    canvas.toBlob((blob) => {
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob); a.download = filename; a.click();
    });
  };
  img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(text);
}
