// A deliberately fast Bayeux server for client throughput comparisons:
// every /meta/connect (but the first) is answered at once with the same
// pre-built batch of BATCH quote-sized data messages, so the server is not
// the bottleneck. Handshake and subscribe always succeed.
//
//   node fast_server.js [BATCH]     prints {"port":N}, then serves until killed
'use strict';
const http = require('http');

const batchSize = Number(process.argv[2] || 2000);
const symbols = ['ACME', 'GLOBEX', 'INITECH', 'UMBRELLA', 'HOOLI', 'STARK', 'WAYNE', 'TYRELL'];
const messages = [];
for (let i = 0; i < batchSize; i++) {
    const s = symbols[i % symbols.length];
    const last = (100 + (i % 97) * 0.25).toFixed(2);
    messages.push(JSON.stringify({channel: `/bench/quotes/${s}`,
        data: {symbol: s, last: Number(last), bid: Number(last) - 0.05, ask: Number(last) + 0.05,
               volume: 100000 + i, ts: 1795384143623 + i}}));
}
// The batch as bytes, ready to write: '[' + messages + ','. Each connect
// reply is this buffer then its own short tail, so no request re-encodes
// the batch.
const batchHead = Buffer.from('[' + messages.join(',') + ',');

const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', c => chunks.push(c));
    req.on('end', () => {
        let input;
        try { input = JSON.parse(Buffer.concat(chunks).toString()); } catch (e) { res.writeHead(400); res.end(); return; }
        if (!Array.isArray(input)) input = [input];
        const parts = [];
        let withBatch = false;
        for (const m of input) {
            const reply = {channel: m.channel, id: m.id, successful: true, clientId: 'fast'};
            if (m.channel === '/meta/handshake') {
                reply.version = '1.0';
                reply.supportedConnectionTypes = ['long-polling'];
                reply.advice = {reconnect: 'retry', interval: 0, timeout: 30000};
            } else if (m.channel === '/meta/subscribe') {
                reply.subscription = m.subscription;
            } else if (m.channel === '/meta/connect') {
                const first = m.advice && m.advice.timeout === 0;
                if (!first) withBatch = true;
            }
            parts.push(JSON.stringify(reply));
        }
        const tail = Buffer.from(parts.join(',') + ']');
        const head = withBatch ? batchHead : Buffer.from('[');
        res.writeHead(200, {'Content-Type': 'application/json', 'Content-Length': head.length + tail.length});
        res.write(head);
        res.end(tail);
    });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({port: server.address().port}) + '\n');
});
