// What the page says is what happened (issue 16), in headless Chromium against a real
// `deploy --local`: each test below failed on the page before it, and names the point it holds.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import {
  allReadings,
  configScript,
  eventually,
  launchBrowser,
  loadDeviceClient,
  offMachine,
  openServed as openServedBy,
  openTab,
  query,
  recordPuts,
  repoRoot,
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
  target = await startLocalTarget(`happened-${process.pid}`);
  device = await loadDeviceClient();
});

after(async () => {
  await browser?.close();
  await target?.stop();
});

const openServed = () => openServedBy(browser, target);
const storedReadings = (sensorid) => allReadings(device, target.config, sensorid);
// As a reader sees it: block elements apart, runs of space as one.
const text = async (locator) => (await locator.innerText()).replace(/\s+/g, " ").trim();

/** Fills the submit form and clicks Submit, without waiting for anything. */
async function fillAndSubmit(page, sensorId, value) {
  await page.locator("#submit-sensor").fill(sensorId);
  await page.locator("#submit-value").fill(String(value));
  await page.getByRole("button", { name: "Submit" }).click();
}

/** Waits until the submission's status is `state` (stored, missing, unconfirmed). */
async function submissionState(page, state, timeout = 20_000) {
  await page.locator(`#submit-result[data-state="${state}"]`).waitFor({ timeout });
  return text(page.locator("#submit-status"));
}

const template = JSON.parse(await fs.readFile(path.join(repoRoot, "infra", "demo.template.json"), "utf8"));
const resource = (name) => template.Resources[name].Properties;

describe("1. stored means stored", () => {
  test("values past the writer's limits, 1e400 and 0x10 are refused before sending, in the writer's words", async () => {
    const { page, pageErrors } = await openServed();
    const puts = recordPuts(page);
    const cases = [
      ["1e308", "value 1e308 is outside the magnitudes 1e-100 to 1e100"],
      ["-1.797e308", "value -1.797e308 is outside the magnitudes 1e-100 to 1e100"],
      ["1e400", "value 1e400 is outside the magnitudes 1e-100 to 1e100"],
      ["0x10", 'value "0x10" is not a number'],
    ];
    for (const [value, message] of cases) {
      await fillAndSubmit(page, `limits-${run}`, value);
      const error = page.locator("#submit-error");
      await error.waitFor();
      assert.equal(await text(error), `The writer would reject this reading ${message}. Correct the form and submit again. Nothing was sent.`);
      assert.equal(await page.locator("#submit-sequence").count(), 0, value);
      if (value === "1e308") {
        await screenshot(page, "submit-refused-by-the-writers-rules");
      }
    }
    assert.deepEqual(puts, [], "nothing reached the stream");
    assert.deepEqual(pageErrors, []);
    await page.close();
  });

  test("a reading is first accepted by the stream, then confirmed stored once a query finds it", async () => {
    const sensor = `stored-${run}`;
    const { page, pageErrors } = await openServed();
    await submit(page, sensor, "21.25");
    assert.match(await text(page.locator("#submit-result")), /^Accepted by the stream: shard shardId-\d+, sequence number \d+\./);
    // The writer gathers for its 1 s window, so the first answer is "not yet".
    assert.equal(
      await text(page.locator("#submit-status")),
      "Not stored yet: the writer stores readings up to 1 s after the stream accepts them. Checking the table…",
    );
    await screenshot(page, "submit-accepted-not-yet-stored");
    const status = await submissionState(page, "stored");
    const [, timestamp] = /^Stored: a query finds it in the table \((\S+), value 21\.25\), [\d.]+ s after the stream accepted it\.$/.exec(status) || [];
    assert.ok(timestamp, status);
    const stored = await storedReadings(sensor);
    assert.deepEqual(stored.map((item) => [item.Timestamp, Number(item.Value)]), [[timestamp, 21.25]]);
    await screenshot(page, "submit-stored");
    assert.deepEqual(pageErrors, []);
    await page.close();
  });

  test("sent anyway, a reading the writer rejects is reported not stored, with the writer's reason", async () => {
    const sensor = `rejected-${run}`;
    const { page, pageErrors } = await openServed();
    await page.getByLabel("Send it even if the writer will reject it").check({ timeout: 2000 });
    await submit(page, sensor, "1e308");
    const accepted = Date.now();
    assert.match(
      await text(page.locator("#submit-status")),
      /^The writer will reject it: value 1e308 is outside the magnitudes 1e-100 to 1e100\. Watching the table for 6 s to show it…$/,
    );
    const status = await submissionState(page, "missing");
    assert.ok(Date.now() - accepted >= 5000, "it waited for the window and the margin");
    assert.equal(
      status,
      "Not stored: it did not appear in the table within 6 s (the writer's 1 s batching window plus 5 s). " +
        "The writer rejects it: value 1e308 is outside the magnitudes 1e-100 to 1e100. The local target's terminal counts it under rejected.",
    );
    assert.deepEqual(await storedReadings(sensor), [], "the writer did reject it");
    await screenshot(page, "submit-not-stored-rejected");
    assert.deepEqual(pageErrors, []);
    await page.close();
  });

  test("a reading the page cannot fault that never reaches the table is reported not stored", async () => {
    const sensor = `late-${run}`;
    const { page, pageErrors } = await openServed();
    // The put is real; the queries that look for it answer as if the writer never stored it,
    // as they would with the writer stopped.
    await page.route(`${target.url}/2015-03-31/**`, (route) =>
      route.fulfill({ contentType: "application/json", body: JSON.stringify({ Items: [], Count: 0, ScannedCount: 0 }) }),
    );
    await submit(page, sensor, "4");
    const status = await submissionState(page, "missing");
    assert.match(
      status,
      /^Not stored: it did not appear in the table within 6 s .* The page's checks \(the writer's rules\) passed, so it is either late .* or was replaced by another reading with the same sensor id and timestamp\. /,
    );
    await screenshot(page, "submit-not-stored-reason-unknown");
    assert.deepEqual(pageErrors, []);
    await page.close();
  });
});

