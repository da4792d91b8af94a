// Counts N data messages with a reference Bayeux client, then prints
// {"client":KIND,"messages":N,"seconds":S,"msgs_per_sec":R}.
//
//   node count_client.mjs faye|cometd URL N
import { createRequire } from 'module';

const require = createRequire(import.meta.url);
const [kind, url, countText] = process.argv.slice(2);
const count = Number(countText);
let received = 0;
let started = 0;
const done = () => {
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(JSON.stringify({client: kind, messages: received, seconds,
        msgs_per_sec: Math.round(received / seconds)}) + '\n');
    process.exit(0);
};
const onMessage = () => {
    if (received === 0) started = Date.now();
    received += 1;
    if (received === count) done();
};
if (kind === 'faye') {
    const faye = require('faye');
    const client = new faye.Client(url, {timeout: 60});
    client.disable('websocket');
    client.subscribe('/bench/**', onMessage);
} else {
    const { adapt } = await import('cometd-nodejs-client');
    const { CometD } = await import('cometd');
    adapt();
    const cometd = new CometD();
    cometd.unregisterTransport('websocket');
    cometd.configure({url, logLevel: 'warn', maxNetworkDelay: 60000});
    cometd.handshake(reply => {
        if (reply.successful) cometd.subscribe('/bench/**', onMessage);
    });
}
