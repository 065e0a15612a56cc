// The replay: copies of one network trained at several rates on the same batches, played step by step.
import { post } from "./api.js";
import * as draw from "./draw.js";

const $ = (id) => document.getElementById(id);
const FRAME_MS = 200;
const PLOT_TOP = 2; // the plot's top is twice the starting loss: a diverging curve would flatten the others
const replay = { data: null, points: null, timer: null, shown: 0 };
const f = (v) => (v === null ? "not finite" : v.toPrecision(4));

// "0.1, 1, x" -> [0.1, 1, "x"]: the API names whatever is not a number
export const numberList = (text) => text.split(",").map((s) => s.trim()).filter(Boolean).map((s) => (isNaN(Number(s)) ? s : Number(s)));

function where(run, k) {
  if (run.diverged_at !== null && k >= run.diverged_at) return `diverged at step ${run.diverged_at} (${run.reason})`;
  return `loss ${f(run.curve[Math.min(k, run.curve.length - 1)])}`;
}

// what the numbers say, and nothing they do not
export function summary(data) {
  const runs = data.runs, start = runs[0].curve[0];
  const words = [`Every copy starts at loss ${f(start)}.`];
  const afterOne = runs.filter((r) => r.curve.length > 1 && r.curve[1] !== null);
  const best = afterOne.reduce((b, r) => (b === null || r.curve[1] < b.curve[1] ? r : b), null);
  if (best) words.push(`After one step the lowest loss is at lr ${best.lr}: ${f(best.curve[1])}.`);
  for (const r of runs) {
    words.push(r.status === "diverged" ? `lr ${r.lr} diverged at step ${r.diverged_at}: ${r.reason}.`
      : `lr ${r.lr}: loss ${f(r.curve[r.curve.length - 1])} after ${data.steps} steps.`);
  }
  if (best && best.status === "diverged") {
    words.push(`So the rate whose first step lowered the loss most (lr ${best.lr}) still diverged, at step ${best.diverged_at}.`);
  } else if (best) {
    const kept = runs.filter((r) => r.status !== "diverged");
    const last = (r) => r.curve[r.curve.length - 1];
    const end = kept.reduce((b, r) => (b === null || last(r) < last(b) ? r : b), null);
    if (end && end !== best) words.push(`After ${data.steps} steps the lowest loss is at lr ${end.lr} (${f(last(end))}), not at lr ${best.lr}, the best single step.`);
  }
  return words.join(" ");
}

function panels(data) {
  $("replay-panels").replaceChildren(...data.runs.map((r, i) => {
    const fig = document.createElement("figure");
    if (data.grid) {
      const canvas = document.createElement("canvas");
      canvas.width = 180; canvas.height = 180; canvas.id = `replay-canvas-${i}`;
      canvas.setAttribute("role", "img");
      fig.appendChild(canvas);
    }
    const cap = document.createElement("figcaption");
    cap.id = `replay-caption-${i}`;
    fig.appendChild(cap);
    return fig;
  }));
}

function table(data) {
  const t = $("replay-table");
  t.replaceChildren();
  t.createCaption().textContent = `Loss on the whole training set (${data.n_train} rows) after each step; empty once a copy diverged`;
  const head = t.insertRow();
  ["step", ...data.runs.map((r) => `lr ${r.lr}`)].forEach((s) => { const th = document.createElement("th"); th.textContent = s; head.appendChild(th); });
  for (let k = 0; k <= data.steps; k++) {
    const tr = t.insertRow();
    tr.insertCell().textContent = k;
    data.runs.forEach((r) => { tr.insertCell().textContent = k < r.curve.length ? f(r.curve[k]) : ""; });
  }
}

function show(k) {
  const data = replay.data;
  replay.shown = k;
  $("replay-step").value = k;
  data.runs.forEach((r, i) => {
    $(`replay-caption-${i}`).textContent = `lr ${r.lr}, ${draw.DASH_WORDS[i]} line: step ${k}, ${where(r, k)}`;
    if (data.grid) {
      const frame = r.frames[Math.min(k, r.frames.length - 1)];
      draw.boundary($(`replay-canvas-${i}`), { kind: "boundary", ...data.grid, ...frame }, replay.points);
    }
  });
  const top = data.runs[0].curve[0] === null ? undefined : PLOT_TOP * data.runs[0].curve[0];
  draw.curves($("replay-curves"), data.runs.map((r, i) => ({ points: r.curve.map((y, s) => [s, y]), ...draw.SERIES[i] })), "steps", k, top);
  $("replay-now").textContent = `Step ${k} of ${data.steps}: ` + data.runs.map((r) => `lr ${r.lr} ${where(r, k)}`).join("; ");
}

export function pause() {
  if (replay.timer) clearInterval(replay.timer);
  replay.timer = null;
  $("replay-play").textContent = "Play";
}

function play() {
  if (replay.timer) return pause();
  if (replay.shown >= replay.data.steps) show(0);
  $("replay-play").textContent = "Pause";
  replay.timer = setInterval(() => {
    if (replay.shown >= replay.data.steps) {
      pause();
      $("replay-summary").textContent = `Replay finished at step ${replay.data.steps}. ` + summary(replay.data);
      return;
    }
    show(replay.shown + 1);
  }, FRAME_MS);
}

export async function run(session, points, say) {
  pause();
  const steps = Number($("replay-steps").value);
  $("replay-summary").textContent = "Training the copies ...";
  try {
    const data = await post("/api/replay", { session, rates: numberList($("replay-rates").value), steps: isNaN(steps) ? $("replay-steps").value : steps });
    Object.assign(replay, { data, points });
    $("replay-factor").textContent = data.diverge_factor;
    panels(data);
    table(data);
    Object.assign($("replay-step"), { max: data.steps, disabled: false });
    $("replay-play").disabled = false;
    $("replay-curves").setAttribute("aria-label", `Loss after each step at ${data.runs.length} rates; the numbers are in the table below. ${summary(data)}`);
    show(0);
    $("replay-summary").textContent = `Trained ${data.runs.length} copies for up to ${data.steps} steps; playing them step by step. ${summary(data)}`;
    play();
  } catch (e) {
    $("replay-summary").textContent = "";
    say(e.message);
  }
}

export function wire() {
  $("replay-play").addEventListener("click", play);
  $("replay-step").addEventListener("input", () => { pause(); show(Number($("replay-step").value)); });
}
