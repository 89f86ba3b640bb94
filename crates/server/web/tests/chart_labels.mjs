// The charts' labels in a real browser (Debian's chromium, driven by
// playwright-core), against a `runlog server` that tests/browser.rs
// started over a run whose metrics live at five scales (1e-6, 1e-3, 1,
// 1e5, 1e9), one with a single 0.0006 peak, over two hours. Reads back the
// tick labels uPlot drew and checks that each is distinct and says its
// tick's value (no digit lost), that no label is wider than its axis, that
// the tooltip shows the peak as 0.0006, that a log axis fits data below 2.3,
// and that relative time reads as durations. Screenshots to $RUNLOG_SHOTS.
import { check, api as apiAt, launchChromium } from "./common.mjs";

const base = process.env.RUNLOG_URL;
const shots = process.env.RUNLOG_SHOTS;
const api = (path, body) => apiAt(base, path, body);

/** A label's value: "0.0025", "150k", "1.2G", "2.5e-6". */
function valueOf(label) {
  const m = /^(-?\d+(?:\.\d+)?)(e-?\d+|[kMGT])?$/.exec(label);
  if (!m) return NaN;
  const unit = {k: 1e3, M: 1e6, G: 1e9, T: 1e12}[m[2]] ?? (m[2] ? Number(`1${m[2]}`) : 1);
  return Number(m[1]) * unit;
}

const browser = await launchChromium();
try {
  const page = await browser.newPage({viewport: {width: 1440, height: 900}});
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const missing = [];
  page.on("response", (r) => { if (r.status() === 404) missing.push(r.url()); });
  const exp = (await api("mlflow/experiments/get-by-name?experiment_name=scales")).experiment.experiment_id;
  const run = (await api("mlflow/runs/search", {experiment_ids: [exp]})).runs[0].info.run_id;
  // The six charts of a view, once drawn with its y distribution (1
  // linear, 3 log) and x axis label.
  const charts = async (query, what, distr, xLabel) => {
    await page.goto(`${base}/#/runs?e=${exp}&sel=${run}${query}`);
    await page.waitForFunction(([distr, xLabel]) => window.runlogCharts && window.runlogCharts().length === 6 &&
      window.runlogCharts().every((c, i) => c.data[0].length > 0 && c.ticks[1].length > 1 &&
        window.runlogPlot(i).scales.y.distr === distr && window.runlogPlot(i).axes[0].label === xLabel),
    [distr, xLabel], {timeout: 10000})
      .catch(async () => {
        const now = await page.evaluate(() => (window.runlogCharts ? window.runlogCharts() : []).map((c, i) =>
          `${c.key}: ${c.data[0].length} points, y ticks [${c.ticks[1]}], distr ${window.runlogPlot(i).scales.y.distr}`));
        throw new Error(`${what}: the six charts were not drawn: ${now.join("; ")}`);
      });
    return page.evaluate(() => window.runlogCharts());
  };
  const byKey = (cs) => Object.fromEntries(cs.map((c) => [c.key, c]));

  // Linear axes: every y label distinct, and it says its tick's value.
  const linear = byKey(await charts("", "linear", 1, "step"));
  await page.screenshot({path: `${shots}/scales.png`, fullPage: true});
  for (const c of Object.values(linear)) {
    const labels = c.ticks[1].filter((l) => l !== "");
    check(new Set(labels).size === labels.length, `${c.key}: y labels distinct: ${labels}`);
    const splits = c.splits[1];
    const step = Math.abs(splits[1] - splits[0]);
    c.ticks[1].forEach((label, i) => {
      if (label === "") return;
      check(Math.abs(valueOf(label) - splits[i]) <= step * 1e-6, `${c.key}: label ${label} for tick ${splits[i]}`);
    });
    // Not cut: the plot starts right of the widest label, its tick and gap.
    const widest = await page.evaluate(([i, labels]) => {
      const u = window.runlogPlot(i);
      const ctx = document.createElement("canvas").getContext("2d");
      ctx.font = u.axes[1].font[0];
      // The label ends a tick and a gap left of the plot.
      return Math.max(...labels.map((l) => ctx.measureText(l).width)) / (window.devicePixelRatio || 1) +
        u.axes[1].ticks.size + u.axes[1].gap;
    }, [Object.keys(linear).indexOf(c.key), labels]);
    check(c.plotLeft >= widest, `${c.key}: labels ${Math.ceil(widest)} px wide, axis ${c.plotLeft} px`);
  }
  check(linear.tokens_per_s.ticks[1].some((l) => /^\d+(\.\d+)?k$/.test(l)), `150,000 as k: ${linear.tokens_per_s.ticks[1]}`);
  check(linear.params_total.ticks[1].some((l) => /G$/.test(l)), `1e9 as G: ${linear.params_total.ticks[1]}`);
  check(linear.lr_warmup.ticks[1].some((l) => /e-[67]$/.test(l)), `1e-6 with an exponent: ${linear.lr_warmup.ticks[1]}`);

  // The tooltip at the peak's step: 0.0006, not 0.001.
  const tooltip = await page.evaluate((i) => {
    const u = window.runlogPlot(i);
    u.setCursor({left: u.valToPos(100, "x"), top: 10});
    return [u.root.querySelector(".chart-tooltip .tip-x").textContent, window.runlogCharts()[i].tooltip];
  }, Object.keys(linear).indexOf("grad_peak"));
  check(tooltip[0] === "step 100" && tooltip[1].length === 1 && tooltip[1][0][1] === "0.0006",
    `the tooltip at step 100: ${JSON.stringify(tooltip)}`);

  // Log y fits the data (0.3 to 2.3): not a decade of empty room.
  const log = byKey(await charts("&log=1", "log y", 3, "step"));
  await page.screenshot({path: `${shots}/scales-log.png`, fullPage: true});
  const [lo, hi] = log.loss.y;
  check(lo >= 0.2 && lo <= 0.3 && hi >= 2.3 && hi <= 3.5, `log y of 0.3..2.3 spans ${lo}..${hi}`);
  check(log.loss.ticks[1].filter((l) => l !== "").every((l) => Number.isFinite(valueOf(l))), `log labels ${log.loss.ticks[1]}`);

  // Relative time: durations over the run's two hours.
  const relative = byKey(await charts("&x=rel", "relative time", 1, "time since start"));
  await page.screenshot({path: `${shots}/scales-relative.png`, fullPage: true});
  check(await page.locator("#x-axis").inputValue() === "rel", "the x picker says relative time");
  const xs = relative.loss.ticks[0].filter((l) => l !== "");
  check(xs.every((l) => /^(\d+(\.\d+)?s|\d+m( \d\ds)?|\d+h( \d\dm)?)$/.test(l)), `durations: ${xs}`);
  check(xs.some((l) => /h/.test(l)) && new Set(xs).size === xs.length, `hours, distinct: ${xs}`);

  check(missing.length === 0, `no 404 (favicon included): ${missing}`);
  check(errors.length === 0, `no page errors: ${errors.join("; ")}`);
} finally {
  await browser.close();
}
