// Faye's own Node client as a latency probe, beside `cometwatch tail`.
//
//   node latency_client.mjs URL PATTERN COUNT
//
// Subscribes to PATTERN over long-polling (WebSocket disabled, as
// cometwatch polls; TRANSPORT=websocket keeps Faye's default instead),
// prints {"subscribed":true}, then one line per data message:
// {"seq":…,"ts":…,"tsf":…,"received_ms":Date.now(),"received_f":…}, where
// ts/tsf are the publisher's stamps and received_f is the fractional
// Unix ms of arrival (performance.timeOrigin + performance.now()). Exits
// after COUNT messages, or with {"error":…} after 5 minutes.
import { createRequire } from 'module';
import { performance } from 'perf_hooks';

const require = createRequire(import.meta.url);
const faye = require('faye');
const [url, pattern, countText] = process.argv.slice(2);
const count = Number(countText);
const nowF = () => performance.timeOrigin + performance.now();
const print = obj => process.stdout.write(JSON.stringify(obj) + '\n');
setTimeout(() => { print({error: 'timed out'}); process.exit(1); }, 300000).unref();

const client = new faye.Client(url, {timeout: 60});
if (process.env.TRANSPORT !== 'websocket') client.disable('websocket');
let received = 0;
client.subscribe(pattern, data => {
    const receivedF = nowF();
    print({seq: data.seq, ts: data.ts, tsf: data.tsf, received_ms: Date.now(), received_f: receivedF});
    received += 1;
    if (received === count) process.exit(0);
}).then(() => print({subscribed: true}),
    err => { print({error: String(err && err.message)}); process.exit(1); });
