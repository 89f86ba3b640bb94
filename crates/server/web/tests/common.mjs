// What the dashboard's browser tests share: a check that fails the run
// with its reason, MLflow's JSON API of the server under test, and
// Debian's chromium started as this machine needs it (no sandbox as root,
// no background connections to a closed network).

/** Throws `check failed: <what>` unless `ok`. */
export function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
}

/** A call to `base`'s /ajax-api/2.0/ API: GET without a body, else POST. */
export async function api(base, path, body) {
  const res = await fetch(`${base}/ajax-api/2.0/${path}`, body === undefined ? {} : {
    method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify(body)});
  return res.json();
}

/** Headless chromium ($RUNLOG_CHROMIUM, else Debian's) through the
 * playwright-core module at $PLAYWRIGHT_CORE. */
export async function launchChromium() {
  const { chromium } = await import(process.env.PLAYWRIGHT_CORE);
  return chromium.launch({
    executablePath: process.env.RUNLOG_CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}
