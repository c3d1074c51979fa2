#!/usr/bin/env node
// Reference output of the Hugging Face Rust tokenizer (npm `tokenizers`) for the parity test.
// Usage: node encode.js CORPUS.jsonl TOKENIZER.json...
// Prints one JSON object: {"tokenizers":[{"path","vocabSize","results":[{ids, idsSpecial,
//   decoded, decodedSkip, decodedHalf}]}]} where decodedSkip decodes idsSpecial with
//   skipSpecialTokens and decodedHalf decodes the first half of ids (may cut a character).
'use strict';
const { loadTokenizers, readCorpus } = require('./common');
const { Tokenizer } = loadTokenizers();

async function run(corpusPath, tokenizerPaths) {
  const corpus = readCorpus(corpusPath);
  const out = { tokenizers: [] };
  for (const p of tokenizerPaths) {
    const tok = Tokenizer.fromFile(p);
    const results = [];
    for (const text of corpus) {
      const ids = (await tok.encode(text, null, { addSpecialTokens: false })).getIds();
      const idsSpecial = (await tok.encode(text, null, { addSpecialTokens: true })).getIds();
      results.push({
        ids,
        idsSpecial,
        decoded: await tok.decode(ids, false),
        decodedSkip: await tok.decode(idsSpecial, true),
        decodedHalf: await tok.decode(ids.slice(0, Math.floor(ids.length / 2)), false),
      });
    }
    out.tokenizers.push({ path: p, vocabSize: tok.getVocabSize(true), results });
  }
  process.stdout.write(JSON.stringify(out));
}

const [corpusPath, ...paths] = process.argv.slice(2);
if (!corpusPath || paths.length === 0) {
  process.stderr.write('usage: node encode.js CORPUS.jsonl TOKENIZER.json...\n');
  process.exit(2);
}
run(corpusPath, paths).catch((e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); });
