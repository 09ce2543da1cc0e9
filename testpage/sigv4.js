// AWS Signature Version 4 for the test page, on Web Crypto.
//
// A classic script rather than an ES module: Chromium refuses module scripts from file://, and
// the page must open from a file. The same file loads under Node (CommonJS), where the tests
// compare its signatures with the aws-sigv4 crate's and with AWS's published test vectors.
//
// Scope: what the page sends. Header-signed requests without a query string; the body is
// signed (its SHA-256 is in the canonical request) but not sent as x-amz-content-sha256,
// exactly as the AWS SDKs do for Kinesis and Lambda.
(function (root) {
  "use strict";

  const ALGORITHM = "AWS4-HMAC-SHA256";
  const utf8 = new TextEncoder();

  function subtle() {
    const api = root.crypto && root.crypto.subtle;
    if (!api) {
      // Browsers hide Web Crypto outside secure contexts (plain http to another host).
      throw new Error(
        "Web Crypto is not available here, so requests cannot be signed. Open the page from " +
          "a file, from http://127.0.0.1 or over https.",
      );
    }
    return api;
  }

  function toHex(buffer) {
    return Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, "0")).join("");
  }

  async function sha256Hex(bytes) {
    return toHex(await subtle().digest("SHA-256", bytes));
  }

  async function hmac(keyBytes, text) {
    const key = await subtle().importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ]);
    return subtle().sign("HMAC", key, utf8.encode(text));
  }

  // 2015-08-30T12:36:00.000Z -> 20150830T123600Z
  function amzDate(date) {
    return date.toISOString().replace(/\.\d{3}/, "").replace(/[-:]/g, "");
  }

  // RFC 3986 unreserved characters stay, everything else is %XX with upper-case hex.
  function uriEncode(text) {
    return encodeURIComponent(text).replace(
      /[!'()*]/g,
      (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase(),
    );
  }

  // URL.pathname is already percent-encoded once; services other than S3 expect each segment
  // encoded again ("double encoding"), which is what the SDKs send.
  function canonicalPath(pathname) {
    return pathname.split("/").map(uriEncode).join("/") || "/";
  }

  // Header values are trimmed and runs of spaces collapsed (spaces only, as AWS does).
  function canonicalValue(value) {
    return String(value).replace(/^ +| +$/g, "").replace(/ {2,}/g, " ");
  }

  /**
   * Signs a request. Returns the headers to send: the caller's, plus X-Amz-Date and
   * Authorization. Host is signed but not returned (browsers set it themselves).
   *
   * @param {object} request
   * @param {string} request.method
   * @param {string} request.url absolute, without a query string
   * @param {Record<string,string>} [request.headers]
   * @param {string|Uint8Array} [request.body] a string is sent, and signed, as UTF-8
   * @param {string} request.region
   * @param {string} request.service e.g. "kinesis", "lambda"
   * @param {string} request.accessKeyId
   * @param {string} request.secretAccessKey
   * @param {Date} [request.date] defaults to now; fixed in tests
   */
  async function signRequest(request) {
    const { method, url, region, service, accessKeyId, secretAccessKey } = request;
    for (const [name, value] of Object.entries({ method, url, region, service, accessKeyId, secretAccessKey })) {
      if (typeof value !== "string" || value === "") {
        throw new Error(`cannot sign: ${name} is missing`);
      }
    }
    const target = new URL(url);
    if (target.search !== "") {
      throw new Error(`cannot sign ${url}: query strings are not supported by this signer`);
    }
    const date = request.date || new Date();
    const stamp = amzDate(date);
    const day = stamp.slice(0, 8);
    const body = request.body === undefined ? new Uint8Array(0) : request.body;
    const bodyBytes = typeof body === "string" ? utf8.encode(body) : body;

    const headers = {};
    for (const [name, value] of Object.entries(request.headers || {})) {
      const lower = name.toLowerCase();
      if (lower === "host" || lower === "authorization" || lower === "x-amz-date") {
        throw new Error(`cannot sign: header ${name} is set by the signer`);
      }
      headers[lower] = canonicalValue(value);
    }
    headers.host = target.host;
    headers["x-amz-date"] = stamp;
    const names = Object.keys(headers).sort();
    const signedHeaders = names.join(";");

    const canonicalRequest = [
      method.toUpperCase(),
      canonicalPath(target.pathname),
      "",
      names.map((name) => `${name}:${headers[name]}\n`).join(""),
      signedHeaders,
      await sha256Hex(bodyBytes),
    ].join("\n");
    const scope = `${day}/${region}/${service}/aws4_request`;
    const stringToSign = [ALGORITHM, stamp, scope, await sha256Hex(utf8.encode(canonicalRequest))].join(
      "\n",
    );

    let key = await hmac(utf8.encode("AWS4" + secretAccessKey), day);
    key = await hmac(key, region);
    key = await hmac(key, service);
    key = await hmac(key, "aws4_request");
    const signature = toHex(await hmac(key, stringToSign));

    const out = {};
    for (const [name, value] of Object.entries(request.headers || {})) {
      out[name] = value;
    }
    out["X-Amz-Date"] = stamp;
    out.Authorization = `${ALGORITHM} Credential=${accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return out;
  }

  const api = { signRequest };
  root.TestPage = Object.assign(root.TestPage || {}, { sigv4: api });
  if (typeof module === "object" && module.exports) {
    module.exports = api;
  }
})(globalThis);
