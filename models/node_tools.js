// Helper for the Python build scripts: runs the reference Hugging Face tokenizer
// (npm `tokenizers`, the Rust implementation) and ONNX Runtime (npm onnxruntime-node).
//
//   node models/node_tools.js < request.json > response.json
//
// request:  {"tokenizer": "path/tokenizer.json", "encode": ["text", ...], "decode": [[ids], ...]}
// response: {"encode": [[ids], ...], "decode": ["text", ...], "roundTrip": [true, ...]}
// Encoding never adds template tokens (addSpecialTokens: false); added tokens such as
// <|user|> written in the text are still recognised. Decoding keeps special tokens.
'use strict';
const path = require('path');
const NODE_MODULES = process.env.GRM_NODE_MODULES || path.join(__dirname, '..', 'tools', 'node', 'node_modules');
const { Tokenizer } = require(path.join(NODE_MODULES, 'tokenizers'));

async function main() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const req = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const tok = Tokenizer.fromFile(req.tokenizer);
  const res = { encode: [], decode: [], roundTrip: [] };
  for (const text of req.encode || []) {
    const enc = await tok.encode(text, null, { addSpecialTokens: false });
    const ids = enc.getIds();
    res.encode.push(ids);
    res.roundTrip.push((await tok.decode(ids, false)) === text);
  }
  for (const ids of req.decode || []) {
    res.decode.push(await tok.decode(ids, false));
  }
  process.stdout.write(JSON.stringify(res));
}

main().catch((e) => { console.error(e); process.exit(1); });
