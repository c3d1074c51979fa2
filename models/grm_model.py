"""A small Llama-style decoder-only transformer for the GrmWorker bundled models.

Pre-RMSNorm attention with rotary position embeddings (driven by explicit
``position_ids``), a SwiGLU MLP, a final RMSNorm and an LM head. The forward pass
takes and returns a KV cache, and :func:`export_onnx` writes the standard
Hugging Face / optimum "decoder with past" ONNX layout that the C# engine runs:

inputs
    input_ids                  int64   [batch, seq]
    attention_mask             int64   [batch, past_seq + seq]   (1 = real token, 0 = pad)
    position_ids               int64   [batch, seq]
    past_key_values.{i}.key    float32 [batch, num_heads, past_seq, head_dim]
    past_key_values.{i}.value  float32 [batch, num_heads, past_seq, head_dim]
outputs
    logits                     float32 [batch, seq, vocab]
    present.{i}.key            float32 [batch, num_heads, past_seq + seq, head_dim]
    present.{i}.value          float32 [batch, num_heads, past_seq + seq, head_dim]

``past_seq`` may be 0 (zero-length past tensors on the first step). Attention is
causal by index within the key sequence (past + current) and additionally masked
by ``attention_mask``, so left- or right-padded batch rows give the same results as
single unpadded rows, provided ``position_ids`` count only real tokens (e.g.
``cumsum(attention_mask) - 1``, with pads set to any valid value such as 1).

Only torch is needed (no transformers). Used by build_tiny_random.py and
bench_torch.py, and meant to be reused for training a real tiny GRM.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

KV = Tuple[torch.Tensor, torch.Tensor]

# Finite "minus infinity" for masked attention scores: a fully masked row (a pad
# query whose keys are all pads) then gives a finite uniform softmax, not NaN.
MASK_VALUE = -1e9


@dataclass
class GrmModelConfig:
    vocab_size: int = 3072
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    ffn_dim: int = 384
    max_context: int = 2048
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    tie_embeddings: bool = False

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads != 0:
            raise ValueError("d_model must be divisible by n_heads")
        if self.head_dim % 2 != 0:
            raise ValueError("head_dim must be even for rotary embeddings")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "GrmModelConfig":
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in names})


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        var = x.pow(2).mean(-1, keepdim=True)
        return x * torch.rsqrt(var + self.eps) * self.weight


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    x1 = x[..., :half]
    x2 = x[..., half:]
    return torch.cat((-x2, x1), dim=-1)


class Rotary(nn.Module):
    """cos/sin for the given position_ids, computed in the graph (no length limit baked in)."""

    def __init__(self, head_dim: int, theta: float) -> None:
        super().__init__()
        inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, position_ids: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        # position_ids [B, S] -> cos, sin [B, 1, S, head_dim]
        freqs = position_ids.to(torch.float32).unsqueeze(-1) * self.inv_freq
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().unsqueeze(1), emb.sin().unsqueeze(1)


class Attention(nn.Module):
    def __init__(self, cfg: GrmModelConfig) -> None:
        super().__init__()
        self.n_heads = cfg.n_heads
        self.head_dim = cfg.head_dim
        self.q_proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        self.k_proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        self.v_proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        self.o_proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)

    def forward(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        mask: torch.Tensor,
        past: KV,
    ) -> Tuple[torch.Tensor, KV]:
        b, s, d = x.shape
        q = self.q_proj(x).view(b, s, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, s, self.n_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, s, self.n_heads, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = torch.cat((past[0], k), dim=2)
        v = torch.cat((past[1], v), dim=2)
        scores = torch.matmul(q, k.transpose(2, 3)) * (1.0 / math.sqrt(self.head_dim))
        scores = torch.where(mask, scores, torch.full_like(scores, MASK_VALUE))
        probs = torch.softmax(scores, dim=-1)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(b, s, d)
        return self.o_proj(out), (k, v)


class MLP(nn.Module):
    def __init__(self, cfg: GrmModelConfig) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(cfg.d_model, cfg.ffn_dim, bias=False)
        self.up_proj = nn.Linear(cfg.d_model, cfg.ffn_dim, bias=False)
        self.down_proj = nn.Linear(cfg.ffn_dim, cfg.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, cfg: GrmModelConfig) -> None:
        super().__init__()
        self.attn_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.attn = Attention(cfg)
        self.mlp_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, mask, past: KV) -> Tuple[torch.Tensor, KV]:
        h, present = self.attn(self.attn_norm(x), cos, sin, mask, past)
        x = x + h
        x = x + self.mlp(self.mlp_norm(x))
        return x, present


class GrmCausalLM(nn.Module):
    def __init__(self, cfg: GrmModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.layers = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layers)])
        self.norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        if cfg.tie_embeddings:
            self.lm_head.weight = self.embed_tokens.weight
        self.rotary = Rotary(cfg.head_dim, cfg.rope_theta)

    def empty_past(self, batch: int) -> List[KV]:
        """Zero-length KV cache (past_seq = 0), as the C# engine feeds on the first step."""
        shape = (batch, self.cfg.n_heads, 0, self.cfg.head_dim)
        return [(torch.zeros(shape), torch.zeros(shape)) for _ in range(self.cfg.n_layers)]

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        position_ids: torch.Tensor,
        past_key_values: Optional[List[KV]] = None,
    ) -> Tuple[torch.Tensor, List[KV]]:
        if past_key_values is None:
            past_key_values = self.empty_past(input_ids.shape[0])
        seq = input_ids.shape[1]
        total = attention_mask.shape[1]
        # causal by index in key space: query i (absolute index past+i) sees keys j <= past+i
        q_idx = torch.arange(seq, device=input_ids.device) + (total - seq)
        k_idx = torch.arange(total, device=input_ids.device)
        causal = k_idx.unsqueeze(0) <= q_idx.unsqueeze(1)  # [S, T]
        keep = attention_mask.to(torch.bool)[:, None, None, :]  # [B, 1, 1, T]
        mask = causal.unsqueeze(0).unsqueeze(0) & keep  # [B, 1, S, T]

        cos, sin = self.rotary(position_ids)
        x = self.embed_tokens(input_ids)
        presents: List[KV] = []
        for layer, past in zip(self.layers, past_key_values):
            x, present = layer(x, cos, sin, mask, past)
            presents.append(present)
        logits = self.lm_head(self.norm(x))
        return logits, presents


