// aws.js without a browser: the requests it sends (shape, escaping, signing) and how it names
// each kind of failure, against a loopback server answering as Kinesis and Lambda answer.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { loadDeviceClient } from "./support.mjs";

const aws = await loadDeviceClient();
let server;
let endpoint;
const seen = [];
const answers = [];

before(async () => {
  server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) {
      chunks.push(chunk);
    }
    seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
    const { status, headers, body } = answers.shift();
    res.writeHead(status, headers);
    res.end(typeof body === "string" ? body : JSON.stringify(body));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${server.address().port}`;
});

after(() => server.close());

function config(overrides = {}) {
  return {
    target: "local",
    stackName: "demo",
    region: "us-east-1",
    streamName: "demo-IoTEventStream",
    apiFunctionName: "demo-IoTAPI",
    kinesisEndpoint: endpoint,
    lambdaEndpoint: endpoint + "/",
    accessKeyId: "AKIATEST",
    secretAccessKey: "secret",
    ...overrides,
  };
}

function answer(status, body, headers = {}) {
  answers.push({ status, body, headers: { "content-type": "application/json", ...headers } });
}

async function failure(promise) {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof aws.PageError, `a PageError, not ${err}`);
    return err;
  }
  assert.fail("expected a failure");
}

test("PutRecord: JSON payload, any sensor id, signed for kinesis", async () => {
  const id = 'Küche "Ofen" \\ 温度 🌡';
  answer(200, { ShardId: "shardId-000000000000", SequenceNumber: "49590338271490256608559692538361571095921575989136588898" });
  const stored = await aws.putReading(config(), { sensorId: id, value: 21.5, timestamp: "2026-11-02T08:15:30.123Z" });
  assert.deepEqual(stored, { shardId: "shardId-000000000000", sequenceNumber: "49590338271490256608559692538361571095921575989136588898" });
  const request = seen.at(-1);
  assert.equal(request.url, "/");
  assert.equal(request.headers["x-amz-target"], "Kinesis_20131202.PutRecord");
  assert.equal(request.headers["content-type"], "application/x-amz-json-1.1");
  assert.match(request.headers.authorization, /^AWS4-HMAC-SHA256 Credential=AKIATEST\/\d{8}\/us-east-1\/kinesis\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=[0-9a-f]{64}$/);
  const body = JSON.parse(request.body);
  assert.equal(body.StreamName, "demo-IoTEventStream");
  assert.equal(body.PartitionKey, id);
  assert.deepEqual(JSON.parse(Buffer.from(body.Data, "base64").toString("utf8")), {
    sensorid: id,
    value: 21.5,
    timestamp: "2026-11-02T08:15:30.123Z",
  });
});

test("Invoke: the query as JSON, empty fields left out, signed for lambda", async () => {
  answer(200, { Items: [{ SensorId: "a\"b", Timestamp: "2026-11-02T08:15:30.123Z", Value: 1 }], Count: 1, ScannedCount: 1 });
  const page = await aws.queryReadings(config(), { sensorid: 'a"b', from: "", to: undefined, limit: 5, next: "tok" });
  assert.equal(page.Count, 1);
  const request = seen.at(-1);
  assert.equal(request.url, "/2015-03-31/functions/demo-IoTAPI/invocations");
  assert.match(request.headers.authorization, /\/us-east-1\/lambda\/aws4_request/);
  assert.deepEqual(JSON.parse(request.body), { operation: "query", sensorid: 'a"b', limit: 5, next: "tok" });
});

test("a refused key is access denied, with what to run", async () => {
  answer(400, { __type: "UnrecognizedClientException", message: "The security token included in the request is invalid." });
  let err = await failure(aws.putReading(config(), { sensorId: "s", value: 1 }));
  assert.equal(err.kind, "access-denied");
  assert.match(err.detail, /UnrecognizedClientException.*security token/);
  assert.match(err.hint, /--stack-name demo --local/);

  answer(403, { Type: "User", message: "not authorized to perform: lambda:InvokeFunction" }, { "x-amzn-errortype": "AccessDeniedException:http://internal.amazon.com/coral/" });
  err = await failure(aws.queryReadings(config({ target: "aws" }), { sensorid: "s" }));
  assert.equal(err.kind, "access-denied");
  assert.match(err.detail, /AccessDeniedException.*lambda:InvokeFunction/);
  assert.match(err.hint, /deploy -- --stack-name demo`/);
});

