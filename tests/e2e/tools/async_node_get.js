// async_node_get.js: N concurrent http.get requests, after one alone.
//
// Usage: node async_node_get.js HOST PORT PATH N
//
// Prints "one_ms T" (one request alone), "all_ms T" (N at once, from the
// first request to the last body), "ok K" (requests answered 200 with a
// body) and "done"; a failed request prints "error MESSAGE" and the exit
// status is 1.  No agent keeps connections alive: each request connects.
// Each request is bounded (20 s), and so is the whole run (60 s).
'use strict';
const http = require('http');

const [host, port, path, nstr] = process.argv.slice(2);
const n = parseInt(nstr, 10);
const guard = setTimeout(() => { console.log('error overall timeout'); process.exit(1); }, 60000);

function get() {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path, agent: false, timeout: 20000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(res.statusCode === 200 && body.length > 0 ? null : 'status ' + res.statusCode));
      res.on('error', (e) => resolve(e.message));
    });
    req.on('timeout', () => { req.destroy(new Error('request timed out')); });
    req.on('error', (e) => resolve(e.code || e.message));
  });
}

(async () => {
  const t0 = Date.now();
  const first = await get();
  const t1 = Date.now();
  console.log('one_ms ' + (t1 - t0));
  const res = await Promise.all(Array.from({ length: n }, get));
  console.log('all_ms ' + (Date.now() - t1));
  let ok = first === null ? 1 : 0;
  if (first !== null) console.log('error ' + first);
  for (const r of res) {
    if (r === null) ok++;
    else console.log('error ' + r);
  }
  console.log('ok ' + ok);
  console.log('done');
  clearTimeout(guard);
  process.exitCode = ok === n + 1 ? 0 : 1;
})();
