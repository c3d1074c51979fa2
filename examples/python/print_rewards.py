#!/usr/bin/env python3
"""Print GrmWorker results (one JSON result per line, as grm_publish.py writes them) as a table."""
import json
import sys


def cell(value, width):
    text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def main():
    rows = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
    header = f"{'requestId':<22} {'status':<9} {'best':>4} {'samples':>9} {'early':>5}  rewards / error"
    print(header)
    print("-" * len(header))
    for r in rows:
        if r.get("status") == "scored":
            detail = ", ".join(f"{v:.2f}" for v in r.get("rewards", []))
        else:
            error = r.get("error") or {}
            detail = f"{error.get('code', '?')}: {error.get('message', '')}"
        samples = f"{r.get('samplesValid', 0)}/{r.get('samplesUsed', 0)}"
        best = r.get("best")
        print(f"{cell(r.get('requestId'), 22):<22} {r.get('status', '?'):<9} {'-' if best is None else best:>4} "
              f"{samples:>9} {str(r.get('stoppedEarly', False)).lower():>5}  {cell(detail, 70)}")
    print(f"{len(rows)} results; samples = valid/used")


if __name__ == "__main__":
    main()
