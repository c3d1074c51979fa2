#!/usr/bin/python3
"""The meta reward model (meta-RM): a small bidirectional encoder that reads one GRM sample and
scores how likely that sample ranked the true best response first (DeepSeek-GRM's meta RM).

Input text (``build_input``, byte for byte GrmWorker.Scoring's ``MetaRmInput.Build``, format
``meta-rm-input-v1``)::

    Query:\\n{query}\\n\\n[Response 1]\\n{r1}\\n\\n...[Response n]\\n{rn}\\n\\n[Judgement]\\n{generated}

with the responses in the order the sample showed them and ``generated`` the GRM's whole output
(principles, critiques, scores). Ids come from the C# tokenizer (``grm_cli.tokenize``), truncated to
the LAST ``max_tokens`` ids (``truncate``; the judgement is at the end).

ONNX interface (opset 14, what ``GrmWorker.Inference.MetaRewardModel`` runs)::

    input_ids       int64   [batch, seq]   right-padded with pad_token_id, seq <= max_tokens
    attention_mask  int64   [batch, seq]   1 = token, 0 = pad
    -> score        float32 [batch]        a logit; higher = a better sample

Architecture: token embedding + learned absolute positions (0..max_tokens-1), pre-RMSNorm
encoder blocks (full self-attention with a key-padding mask, SwiGLU MLP from grm_model), a final
RMSNorm, masked mean pooling over real tokens, one linear logit.

    /usr/bin/python3 models/meta_rm.py --random --model-dir models/tiny-random [--no-verify]

builds a seeded random-weight meta-RM into MODEL_DIR/meta-rm/ (meta-rm.onnx, meta-rm-config.json,
reference-scores.json) for the C# tests. Training: ``train_meta_rm`` + ``write_meta_rm_dir``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from typing import Callable, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import grm_cli  # noqa: E402
from grm_model import MASK_VALUE, MLP, RMSNorm  # noqa: E402

INPUT_FORMAT = "meta-rm-input-v1"
CONFIG_FILE = "meta-rm-config.json"
MODEL_FILE = "meta-rm.onnx"
REFERENCE_FILE = "reference-scores.json"
RANDOM_SEED = 20250505
RANDOM_MODEL_ID = "tiny-random-meta-rm-v1"


def build_input(query: str, shown_responses: Sequence[str], generated: str) -> str:
    """The meta-RM text of one GRM sample (mirror of C# ``MetaRmInput.Build``)."""
    parts = ["Query:\n", query, "\n\n"]
    for p, response in enumerate(shown_responses, 1):
        parts += [f"[Response {p}]\n", response, "\n\n"]
    parts += ["[Judgement]\n", generated]
    return "".join(parts)


def truncate(ids: Sequence[int], max_tokens: int) -> List[int]:
    """Keeps the LAST ``max_tokens`` ids (mirror of C# ``MetaRewardModel.Truncate``)."""
    if max_tokens < 1:
        raise ValueError("max_tokens must be positive")
    ids = list(ids)
    return ids[-max_tokens:] if len(ids) > max_tokens else ids


@dataclass
class MetaRmConfig:
    vocab_size: int
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 4
    ffn_dim: int = 192
    max_tokens: int = 512
    pad_token_id: int = 0
    norm_eps: float = 1e-5

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads != 0:
            raise ValueError("d_model must be divisible by n_heads")
        if not 0 <= self.pad_token_id < self.vocab_size:
            raise ValueError(f"pad_token_id {self.pad_token_id} is outside the vocabulary (size {self.vocab_size})")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "MetaRmConfig":
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in names})


class EncoderAttention(nn.Module):
    """Full (bidirectional) self-attention; ``keep`` [B, 1, 1, S] masks pad keys."""

    def __init__(self, cfg: MetaRmConfig) -> None:
        super().__init__()
        self.n_heads = cfg.n_heads
        self.head_dim = cfg.head_dim
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model, bias=False)
        self.o_proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        b, s, d = x.shape
        qkv = self.qkv(x).view(b, s, 3, self.n_heads, self.head_dim).permute(2, 0, 3, 1, 4)  # [3, B, H, S, Dh]
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = torch.matmul(q, k.transpose(2, 3)) * (1.0 / math.sqrt(self.head_dim))  # [B, H, S, S]
        # finite mask value: a row of pads only (never pooled) stays finite instead of NaN
        scores = torch.where(keep, scores, torch.full_like(scores, MASK_VALUE))
        out = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).reshape(b, s, d)
        return self.o_proj(out)


