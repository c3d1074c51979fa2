#!/usr/bin/env python3
"""Train the bundled tiny GRM (models/grm-tiny/) on the synthetic judging task (grm_task.py).

Stages, all seeded, CPU only (Debian python3-torch), within a time budget:
  1. items: training items, the held-out file (heldout.jsonl) and the meta-RM's items;
  2. tokenizer: byte-level BPE (grm_tokenizer.py) learnt from the general corpus plus task text;
  3. token ids from the repo's own C# tokenizer (`grm tokenize`), so training sees exactly the
     ids the engine makes;
  4. the decoder (grm_model.py), trained on GRM transcripts: loss on the transcript tokens only;
  5. ONNX export (standard decoder-with-past layout) and grm-config.json;
  6. the meta-RM (meta_rm.py), trained on this GRM's own samples drawn by `grm eval
     --dump-samples` (label: the sample ranked the true best response strictly first).

Training cost is dominated by the prompt, most of which is the same for every job. Each step
runs the shared template prefix once, each job's own part (query, responses, output format)
once, and R transcripts per job on top of that KV cache: the model learns the distribution of
samples for a prompt, which is what k-sample voting draws from. Phase 1 trains on core prompts
(query and responses without the constant instructions), several times cheaper per step; phase 2
on the full prompt the engine builds. Training is data-parallel over --procs one-thread processes
(gradients all-reduced each step), which on two cores runs 2-3.4x the steps of one two-thread process.

    /usr/bin/python3 models/train_grm.py        # ~30 min here; needs python3-torch, python3-onnx,
                                                # libopenblas0-pthread (Debian) and ./grm
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import tempfile
import sys
import time
from typing import List, Sequence, Tuple

import torch
import torch.distributed as dist
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import grm_cli  # noqa: E402
import grm_model as gm  # noqa: E402
import meta_rm  # noqa: E402
import grm_task as task  # noqa: E402
import grm_tokenizer as gt  # noqa: E402

MODEL_ID = "grm-tiny-v2"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ----------------------------------------------------------------------------- data

def make_examples(rng: random.Random, count: int, transcripts: int) -> List[Tuple[str, str, List[str]]]:
    """(prompt, core prompt, [transcript + end-of-turn] * transcripts) for `count` fresh items, each shown in a
    random order. The core prompt is the prompt without its constant instructions (task.render_core_prompt)."""
    out = []
    for _ in range(count):
        item = task.make_item(rng)
        order = list(range(len(item.responses)))
        rng.shuffle(order)
        shown = [item.responses[i].text for i in order]
        targets = [task.sample_judgement(rng, item, order)[0] + task.END_OF_TURN for _ in range(transcripts)]
        out.append((task.render_prompt(item.query, shown), task.render_core_prompt(item.query, shown), targets))
    return out


def common_prefix(seqs: Sequence[Sequence[int]]) -> int:
    n = min(len(s) for s in seqs)
    first = seqs[0]
    for i in range(n):
        if any(s[i] != first[i] for s in seqs):
            return i
    return n


class Batches:
    """Token ids of all examples, split into the shared prefix, each job's own part and its transcripts."""

    def __init__(self, prompts: List[List[int]], targets: List[List[List[int]]], pad: int) -> None:
        self.prefix_len = common_prefix(prompts) - 1  # leave >= 1 own token per job
        self.prefix = prompts[0][: self.prefix_len]
        self.own = [p[self.prefix_len:] for p in prompts]
        self.targets = targets
        self.pad = pad

    def __len__(self) -> int:
        return len(self.own)

    def batch(self, indices: Sequence[int]):
        own = [self.own[i] for i in indices]
        tgts = [t for i in indices for t in self.targets[i]]
        r = len(self.targets[indices[0]])
        s_len = max(len(o) for o in own)
        t_len = max(len(t) for t in tgts)
        own_ids = torch.full((len(own), s_len), self.pad, dtype=torch.long)
        own_mask = torch.zeros((len(own), s_len), dtype=torch.long)
        for j, o in enumerate(own):
            own_ids[j, : len(o)] = torch.tensor(o)
            own_mask[j, : len(o)] = 1
        # Transcript inputs are [last own token, t0, ..., t_{n-2}], labels [t0, ..., t_{n-1}].
        tgt_in = torch.full((len(tgts), t_len), self.pad, dtype=torch.long)
        labels = torch.full((len(tgts), t_len), -100, dtype=torch.long)
        for j, t in enumerate(tgts):
            o = own[j // r]
            seq = [o[-1]] + t[:-1]
            tgt_in[j, : len(seq)] = torch.tensor(seq)
            labels[j, : len(t)] = torch.tensor(t)
        return own_ids, own_mask, tgt_in, labels, r


def _training_attention(self, x, cos, sin, mask, past):
    """grm_model.Attention.forward (concat layout) for training: the same function, cheaper on CPU.
    q is scaled before QK^T and the mask is added as a float bias built once per forward, instead of
    torch.where over [B, H, S, T] in every layer (a third of a step's time in the profile)."""
    b, s, d = x.shape
    h, dh = self.n_heads, self.head_dim
    q = self.q_proj(x).view(b, s, h, dh).transpose(1, 2)
    k = self.k_proj(x).view(b, s, h, dh).transpose(1, 2)
    v = self.v_proj(x).view(b, s, h, dh).transpose(1, 2)
    q = (q * cos + gm.rotate_half(q) * sin) * (1.0 / math.sqrt(dh))
    k = torch.cat((past[0], k * cos + gm.rotate_half(k) * sin), dim=2)
    v = torch.cat((past[1], v), dim=2)
    cached = _MASK_BIAS.get("mask")
    if cached is not mask:
        _MASK_BIAS["mask"] = mask
        _MASK_BIAS["bias"] = torch.zeros(mask.shape).masked_fill_(~mask, gm.MASK_VALUE)
    probs = torch.softmax(torch.matmul(q, k.transpose(2, 3)) + _MASK_BIAS["bias"], dim=-1)
    out = torch.matmul(probs, v).transpose(1, 2).reshape(b, s, d)
    return self.o_proj(out), (k, v)


_MASK_BIAS: dict = {}


def check_training_attention(model: gm.GrmCausalLM, data: Batches) -> None:
    """The training attention gives grm_model's loss (and so trains the function that is exported)."""
    with torch.no_grad():
        ids = torch.tensor([data.prefix[:16]])
        ones, pos = torch.ones_like(ids), torch.arange(16).unsqueeze(0)
        _, full = model(ids, ones, pos)
        if any(not torch.allclose(a, b, atol=1e-6) for kv, kv2 in zip(full, kv_only(model, ids, ones, pos)) for a, b in zip(kv, kv2)):
            raise RuntimeError("kv_only's cache differs from GrmCausalLM.forward's")
        ref, _ = forward_loss(model, data, [0, 1])
        with TrainingAttention():
            fast, _ = forward_loss(model, data, [0, 1])
    if abs(ref.item() - fast.item()) > 1e-4:
        raise RuntimeError(f"training attention loss {fast.item()} != grm_model loss {ref.item()}")


class TrainingAttention:
    """Swaps in _training_attention while training; export and generation use grm_model's own."""

    def __enter__(self):
        self.saved = gm.Attention.forward
        gm.Attention.forward = _training_attention

    def __exit__(self, *exc):
        gm.Attention.forward = self.saved
        _MASK_BIAS.clear()


def kv_only(model: gm.GrmCausalLM, input_ids, attention_mask, position_ids, past=None) -> List[gm.KV]:
    """GrmCausalLM.forward (concat layout) without the final norm and LM head: the prefix and each job's own part
    only feed the cache, so their [B, S, vocab] logits would be computed for nothing."""
    if past is None:
        past = model.empty_past(input_ids.shape[0])
    return model.decode_layers(input_ids, attention_mask, position_ids, past)[1]


def forward_loss(model: gm.GrmCausalLM, data: Batches, indices: Sequence[int]) -> Tuple[torch.Tensor, int]:
    own_ids, own_mask, tgt_in, labels, r = data.batch(indices)
    b = own_ids.shape[0]
    p = data.prefix_len
    prefix = torch.tensor([data.prefix])
    ones = torch.ones((1, p), dtype=torch.long)
    past = kv_only(model, prefix, ones, torch.arange(p).unsqueeze(0))
    past = [(k.expand(b, -1, -1, -1), v.expand(b, -1, -1, -1)) for k, v in past]
    # Each job's own part, right-padded; its last real token starts the transcript, so drop it here.
    lens = own_mask.sum(dim=1)
    own_in = own_ids[:, :-1]
    own_in_mask = own_mask.clone()
    own_in_mask[torch.arange(b), lens - 1] = 0
    own_in_mask = own_in_mask[:, :-1]
    mask = torch.cat((torch.ones((b, p), dtype=torch.long), own_in_mask), dim=1)
    pos = (p + torch.arange(own_in.shape[1])).unsqueeze(0).expand(b, -1)
    past = kv_only(model, own_in, mask, pos, past)
    # R transcripts per job on the job's cache; positions continue from the job's real length.
    past = [(k.repeat_interleave(r, 0), v.repeat_interleave(r, 0)) for k, v in past]
    mask = mask.repeat_interleave(r, 0)
    t_len = tgt_in.shape[1]
    tgt_mask = (labels != -100).long()
    tgt_mask[:, 0] = 1
    full_mask = torch.cat((mask, tgt_mask), dim=1)
    start = (p + lens - 1).repeat_interleave(r, 0).unsqueeze(1)
    pos = start + torch.arange(t_len).unsqueeze(0)
    hidden_logits, _ = model(tgt_in, full_mask, pos, past)
    n = int((labels != -100).sum())
    loss = F.cross_entropy(hidden_logits.reshape(-1, hidden_logits.shape[-1]), labels.reshape(-1), ignore_index=-100)
    return loss, n


def train(model: gm.GrmCausalLM, phases: Sequence[Tuple[Batches, int, int, float]], lr: float, seed: int,
          procs: int = 1) -> None:
    """AdamW with one warm-up + cosine schedule over all phases; each phase is (data, steps, jobs per step,
    time budget in s). procs > 1 trains data-parallel: that many forked processes of one thread each, every one
    on its share of each step's jobs, gradients averaged in one all-reduce per step. On this 2-core machine two
    one-thread processes run a step 2-3.4x faster than one two-thread process (torch's intra-op threading barely
    pays at these matrix sizes)."""
    check_training_attention(model, phases[-1][0])
    if procs <= 1:
        _train_rank(model, phases, lr, seed, 0, 1)
        return
    import torch.multiprocessing as mp
    ctx = mp.get_context("fork")  # the workers share the tokenised data copy-on-write
    result = tempfile.NamedTemporaryFile(suffix=".pt", delete=False).name
    port = _free_port()
    workers = [ctx.Process(target=_rank_main, args=(model, phases, lr, seed, rank, procs, port, result))
               for rank in range(procs)]
    try:
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        if any(w.exitcode != 0 for w in workers):
            raise RuntimeError(f"a training process failed: exit codes {[w.exitcode for w in workers]}")
        model.load_state_dict(torch.load(result))
    finally:
        os.unlink(result)
    model.eval()


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_main(model, phases, lr, seed, rank, procs, port, result) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=procs)
    try:
        _train_rank(model, phases, lr, seed, rank, procs)
        if rank == 0:
            torch.save(model.state_dict(), result)
    finally:
        dist.destroy_process_group()


