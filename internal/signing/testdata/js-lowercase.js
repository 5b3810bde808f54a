// Writes js-lowercase.json: what JavaScript's String.prototype.toLowerCase makes of
// every code point it changes, alone, and of strings where a Σ's place decides.
// Regenerate with `node js-lowercase.js` (this copy: Node 20, Unicode 17.0).
const single = [];
for (let cp = 0; cp <= 0x10ffff; cp++) {
  if (cp >= 0xd800 && cp <= 0xdfff) continue;
  const s = String.fromCodePoint(cp);
  if (s.toLowerCase() !== s) single.push([cp, s.toLowerCase()]);
}
const context = ["ΟΔΟΣ", "ΟΔΟΣ ΟΔΟΣ", "Σ", "ΣΑ", "ΑΣΑ", "ΑΣ.", "Α.Σ", "Α'Σ", "ΑΣ'", "A\u0301Σ",
  "AΣ\u0301", "AΣ\u0301B", "aΣ", "1Σ", "Σ1", "ΑΣ1", "ǅΣ", "ΑΣ\u00adΒ", "A\u2019Σ", "HW-İSTANBUL",
  "HW-ΟΔΟΣ#KEY-Σ#2030-01-01T00:00:00.000Z"];
require("fs").writeFileSync(__dirname + "/js-lowercase.json", JSON.stringify({
  unicode: process.versions.unicode,
  single,
  context: context.map((s) => [s, s.toLowerCase()]),
}) + "\n");