describe("2. a long sensor id", () => {
  test("300 characters, typed or set by a script, are refused with the writer's message, not cut to 128", async () => {
    const id = "x".repeat(300);
    const { page, pageErrors } = await openServed();
    const puts = recordPuts(page);
    const input = page.locator("#submit-sensor");
    await input.fill("");
    await input.pressSequentially(id);
    assert.equal((await input.inputValue()).length, 300, "the field keeps what was typed");
    await page.locator("#submit-value").fill("1");
    await page.getByRole("button", { name: "Submit" }).click();
    const error = page.locator("#submit-error");
    await error.waitFor();
    const typed = await text(error);
    assert.match(typed, /sensor id has 300 characters, at most 128 are allowed\./);
    await screenshot(page, "submit-refused-long-id");

    await page.evaluate((value) => {
      document.getElementById("submit-sensor").value = value;
    }, id);
    await page.getByRole("button", { name: "Submit" }).click();
    await error.waitFor();
    assert.equal(await text(error), typed, "the same message either way");

    const querySensor = page.locator("#query-sensor");
    await querySensor.fill("");
    await querySensor.pressSequentially(id);
    await page.getByRole("button", { name: "Query" }).click();
    const queryError = page.locator("#query-error");
    await queryError.waitFor();
    assert.equal(
      await text(queryError),
      "Check the form The writer refuses this id: sensor id has 300 characters, at most 128 are allowed. Correct the field and try again.",
    );
    assert.deepEqual(puts, []);
    assert.deepEqual(pageErrors, []);
    await page.close();
  });
});

describe("3. no answer under an error", () => {
  test("a failed query takes the previous sensor's table, chart and summary away", async () => {
    const sensor = `previous-${run}`;
    for (const [i, value] of [3.5, 4.5].entries()) {
      await device.putReading(target.config, { sensorId: sensor, value, timestamp: new Date(Date.now() - (i + 1) * 1000).toISOString() });
    }
    await eventually("2 readings in the table", async () => (await storedReadings(sensor)).length === 2);
    const { page, pageErrors } = await openServed();
    const results = page.locator("#query-results");

    await query(page, sensor);
    assert.equal((await tableRows(page)).length, 2);
    await page.evaluate(() => {
      globalThis.IOT_CONFIG.secretAccessKey += "x";
    });
    await query(page, `other-${run}`);
    assert.equal(await page.locator("#query-error").getAttribute("data-kind"), "access-denied");
    assert.equal(await results.isHidden(), true, "the previous answer is gone");
    assert.equal((await tableRows(page)).length, 0);
    assert.equal(await page.locator("#query-chart circle").count(), 0);
    assert.equal(await page.locator("#query-summary").textContent(), "");
    await screenshot(page, "query-failed-previous-answer-cleared");

    // The same for a query the form itself refuses.
    await page.evaluate(() => {
      globalThis.IOT_CONFIG.secretAccessKey = globalThis.IOT_CONFIG.secretAccessKey.slice(0, -1);
    });
    await query(page, sensor);
    assert.equal((await tableRows(page)).length, 2);
    await query(page, sensor, { limit: 0 });
    assert.equal(await page.locator("#query-error").getAttribute("data-kind"), "input");
    assert.equal(await results.isHidden(), true);
    assert.deepEqual(pageErrors, []);
    await page.close();
  });
});

