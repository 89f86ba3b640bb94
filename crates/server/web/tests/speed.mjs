// The dashboard's speed in headless chromium (BENCHMARKS.md, "The
// dashboard"), against a `runlog server` over the stores
// examples/dashboard_fixture.rs makes. Run by benches/dashboard_speed.sh;
// prints one line per measurement (medians of RUNS runs).
//   RUNLOG_URL, PLAYWRIGHT_CORE, LONG (experiment id,run,ids), WIDE (same),
//   SWEEP (experiment id)
const { chromium } = await import(process.env.PLAYWRIGHT_CORE);
const base = process.env.RUNLOG_URL;
const RUNS = 5;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const [longExp, longRuns] = process.env.LONG.split(" ");
const [wideExp, wideRuns] = process.env.WIDE.split(" ");
const sweepExp = process.env.SWEEP;

const browser = await chromium.launch({
  executablePath: process.env.RUNLOG_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  // Page load to the first, then all 8, drawn charts of 10 runs x 1 M
  // points each.
  const firsts = [], loads = [];
  for (let i = 0; i < RUNS; i++) {
    const page = await browser.newPage({viewport: {width: 1400, height: 1000}});
    const t0 = Date.now();
    await page.goto(`${base}/#/runs?e=${longExp}&sel=${longRuns}`);
    await page.waitForFunction(() => window.runlogCharts && window.runlogCharts().length === 8 &&
      window.runlogCharts().some((c) => c.labels.length === 10 && c.data[0].length > 0),
    null, {timeout: 60000, polling: 10});
    firsts.push(Date.now() - t0);
    await page.waitForFunction(() => window.runlogCharts().length === 8 &&
      window.runlogCharts().every((c) => c.labels.length === 10 && c.data[0].length > 0),
    null, {timeout: 60000, polling: 10});
    loads.push(Date.now() - t0);
    await page.close();
  }
  console.log(`10 runs x 1 M points, page load to the first chart drawn: median ${median(firsts)} ms (${firsts.join(", ")})`);
  console.log(`the same, all 8 charts drawn: median ${median(loads)} ms (${loads.join(", ")})`);

  // The runs table of 10,000 runs: page load to the first page of the table.
  const tables = [];
  for (let i = 0; i < RUNS; i++) {
    const page = await browser.newPage({viewport: {width: 1400, height: 1000}});
    const t0 = Date.now();
    await page.goto(`${base}/#/runs?e=${sweepExp}`);
    await page.waitForFunction(() => document.querySelectorAll("#runs tbody tr").length === 100,
      null, {timeout: 60000, polling: 10});
    tables.push(Date.now() - t0);
    await page.close();
  }
  console.log(`runs table of 10,000 runs, page load to its first 100 rows: median ${median(tables)} ms (${tables.join(", ")})`);

  // A chart of 100 runs x 2,000 points: redraw time (uPlot's redraw of
  // the chart, as after a live append or a smoothing change).
  const page = await browser.newPage({viewport: {width: 1400, height: 1000}});
  await page.goto(`${base}/#/runs?e=${wideExp}&sel=${wideRuns}`);
  await page.waitForFunction(() => window.runlogCharts && window.runlogCharts().length === 1 &&
    window.runlogCharts()[0].labels.length === 100 &&
    window.runlogCharts()[0].data.slice(1).every((ys) => ys.some((v) => v !== null)),
  null, {timeout: 60000});
  const redraws = await page.evaluate(async () => {
    // uPlot draws in a microtask it queues: the one awaited after it runs
    // once the drawing is done. Paths rebuilt each time, as after new data.
    const u = window.runlogPlot(0);
    const times = [];
    for (let i = 0; i < 30; i++) {
      const t0 = performance.now();
      u.redraw(true, true);
      await new Promise((r) => queueMicrotask(r));
      times.push(performance.now() - t0);
    }
    return times;
  });
  console.log(`a chart of 100 runs x 2,000 points, redraw: median ${median(redraws).toFixed(1)} ms (max ${Math.max(...redraws).toFixed(1)})`);
  await page.close();

  // The comparison of 12 runs x 2,000 points: page load to every curve drawn.
  const twelve = wideRuns.split(",").slice(0, 12).join(",");
  const compares = [];
  for (let i = 0; i < RUNS; i++) {
    const page = await browser.newPage({viewport: {width: 1440, height: 900}});
    const t0 = Date.now();
    await page.goto(`${base}/#/runs?e=${wideExp}&sel=${twelve}`);
    await page.waitForFunction(() => window.runlogCharts && window.runlogCharts().length === 1 &&
      window.runlogCharts()[0].labels.length === 12 &&
      window.runlogCharts()[0].data.slice(1).every((ys) => ys.some((v) => v !== null && v !== undefined)),
    null, {timeout: 60000, polling: 10});
    compares.push(Date.now() - t0);
    await page.close();
  }
  console.log(`12 runs x 2,000 points compared, page load to all curves drawn: median ${median(compares)} ms (${compares.join(", ")})`);

  // Parallel coordinates over the 10,000-run sweep: brushing a metric's
  // axis, the redraw at each pointer move and a finished brush (the URL,
  // the runs table narrowed, the plot drawn again).
  const pc = await browser.newPage({viewport: {width: 1400, height: 1000}});
  await pc.goto(`${base}/#/runs?e=${sweepExp}&a=pc`);
  await pc.waitForSelector("#runs tbody tr", {timeout: 60000});
  if (await pc.locator("#show-parallel").count() === 0) {
    console.log("parallel coordinates: not in this build");
    await browser.close();
    process.exit(0);
  }
  await pc.waitForFunction(() => /^10000 runs/.test(document.querySelector("#brushed-count")?.textContent || ""),
    null, {timeout: 60000});
  const moves = [];
  for (let i = 0; i < RUNS; i++) {
    await pc.locator("canvas.parallel").scrollIntoViewIfNeeded();
    const box = await pc.locator("canvas.parallel").boundingBox();
    const g = await pc.evaluate(() => window.runlogParallel.geometry());
    const x = g.axes[g.axes.length - 1][1];
    const y = (p) => pc.evaluate((q) => window.runlogParallel.geometry().y(q), p);
    const [from, to] = [await y(0.1 + 0.05 * i), await y(0.6)];
    await pc.mouse.move(box.x + x, box.y + from);
    await pc.mouse.down();
    const before = (await pc.evaluate(() => window.runlogParallel.redraws())).length;
    await pc.mouse.move(box.x + x, box.y + to, {steps: 12});
    await pc.waitForTimeout(100);
    moves.push(...(await pc.evaluate(() => window.runlogParallel.redraws())).slice(before));
    await pc.mouse.up();
    await pc.waitForTimeout(100);
  }
  const commits = await pc.evaluate(() => window.runlogBrushCommits());
  console.log(`parallel coordinates of 10,000 runs, redraw while brushing: median ${median(moves).toFixed(1)} ms ` +
    `(max ${Math.max(...moves).toFixed(1)}, ${moves.length} redraws); a finished brush (table narrowed, plot redrawn): ` +
    `median ${median(commits).toFixed(1)} ms (max ${Math.max(...commits).toFixed(1)})`);
  await pc.close();
} finally {
  await browser.close();
}
