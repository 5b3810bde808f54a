// verify-v1.js checks v1 license_signature values as the Node SDK's checkSignatureV1
// does: RSA-SHA256 over (hardware_id + "#" + id + "#" + validity).toLowerCase().
//
// stdin: an array of {publicKey, hardwareId, id, validity, signature}.
// It prints one JSON result line per item and exits 1 if any does not verify.
'use strict';
const crypto = require('crypto');

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  let failed = false;
  JSON.parse(input).forEach((it, i) => {
    const message = (it.hardwareId + '#' + it.id + '#' + it.validity).toLowerCase();
    const ok = crypto.createVerify('RSA-SHA256').update(message).verify(it.publicKey, it.signature, 'base64');
    console.log(JSON.stringify({ index: i, message, ok }));
    if (!ok) failed = true;
  });
  process.exit(failed ? 1 : 0);
});
