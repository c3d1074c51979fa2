#!/usr/bin/python3
"""Build models/tiny-random/: a seeded random-weight Llama-style LM for the C# tests.

    /usr/bin/python3 models/build_tiny_random.py [--out models/tiny-random] [--no-verify]

Writes tokenizer.json, model.onnx, weights.pt (+ model-config.json for bench_torch.py),
grm-config.json and reference-greedy.json, and models/tiny-random-gqa/ (the same weights
exported with the shared-buffer KV layout: GroupQueryAttention; model.onnx + configs) (golden greedy tokens from PyTorch eager with
KV cache; prompt ids come from the npm Rust tokenizer via node). Unless --no-verify,
checks the tokenizer round trip (verify_tokenizer.js), runs the fixture in ONNX Runtime
via onnxruntime-node (verify_onnx.js, both layouts) and compares full ORT and torch outputs
(check_onnx.py, check_gqa.py).
Deterministic: same files on every rebuild (on the same torch build).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import grm_model as gm  # noqa: E402
import grm_tokenizer as gt  # noqa: E402

SEED = 20250101
MODEL_ID = "tiny-random-v1"
NEW_TOKENS = 32


def node_tools(request: dict) -> dict:
    out = subprocess.run(
        ["node", os.path.join(HERE, "node_tools.js")],
        input=json.dumps(request).encode("utf-8"),
        stdout=subprocess.PIPE,
        check=True,
    )
    return json.loads(out.stdout.decode("utf-8"))


def init_weights(model: gm.GrmCausalLM, seed: int) -> None:
    """Seeded random init, scaled up from the usual 0.02 so that the residual stream is
    not dominated by the input embedding and greedy decoding does not just repeat one
    token. RMSNorm weights stay at 1."""
    g = torch.Generator().manual_seed(seed)
    d = model.cfg.d_model
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.endswith("norm.weight"):
                p.fill_(1.0)
            elif name == "embed_tokens.weight":
                p.normal_(0.0, 1.0, generator=g)
            elif name == "lm_head.weight":
                p.normal_(0.0, 1.0 / d ** 0.5, generator=g)
            else:  # projections: std ~ gain / sqrt(fan_in)
                p.normal_(0.0, 1.0, generator=g)
                p.mul_(INIT_GAIN / p.shape[1] ** 0.5)


INIT_GAIN = 1.0


def chat(system: str, user: str) -> str:
    return f"<|system|>\n{system}<|end|>\n<|user|>\n{user}<|end|>\n<|assistant|>\n"


def prompts() -> list:
    long_text = (
        "The history of computing is a story of abstraction. Early machines were programmed by "
        "rewiring panels; later, stored programs made software possible, and compilers let people "
        "write in languages closer to mathematics than to circuits. Operating systems hid the hardware, "
        "networks connected the machines, and the web connected the people.\n\n"
        "def mean(values):\n    if not values:\n        raise ValueError(\"empty\")\n"
        "    return sum(values) / len(values)\n\n"
        "A generative reward model reads a query and several responses, writes principles and a critique, "
        "and ends with a line such as Scores: \\boxed{7, 3}. Sampling several critiques with the responses "
        "shuffled, and summing the scores, makes the reward more reliable. Adaptive early stopping saves "
        "samples when the winner is already clear. The quick brown fox jumps over the lazy dog; the lazy dog "
        "does not mind. In 1969 the Apollo 11 mission landed on the Moon, and 600 million people watched. "
        "Photosynthesis stores light energy in glucose; respiration releases it again. Water boils at 100 "
        "degrees Celsius at sea level. Our team released version 2.3.1 on Tuesday, fixing a memory leak."
    )
    grm_user = gt.grm_prompt(
        "What is the capital of Australia?",
        ["The capital of Australia is Canberra.", "The capital of Australia is Sydney."],
    )
    return [
        {"name": "short", "prompt": "Hello, world!"},
        {"name": "sentence", "prompt": "Explain why the sky is blue in simple terms."},
        {"name": "long", "prompt": long_text},
        {"name": "non-ascii", "prompt": "Café naïve — 这是一个测试。Привет, мир! 😀 ½ ≤ π"},
        {"name": "chat-grm", "prompt": chat(gt.GRM_SYSTEM, grm_user)},
    ]


def left_pad(rows: list, pad_id: int):
    n = max(len(r) for r in rows)
    ids = torch.full((len(rows), n), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), n), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, n - len(r):] = torch.tensor(r, dtype=torch.long)
        mask[i, n - len(r):] = 1
    return ids, mask


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "tiny-random"))
    ap.add_argument("--gqa-out", default=os.path.join(HERE, "tiny-random-gqa"),
                    help="where the shared-buffer (GroupQueryAttention) export of the same weights goes")
    ap.add_argument("--no-verify", action="store_true", help="skip the onnxruntime-node check")
    args = ap.parse_args()
    t0 = time.time()
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)

    # 1. tokenizer
    tok = gt.train_tokenizer(vocab_size=3072)
    tok_path = os.path.join(args.out, "tokenizer.json")
    gt.write_tokenizer(tok, tok_path)
    if not args.no_verify:
        subprocess.run(["node", os.path.join(HERE, "verify_tokenizer.js"), tok_path], check=True)
    sp = gt.special_ids(tok)
    eos, end = sp["<|endoftext|>"], sp["<|end|>"]
    print(f"tokenizer: {len(tok['model']['merges'])} merges, vocab {len(tok['model']['vocab']) + len(sp)}"
          f" ({time.time() - t0:.1f}s)")

    # 2. model
    cfg = gm.GrmModelConfig(vocab_size=3072, d_model=128, n_layers=4, n_heads=4, ffn_dim=384,
                            max_context=2048)
    model = gm.GrmCausalLM(cfg)
    init_weights(model, SEED)
    model.eval()
    torch.save(model.state_dict(), os.path.join(args.out, "weights.pt"))
    gm.save_config(cfg, os.path.join(args.out, "model-config.json"))
    gm.export_onnx(model, os.path.join(args.out, "model.onnx"))
    print(f"model.onnx exported ({time.time() - t0:.1f}s)")

    grm_config = {
        "modelId": MODEL_ID,
        "modelFile": "model.onnx",
        "tokenizerFile": "tokenizer.json",
        "contextLength": cfg.max_context,
        "eosTokenIds": [eos, end],
        "padTokenId": eos,
        "bosTokenId": None,
        "chat": {
            "systemPrefix": "<|system|>\n",
            "systemSuffix": "<|end|>\n",
            "userPrefix": "<|user|>\n",
            "userSuffix": "<|end|>\n",
            "assistantPrefix": "<|assistant|>\n",
        },
        "stopStrings": [],
    }
    with open(os.path.join(args.out, "grm-config.json"), "w", encoding="utf-8") as f:
        json.dump(grm_config, f, indent=2)
        f.write("\n")

    # 3. golden greedy fixture
    cases = prompts()
    enc = node_tools({"tokenizer": tok_path, "encode": [c["prompt"] for c in cases]})
    if not all(enc["roundTrip"]):
        raise RuntimeError("tokenizer round trip failed: %r" % enc["roundTrip"])
    gen_rows = []
    with torch.no_grad():
        for c, ids in zip(cases, enc["encode"]):
            c["promptIds"] = ids
            x = torch.tensor([ids], dtype=torch.long)
            m = torch.ones_like(x)
            logits, _ = model(x, m, gm.position_ids_from_mask(m), None)
            last = logits[0, -1]
            top = torch.topk(last, 5)
            c["lastPromptLogitsTop5"] = [[int(i), round(float(v), 5)] for v, i in zip(top.values, top.indices)]
            gen = gm.greedy_generate(model, x, m, NEW_TOKENS)[0].tolist()
            c["generatedIds"] = gen
            # smallest gap between the two largest logits over the greedy steps: how much
            # numerical slack an engine has before its argmax may differ
            full = torch.tensor([ids + gen[:-1]], dtype=torch.long)
            fm = torch.ones_like(full)
            fl, _ = model(full, fm, gm.position_ids_from_mask(fm), None)
            top2 = torch.topk(fl[0, len(ids) - 1:], 2, dim=-1).values
            c["minArgmaxMargin"] = round(float((top2[:, 0] - top2[:, 1]).min()), 6)
            hits = [i for i, t in enumerate(gen) if t in (eos, end)]
            c["firstEosIndex"] = hits[0] if hits else None
            gen_rows.append(gen)
        # padded batch: several prompts of different lengths, left-padded with padTokenId
        order = [0, 3, 1, 4, 2]
        bids, bmask = left_pad([cases[i]["promptIds"] for i in order], eos)
        bgen = gm.greedy_generate(model, bids, bmask, NEW_TOKENS).tolist()
    for row, i in zip(bgen, order):
        if row != cases[i]["generatedIds"]:
            raise RuntimeError(f"padded batch row for case {i} differs from the single run")
    dec = node_tools({"tokenizer": tok_path, "decode": gen_rows})["decode"]
    for c, text in zip(cases, dec):
        c["generatedText"] = text
    distinct = [len(set(c["generatedIds"])) for c in cases]
    print(f"greedy done; distinct generated tokens per case: {distinct} ({time.time() - t0:.1f}s)")

    fixture = {
        "modelId": MODEL_ID,
        "description": (
            "Golden greedy decoding of models/tiny-random (PyTorch eager, fp32, KV cache). "
            "Prompt ids: npm tokenizers (Rust) encode with addSpecialTokens=false; chat markers are "
            "added tokens written in the text. No BOS. Prompt token k has position id k; generated "
            "token t is fed at position len(promptIds)+t. Greedy = argmax (lowest id on ties). "
            "Generation does not stop at EOS: exactly newTokens tokens; firstEosIndex is the index in "
            "generatedIds of the first eosTokenIds token, or null. generatedText = decode(generatedIds, "
            "skipSpecialTokens=false) (random weights: may contain U+FFFD where byte tokens do not form UTF-8). "
            "minArgmaxMargin = smallest top-1 minus top-2 logit over the greedy steps. lastPromptLogitsTop5 = [id, logit] of the 5 largest logits at the "
            "last prompt position. paddedBatch: the cases in caseOrder, left-padded with padTokenId "
            "(attention_mask 0 on pads, position ids counting real tokens only), generate the same ids "
            "as the single runs."
        ),
        "decoding": "greedy",
        "newTokens": NEW_TOKENS,
        "stopOnEos": False,
        "eosTokenIds": [eos, end],
        "padTokenId": eos,
        "cases": cases,
        "paddedBatch": {"caseOrder": order, "padSide": "left", "generatedIds": bgen},
    }
    with open(os.path.join(args.out, "reference-greedy.json"), "w", encoding="utf-8") as f:
        json.dump(fixture, f, indent=1, ensure_ascii=False)
        f.write("\n")

    # 4. the same weights in the shared-buffer KV layout (GroupQueryAttention), logits for each
    # row's last real position only: model.onnx and configs only; the tokenizer is the same
    # file, the fixture is tiny-random's.
    os.makedirs(args.gqa_out, exist_ok=True)
    gm.export_onnx(model, os.path.join(args.gqa_out, "model.onnx"), kv_layout="shared-buffer", last_logits_only=True)
    shutil.copyfile(tok_path, os.path.join(args.gqa_out, "tokenizer.json"))
    gm.save_config(cfg, os.path.join(args.gqa_out, "model-config.json"))
    gqa_config = dict(grm_config, modelId=MODEL_ID + "-gqa",
                      kvCache={"layout": "shared-buffer", "maxLength": cfg.max_context})
    with open(os.path.join(args.gqa_out, "grm-config.json"), "w", encoding="utf-8") as f:
        json.dump(gqa_config, f, indent=2)
        f.write("\n")
    print(f"shared-buffer export written to {args.gqa_out} ({time.time() - t0:.1f}s)")

    if not args.no_verify:
        subprocess.run(["node", os.path.join(HERE, "verify_onnx.js"), args.out], check=True)
        subprocess.run([sys.executable, os.path.join(HERE, "check_onnx.py"), "--model-dir", args.out], check=True)
        subprocess.run(["node", os.path.join(HERE, "verify_onnx.js"), args.gqa_out,
                        os.path.join(args.out, "reference-greedy.json")], check=True)
        subprocess.run([sys.executable, os.path.join(HERE, "check_gqa.py"), "--model-dir", args.gqa_out,
                        "--weights", os.path.join(args.out, "weights.pt")], check=True)
    print(f"done in {time.time() - t0:.1f}s -> {args.out}")


if __name__ == "__main__":
    main()