def _train_rank(model, phases, lr, seed, rank, procs) -> None:
    steps = sum(n for _, n, _, _ in phases)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.98), weight_decay=0.01)
    warmup = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps))))
    rng = random.Random(seed)  # the same on every rank: all ranks agree on each step's jobs
    model.train()
    with TrainingAttention():
        for number, (data, n, jobs_per_step, budget_s) in enumerate(phases, 1):
            if rank == 0:
                log(f"phase {number}: {n} steps, prompts of median {sorted(len(o) for o in data.own)[len(data) // 2]} "
                    f"own tokens after a shared prefix of {data.prefix_len}, {procs} process(es)")
            order = list(range(len(data)))
            rng.shuffle(order)
            _train_loop(model, data, n, jobs_per_step, opt, sched, rng, order, time.time(), budget_s, rank, procs)
    model.eval()


def _train_loop(model, data, steps, jobs_per_step, opt, sched, rng, order, started, budget_s, rank, procs) -> None:
    params = [p for p in model.parameters() if p.requires_grad]
    cursor = 0
    for step in range(steps):
        if cursor + jobs_per_step > len(order):
            rng.shuffle(order)
            cursor = 0
        idx = order[cursor: cursor + jobs_per_step]
        cursor += jobs_per_step
        loss, _ = forward_loss(model, data, idx[rank::procs])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        elapsed = time.time() - started
        stop = elapsed > budget_s
        if procs > 1:
            stop = _all_reduce_grads(params, loss, stop, procs)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if rank == 0 and (step % 25 == 0 or step == steps - 1):
            log(f"step {step}/{steps} loss {loss.item():.4f} lr {sched.get_last_lr()[0]:.2e} {elapsed:.0f}s")
        if stop:
            if rank == 0:
                log(f"time budget reached at step {step}")
            break


