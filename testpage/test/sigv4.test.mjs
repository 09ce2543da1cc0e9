// The page's signer against AWS's published SigV4 test vectors (aws-signing-test-suite, v4),
// and its refusals. The cross-check with the aws-sigv4 crate is in
// crates/local-target/tests/testpage_signer.rs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { signRequest } from "./load_signer.mjs";

const suite = {
  region: "us-east-1",
  service: "service",
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  date: new Date("2015-08-30T12:36:00Z"),
};
const scope = "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";

test("get-vanilla", async () => {
  const headers = await signRequest({ ...suite, method: "GET", url: "https://example.amazonaws.com/" });
  assert.equal(headers["X-Amz-Date"], "20150830T123600Z");
  assert.equal(
    headers.Authorization,
    `AWS4-HMAC-SHA256 Credential=${scope}, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31`,
  );
});

test("post-vanilla", async () => {
  const headers = await signRequest({ ...suite, method: "POST", url: "https://example.amazonaws.com/" });
  assert.equal(
    headers.Authorization,
    `AWS4-HMAC-SHA256 Credential=${scope}, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b`,
  );
});

test("post-header-key-sort", async () => {
  const headers = await signRequest({
    ...suite,
    method: "POST",
    url: "https://example.amazonaws.com/",
    headers: { "My-Header1": "value1" },
  });
  assert.equal(
    headers.Authorization,
    `AWS4-HMAC-SHA256 Credential=${scope}, SignedHeaders=host;my-header1;x-amz-date, Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c`,
  );
});

test("post-x-www-form-urlencoded (a signed body)", async () => {
  const headers = await signRequest({
    ...suite,
    method: "POST",
    url: "https://example.amazonaws.com/",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      "Content-Length": "13",
      "x-amz-content-sha256": "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
    },
    body: "Param1=value1",
  });
  assert.equal(
    headers.Authorization,
    `AWS4-HMAC-SHA256 Credential=${scope}, SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, Signature=d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b`,
  );
});

test("a changed body changes the signature", async () => {
  const sign = (body) =>
    signRequest({ ...suite, method: "POST", url: "https://example.amazonaws.com/", body }).then((h) => h.Authorization);
  assert.notEqual(await sign('{"sensorid":"a"}'), await sign('{"sensorid":"b"}'));
});

test("refuses what it cannot sign correctly", async () => {
  const base = { ...suite, method: "POST", url: "https://example.amazonaws.com/" };
  await assert.rejects(signRequest({ ...base, url: "https://example.amazonaws.com/?a=b" }), /query strings/);
  await assert.rejects(signRequest({ ...base, secretAccessKey: "" }), /secretAccessKey is missing/);
  await assert.rejects(signRequest({ ...base, headers: { Host: "x" } }), /set by the signer/);
});
