// The playground page: builds a session, trains it through the API, draws it, opens steps.
import { get, post } from "./api.js";
import * as draw from "./draw.js";
import * as inspector from "./inspector.js";
import * as replay from "./replay.js";
import { csv, open as openCsv, retarget } from "./csv.js";

const $ = (id) => document.getElementById(id);
const page = { session: null, state: null, points: null, explained: null, running: false, limits: null };
const RUN_STEPS = 10; // steps per request while running continuously

function say(text, kind) {
  $("message").textContent = text || "";
  $("message").className = kind || "";
}

function announce(text) {
  $("announce").textContent = text;
}

function fill(select, values, chosen) {
  select.replaceChildren(...values.map((v) => new Option(v === "csv" ? "your CSV file" : v, v, false, v === chosen)));
}

function task() {
  if ($("dataset").value === "csv") return csv.summary ? csv.summary.task : "classification";
  return $("dataset").value === "house-prices" ? "regression" : "classification";
}

function lossChoices() {
  fill($("loss"), page.limits.losses[task()], page.limits.losses[task()][0]);
}

function csvReady() {
  $("dataset").value = "csv";
  lossChoices();
  say("");
}

function formValues() {
  const f = $("config");
  const text = (n) => f.elements[n].value.trim();
  const number = (n) => (text(n) === "" || isNaN(Number(text(n))) ? text(n) : Number(text(n)));
  return {
    dataset: text("dataset"), n_points: number("n_points"), noise: number("noise"), hidden: text("hidden"),
    activation: text("activation"), loss: text("loss"), optimizer: text("optimizer"), lr: number("lr"),
    batch_size: number("batch_size"), seed: number("seed"),
    ...(text("dataset") === "csv" ? { csv: csv.text, target: csv.text ? text("target") : null } : {}),
  };
}

function enable(on) {
  for (const id of ["step1", "epoch", "run", "explain", "compare", "export-png", "replay-run"]) $(id).disabled = !on;
  for (const [id, file] of [["export-npz", "model.npz"], ["export-onnx", "model.onnx"], ["export-md", "step.md"]]) {
    if (on) $(id).href = `/api/export/${file}?session=${page.session}`;
    else $(id).removeAttribute("href");
  }
}

async function build(event) {
  event.preventDefault();
  stop();
  try {
    if (page.session) await post("/api/close", { session: page.session });
    const answer = await post("/api/session", formValues());
    Object.assign(page, { session: answer.session, state: answer.state, points: answer.points, explained: null });
    $("step").replaceChildren(); $("sweep").replaceChildren(); $("formula").textContent = "";
    const data = answer.state.data, on = data.csv ? `${csv.name} (target "${data.csv.target}", ${data.task})` : data.name;
    say(`Built a ${answer.state.layer_sizes.join("-")} network on ${on} (${answer.state.backend} backend).`, "info");
    announce(`Built a ${answer.state.layer_sizes.join("-")} network; nothing trained yet.`);
    enable(true);
    await show(answer.state);
  } catch (e) {
    enable(false);
    say(e.message);
  }
}

async function show(state) {
  page.state = state;
  const last = state.history[state.history.length - 1];
  const metric = state.metric_name;
  const f = (v) => (v === null ? "overflow" : v.toPrecision(4));
  $("status").textContent = `step ${state.steps} (epoch ${state.epochs.toFixed(2)}): loss ${f(last.loss)}, ` +
    `validation loss ${f(last.val_loss)}; ${metric} ${f(last.metric)}, validation ${metric} ${f(last.val_metric)}`;
  $("status").dataset.metric = last.metric ?? "";
  $("status").dataset.valMetric = last.val_metric ?? "";
  if (state.diverged) { stop(); say(state.diverged); announce(state.diverged); }
  draw.curves($("curves"), [
    { points: state.history.map((h) => [h.step, h.loss]), colour: "#c0392b" },
    { points: state.history.map((h) => [h.step, h.val_loss]), colour: "#2c3e50", dashed: true },
  ], "steps");
  $("curves").setAttribute("aria-label", `Loss curves over ${state.steps} steps: training ${f(state.history[0].loss)} at the start, ` +
    `${f(last.loss)} now; validation ${f(last.val_loss)} now.`);
  metricCurves(state);
  draw.weights($("weights"), state.weights);
  const grid = await get("/api/boundary", { session: page.session, resolution: 60 });
  $("boundary-caption").textContent = grid.kind === "fit"
    ? "The fit: predicted against actual target on the validation set (z-scores); the diagonal is perfect."
    : grid.kind === "none" ? `No decision picture: the data has ${state.data.n_features} inputs and the picture needs 2. The loss and ${metric} curves and the weights show the training.`
    : "Decision boundary: colour is the predicted class, paler where the network is less sure; hollow dots are validation points.";
  draw.boundary($("boundary"), grid, page.points);
}

const R2_FLOOR = -1; // R^2 can fall without bound: the plot stops at -1 and says so

