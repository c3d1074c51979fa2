// Checks a built model directory with ONNX Runtime (npm onnxruntime-node) against its
// reference-greedy.json. A model-building check only: onnxruntime-node is not installed by
// default (the product runs Microsoft's NuGet build; its golden greedy test is
// tests/GrmWorker.Inference.Tests/Generation/GoldenGreedyTests.cs). To run this script:
//   (cd tools/node && npm install --no-save --ignore-scripts onnxruntime-node@1.30.0)
//
//   node models/verify_onnx.js models/tiny-random          fixture check (exit 1 on mismatch)
//   node models/verify_onnx.js models/tiny-random-gqa models/tiny-random/reference-greedy.json
//   node models/verify_onnx.js --raw models/x/model.onnx    one session.run: feeds as JSON on stdin,
//                                                           outputs as JSON on stdout (see raw())
// The fixture check runs every case with zero-length past tensors on the first step,
// then greedy decoding one token at a time with the KV cache, and the left-padded batch.
'use strict';
const fs = require('fs');
const path = require('path');
const NODE_MODULES = process.env.GRM_NODE_MODULES || path.join(__dirname, '..', 'tools', 'node', 'node_modules');
let ort;
try {
  ort = require(path.join(NODE_MODULES, 'onnxruntime-node'));
} catch (e) {
  console.error('verify_onnx.js needs npm onnxruntime-node, which is not installed by default: ' +
    '(cd tools/node && npm install --no-save --ignore-scripts onnxruntime-node@1.30.0), or build with --no-verify.');
  process.exit(2);
}

function i64(rows) {
  const b = rows.length, n = rows[0].length;
  const data = new BigInt64Array(b * n);
  rows.forEach((r, i) => r.forEach((v, j) => { data[i * n + j] = BigInt(v); }));
  return new ort.Tensor('int64', data, [b, n]);
}

class Runner {
  constructor(session) {
    this.s = session;
    const meta = session.inputMetadata;
    const kv = meta.find((m) => m.name === 'past_key_values.0.key');
    this.heads = kv.shape[1];
    this.headDim = kv.shape[3];
    this.layers = session.inputNames.filter((n) => n.startsWith('past_key_values.') && n.endsWith('.key')).length;
  }

  emptyPast(batch) {
    const past = {};
    for (let i = 0; i < this.layers; i++) {
      for (const k of ['key', 'value']) {
        past[`past_key_values.${i}.${k}`] = new ort.Tensor('float32', new Float32Array(0), [batch, this.heads, 0, this.headDim]);
      }
    }
    return past;
  }

  async step(ids, mask, pos, past) {
    const out = await this.s.run({ input_ids: i64(ids), attention_mask: i64(mask), position_ids: i64(pos), ...past });
    const next = {};
    for (let i = 0; i < this.layers; i++) {
      next[`past_key_values.${i}.key`] = out[`present.${i}.key`];
      next[`past_key_values.${i}.value`] = out[`present.${i}.value`];
    }
    return { logits: out.logits, past: next };
  }

  // rows left-padded (concat layout) or right-padded with each row's KV left-aligned
  // (shared-buffer layout: GroupQueryAttention); returns generated ids per row and the
  // last-prompt-position logits. The shared-buffer model is fed a zero-length past here, so
  // its buffers grow by one per step (ORT copies past into present): the same math as the
  // in-place buffer the C# engine binds.
  async greedy(rows, padId, newTokens, shared) {
    const b = rows.length, n = Math.max(...rows.map((r) => r.length));
    const ids = [], mask = [], pos = [];
    for (const r of rows) {
      const pad = n - r.length;
      if (shared) {
        ids.push([...r, ...Array(pad).fill(padId)]);
        mask.push([...Array(r.length).fill(1), ...Array(pad).fill(0)]);
        pos.push([...r.map((_, j) => j), ...Array(pad).fill(0)]);
      } else {
        ids.push([...Array(pad).fill(padId), ...r]);
        mask.push([...Array(pad).fill(0), ...Array(r.length).fill(1)]);
        pos.push([...Array(pad).fill(1), ...r.map((_, j) => j)]);
      }
    }
    let { logits, past } = await this.step(ids, mask, pos, this.emptyPast(b));
    const vocab = logits.dims[2];
    const lastLogits = [];
    const gen = rows.map(() => []);
    const nextPos = rows.map((r) => r.length);
    for (let t = 0; t < newTokens; t++) {
      const s = logits.dims[1];
      const toks = [];
      for (let i = 0; i < b; i++) {
        // logits [B, 1, V] (last-position-only export) or [B, S, V]
        const at = s === 1 ? 0 : shared && t === 0 ? rows[i].length - 1 : s - 1;
        const off = (i * s + at) * vocab;
        const row = logits.data.subarray(off, off + vocab);
        if (t === 0) lastLogits.push(Float32Array.from(row));
        let best = 0;
        for (let v = 1; v < vocab; v++) if (row[v] > row[best]) best = v;
        toks.push(best);
        gen[i].push(best);
      }
      if (t === newTokens - 1) break;
      if (shared) {
        // left-aligned: row i has nextPos[i] + 1 real positions after this token
        const width = Math.max(...nextPos) + 1;
        for (let i = 0; i < b; i++) mask[i] = Array.from({ length: width }, (_, j) => (j <= nextPos[i] ? 1 : 0));
      } else {
        mask.forEach((m) => m.push(1));
      }
      ({ logits, past } = await this.step(toks.map((x) => [x]), mask, nextPos.map((p) => [p]), past));
      for (let i = 0; i < b; i++) nextPos[i]++;
    }
    return { gen, lastLogits };
  }
}

