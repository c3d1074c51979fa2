#!/usr/bin/env python3
"""Draws fresh evaluation items of the bundled GRM's task (grm_task.py) with a seed of your choice, for `grm eval`.

    /usr/bin/python3 models/draw_items.py --seed 612062026 --items 400 --id-prefix fresh61206- > fresh.jsonl

Use a seed nothing was trained or tuned on (train_grm.py's seeds, and heldout.jsonl's, are taken): the README's
"Bundled GRM" figures come from the command above, drawn 2026-12-06 for that report only. Item ids seed each
item's samples in `grm eval`, so the same ids give the same samples.
"""
import argparse, json, os, random, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grm_task as task  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--seed", type=int, required=True)
ap.add_argument("--items", type=int, default=400)
ap.add_argument("--id-prefix", default=None, help="item ids are this plus a 4-digit index (default: fresh<seed>-)")
args = ap.parse_args()
rng = random.Random(args.seed)
for i in range(args.items):
    prefix = args.id_prefix if args.id_prefix is not None else f"fresh{args.seed}-"
    print(json.dumps(task.make_item(rng).to_json(f"{prefix}{i:04d}"), ensure_ascii=False))