def _all_reduce_grads(params, loss, stop: bool, procs: int) -> bool:
    """Averages the gradients (and the loss, for the log) over the ranks in one all-reduce; the last slot carries
    the stop flag, so every rank ends a phase at the same step and the replicas stay identical."""
    flat = torch.cat([p.grad.reshape(-1) for p in params] + [loss.detach().reshape(1), torch.tensor([float(stop)])])
    dist.all_reduce(flat)
    flat[:-1] /= procs
    offset = 0
    for p in params:
        n = p.numel()
        p.grad.copy_(flat[offset: offset + n].view_as(p.grad))
        offset += n
    loss.data.fill_(float(flat[-2]))
    return bool(flat[-1] > 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "grm-tiny"))
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--train-jobs", type=int, default=24000)
    ap.add_argument("--transcripts", type=int, default=1, help="transcripts per training job")
    ap.add_argument("--jobs-per-step", type=int, default=20)
    ap.add_argument("--core-steps", type=int, default=2500, help="phase 1: steps on the core prompts")
    ap.add_argument("--core-jobs-per-step", type=int, default=12)
    ap.add_argument("--core-minutes", type=float, default=14.0, help="time budget of phase 1")
    ap.add_argument("--steps", type=int, default=550, help="phase 2: steps on the full prompts")
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--minutes", type=float, default=9.0, help="time budget of phase 2")
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=384)
    ap.add_argument("--heldout", type=int, default=400, help="held-out items written to OUT/heldout.jsonl")
    ap.add_argument("--meta-items", type=int, default=150, help="fresh items whose GRM samples train the meta-RM")
    ap.add_argument("--meta-k", type=int, default=8, help="GRM samples per meta-RM item")
    ap.add_argument("--meta-epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--procs", type=int, default=os.cpu_count() or 2,
                    help="data-parallel training processes of one thread each (1: one process of --threads threads)")
    ap.add_argument("--stage", choices=["all", "grm", "meta"], default="all")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()

    if args.stage in ("all", "grm"):
        write_items(args)
        train_grm(args)
    if args.stage in ("all", "meta"):
        train_meta(args)
    log(f"done in {time.time() - t0:.0f}s")


