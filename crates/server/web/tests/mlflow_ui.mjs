// MLflow's own web UI (the build of the installed mlflow package), served
// by `runlog server --mlflow-ui` and by `mlflow server`, each over the
// same data (tests/mlflow/ui_data.py): every page opens in a fresh tab and
// is timed until its content is drawn; on runlog's server no request may
// fail, no script error may happen and no error message may show.
// Prints one JSON report. Run by tests/browser.rs.
//
// Env: PLAYWRIGHT_CORE, RUNLOG_CHROMIUM, RUNLOG_SHOTS, SERVERS (JSON: a
// list of {name, url, ids: {experiment, runs, model}}), ROUNDS (timed
// loads of each page per server, the median reported).

const {chromium} = await import(process.env.PLAYWRIGHT_CORE);
const servers = JSON.parse(process.env.SERVERS);
const shots = process.env.RUNLOG_SHOTS;
const rounds = Number(process.env.ROUNDS || 1);

// What MLflow's UI shows when a request of a page failed.
const ERROR_TEXTS = ["Experiment load error", "Can't load run details", "Request error",
  "Something went wrong", "Internal Server Error", "Not Implemented", "Page not found",
  "RESOURCE_DOES_NOT_EXIST", "Error loading"];

/** The pages: a name, the fragment, and what must be on screen. */
function pages({experiment: e, runs, model}) {
  const json = (x) => encodeURIComponent(JSON.stringify(x));
  return [
    ["experiments", "#/experiments", ["sweep", "Default"]],
    ["runs-table", `#/experiments/${e}/runs`, ["run-0", "run-11"]],
    ["charts", `#/experiments/${e}/runs?compareRunsMode=CHART`, ["loss", "acc", "run-11"]],
    ["run", `#/experiments/${e}/runs/${runs[0]}`, ["run-0", "About this run", "lr", "team", "iris"]],
    ["run-artifacts", `#/experiments/${e}/runs/${runs[1]}/artifacts`, ["notes"]],
    ["compare", `#/compare-runs?runs=${json([runs[0], runs[1]])}&experiments=${json([e])}`,
      ["run-0", "run-1", "lr"]],
    ["logged-models", `#/experiments/${e}/models`, ["classifier"]],
    ["logged-model", `#/experiments/${e}/models/${model}`, ["classifier", model]],
    ["registered-models", "#/models", ["iris"]],
    ["registered-model", "#/models/iris", ["Version 1"]],
    ["model-version", "#/models/iris/versions/1", ["champion", "Inputs"]],
    ["webhooks", "#/settings/webhooks", ["deploy-hook", "192.0.43.10"]],
  ];
}

const browser = await chromium.launch({
  executablePath: process.env.RUNLOG_CHROMIUM,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const report = {};
try {
  for (const server of servers) {
    const context = await browser.newContext({viewport: {width: 1440, height: 900}});
    const problems = [];
    const times = {};
    for (const [name, fragment, wanted] of pages(server.ids)) {
      const samples = [];
      for (let round = 0; round < rounds; round++) {
        const page = await context.newPage();
        page.on("response", (r) => {
          // MLflow's server without sign-in has no current user either:
          // both answer 404, which the UI reads as "nobody signed in".
          if (r.status() >= 400 && r.url().startsWith(server.url) &&
              !r.url().includes("/mlflow/users/current")) {
            problems.push(`${name}: ${r.status()} ${r.request().method()} ${r.url()}`);
          }
        });
        page.on("pageerror", (e) => problems.push(`${name}: script error ${e.message}`));
        const t0 = Date.now();
        await page.goto(`${server.url}/${fragment}`);
        try {
          await page.waitForFunction((want) => {
            const text = document.body.innerText;
            return want.every((w) => text.includes(w));
          }, wanted, {timeout: 30000, polling: 25});
        } catch {
          const text = (await page.locator("body").innerText()).slice(0, 400);
          problems.push(`${name}: not all of ${JSON.stringify(wanted)} on screen: ${text}`);
        }
        samples.push(Date.now() - t0);
        if (name === "run-artifacts" && round === 0) {
          // The artifact's text, shown inline.
          await page.getByText("notes", {exact: true}).first().click();
          await page.getByText("readme.txt").first().click();
          await page.waitForFunction(() => document.body.innerText.includes("trained on 500 steps"),
            null, {timeout: 15000}).catch(() => problems.push(`${name}: the artifact's text not shown`));
        }
        // Let late requests of the page answer (and fail, if they do).
        await page.waitForTimeout(round === 0 ? 1500 : 200);
        const text = await page.locator("body").innerText();
        for (const e of ERROR_TEXTS) {
          if (text.includes(e)) problems.push(`${name}: the page says ${JSON.stringify(e)}`);
        }
        if (round === 0) await page.screenshot({path: `${shots}/${server.name}-${name}.png`});
        await page.close();
      }
      samples.sort((a, b) => a - b);
      times[name] = samples[Math.floor(samples.length / 2)];
    }
    report[server.name] = {times, problems};
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