describe("4. storage trails the stream", () => {
  test("a query right after a submit says the newest reading may not be in the table yet", async () => {
    const sensor = `trailing-${run}`;
    const { page, pageErrors } = await openServed();
    const note = page.locator("#query-pending");
    const notYet = /^The reading submitted at \S+Z is not in this answer yet: the stream accepted it, and the writer stores readings up to 1 s later \(its batching window\)\. Query again in a moment\.$/;

    // Nothing stored yet: the empty answer says why it may be empty.
    await submit(page, sensor, "7");
    await query(page, sensor);
    assert.match(await text(page.locator("#query-summary")), /^No readings of sensor trailing-\S+ match\. A reading reaches the table up to 1 s after the stream accepts it/);
    assert.match(await text(note), notYet);
    await screenshot(page, "query-right-after-submit");
    await submissionState(page, "stored");
    await query(page, sensor);
    assert.deepEqual((await tableRows(page)).map((row) => row[1]), ["7"]);
    assert.equal(await note.isHidden(), true, "no note once it is stored");

    // Readings stored already, the newest not yet: the answer says which one is missing.
    await submit(page, sensor, "8");
    await query(page, sensor);
    assert.deepEqual((await tableRows(page)).map((row) => row[1]), ["7"]);
    assert.match(await text(note), notYet);
    await submissionState(page, "stored");
    await query(page, sensor);
    assert.deepEqual((await tableRows(page)).map((row) => row[1]), ["8", "7"]);
    assert.equal(await note.isHidden(), true);
    assert.deepEqual(pageErrors, []);
    await page.close();
  });
});

describe("5. simulate", () => {
  test("it names its sensor ids, one click queries one, and it stops when the key is refused", async () => {
    const prefix = `simids-${run}`;
    const { page, pageErrors } = await openServed();
    await page.getByLabel("Sensor id prefix").fill(prefix);
    await page.getByLabel(/^Sensors /).fill("2");
    await page.getByLabel("Readings per second, per sensor").fill("4");
    await page.getByRole("button", { name: "Start" }).click();
    const ids = page.locator("#simulate-ids");
    assert.equal(await text(ids), `Sensor ids: ${prefix}-1 to ${prefix}-2, e.g. ${prefix}-1 or ${prefix}-2 (select one to query it).`);
    await eventually(`readings of ${prefix}-2 in the table`, async () => (await storedReadings(`${prefix}-2`)).length > 0);
    await page.getByRole("button", { name: "Stop" }).click();
    await page.locator("#simulate-state", { hasText: /^Stopped\.$/ }).waitFor();

    await ids.getByRole("button", { name: `${prefix}-2`, exact: true }).click();
    await page.locator("#query-caption", { hasText: `Readings of sensor ${prefix}-2, newest first` }).waitFor();
    assert.equal(await page.locator("#query-sensor").inputValue(), `${prefix}-2`);
    assert.ok((await tableRows(page)).length > 0);
    await screenshot(page, "simulate-ids-and-one-queried");

    await page.evaluate(() => {
      globalThis.IOT_CONFIG.secretAccessKey += "x";
    });
    await page.getByLabel(/^Sensors /).fill("3");
    await page.getByLabel("Readings per second, per sensor").fill("5");
    await page.getByRole("button", { name: "Start" }).click();
    const state = page.locator("#simulate-state");
    await state.filter({ hasText: /^Stopped: / }).waitFor({ timeout: 10_000 });
    assert.equal(
      await text(state),
      "Stopped: the last 3 calls were refused (access denied), and every further call would be too. Fix what the error below says, then start again.",
    );
    assert.equal(await page.locator("#simulate-error").getAttribute("data-kind"), "access-denied");
    const failed = Number(await page.locator("#simulate-failed").textContent());
    // Three refusals stop it; the other sensors' calls already in flight may add one each.
    assert.ok(failed >= 3 && failed <= 5, `failed: ${failed}`);
    await page.waitForTimeout(1500);
    assert.equal(Number(await page.locator("#simulate-failed").textContent()), failed, "nothing more was sent");
    assert.equal(await page.getByRole("button", { name: "Start" }).isEnabled(), true);
    await screenshot(page, "simulate-stopped-key-refused");
    assert.deepEqual(pageErrors, []);
    await page.close();
  });
});