def train_grm(args) -> None:
    rng = random.Random(args.seed)
    tok_path = os.path.join(args.out, "tokenizer.json")
    log("tokenizer")
    sample = make_examples(random.Random(args.seed + 1), 400, 1)
    extra = "".join(p + t + "\n" for p, _, ts in sample for t in ts)
    tok = gt.train_tokenizer(3072, seed=1234, extra_corpus=extra)
    gt.write_tokenizer(tok, tok_path)
    specials = gt.special_ids(tok)
    pad = specials["<|endoftext|>"]

    log(f"{args.train_jobs} training jobs x {args.transcripts} transcripts")
    examples = make_examples(rng, args.train_jobs, args.transcripts)
    n = len(examples)
    flat = [p for p, _, _ in examples] + [c for _, c, _ in examples] + [t for _, _, ts in examples for t in ts]
    ids = grm_cli.tokenize(flat, tok_path)
    targets = [ids[2 * n + i * args.transcripts: 2 * n + (i + 1) * args.transcripts] for i in range(n)]
    full = Batches(ids[:n], targets, pad)
    core = Batches(ids[n:2 * n], targets, pad)
    own = sorted(len(o) for o in full.own)
    tl = sorted(len(t) for ts in targets for t in ts)
    log(f"prefix {full.prefix_len} tokens; own part median {own[len(own) // 2]} max {own[-1]}; "
        f"transcript median {tl[len(tl) // 2]} max {tl[-1]}")

    cfg = gm.GrmModelConfig(vocab_size=3072, d_model=args.d_model, n_layers=args.layers, n_heads=args.heads,
                            ffn_dim=args.ffn, max_context=2048)
    model = gm.GrmCausalLM(cfg)
    log(f"model {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters")
    # Curriculum: the content circuits (find response p, read its answer, compare) are learnt on the short core
    # prompts first, several times cheaper per step; then the model learns the full prompt it will see.
    train(model, [(core, args.core_steps, args.core_jobs_per_step, args.core_minutes * 60),
                  (full, args.steps, args.jobs_per_step, args.minutes * 60)], args.lr, args.seed, args.procs)
    torch.save(model.state_dict(), os.path.join(args.out, "weights.pt"))
    gm.save_config(cfg, os.path.join(args.out, "model-config.json"))
    gm.export_onnx(model, os.path.join(args.out, "model.onnx"))
    write_grm_config(args.out, specials)
    log("exported")


