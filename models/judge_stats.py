#!/usr/bin/python3
"""How the careful judge's steps go wrong, read from a GRM's own samples (models/README, "Tried").

    /usr/bin/python3 models/judge_stats.py DATA.jsonl SAMPLES.jsonl [--teacher-forced MODEL_DIR]

DATA.jsonl is a `grm eval` file of this task (grm_task.py: query, responses, best, kind) and SAMPLES.jsonl
what `grm eval DATA.jsonl --dump-samples SAMPLES.jsonl` wrote. For every critique of a careful sample
("Response p: It gives X and ...; check 9/9 = 1/2 x; correct.", the check only in models trained since
session 8) it counts:

  * quote exact:       X is the value response p gives;
  * stated answer:     the target in the criteria ("the result must be T") is the true answer;
  * check follows:     the check is the one grm_task writes for X against T (copied pairs, right marks);
  * verdict reads check: "correct" exactly when the sample's own check has no `x`;
  * verdict follows:   "correct" exactly when X = T, i.e. the verdict follows from what the sample wrote;
  * verdict true:      "correct" exactly when response p is right.

A critique without a check (older models) counts as failing both check steps.

Each step is a rate over critiques, overall and per task kind. --teacher-forced MODEL_DIR also feeds fresh
careful transcripts (grm_task.py, seeded) to the torch GRM in MODEL_DIR and reports how often its
' correct' / ' wrong' logit picks the transcript's verdict, and its ' =' / ' x' logit the check's marks:
whether the comparison was learnt at all, apart from any error in the model's own quotes. The transcripts are
grm_task.py's as it stands, so MODEL_DIR must be a model trained on that format (the committed grm-tiny is).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import sys
from typing import Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import grm_task as task  # noqa: E402

_TARGET = re.compile(r"must (?:be|read) (.*?) \(70%\)")
_CRITIQUE = re.compile(r"Response (\d+): It gives (.*?) and (?:" + "|".join(map(re.escape, task.CAREFUL_HOW.values())) + r"); (?:check ([^;]*); )?(correct|wrong)\.")
_VALUE = [re.compile(p) for p in (r"Maybe (.*)\? I am not sure\.$", r".*so the answer is (.*)\.$", r".*, so \d+ \w+ is (.*)\.$",
                                  r"From smallest to largest: (.*)\.$", r"Reading from the end: (.*)\.$")]
_FACTORS = {unit: factor for unit, _, factor in task.UNITS}
_MARK = re.compile(r"/\S+ ([=x])")  # the mark after each "a/b" pair of a check


def true_answer(query: str) -> str:
    """The answer of one of grm_task's questions, worked out from its text."""
    for pattern, solve in (
        (r"What is (\d+) \+ (\d+)\?", lambda m: str(int(m[1]) + int(m[2]))),
        (r"What is (\d+) - (\d+)\?", lambda m: str(int(m[1]) - int(m[2]))),
        (r"What is (\d+) times (\d+)\?", lambda m: str(int(m[1]) * int(m[2]))),
        (r"Convert (\d+) (\w+) to (\w+)\.", lambda m: f"{int(m[1]) * _FACTORS[m[2]]} {m[3]}"),
        (r"Sort in ascending order: (.*)\.", lambda m: ", ".join(str(v) for v in sorted(int(x) for x in m[1].split(", ")))),
        (r"Reverse the letters: (.*)\.", lambda m: "-".join(reversed(m[1].split("-")))),
    ):
        m = re.fullmatch(pattern, query)
        if m:
            return solve(m)
    raise ValueError(f"not a grm_task question: {query!r}")


def response_value(text: str) -> str:
    """The answer a grm_task response gives (the whole text for a bare answer)."""
    for pattern in _VALUE:
        m = pattern.match(text)
        if m:
            return m[1]
    return text


def critique_counts(items: Dict[str, dict], samples_path: str) -> Dict[str, collections.Counter]:
    counts: Dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    with open(samples_path, encoding="utf-8") as f:
        for line in f:
            s = json.loads(line)
            item = items[s["id"]]
            target = _TARGET.search(s["text"])
            for kind in ("all", item["kind"]):
                counts[kind]["samples"] += 1
                counts[kind]["careful"] += target is not None
            if target is None:
                continue
            answer = true_answer(item["query"])
            shown = [response_value(item["responses"][i]) for i in s["permutation"]]
            for p, quote, check, verdict in _CRITIQUE.findall(s["text"]):
                p = int(p) - 1
                if p >= len(shown):
                    continue
                says_correct = verdict == "correct"
                steps = collections.Counter({
                    "critiques": 1,
                    "quote exact": quote == shown[p],
                    "stated answer": target[1] == answer,
                    "check follows": check == task.check_pairs(quote, target[1]),
                    "verdict reads check": bool(check) and says_correct == ("x" not in _MARK.findall(check)),
                    "verdict follows": says_correct == (quote == target[1]),
                    "verdict true": says_correct == (shown[p] == answer),
                })
                for kind in ("all", item["kind"]):
                    counts[kind].update(steps)
    return counts


