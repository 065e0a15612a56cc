// Calls the playground's JSON API; a refused request throws an Error carrying the server's message.
export async function call(method, route, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(route, options);
  let data;
  try {
    data = await response.json();
  } catch (e) {
    throw new Error(`the server answered ${response.status} without JSON`);
  }
  if (!response.ok) throw new Error(data.error || `the server answered ${response.status}`);
  return data;
}

export const get = (route, params) => call("GET", `${route}?${new URLSearchParams(params)}`);
export const post = (route, body) => call("POST", route, body);