def write_items(args) -> None:
    """OUT/heldout.jsonl: held-out items from their own seed (never seen in training)."""
    rng = random.Random(args.seed + 2)
    path = os.path.join(args.out, "heldout.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for i in range(args.heldout):
            f.write(json.dumps(task.make_item(rng).to_json(f"heldout-{i:04d}"), ensure_ascii=False) + "\n")
    log(f"wrote {args.heldout} held-out items to {path}")


def train_meta(args) -> None:
    """The meta-RM on this GRM's own samples: `grm eval --dump-samples` on fresh items (their own seed),
    label 1 when a valid sample put the true best response strictly first."""
    rng = random.Random(args.seed + 3)
    work = tempfile.mkdtemp(prefix="grm-meta-")
    items_path = os.path.join(work, "meta-items.jsonl")
    dump_path = os.path.join(work, "samples.jsonl")
    items = {}
    with open(items_path, "w", encoding="utf-8") as f:
        for i in range(args.meta_items):
            row = task.make_item(rng).to_json(f"meta-{i:04d}")
            items[row["id"]] = row
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    log(f"drawing {args.meta_k} GRM samples for each of {args.meta_items} meta-RM items")
    grm_cli.run_grm(["eval", items_path, "--model", args.out, "--no-meta-rm", "--k", str(args.meta_k),
                     "--dump-samples", dump_path, "--json", "--threads", str(args.threads)])
    texts, labels, groups = [], [], []
    with open(dump_path, encoding="utf-8") as f:
        for line in f:
            s = json.loads(line)
            if s["scores"] is None:
                continue  # an unparsed sample never votes, so the meta-RM never ranks it
            item = items[s["id"]]
            shown = [item["responses"][i] for i in s["permutation"]]
            texts.append(meta_rm.build_input(item["query"], shown, s["text"]))
            labels.append(1 if s["ranksBestFirst"] else 0)
            groups.append(s["id"])
    shutil.rmtree(work, ignore_errors=True)
    tok_path = os.path.join(args.out, "tokenizer.json")
    ids = grm_cli.tokenize(texts, tok_path)
    # The last tenth of the items (whole items) is a validation set: accuracy on unseen jobs.
    names = sorted(set(groups))
    held = set(names[-max(1, len(names) // 10):])
    tr = [i for i, g in enumerate(groups) if g not in held]
    va = [i for i, g in enumerate(groups) if g in held]
    log(f"meta-RM rows: {len(tr)} train, {len(va)} validation, {sum(labels) / max(1, len(labels)):.3f} positive")
    with open(tok_path, encoding="utf-8") as f:
        specials = gt.special_ids(json.load(f))
    cfg = meta_rm.MetaRmConfig(vocab_size=3072, pad_token_id=specials["<|endoftext|>"])
    model = meta_rm.train_meta_rm([ids[i] for i in tr], [labels[i] for i in tr], cfg, epochs=args.meta_epochs,
                                  seed=args.seed, log=log, val=([ids[i] for i in va], [labels[i] for i in va]))
    meta_rm.write_meta_rm_dir(model, cfg, os.path.join(args.out, "meta-rm"), "../tokenizer.json", MODEL_ID + "-meta-rm")
    write_grm_config(args.out, specials)
    log("meta-RM exported")


def write_grm_config(out: str, specials: dict) -> None:
    config = {
        "modelId": MODEL_ID,
        "modelFile": "model.onnx",
        "tokenizerFile": "tokenizer.json",
        "contextLength": 2048,
        "eosTokenIds": [specials["<|endoftext|>"], specials["<|end|>"]],
        "padTokenId": specials["<|endoftext|>"],
        "bosTokenId": None,
        "chat": task.CHAT,
        "stopStrings": [],
    }
    if os.path.isdir(os.path.join(out, "meta-rm")):
        config["metaRm"] = "meta-rm"
    with open(os.path.join(out, "grm-config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
