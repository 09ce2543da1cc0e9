// The comparison for the bootstrap benchmark: a Node.js function as the 2015 writer was one,
// started the way Lambda starts it. It loads the AWS SDK for JavaScript v2 (what the 2015 code
// required), builds its DynamoDB and CloudWatch clients, then polls the Runtime API and answers
// each invocation by parsing every record, as the 2015 writer's transform did.
'use strict';
const http = require('http');
const AWS = require('aws-sdk');
const dynamo = new AWS.DynamoDB({ region: process.env.AWS_REGION });
const cloudwatch = new AWS.CloudWatch({ region: process.env.AWS_REGION });
void dynamo; void cloudwatch;

const api = process.env.AWS_LAMBDA_RUNTIME_API;
function request(method, path, body) {
  return new Promise((resolve, reject) => {
    const [host, port] = api.split(':');
    const req = http.request({ host, port, method, path }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

(async () => {
  for (;;) {
    const next = await request('GET', '/2018-06-01/runtime/invocation/next');
    const id = next.headers['lambda-runtime-aws-request-id'];
    const event = JSON.parse(next.body);
    const items = (event.Records || []).map((r) => {
      const payload = JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString('ascii'));
      return { PutRequest: { Item: { SensorId: { S: payload.sensorid }, Timestamp: { S: payload.timestamp }, Value: { S: String(payload.value) } } } };
    });
    await request('POST', `/2018-06-01/runtime/invocation/${id}/response`, JSON.stringify({ items: items.length }));
  }
})();
