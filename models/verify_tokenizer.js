// Round-trip check of a tokenizer.json with the reference Rust tokenizer (npm `tokenizers`):
// decode(encode(x)) === x for fixed and seeded random texts (ASCII, whitespace runs,
// accents, combining marks, CJK, emoji, astral code points, added tokens in the text).
//
//   node models/verify_tokenizer.js [models/tiny-random/tokenizer.json] [count]
'use strict';
const path = require('path');
const NODE_MODULES = process.env.GRM_NODE_MODULES || path.join(__dirname, '..', 'tools', 'node', 'node_modules');
const { Tokenizer } = require(path.join(NODE_MODULES, 'tokenizers'));

function rng(seed) { // mulberry32
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = ['Scores: \\boxed{7, 3}', '[The Begin of Response 1]', '<|user|>\n', '<|end|>', '<|endoftext|>',
  'Specific Criteria:', 'Analysis:', '  ', '\n\n', '\t', '\r\n', "don't", "I'LL", ' 12345', 'Café', '😀👍🏽',
  '这是', 'Привет', 'e\u0301', '\u00a0', '\u200b', '\ufeff', '½≤π', '  x  ', '<|', '|>', 'if (x) {\n    return;\n}'];
const RANGES = [[0x20, 0x7e], [0x09, 0x0d], [0xa0, 0x24f], [0x300, 0x36f], [0x370, 0x3ff], [0x400, 0x4ff],
  [0x590, 0x6ff], [0x900, 0x97f], [0x3040, 0x30ff], [0x4e00, 0x9fff], [0xac00, 0xd7a3], [0x1f300, 0x1faff],
  [0x10000, 0x1007f], [0x2000, 0x206f]];

(async () => {
  const file = process.argv[2] || path.join(__dirname, 'tiny-random', 'tokenizer.json');
  const count = Number(process.argv[3] || 2000);
  const tok = Tokenizer.fromFile(file);
  const r = rng(12345);
  const texts = [...PIECES, PIECES.join(''), ''];
  for (let i = 0; i < count; i++) {
    let s = '';
    const n = 1 + Math.floor(r() * 40);
    for (let j = 0; j < n; j++) {
      if (r() < 0.15) { s += PIECES[Math.floor(r() * PIECES.length)]; continue; }
      const [lo, hi] = RANGES[Math.floor(r() * RANGES.length)];
      s += String.fromCodePoint(lo + Math.floor(r() * (hi - lo + 1)));
    }
    texts.push(s);
  }
  let bad = 0, tokens = 0;
  for (const x of texts) {
    const ids = (await tok.encode(x, null, { addSpecialTokens: false })).getIds();
    tokens += ids.length;
    const y = await tok.decode(ids, false);
    if (y !== x) { if (bad++ < 5) console.log('MISMATCH', JSON.stringify(x), JSON.stringify(y)); }
  }
  console.log(`${texts.length} texts, ${tokens} tokens, vocab ${tok.getVocabSize(true)}, ${bad} round-trip failures`);
  process.exit(bad ? 1 : 0);
})().catch((e) => { console.error(e); process.exit(1); });