class EncoderBlock(nn.Module):
    def __init__(self, cfg: MetaRmConfig) -> None:
        super().__init__()
        self.attn_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.attn = EncoderAttention(cfg)
        self.mlp_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.mlp = MLP(cfg)  # SwiGLU; reads cfg.d_model and cfg.ffn_dim

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x), keep)
        return x + self.mlp(self.mlp_norm(x))


class MetaRewardModel(nn.Module):
    def __init__(self, cfg: MetaRmConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.embed_positions = nn.Embedding(cfg.max_tokens, cfg.d_model)
        self.layers = nn.ModuleList([EncoderBlock(cfg) for _ in range(cfg.n_layers)])
        self.norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.head = nn.Linear(cfg.d_model, 1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """input_ids, attention_mask [B, S] (S <= max_tokens) -> score [B]."""
        positions = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)  # [1, S]
        x = self.embed_tokens(input_ids) + self.embed_positions(positions)  # [B, S, D]
        keep = attention_mask.to(torch.bool)[:, None, None, :]  # [B, 1, 1, S]
        for layer in self.layers:
            x = layer(x, keep)
        x = self.norm(x)
        m = attention_mask.to(x.dtype).unsqueeze(-1)  # [B, S, 1]
        pooled = (x * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)  # [B, D]
        return self.head(pooled).squeeze(-1)  # [B]


def pad_batch(id_lists: Sequence[Sequence[int]], max_tokens: int, pad_token_id: int):
    """Truncates (keep the last max_tokens) and right-pads -> input_ids, attention_mask [B, S]."""
    rows = [truncate(ids, max_tokens) for ids in id_lists]
    width = max(1, max(len(r) for r in rows))
    input_ids = torch.full((len(rows), width), pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        input_ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        attention_mask[i, : len(r)] = 1
    return input_ids, attention_mask


@torch.no_grad()
def score(model: MetaRewardModel, id_lists: Sequence[Sequence[int]], batch_size: int = 32) -> List[float]:
    """Torch scores of id lists, in order (the same truncation and padding as the C# engine)."""
    model.eval()
    out: List[float] = []
    for start in range(0, len(id_lists), batch_size):
        ids, mask = pad_batch(id_lists[start: start + batch_size], model.cfg.max_tokens, model.cfg.pad_token_id)
        out.extend(model(ids, mask).tolist())
    return out


def train_meta_rm(
    id_lists: Sequence[Sequence[int]],
    labels: Sequence[int],
    cfg: MetaRmConfig,
    epochs: int = 5,
    batch_size: int = 32,
    lr: float = 1e-3,
    seed: int = 0,
    log: Callable[[str], None] = print,
    weight_decay: float = 0.01,
    val: Optional[tuple] = None,
) -> MetaRewardModel:
    """Trains a meta-RM: BCE with logits (class-balanced ``pos_weight`` = negatives / positives),
    AdamW, shuffled batches padded per batch. ``labels``: 1 = the sample ranked the true best
    response first. ``val``: optional (id_lists, labels) reported each epoch; with it the weights of the epoch with the
    lowest validation loss are returned (a few thousand rows overfit within a few epochs). Deterministic for
    a seed (CPU, same torch build)."""
    if len(id_lists) != len(labels):
        raise ValueError(f"{len(id_lists)} id lists but {len(labels)} labels")
    if not id_lists:
        raise ValueError("no training rows")
    if any(y not in (0, 1) for y in labels):
        raise ValueError("labels must be 0 or 1")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = MetaRewardModel(cfg)
    init_weights(model, seed)
    y_all = torch.tensor(labels, dtype=torch.float32)
    n_pos = float(y_all.sum())
    n_neg = float(len(labels)) - n_pos
    pos_weight = torch.tensor(n_neg / n_pos if n_pos > 0 and n_neg > 0 else 1.0)
    log(f"meta-rm train: {len(labels)} rows ({int(n_pos)} positive), pos_weight {pos_weight.item():.3f}, "
        f"{sum(p.numel() for p in model.parameters())} parameters")
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    best = None  # (validation loss, epoch, weights)
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(id_lists), generator=gen).tolist()
        total_loss, correct = 0.0, 0
        for start in range(0, len(order), batch_size):
            idx = order[start: start + batch_size]
            ids, mask = pad_batch([id_lists[i] for i in idx], cfg.max_tokens, cfg.pad_token_id)
            y = y_all[idx]
            logits = model(ids, mask)
            loss = F.binary_cross_entropy_with_logits(logits, y, pos_weight=pos_weight)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            total_loss += loss.item() * len(idx)
            correct += int(((logits.detach() > 0).float() == y).sum())
        line = f"epoch {epoch}/{epochs}: loss {total_loss / len(order):.4f}, accuracy {correct / len(order):.3f}"
        if val is not None:
            v_scores = torch.tensor(score(model, val[0], batch_size))
            v_y = torch.tensor(val[1], dtype=torch.float32)
            v_loss = float(F.binary_cross_entropy_with_logits(v_scores, v_y, pos_weight=pos_weight))
            line += f", val loss {v_loss:.4f}, val accuracy {float(((v_scores > 0).float() == v_y).float().mean()):.3f}"
            if best is None or v_loss < best[0]:
                best = (v_loss, epoch, {k: v.clone() for k, v in model.state_dict().items()})
        log(line)
    if best is not None:
        model.load_state_dict(best[2])
        log(f"kept epoch {best[1]} (lowest validation loss {best[0]:.4f})")
    model.eval()
    return model


def init_weights(model: MetaRewardModel, seed: int) -> None:
    """Seeded init: embeddings N(0, 0.5), projections N(0, 1/fan_in), norms 1, head N(0, 1/d), bias 0."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.endswith("norm.weight"):
                p.fill_(1.0)
            elif name.startswith("embed_"):
                p.normal_(0.0, 0.5, generator=g)
            elif name == "head.bias":
                p.zero_()
            else:
                p.normal_(0.0, 1.0 / p.shape[1] ** 0.5, generator=g)


class _OnnxWrapper(nn.Module):
    def __init__(self, model: MetaRewardModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids, attention_mask)


def export_onnx(model: MetaRewardModel, path: str, opset: int = 14) -> None:
    """fp32 ONNX: input_ids, attention_mask int64 [batch, seq] -> score float32 [batch] (dynamic axes)."""
    model = model.eval()
    cfg = model.cfg
    ids = torch.randint(0, cfg.vocab_size, (2, 5), dtype=torch.long)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.long)
    with torch.no_grad():
        torch.onnx.export(
            _OnnxWrapper(model),
            (ids, mask),
            path,
            input_names=["input_ids", "attention_mask"],
            output_names=["score"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "seq"},
                "attention_mask": {0: "batch", 1: "seq"},
                "score": {0: "batch"},
            },
            opset_version=opset,
            do_constant_folding=True,
        )


def write_meta_rm_dir(model: MetaRewardModel, cfg: MetaRmConfig, out_dir: str, tokenizer_file: str, model_id: str) -> None:
    """Writes OUT_DIR/meta-rm.onnx, meta-rm-config.json (what the C# worker reads) and
    meta-rm-model.json (the architecture, for torch). ``tokenizer_file`` is relative to OUT_DIR."""
    os.makedirs(out_dir, exist_ok=True)
    if not os.path.isfile(os.path.join(out_dir, tokenizer_file)):
        raise FileNotFoundError(f"tokenizerFile {tokenizer_file!r} does not exist relative to {out_dir}")
    export_onnx(model, os.path.join(out_dir, MODEL_FILE))
    config = {
        "modelId": model_id,
        "modelFile": MODEL_FILE,
        "tokenizerFile": tokenizer_file,
        "maxTokens": cfg.max_tokens,
        "padTokenId": cfg.pad_token_id,
        "inputFormat": INPUT_FORMAT,
    }
    _write_json(os.path.join(out_dir, CONFIG_FILE), config)
    _write_json(os.path.join(out_dir, "meta-rm-model.json"), cfg.to_dict())


def _write_json(path: str, value) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, ensure_ascii=False)
        f.write("\n")


# ---------------------------------------------------------------------------------------------
# --random: the seeded random-weight meta-RM fixture for the C# tests


def _judgement(shown: int, scores: Sequence[int], note: str) -> str:
    analysis = " ".join(f"Response {p + 1}: {note} (point {p + 1})." for p in range(shown))
    return (f"Specific Criteria: Correctness (weight 50%), Clarity (weight 30%), Brevity (weight 20%).\n"
            f"Analysis: {analysis}\n"
            f"Scores: \\boxed{{{', '.join(str(s) for s in scores)}}}")


def reference_inputs() -> List[tuple]:
    """(query, shown responses, generated) of the fixture cases: short and long, 1-3 responses,
    non-ASCII, empty strings, and one longer than max_tokens (truncation)."""
    long_response = " ".join(
        f"Step {i}: multiply the tens digit, carry the remainder, and check the partial product against the estimate."
        for i in range(1, 25))
    return [
        ("What is 17 * 3?", ["51", "41"], _judgement(2, [9, 2], "the arithmetic")),
        ("What is 17 * 3?", ["41", "51"], _judgement(2, [3, 8], "checks 17*3")),
        ("Say hi.", ["Hi!"], _judgement(1, [7], "friendly")),
        ("Write a haiku about rain.",
         ["Rain taps the window\nslow grey afternoon unfolds\nthe kettle answers",
          "Rain is wet.", "I like turtles. \u00e9\u00e8 \u4f60\u597d \U0001F327"],
         _judgement(3, [9, 3, 1], "form and imagery")),
        ("Explain long multiplication in detail.", [long_response, "Just use a calculator."],
         _judgement(2, [8, 2], "completeness and accuracy of the steps")),
        ("", ["", "x"], "Scores: \\boxed{1, 1}"),
    ]


def build_random(model_dir: str, verify: bool) -> None:
    grm_config_path = os.path.join(model_dir, "grm-config.json")
    with open(grm_config_path, encoding="utf-8") as f:
        grm_config = json.load(f)
    tokenizer_path = os.path.join(model_dir, grm_config["tokenizerFile"])
    with open(tokenizer_path, encoding="utf-8") as f:
        tok = json.load(f)
    vocab_size = max([len(tok["model"]["vocab"])] + [t["id"] + 1 for t in tok.get("added_tokens", [])])
    pad = grm_config.get("padTokenId")
    cfg = MetaRmConfig(vocab_size=vocab_size, pad_token_id=pad if pad is not None else 0)

    torch.manual_seed(RANDOM_SEED)
    model = MetaRewardModel(cfg)
    init_weights(model, RANDOM_SEED)
    model.eval()

    out_dir = os.path.join(model_dir, "meta-rm")
    tokenizer_file = os.path.relpath(tokenizer_path, out_dir)
    write_meta_rm_dir(model, cfg, out_dir, tokenizer_file, RANDOM_MODEL_ID)

    inputs = reference_inputs()
    texts = [build_input(q, shown, gen) for q, shown, gen in inputs]
    ids = grm_cli.tokenize(texts, tokenizer_path)
    if max(len(i) for i in ids) <= cfg.max_tokens:
        raise RuntimeError(f"no reference text is longer than max_tokens {cfg.max_tokens}; truncation would be untested")
    scores = score(model, ids)
    # The same rows one at a time: batching and padding must not move a score.
    single = [score(model, [i])[0] for i in ids]
    for a, b in zip(scores, single):
        if abs(a - b) > 1e-5:
            raise RuntimeError(f"batched score {a} != single-row score {b}")
    reference = {
        "description": ("Seeded random-weight meta-RM (models/meta_rm.py --random). Each case: the sample's query, "
                        "shown responses and generated text, the meta-RM input text (build_input), its ids from `grm tokenize` (untruncated), the ids the model reads "
                        "(the last maxTokens), and the torch score. Scores are meaningless; they pin the "
                        "ONNX export, truncation and padding."),
        "modelId": RANDOM_MODEL_ID,
        "maxTokens": cfg.max_tokens,
        "padTokenId": cfg.pad_token_id,
        "cases": [
            {"query": q, "shownResponses": shown, "generated": gen, "text": t, "ids": i,
             "truncatedIds": truncate(i, cfg.max_tokens), "score": s}
            for (q, shown, gen), t, i, s in zip(inputs, texts, ids, scores)
        ],
    }
    _write_json(os.path.join(out_dir, REFERENCE_FILE), reference)
    size = os.path.getsize(os.path.join(out_dir, MODEL_FILE))
    print(f"wrote {out_dir}: {MODEL_FILE} ({size} bytes), {CONFIG_FILE}, {REFERENCE_FILE}; "
          f"scores {[round(s, 4) for s in scores]}, lengths {[len(i) for i in ids]}")
    if size > 1_500_000:
        raise RuntimeError(f"{MODEL_FILE} is {size} bytes; keep it under 1.5 MB")
    if verify:
        verify_with_reference_tokenizer(tokenizer_path, texts, ids)
        verify_with_onnxruntime(out_dir, reference)


def verify_with_reference_tokenizer(tokenizer_path: str, texts: List[str], ids: List[List[int]]) -> None:
    """The C# ids == the Hugging Face Rust tokenizer's (npm `tokenizers`, via node_tools.js)."""
    out = subprocess.run(["node", os.path.join(HERE, "node_tools.js")],
                         input=json.dumps({"tokenizer": os.path.abspath(tokenizer_path), "encode": texts}).encode("utf-8"),
                         stdout=subprocess.PIPE, check=True)
    rust = json.loads(out.stdout.decode("utf-8"))["encode"]
    if rust != ids:
        raise RuntimeError("grm tokenize and the Rust tokenizer disagree on a reference text")
    print("verified: grm tokenize ids == Rust tokenizer ids")


_ORT_CHECK = r"""
const path = require('path');
const ort = require(path.join(process.env.NODE_MODULES, 'onnxruntime-node'));
(async () => {
  const ref = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  const s = await ort.InferenceSession.create(process.argv[1]);
  const rows = ref.cases.map(c => c.truncatedIds);
  const width = Math.max(...rows.map(r => r.length));
  const ids = new BigInt64Array(rows.length * width).fill(BigInt(ref.padTokenId));
  const mask = new BigInt64Array(rows.length * width);
  rows.forEach((r, b) => r.forEach((id, t) => { ids[b * width + t] = BigInt(id); mask[b * width + t] = 1n; }));
  const out = await s.run({ input_ids: new ort.Tensor('int64', ids, [rows.length, width]),
                            attention_mask: new ort.Tensor('int64', mask, [rows.length, width]) });
  process.stdout.write(JSON.stringify(Array.from(out.score.data)));
})().catch(e => { console.error(e); process.exit(1); });
"""


def verify_with_onnxruntime(out_dir: str, reference: dict) -> None:
    """ONNX Runtime (onnxruntime-node), all cases in one padded batch, == the torch scores within 1e-4."""
    env = dict(os.environ, NODE_MODULES=os.path.join(os.path.dirname(HERE), "tools", "node", "node_modules"))
    out = subprocess.run(["node", "-e", _ORT_CHECK, os.path.abspath(os.path.join(out_dir, MODEL_FILE))],
                         input=json.dumps(reference).encode("utf-8"), stdout=subprocess.PIPE, check=True, env=env)
    ort_scores = json.loads(out.stdout.decode("utf-8"))
    worst = max(abs(a - c["score"]) for a, c in zip(ort_scores, reference["cases"]))
    if worst > 1e-4:
        raise RuntimeError(f"ONNX Runtime and torch scores differ by {worst}")
    print(f"verified: ONNX Runtime scores == torch scores (max abs difference {worst:.2e})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--random", action="store_true", help="build the seeded random-weight meta-RM fixture")
    ap.add_argument("--model-dir", default=os.path.join(HERE, "tiny-random"),
                    help="GRM model directory (its grm-config.json names the tokenizer); output goes to DIR/meta-rm")
    ap.add_argument("--no-verify", action="store_true", help="skip the node checks (Rust tokenizer, ONNX Runtime)")
    args = ap.parse_args()
    if not args.random:
        ap.error("nothing to do: pass --random (training goes through train_meta_rm / write_meta_rm_dir)")
    torch.set_num_threads(1)  # same floats on every rebuild
    build_random(args.model_dir, verify=not args.no_verify)


if __name__ == "__main__":
    main()
