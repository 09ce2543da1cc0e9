// The test page in real headless Chromium against a running local target.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import {
  allReadings,
  configScript,
  copyPage,
  eventually,
  fileUrl,
  launchBrowser,
  loadDeviceClient,
  offMachine,
  openServed as openServedBy,
  openTab,
  query,
  screenshot,
  startLocalTarget,
  submit,
  tableRows,
} from "./support.mjs";

const run = `${process.pid}-${Date.now().toString(36)}`;
let target;
let browser;
let device;

before(async () => {
  browser = await launchBrowser();
  target = await startLocalTarget(`pagetest-${process.pid}`);
  device = await loadDeviceClient();
});

after(async () => {
  await browser?.close();
  await target?.stop();
});

/** A loopback port nothing listens on: bound by the system, then released. */
async function closedPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Every reading of a sensor, all pages, through the API as a device would read them. */
const storedReadings = (sensorid) => allReadings(device, target.config, sensorid);

const openServed = () => openServedBy(browser, target);

describe("against the local target, served by it", () => {
  test("submitting a reading shows its shard and sequence number", async () => {
    const { page, requests, pageErrors } = await openServed();
    await submit(page, `submit-${run}`, 21.5);
    const sequence = await page.locator("#submit-sequence").textContent();
    assert.match(sequence, /^\d+$/);
    assert.notEqual(await page.locator("#submit-shard").textContent(), "");
    assert.equal(await page.locator("#submit-error").isHidden(), true);
    assert.deepEqual(offMachine(requests), [], "nothing is loaded from the network");
    assert.deepEqual(pageErrors, []);
    await page.close();
  });

  test("querying shows the reading in the table and as a point in the chart", async () => {
    const sensor = `query-${run}`;
    const { page, pageErrors } = await openServed();
    await submit(page, sensor, 17.25);
    await eventually("the reading to reach the table", async () => (await storedReadings(sensor)).length === 1);
    await query(page, sensor);
    const rows = await tableRows(page);
    assert.equal(rows.length, 1);
    assert.match(rows[0][0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(rows[0][1], "17.25");
    assert.equal(await page.locator("#query-chart circle.point").count(), 1);
    assert.match(await page.locator("#query-chart").getAttribute("aria-label"), /1 readings of sensor/);
    assert.equal(await page.locator("#query-more").isHidden(), true);
    await screenshot(page, "query-one-reading");
    assert.deepEqual(pageErrors, []);
    await page.close();
  });

  test("More pages through 45 readings", async () => {
    const sensor = `paging-${run}`;
    const start = Date.now() - 60 * 60 * 1000;
    for (let i = 0; i < 45; i += 1) {
      await device.putReading(target.config, {
        sensorId: sensor,
        value: Math.round(Math.sin(i / 5) * 1000) / 100,
        timestamp: new Date(start + i * 60_000).toISOString(),
      });
    }
    await eventually("45 readings in the table", async () => (await storedReadings(sensor)).length === 45);

    const { page, pageErrors } = await openServed();
    await query(page, sensor, { limit: 20 });
    assert.equal((await tableRows(page)).length, 20);
    const more = page.getByRole("button", { name: "More" });
    await more.click();
    await page.locator("#query-table tbody tr").nth(39).waitFor();
    assert.equal((await tableRows(page)).length, 40);
    await more.click();
    await page.locator("#query-table tbody tr").nth(44).waitFor();
    await more.waitFor({ state: "hidden" });
    const rows = await tableRows(page);
    assert.equal(rows.length, 45);
    const times = rows.map((row) => row[0]);
    assert.equal(new Set(times).size, 45, "no reading twice");
    assert.deepEqual(times, [...times].sort().reverse(), "newest first");
    assert.equal(times[44], new Date(start).toISOString());
    assert.equal(await page.locator("#query-chart circle.point").count(), 45);
    assert.match(await page.locator("#query-summary").textContent(), /^45 readings shown\.$/);
    await screenshot(page, "query-45-readings");
    assert.deepEqual(pageErrors, []);
    await page.close();
  });

  test("simulating 3 sensors for 3 seconds stores every reading it reports as sent", async () => {
    const prefix = `sim-${run}`;
    const { page, pageErrors } = await openServed();
    await page.getByLabel("Sensor id prefix").fill(prefix);
    await page.getByLabel(/^Sensors /).fill("3");
    await page.getByLabel("Readings per second, per sensor").fill("5");
    const before = Date.now();
    await page.getByRole("button", { name: "Start" }).click();
    await page.waitForTimeout(3000);
    await page.getByRole("button", { name: "Stop" }).click();
    // The page's loops stop sending once the Stop click has been handled, so they ran within
    // [before, after]: a window of 3 s plus the two clicks.
    const after = Date.now();
    await page.locator("#simulate-state", { hasText: "Stopped." }).waitFor();
    const sent = Number(await page.locator("#simulate-sent").textContent());
    const failed = Number(await page.locator("#simulate-failed").textContent());
    assert.equal(failed, 0, await page.locator("#simulate-error").textContent());
    // The rate implies 3 sensors x 5 readings/s x 3 s = 45. Upper bound: each sensor's loop
    // sends, then waits out the rest of its 200 ms interval, so in the measured window it sends
    // at most one reading per 200 ms plus the first, however loaded the machine (199 allows for
    // whole-millisecond clocks). Lower bound: two thirds of 45. A reading is sent only after the
    // previous one of its sensor was answered, and on a loaded 2-core machine (Chromium, the
    // local target and a build sharing it) an answer can take longer than the 200 ms
    // interval now and then; each such answer costs that sensor a reading, and a third of them
    // lost means the loop is stalling, not pacing. A loop that stops early or sends only its
    // first reading fails, as does one sending faster than the rate.
    const window = after - before;
    const most = 3 * (Math.floor(window / 199) + 1);
    assert.ok(sent >= 30 && sent <= most, `sent ${sent}: expected 30 to ${most} in ${window} ms`);
    const sensors = [1, 2, 3].map((i) => `${prefix}-${i}`);
    const stored = await eventually(`${sent} simulated readings in the table`, async () => {
      const readings = await Promise.all(sensors.map((id) => storedReadings(id)));
      const counts = readings.map((items) => items.length);
      const total = counts.reduce((a, b) => a + b, 0);
      return total >= sent ? { total, counts, readings } : null;
    });
    assert.equal(stored.total, sent);
    assert.ok(stored.counts.every((count) => count > 0), `every sensor sent: ${stored.counts}`);
    // The readings' own timestamps (taken as each was sent) show the pacing: 200 ms or more
    // apart within a sensor, and spread over the run rather than sent in a burst. The span
    // allows for the last interval before Stop and for slow answers (see above).
    for (const [i, items] of stored.readings.entries()) {
      const times = items.map((item) => Date.parse(item.Timestamp)).sort((a, b) => a - b);
      const gaps = times.slice(1).map((time, j) => time - times[j]);
      assert.ok(gaps.every((gap) => gap >= 199), `${sensors[i]}: gaps ${gaps}`);
      const span = times[times.length - 1] - times[0];
      assert.ok(span >= 2000 && span <= window, `${sensors[i]}: span ${span} ms of ${window}`);
    }
    assert.deepEqual(pageErrors, []);
    await page.close();
  });

  test("a sensor id with quotes, a backslash and non-ASCII text round-trips", async () => {
    const sensor = `Küche "Ofen" \\ 温度 🌡 '<b>x</b>' ${run}`;
    const { page, pageErrors } = await openServed();
    await submit(page, sensor, -4.5);
    assert.match(await page.locator("#submit-sequence").textContent(), /^\d+$/);
    const stored = await eventually("the reading to reach the table", async () => {
      const items = await storedReadings(sensor);
      return items.length === 1 ? items : null;
    });
    assert.equal(stored[0].SensorId, sensor);
    assert.equal(Number(stored[0].Value), -4.5);
    await query(page, sensor);
    assert.deepEqual((await tableRows(page)).map((row) => row[1]), ["-4.5"]);
    assert.equal(await page.locator("#query-caption").textContent(), `Readings of sensor ${sensor}, newest first`);
    assert.equal(await page.locator("#query-table b").count(), 0, "the id is text, not markup");
    await screenshot(page, "query-unusual-sensor-id");
    assert.deepEqual(pageErrors, []);
    await page.close();
  });

  test("a sensor without readings says so instead of an empty chart", async () => {
    const { page, pageErrors } = await openServed();
    await query(page, `never-seen-${run}`);
    assert.match(
      await page.locator("#query-summary").textContent(),
      /^No readings of sensor never-seen-.* match\. A reading reaches the table up to 1 s after the stream accepts it \(the writer's batching window\), so one submitted a moment ago may not be here yet\.$/,
    );
    assert.equal(await page.locator("#query-chart").isHidden(), true);
    assert.equal(await page.locator("#query-more").isHidden(), true);
    assert.deepEqual(pageErrors, []);
    await page.close();
  });

  test("a query the API rejects shows the API's reason", async () => {
    const { page } = await openServed();
    const form = page.locator("#query-form");
    await form.getByLabel("Sensor id").fill(`query-${run}`);
    await form.getByLabel(/^From /).fill("2026-05-02T10:00");
    await form.getByLabel(/^To /).fill("2026-05-01T10:00");
    await form.getByRole("button", { name: "Query" }).click();
    const error = page.locator("#query-error");
    await error.waitFor();
    assert.equal(await error.getAttribute("data-kind"), "validation");
    assert.match(await error.textContent(), /The API rejected the query.*later than/s);
    await page.close();
  });

  test("keyboard only: Enter in the value field submits", async () => {
    const { page } = await openServed();
    await page.locator("#submit-form").getByLabel("Value").focus();
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.type("-keyboard");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await page.locator("#submit-sequence").waitFor();
    await page.close();
  });

  test("on a phone-sized screen nothing overflows sideways", async () => {
    const sensor = `phone-${run}`;
    const { page } = await openServed();
    await page.setViewportSize({ width: 375, height: 740 });
    for (const value of [18.5, 19.25, 18.75]) {
      await submit(page, sensor, value);
    }
    await eventually("3 readings in the table", async () => (await storedReadings(sensor)).length === 3);
    await query(page, sensor);
    assert.equal(await page.locator("#query-chart circle.point").count(), 3);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
    await screenshot(page, "phone-after-query");
    await page.close();
  });
});

describe("errors are shown plainly", () => {
  /** The served page with a config.js altered by `change`. */
  async function openWithConfig(change) {
    const tab = await openTab(browser);
    const config = change({ ...target.config });
    await tab.page.route(`${target.url}/config.js`, (route) =>
      route.fulfill({ contentType: "text/javascript", body: configScript(config) }),
    );
    await tab.page.goto(target.url + "/");
    return tab;
  }

  test("a wrong secret shows access denied, for the stream and for the API", async () => {
    const { page, pageErrors } = await openWithConfig((c) => ({ ...c, secretAccessKey: c.secretAccessKey + "x" }));
    await submit(page, `denied-${run}`, 1);
    const submitError = page.locator("#submit-error");
    assert.equal(await submitError.getAttribute("data-kind"), "access-denied");
    assert.match(await submitError.textContent(), /^Access denied.*refused the device key.*config\.js/s);
    assert.equal(await page.locator("#submit-sequence").count(), 0);
    await query(page, `denied-${run}`);
    const queryError = page.locator("#query-error");
    assert.equal(await queryError.getAttribute("data-kind"), "access-denied");
    assert.match(await queryError.textContent(), /^Access denied/);
    assert.doesNotMatch(await page.locator("main").textContent(), /\bat .*\.js:\d+/, "no stack trace");
    await screenshot(page, "wrong-secret");
    assert.deepEqual(pageErrors, []);
    await page.close();
  });

  test("an unreachable endpoint shows a network failure and what to check", async () => {
    const closed = `http://127.0.0.1:${await closedPort()}`;
    const { page } = await openWithConfig((c) => ({ ...c, kinesisEndpoint: closed, lambdaEndpoint: closed }));
    await submit(page, `offline-${run}`, 1);
    const error = page.locator("#submit-error");
    assert.equal(await error.getAttribute("data-kind"), "network");
    assert.match(await error.textContent(), new RegExp(`Network failure.*${closed.replace(/\./g, "\\.")}.*local target running`, "s"));
    await page.close();
  });

  test("an incomplete config.js names the missing fields and the command to run", async () => {
    const { page } = await openWithConfig((c) => ({ ...c, secretAccessKey: "", streamName: undefined }));
    await page.locator("#setup").waitFor();
    assert.match(await page.locator("#setup-problem").textContent(), /incomplete: streamName, secretAccessKey are missing/);
    assert.equal(await page.getByRole("button", { name: "Submit" }).isDisabled(), true);
    await page.close();
  });
});

describe("opened from file://", () => {
  test("with the local target's config.js it submits and queries", async () => {
    const dir = await copyPage();
    try {
      await fs.copyFile(path.join(target.pageDir, "config.js"), path.join(dir, "config.js"));
      const { page, pageErrors } = await openTab(browser);
      await page.goto(fileUrl(dir));
      const sensor = `file-${run}`;
      await submit(page, sensor, 3);
      assert.match(await page.locator("#submit-sequence").textContent(), /^\d+$/, await page.locator("#submit-error").textContent());
      await eventually("the reading to reach the table", async () => (await storedReadings(sensor)).length === 1);
      await query(page, sensor);
      assert.deepEqual((await tableRows(page)).map((row) => row[1]), ["3"]);
      assert.deepEqual(pageErrors, []);
      await page.close();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
