// Another web site against `runlog server` (tests/browser.rs starts the
// server; this script drives Debian's chromium with playwright-core).
// A page of http://evil.test (served by playwright, so its origin is a
// real other site) tries what a page a user visits could: a no-cors
// text/plain POST and an HTML form POST that delete an experiment, and a
// cross-origin read. Then DNS rebinding: evil.test is mapped to 127.0.0.1
// and the page is loaded from the server's own port under that name, from
// where it reads and writes "same-origin". Last, the dashboard itself
// still works and breaks no Content-Security-Policy rule. Prints one JSON
// object of what happened; the Rust test judges it.
const { chromium } = await import(process.env.PLAYWRIGHT_CORE);
const base = process.env.RUNLOG_URL;
const experiment = process.env.RUNLOG_EXPERIMENT;
const port = new URL(base).port;

const browser = await chromium.launch({
  executablePath: process.env.RUNLOG_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP evil.test 127.0.0.1",
    // Chromium's own guard for pages calling private addresses (Private
    // Network Access) is off, as in browsers that lack it: the requests
    // must reach the server, whose checks are what is tested.
    "--disable-features=PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults,BlockInsecurePrivateNetworkRequests,LocalNetworkAccessChecks,LocalNetworkAccessChecksWebSockets"],
});
const out = {};
try {
  const page = await browser.newPage();
  const attack = `<!doctype html><html><body>
<iframe name="sink"></iframe>
<form id="f" method="POST" enctype="text/plain" target="sink"
      action="${base}/api/2.0/mlflow/experiments/delete">
  <input name='{"experiment_id": "${experiment}", "x": "' value='"}'>
</form>
<script>
window.results = (async () => {
  const r = {};
  try {
    await fetch("${base}/api/2.0/mlflow/experiments/delete", {method: "POST", mode: "no-cors",
      headers: {"Content-Type": "text/plain"}, body: JSON.stringify({experiment_id: "${experiment}"})});
    r.no_cors_post = "sent";
  } catch (e) { r.no_cors_post = "failed: " + e; }
  try {
    const res = await fetch("${base}/api/2.0/mlflow/experiments/get?experiment_id=${experiment}");
    r.cross_origin_read = "read " + res.status + " " + (await res.text()).slice(0, 80);
  } catch (e) { r.cross_origin_read = "blocked"; }
  document.getElementById("f").submit();
  await new Promise((done) => setTimeout(done, 1500));
  r.form_post = "submitted";
  return r;
})();
</script></body></html>`;
  await page.route("http://evil.test/**", (route) =>
    route.fulfill({status: 200, contentType: "text/html", body: attack}));
  await page.goto("http://evil.test/");
  out.attacker = await page.evaluate(() => window.results);

  // DNS rebinding: the attacker's name now points at the server.
  const rebound = await page.goto(`http://evil.test:${port}/`);
  out.rebound_page = rebound.status();
  out.rebound = await page.evaluate(async (id) => {
    const read = await fetch("/api/2.0/mlflow/experiments/search", {method: "POST",
      headers: {"Content-Type": "application/json"}, body: "{}"});
    const del = await fetch("/api/2.0/mlflow/experiments/delete", {method: "POST",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify({experiment_id: id})});
    return {read: read.status, delete: del.status, body: (await read.text()).slice(0, 120)};
  }, experiment);

  // The dashboard, from its own origin: works, and breaks no CSP rule.
  const dash = await browser.newPage();
  const violations = [];
  dash.on("console", (m) => { if (/Content.Security.Policy|Refused to/i.test(m.text())) violations.push(m.text()); });
  dash.on("pageerror", (e) => violations.push(String(e)));
  await dash.goto(`${base}/#/`);
  await dash.waitForSelector("#view table, #view .empty, #view h1", {timeout: 10000});
  await dash.waitForTimeout(500);
  out.dashboard_same_origin_post = await dash.evaluate(async () => {
    const res = await fetch("/ajax-api/2.0/mlflow/experiments/search", {method: "POST",
      headers: {"Content-Type": "application/json"}, body: "{}"});
    return res.status;
  });
  out.csp_violations = violations;
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
