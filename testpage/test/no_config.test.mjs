// The page opened from a file with no config.js: no local target needed.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import { copyPage, fileUrl, launchBrowser, offMachine, openTab, screenshot } from "./support.mjs";

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

test("without config.js it shows the set-up instruction", async () => {
  const dir = await copyPage();
  try {
    const { page, requests, pageErrors } = await openTab(browser);
    await page.goto(fileUrl(dir));
    const setup = page.locator("#setup");
    await setup.waitFor();
    assert.match(await page.locator("#setup-problem").textContent(), /config\.js was not found/);
    assert.match(await setup.textContent(), /cargo run --release -p deploy -- --stack-name demo --local/);
    assert.match(await setup.textContent(), /cargo run --release -p deploy -- --stack-name demo\s/);
    for (const name of ["Submit", "Query", "Start"]) {
      assert.equal(await page.getByRole("button", { name }).isDisabled(), true, name);
    }
    assert.deepEqual(offMachine(requests), []);
    assert.deepEqual(pageErrors, []);
    await screenshot(page, "no-config");
    await page.close();
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

