// Publishes COUNT messages at RATE per second, each stamped with its
// publish time, for latency measurements.
//
//   node latency_publish.mjs URL CHANNEL COUNT RATE
//
// Each message is one HTTP POST of a Bayeux publish (no clientId: Faye
// accepts publishes without a session) on a kept-alive connection with
// TCP_NODELAY, so no client-side batching timer sits between the stamp
// and the wire. data = {"seq":i,"ts":Date.now(),"tsf":<fractional Unix ms>},
// stamped just before the request is written. Messages leave on a fixed
// schedule (i / RATE s after the start). Prints {"published":COUNT} at the
// end, or {"error":…} and exits 1 when a publish fails.
import http from 'http';
import { performance } from 'perf_hooks';

const [url, channel, countText, rateText] = process.argv.slice(2);
const count = Number(countText);
const rate = Number(rateText);
const target = new URL(url);
const agent = new http.Agent({keepAlive: true, maxSockets: 1});
const nowF = () => performance.timeOrigin + performance.now();

function post(body) {
    return new Promise((resolve, reject) => {
        const req = http.request({
            host: target.hostname, port: target.port, path: target.pathname, method: 'POST',
            agent, headers: {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body)},
        }, res => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', chunk => { text += chunk; });
            res.on('end', () => resolve(text));
        });
        req.on('socket', socket => socket.setNoDelay(true));
        req.on('error', reject);
        req.end(body);
    });
}

function publishOne(seq) {
    const data = {seq, ts: Date.now(), tsf: nowF()};
    return post(JSON.stringify([{channel, data}])).then(text => {
        const reply = JSON.parse(text);
        if (!reply[0] || reply[0].successful !== true) throw new Error(`publish refused: ${text}`);
    });
}

const fail = err => {
    process.stdout.write(JSON.stringify({error: String(err && err.message)}) + '\n');
    process.exit(1);
};
// One publish on another channel first, so that the connection is open.
await post(JSON.stringify([{channel: '/latency-warmup', data: {}}])).catch(fail);
const started = performance.now();
for (let i = 0; i < count; i++) {
    const wait = started + i * 1000 / rate - performance.now();
    if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait));
    await publishOne(i).catch(fail);
}
process.stdout.write(JSON.stringify({published: count}) + '\n');
agent.destroy();
