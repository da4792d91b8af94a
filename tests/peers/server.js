// A third-party Bayeux server for cometwatch's integration tests.
//
//   node server.js faye|cometd [PORT]
//
// Listens on 127.0.0.1 (PORT 0 or absent: a free port) and prints one JSON
// line {"port":N}. Then reads commands from stdin, one per line:
//   publish CHANNEL COUNT [START]  publishes {"seq":i} for i in START..START+COUNT,
//                                  in order, then prints {"published":COUNT}
// Environment: TIMEOUT (connect hold, ms), MAX_INTERVAL (session expiry, ms,
// cometd only), ACK=1 (cometd ack extension), TLS_CERT + TLS_KEY (HTTPS),
// REDIS_PORT (faye only: the faye-redis engine, for a cluster of nodes),
// FAYE_DELIVERY=immediate (faye only, for latency measurements: a held
// long-poll is answered in the event loop's next turn, setImmediate, in
// place of Faye's delivery timer, a setTimeout of 0 that Node runs no
// sooner than 1 ms later).
'use strict';
const http = require('http');
const readline = require('readline');

const kind = process.argv[2];
const port = Number(process.argv[3] || 0);
const timeout = Number(process.env.TIMEOUT || 5000);

let handler;
let publish;
let attach = server => server;
if (kind === 'faye') {
    const faye = require('faye');
    if (process.env.FAYE_DELIVERY === 'immediate') {
        const Connection = require('faye/src/engines/connection');
        Connection.prototype._beginDeliveryTimeout = function () {
            if (this._inbox.length === 0 || this._flushSoon) return;
            this._flushSoon = setImmediate(() => {
                this._flushSoon = null;
                if (this._inbox.length > 0) this.flush();
            });
        };
    }
    const options = {mount: '/bayeux', timeout: timeout / 1000};
    if (process.env.REDIS_PORT) {
        // Several Faye nodes sharing one Redis form a cluster.
        options.engine = {
            type: require('faye-redis'),
            host: '127.0.0.1',
            port: Number(process.env.REDIS_PORT),
        };
    }
    const bayeux = new faye.NodeAdapter(options);
    const client = bayeux.getClient();
    publish = (channel, data) => client.publish(channel, data);
    attach = server => { bayeux.attach(server); return server; };
    handler = (req, res) => { res.writeHead(404); res.end('not found'); };
} else if (kind === 'cometd') {
    const cometd = require('cometd-nodejs-server');
    const options = {timeout};
    if (process.env.MAX_INTERVAL) options.maxInterval = Number(process.env.MAX_INTERVAL);
    const server = cometd.createCometDServer(options);
    if (process.env.ACK === '1') {
        const ack = require('cometd-nodejs-server/ack-extension');
        server.addExtension(new ack.AcknowledgedMessagesExtension());
    }
    const channels = new Map();
    publish = (channel, data) => {
        let c = channels.get(channel);
        if (!c) { c = server.createServerChannel(channel); channels.set(channel, c); }
        c.publish(null, data);
    };
    handler = server.handle;
} else {
    console.error('usage: node server.js faye|cometd [PORT]');
    process.exit(2);
}

// TLS_CERT and TLS_KEY (PEM files): serve HTTPS instead.
const httpServer = attach(process.env.TLS_CERT
    ? require('https').createServer({
        cert: require('fs').readFileSync(process.env.TLS_CERT),
        key: require('fs').readFileSync(process.env.TLS_KEY),
    }, handler)
    : http.createServer(handler));
httpServer.listen(port, '127.0.0.1', () => {
    const ready = () =>
        process.stdout.write(JSON.stringify({port: httpServer.address().port}) + '\n');
    if (kind === 'faye') {
        // Faye's in-process client handshakes lazily and drops what is
        // published before; warm it up first.
        Promise.resolve(publish('/cometwatch/warmup', {})).then(ready, ready);
    } else {
        ready();
    }
});

const rl = readline.createInterface({input: process.stdin});
rl.on('line', line => {
    const [cmd, channel, count, start] = line.trim().split(/\s+/);
    if (cmd === 'publish') {
        const n = Number(count), s = Number(start || 0);
        for (let i = s; i < s + n; i++) publish(channel, {seq: i});
        process.stdout.write(JSON.stringify({published: n}) + '\n');
    }
});
rl.on('close', () => process.exit(0));
