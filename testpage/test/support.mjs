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
// The release build the test command makes; overridable to try another build.
const deployBin = process.env.TESTPAGE_DEPLOY_BIN || path.join(repoRoot, "target", "release", "deploy");
const chromiumBin = process.env.TESTPAGE_CHROMIUM || "/usr/bin/chromium";
const READY = /local target ready: (http:\/\/127\.0\.0\.1:\d+)/;
const PAGE_FILES = ["index.html", "style.css", "sigv4.js", "aws.js", "chart.js", "app.js"];

export async function tempDir(label) {
  return fs.mkdtemp(path.join(os.tmpdir(), `testpage-${label}-`));
}

/** Copies the page (never its config.js) into a fresh folder. */
export async function copyPage() {
  const dir = await tempDir("page");
  for (const file of PAGE_FILES) {
    await fs.copyFile(path.join(pageSource, file), path.join(dir, file));
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
      reject(new Error(`cannot start ${deployBin} (build it with cargo build --workspace --release --locked): ${err.message}`));
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
  page.on("request", (request) => requests.push(request.url()));
  page.on("pageerror", (err) => pageErrors.push(err.message));
  return { page, requests, pageErrors };
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

/** Loads aws.js (and its signer) into Node, to seed and check the target as a device would. */
export async function loadDeviceClient() {
  await import(pathToFileURL(path.join(pageSource, "sigv4.js")).href);
  await import(pathToFileURL(path.join(pageSource, "aws.js")).href);
  return globalThis.TestPage.aws;
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
