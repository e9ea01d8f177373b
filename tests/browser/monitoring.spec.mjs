// The monitoring page in a real browser (Debian's Chromium through playwright-core), against a running
// `pitwall serve` whose deployed model MODEL has captured requests and a monitoring summary. Run by
// tests/browser/test_browser_monitoring.py, which passes BASE_URL, KEY_A (the owner), KEY_B (another
// tenant), MODEL, LIVE_RACE, RECONSTRUCTED_RACE, SHOT_DIR and WEB_DIR in the environment.
//
// Deployments -> Monitoring link -> the drift table, the live verified record beside the backtest,
// reconstructed races apart; no console errors, no horizontal scroll at 390 px, no serious/critical
// axe-core violations. Another tenant opening the same address gets the API's "not found".
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

const WEB_DIR = process.env.WEB_DIR;
const require = createRequire(join(WEB_DIR, "package.json"));
const { chromium } = require("playwright-core");
const AXE = require.resolve("axe-core/axe.min.js");

const BASE = process.env.BASE_URL;
const SHOTS = process.env.SHOT_DIR;
const MODEL = process.env.MODEL;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const WIDE = { width: 1280, height: 900 };
const NARROW = { width: 390, height: 844 };

mkdirSync(SHOTS, { recursive: true });
const problems = [];
let context;
let profile;
let page;

before(async () => {
  profile = mkdtempSync(join(tmpdir(), "pitwall-chromium-monitoring-"));
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: WIDE, bypassCSP: true });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console error on ${page.url()}: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`page error on ${page.url()}: ${e.message}`));
  page.on("response", (r) => { if (r.status() >= 500) problems.push(`HTTP ${r.status()} ${r.url()}`); });
});

after(async () => {
  await context?.close().catch(() => {});
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function signIn(key, path) {
  await page.goto(BASE + path);
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
}

async function checkPage(name) {
  await page.waitForLoadState("networkidle");
  await page.screenshot({ path: join(SHOTS, `${name}-1280.png`), fullPage: true });
  await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => `${n.target.join(" ")} ${n.html.slice(0, 100)}`).join(" | ")}`);
  });
  assert.deepEqual(violations, [], `${name}: axe-core serious/critical violations`);
  await page.setViewportSize(NARROW);
  await page.waitForTimeout(300);
  const overflow = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  await page.screenshot({ path: join(SHOTS, `${name}-390.png`), fullPage: true });
  await page.setViewportSize(WIDE);
  assert.ok(overflow.scroll <= overflow.client, `${name}: horizontal scroll at 390 px (${overflow.scroll} > ${overflow.client})`);
}

test("deployments -> monitoring: drift table, live verified record vs backtest, reconstructed apart", { timeout: 180_000 }, async () => {
  await signIn(process.env.KEY_A, "/deployments");
  const row = page.getByTestId("deployments-table").getByRole("row", { name: new RegExp(MODEL) });
  await row.getByRole("link", { name: "Monitoring" }).click();
  await page.getByTestId("monitoring-view").waitFor();
  assert.match(page.url(), new RegExp(`/monitoring/${MODEL}$`));
  assert.equal(await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Monitoring" }).getAttribute("aria-current"), "page");

  const drift = page.getByTestId("drift-table");
  await drift.waitFor();
  const driftRows = await drift.locator("tbody tr").count();
  assert.ok(driftRows >= 3, `drift rows: ${driftRows}`);
  const driftText = await drift.innerText();
  assert.match(driftText, /start_position|grid/i, "the model's grid feature is in the drift table");
  assert.match(await page.getByTestId("drift-status").innerText(), /ok|drift/i, "a verdict on enough served rows");

  const live = page.getByTestId("live-record");
  await live.waitFor();
  const liveText = await live.innerText();
  assert.match(liveText, new RegExp(process.env.LIVE_RACE));
  assert.doesNotMatch(liveText, new RegExp(process.env.RECONSTRUCTED_RACE), "reconstructed races are never in the live record");
  const versus = await page.getByTestId("live-vs-backtest").innerText();
  assert.match(versus, /Backtest/);
  assert.match(versus, /baseline/i);
  assert.match(await page.getByTestId("reconstructed-record").innerText(), new RegExp(process.env.RECONSTRUCTED_RACE));
  await checkPage("monitoring");
  assert.deepEqual(problems, [], "no console errors, page errors or 5xx");
});

test("another tenant gets not found for the model's monitoring", async () => {
  await page.evaluate(() => sessionStorage.clear());
  await signIn(process.env.KEY_B, `/monitoring/${MODEL}`);
  await page.getByTestId("api-error").waitFor();
  assert.match(await page.getByTestId("api-error").innerText(), /not found/i);
  await checkPage("monitoring-other-tenant");
});
