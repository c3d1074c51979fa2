#!/usr/bin/env node
// Encode throughput of the Hugging Face Rust tokenizer (npm `tokenizers`) on a corpus, timed
// inside node after loading and warm-up. Single-threaded: TOKENIZERS_PARALLELISM=false makes
// encodeBatch run sequentially, so the figure compares with a single-threaded C# loop.
// Usage: node bench.js CORPUS.jsonl TOKENIZER.json [minSeconds]
// Prints {"strings":N,"bytes":B,"iterations":I,"seconds":S,"stringsPerSecond":..,"mbPerSecond":..}
'use strict';
process.env.TOKENIZERS_PARALLELISM = 'false';
const { loadTokenizers, readCorpus } = require('./common');
const { Tokenizer } = loadTokenizers();

async function run(corpusPath, tokenizerPath, minSeconds) {
  const corpus = readCorpus(corpusPath);
  const bytes = corpus.reduce((n, s) => n + Buffer.byteLength(s, 'utf8'), 0);
  const tok = Tokenizer.fromFile(tokenizerPath);
  const opts = { addSpecialTokens: false };
  await tok.encodeBatch(corpus, opts); // warm-up (and the BPE word cache, as on our side)
  let iterations = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  do {
    const encs = await tok.encodeBatch(corpus, opts);
    for (const e of encs) e.getLength();
    iterations++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  } while (elapsed < minSeconds);
  const strings = corpus.length * iterations;
  process.stdout.write(JSON.stringify({
    strings: corpus.length, bytes, iterations, seconds: elapsed,
    stringsPerSecond: strings / elapsed, mbPerSecond: (bytes * iterations) / elapsed / 1e6,
  }) + '\n');
}

const [corpusPath, tokenizerPath, minSeconds] = process.argv.slice(2);
if (!corpusPath || !tokenizerPath) {
  process.stderr.write('usage: node bench.js CORPUS.jsonl TOKENIZER.json [minSeconds]\n');
  process.exit(2);
}
run(corpusPath, tokenizerPath, Number(minSeconds || 2)).catch((e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); });
