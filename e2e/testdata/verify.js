// verify.js checks licensor response signatures the way the two SDK families do.
//
// stdin: one JSON object {publicKey, body, signature} or an array of them.
// For each item it checks
//   - node-style: RSA-SHA256 over JSON.stringify(JSON.parse(body)),
//   - raw:        RSA-SHA256 over the raw body bytes (what Python verifies),
//   - canonical:  JSON.stringify(JSON.parse(body)) === body.
// It prints one JSON result line per item and exits 1 if any check failed.
'use strict';
const crypto = require('crypto');

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  let items;
  try {
    items = JSON.parse(input);
  } catch (e) {
    console.error('verify.js: stdin is not JSON: ' + e.message);
    process.exit(2);
  }
  if (!Array.isArray(items)) items = [items];
  let failed = false;
  items.forEach((it, i) => {
    const r = { index: i, node: false, raw: false, canonical: false };
    try {
      const reserialised = JSON.stringify(JSON.parse(it.body));
      r.node = crypto.createVerify('RSA-SHA256').update(reserialised).verify(it.publicKey, it.signature, 'base64');
      r.raw = crypto.createVerify('RSA-SHA256').update(Buffer.from(it.body, 'utf8')).verify(it.publicKey, it.signature, 'base64');
      r.canonical = reserialised === it.body;
      if (!r.canonical) {
        // Show where the two first differ.
        let k = 0;
        while (k < reserialised.length && reserialised[k] === it.body[k]) k++;
        r.diff = { at: k, body: it.body.slice(Math.max(0, k - 20), k + 20), stringify: reserialised.slice(Math.max(0, k - 20), k + 20) };
      }
    } catch (e) {
      r.error = e.message;
    }
    if (!(r.node && r.raw && r.canonical)) failed = true;
    process.stdout.write(JSON.stringify(r) + '\n');
  });
  process.exit(failed ? 1 : 0);
});
