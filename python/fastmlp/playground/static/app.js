// The playground page: builds a session, trains it through the API, draws it, opens steps.
import { get, post } from "./api.js";
import * as draw from "./draw.js";
import * as inspector from "./inspector.js";

const $ = (id) => document.getElementById(id);
const page = { session: null, state: null, points: null, explained: null, running: false, limits: null };
const RUN_STEPS = 10; // steps per request while running continuously

function say(text, kind) {
  $("message").textContent = text || "";
  $("message").className = kind || "";
}

function fill(select, values, chosen) {
  select.replaceChildren(...values.map((v) => new Option(v, v, false, v === chosen)));
}

function lossChoices() {
  const task = $("dataset").value === "house-prices" ? "regression" : "classification";
  fill($("loss"), page.limits.losses[task], page.limits.losses[task][0]);
}

function formValues() {
  const f = $("config");
  const text = (n) => f.elements[n].value.trim();
  const number = (n) => (text(n) === "" || isNaN(Number(text(n))) ? text(n) : Number(text(n)));
  return {
    dataset: text("dataset"), n_points: number("n_points"), noise: number("noise"), hidden: text("hidden"),
    activation: text("activation"), loss: text("loss"), optimizer: text("optimizer"), lr: number("lr"),
    batch_size: number("batch_size"), seed: number("seed"),
  };
}

function enable(on) {
  for (const id of ["step1", "epoch", "run", "explain", "compare", "export-png"]) $(id).disabled = !on;
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
    say(`Built a ${answer.state.layer_sizes.join("-")} network on ${answer.state.data.name} (${answer.state.backend} backend).`, "info");
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
  if (state.diverged) { stop(); say(state.diverged); }
  draw.curves($("curves"), [
    { points: state.history.map((h) => [h.step, h.loss]), colour: "#c0392b" },
    { points: state.history.map((h) => [h.step, h.val_loss]), colour: "#2c3e50", dashed: true },
  ], "steps");
  draw.weights($("weights"), state.weights);
  const grid = await get("/api/boundary", { session: page.session, resolution: 60 });
  $("boundary-caption").textContent = grid.kind === "fit"
    ? "The fit: predicted against actual price on the validation set (z-scores); the diagonal is perfect."
    : "Decision boundary: colour is the predicted class, paler where the network is less sure; hollow dots are validation points.";
  draw.boundary($("boundary"), grid, page.points);
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
  page.running = false;
  $("run").textContent = "Run";
}

async function run() {
  if (page.running) return stop();
  page.running = true;
  $("run").textContent = "Pause";
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
  const rates = $("compare-rates").value.split(",").map((s) => s.trim()).filter(Boolean).map((s) => (isNaN(Number(s)) ? s : Number(s)));
  const steps = Number($("compare-steps").value);
  try {
    const answer = await post("/api/compare", { session: page.session, rates, steps: isNaN(steps) ? $("compare-steps").value : steps });
    const colours = ["#c0392b", "#27ae60", "#2980b9", "#8e44ad", "#d35400", "#16a085"];
    draw.curves($("compare-curves"), answer.runs.map((r, i) => ({ points: r.curve.map((y, s) => [s, y]), colour: colours[i] })), "steps");
    $("compare-legend").replaceChildren(...answer.runs.map((r, i) => {
      const li = document.createElement("li");
      const last = r.curve[r.curve.length - 1];
      li.textContent = `lr ${r.lr}: loss ${inspector.fmt(r.curve[0])} -> ${inspector.fmt(last)}` + (r.status === "diverged" ? " (diverged)" : "");
      li.style.color = colours[i];
      return li;
    }));
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
  $("config").addEventListener("submit", build);
  $("step1").addEventListener("click", () => { stop(); train({ steps: 1 }); });
  $("epoch").addEventListener("click", () => { stop(); train({ epochs: 1 }); });
  $("run").addEventListener("click", run);
  $("explain").addEventListener("click", explain);
  $("step").addEventListener("click", pick);
  $("compare").addEventListener("click", compare);
  $("export-png").addEventListener("click", () => draw.svgToPng($("curves"), "playground_loss.png"));
  // one session per page: it ends when the page closes
  addEventListener("pagehide", () => {
    if (page.session) navigator.sendBeacon("/api/close", new Blob([JSON.stringify({ session: page.session })], { type: "application/json" }));
  });
  document.body.dataset.ready = "1";
}

start().catch((e) => say(`the playground could not start: ${e.message}`));
