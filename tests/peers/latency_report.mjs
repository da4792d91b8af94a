// Publish-to-receive latency of cometwatch tail beside Faye's Node client,
// from the lines benches/latency_faye.sh collects.
//
//   node latency_report.mjs OURS.jsonl FAYE.jsonl [SERVER.strace]
//
// OURS: tail's lines with "arrived_f" added by latency_stamp.mjs; FAYE:
// latency_client.mjs's lines. Prints, for each client, p50/p99/max of
//   ms:  received_ms - ts  (both integer Unix ms, as a tail line gives it)
//   fine: arrival - tsf   (fractional ms: for tail, when its line reached
//                          the reading process; for Faye's client, when
//                          its callback ran)
// and, over the messages both received, the per-message difference
// ours - faye of the fine arrival times. With SERVER.strace (the server
// run under `strace -f -tt -s 700 -e trace=read,writev`), also the time
// from the server's write of each message's reply on each client's
// connection to that client's arrival, and the gap between the two writes:
// the client's own share apart from the server's.
import fs from 'fs';

const read = file => fs.readFileSync(file, 'utf8').split('\n').filter(l => l.startsWith('{'))
    .map(l => JSON.parse(l));
const ours = new Map();
for (const line of read(process.argv[2])) {
    if (!line.data || line.data.seq === undefined) continue;
    ours.set(line.data.seq, {ts: line.data.ts, tsf: line.data.tsf, ms: line.received_ms, fine: line.arrived_f});
}
const faye = new Map();
for (const line of read(process.argv[3])) {
    if (line.seq === undefined) continue;
    faye.set(line.seq, {ts: line.ts, tsf: line.tsf, ms: line.received_ms, fine: line.received_f});
}
const pct = (values, p) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
};
const f = (v, digits) => (v === undefined ? '-' : v.toFixed(digits));
const row = (name, values, digits) => values.length === 0 ? `${name.padEnd(36)} n=  0` :
    `${name.padEnd(36)} n=${String(values.length).padStart(3)}  p50 ${f(pct(values, 0.5), digits).padStart(6)}` +
    `  p99 ${f(pct(values, 0.99), digits).padStart(6)}  max ${f(Math.max(...values), digits).padStart(6)}` +
    `  mean ${f(values.reduce((a, b) => a + b, 0) / values.length, 2).padStart(6)}`;
const ms = m => [...m.values()].map(v => v.ms - v.ts);
const fine = m => [...m.values()].map(v => v.fine - v.tsf);
console.log(row('cometwatch tail, ms (received_ms)', ms(ours), 0));
console.log(row('faye client,     ms (received_ms)', ms(faye), 0));
console.log(row('cometwatch tail, fine (line read)', fine(ours), 2));
console.log(row('faye client,     fine (callback)', fine(faye), 2));
const both = [...ours.keys()].filter(seq => faye.has(seq));
console.log(row('ours - faye, fine, per message', both.map(seq => ours.get(seq).fine - faye.get(seq).fine), 2));

const trace = process.argv[4];
if (trace) {
    // strace -tt prints the wall-clock time of day; the runs do not cross
    // midnight (UTC), so the day is taken from the first publish stamp.
    const first = [...faye.values()][0];
    const day = Math.floor(first.tsf / 86400000) * 86400000;
    const oursFds = new Set(), fayeFds = new Set(), writes = new Map();
    for (const line of fs.readFileSync(trace, 'utf8').split('\n')) {
        const m = /^\d+\s+(\d+):(\d+):(\d+\.\d+) (read|writev)\((\d+), /.exec(line);
        if (!m) continue;
        const at = day + ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000;
        const fd = Number(m[5]);
        if (m[4] === 'read' && line.slice(0, 90).includes('"POST')) {
            // ureq sends accept-encoding first; Faye's client does not.
            if (line.slice(0, 130).includes('accept-en')) oursFds.add(fd);
            else if (line.includes('/meta/connect')) fayeFds.add(fd);
        } else if (m[4] === 'writev') {
            for (const s of line.matchAll(/\\"seq\\":(\d+)/g)) {
                const seq = Number(s[1]);
                if (!writes.has(seq)) writes.set(seq, new Map());
                if (!writes.get(seq).has(fd)) writes.get(seq).set(fd, at);
            }
        }
    }
    const writeTo = (seq, fds) => [...(writes.get(seq) || new Map())].find(([fd]) => fds.has(fd))?.[1];
    const oursNet = [], fayeNet = [], gap = [];
    for (const seq of writes.keys()) {
        const o = writeTo(seq, oursFds), f = writeTo(seq, fayeFds);
        if (o !== undefined && ours.has(seq)) oursNet.push(ours.get(seq).fine - o);
        if (f !== undefined && faye.has(seq)) fayeNet.push(faye.get(seq).fine - f);
        if (o !== undefined && f !== undefined) gap.push(o - f);
    }
    console.log(row('cometwatch tail, server write->line', oursNet, 2));
    console.log(row('faye client, server write->callback', fayeNet, 2));
    console.log(row('server write to ours - to faye', gap, 2));
}
