'use strict';
// Shared helpers for the parity and bench scripts: find the reference `tokenizers` npm package
// (the Hugging Face Rust tokenizer) and read a JSONL corpus.
const fs = require('fs');
const path = require('path');

function loadTokenizers() {
  const dir = path.join(__dirname, '..', 'node', 'node_modules', 'tokenizers');
  try {
    return require(dir);
  } catch (e) {
    process.stderr.write(`cannot load the reference tokenizer from ${dir} (${e.message}); run deploy/local/setup.sh\n`);
    process.exit(3);
  }
}

function readCorpus(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
}

module.exports = { loadTokenizers, readCorpus };