function eq(a, b) { return a.length === b.length && a.every((x, i) => x === b[i]); }

async function fixtureCheck(dir, fixture) {
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'grm-config.json'), 'utf8'));
  const fx = JSON.parse(fs.readFileSync(fixture || path.join(dir, 'reference-greedy.json'), 'utf8'));
  const shared = (cfg.kvCache && cfg.kvCache.layout) === 'shared-buffer';
  console.log(`KV layout: ${shared ? 'shared-buffer (GroupQueryAttention, rows right-padded)' : 'concat (rows left-padded)'}`);
  const session = await ort.InferenceSession.create(path.join(dir, cfg.modelFile), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  console.log('inputs:');
  for (const m of session.inputMetadata) console.log(`  ${m.name} ${m.type} [${m.shape.join(', ')}]`);
  console.log('outputs:');
  for (const m of session.outputMetadata) console.log(`  ${m.name} ${m.type} [${m.shape.join(', ')}]`);
  const r = new Runner(session);
  let ok = true, maxTopDiff = 0;
  for (const c of fx.cases) {
    const { gen, lastLogits } = await r.greedy([c.promptIds], fx.padTokenId, fx.newTokens, shared);
    for (const [id, v] of c.lastPromptLogitsTop5) maxTopDiff = Math.max(maxTopDiff, Math.abs(lastLogits[0][id] - v));
    const same = eq(gen[0], c.generatedIds);
    ok = ok && same;
    console.log(`case ${c.name}: ${c.promptIds.length} prompt tokens, greedy ${same ? 'matches' : 'DIFFERS'}`);
    if (!same) console.log(`  ort:   ${gen[0]}\n  torch: ${c.generatedIds}`);
  }
  const pb = fx.paddedBatch;
  const { gen } = await r.greedy(pb.caseOrder.map((i) => fx.cases[i].promptIds), fx.padTokenId, fx.newTokens, shared);
  const bsame = gen.every((g, i) => eq(g, pb.generatedIds[i]));
  ok = ok && bsame;
  console.log(`padded batch of ${gen.length}: ${bsame ? 'matches' : 'DIFFERS'}`);
  console.log(`max |ort - torch| over top-5 last-prompt logits: ${maxTopDiff.toExponential(2)}`);
  ok = ok && maxTopDiff < 1e-3;
  console.log(ok ? 'ONNX Runtime check OK' : 'ONNX Runtime check FAILED');
  if (!ok) process.exit(1);
}

async function raw(modelPath) {
  // request: {"feeds": {"name": {"type": "int64"|"float32", "dims": [...], "b64": little-endian bytes}},
  //           "fetches": ["logits", ...] (optional)}
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const req = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const feeds = {};
  for (const [name, t] of Object.entries(req.feeds)) {
    const buf = Buffer.from(t.b64, 'base64');
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    const data = t.type === 'int64' ? new BigInt64Array(ab) : new Float32Array(ab);
    feeds[name] = new ort.Tensor(t.type, data, t.dims);
  }
  const out = req.fetches ? await session.run(feeds, req.fetches) : await session.run(feeds);
  const res = {};
  for (const [name, t] of Object.entries(out)) {
    res[name] = { dims: t.dims, b64: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('base64') };
  }
  process.stdout.write(JSON.stringify(res));
}

const args = process.argv.slice(2);
(args[0] === '--raw' ? raw(args[1]) : fixtureCheck(args[0] || path.join(__dirname, 'tiny-random'), args[1]))
  .catch((e) => { console.error(e); process.exit(1); });