def teacher_forced(model_dir: str, jobs: int, seed: int) -> Tuple[Dict[str, Tuple[int, int]], float, Tuple[int, int]]:
    """(per kind: verdicts, right), the mean probability given to the right verdict, and (marks, right) over the
    checks' ' =' / ' x' marks (only marks that are their own token two after a '/' token are counted)."""
    import torch
    import grm_cli
    import grm_model as gm

    cfg = gm.load_config(os.path.join(model_dir, "model-config.json"))
    model = gm.GrmCausalLM(cfg)
    model.load_state_dict(torch.load(os.path.join(model_dir, "weights.pt")))
    model.eval()
    tok = os.path.join(model_dir, "tokenizer.json")
    rng = random.Random(seed)
    rows: List[Tuple[str, str, str]] = []
    while len(rows) < jobs:
        item = task.make_item(rng)
        order = list(range(len(item.responses)))
        rng.shuffle(order)
        text, _, careful = task.sample_judgement(rng, item, order)
        if careful:
            rows.append((item.kind, task.render_prompt(item.query, [item.responses[i].text for i in order]), text))
    ids = grm_cli.tokenize([p for _, p, _ in rows] + [t for _, _, t in rows], tok)
    verdicts = grm_cli.tokenize([" correct", " wrong"], tok)
    if any(len(v) != 1 for v in verdicts):
        raise SystemExit(f"{tok}: ' correct' / ' wrong' are not single tokens ({verdicts}); --teacher-forced reads one logit each")
    correct, wrong = (v[0] for v in verdicts)
    marks = grm_cli.tokenize([" =", " x", "/"], tok)
    same, differ, slash = (m[0] if len(m) == 1 else -1 for m in marks)
    marks_seen = [0, 0]
    per_kind: Dict[str, List[int]] = collections.defaultdict(lambda: [0, 0])
    prob = 0.0
    with torch.no_grad():
        for (kind, _, _), prompt, transcript in zip(rows, ids[:len(rows)], ids[len(rows):]):
            x = torch.tensor([prompt + transcript])
            logits, _ = model(x, torch.ones_like(x), torch.arange(x.shape[1]).unsqueeze(0))
            for j, token in enumerate(transcript):
                row = logits[0, len(prompt) + j - 1]
                if token in (same, differ) and j >= 2 and transcript[j - 2] == slash:
                    marks_seen[0] += 1
                    marks_seen[1] += bool((row[same] > row[differ]) == (token == same))
                if token not in (correct, wrong):
                    continue
                p_correct = float(torch.sigmoid(row[correct] - row[wrong]))
                p_right = p_correct if token == correct else 1 - p_correct
                per_kind[kind][0] += 1
                per_kind[kind][1] += p_right > 0.5
                prob += p_right
    total = sum(n for n, _ in per_kind.values())
    return {k: (n, r) for k, (n, r) in per_kind.items()}, prob / max(1, total), (marks_seen[0], marks_seen[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data")
    ap.add_argument("samples")
    ap.add_argument("--teacher-forced", metavar="MODEL_DIR")
    ap.add_argument("--jobs", type=int, default=300, help="careful transcripts for --teacher-forced")
    ap.add_argument("--seed", type=int, default=777)
    args = ap.parse_args()
    with open(args.data, encoding="utf-8") as f:
        items = {row["id"]: row for row in map(json.loads, f)}
    counts = critique_counts(items, args.samples)
    steps = ["quote exact", "stated answer", "check follows", "verdict reads check", "verdict follows", "verdict true"]
    print(f"{'kind':9s} {'samples':>8s} {'careful':>8s} {'critiques':>10s} " + " ".join(f"{s:>19s}" for s in steps))
    for kind in ["all"] + sorted(k for k in counts if k != "all"):
        c = counts[kind]
        n = max(1, c["critiques"])
        print(f"{kind:9s} {c['samples']:8d} {c['careful'] / max(1, c['samples']):8.1%} {c['critiques']:10d} "
              + " ".join(f"{c[s] / n:19.1%}" for s in steps))
    if args.teacher_forced:
        per_kind, prob, (marks, marks_right) = teacher_forced(args.teacher_forced, args.jobs, args.seed)
        n = sum(v for v, _ in per_kind.values())
        right = sum(r for _, r in per_kind.values())
        print(f"teacher-forced verdicts ({args.teacher_forced}): {right / n:.1%} of {n} right, mean p(right) {prob:.3f}; "
              + ", ".join(f"{k} {r / v:.0%}" for k, (v, r) in sorted(per_kind.items())))
        if marks:
            print(f"teacher-forced check marks: {marks_right / marks:.1%} of {marks} right")


if __name__ == "__main__":
    main()
