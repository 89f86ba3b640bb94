// The dashboard's edits under sign-in (tests/browser.rs started
// `runlog server --app-name basic-auth`): a user with MLflow's default
// READ permission sees the run, but renaming it and tagging it are refused
// with the server's words under the form, and nothing changes; the admin's
// same edits go through. The browser signs in with HTTP basic auth as
// MLflow's UI does.
import { check, launchChromium } from "./common.mjs";

const base = process.env.RUNLOG_URL;
const run = process.env.RUNLOG_RUN;
const adminPassword = process.env.RUNLOG_ADMIN_PASSWORD;
const basic = (user, password) => "Basic " + Buffer.from(`${user}:${password}`).toString("base64");
const adminApi = async (path, body) => {
  const res = await fetch(`${base}/api/2.0/mlflow/${path}`, {method: body ? "POST" : "GET",
    headers: {"content-type": "application/json", authorization: basic("admin", adminPassword)},
    body: body ? JSON.stringify(body) : undefined});
  return [res.status, await res.json()];
};

const [made] = await adminApi("users/create", {username: "viewer", password: "viewer-password-1"});
check(made === 200, `the admin makes a user: ${made}`);
const browser = await launchChromium();
try {
  for (const [user, password, allowed] of [["viewer", "viewer-password-1", false], ["admin", adminPassword, true]]) {
    const context = await browser.newContext({httpCredentials: {username: user, password}});
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${base}/#/run/${run}`);
    await page.waitForSelector("#rename", {timeout: 10000});
    await page.click("#rename");
    await page.fill("#new-name", `renamed-by-${user}`);
    await page.press("#new-name", "Enter");
    await page.fill("#tag-key", "reviewer");
    await page.fill("#tag-value", user);
    await page.click("#add-tag");
    if (allowed) {
      await page.waitForFunction((u) => document.querySelector("#run-name")?.textContent === `renamed-by-${u}`, user,
        {timeout: 10000});
      await page.waitForSelector('#user-tags tr[data-tag="reviewer"]', {timeout: 10000});
    } else {
      await page.waitForFunction(() => document.querySelectorAll(".edit-error:not(:empty)").length === 2, null,
        {timeout: 10000}).catch(async () => {
        throw new Error(`the refusals shown: ${await page.locator(".edit-error").allInnerTexts()}`);
      });
      const refusals = await page.locator(".edit-error").allInnerTexts();
      check(refusals.every((t) => /permission/i.test(t)), `refused in the server's words: ${refusals}`);
    }
    const [, got] = await adminApi(`runs/get?run_id=${run}`);
    const tag = (got.run.data.tags.find((t) => t.key === "reviewer") || {}).value;
    if (allowed) check(got.run.info.run_name === "renamed-by-admin" && tag === "admin", `the admin's edits: ${JSON.stringify(got.run.info)}`);
    else check(got.run.info.run_name === "to-review" && tag === undefined, `nothing changed by the viewer: ${got.run.info.run_name}`);
    check(errors.length === 0, `no page errors: ${errors}`);
    await context.close();
  }
} finally {
  await browser.close();
}