describe("6. the pipeline, explained", () => {
  test("the page says what a submit and a query do, with names true here and on AWS", async () => {
    const { page, pageErrors } = await openServed();
    const { config } = target;
    const pipeline = page.locator("#pipeline");
    const said = await text(pipeline);
    for (const name of [config.streamName, config.apiFunctionName, `${config.stackName}-SensorData`, `.local-state/${config.stackName}`]) {
      assert.ok(said.includes(name), `names ${name}`);
    }
    // The windows are the stack definition's, as the template renders them.
    const window = (mapping) => `${resource(mapping).MaximumBatchingWindowInSeconds} s`;
    assert.equal(await text(pipeline.locator('[data-name="writer-window"]')), window("IoTMapEventSourceDDBEventProcessor"));
    assert.equal(await text(pipeline.locator('[data-name="archiver-window"]')), window("IoTMapEventSourceS3EventProcessor"));
    assert.ok(said.includes(`namespace ${resource("IoTDDBEventProcessor").Environment.Variables.METRICS_NAMESPACE}`));
    // Here, the place to look comes first, and what it names is there.
    assert.deepEqual(
      await page.locator("#pipeline .where dd").evaluateAll((dds) => dds.map((dd) => dd.id)),
      ["where-local", "where-aws"],
    );
    const local = await text(page.locator("#where-local"));
    for (const file of ["archive", "table.db", "metrics.db", "stream.db"]) {
      assert.ok(local.includes(file), file);
      await fs.stat(path.join(target.stateDir, file));
    }
    const readme = await fs.readFile(path.join(repoRoot, "README.md"), "utf8");
    assert.ok(readme.includes("(default `.local-state/<stack>`)"), "the default state folder the page names");
    await screenshot(page, "pipeline-explained-local");
    await page.close();

    // On AWS, for the stack of the checked-in template: its names, and AWS's place first.
    const tab = await openTab(browser);
    const aws = {
      ...config,
      target: "aws",
      stackName: "demo",
      region: "eu-west-1",
      streamName: resource("IoTEventStream").Name,
      apiFunctionName: resource("IoTAPI").FunctionName,
      kinesisEndpoint: "https://kinesis.eu-west-1.amazonaws.com",
      lambdaEndpoint: "https://lambda.eu-west-1.amazonaws.com",
    };
    await tab.page.route(`${target.url}/config.js`, (route) =>
      route.fulfill({ contentType: "text/javascript", body: configScript(aws) }),
    );
    await tab.page.goto(target.url + "/");
    const onAws = await text(tab.page.locator("#where-aws"));
    const expected = [
      resource("IoTArchiveBucket").BucketName["Fn::Sub"].replace("${AWS::AccountId}", "<account id>"),
      resource("SensorDataTable").TableName,
      resource("IoTDDBEventProcessorLogGroup").LogGroupName,
      resource("IoTDDBEventProcessor").Environment.Variables.METRICS_NAMESPACE,
    ];
    for (const name of expected) {
      assert.ok(onAws.includes(name), `names ${name}: ${onAws}`);
    }
    assert.deepEqual(
      await tab.page.locator("#pipeline .where dd").evaluateAll((dds) => dds.map((dd) => dd.id)),
      ["where-aws", "where-local"],
    );
    assert.deepEqual(offMachine(tab.requests), [], "showing it called nothing");
    await screenshot(tab.page, "pipeline-explained-aws");
    assert.deepEqual([...pageErrors, ...tab.pageErrors], []);
    await tab.page.close();
  });
});

describe("8. the icon", () => {
  // Chromium fetches icons from the browser process, which the page's request events do not
  // show; so the test checks what decides whether /favicon.ico is asked for: a declared icon,
  // and that it is served.
  test("the page declares its icon, which is served, so the browser never asks for /favicon.ico", async () => {
    const { page, responses, consoleErrors, pageErrors } = await openServed();
    await page.waitForLoadState("load");
    const icons = await page.evaluate(() => [...document.querySelectorAll('link[rel~="icon"]')].map((link) => link.href));
    assert.deepEqual(icons, [`${target.url}/favicon.svg`]);
    const icon = await page.evaluate(async (url) => {
      const response = await fetch(url);
      return { status: response.status, type: response.headers.get("content-type"), body: await response.text() };
    }, icons[0]);
    assert.equal(icon.status, 200);
    assert.equal(icon.type, "image/svg+xml");
    assert.match(icon.body, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.deepEqual(responses.filter((r) => r.status >= 400), [], "nothing the page loads is missing");
    assert.deepEqual(consoleErrors, []);
    assert.deepEqual(pageErrors, []);
    await screenshot(page, "served-page");
    await page.close();
  });
});
