#!/usr/bin/env node
// Writes the tokenizer parity corpus (one JSON string per line) deterministically:
// hand-picked hard cases plus seeded random mixes of fragments from many scripts.
// Usage: node tools/tokenizer-parity/make-corpus.js [out.jsonl]
'use strict';
const fs = require('fs');
const path = require('path');

const out = process.argv[2] ||
  path.join(__dirname, '..', '..', 'tests', 'GrmWorker.Inference.Tests', 'Fixtures', 'tokenizer-parity-corpus.jsonl');

// mulberry32: tiny seeded PRNG so the corpus is the same on every run.
function rng(seed) {
  return function () {
    seed |= 0; seed = (seed + 0x6D2B79F5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(20250602);
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

const fixed = [
  '', ' ', '  ', '\t', '\n', '\r\n', '\n\n\n', ' \n ', 'a', 'A', '0', '.',
  'Hello, world!', ' Hello', 'Hello ', '  leading and trailing  ', 'multiple   spaces   inside',
  'tabs\tand\ttabs\t\t\tend', 'line one\nline two\r\nline three\rfour', 'trailing newline\n', '\n\nleading newlines',
  "I'm sure it's John's, they're here, we've seen, you'll see, he'd go", "DON'T SHOUT, IT'S LOUD, THEY'RE 'RE 'Ve 'LL 'D 'M",
  "'s 't 're 've 'm 'll 'd", "x'ſ y'ſt 'K", "rock'n'roll", "''quoted''",
  '안녕하세요, 세계! 한국어 토크나이저 테스트입니다.', 'Привет, мир! Это тест токенизатора.', 'ЁЖИК в тумане, ёжик',
  '你好，世界！这是一个分词器测试。', '我爱北京天安门', '日本語のテキストとカタカナ、ひらがな。', 'ｶﾀｶﾅ半角 全角ＡＢＣ１２３',
  'مرحبا بالعالم! هذا اختبار.', 'العربية 123 English mixed', 'שלום עולם', 'नमस्ते दुनिया! यह एक परीक्षण है।', 'ภาษาไทยไม่มีช่องว่าง',
  'Ελληνικά κείμενο', 'Tiếng Việt có dấu: Đường phố', 'Zürich, Ærøskøbing, Øresund, naïve café résumé',
  '😀', '😀😃😄', 'I ❤️ emoji 🎉🎊', '👨‍👩‍👧‍👦 family', '👩🏽‍💻 coder', '👍🏻👍🏼👍🏽👍🏾👍🏿', '🇺🇸🇯🇵🇰🇷🇩🇪 flags', '🏴󠁧󠁢󠁳󠁣󠁴󠁿 Scotland',
  '🏳️‍🌈', '❤️‍🔥', 'a😀b', '😀abc', 'abc😀', ' 😀', '😀 ', '1😀2', '𝐇𝐞𝐥𝐥𝐨 𝟏𝟐𝟑', '𠀀𠀁𠀂 CJK Ext B', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '🀄🃏',
  'def foo(x: int) -> int:\n    return x * 2\n', 'for i in range(10):\n\tprint(f"{i:03d}")',
  'public static int Add(int a, int b) => a + b;', 'var list = new List<string> { "a", "b" };',
  '{"key": "value", "n": [1, 2, 3], "nested": {"ok": true}}', '^(?:[a-z0-9!#$%&\'*+/=?^_`{|}~-]+)@\\w+\\.com$',
  'SELECT * FROM users WHERE id = 42;', '<div class="x">&nbsp;</div>', 'x+=1;y-=2;z*=3;w/=4;', '#include <stdio.h>',
  '1234567890', '12345678901234567890123456789012345678901234567890', '3.14159265358979', '1,000,000.00', '٠١٢٣٤٥٦٧٨٩ Arabic digits', '१२३ Devanagari digits',
  'version 1.2.3-beta+exp.sha.5114f85', 'phone: +1 (555) 123-4567', '2024-05-06T07:08:09Z',
  '<|endoftext|>', '<|im_start|>user\nHi<|im_end|>', '<|im_sta', '<|im_start', 'im_start|>', '<bos>', '<bos><bos>', '<eos> <pad>', 'x<bos>y',
  '<|begin_of_text|>Hello<|end_of_text|>', '<|eot_id|>', '<｜begin▁of▁sentence｜>Hi<｜end▁of▁sentence｜>', '<｜User｜>question<｜Assistant｜>answer',
  '<|EOT|>', '<unk>', '<mask>', '<start_of_turn>user\nhello<end_of_turn>', '<start_of_image>', '<unused0><unused99>', '[multimodal]',
  '<tool_call>{"name": "f"}</tool_call>', '<think>\nreasoning\n</think>', '<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>',
  '▁▁already▁metaspace', '▁', '\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n', '\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t',
  'e\u0301 vs \u00e9', 'A\u030a vs \u00c5 vs \u212b', '\u1100\u1161\u11a8 (conjoining jamo)', 'n\u0303o\u0308\u0323', '\u0915\u094d\u0937',
  'zero\u200bwidth\u200cjoiner\u200dtest', '\ufeffBOM at start', 'soft\u00adhyphen', 'nbsp\u00a0here', 'ideographic\u3000space', 'line\u2028separator', 'narrow\u202fnbsp',
  'en\u2002em\u2003thin\u2009hair\u200a', 'ctrl\u0001\u0002\u007f chars', 'tab\u000bvt\u000cff', 'nel\u0085here',
  'Supercalifragilisticexpialidocious', 'Pneumonoultramicroscopicsilicovolcanoconiosis', 'a'.repeat(300), 'ab'.repeat(200),
  'Donaudampfschifffahrtsgesellschaftskapitänsmütze', 'x'.repeat(1000), '🙂'.repeat(50), '가'.repeat(100),
  'mixed 中文 English 한국어 русский عربي हिन्दी 😀 123', 'camelCaseIdentifierWithHTTPServer2Go', 'snake_case_identifier_name_v2',
  'URL: https://example.com/path?q=1&r=two#frag', 'email@example.org', 'C:\\Windows\\System32\\drivers', '~/.config/app/settings.json',
  '$$\\frac{a}{b} + \\sum_{i=1}^{n} x_i$$', '∀x∈ℝ: x² ≥ 0', '→ ← ↑ ↓ ⇒ ⇔', '© ® ™ € £ ¥ ₹ ₩', '“smart quotes” ‘single’ «guillemets» „German“',
  '... --- ___ *** !!! ???', '¡Hola! ¿Qué tal?', 'end.', '.start', '   ', '\r', '\r\r\n\n', ' \t \n \r\n ',
];

const fragments = [
  'hello', 'world', ' the', ' quick', 'brown', ' fox', 'JUMPS', "it's", "'LL", ' 42', '007', '3.5', '1e-9', '99999999',
  '안녕', '하세요', ' 세계', 'Москва', ' привет', 'ёж', '北京', '中文', '测试', 'テスト', 'ひらがな', 'カタカナ', '漢字',
  'سلام', ' عليكم', 'हिन्दी', ' भाषा', 'ไทย', 'ελληνικά', 'Ñandú', 'çà', 'ß', 'ﬁ', 'Ǆ', 'ǅ',
  '😀', '🎉', '👨‍👩‍👧', '👍🏽', '🇫🇷', '❤️', '✨', '🤖', '𝟙', '𓀀', '🧑🏿‍🚀',
  '(', ')', '{', '}', '[', ']', '<', '>', '=>', '->', '::', ';', ',', '.', '!', '?', '"', "'", '`', '#', '@', '%', '&&', '||', '\\n', '\\',
  ' ', '  ', '   ', '\t', '\n', '\r\n', '\n\n', ' \n', '\u00a0', '\u200b', '\u200d', '\u3000',
  '<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|im_sta', '<bos>', '<eos>', '<bo', '<start_of_turn>', '<|begin_of_text|>', '<|eot_id|>',
  '<｜User｜>', '<｜Assistant｜>', '<|EOT|>', '<think>', '</think>', '<unused5>', '▁', '▁▁',
  'e\u0301', 'a\u0308', '\u1100\u1161', 'o\u0302\u0323',
  'def', ' return', 'int', 'var', 'null', 'true', '0x1F', '#!/bin/bash', '//', '/*', '*/', '<!--', '-->',
];

const lines = [...fixed];
const target = 2200;
while (lines.length < target) {
  const n = int(1, 14);
  let s = '';
  for (let i = 0; i < n; i++) {
    let f = pick(fragments);
    if (rand() < 0.08) f = f.repeat(int(2, 12));
    if (rand() < 0.1) f = f.toUpperCase();
    s += f;
    if (rand() < 0.4) s += pick([' ', ' ', '', '\n', '\t', '  ']);
  }
  if (rand() < 0.05) s = String(int(0, 1e9)) + String(int(0, 1e9)) + s;
  if (rand() < 0.05) s = s.normalize(pick(['NFD', 'NFC', 'NFKD']));
  lines.push(s);
}

fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
console.log(`wrote ${lines.length} strings to ${out}`);
