// The dashboard in a real browser (Debian's chromium, driven by
// playwright-core), against a `runlog server` that tests/browser.rs
// started over a store it made. Checks what the issue asks: the
// experiments page lists them; a filter narrows the runs table and a bad
// one shows its error; three selected runs draw three curves per key (the
// charts' data, not pixels); a zoom asks the server for the range; a run
// another process logs into gains points on screen within seconds; a
// run's page links its parent and shows its text artifacts inline. And
// issue 26's frictions: statuses in words and colours, the Metrics picker
// staying open, no stale page count after a bad filter, headers that look
// clickable only where they sort, a run's own tags, datasets and sizes in
// words.
// Screenshots of every view go to $RUNLOG_SHOTS. Exits non-zero with the
// reason on the first failure. Talks to the Rust test on stdout:
// "LIVE-READY" (start logging now), "LIVE-SEEN <ms>".
import { check, api as apiAt, launchChromium } from "./common.mjs";

const base = process.env.RUNLOG_URL;
const shots = process.env.RUNLOG_SHOTS;
const api = (path, body) => apiAt(base, path, body);

const browser = await launchChromium();
try {
  const page = await browser.newPage({viewport: {width: 1400, height: 1000}});
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const seriesRequests = [];
  page.on("request", (r) => { if (r.url().includes("/runlog/series")) seriesRequests.push(r.postData() || ""); });
  const rows = (sel) => page.locator(`${sel} tbody tr`).count();
  const waitRows = async (sel, n, what) => {
    await page.waitForFunction(([s, n]) => document.querySelectorAll(`${s} tbody tr`).length === n,
      [sel, n], {timeout: 10000}).catch(async () => {
      throw new Error(`${what}: ${await rows(sel)} rows, not ${n}`);
    });
  };

  // Experiments.
  await page.goto(`${base}/#/`);
  await page.waitForSelector("#experiments tbody tr");
  const names = await page.locator("#experiments tbody td:nth-child(2)").allInnerTexts();
  check(names.includes("sweep") && names.includes("other"), `experiments listed: ${names}`);
  await page.screenshot({path: `${shots}/experiments.png`});
  // Headers: none looks clickable (none sorts), numbers' headers over numbers.
  const heads = await page.locator("#experiments thead th").evaluateAll((ths) =>
    ths.map((th) => [th.textContent, getComputedStyle(th).cursor, getComputedStyle(th).textAlign]));
  check(heads.every(([, cursor]) => cursor !== "pointer"), `experiment headers look fixed: ${JSON.stringify(heads)}`);
  check(heads.filter(([t]) => ["Id", "Runs", "Running"].includes(t)).every(([, , align]) => align === "right"),
    `number headers right-aligned: ${JSON.stringify(heads)}`);

  const sweep = (await api("mlflow/experiments/get-by-name?experiment_name=sweep")).experiment.experiment_id;
  const other = (await api("mlflow/experiments/get-by-name?experiment_name=other")).experiment.experiment_id;
  const all = (await api("mlflow/runs/search", {experiment_ids: [sweep], max_results: 1000})).runs;

  // Two experiments ticked: the runs of both in one table.
  await page.check(`tr[data-experiment-id="${sweep}"] input[type=checkbox]`);
  await page.check(`tr[data-experiment-id="${other}"] input[type=checkbox]`);
  await page.click("#compare-experiments");
  await waitRows("#runs", 13, "the runs of two experiments (run-1 folded under run-0)");
  const byName = Object.fromEntries(all.map((r) => [r.info.run_name, r.info.run_id]));
  check(all.length === 13, `13 runs in sweep, found ${all.length}`);

  // The runs table, a filter, a bad filter.
  await page.goto(`${base}/#/runs?e=${sweep}`);
  await waitRows("#runs", 12, "the runs table (run-1 folded under run-0)");
  await page.screenshot({path: `${shots}/runs.png`});
  const runHeads = await page.locator("#runs thead th").evaluateAll((ths) =>
    ths.map((th) => [th.dataset.column, getComputedStyle(th).cursor, getComputedStyle(th).textAlign]));
  const headOf = (col) => runHeads.find(([c]) => c === col) || [];
  check(headOf("start")[1] === "pointer" && headOf("duration")[1] !== "pointer" && headOf("m.loss")[2] === "right",
    `runs headers: sortable ones look it, metrics right-aligned: ${JSON.stringify(runHeads)}`);
  await page.fill("#filter", "params.lr = '0.1'");
  await page.press("#filter", "Enter");
  await waitRows("#runs", 4, "filter params.lr = '0.1'");
  check((await page.evaluate(() => location.hash)).includes("f=params.lr"), "the filter is in the URL");
  await page.fill("#filter", "metrics.loss <<< 2");
  await page.press("#filter", "Enter");
  await page.waitForFunction(() => document.querySelector("#filter-error").textContent.length > 0, null, {timeout: 10000});
  const error = await page.locator("#filter-error").innerText();
  await page.screenshot({path: `${shots}/filter-error.png`});
  // No stale "page 1, 4 runs" over the empty table.
  const pagerText = await page.locator("#pager").innerText();
  check(!/page \d/.test(pagerText), `no page count after a bad filter: ${pagerText}`);
  await page.fill("#filter", "");
  await page.press("#filter", "Enter");
  await waitRows("#runs", 12, "the filter cleared");
  check(/at character \d+/.test(error), `a bad filter shows its error and where: ${error}`);

  // Statuses in MLflow's words, coloured: Failed, Finished, Running.
  const statusOf = async (name) => page.locator(`tr[data-run-id="${byName[name]}"] .status`).first();
  for (const [name, word, cls] of [["run-11", "Failed", "status-failed"], ["run-0", "Finished", "status-finished"],
    ["live", "\u25CF Running", "status-running"]]) {
    const badge = await statusOf(name);
    check((await badge.innerText()) === word && (await badge.getAttribute("class")).includes(cls),
      `${name}'s status reads ${word}: ${await badge.innerText()}`);
  }
  const failedColour = await (await statusOf("run-11")).evaluate((e) => getComputedStyle(e).color);
  check(failedColour === "rgb(180, 35, 24)", `Failed in red: ${failedColour}`);

  // Three runs selected: three curves per key.
  for (const name of ["run-0", "run-5", "run-9"]) {
    await page.check(`tr[data-run-id="${byName[name]}"] input[type=checkbox]`);
  }
  await page.waitForFunction(() => window.runlogCharts && window.runlogCharts().length === 2 &&
    window.runlogCharts().every((c) => c.labels.length === 3 && c.data[0].length > 0), null, {timeout: 10000});
  const charts = await page.evaluate(() => window.runlogCharts());
  for (const c of charts) {
    check(c.labels.join() === "run-0,run-5,run-9", `${c.key}: curves ${c.labels}`);
    for (let i = 1; i <= 3; i++) {
      check(c.data[i].filter((v) => v !== null).length > 100, `${c.key}: curve ${i} has its points`);
    }
  }
  await page.screenshot({path: `${shots}/charts.png`, fullPage: true});
  // One legend above the charts, not one under each; three charts a row at 1400 px.
  check(await page.locator(".u-legend").count() === 0 && await page.locator("#chart-legend").count() === 1,
    "one legend for all the charts");
  check(JSON.stringify(await page.locator("#chart-legend .legend-entry").allInnerTexts()) === '["run-0","run-5","run-9"]',
    "the legend names the three runs");
  const columns = await page.locator(".charts").evaluate((g) => getComputedStyle(g).gridTemplateColumns.split(" ").length);
  check(columns >= 3, `charts a row at 1400 px: ${columns}`);
  // The Metrics picker stays open while keys are ticked off and on.
  await page.click("#metric-picker summary");
  await page.uncheck("#metric-picker input[type=checkbox] >> nth=0");
  await page.waitForFunction(() => window.runlogCharts().length === 1, null, {timeout: 10000});
  check(await page.locator("#metric-picker").evaluate((d) => d.open), "the picker is still open after a tick");
  await page.check("#metric-picker input[type=checkbox] >> nth=0");
  await page.waitForFunction(() => window.runlogCharts().length === 2 &&
    window.runlogCharts().every((c) => c.labels.length === 3 && c.data[0].length > 0), null, {timeout: 10000});
  check(await page.locator("#metric-picker").evaluate((d) => d.open), "the picker is still open after two ticks");
  await page.click("#metric-picker summary");

  // Zoom by dragging (the selection uPlot makes): the server is asked for
  // the range, and the chart then holds only steps in it.
  const before = seriesRequests.length;
  await page.evaluate(() => {
    const u = window.runlogPlot(0);
    const left = u.valToPos(500, "x"), right = u.valToPos(1000, "x");
    u.setSelect({left, width: right - left, top: 0, height: 100}, true);
  });
  await page.waitForFunction(() => location.hash.includes("z=") && window.runlogCharts().length === 2 &&
    Math.min(...window.runlogCharts()[0].data[0]) >= 490, null, {timeout: 10000});
  const asked = seriesRequests.slice(before).map((b) => JSON.parse(b));
  check(asked.some((b) => b.start_step >= 490 && b.end_step <= 1010), `a range request: ${JSON.stringify(asked)}`);
  const zoomed = await page.evaluate(() => window.runlogCharts()[0].data[0]);
  check(Math.max(...zoomed) <= 1010, `zoomed x within the range: ${Math.min(...zoomed)}..${Math.max(...zoomed)}`);
  await page.screenshot({path: `${shots}/zoomed.png`, fullPage: true});
  await page.click("#reset-zoom");
  await page.waitForFunction(() => !location.hash.includes("z=") && window.runlogCharts().length === 2 &&
    Math.max(...window.runlogCharts()[0].data[0]) > 1500, null, {timeout: 10000});

  // Live: another process logs into the RUNNING run "live".
  await page.goto(`${base}/#/runs?e=${sweep}&sel=${byName.live}`);
  await page.waitForFunction(() => window.runlogCharts && window.runlogCharts().length > 0 &&
    window.runlogCharts()[0].labels.join() === "live" && window.runlogCharts()[0].data[0].length > 0,
  null, {timeout: 10000});
  const lastStep = await page.evaluate(() => Math.max(...window.runlogCharts()[0].data[0]));
  console.log("LIVE-READY");
  const t0 = Date.now();
  await page.waitForFunction((s) => Math.max(...window.runlogCharts()[0].data[0]) > s, lastStep,
    {timeout: 15000, polling: 50}).catch(() => { throw new Error(`no new point on screen after step ${lastStep}`); });
  console.log(`LIVE-SEEN ${Date.now() - t0}`);
  await page.screenshot({path: `${shots}/live.png`, fullPage: true});

  // One run, with its parent.
  await page.goto(`${base}/#/run/${byName["run-1"]}`);
  await page.waitForSelector("section h2");
  const text = await page.locator("main").innerText();
  check(text.includes(byName["run-0"]), "run-1 links its parent run-0");
  check(text.includes("lr"), "run-1 shows its params");
  // Its dataset in words, not JSON; its own tags apart from MLflow's.
  check(text.includes("training: s3://bucket/train.csv (s3), 12,000 rows, digest 3f2a9c1e") && !text.includes('{"uri"'),
    `the dataset input in words: ${text.slice(text.indexOf("Dataset inputs"), text.indexOf("Artifacts"))}`);
  const userTags = await page.locator("#user-tags").innerText();
  check(userTags.includes("team") && !userTags.includes("mlflow."), `user tags alone: ${userTags}`);
  check(!(await page.locator("#system-tags").evaluate((d) => d.open)) &&
    (await page.locator("#system-tags summary").innerText()).startsWith("System tags ("), "MLflow's tags folded away");
  // Its artifacts: open the directory, the text file shows inline.
  await page.click("text=notes/");
  await page.waitForFunction(() => [...document.querySelectorAll("pre.artifact")]
    .some((p) => p.textContent.includes("trained on 2,000 steps")), null, {timeout: 10000});
  const size = await page.locator('li[data-artifact="notes/summary.txt"] > span').innerText();
  check(size.trim() === "22 B", `the file's size in units: ${size}`);
  await page.screenshot({path: `${shots}/run.png`, fullPage: true});

  // MLflow's URLs: the "View run at" link its clients print opens the run;
  // an experiment's and a comparison's open its runs.
  await page.goto(`${base}/#/experiments/${sweep}/runs/${byName["run-1"]}`);
  await page.waitForFunction((id) => location.hash === `#/run/${id}`, byName["run-1"], {timeout: 10000});
  await page.waitForSelector("section h2");
  check((await page.locator("main").innerText()).includes(byName["run-0"]), "MLflow's run URL opens the run");
  await page.goto(`${base}/#/experiments/${sweep}`);
  await page.waitForFunction((e) => location.hash === `#/runs?e=${e}`, sweep, {timeout: 10000});
  const compare = `#/compare-runs?runs=${encodeURIComponent(JSON.stringify([byName["run-1"]]))}` +
    `&experiments=${encodeURIComponent(JSON.stringify([sweep]))}`;
  await page.goto(`${base}/${compare}`);
  await page.waitForFunction((want) => location.hash === want, `#/compare?e=${sweep}&runs=${byName["run-1"]}`,
    {timeout: 10000});
  await page.waitForSelector("#compare");
  check(!(await page.locator("main").innerText()).includes("No such page"), "MLflow's compare URL opens the comparison");

  // Moving on before a page has loaded: the page asked for last is the one
  // shown. The runs page's first answer is held back until the Models view is drawn.
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  let passed;
  const through = new Promise((resolve) => { passed = resolve; });
  await page.route("**/experiments/get?*", async (r) => { await held; await r.continue(); passed(); });
  await page.goto(`${base}/#/runs?e=${sweep}`);
  // Models: the registered model and the logged model, linked both ways.
  await page.click("#models-link");
  await page.waitForSelector("#registered-models tr[data-registered='sweep-model']");
  release();
  await through;
  await page.unroute("**/experiments/get?*");
  await page.waitForTimeout(500);
  check(await page.locator("#registered-models").isVisible() && !(await page.locator("#runs-box").count()),
    "the runs page, answered late, does not replace the Models page asked for after it");
  const models = await page.locator("main").innerText();
  check(models.includes("@champion"), "the registered model shows its alias");
  check(models.includes("forest") && models.includes("accuracy 0.93"), "the logged model shows its metric");
  await page.screenshot({path: `${shots}/models.png`, fullPage: true});
  await page.click("text=forest");
  // The model's page, not the list still on screen: its view replaces the
  // list whole, once every request of it has answered.
  await page.waitForFunction(() => location.hash.startsWith("#/model/") &&
    document.querySelector("main").innerText.includes("Model id"), null, {timeout: 10000});
  const model = await page.locator("main").innerText();
  check(model.includes("n_estimators") && model.includes("sweep-model v1"), "the model page: params, versions");
  check(model.includes(byName["run-1"]), "the model page links its run");
  await page.click("text=sweep-model v1");
  await page.waitForSelector("#model-versions tr[data-version='1']");
  check((await page.locator("main").innerText()).includes("the best of the sweep"), "the registered model's page");
  await page.screenshot({path: `${shots}/registered.png`, fullPage: true});

  check(errors.length === 0, `no page errors: ${errors.join("; ")}`);
} finally {
  await browser.close();
}
