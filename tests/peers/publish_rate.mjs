// Publishes quote-sized messages at a steady rate through Faye's Node
// client, for measuring a dashboard under load.
//
//   node publish_rate.mjs URL RATE_PER_SECOND SECONDS
import { createRequire } from 'module';

const require = createRequire(import.meta.url);
const [url, rateText, secondsText] = process.argv.slice(2);
const rate = Number(rateText);
const seconds = Number(secondsText);
const faye = require('faye');
const client = new faye.Client(url);
client.disable('websocket');
const symbols = ['ACME', 'GLOBEX', 'INITECH', 'UMBRELLA', 'HOOLI', 'STARK', 'WAYNE', 'TYRELL'];
let n = 0;
const started = Date.now();
const tick = () => {
    const due = Math.floor((Date.now() - started) * rate / 1000);
    while (n < due) {
        const s = symbols[n % symbols.length];
        const last = 100 + Math.sin(n / 500) * 5;
        client.publish(`/quotes/${s}`, {symbol: s, last, bid: last - 0.05, ask: last + 0.05, volume: n, ts: Date.now()});
        n += 1;
    }
    if (Date.now() - started < seconds * 1000) setTimeout(tick, 5); else setTimeout(() => process.exit(0), 500);
};
tick();
