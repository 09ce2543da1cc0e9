// A device page served from another loopback origin, as `python -m http.server` would serve
// the 2015 page: the endpoint answers its signed API calls for any origin, as AWS does, while
// config.js (the device secret) stays out of its reach.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { eventually, launchBrowser, loadDeviceClient, openTab, screenshot, startLocalTarget } from "./support.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const FILES = {
  "/": path.join(here, "page-2015", "index.html"),
  "/aws-sdk.min.js": path.join(here, "node_modules", "aws-sdk", "dist", "aws-sdk.min.js"),
};
const run = `${process.pid}-${Date.now().toString(36)}`;
let target;
let browser;
let device;
let server;
let origin;

before(async () => {
  browser = await launchBrowser();
  target = await startLocalTarget(`origintest-${process.pid}`);
  device = await loadDeviceClient();
  server = http.createServer(async (req, res) => {
    const file = FILES[new URL(req.url, "http://x").pathname];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    const type = file.endsWith(".html") ? "text/html; charset=utf-8" : "text/javascript; charset=utf-8";
    res.writeHead(200, { "content-type": type }).end(await fs.readFile(file));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${server.address().port}`;
});

after(async () => {
  await browser?.close();
  await target?.stop();
  server?.close();
});

test("the 2015 page from another origin puts and queries, and cannot read config.js", async () => {
  const { page, pageErrors } = await openTab(browser);
  const calls = [];
  page.on("request", (request) => {
    if (request.url().startsWith(target.url)) {
      calls.push(`${request.method()} ${new URL(request.url()).pathname}`);
    }
  });
  await page.goto(`${origin}/?endpoint=${encodeURIComponent(target.url)}`);
  const { config } = target;
  await page.locator("#accessKeyId").fill(config.accessKeyId);
  await page.locator("#secretAccessKey").fill(config.secretAccessKey);
  await page.locator("#region").fill(config.region);
  await page.locator("#apiFunction").fill(config.apiFunctionName);
  await page.locator("#stream").fill(config.streamName);

  const sensor = `p2015-${run}`;
  await page.locator("#sensorid").fill(sensor);
  await page.locator("#value").fill("22.5");
  await page.locator("#submit").click();
  const result = page.locator("#submit-result");
  await page.waitForFunction(() => document.getElementById("submit-result").textContent !== "");
  assert.match(await result.textContent(), /^Sent, sequence number \d+$/);
  await eventually("the 2015 page's reading in the table", async () => {
    const answer = await device.queryReadings(config, { sensorid: sensor });
    return answer.Items.length === 1;
  });

  await page.locator("#querysensorid").fill(sensor);
  await page.locator("#query").click();
  await page.waitForFunction(() => document.getElementById("results").value !== "");
  assert.match(await page.locator("#results").inputValue(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t22\.5\n$/);
  // One call per click: before, a refused preflight was a network error the SDK retried 3 times.
  assert.deepEqual(calls, ["POST /", `POST /2015-03-31/functions/${config.apiFunctionName}/invocations`]);
  await screenshot(page, "page-2015-from-another-origin");

  // The same origin cannot have the secret: not through fetch, nor as a script.
  const fetched = await page.evaluate(async (url) => {
    try {
      const response = await fetch(url);
      return `read ${response.status}: ${(await response.text()).length} characters`;
    } catch (err) {
      return `refused: ${err.name}`;
    }
  }, `${target.url}/config.js`);
  assert.equal(fetched, "refused: TypeError");
  const included = await page.evaluate(
    (url) =>
      new Promise((resolve) => {
        const script = document.createElement("script");
        script.src = url;
        script.onload = () => resolve(`loaded, IOT_CONFIG is ${typeof window.IOT_CONFIG}`);
        script.onerror = () => resolve(`not loaded, IOT_CONFIG is ${typeof window.IOT_CONFIG}`);
        document.head.append(script);
      }),
    `${target.url}/config.js`,
  );
  assert.equal(included, "not loaded, IOT_CONFIG is undefined");
  assert.deepEqual(pageErrors, []);
  await page.close();
});
