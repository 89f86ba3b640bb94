// The server's JSON API: MLflow's REST endpoints as `runlog server` serves
// them, and runlog's own under /ajax-api/2.0/runlog/ (experiments with run
// counts, downsampled series, live points, artifacts).

export const API = "/ajax-api/2.0/";

/** A call to the server's JSON API; an MLflow error becomes an Error. */
export async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify(body),
  };
  const res = await fetch(API + path, init);
  const text = await res.text();
  let json;
  try { json = text ? JSON.parse(text) : {}; } catch (e) { json = {message: text}; }
  if (!res.ok) {
    const err = new Error(json.message || `${res.status} ${res.statusText}`);
    err.code = json.error_code;
    throw err;
  }
  return json;
}
