#!/usr/bin/python3
"""PyTorch eager peer of the C# generation benchmark.

    /usr/bin/python3 models/bench_torch.py --model-dir models/tiny-random \\
        --batch 8 --prompt-tokens 256 --new-tokens 64 --threads 2

Loads weights.pt + model-config.json from the model directory (the same weights as
model.onnx), builds a batch of B prompts of P random token ids (seeded, no padding, no
special tokens), and runs greedy batched generation with KV cache (torch.no_grad), N new
tokens per row, no EOS stop. One untimed warm-up run, then one timed run (prefill +
decode). Prints one JSON line:

    {"batch":B,"newTokens":N,"seconds":s,"tokensPerSecond":x,"promptTokens":P,"threads":T,"engine":"torch-eager"}

tokensPerSecond counts generated tokens only: B*N/seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import grm_model as gm  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", default=os.path.join(HERE, "tiny-random"))
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--prompt-tokens", type=int, default=64)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if min(args.batch, args.prompt_tokens, args.new_tokens, args.threads) < 1:
        ap.error("batch, prompt-tokens, new-tokens and threads must be >= 1")

    torch.set_num_threads(args.threads)
    cfg = gm.load_config(os.path.join(args.model_dir, "model-config.json"))
    if args.prompt_tokens + args.new_tokens > cfg.max_context:
        ap.error(f"prompt-tokens + new-tokens exceeds the context length {cfg.max_context}")
    model = gm.GrmCausalLM(cfg)
    model.load_state_dict(torch.load(os.path.join(args.model_dir, "weights.pt"), map_location="cpu"))
    model.eval()

    # ordinary tokens only: ids below the first added (special) token
    high = cfg.vocab_size
    tok_path = os.path.join(args.model_dir, "tokenizer.json")
    if os.path.exists(tok_path):
        with open(tok_path, encoding="utf-8") as f:
            added = [t["id"] for t in json.load(f).get("added_tokens", [])]
        high = min(added + [high])
    g = torch.Generator().manual_seed(args.seed)
    ids = torch.randint(0, high, (args.batch, args.prompt_tokens), generator=g)
    mask = torch.ones_like(ids)

    with torch.inference_mode():
        gm.greedy_generate(model, ids, mask, args.new_tokens)  # warm-up
        t0 = time.perf_counter()
        out = gm.greedy_generate(model, ids, mask, args.new_tokens)
        seconds = time.perf_counter() - t0
    assert out.shape == (args.batch, args.new_tokens)
    generated = args.batch * args.new_tokens
    print(json.dumps({
        "batch": args.batch,
        "newTokens": args.new_tokens,
        "seconds": round(seconds, 6),
        "tokensPerSecond": round(generated / seconds, 3),
        "promptTokens": args.prompt_tokens,
        "threads": args.threads,
        "engine": "torch-eager",
    }, separators=(",", ":")))


if __name__ == "__main__":
    main()
