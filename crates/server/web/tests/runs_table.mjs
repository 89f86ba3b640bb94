// The runs table of a wide sweep in a real browser (tests/browser.rs made
// the store: 30 runs, 14 params, 9 metrics, a param and a metric both named
// "lr", three parents of three children each). Checks issue 26's table:
// it fits the window and scrolls inside with the name pinned, column
// groups, select-all and shift-click ranges, folded nested runs, columns
// chosen and ordered and remembered in the URL, CSV; the compare page;
// editing a run's name, description and tags, deleting and restoring it,
// an experiment's description, all through MLflow's endpoints (read back
// with its API); dark mode. Screenshots go to $RUNLOG_SHOTS.
import { readFile } from "node:fs/promises";
import { check, api as apiAt, launchChromium } from "./common.mjs";

const base = process.env.RUNLOG_URL;
const shots = process.env.RUNLOG_SHOTS;
const wide = process.env.RUNLOG_EXPERIMENT;
const api = (path, body) => apiAt(base, path, body);

const browser = await launchChromium();
try {
  const page = await browser.newPage({viewport: {width: 1440, height: 900}, acceptDownloads: true});
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("dialog", (d) => d.accept());
  const hash = () => page.evaluate(() => location.hash);
  const rowCount = () => page.locator("#runs tbody tr").count();
  const waitRows = async (n, what) => {
    await page.waitForFunction((n) => document.querySelectorAll("#runs tbody tr").length === n, n, {timeout: 10000})
      .catch(async () => { throw new Error(`${what}: ${await rowCount()} rows, not ${n}`); });
  };
  const all = (await api("mlflow/runs/search", {experiment_ids: [wide], max_results: 1000})).runs;
  const byName = Object.fromEntries(all.map((r) => [r.info.run_name, r.info.run_id]));

  await page.goto(`${base}/#/runs?e=${wide}`);
  // 30 runs, nine of them folded under their parents.
  await waitRows(21, "the wide sweep, children folded");
  await page.screenshot({path: `${shots}/table.png`});

  // It fits the window: the page does not scroll sideways, the table's box does.
  const widths = await page.evaluate(() => ({page: document.documentElement.scrollWidth, window: innerWidth,
    box: document.querySelector("#runs-box").clientWidth, table: document.querySelector("#runs").scrollWidth}));
  check(widths.page <= widths.window, `the page fits the window: ${JSON.stringify(widths)}`);
  check(widths.table > widths.box, `the table scrolls inside its box: ${JSON.stringify(widths)}`);

  // Column groups: param lr and metric lr apart, under Params and Metrics.
  const groups = await page.locator("#runs thead tr.groups th.group").evaluateAll((ths) =>
    ths.map((th) => [th.dataset.group, th.textContent, th.colSpan]));
  check(JSON.stringify(groups.map(([g, t]) => [g, t])) ===
    JSON.stringify([["a", "Attributes"], ["p", "Params"], ["m", "Metrics"], ["t", "Tags"]]),
  `the column groups: ${JSON.stringify(groups)}`);
  check(groups[1][2] === 14 && groups[2][2] === 9 && groups[3][2] === 1, `group widths: ${JSON.stringify(groups)}`);
  check(await page.locator('#runs th[data-column="p.lr"]').count() === 1 &&
    await page.locator('#runs th[data-column="m.lr"]').count() === 1, "param lr and metric lr are two columns");

  // Sorting by the right-most metric: the names stay in view.
  await page.click('#runs th[data-column="m.validation_metric_6"]');
  await page.waitForFunction(() => location.hash.includes("validation_metric_6"), null, {timeout: 10000});
  await page.evaluate(() => { const b = document.querySelector("#runs-box"); b.scrollLeft = b.scrollWidth; });
  await page.waitForTimeout(200);
  const pinned = await page.evaluate(() => {
    const box = document.querySelector("#runs-box").getBoundingClientRect();
    const name = document.querySelector("#runs tbody tr td.name").getBoundingClientRect();
    const tick = document.querySelector("#runs tbody tr td.pin-0").getBoundingClientRect();
    return {box: box.left, name: name.left, tick: tick.left, scrolled: document.querySelector("#runs-box").scrollLeft};
  });
  check(pinned.scrolled > 0 && Math.abs(pinned.tick - pinned.box) < 3 && pinned.name - pinned.box < 60,
    `the tick and name columns stay pinned when scrolled: ${JSON.stringify(pinned)}`);
  await page.screenshot({path: `${shots}/table-scrolled.png`});
  await page.goto(`${base}/#/runs?e=${wide}&o=attributes.run_name ASC`);
  await waitRows(21, "sorted by name");

  // Nested runs: run-0 folds three children; unfolded, they follow it.
  const fold = page.locator(`tr[data-run-id="${byName["run-0"]}"] button.fold`);
  check((await fold.innerText()).includes("3"), `run-0 says it has three children: ${await fold.innerText()}`);
  await fold.click();
  await waitRows(24, "run-0 unfolded");
  check((await hash()).includes(`open=${byName["run-0"]}`), "the unfolded parent is in the URL");
  const order = await page.locator("#runs tbody tr").evaluateAll((trs) => trs.map((tr) => [tr.dataset.runId, tr.className]));
  const at = order.findIndex(([id]) => id === byName["run-0"]);
  check(order.slice(at + 1, at + 4).every(([, cls]) => cls === "child"), `run-0's children follow it: ${JSON.stringify(order)}`);

  // Select all, then none; a shift-click ticks a range.
  await page.click("#select-all");
  await page.waitForFunction(() => window.runlogCharts && window.runlogCharts().length === 9 &&
    window.runlogCharts()[0].labels.length === 24, null, {timeout: 15000}).catch(async () => {
    throw new Error(`select-all: ${JSON.stringify(await page.evaluate(() => window.runlogCharts().map((c) => c.labels.length)))}`);
  });
  check((await hash()).match(/sel=([^&]*)/)[1].split("%2C").length === 24, "24 ticked in the URL");
  await page.click("#select-all");
  await page.waitForFunction(() => !location.hash.includes("sel="), null, {timeout: 10000});
  const boxes = page.locator("#runs tbody tr td.pin-0 input");
  await boxes.nth(2).click();
  await boxes.nth(6).click({modifiers: ["Shift"]});
  const ticked = await boxes.evaluateAll((bs) => bs.map((b, i) => (b.checked ? i : -1)).filter((i) => i >= 0));
  check(JSON.stringify(ticked) === "[2,3,4,5,6]", `shift-click ticks rows 2 to 6: ${ticked}`);
  check(await page.locator("#select-all").evaluate((b) => b.indeterminate), "the header tick shows a partial selection");

  // Columns: hide one, move one, and the URL keeps both across a reload.
  await page.click("#column-picker summary");
  await page.fill("#column-search", "optim");
  check(await page.locator("#column-picker .column-row").count() === 1, "the picker's search narrows its list");
  await page.fill("#column-search", "");
  await page.uncheck('#column-picker .column-row[data-column="m.validation_metric_3"] input');
  await page.click('#column-picker .column-row[data-column="p.optimizer"] button[aria-label="move optimizer left"]');
  await page.click('#column-picker .column-row[data-column="p.optimizer"] button[aria-label="move optimizer left"]');
  const heads = () => page.locator("#runs thead tr:not(.groups) th").evaluateAll((ths) => ths.map((th) => th.dataset.column));
  const before = await heads();
  check(!before.includes("m.validation_metric_3"), "the hidden column is gone");
  const params = before.filter((c) => c && c.startsWith("p."));
  check(params.indexOf("p.optimizer") === params.length - 3, `optimizer moved two places left: ${params}`);
  await page.reload();
  await page.waitForSelector("#runs tbody tr");
  check(JSON.stringify(await heads()) === JSON.stringify(before), "the columns as arranged after a reload");

  // CSV of the listed runs and shown columns, keys apart by group.
  const [csvFile] = await Promise.all([page.waitForEvent("download"), page.click("#runs-csv")]);
  const csv = (await readFile(await csvFile.path(), "utf8")).trim().split("\r\n");
  check(csv[0].includes("params.lr") && csv[0].includes("metrics.lr") && !csv[0].includes("validation_metric_3"),
    `the CSV's header: ${csv[0]}`);
  check(csv.length === 1 + 30, `a line per listed run (children too): ${csv.length - 1}`);

  // Compare: three runs side by side, differences marked, the best loss bold.
  await page.goto(`${base}/#/runs?e=${wide}&sel=${[byName["run-0"], byName["run-1"], byName["run-2"]].join(",")}`);
  await page.waitForSelector("#runs tbody tr");
  await page.click("#compare-runs");
  await page.waitForSelector("#compare tbody tr");
  const lrRow = page.locator('#compare tr[data-row="Params:lr"]');
  check((await lrRow.getAttribute("class")) === "differs", "lr differs across the three runs");
  check((await page.locator('#compare tr[data-row="Tags:team"]').getAttribute("class")) === "differs", "team differs");
  // loss falls faster for later runs: run-2's is the lowest.
  const best = await page.locator('#compare tr[data-row="Metrics:loss"] td.best').innerText();
  const run2loss = (await api(`mlflow/runs/get?run_id=${byName["run-2"]}`)).run.data.metrics.find((m) => m.key === "loss").value;
  check(Math.abs(+best - run2loss) < 1e-4, `the lowest loss in bold: ${best} vs ${run2loss}`);
  const allRows = await page.locator("#compare tbody tr:not(.section)").count();
  await page.check("#only-differences");
  const diffRows = await page.locator("#compare tbody tr:not(.section)").count();
  check(diffRows < allRows && diffRows > 5, `only differences: ${diffRows} of ${allRows} rows`);
  await page.waitForFunction(() => window.runlogCharts && window.runlogCharts().length === 9 &&
    window.runlogCharts()[0].labels.length === 3, null, {timeout: 10000});
  await page.screenshot({path: `${shots}/compare.png`, fullPage: true});

  // Editing a run: its name, description and tags, read back through MLflow's API.
  const target = byName["run-7"];
  await page.goto(`${base}/#/run/${target}`);
  await page.waitForSelector("#rename");
  await page.click("#rename");
  await page.fill("#new-name", "best-so-far");
  await page.press("#new-name", "Enter");
  await page.waitForFunction(() => document.querySelector("#run-name")?.textContent === "best-so-far", null, {timeout: 10000});
  await page.click("#run-description button.edit-note");
  await page.fill("#run-description textarea", "Chosen for the\nnext round.");
  await page.click("#run-description button.save-note");
  await page.waitForSelector("#run-description .note-text");
  await page.fill("#tag-key", "verdict");
  await page.fill("#tag-value", "keep");
  await page.click("#add-tag");
  await page.waitForSelector('#user-tags tr[data-tag="verdict"]');
  await page.click('#user-tags tr[data-tag="team"] button.delete-tag');
  await page.waitForFunction(() => !document.querySelector('#user-tags tr[data-tag="team"]'), null, {timeout: 10000});
  // An empty key is refused in words, not sent.
  await page.fill("#tag-key", "");
  await page.click("#add-tag");
  check((await page.locator("#run-tags .edit-error").innerText()).includes("needs a key"), "an empty tag key is refused");
  const edited = (await api(`mlflow/runs/get?run_id=${target}`)).run;
  const tag = (k) => (edited.data.tags.find((t) => t.key === k) || {}).value;
  check(edited.info.run_name === "best-so-far", `renamed: ${edited.info.run_name}`);
  check(tag("mlflow.note.content") === "Chosen for the\nnext round.", `described: ${tag("mlflow.note.content")}`);
  check(tag("verdict") === "keep" && tag("team") === undefined, "tag set and tag deleted");
  await page.screenshot({path: `${shots}/run-edited.png`, fullPage: true});

  // Deleted and restored.
  await page.click("#run-lifecycle");
  await page.waitForSelector("#run-deleted");
  check((await api(`mlflow/runs/get?run_id=${target}`)).run.info.lifecycle_stage === "deleted", "deleted");
  await page.goto(`${base}/#/runs?e=${wide}&deleted=1`);
  await waitRows(1, "the deleted runs");
  await page.check(`tr[data-run-id="${target}"] td.pin-0 input`);
  await page.click("#delete-runs"); // "Restore" among deleted runs
  await waitRows(0, "restored, no deleted run left");
  check((await api(`mlflow/runs/get?run_id=${target}`)).run.info.lifecycle_stage === "active", "restored");

  // The experiment's description.
  await page.goto(`${base}/#/runs?e=${wide}`);
  await page.click("#experiment-note button.edit-note");
  await page.fill("#experiment-note textarea", "A learning-rate sweep.");
  await page.click("#experiment-note button.save-note");
  await page.waitForSelector("#experiment-note .note-text");
  const exp = (await api(`mlflow/experiments/get?experiment_id=${wide}`)).experiment;
  check(exp.tags.some((t) => t.key === "mlflow.note.content" && t.value === "A learning-rate sweep."),
    "the experiment's description is its mlflow.note.content tag");

  // Dark mode follows the system.
  await page.emulateMedia({colorScheme: "dark"});
  await page.goto(`${base}/#/runs?e=${wide}&sel=${byName["run-0"]},${byName["run-1"]}`);
  await page.waitForFunction(() => window.runlogCharts && window.runlogCharts().length === 9, null, {timeout: 10000});
  const dark = await page.evaluate(() => [getComputedStyle(document.body).backgroundColor,
    getComputedStyle(document.body).color]);
  const luminance = (rgb) => rgb.match(/\d+/g).slice(0, 3).reduce((a, b) => a + +b, 0) / 3;
  check(luminance(dark[0]) < 60 && luminance(dark[1]) > 180, `dark background, light text: ${dark}`);
  await page.screenshot({path: `${shots}/dark-runs.png`, fullPage: true});
  await page.goto(`${base}/#/run/${target}`);
  await page.waitForSelector("#rename");
  await page.screenshot({path: `${shots}/dark-run.png`, fullPage: true});

  check(errors.length === 0, `no page errors: ${errors.join("; ")}`);
} finally {
  await browser.close();
}
