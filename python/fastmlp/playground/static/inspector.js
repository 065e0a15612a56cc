// The step inspector: fm.explain's numbers for the next step, and any gradient entry's formula.
const SHOWN_ROWS = 12; // rows of a matrix drawn in a table (the formula uses them all)

export const fmt = (v) => (v === null || v === undefined ? "overflow" : Number(v).toPrecision(6));
const name = (key) => key.replace("dL_dW", "dL/dW").replace("dL_db", "dL/db").replace("dL_da", "dL/da").replace("_new", " new");

function matrix(key, value, clickable) {
  const table = document.createElement("table");
  table.className = "matrix";
  table.dataset.name = key;
  const cap = table.createCaption();
  const rows = Array.isArray(value[0]) ? value : [value]; // a vector is one row
  cap.textContent = `${name(key)} (${Array.isArray(value[0]) ? `${value.length} x ${value[0].length}` : value.length})`;
  rows.slice(0, SHOWN_ROWS).forEach((row, i) => {
    const tr = table.insertRow();
    row.forEach((v, j) => {
      const td = tr.insertCell();
      td.textContent = fmt(v);
      if (clickable) {
        td.className = "pick";
        td.dataset.name = key;
        td.dataset.i = Array.isArray(value[0]) ? i : j; // dL/db: entry j
        td.dataset.j = j;
        td.title = "show the formula with its operands";
        td.tabIndex = 0; // Enter or Space opens the formula as a click does
        td.setAttribute("aria-label", `${name(key)}[${td.dataset.i}]${Array.isArray(value[0]) ? `[${j}]` : ""} = ${fmt(v)}: show its formula`);
      }
    });
  });
  if (rows.length > SHOWN_ROWS) table.insertRow().insertCell().textContent = `... ${rows.length - SHOWN_ROWS} more rows`;
  return table;
}

function block(title, parts) {
  const div = document.createElement("div");
  div.className = "layer";
  const h = document.createElement("h4");
  h.textContent = title;
  div.append(h, ...parts);
  return div;
}

export function render(container, sweepBox, data, optimizer) {
  const v = data.backends[data.backend];
  const L = data.network.layer_sizes.length - 1;
  const parts = [];
  const p = document.createElement("p");
  p.id = "step-summary";
  p.textContent = `${data.title}. Learning rate ${data.lr}; batch loss ${fmt(data.loss_before)} before the step, ` +
    `${fmt(data.loss_after)} after it. Numbers from the ${data.backend} backend` +
    (optimizer !== "sgd" ? `; the step shown is plain gradient descent, while training uses ${optimizer}.` : ".");
  parts.push(p);
  parts.push(block("The batch", [matrix("x", v.x), matrix("t", v.t)]));
  for (let k = 1; k <= L; k++) {
    const out = k < L ? [matrix(`a${k}`, v[`a${k}`])] : [matrix("p", v.p)];
    parts.push(block(`Forward, layer ${k}: z${k} = ${k === 1 ? "x" : `a${k - 1}`} W${k} + b${k}, then ${k < L ? `a${k}` : "p"} = f(z${k})`,
      [matrix(`W${k}`, v[`W${k}`]), matrix(`b${k}`, v[`b${k}`]), matrix(`z${k}`, v[`z${k}`]), ...out]));
  }
  parts.push(block(`The error p - t and the loss ${fmt(v.loss)}`, [matrix("error", v.error)]));
  for (let k = L; k >= 1; k--) {
    const chain = k < L ? [matrix(`dL_da${k}`, v[`dL_da${k}`]), ...(v[`fprime${k}`] ? [matrix(`fprime${k}`, v[`fprime${k}`])] : [])] : [];
    parts.push(block(`Backward, layer ${k}: delta${k}, then dL/dW${k} = ${k === 1 ? "x" : `a${k - 1}`}^T delta${k} and dL/db${k} (click an entry)`,
      [...chain, matrix(`delta${k}`, v[`delta${k}`]), matrix(`dL_dW${k}`, v[`dL_dW${k}`], true), matrix(`dL_db${k}`, v[`dL_db${k}`], true)]));
  }
  for (let k = 1; k <= L; k++) {
    parts.push(block(`Update, layer ${k}: dW = -lr * dL/dW, W new = W + dW`,
      [matrix(`dW${k}`, v[`dW${k}`]), matrix(`W${k}_new`, v[`W${k}_new`]), matrix(`db${k}`, v[`db${k}`]), matrix(`b${k}_new`, v[`b${k}_new`])]));
  }
  parts.push(agreement(data.comparison));
  container.replaceChildren(...parts);
  sweep(sweepBox, data.lr_sweep);
}

