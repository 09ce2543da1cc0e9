// Loads ../sigv4.js the way the browser does (a classic script that fills globalThis.TestPage),
// so the tests exercise the very file the page uses.
import { fileURLToPath, pathToFileURL } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
await import(pathToFileURL(path.join(here, "..", "sigv4.js")).href);

export const { signRequest } = globalThis.TestPage.sigv4;
