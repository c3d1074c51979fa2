#!/usr/bin/python3
"""Check the shared-buffer (GroupQueryAttention) export against the torch concat model.

    /usr/bin/python3 models/check_gqa.py [--model-dir models/tiny-random-gqa] [--weights models/tiny-random/weights.pt]

Runs ONNX Runtime (onnxruntime-node, via verify_onnx.js --raw) on the GQA model and compares
with torch eager (the concat layout, same weights), each row run alone and unpadded:

1. batched prefill, rows of different lengths RIGHT-padded, past = a zero buffer [B, H, M, Dh];
2. one decode step per row at its own length (left-aligned rows, attention_mask ones
   0..len, zeros after), past = the presents of 1; a row may be idle (pad token,
   mask unchanged) and must not disturb the others;
3. a B = 1 chunk of 4 tokens appended to a past (a per-row suffix after a shared prefix);
4. the same decode step after 3.
Only real positions are compared (pad query positions are garbage). Exit 1 above 1e-3.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import grm_model as gm  # noqa: E402
from check_onnx import ort_run  # noqa: E402

M = 24  # buffer length


def feeds(ids, mask, pos, past):
    f = {"input_ids": ids, "attention_mask": mask, "position_ids": pos}
    for i, (k, v) in enumerate(past):
        f[f"past_key_values.{i}.key"] = torch.as_tensor(k)
        f[f"past_key_values.{i}.value"] = torch.as_tensor(v)
    return f


def presents(out, n_layers):
    return [(out[f"present.{i}.key"].copy(), out[f"present.{i}.value"].copy()) for i in range(n_layers)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", default=os.path.join(HERE, "tiny-random-gqa"))
    ap.add_argument("--weights", default=os.path.join(HERE, "tiny-random", "weights.pt"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = gm.load_config(os.path.join(args.model_dir, "model-config.json"))
    model = gm.GrmCausalLM(cfg)
    model.load_state_dict(torch.load(args.weights))
    model.eval()
    path = os.path.join(args.model_dir, "model.onnx")
    g = torch.Generator().manual_seed(11)
    h, d = cfg.n_heads, cfg.head_dim
    worst = 0.0

    def torch_single(ids):  # logits [n, V] and presents of one unpadded row
        x = torch.tensor([ids])
        m = torch.ones_like(x)
        with torch.no_grad():
            lg, pr = model(x, m, gm.position_ids_from_mask(m), None)
        return lg[0].numpy(), pr

    lens = [9, 4, 1, 7]
    b, n = len(lens), max(lens)
    rows = [torch.randint(0, cfg.vocab_size, (k,), generator=g).tolist() for k in lens]
    ids = torch.full((b, n), 3067, dtype=torch.long)
    mask = torch.zeros((b, n), dtype=torch.long)
    pos = torch.zeros((b, n), dtype=torch.long)
    for r, row in enumerate(rows):
        ids[r, : len(row)] = torch.tensor(row)
        mask[r, : len(row)] = 1
        pos[r, : len(row)] = torch.arange(len(row))
    zero = [(np.zeros((b, h, M, d), np.float32), np.zeros((b, h, M, d), np.float32)) for _ in range(cfg.n_layers)]
    out = ort_run(path, feeds(ids, mask, pos, zero))
    dl = dp = 0.0
    last_only = out["logits"].shape[1] == 1  # export with logits for the last real position only
    for r, row in enumerate(rows):
        lg, pr = torch_single(row)
        got = out["logits"][r, :1] if last_only else out["logits"][r, : len(row)]
        dl = max(dl, float(np.abs(got - (lg[-1:] if last_only else lg)).max()))
        for i, (k, v) in enumerate(pr):
            dp = max(dp, float(np.abs(out[f"present.{i}.key"][r, :, : len(row)] - k[0].numpy()).max()),
                     float(np.abs(out[f"present.{i}.value"][r, :, : len(row)] - v[0].numpy()).max()))
    print(f"1. right-padded batched prefill {lens}, buffer {M}{' (last-position logits)' if last_only else ''}: max|logit diff| {dl:.2e}, "
          f"max|present diff| {dp:.2e}, present shape {list(out['present.0.key'].shape)}")
    worst = max(worst, dl, dp)

    # 2. decode: each row at its own length; row 2 idle (pad token, mask unchanged)
    past = presents(out, cfg.n_layers)
    idle = 2
    toks = torch.randint(0, cfg.vocab_size, (b, 1), generator=g)
    width = n + 1
    mask2 = torch.zeros((b, width), dtype=torch.long)
    pos2 = torch.zeros((b, 1), dtype=torch.long)
    for r, row in enumerate(rows):
        mask2[r, : len(row) + (0 if r == idle else 1)] = 1
        pos2[r, 0] = len(row)
    toks[idle, 0] = 3067
    out2 = ort_run(path, feeds(toks, mask2, pos2, past))
    dl = 0.0
    for r, row in enumerate(rows):
        if r == idle:
            continue
        lg, _ = torch_single(row + [int(toks[r, 0])])
        dl = max(dl, float(np.abs(out2["logits"][r, 0] - lg[-1]).max()))
    print(f"2. decode, rows at lengths {lens} (row {idle} idle): max|logit diff| {dl:.2e}")
    worst = max(worst, dl)

    # 3. B = 1: a chunk of 4 after a past of 7 (in place in the buffer), then a decode step
    row = rows[3]
    one = [(k[3:4].copy(), v[3:4].copy()) for k, v in presents(out, cfg.n_layers)]
    chunk = torch.randint(0, cfg.vocab_size, (1, 4), generator=g)
    m3 = torch.ones((1, len(row) + 4), dtype=torch.long)
    p3 = torch.arange(len(row), len(row) + 4).unsqueeze(0)
    out3 = ort_run(path, feeds(chunk, m3, p3, one))
    full = row + chunk[0].tolist()
    lg, _ = torch_single(full)
    dl = float(np.abs(out3["logits"][0] - (lg[-1:] if last_only else lg[len(row):])).max())
    print(f"3. B=1 chunk of 4 after past {len(row)}: max|logit diff| {dl:.2e}")
    worst = max(worst, dl)
    tok = torch.randint(0, cfg.vocab_size, (1, 1), generator=g)
    out4 = ort_run(path, feeds(tok, torch.ones((1, len(full) + 1), dtype=torch.long),
                               torch.tensor([[len(full)]]), presents(out3, cfg.n_layers)))
    lg, _ = torch_single(full + [int(tok[0, 0])])
    dl = float(np.abs(out4["logits"][0, 0] - lg[-1]).max())
    print(f"4. decode after the chunk: max|logit diff| {dl:.2e}")
    worst = max(worst, dl)

    print(f"worst: {worst:.2e}")
    if worst > 1e-3:
        sys.exit(1)


if __name__ == "__main__":
    main()
