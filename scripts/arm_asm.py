#!/usr/bin/env python3
"""Finds the hot loop of a generated AArch64 kernel (.s) and describes it.

The hot loop is the innermost loop (a backward branch to a label of the same function, with no
other loop inside) with the most vector FMAs. Used by the NEON assembly test (ctest) and by
scripts/arm-mca, which feeds the loop to llvm-mca.

  arm_asm.py check FILE.s [--min-fmla N]   exit 1 unless the hot loop uses fmla on vN.4s
  arm_asm.py loop FILE.s                    print the hot loop's instructions (llvm-mca input)
  arm_asm.py stats FILE.s                   print the hot loop's counts as key=value
"""
import argparse
import re
import sys

LABEL = re.compile(r"^([.$\w]+):")
BRANCH = re.compile(r"^\s*(b(?:\.\w+)?|cbn?z|tbn?z)\s+(?:[^,]+,\s*)*([.$\w]+)\s*$")
VECTOR_FMLA = re.compile(r"^\s*fmla\s+v\d+\.4s\s*,\s*v\d+\.4s\s*,\s*v\d+\.(?:4s|s\[\d\])")


def instructions(lines):
    """(index, text) of instruction lines: no labels, directives or comments."""
    out = []
    for i, line in enumerate(lines):
        text = line.split("//")[0].strip()
        if not text or text.endswith(":") or text.startswith("."):
            continue
        out.append((i, text))
    return out


def loops(lines):
    """[(start, end)] line ranges of loops: from a label to a later backward branch to it."""
    labels = {}
    found = []
    for i, line in enumerate(lines):
        m = LABEL.match(line)
        if m:
            labels[m.group(1)] = i
            continue
        if re.match(r"^\s*\.cfi_endproc|^\s*\.size", line):
            labels = {}  # a new function: its labels only
            continue
        m = BRANCH.match(line.split("//")[0])
        if m and m.group(2) in labels:
            found.append((labels[m.group(2)], i))
    return found


def describe(lines, start, end):
    body = [t for i, t in instructions(lines) if start <= i <= end]
    fmla = sum(1 for t in body if VECTOR_FMLA.match(t))
    loads = 0
    stores = 0
    for t in body:
        op = t.split()[0]
        q = 2 if op in ("ldp", "stp") else 1
        if op.startswith("ld") and re.search(r"\bq\d+|\bv\d+\.", t):
            loads += q
        if op.startswith("st") and re.search(r"\bq\d+|\bv\d+\.", t):
            stores += q
    return {"instructions": len(body), "fmla_4s": fmla, "vector_loads": loads,
            "vector_stores": stores, "body": body}


def hot_loop(path):
    with open(path) as f:
        lines = f.read().splitlines()
    all_loops = loops(lines)
    innermost = [(s, e) for s, e in all_loops
                 if not any((s2, e2) != (s, e) and s <= s2 and e2 <= e for s2, e2 in all_loops)]
    best = None
    for s, e in innermost:
        d = describe(lines, s, e)
        key = (d["fmla_4s"], -d["instructions"])
        if best is None or key > best[0]:
            best = (key, d)
    return best[1] if best else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["check", "loop", "stats"])
    ap.add_argument("file")
    ap.add_argument("--min-fmla", type=int, default=8)
    a = ap.parse_args()
    d = hot_loop(a.file)
    if d is None:
        print(f"{a.file}: no loop found", file=sys.stderr)
        return 1
    if a.command == "loop":
        print("\n".join(d["body"]))
        return 0
    stats = {k: v for k, v in d.items() if k != "body"}
    print(" ".join(f"{k}={v}" for k, v in stats.items()))
    if a.command == "check":
        if d["fmla_4s"] < a.min_fmla:
            print(f"FAIL: the hot loop of {a.file} has {d['fmla_4s']} fmla on vN.4s registers "
                  f"(want >= {a.min_fmla}); its first instructions:", file=sys.stderr)
            print("\n".join(d["body"][:40]), file=sys.stderr)
            return 1
        print(f"ok: the hot loop uses fmla on vN.4s ({d['fmla_4s']} per iteration)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
