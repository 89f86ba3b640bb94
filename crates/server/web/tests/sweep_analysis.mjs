// A sweep analysed in a real browser (tests/browser.rs made the store:
// "wide", 30 runs over 50 steps, and "big", 1,000 runs). Checks issue 26's
// analysis views by their data, not their pixels: group-by draws each
// group's mean between its min and max with a band, the mean equal to the
// members' average; x by another metric; log x; the tooltip sorted by
// value; one legend hiding a curve on every chart; a chart's CSV, PNG and
// SVG; full screen and resizing; parallel coordinates whose brush narrows
// the runs table to exactly the runs in range (30 runs, then 1,000); the
// scatter ticking the run clicked. Screenshots go to $RUNLOG_SHOTS.
import { readFile } from "node:fs/promises";
import { check, api as apiAt, launchChromium } from "./common.mjs";

const base = process.env.RUNLOG_URL;
const shots = process.env.RUNLOG_SHOTS;
const wide = process.env.RUNLOG_EXPERIMENT;
const big = process.env.RUNLOG_BIG;
const api = (path, body) => apiAt(base, path, body);

const browser = await launchChromium();
try {
  const page = await browser.newPage({viewport: {width: 1440, height: 900}, acceptDownloads: true});
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const charts = () => page.evaluate(() => window.runlogCharts());
  // `test` runs in the page: its parameter defaults to the charts there.
  const waitCharts = async (what, test) => {
    await page.waitForFunction(test, undefined, {timeout: 15000}).catch(async (e) => {
      console.error(String(e).slice(0, 400));
      const got = await page.evaluate(() => window.runlogCharts && window.runlogCharts().map((c) => [c.key, c.labels.length, c.data[0].length]));
      throw new Error(`${what}: ${JSON.stringify(got)}`);
    });
  };
  const download = async (selector) => {
    const [file] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
    return [file.suggestedFilename(), await readFile(await file.path())];
  };
  const all = (await api("mlflow/runs/search", {experiment_ids: [wide], max_results: 1000})).runs;
  const byName = Object.fromEntries(all.map((r) => [r.info.run_name, r]));
  const latest = (run, key) => run.data.metrics.find((m) => m.key === key).value;
  const param = (run, key) => run.data.params.find((p) => p.key === key).value;
  const ticked = ["run-12", "run-13", "run-14", "run-15", "run-16", "run-17"];
  const sel = ticked.map((n) => byName[n].info.run_id).join(",");

  // Grouped by optimizer: two groups, each a mean, a min and a max, a band between.
  await page.goto(`${base}/#/runs?e=${wide}&sel=${sel}&keys=loss,lr&g=p.optimizer`);
  await waitCharts("grouped charts", (c = window.runlogCharts && window.runlogCharts()) => !!c && c.length === 2 && c.every((x) => x.labels.length === 6 && x.data[0].length >= 50));
  const grouped = (await charts()).find((c) => c.key === "loss");
  check(JSON.stringify(grouped.labels) === JSON.stringify(["optimizer=adam (mean of 3)", "optimizer=adam min",
    "optimizer=adam max", "optimizer=sgd (mean of 3)", "optimizer=sgd min", "optimizer=sgd max"]),
  `the groups' curves: ${grouped.labels}`);
  check(await page.evaluate(() => window.runlogPlot(0).bands.length) === 2, "a band per group");
  const last = grouped.data[0].length - 1;
  for (const [g, at] of [["adam", 1], ["sgd", 4]]) {
    const members = ticked.map((n) => byName[n]).filter((r) => param(r, "optimizer") === g);
    const values = members.map((r) => latest(r, "loss"));
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    check(Math.abs(grouped.data[at][last] - mean) < 1e-9, `${g}'s mean at the last step: ${grouped.data[at][last]} vs ${mean}`);
    check(Math.abs(grouped.data[at + 1][last] - Math.min(...values)) < 1e-9 &&
      Math.abs(grouped.data[at + 2][last] - Math.max(...values)) < 1e-9, `${g}'s min and max at the last step`);
    check(grouped.data[at].every((v, j) => v === null || v === undefined ||
      (grouped.data[at + 1][j] <= v + 1e-12 && v <= grouped.data[at + 2][j] + 1e-12)), `${g}'s mean within its band`);
  }
  const legend = await page.locator("#chart-legend .legend-entry").allInnerTexts();
  check(JSON.stringify(legend) === JSON.stringify(["optimizer=adam (3 runs)", "optimizer=sgd (3 runs)"]), `legend ${legend}`);
  await page.screenshot({path: `${shots}/grouped.png`, fullPage: true});

  // The one legend hides a curve on every chart, and shows it again.
  await page.goto(`${base}/#/runs?e=${wide}&sel=${sel}&keys=loss,lr`);
  await waitCharts("six runs", (c = window.runlogCharts && window.runlogCharts()) => !!c && c.length === 2 && c.every((x) => x.labels.length === 6 && x.data[0].length >= 50));
  await page.click("#chart-legend .legend-entry >> nth=1");
  const hidden = await charts();
  check(hidden.every((c) => c.shown.join() === "true,false,true,true,true,true"), `hidden on every chart: ${hidden.map((c) => c.shown)}`);
  await page.click("#chart-legend .legend-entry >> nth=1");
  check((await charts()).every((c) => c.shown.every(Boolean)), "shown again");

  // The tooltip at step 25 lists the six runs' losses, highest first.
  const tip = await page.evaluate(() => {
    const u = window.runlogPlot(0);
    u.setCursor({left: u.valToPos(25, "x"), top: 20});
    return window.runlogCharts()[0].tooltip;
  });
  const tipValues = tip.map(([, v]) => +v);
  check(tip.length === 6 && tipValues.every((v, i) => i === 0 || tipValues[i - 1] >= v), `sorted tooltip: ${JSON.stringify(tip)}`);

  // The chart's data as CSV, the chart as PNG and SVG.
  const [csvName, csvBytes] = await download('.chart[data-key="loss"] .chart-csv');
  const csv = csvBytes.toString("utf8").trim().split("\r\n");
  check(csvName === "loss.csv" && csv[0] === `step,${ticked.join(",")}` && csv.length === 51, `chart CSV: ${csvName} ${csv[0]} ${csv.length}`);
  const row25 = csv.find((l) => l.startsWith("25,")).split(",").slice(1).map(Number);
  check(row25.every((v, i) => Math.abs(v - hidden[0].data[i + 1][25]) < 1e-12), "the CSV holds the drawn values");
  const [, png] = await download('.chart[data-key="loss"] .chart-png');
  check(png.subarray(1, 4).toString() === "PNG" && png.length > 5000, `a PNG: ${png.length} bytes`);
  const [, svgBytes] = await download('.chart[data-key="loss"] .chart-svg');
  const svg = svgBytes.toString("utf8");
  check(svg.startsWith("<svg") && (svg.match(/<path /g) || []).length === 6 && svg.includes("run-12"), "an SVG with six curves");
  const svgOk = await page.evaluate((text) => !new DOMParser().parseFromString(text, "image/svg+xml").querySelector("parsererror"), svg);
  check(svgOk, "the SVG parses");

  // Full screen, Esc back; resized by its corner, the plot follows.
  const normal = (await charts())[0];
  await page.click('.chart[data-key="loss"] .chart-expand');
  await page.waitForFunction(() => window.runlogCharts()[0].width > 1200, null, {timeout: 5000});
  await page.screenshot({path: `${shots}/full-screen.png`});
  await page.keyboard.press("Escape");
  await page.waitForFunction((w) => Math.abs(window.runlogCharts()[0].width - w) < 30, normal.width, {timeout: 5000});
  await page.evaluate(() => { const c = document.querySelector('.chart[data-key="loss"]'); c.style.height = "480px"; });
  await page.waitForFunction(() => window.runlogCharts()[0].height > 380, null, {timeout: 5000});

  // x by another metric: loss against lr (0.1 falling to 0).
  await page.selectOption("#x-axis", "m:lr");
  await waitCharts("x by lr", (c = window.runlogCharts && window.runlogCharts()) => !!c && c.length === 2 && c[0].data[0].length >= 50 && Math.max(...c[0].data[0]) <= 0.1);
  const byLr = (await charts())[0];
  check(Math.min(...byLr.data[0]) >= 0 && Math.max(...byLr.data[0]) <= 0.1 + 1e-12, `x is lr: ${byLr.x}`);
  check(await page.evaluate(() => window.runlogPlot(0).axes[0].label) === "lr", "the x axis says lr");
  check((await page.evaluate(() => location.hash)).includes("x=m%3Alr") ||
    (await page.evaluate(() => location.hash)).includes("x=m:lr"), "x in the URL");
  await page.screenshot({path: `${shots}/x-by-metric.png`, fullPage: true});

  // Log x: step 0 cannot be drawn, so it is left out; the scale is positive.
  await page.selectOption("#x-axis", "step");
  await page.check("#log-x");
  await waitCharts("log x", (c = window.runlogCharts && window.runlogCharts()) => !!c && c.length === 2 && c[0].data[0].length >= 49 && c[0].data[0][0] >= 1);
  const logX = (await charts())[0];
  check(logX.x[0] > 0 && logX.data[0][0] === 1, `log x from step 1: ${logX.x}`);
  await page.uncheck("#log-x");

  // Parallel coordinates over the 30 runs; a brush on loss narrows the table.
  await page.goto(`${base}/#/runs?e=${wide}&a=pc&pc=p.lr,p.optimizer,m.loss`);
  await page.waitForFunction(() => window.runlogParallel && document.querySelector("canvas.parallel"), null, {timeout: 10000});
  const table = () => page.locator("#runs tbody tr").evaluateAll((trs) => trs.map((tr) => tr.dataset.runId));
  const brushAxis = async (id, from, to) => {
    const g = await page.evaluate(() => window.runlogParallel.geometry());
    const x = g.axes.find(([c]) => c === id)[1];
    // The canvas in view: the mouse acts on what is on screen.
    await page.locator("canvas.parallel").scrollIntoViewIfNeeded();
    const box = await page.locator("canvas.parallel").boundingBox();
    const yFrom = await page.evaluate((p) => window.runlogParallel.geometry().y(p), from);
    const yTo = await page.evaluate((p) => window.runlogParallel.geometry().y(p), to);
    await page.mouse.move(box.x + x, box.y + yFrom);
    await page.mouse.down();
    await page.mouse.move(box.x + x, box.y + (yFrom + yTo) / 2, {steps: 3});
    await page.mouse.move(box.x + x, box.y + yTo, {steps: 3});
    await page.mouse.up();
  };
  // The lower half of loss's axis.
  await brushAxis("m.loss", -0.05, 0.5); // from below the axis: its least value is in
  await page.waitForFunction(() => location.hash.includes("br="), null, {timeout: 5000});
  const losses = all.map((r) => latest(r, "loss"));
  const [lo, hi] = [Math.min(...losses), Math.max(...losses)];
  const cut = lo + 0.5 * (hi - lo);
  const want = all.filter((r) => latest(r, "loss") <= cut).map((r) => r.info.run_id).sort();
  // The table lists runs whose loss is in range (their children folded
  // under parents may hide some: unfold all by listing top-level ones).
  const shown = (await table()).sort();
  check(shown.length > 0 && shown.every((id) => want.includes(id)), `the table narrows to the brushed runs: ${shown.length} of ${want.length}`);
  const count = await page.locator("#brushed-count").innerText();
  check(count === `${want.length} of 30 runs in the brushed ranges`, `the brushed count: ${count} (want ${want.length})`);
  // A second brush on a category axis: adam only.
  const g = await page.evaluate(() => window.runlogParallel.geometry());
  check(g.axes.map(([c]) => c).join() === "p.lr,p.optimizer,m.loss", `the axes from the URL: ${g.axes}`);
  await brushAxis("p.optimizer", 0.05, 0.45); // the lower of two categories: adam
  await page.waitForFunction(() => location.hash.includes("optimizer"), null, {timeout: 5000});
  const both = all.filter((r) => latest(r, "loss") <= cut && param(r, "optimizer") === "adam").length;
  check(await page.locator("#brushed-count").innerText() === `${both} of 30 runs in the brushed ranges`,
    `two brushes: ${await page.locator("#brushed-count").innerText()} (want ${both})`);
  await page.screenshot({path: `${shots}/parallel.png`, fullPage: true});
  // Another axis from the Axes picker, which stays open for the next.
  await page.click("#axis-picker summary");
  await page.check('#axis-picker label[data-column="m.lr"] input');
  await page.waitForFunction(() => window.runlogParallel.geometry().axes.map(([c]) => c).join() ===
    "p.lr,p.optimizer,m.loss,m.lr", null, {timeout: 5000});
  check(await page.locator("#axis-picker").evaluate((d) => d.open), "the Axes picker is still open");
  check((await page.evaluate(() => location.hash)).includes("m.lr"), "the axes in the URL");
  await page.click("#clear-brushes");
  await page.waitForFunction(() => !location.hash.includes("br="), null, {timeout: 5000});

  // The scatter: loss against hyper_parameter_01; a click ticks the run.
  await page.goto(`${base}/#/runs?e=${wide}&a=scatter&sx=p.hyper_parameter_01&sy=m.loss`);
  await page.waitForFunction(() => window.runlogScatter && document.querySelector("canvas.scatter"), null, {timeout: 10000});
  const target = byName["run-20"].info.run_id;
  const point = await page.evaluate((id) => window.runlogScatter.pointOf(window.runlogScatter.runs.find((r) => r.info.run_id === id)), target);
  await page.locator("canvas.scatter").scrollIntoViewIfNeeded();
  const sbox = await page.locator("canvas.scatter").boundingBox();
  await page.mouse.click(sbox.x + point[0], sbox.y + point[1]);
  await page.waitForFunction((id) => location.hash.includes(`sel=${id}`), target, {timeout: 5000});
  await waitCharts("the clicked run charted", (c = window.runlogCharts && window.runlogCharts()) => !!c && c.length === 9 && c[0].labels.join() === 'run-20');
  await page.screenshot({path: `${shots}/scatter.png`, fullPage: true});

  // 1,000 runs: parallel coordinates draw them all, a brush narrows the table.
  await page.goto(`${base}/#/runs?e=${big}&a=pc&pc=p.lr,p.batch,p.optimizer,m.loss,m.acc`);
  await page.waitForFunction(() => document.querySelector("#brushed-count")?.textContent === "1000 runs", null, {timeout: 20000});
  await brushAxis("m.loss", -0.05, 0.1);
  await page.waitForFunction(() => /of 1000 runs in the brushed ranges/.test(document.querySelector("#brushed-count").textContent),
    null, {timeout: 5000});
  const bigCount = +(await page.locator("#brushed-count").innerText()).split(" ")[0];
  check(bigCount > 0 && bigCount < 300, `a tenth of loss's axis holds some runs: ${bigCount}`);
  const rows = await page.locator("#runs tbody tr").count();
  check(rows > 0 && rows <= 100 && rows <= bigCount, `the table's page narrowed: ${rows}`);
  console.log(`brush redraw over 1000 runs: ${await page.evaluate(() => window.runlogParallel.timing().toFixed(1))} ms`);
  await page.screenshot({path: `${shots}/parallel-1000.png`, fullPage: true});

  check(errors.length === 0, `no page errors: ${errors.join("; ")}`);
} finally {
  await browser.close();
}
