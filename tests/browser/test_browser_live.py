"""The live race page in a real browser: Chromium (playwright-core) on ``pitwall serve`` follows the
SSE stream of a live model while ``pitwall live replay 2024 8 --publish`` replays Monaco 2024 (real
laps) lap by lap, and the page's table updates lap after lap until the session ends.

Reuses the Studio test's helpers (what is installed, the CLI, keys, waiting for the server); skipped
with the reason when Chromium, web/node_modules, the data or a web UI build with the live page is
missing (the lead rebuilds ``pitwall/webui/static`` with ``make web``).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.browser.support import CHROMIUM, DATA, ROOT, WEB, home_env, key, missing, pitwall, served

MODEL = "live_v1"
SPEED = "150"  # Monaco's ~75 s laps in ~0.5 s: the 77 laps in under a minute

SCRIPT = r"""
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(join(process.env.WEB_DIR, "package.json"));
const { chromium } = require("playwright-core");
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"];
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, headless: true, args: ARGS });
const problems = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(60_000);
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("response", (r) => { if (r.status() >= 500) problems.push(`HTTP ${r.status()} ${r.url()}`); });
  await page.goto(process.env.BASE_URL);
  await page.getByLabel("API key").fill(process.env.KEY);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("link", { name: "Live race" }).click();
  const status = page.getByTestId("live-status");
  await status.filter({ hasText: "waiting for the first lap" }).waitFor();
  writeFileSync(process.env.READY_FILE, "ready");  // the test starts the replay now

  const lapText = page.getByTestId("live-lap");
  await lapText.waitFor();
  const seen = new Set();
  const deadline = Date.now() + 240_000;
  while (Date.now() < deadline) {
    const text = (await lapText.textContent()) ?? "";
    const lap = Number(/lap (\d+)\//.exec(text)?.[1]);
    if (lap) seen.add(lap);
    if ((await status.textContent())?.includes("session finished")) break;
    await page.waitForTimeout(100);
  }
  const laps = [...seen].sort((x, y) => x - y);
  console.log(`laps shown: ${laps.join(",")}`);
  assert.ok(laps.length >= 5, `the table updated lap after lap (saw laps ${laps})`);
  assert.ok((await status.textContent()).includes("session finished"), "the stream ended with the session");
  const final = Number(/lap (\d+)\//.exec(await lapText.textContent())[1]);
  assert.equal(final, Number(process.env.LAST_LAP));
  const rows = page.getByTestId("live-table").locator("tbody tr");
  assert.ok((await rows.count()) >= 18, "one row per driver");
  const first = await rows.first().locator("td").allTextContents();
  console.log(`leader row: ${first.join(" | ")}`);
  assert.equal(first[1], process.env.WINNER_CODE);
  assert.ok(parseFloat(first[6]) > 90, `the winner's P(win) on the last lap is above 90% (${first[6]})`);
  await page.screenshot({ path: join(process.env.SHOT_DIR, "live-1280.png"), fullPage: true });
  assert.deepEqual(problems, []);
} finally {
  await browser.close();
}
"""


def _live_page_built() -> bool:
    assets = ROOT / "pitwall" / "webui" / "static" / "assets"
    return any("live-table" in p.read_text(errors="ignore") for p in assets.glob("*.js"))


@pytest.mark.slow
def test_live_page_follows_a_replayed_race_in_chromium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reason = missing() or (None if _live_page_built() else "the built web UI has no live page yet (make web)")
    if reason:
        pytest.skip(reason)
    home = tmp_path / "home"
    monkeypatch.setenv("PITWALL_HOME", str(home))
    env = home_env(home)
    from pitwall.data.ingest import ingest_f1db, ingest_laps_csv
    from pitwall.data.store import LocalStore
    from pitwall.live.template import train_live_model

    lake = LocalStore(home / "lake")
    ingest_f1db(lake, DATA / "f1db", seasons=(2022, 2023, 2024))
    ingest_laps_csv(lake, DATA / "fastf1-laps", seasons=(2022, 2023, 2024))
    train_live_model(MODEL, seasons=[2022, 2023], store=lake)  # saved under the home
    laps = lake.read("laps", [2024])
    last_lap = int(laps.loc[laps["round"] == 8, "lap_number"].max())
    results = lake.read("results", [2024])
    winner = results[(results["round"] == 8) & (results["position"] == 1)]["driver_id"].iloc[0]
    code = laps.loc[(laps["round"] == 8) & (laps["driver_id"] == winner), "driver_code"].iloc[0]

    fan = key(env, "live-fan")
    script = tmp_path / "live.spec.mjs"
    script.write_text(SCRIPT)
    ready = tmp_path / "ready"
    replay = None
    with served(env, tmp_path / "serve.log") as url:
        browser = subprocess.Popen(
            ["node", str(script)],
            env={
                **env,
                "BASE_URL": url,
                "KEY": fan,
                "WEB_DIR": str(WEB),
                "CHROMIUM": CHROMIUM,
                "READY_FILE": str(ready),
                "SHOT_DIR": str(tmp_path),
                "LAST_LAP": str(last_lap),
                "WINNER_CODE": str(code),
            },
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            for _ in range(1200):  # the page is open and waiting for the first lap
                if ready.exists() or browser.poll() is not None:
                    break
                time.sleep(0.1)
            assert ready.exists(), f"the live page did not open:\n{browser.communicate(timeout=30)[0][-4000:]}"
            replay_cmd = ["live", "replay", "2024", "8", "--model", MODEL, "--publish", "--speed", SPEED, "--jsonl"]
            replay = subprocess.Popen(
                [*pitwall(), *replay_cmd], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            output, _ = browser.communicate(timeout=400)
            print(output[-3000:])
            assert browser.returncode == 0, f"the live page check failed:\n{output[-8000:]}"
            assert replay.wait(timeout=120) == 0, replay.stderr.read().decode()[-2000:] if replay.stderr else ""
        finally:
            for proc in (replay, browser):
                if proc is not None and proc.poll() is None:
                    proc.terminate()
                    try:
                        proc.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        proc.kill()
