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
        if isinstance(mask, tuple):  # shared-buffer layout: (seqlens_k, total_length)
            return self._forward_gqa(x, cos, sin, mask, past)
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

    def _forward_gqa(self, x, cos, sin, lengths, past: KV) -> Tuple[torch.Tensor, KV]:
        b, s, d = x.shape
        # rotary as in the concat path, in [B, S, H, Dh] (cos/sin [B, 1, S, Dh] -> [B, S, 1, Dh])
        c, sn = cos.transpose(1, 2), sin.transpose(1, 2)
        q = self.q_proj(x).view(b, s, self.n_heads, self.head_dim)
        k = self.k_proj(x).view(b, s, self.n_heads, self.head_dim)
        q = (q * c + rotate_half(q) * sn).reshape(b, s, d)
        k = (k * c + rotate_half(k) * sn).reshape(b, s, d)
        v = self.v_proj(x)
        seqlens_k, total = lengths
        out, pk, pv = _GroupQueryAttention.apply(
            q, k, v, past[0], past[1], seqlens_k, total, self.n_heads, self.n_heads, 1.0 / math.sqrt(self.head_dim))
        return self.o_proj(out), (pk, pv)


class _GroupQueryAttention(torch.autograd.Function):
    """ONNX Runtime's ``com.microsoft::GroupQueryAttention`` (contrib op, CPU and CUDA) for the
    shared-buffer KV layout. ``symbolic`` emits the node; ``forward`` is an eager emulation
    of the op's contract (used while tracing, and usable as a torch reference):

    query [B, S, H*D] (already rotated), key/value [B, S, Hkv*D] (key rotated),
    past_key/past_value [B, Hkv, M, D] (M = buffer length, >= every row's total length),
    seqlens_k int32 [B] = row's valid total length - 1, total_sequence_length int32 scalar.
    Each row's valid KV is left-aligned: positions 0..seqlens_k. First prompt (S == total):
    new keys go to 0..S-1; otherwise (decode, S == 1) to seqlens_k - S + 1 ... seqlens_k.
    Returns output [B, S, H*D], present_key/value [B, Hkv, max(M, total), D].
    """

    @staticmethod
    def forward(ctx, query, key, value, past_key, past_value, seqlens_k, total_length,
                num_heads: int, kv_heads: int, scale: float):
        b, s, _ = query.shape
        d = past_key.shape[3]
        total = int(total_length)
        m = max(past_key.shape[2], total)
        present_k = torch.zeros(b, kv_heads, m, d, dtype=past_key.dtype)
        present_v = torch.zeros_like(present_k)
        present_k[:, :, : past_key.shape[2]] = past_key
        present_v[:, :, : past_value.shape[2]] = past_value
        q = query.view(b, s, num_heads, d).transpose(1, 2)
        k = key.view(b, s, kv_heads, d).transpose(1, 2)
        v = value.view(b, s, kv_heads, d).transpose(1, 2)
        first = s == total
        out = torch.zeros(b, num_heads, s, d, dtype=query.dtype)
        group = num_heads // kv_heads
        for r in range(b):
            t = int(seqlens_k[r]) + 1
            past = 0 if first else t - s
            present_k[r, :, past: past + s] = k[r]
            present_v[r, :, past: past + s] = v[r]
            kk = present_k[r, :, :t].repeat_interleave(group, dim=0)
            vv = present_v[r, :, :t].repeat_interleave(group, dim=0)
            scores = torch.matmul(q[r], kk.transpose(1, 2)) * scale  # [H, S, t]
            causal = torch.arange(t)[None, :] <= (torch.arange(s)[:, None] + past)
            scores = scores.masked_fill(~causal, float("-inf"))
            out[r] = torch.matmul(torch.softmax(scores, dim=-1).nan_to_num(0.0), vv)
        return out.transpose(1, 2).reshape(b, s, num_heads * d), present_k, present_v

    @staticmethod
    def symbolic(g, query, key, value, past_key, past_value, seqlens_k, total_length,
                 num_heads, kv_heads, scale):
        out, present_k, present_v = g.op(
            "com.microsoft::GroupQueryAttention",
            query, key, value, past_key, past_value, seqlens_k, total_length,
            num_heads_i=num_heads, kv_num_heads_i=kv_heads, scale_f=scale, do_rotary_i=0,
            outputs=3,
        )
        # shapes for ONNX shape inference: output like query, presents like the past buffers
        out.setType(query.type())
        present_k.setType(past_key.type())
        present_v.setType(past_value.type())
        return out, present_k, present_v


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
        kv_layout: str = "concat",
        last_logits_only: bool = False,
    ) -> Tuple[torch.Tensor, List[KV]]:
        """``kv_layout="concat"``: present = past ++ new (any padding, causal by index).
        ``"shared-buffer"``: past/present are [B, H, M, Dh] buffers with each row's valid KV
        left-aligned (rows right-padded); attention is ONNX Runtime's GroupQueryAttention with
        seqlens_k = sum(attention_mask) - 1 and total_sequence_length = attention_mask width.
        ``last_logits_only`` (shared-buffer only): logits [B, 1, V] for each row's last real
        query position, max(seqlens_k - (total - S), 0) (prefill: len - 1; decode: 0), so the
        LM head runs once per row instead of once per prompt token."""
        if past_key_values is None:
            past_key_values = self.empty_past(input_ids.shape[0])
        if kv_layout == "shared-buffer":
            seqlens_k = (attention_mask.sum(dim=1) - 1).to(torch.int32)
            total = torch._shape_as_tensor(attention_mask)[1].to(torch.int32)
            cos, sin = self.rotary(position_ids)
            x = self.embed_tokens(input_ids)
            presents: List[KV] = []
            for layer, past in zip(self.layers, past_key_values):
                x, present = layer(x, cos, sin, (seqlens_k, total), past)
                presents.append(present)
            if last_logits_only:
                s = torch._shape_as_tensor(input_ids)[1]
                last = torch.clamp(seqlens_k.long() - (total.long() - s), min=0)  # [B]
                x = torch.gather(x, 1, last.view(-1, 1, 1).expand(-1, 1, x.shape[2]))
            return self.lm_head(self.norm(x)), presents
        if kv_layout != "concat":
            raise ValueError(f"kv_layout must be 'concat' or 'shared-buffer', not {kv_layout!r}")
        x, presents = self.decode_layers(input_ids, attention_mask, position_ids, past_key_values)
        logits = self.lm_head(self.norm(x))
        return logits, presents

    def decode_layers(self, input_ids, attention_mask, position_ids, past_key_values):
        """The concat layout's decoder stack without the final norm and LM head: (hidden states, presents).
        Training runs it alone for prompt parts that only feed the KV cache."""
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
        presents = []
        for layer, past in zip(self.layers, past_key_values):
            x, present = layer(x, cos, sin, mask, past)
            presents.append(present)
        return x, presents


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

    def __init__(self, model: GrmCausalLM, kv_layout: str = "concat", last_logits_only: bool = False) -> None:
        super().__init__()
        self.model = model
        self.kv_layout = kv_layout
        self.last_logits_only = last_logits_only

    def forward(self, input_ids, attention_mask, position_ids, *flat_past):
        past = [(flat_past[2 * i], flat_past[2 * i + 1]) for i in range(len(flat_past) // 2)]
        logits, presents = self.model(input_ids, attention_mask, position_ids, past, self.kv_layout, self.last_logits_only)
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


def export_onnx(model: GrmCausalLM, path: str, opset: int = 14, kv_layout: str = "concat",
                last_logits_only: bool = False) -> None:
    """Export the decoder-with-past graph (fp32) with dynamic batch/seq/past_seq axes.

    ``kv_layout="concat"`` (default): the optimum layout, present = Concat(past, new).
    ``kv_layout="shared-buffer"``: the onnxruntime-genai layout: attention is
    ``com.microsoft::GroupQueryAttention``; past_key_values.N.* are [B, H, max_seq, Dh]
    buffers that the engine binds to present.N.* too (updated in place, nothing copied per
    step); each row's valid KV is left-aligned (batched prompts right-padded), seqlens_k and
    total_sequence_length come from attention_mask inside the graph. Needs ONNX Runtime.
    ``last_logits_only`` (shared-buffer only): logits [B, 1, V] at each row's last real
    position (prefill computes the LM head once per row, not once per prompt token).
    """
    cfg = model.cfg
    model = model.eval()
    shared = kv_layout == "shared-buffer"
    if not shared and kv_layout != "concat":
        raise ValueError(f"kv_layout must be 'concat' or 'shared-buffer', not {kv_layout!r}")
    if last_logits_only and not shared:
        raise ValueError("last_logits_only needs kv_layout='shared-buffer'")
    b, s, p = 2, 3, 4  # past_seq > 0 while tracing so nothing specialises on it
    input_ids = torch.randint(0, cfg.vocab_size, (b, s), dtype=torch.long)
    position_ids = torch.arange(p, p + s, dtype=torch.long).unsqueeze(0).expand(b, s).contiguous()
    attention_mask = torch.ones((b, p + s), dtype=torch.long)
    if shared:  # a decode-like trace: S = 1, past buffer longer than the total
        s = 1
        input_ids = input_ids[:, :1].contiguous()
        position_ids = position_ids[:, :1].contiguous()
        attention_mask = torch.ones((b, p + 1), dtype=torch.long)
        p = 8
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
            dyn[f"past_key_values.{i}.{kind}"] = {0: "batch", 2: "max_seq" if shared else "past_seq"}
            dyn[f"present.{i}.{kind}"] = {0: "batch", 2: "max_seq" if shared else "total_seq"}
    extra = {"custom_opsets": {"com.microsoft": 1}} if shared else {}
    with torch.no_grad():
        torch.onnx.export(
            _OnnxWrapper(model, kv_layout, last_logits_only),
            (input_ids, attention_mask, position_ids, *flat_past),
            path,
            input_names=in_names,
            output_names=out_names,
            dynamic_axes=dyn,
            opset_version=opset,
            do_constant_folding=True,
            **extra,
        )
    if shared:
        _fix_output_shapes(path, cfg, last_logits_only)


def _fix_output_shapes(path: str, cfg: GrmModelConfig, last_logits_only: bool) -> None:
    """torch 1.13 has no shape inference for the contrib op, so it leaves the present (and
    hence logits) dims symbolic; write the real ones (the engine reads heads/head size/vocab
    from the model's metadata)."""
    import onnx

    m = onnx.load(path)
    fixed = {"logits": ["batch", 1 if last_logits_only else "seq", cfg.vocab_size]}
    for i in range(cfg.n_layers):
        for kind in ("key", "value"):
            fixed[f"present.{i}.{kind}"] = ["batch", cfg.n_heads, "max_seq", cfg.head_dim]
    for out in m.graph.output:
        for dim, want in zip(out.type.tensor_type.shape.dim, fixed.get(out.name, [])):
            if isinstance(want, int):
                dim.ClearField("dim_param")
                dim.dim_value = want
            else:
                dim.dim_param = want
    onnx.save(m, path)


def save_config(cfg: GrmModelConfig, path: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(cfg.to_dict(), f, indent=2)
        f.write("\n")


def load_config(path: str) -> GrmModelConfig:
    with open(path, encoding="utf-8") as f:
        return GrmModelConfig.from_dict(json.load(f))