test("validation errors from the stream and from the API", async () => {
  answer(400, { __type: "ValidationException", message: "1 validation error detected: Value at 'partitionKey' failed to satisfy constraint" });
  let err = await failure(aws.putReading(config(), { sensorId: "s", value: 1 }));
  assert.equal(err.kind, "validation");
  assert.match(err.title, /stream rejected the request \(ValidationException\)/);
  assert.match(err.detail, /partitionKey/);

  answer(200, { errorType: "InvalidRequest", errorMessage: "field `limit` must be a whole number from 1 to 1000, got 0" }, { "x-amz-function-error": "Unhandled" });
  err = await failure(aws.queryReadings(config(), { sensorid: "s", limit: 0 }));
  assert.equal(err.kind, "validation");
  assert.match(err.detail, /field `limit`/);

  // Cross-origin pages may not see the header; the body alone tells.
  answer(200, { errorType: "InvalidRequest", errorMessage: "field `next` is not a paging token" });
  err = await failure(aws.queryReadings(config(), { sensorid: "s", next: "x" }));
  assert.equal(err.kind, "validation");
});

test("a missing stream or function points at config.js", async () => {
  answer(400, { __type: "ResourceNotFoundException", message: "Stream nope under account 123 not found." });
  const err = await failure(aws.putReading(config({ streamName: "nope" }), { sensorId: "s", value: 1 }));
  assert.equal(err.kind, "config");
  assert.match(err.hint, /streamName "nope"/);
});

const THROTTLED = { __type: "ProvisionedThroughputExceededException", message: "Rate exceeded for shard shardId-000000000000" };

test("a throttled reading is resent with backoff, and each refusal is reported", async () => {
  answer(400, THROTTLED);
  answer(400, THROTTLED);
  answer(200, { ShardId: "shardId-000000000000", SequenceNumber: "1" });
  const before = seen.length;
  const refusals = [];
  const stored = await aws.putReading(config(), { sensorId: "s", value: 1 }, { onThrottled: (err) => refusals.push(err.kind) });
  assert.equal(stored.sequenceNumber, "1");
  assert.deepEqual(refusals, ["throttled", "throttled"]);
  const sent = seen.slice(before);
  assert.equal(sent.length, 3);
  assert.ok(sent.every((request) => request.body === sent[0].body), "the same record each time");
});

test("throttling and server errors say to wait or slow down", async () => {
  for (let attempt = 0; attempt < aws.PUT_ATTEMPTS; attempt++) {
    answer(400, THROTTLED);
  }
  const before = seen.length;
  const throttled = await failure(aws.putReading(config(), { sensorId: "s", value: 1 }));
  assert.equal(throttled.kind, "throttled");
  assert.equal(seen.length - before, aws.PUT_ATTEMPTS, "tried PUT_ATTEMPTS times, no more");
  assert.match(throttled.detail, new RegExp(`Rate exceeded for shard .*refused ${aws.PUT_ATTEMPTS} times, retried with backoff`));
  answer(500, "upstream exploded", { "content-type": "text/plain" });
  const err = await failure(aws.putReading(config(), { sensorId: "s", value: 1 }));
  assert.equal(err.kind, "service");
  assert.match(err.title, /HTTP 500/);
  assert.equal(err.detail, "upstream exploded");
});

test("a function crash is reported as such", async () => {
  answer(200, { errorType: "StoreUnavailable", errorMessage: "the table did not answer" }, { "x-amz-function-error": "Unhandled" });
  const err = await failure(aws.queryReadings(config(), { sensorid: "s" }));
  assert.equal(err.kind, "function");
  assert.match(err.title, /StoreUnavailable/);
});

test("nobody listening is a network failure naming the endpoint", async () => {
  const probe = net.createServer();
  await new Promise((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  const err = await failure(aws.putReading(config({ kinesisEndpoint: `http://127.0.0.1:${port}` }), { sensorId: "s", value: 1 }));
  assert.equal(err.kind, "network");
  assert.match(err.detail, new RegExp(`127\\.0\\.0\\.1:${port}`));
});

test("config.js fields are checked", () => {
  assert.deepEqual(aws.missingConfigFields(config()), []);
  assert.deepEqual(aws.missingConfigFields(config({ region: " ", accessKeyId: undefined })), ["region", "accessKeyId"]);
  assert.equal(aws.missingConfigFields(undefined).length, aws.CONFIG_FIELDS.length);
});