function metricCurves(state) {
  const r2 = state.metric_name === "r2", shown = (v) => (v === null ? null : r2 ? Math.max(v, R2_FLOOR) : v);
  const name = r2 ? "R^2" : "Accuracy";
  draw.curves($("metric-curves"), [
    { points: state.history.map((h) => [h.step, shown(h.metric)]), colour: "#0072b2" },
    { points: state.history.map((h) => [h.step, shown(h.val_metric)]), colour: "#d55e00", dashed: true },
  ], "steps");
  const last = state.history[state.history.length - 1], f = (v) => (v === null ? "not finite" : v.toPrecision(4));
  $("metric-caption").textContent = `${name} per step: training (solid) and validation (dashed), measured the same way as the loss` +
    (r2 ? `; values below ${R2_FLOOR} are drawn at ${R2_FLOOR}.` : ".");
  $("metric-curves").setAttribute("aria-label", `${name} curves over ${state.steps} steps: training ${f(last.metric)}, validation ${f(last.val_metric)} now.`);
}

async function train(body) {
  try {
    await show(await post("/api/train", { session: page.session, ...body }));
  } catch (e) {
    stop();
    say(e.message);
  }
}

function stop() {
  if (page.running && page.state) announce(`Training paused at step ${page.state.steps}. ${$("status").textContent}`);
  page.running = false;
  $("run").textContent = "Run";
}

async function step(body) {
  stop();
  await train(body);
  if (page.state) announce(`Trained to ${$("status").textContent}`);
}

async function run() {
  if (page.running) return stop();
  page.running = true;
  $("run").textContent = "Pause";
  announce("Training continuously; press Pause to stop.");
  while (page.running && !page.state.diverged) await train({ steps: RUN_STEPS });
  stop();
}

async function explain() {
  stop();
  try {
    say("Opening the next step ...", "info");
    const data = await post("/api/explain", { session: page.session });
    page.explained = data;
    inspector.render($("step"), $("sweep"), data, page.state.config.optimizer);
    $("formula").textContent = "Click an entry of dL/dW or dL/db to see its formula with its operands.";
    say("");
  } catch (e) {
    say(e.message);
  }
}

function pick(event) {
  const td = event.target.closest("td.pick");
  if (!td || !page.explained) return;
  document.querySelectorAll("td.picked").forEach((c) => c.classList.remove("picked"));
  td.classList.add("picked");
  $("formula").textContent = inspector.formula(page.explained, td.dataset.name, Number(td.dataset.i), Number(td.dataset.j));
}

async function compare() {
  stop();
  const rates = replay.numberList($("compare-rates").value);
  const steps = Number($("compare-steps").value);
  try {
    const answer = await post("/api/compare", { session: page.session, rates, steps: isNaN(steps) ? $("compare-steps").value : steps });
    draw.curves($("compare-curves"), answer.runs.map((r, i) => ({ points: r.curve.map((y, s) => [s, y]), ...draw.SERIES[i] })), "steps");
    const legend = answer.runs.map((r, i) => {
      const li = document.createElement("li");
      const last = r.curve[r.curve.length - 1];
      li.textContent = `lr ${r.lr}: loss ${inspector.fmt(r.curve[0])} -> ${inspector.fmt(last)}` +
        (r.status === "diverged" ? ` (diverged at step ${r.diverged_at}: ${r.reason})` : "") + ` [${draw.DASH_WORDS[i]} line]`;
      li.style.borderLeft = `6px solid ${draw.SERIES[i].colour}`; // colour as a mark; the text stays dark for contrast
      return li;
    });
    $("compare-legend").replaceChildren(...legend);
    $("compare-curves").setAttribute("aria-label", "Loss per step at each rate: " + legend.map((li) => li.textContent).join("; "));
  } catch (e) {
    say(e.message);
  }
}

async function start() {
  page.limits = await get("/api/limits", {});
  const d = page.limits.defaults;
  fill($("dataset"), page.limits.datasets, d.dataset);
  fill($("activation"), page.limits.activations, d.activation);
  fill($("optimizer"), page.limits.optimizers, d.optimizer);
  lossChoices();
  $("dataset").addEventListener("change", lossChoices);
  $("csv-file").addEventListener("change", () => openCsv($("csv-file").files[0], page.limits, say, csvReady));
  $("target").addEventListener("change", () => retarget(say, csvReady));
  $("config").addEventListener("submit", build);
  $("step1").addEventListener("click", () => step({ steps: 1 }));
  $("epoch").addEventListener("click", () => step({ epochs: 1 }));
  $("run").addEventListener("click", run);
  $("explain").addEventListener("click", explain);
  $("step").addEventListener("click", pick);
  $("step").addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); pick(e); } });
  $("compare").addEventListener("click", compare);
  $("replay-run").addEventListener("click", () => { stop(); replay.run(page.session, page.points, say); });
  replay.wire();
  $("export-png").addEventListener("click", () => draw.svgToPng($("curves"), "playground_loss.png"));
  // one session per page: it ends when the page closes
  addEventListener("pagehide", () => {
    if (page.session) navigator.sendBeacon("/api/close", new Blob([JSON.stringify({ session: page.session })], { type: "application/json" }));
  });
  document.body.dataset.ready = "1";
}

start().catch((e) => say(`the playground could not start: ${e.message}`));
