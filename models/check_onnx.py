#!/usr/bin/python3
"""Compare full ONNX Runtime outputs (onnxruntime-node, via verify_onnx.js --raw) with torch.

    /usr/bin/python3 models/check_onnx.py [--model-dir models/tiny-random] [--long 2040]

Cases: left-padded prefill with zero-length past; a decode step with past; a
right-padded prefill; a multi-token chunk appended to a past; and (with --long N) a
prefill of N tokens followed by a decode step at position N (context-length check).
Prints the max |logits_ort - logits_torch| (and presents) per case; exit 1 above 1e-3.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import grm_model as gm  # noqa: E402


def enc(t: torch.Tensor) -> dict:
    a = t.detach().cpu().contiguous().numpy()
    kind = "int64" if a.dtype == np.int64 else "float32"
    a = a.astype(np.int64 if kind == "int64" else np.float32)
    return {"type": kind, "dims": list(a.shape), "b64": base64.b64encode(a.tobytes()).decode("ascii")}


def ort_run(model_path: str, feeds: dict) -> dict:
    req = json.dumps({"feeds": {k: enc(v) for k, v in feeds.items()}}).encode("ascii")
    out = subprocess.run(["node", os.path.join(HERE, "verify_onnx.js"), "--raw", model_path],
                         input=req, stdout=subprocess.PIPE, check=True)
    res = json.loads(out.stdout)
    return {k: np.frombuffer(base64.b64decode(v["b64"]), dtype=np.float32).reshape(v["dims"])
            for k, v in res.items()}


def feeds_for(ids, mask, pos, past) -> dict:
    f = {"input_ids": ids, "attention_mask": mask, "position_ids": pos}
    for i, (k, v) in enumerate(past):
        f[f"past_key_values.{i}.key"] = k
        f[f"past_key_values.{i}.value"] = v
    return f


def compare(name, model, model_path, ids, mask, pos, past, rows_cols=None) -> float:
    if past is None:
        past = model.empty_past(ids.shape[0])  # zero-length past tensors, fed to ORT too
    with torch.no_grad():
        logits, presents = model(ids, mask, pos, past)
    out = ort_run(model_path, feeds_for(ids, mask, pos, past))
    lt, lo = logits.numpy(), out["logits"]
    assert lo.shape == lt.shape, (lo.shape, lt.shape)
    if rows_cols is not None:  # only real (unpadded) query positions are meaningful
        sel = np.zeros(lt.shape[:2], dtype=bool)
        for r, cols in rows_cols:
            sel[r, cols] = True
        d = float(np.abs(lt[sel] - lo[sel]).max())
    else:
        d = float(np.abs(lt - lo).max())
    dp = max(float(np.abs(p[j].numpy() - out[f"present.{i}.{kv}"]).max())
             for i, p in enumerate(presents) for j, kv in enumerate(("key", "value")))
    shape = {k: list(v.shape) for k, v in out.items() if k in ("logits", "present.0.key")}
    print(f"{name}: max|logit diff| {d:.2e}, max|present diff| {dp:.2e}, ort shapes {shape}")
    return max(d, dp)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", default=os.path.join(HERE, "tiny-random"))
    ap.add_argument("--long", type=int, default=0, help="also check a prefill of this many tokens")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = gm.load_config(os.path.join(args.model_dir, "model-config.json"))
    model = gm.GrmCausalLM(cfg)
    model.load_state_dict(torch.load(os.path.join(args.model_dir, "weights.pt")))
    model.eval()
    path = os.path.join(args.model_dir, "model.onnx")
    g = torch.Generator().manual_seed(7)
    worst = 0.0

    # left-padded prefill, zero-length past
    ids = torch.randint(0, cfg.vocab_size, (3, 9), generator=g)
    mask = torch.ones_like(ids)
    mask[1, :4] = 0
    mask[2, :8] = 0
    pos = gm.position_ids_from_mask(mask)
    rc = [(0, list(range(9))), (1, list(range(4, 9))), (2, [8])]
    worst = max(worst, compare("prefill left-padded (past 0)", model, path, ids, mask, pos, None, rc))
    with torch.no_grad():
        _, past = model(ids, mask, pos, None)

    # one decode step with past
    tok = torch.randint(0, cfg.vocab_size, (3, 1), generator=g)
    mask2 = torch.cat((mask, torch.ones_like(tok)), 1)
    pos2 = mask.sum(1, keepdim=True)
    worst = max(worst, compare("decode step (past 9)", model, path, tok, mask2, pos2, past))

    # a 4-token chunk appended to the past
    chunk = torch.randint(0, cfg.vocab_size, (3, 4), generator=g)
    mask3 = torch.cat((mask, torch.ones_like(chunk)), 1)
    pos3 = mask.sum(1, keepdim=True) + torch.arange(4)
    worst = max(worst, compare("chunk of 4 with past 9", model, path, chunk, mask3, pos3, past))

    # right-padded prefill
    rmask = torch.ones_like(ids)
    rmask[1, 5:] = 0
    rpos = gm.position_ids_from_mask(rmask)
    rc = [(0, list(range(9))), (1, list(range(5))), (2, list(range(9)))]
    worst = max(worst, compare("prefill right-padded", model, path, ids, rmask, rpos, None, rc))

    if args.long:
        n = args.long
        ids = torch.randint(0, cfg.vocab_size, (1, n), generator=g)
        mask = torch.ones_like(ids)
        pos = torch.arange(n).unsqueeze(0)
        with torch.no_grad():
            logits, past = model(ids, mask, pos, None)
        out = ort_run(path, feeds_for(ids, mask, pos, model.empty_past(1)))
        d = float(np.abs(logits.numpy() - out["logits"]).max())
        print(f"prefill {n} tokens: max|logit diff| {d:.2e}")
        worst = max(worst, d)
        tok = torch.randint(0, cfg.vocab_size, (1, 1), generator=g)
        worst = max(worst, compare(f"decode at position {n}", model, path, tok,
                                   torch.ones((1, n + 1), dtype=torch.long), torch.tensor([[n]]), past))

    print(f"worst: {worst:.2e}")
    if worst > 1e-3:
        sys.exit(1)


if __name__ == "__main__":
    main()
