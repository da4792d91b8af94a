// Copies JSON lines from stdin to stdout, adding "arrived_f": the
// fractional Unix ms (performance.timeOrigin + performance.now()) at
// which each line was read. A side channel finer than a line's own
// integer received_ms.
//
//   cometwatch tail … | node latency_stamp.mjs > lines.jsonl
import { performance } from 'perf_hooks';

let rest = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', chunk => {
    const arrived = performance.timeOrigin + performance.now();
    const lines = (rest + chunk).split('\n');
    rest = lines.pop();
    let out = '';
    for (const line of lines) {
        if (line.endsWith('}')) out += line.slice(0, -1) + `,"arrived_f":${arrived}}\n`;
    }
    if (out) process.stdout.write(out);
});
