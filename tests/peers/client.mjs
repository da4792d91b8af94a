// A third-party Bayeux client against a server, for cometwatch's tests.
//
//   node client.mjs faye|cometd URL PATTERN COUNT PUBLISH_CHANNEL
//
// Handshakes, subscribes to PATTERN (wildcards allowed), prints
// {"subscribed":true}, waits for COUNT data messages, publishes
// {"hello":"from <kind>"} on PUBLISH_CHANNEL, then prints one line
// {"received":[<data.seq>...],"channels":[...],"published":true|false} and
// exits. Exits 1 with {"error":...} after 30 s without finishing.
import { createRequire } from 'module';

const require = createRequire(import.meta.url);
const [kind, url, pattern, countText, publishChannel] = process.argv.slice(2);
const count = Number(countText);
const received = [];
const channels = [];
const print = obj => process.stdout.write(JSON.stringify(obj) + '\n');
setTimeout(() => { print({error: 'timed out', received}); process.exit(1); }, 30000);

function finish(published) {
    print({received, channels, published});
    process.exit(0);
}

if (kind === 'faye') {
    const faye = require('faye');
    const client = new faye.Client(url, {timeout: 10});
    client.disable('websocket');
    const onMessage = data => {
        received.push(data.seq);
        if (received.length === count) {
            client.publish(publishChannel, {hello: 'from faye'}).then(
                () => finish(true), () => finish(false));
        }
    };
    client.subscribe(pattern, onMessage).then(() => print({subscribed: true}),
        err => { print({error: String(err && err.message)}); process.exit(1); });
} else if (kind === 'cometd') {
    const { adapt } = await import('cometd-nodejs-client');
    const { CometD } = await import('cometd');
    adapt();
    const cometd = new CometD();
    cometd.unregisterTransport('websocket');
    cometd.configure({url, logLevel: process.env.COMETD_LOG || 'warn'});
    cometd.handshake(reply => {
        if (!reply.successful) { print({error: 'handshake failed'}); process.exit(1); }
        cometd.subscribe(pattern, message => {
            received.push(message.data.seq);
            channels.push(message.channel);
            if (received.length === count) {
                cometd.publish(publishChannel, {hello: 'from cometd'}, r => finish(r.successful === true));
            }
        }, reply => print(reply.successful ? {subscribed: true} : {error: 'subscribe failed'}));
    });
} else {
    print({error: 'usage: node client.mjs faye|cometd URL PATTERN COUNT PUBLISH_CHANNEL'});
    process.exit(2);
}
