// Comparison for the writer_transform criterion benchmark: the 2015 Node.js writer's per-record
// work on the same payloads — base64 to ASCII text, JSON.parse, a BatchWriteItem PutRequest with
// the value kept as text — and no validation at all. Prints records per second on one core.
'use strict';
const N = 10000;
const pad = (n, w) => String(n).padStart(w, '0');
const data = [];
for (let i = 0; i < N; i++) {
  const text = `{"sensorid":"sensor-${i % 50}","value":"${i % 40}.${i % 10}","timestamp":"2026-11-27T10:${pad(Math.floor(i / 60000) % 60, 2)}:${pad(Math.floor(i / 1000) % 60, 2)}.${pad(i % 1000, 3)}Z"}`;
  data.push(Buffer.from(text).toString('base64'));
}
function transform(b64) {
  const payload = JSON.parse(Buffer.from(b64, 'base64').toString('ascii'));
  return { PutRequest: { Item: { SensorId: { S: payload.sensorid }, Timestamp: { S: payload.timestamp }, Value: { S: payload.value } } } };
}
let sink = 0;
for (let w = 0; w < 50; w++) for (const d of data) sink += transform(d).PutRequest.Item.SensorId.S.length;
const rounds = [];
for (let r = 0; r < 10; r++) {
  const start = process.hrtime.bigint();
  for (let k = 0; k < 10; k++) for (const d of data) sink += transform(d).PutRequest.Item.SensorId.S.length;
  const ns = Number(process.hrtime.bigint() - start);
  rounds.push((10 * N) / (ns / 1e9));
}
rounds.sort((a, b) => a - b);
console.log(`node ${process.version} 2015-style transform: median ${Math.round(rounds[5])} records/s (min ${Math.round(rounds[0])}, max ${Math.round(rounds[9])}) [${sink > 0 ? 'ok' : ''}]`);