def position_ids_from_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """HF convention: count real tokens from 0; pad positions get 1 (any valid value)."""
    pos = attention_mask.long().cumsum(-1) - 1
    return pos.masked_fill(attention_mask == 0, 1)


@torch.no_grad()
def greedy_generate(
    model: GrmCausalLM,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    new_tokens: int,
) -> torch.Tensor:
    """Batched greedy decoding with KV cache; rows may be left-padded. No EOS stop.

    Returns the generated ids [batch, new_tokens].
    """
    position_ids = position_ids_from_mask(attention_mask)
    logits, past = model(input_ids, attention_mask, position_ids, None)
    # position of the last real token per row; rows must be left-padded so that the
    # last column holds each row's last real token.
    next_pos = attention_mask.long().sum(dim=1, keepdim=True) - 1
    out = []
    tok = logits[:, -1, :].argmax(-1, keepdim=True)
    for step in range(new_tokens):
        out.append(tok)
        if step == new_tokens - 1:
            break
        attention_mask = torch.cat((attention_mask, torch.ones_like(tok)), dim=1)
        next_pos = next_pos + 1
        logits, past = model(tok, attention_mask, next_pos, past)
        tok = logits[:, -1, :].argmax(-1, keepdim=True)
    return torch.cat(out, dim=1)


class _OnnxWrapper(nn.Module):
    """Flat signature for torch.onnx.export: (ids, mask, pos, k0, v0, k1, v1, ...)."""

    def __init__(self, model: GrmCausalLM) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, position_ids, *flat_past):
        past = [(flat_past[2 * i], flat_past[2 * i + 1]) for i in range(len(flat_past) // 2)]
        logits, presents = self.model(input_ids, attention_mask, position_ids, past)
        flat = []
        for k, v in presents:
            flat.extend((k, v))
        return (logits, *flat)


def onnx_io_names(n_layers: int) -> Tuple[List[str], List[str]]:
    inputs = ["input_ids", "attention_mask", "position_ids"]
    outputs = ["logits"]
    for i in range(n_layers):
        inputs += [f"past_key_values.{i}.key", f"past_key_values.{i}.value"]
        outputs += [f"present.{i}.key", f"present.{i}.value"]
    return inputs, outputs


def export_onnx(model: GrmCausalLM, path: str, opset: int = 14) -> None:
    """Export the decoder-with-past graph (fp32) with dynamic batch/seq/past_seq axes."""
    cfg = model.cfg
    model = model.eval()
    b, s, p = 2, 3, 4  # past_seq > 0 while tracing so nothing specialises on it
    input_ids = torch.randint(0, cfg.vocab_size, (b, s), dtype=torch.long)
    attention_mask = torch.ones((b, p + s), dtype=torch.long)
    position_ids = torch.arange(p, p + s, dtype=torch.long).unsqueeze(0).expand(b, s).contiguous()
    flat_past = []
    for _ in range(cfg.n_layers):
        flat_past.append(torch.randn(b, cfg.n_heads, p, cfg.head_dim))
        flat_past.append(torch.randn(b, cfg.n_heads, p, cfg.head_dim))
    in_names, out_names = onnx_io_names(cfg.n_layers)
    dyn = {
        "input_ids": {0: "batch", 1: "seq"},
        "attention_mask": {0: "batch", 1: "total_seq"},
        "position_ids": {0: "batch", 1: "seq"},
        "logits": {0: "batch", 1: "seq"},
    }
    for i in range(cfg.n_layers):
        for kind in ("key", "value"):
            dyn[f"past_key_values.{i}.{kind}"] = {0: "batch", 2: "past_seq"}
            dyn[f"present.{i}.{kind}"] = {0: "batch", 2: "total_seq"}
    with torch.no_grad():
        torch.onnx.export(
            _OnnxWrapper(model),
            (input_ids, attention_mask, position_ids, *flat_past),
            path,
            input_names=in_names,
            output_names=out_names,
            dynamic_axes=dyn,
            opset_version=opset,
            do_constant_folding=True,
        )


def save_config(cfg: GrmModelConfig, path: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(cfg.to_dict(), f, indent=2)
        f.write("\n")


def load_config(path: str) -> GrmModelConfig:
    with open(path, encoding="utf-8") as f:
        return GrmModelConfig.from_dict(json.load(f))
