// The page's copy of the writer's rules (testpage/reading.js), in Chromium, against the fixture
// list the writer's own test reads (crates/telemetry/tests/payload_fixtures.rs): the same
// outcome, reading or rejection code, and the same message where a case names one.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import { copyPage, fileUrl, launchBrowser, openTab, repoRoot } from "./support.mjs";

const fixtures = path.join(repoRoot, "crates", "telemetry", "tests", "fixtures", "payloads.json");
let browser;
let dir;
let page;

before(async () => {
  browser = await launchBrowser();
  dir = await copyPage();
  ({ page } = await openTab(browser));
  // No config.js: the page shows its set-up panel, and its scripts, reading.js among them, load.
  await page.goto(fileUrl(dir));
  await page.locator("#setup").waitFor();
});

after(async () => {
  await browser?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

test("the page's checks agree with the writer's on every case of payloads.json", async () => {
  const cases = JSON.parse(await fs.readFile(fixtures, "utf8"));
  assert.ok(cases.length >= 76, `only ${cases.length} cases`);
  const outcomes = await page.evaluate((cases) => {
    const decode = (c) => {
      const bytes =
        typeof c.data === "string"
          ? new TextEncoder().encode(c.data)
          : Uint8Array.from(atob(c.data_base64), (ch) => ch.charCodeAt(0));
      return globalThis.TestPage.reading.decodeRecord(bytes, Date.parse(c.arrival));
    };
    return cases.map((c) => {
      const { reading, rejection } = decode(c);
      return reading ? { reading } : { rejection: { code: rejection.code, message: rejection.message } };
    });
  }, cases);
  const disagreements = [];
  for (const [i, c] of cases.entries()) {
    const outcome = outcomes[i];
    if (c.expect) {
      const expected = { sensorId: c.expect.sensor_id, timestamp: c.expect.timestamp, value: Number(c.expect.value) };
      if (!outcome.reading) {
        disagreements.push(`${c.name}: rejected (${outcome.rejection.code}: ${outcome.rejection.message}), the writer stores it`);
      } else if (JSON.stringify(outcome.reading) !== JSON.stringify(expected) || outcome.reading.value !== expected.value) {
        disagreements.push(`${c.name}: ${JSON.stringify(outcome.reading)}, the writer makes ${JSON.stringify(expected)}`);
      }
    } else if (!outcome.rejection) {
      disagreements.push(`${c.name}: accepted as ${JSON.stringify(outcome.reading)}, the writer rejects it (${c.reject})`);
    } else if (outcome.rejection.code !== c.reject) {
      disagreements.push(`${c.name}: ${outcome.rejection.code} (${outcome.rejection.message}), the writer says ${c.reject}`);
    } else if (c.message !== undefined && outcome.rejection.message !== c.message) {
      disagreements.push(`${c.name}: "${outcome.rejection.message}", the writer says "${c.message}"`);
    }
  }
  assert.deepEqual(disagreements, []);
});

test("the page sends what it checked: the form's text, as JSON the writer reads the same way", async () => {
  // Through the page's own builder (aws.js), a value keeps the text the user typed, so "0x10"
  // reaches the writer as "0x10", not as JavaScript's 16.
  const verdicts = await page.evaluate(() => {
    const { aws, reading } = globalThis.TestPage;
    const check = (value) => {
      const data = aws.readingData({ sensorId: 'q"uote\\ 温度', value, timestamp: "2026-01-01T00:00:00.000Z" });
      const { reading: ok, rejection } = reading.decodeRecord(data, Date.parse("2026-01-01T00:00:01Z"));
      return ok ? `stored ${ok.sensorId} ${ok.value}` : rejection.message;
    };
    return ["21.5", " -3e2 ", "0x10", "1e308", "-1.797e308", "1e400", "Infinity", ""].map(check);
  });
  assert.deepEqual(verdicts, [
    'stored q"uote\\ 温度 21.5',
    'stored q"uote\\ 温度 -300',
    'value "0x10" is not a number',
    "value 1e308 is outside the magnitudes 1e-100 to 1e100",
    "value -1.797e308 is outside the magnitudes 1e-100 to 1e100",
    "value 1e400 is outside the magnitudes 1e-100 to 1e100",
    "value is not finite",
    'value "" is not a number',
  ]);
});
