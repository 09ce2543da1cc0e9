// The two AWS calls a device makes, Kinesis PutRecord and Lambda Invoke, signed with sigv4.js,
// and every way they can fail turned into a PageError that says what went wrong and what to do.
(function (root) {
  "use strict";

  const CONFIG_FIELDS = [
    "target",
    "region",
    "streamName",
    "apiFunctionName",
    "kinesisEndpoint",
    "lambdaEndpoint",
    "accessKeyId",
    "secretAccessKey",
  ];

  const AUTH_ERRORS = new Set([
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "IncompleteSignatureException",
    "MissingAuthenticationTokenException",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
  ]);

  /** An error the page shows as it is: a title, what was said, and what to do. */
  class PageError extends Error {
    constructor(kind, title, detail, hint) {
      super(`${title}: ${detail}`);
      this.kind = kind;
      this.title = title;
      this.detail = detail;
      this.hint = hint;
    }
  }

  function setupHint(config) {
    const stack = (config && config.stackName) || "demo";
    if (config && config.target === "aws") {
      return `Run \`cargo run --release -p deploy -- --stack-name ${stack}\` again to rewrite config.js with the stack's current device key.`;
    }
    return `Restart the local target (\`cargo run --release -p deploy -- --stack-name ${stack} --local\`); it rewrites config.js with its device key. Then reload this page.`;
  }

  /** The fields of config.js that are missing or empty. */
  function missingConfigFields(config) {
    if (!config || typeof config !== "object") {
      return CONFIG_FIELDS.slice();
    }
    return CONFIG_FIELDS.filter((name) => typeof config[name] !== "string" || config[name].trim() === "");
  }

  function base64(bytes) {
    let binary = "";
    for (const byte of bytes) {
      binary += String.fromCharCode(byte);
    }
    return btoa(binary);
  }

  function endpointUrl(base, path) {
    return base.replace(/\/+$/, "") + path;
  }

  async function send(config, service, url, headers, body) {
    let signed;
    try {
      signed = await root.TestPage.sigv4.signRequest({
        method: "POST",
        url,
        headers,
        body,
        region: config.region,
        service,
        accessKeyId: config.accessKeyId,
        secretAccessKey: config.secretAccessKey,
      });
    } catch (err) {
      throw new PageError("config", "Cannot sign the request", err.message, setupHint(config));
    }
    let response;
    try {
      response = await fetch(url, { method: "POST", headers: signed, body, mode: "cors", cache: "no-store" });
    } catch (err) {
      const local = config.target === "local";
      throw new PageError(
        "network",
        "Network failure",
        `no answer from ${new URL(url).origin} (${err.message}).`,
        local
          ? `Is the local target running? Start it with \`cargo run --release -p deploy -- --stack-name ${config.stackName || "demo"} --local\` and reload.`
          : "Check your connection and that the region and endpoints in config.js are right.",
      );
    }
    const text = await response.text();
    let json = null;
    try {
      json = text === "" ? null : JSON.parse(text);
    } catch (_) {
      json = null;
    }
    return { response, text, json };
  }

  // AWS names the error in a header (`x-amzn-ErrorType: Name:namespace`) or in the body
  // (`__type`, possibly `namespace#Name`, or Lambda's `Type`).
  function errorName(response, json) {
    const header = response.headers.get("x-amzn-errortype");
    let name = header || (json && (json.__type || json.code)) || "";
    name = String(name).split(":")[0];
    return name.includes("#") ? name.slice(name.indexOf("#") + 1) : name;
  }

  function errorMessage(json, text) {
    if (json && typeof json === "object") {
      return json.message || json.Message || json.errorMessage || text;
    }
    return text || "(no message)";
  }

  function serviceError(config, service, response, json, text) {
    const name = errorName(response, json);
    const message = errorMessage(json, text);
    const what = service === "kinesis" ? "The stream" : "The API function";
    if (response.status === 403 || AUTH_ERRORS.has(name)) {
      return new PageError(
        "access-denied",
        "Access denied",
        `${what} refused the device key${name ? ` (${name})` : ""}: ${message}`,
        setupHint(config),
      );
    }
    if (name === "ResourceNotFoundException") {
      const field = service === "kinesis" ? "streamName" : "apiFunctionName";
      return new PageError(
        "config",
        "Not found",
        `${message}`,
        `config.js names ${field} "${config[field]}", which does not exist in ${config.region}. ${setupHint(config)}`,
      );
    }
    if (name === "ProvisionedThroughputExceededException" || name === "TooManyRequestsException" || response.status === 429) {
      return new PageError("throttled", "Too many requests", message, "Slow down (a lower rate) and try again.");
    }
    if (response.status >= 400 && response.status < 500) {
      return new PageError(
        "validation",
        `${what} rejected the request${name ? ` (${name})` : ""}`,
        message,
        "Correct the values in the form and try again.",
      );
    }
    return new PageError(
      "service",
      `${what} failed (HTTP ${response.status}${name ? `, ${name}` : ""})`,
      message,
      "Try again in a moment.",
    );
  }

  /** A reading as the page sends it: JSON built by JSON.stringify, so any sensor id arrives as typed. */
  function readingData({ sensorId, value, timestamp }) {
    const reading = { sensorid: sensorId, value };
    if (timestamp !== undefined) {
      reading.timestamp = timestamp;
    }
    return new TextEncoder().encode(JSON.stringify(reading));
  }

  // A throttled record is sent again, as Kinesis asks of a producer: up to this many
  // attempts in all, each after a random pause up to 100 ms doubled per retry ("exponential
  // backoff with full jitter"), so that throttled devices do not all return at once.
  const PUT_ATTEMPTS = 4;
  const FIRST_BACKOFF_MS = 100;

  function backoffMs(retry) {
    return Math.random() * FIRST_BACKOFF_MS * 2 ** retry;
  }

  async function putRecordOnce(config, partitionKey, data) {
    const body = JSON.stringify({ StreamName: config.streamName, PartitionKey: partitionKey, Data: base64(data) });
    const { response, json, text } = await send(
      config,
      "kinesis",
      endpointUrl(config.kinesisEndpoint, "/"),
      { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Kinesis_20131202.PutRecord" },
      body,
    );
    if (!response.ok) {
      throw serviceError(config, "kinesis", response, json, text);
    }
    if (!json || typeof json.SequenceNumber !== "string") {
      throw new PageError("service", "Unexpected answer from the stream", text.slice(0, 300), "Try again.");
    }
    return { shardId: json.ShardId, sequenceNumber: json.SequenceNumber };
  }

  /**
   * Puts one record on the stream: `data` (bytes) under `partitionKey`. A refusal for
   * throughput is retried with backoff; `onThrottled`, if given, is called for each one.
   * @returns {Promise<{shardId: string, sequenceNumber: string}>}
   */
  async function putRecord(config, partitionKey, data, { onThrottled } = {}) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await putRecordOnce(config, partitionKey, data);
      } catch (err) {
        if (err.kind !== "throttled") {
          throw err;
        }
        if (onThrottled) {
          onThrottled(err);
        }
        if (attempt >= PUT_ATTEMPTS) {
          throw new PageError(
            "throttled",
            err.title,
            `${err.detail} (refused ${attempt} times, retried with backoff)`,
            err.hint,
          );
        }
      }
      await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt - 1)));
    }
  }

  /** Puts one reading on the stream, partitioned by its sensor id. */
  async function putReading(config, reading, options) {
    return putRecord(config, reading.sensorId, readingData(reading), options);
  }

  /**
   * Asks the API function for a sensor's readings, newest first.
   * @param {{sensorid: string, from?: string, to?: string, limit?: number, next?: string}} query
   */
  async function queryReadings(config, query) {
    const request = { operation: "query" };
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== "") {
        request[name] = value;
      }
    }
    const path = `/2015-03-31/functions/${encodeURIComponent(config.apiFunctionName)}/invocations`;
    const { response, json, text } = await send(
      config,
      "lambda",
      endpointUrl(config.lambdaEndpoint, path),
      { "Content-Type": "application/json" },
      JSON.stringify(request),
    );
    if (!response.ok) {
      throw serviceError(config, "lambda", response, json, text);
    }
    // A function error comes with HTTP 200; the header may be hidden from a cross-origin page,
    // so the body's shape decides too.
    const functionError = response.headers.get("x-amz-function-error");
    if (functionError || (json && typeof json.errorType === "string" && !Array.isArray(json.Items))) {
      const type = (json && json.errorType) || functionError;
      const message = (json && json.errorMessage) || text;
      if (type === "InvalidRequest") {
        throw new PageError("validation", "The API rejected the query", message, "Correct the query and try again.");
      }
      throw new PageError("function", `The API function failed (${type})`, message, "Try again; if it persists, read the function's log.");
    }
    if (!json || !Array.isArray(json.Items)) {
      throw new PageError("service", "Unexpected answer from the API function", text.slice(0, 300), "Try again.");
    }
    return json;
  }

  const api = { PageError, PUT_ATTEMPTS, putRecord, putReading, readingData, queryReadings, missingConfigFields, setupHint, CONFIG_FIELDS };
  root.TestPage = Object.assign(root.TestPage || {}, { aws: api });
  if (typeof module === "object" && module.exports) {
    module.exports = api;
  }
})(globalThis);
