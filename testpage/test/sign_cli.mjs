// Signs requests with the page's signer for crates/local-target/tests/testpage_signer.rs, which
// compares the result with the aws-sigv4 crate's.
// stdin: JSON array of {method, url, headers, body, region, service, accessKeyId,
// secretAccessKey, date (RFC 3339)}; stdout: JSON array of the Authorization headers.
import { signRequest } from "./load_signer.mjs";

const chunks = [];
for await (const chunk of process.stdin) {
  chunks.push(chunk);
}
const requests = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const out = [];
for (const request of requests) {
  const headers = await signRequest({ ...request, date: new Date(request.date) });
  out.push(headers.Authorization);
}
process.stdout.write(JSON.stringify(out));