// the clicked entry's formula, written out with its operands, from the same numbers
export function formula(data, key, i, j) {
  const v = data.backends[data.backend];
  const k = Number(key.replace(/\D+/g, ""));
  const delta = v[`delta${k}`];
  if (key.startsWith("dL_dW")) {
    const prevName = k === 1 ? "x" : `a${k - 1}`, prev = v[prevName];
    const terms = prev.map((row, r) => `${prevName}[${r}][${i}] * delta${k}[${r}][${j}] = ${fmt(row[i])} * ${fmt(delta[r][j])}`);
    const sum = prev.reduce((s, row, r) => s + row[i] * delta[r][j], 0);
    return `dL/dW${k}[${i}][${j}] = sum over the ${prev.length} rows r of ${prevName}[r][${i}] * delta${k}[r][${j}]\n` +
      `(dL/dW${k} = ${prevName}^T delta${k}: each input times each delta, summed over the rows)\n\n  ` +
      terms.join("\n+ ") + `\n\n= ${fmt(sum)} (summed here)   engine: ${fmt(v[key][i][j])}\n` +
      `update: dW${k}[${i}][${j}] = -lr * dL/dW${k}[${i}][${j}] = -${data.lr} * ${fmt(v[key][i][j])} = ${fmt(v[`dW${k}`][i][j])}`;
  }
  const terms = delta.map((row, r) => `delta${k}[${r}][${j}] = ${fmt(row[j])}`);
  const sum = delta.reduce((s, row) => s + row[j], 0);
  return `dL/db${k}[${j}] = sum over the ${delta.length} rows r of delta${k}[r][${j}]\n\n  ` + terms.join("\n+ ") +
    `\n\n= ${fmt(sum)} (summed here)   engine: ${fmt(v[key][j])}\n` +
    `update: db${k}[${j}] = -lr * dL/db${k}[${j}] = -${data.lr} * ${fmt(v[key][j])} = ${fmt(v[`db${k}`][j])}`;
}

// every backend computed the same step: the largest difference from the NumPy oracle per gradient
function agreement(rows) {
  const p = document.createElement("p");
  p.id = "agreement";
  const grads = (rows || []).filter((r) => /^(loss|dL_d[Wb]\d+)$/.test(r.quantity));
  if (!grads.length) return p;
  const backends = Object.keys(grads[0].max_abs_diff_by_backend);
  const worst = Math.max(...grads.map((r) => (r.max_abs_diff === null ? Infinity : r.max_abs_diff)));
  p.textContent = `The ${backends.join(" and ")} backend${backends.length > 1 ? "s" : ""} computed the same step as the NumPy ` +
    `oracle: the largest difference in the loss and the gradients is ${worst === 0 ? "0 (every digit equal)" : worst.toExponential(2)}.`;
  return p;
}

function sweep(box, s) {
  box.replaceChildren();
  if (!s) return;
  const h = document.createElement("h3");
  h.textContent = `The same step at other learning rates (and ${s.run_steps} steps on this batch at each)`;
  const table = document.createElement("table");
  table.className = "sweep";
  const head = table.insertRow();
  ["", "lr", "loss before", "loss after one step", "one step", `over ${s.run_steps} steps`].forEach((t) => {
    const th = document.createElement("th"); th.textContent = t; head.appendChild(th);
  });
  for (const r of s.rates) {
    const tr = table.insertRow();
    [r.label, r.lr, fmt(r.loss_before), fmt(r.loss_after), r.verdict, r.run_verdict].forEach((t) => { tr.insertCell().textContent = t; });
  }
  box.append(h, table);
}
