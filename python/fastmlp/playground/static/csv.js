// The CSV a user opens: its text is read here and checked by the API, which names its columns.
import { post } from "./api.js";

const $ = (id) => document.getElementById(id);
export const csv = { text: null, name: null, summary: null };

function describe(s) {
  const kind = s.task === "classification" ? `classification into ${s.classes.length} classes (${s.classes.join(", ")})` : "regression";
  const picture = s.n_features === 2 && s.task === "classification" ? "the decision boundary is drawn"
    : "no decision picture (it needs 2 inputs and classes): the curves and the weights show the training";
  return `${csv.name}: ${s.n_rows} rows, ${s.n_features} input column${s.n_features > 1 ? "s" : ""}, target "${s.target}": ${kind}; ${picture}.`;
}

async function check(target) {
  const s = await post("/api/csv", { csv: csv.text, target });
  csv.summary = s;
  $("target").replaceChildren(...s.columns.map((c) => new Option(c, c, false, c === s.target)));
  $("target").disabled = false;
  $("csv-info").textContent = describe(s);
  return s;
}

// a file was chosen: read it, have the API check it; onReady(summary) when it is usable
export async function open(file, limits, say, onReady) {
  Object.assign(csv, { text: null, name: null, summary: null });
  $("target").replaceChildren();
  $("target").disabled = true;
  if (!file) return;
  if (file.size > limits.max_csv_bytes) {
    say(`${file.name} is ${file.size} bytes; the playground opens CSV files of at most ${limits.max_csv_bytes} bytes.`);
    return;
  }
  try {
    csv.text = await file.text();
    csv.name = file.name;
    onReady(await check(null));
  } catch (e) {
    Object.assign(csv, { text: null, summary: null });
    $("csv-info").textContent = "No usable CSV file opened.";
    say(`${file.name}: ${e.message}`);
  }
}

export async function retarget(say, onReady) {
  if (!csv.text) return;
  try {
    onReady(await check($("target").value));
  } catch (e) {
    say(e.message);
  }
}
