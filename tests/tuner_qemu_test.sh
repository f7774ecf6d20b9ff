#!/usr/bin/env bash
# The tuner for an ARM target through the qemu runner: aarch64 candidates AOT-compiled by the
# host's dwconv, linked with the cross toolchain, run by the aarch64 dwconv_runner under
# qemu-aarch64. Each is checked against the naive loop; the times are recorded as emulated and
# never distilled into a tuned kernel.
#   tuner_qemu_test.sh HOST_DWCONV AARCH64_RUNNER SCRATCH_DIR
set -euo pipefail
bin="$1"
runner="$2"
dir="$3"
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
fail() { echo "FAIL: $*"; exit 1; }
arm=(--target arm-64-linux --runner qemu --runner-binary "$runner")

# 1. dwconv measure: the NEON default and two variants of one shape, checked under qemu.
"$bin" measure 1,9,11,20,1,3,3,1,1,SAME "${arm[@]}" --params "" --params "s1_tile_w=4,s1_tile_h=1" \
  --params "stage_input=0" --repeats 1 > measure.log 2>&1 || { cat measure.log; fail "measure under qemu"; }
[ "$(grep -c 'GFLOP/s' measure.log)" -eq 3 ] || { cat measure.log; fail "not every candidate ran"; }

# 2. dwconv tune: every record of the ARM target, emulated; distill leaves them out.
cat > shapes.csv <<'CSV'
name,N,H,W,C,M,KH,KW,stride,dilation,padding
arm_a,1,32,32,32,1,3,3,1,1,SAME
arm_b,1,9,9,5,3,3,3,2,1,VALID
CSV
"$bin" tune --shapes shapes.csv --db db.jsonl --budget-seconds 50 --seed 5 --no-autoschedulers "${arm[@]}" \
  --distill tuned.json > tune.log 2>&1 || { cat tune.log; fail "tune under qemu"; }
grep -q "^\[emulated\]" tune.log || { cat tune.log; fail "the summary does not say the times are emulated"; }
"$bin" db check db.jsonl > /dev/null || fail "database invalid"
python3 - <<'PY' || fail "records"
import json
recs = [json.loads(l) for l in open("db.jsonl")]
assert recs, "no records"
for r in recs:
    assert r["target"] == "arm-64-linux", r
    assert r["timing"] == "emulated", r
    assert "s1_tile_w=" in r["params"], r  # the NEON parameter space
for w in ("n1_h32_w32_c32_m1_k3x3_s1x1_d1x1_p1.1.1.1", "n1_h9_w9_c5_m3_k3x3_s2x2_d1x1_p0.0.0.0"):
    ok = [r for r in recs if r["workload"] == w and r["status"] == "ok"]
    assert len(ok) >= 3, (w, len(ok))
    assert any(r["is_default"] for r in ok), w
d = json.load(open("tuned.json"))
assert d["entries"] == [], d["entries"]
PY

# 3. What cannot work is refused with a message.
if "$bin" tune --shapes shapes.csv --db x.jsonl --budget-seconds 5 --target arm-64-linux 2> err1.log; then
  fail "an ARM target without a runner was accepted"
fi
grep -q "needs --runner" err1.log || { cat err1.log; fail "no reason given for the missing runner"; }
if "$bin" measure 1,9,11,20,1,3,3,1,1,SAME --target arm-64-linux --runner qemu --runner-binary ./missing 2> err2.log; then
  fail "a missing aarch64 runner was accepted"
fi
grep -q "no aarch64 dwconv_runner at ./missing" err2.log || { cat err2.log; fail "missing runner not named"; }
if "$bin" measure 1,9,11,20,1,3,3,1,1,SAME --runner qemu 2> err3.log; then fail "qemu accepted for a host target"; fi
grep -q "runs aarch64 candidates" err3.log || { cat err3.log; fail "qemu for the host: no reason"; }
echo "tuner under qemu: all checks passed"
