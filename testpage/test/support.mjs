// Test support: a copy of the page in a temporary folder, the local target serving it, and
// Debian's headless Chromium driven through playwright-core.
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
export const pageSource = path.resolve(here, "..");
export const repoRoot = path.resolve(here, "..", "..");
export const screenshotDir = path.join(repoRoot, "target", "testpage-screenshots");
// The build the test command makes (the dev profile); overridable to try another build.
const deployBin = process.env.TESTPAGE_DEPLOY_BIN || path.join(repoRoot, "target", "debug", "deploy");
const chromiumBin = process.env.TESTPAGE_CHROMIUM || "/usr/bin/chromium";
const READY = /local target ready: (http:\/\/127\.0\.0\.1:\d+)/;
// The page the browser tests load; another copy (the previous commit's, say) shows which of
// them it fails. The device client the tests seed and check with is always this tree's.
const pageUnderTest = process.env.TESTPAGE_PAGE_DIR ? path.resolve(process.env.TESTPAGE_PAGE_DIR) : pageSource;

export async function tempDir(label) {
  return fs.mkdtemp(path.join(os.tmpdir(), `testpage-${label}-`));
}

/** Copies the page's files (never its config.js, nor the tests' folder) into a fresh folder. */
export async function copyPage() {
  const dir = await tempDir("page");
  for (const entry of await fs.readdir(pageUnderTest, { withFileTypes: true })) {
    if (entry.isFile() && entry.name !== "config.js") {
      await fs.copyFile(path.join(pageUnderTest, entry.name), path.join(dir, entry.name));
    }
  }
  return dir;
}

export function fileUrl(dir) {
  return pathToFileURL(path.join(dir, "index.html")).href;
}

/** Starts `deploy --local` on a free port, serving a copy of the page. */
export async function startLocalTarget(stackName) {
  const pageDir = await copyPage();
  const stateDir = await tempDir("state");
  const child = spawn(
    deployBin,
    ["--stack-name", stackName, "--local", "--port", "0", "--state-dir", stateDir, "--testpage-dir", pageDir],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  child.stderr.on("data", (chunk) => {
    log += chunk;
  });
  const url = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`the local target was not ready within 60 s; stderr:\n${log}`)), 60_000);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${deployBin} (build it with cargo build --workspace --locked): ${err.message}`));
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the local target exited with ${code} before it was ready; stderr:\n${log}`));
    });
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const match = READY.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
  const config = await readConfig(pageDir);
  return {
    url,
    pageDir,
    stateDir,
    config,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, "exit");
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await fs.rm(pageDir, { recursive: true, force: true });
      await fs.rm(stateDir, { recursive: true, force: true });
    },
  };
}

/** The `window.IOT_CONFIG` object of a config.js. */
export async function readConfig(pageDir) {
  const text = await fs.readFile(path.join(pageDir, "config.js"), "utf8");
  const start = text.indexOf("window.IOT_CONFIG = ");
  if (start < 0) {
    throw new Error("config.js does not assign window.IOT_CONFIG");
  }
  return JSON.parse(text.slice(start + "window.IOT_CONFIG = ".length).trim().replace(/;$/, ""));
}

export function configScript(config) {
  return `window.IOT_CONFIG = ${JSON.stringify(config, null, 2)};\n`;
}

/** Headless Chromium with a fresh profile; the flags keep it off the network. */
export async function launchBrowser() {
  const profile = await tempDir("profile");
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumBin,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1100, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close();
      await fs.rm(profile, { recursive: true, force: true });
    },
  };
}

/**
 * A new tab that records every request and console error, so a test can assert that nothing
 * left the machine and nothing threw.
 */
export async function openTab(browser) {
  const page = await browser.context.newPage();
  const requests = [];
  const pageErrors = [];
  // Every answer with its status, and the console's errors: a 404 for a file the page did not
  // declare (a favicon) shows up in both.
  const responses = [];
  const consoleErrors = [];
  page.on("request", (request) => requests.push(request.url()));
  page.on("response", (response) => responses.push({ url: response.url(), status: response.status() }));
  page.on("console", (message) => message.type() === "error" && consoleErrors.push(message.text()));
  page.on("pageerror", (err) => pageErrors.push(err.message));
  return { page, requests, responses, consoleErrors, pageErrors };
}

export function offMachine(requests) {
  return requests.filter((url) => !/^(file:|http:\/\/127\.0\.0\.1[:/]|data:|about:)/.test(url));
}

export async function screenshot(page, name) {
  await fs.mkdir(screenshotDir, { recursive: true });
  const file = path.join(screenshotDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** The PutRecord calls among `requests` (URLs and bodies are not enough: Invoke is a POST too). */
export function recordPuts(page) {
  const puts = [];
  page.on("request", (request) => {
    if (request.method() === "POST" && request.headers()["x-amz-target"] === "Kinesis_20131202.PutRecord") {
      puts.push(JSON.parse(request.postData()));
    }
  });
  return puts;
}

/** Loads aws.js (and its signer) into Node, to seed and check the target as a device would. */
export async function loadDeviceClient() {
  await import(pathToFileURL(path.join(pageSource, "sigv4.js")).href);
  await import(pathToFileURL(path.join(pageSource, "aws.js")).href);
  return globalThis.TestPage.aws;
}

/** The page as the local target serves it, once its script has run. */
export async function openServed(browser, target) {
  const tab = await openTab(browser);
  await tab.page.goto(target.url + "/");
  await tab.page.getByRole("button", { name: "Submit" }).waitFor();
  return tab;
}

/** Every reading of a sensor, all pages, through the API as a device would read them. */
export async function allReadings(device, config, sensorid) {
  const items = [];
  let next;
  do {
    const page = await device.queryReadings(config, { sensorid, limit: 1000, next });
    items.push(...page.Items);
    next = page.NextToken;
  } while (next);
  return items;
}

/** Submits a reading through the form and waits for the stream's answer or an error. */
export async function submit(page, sensorId, value) {
  await page.locator("#submit-form").getByLabel("Sensor id").fill(sensorId);
  await page.locator("#submit-form").getByLabel("Value").fill(String(value));
  await page.getByRole("button", { name: "Submit" }).click();
  await page.locator("#submit-sequence, #submit-error:not([hidden])").first().waitFor();
}

/** Queries through the form and waits for the results or an error. */
export async function query(page, sensorId, { limit } = {}) {
  const form = page.locator("#query-form");
  await form.getByLabel("Sensor id").fill(sensorId);
  if (limit !== undefined) {
    await form.getByLabel("Readings per page").fill(String(limit));
  }
  await form.getByRole("button", { name: "Query" }).click();
  await page.locator("#query-results:not([hidden]), #query-error:not([hidden])").first().waitFor();
}

/** The results table's cells, row by row. */
export async function tableRows(page) {
  return page.locator("#query-table tbody tr").evaluateAll((rows) =>
    rows.map((row) => Array.from(row.cells, (cell) => cell.textContent)),
  );
}

/** Polls `probe` until it returns a truthy value; the readings reach the table asynchronously. */
export async function eventually(what, probe, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await probe();
    if (last) {
      return last;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
