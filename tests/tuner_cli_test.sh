#!/usr/bin/env bash
# The dwconv command end to end: tune, kill -9 in the middle, resume, check, merge, distill,
# refuse corrupt databases without touching them, info and --help.
#   tuner_cli_test.sh DWCONV_BINARY SCRATCH_DIR
set -euo pipefail
bin="$1"
dir="$2"
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
fail() { echo "FAIL: $*"; exit 1; }
cat > shapes.csv <<'CSV'
name,N,H,W,C,M,KH,KW,stride,dilation,padding
small_a,1,12,12,24,1,3,3,1,1,SAME
small_b,1,9,9,5,2,5,5,2,1,VALID
CSV

# 1. A tuner killed with kill -9 mid-run loses at most the candidate in flight.
"$bin" tune --shapes shapes.csv --db db.jsonl --budget-seconds 40 --seed 3 --no-autoschedulers > tune1.log 2>&1 &
pid=$!
for _ in $(seq 1 120); do
  [ -s db.jsonl ] && [ "$(wc -l < db.jsonl)" -ge 3 ] && break
  sleep 0.5
done
kill -9 $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
before=$(wc -l < db.jsonl)
[ "$before" -ge 1 ] || fail "no record written before the kill"
"$bin" db check db.jsonl || fail "database invalid after kill -9"
# ... and --resume continues from it.
"$bin" tune --shapes shapes.csv --db db.jsonl --budget-seconds 16 --seed 3 --resume --no-autoschedulers \
  --distill tuned.json > tune2.log 2>&1 || { cat tune2.log; fail "resume failed"; }
after=$(wc -l < db.jsonl)
[ "$after" -gt "$before" ] || fail "resume added no records"
"$bin" db check db.jsonl > check.log || fail "database invalid after resume"
grep -q "valid records" check.log || fail "db check printed no summary"
# Search batches are timed beside the default (the anchor): their records carry its median.
python3 - <<'PY' || fail "search records without the anchor's time"
import json
recs = [json.loads(l) for l in open("db.jsonl")]
search = [r for r in recs if r["scheduler"] == "dwconv" and not r["final"] and not r["is_default"] and r["status"] == "ok"]
assert search, "no search records"
anchored = [r for r in search if r.get("default_us", 0) > 0]
assert len(anchored) >= len(search) - 4, (len(anchored), len(search))
PY
# The final round runs in three processes (--final-rounds, default 3), each with the default:
# three in the resumed run, or none where the killed run had finished all three (its result
# stands; a killed run's unfinished rounds are run again).
head -n "$before" db.jsonl > killed.jsonl
python3 - <<'PY' || fail "not three final rounds per workload"
import json, collections
def rounds(path, skip=0):
    recs = [json.loads(l) for l in open(path)][skip:]
    return collections.Counter(r["workload"] for r in recs if r["final"] and r["is_default"] and r.get("default_us", 0) > 0)
killed, resumed = rounds("killed.jsonl"), rounds("db.jsonl", sum(1 for _ in open("killed.jsonl")))
workloads = set(killed) | set(resumed)
assert len(workloads) == 2, (killed, resumed)
for w in workloads:
    assert resumed[w] == 3 or (resumed[w] == 0 and killed[w] >= 3), (w, killed[w], resumed[w])
PY
for s in small_a small_b; do grep -q "^$s " tune2.log || fail "no result line for $s"; done
python3 - <<'PY' || fail "distilled file lacks the workloads"
import json
d = json.load(open("tuned.json"))
assert d["format"] == "dwconv-tuned-v1", d
keys = {e["workload"] for e in d["entries"]}
assert "n1_h12_w12_c24_m1_k3x3_s1x1_d1x1_p1.1.1.1" in keys, keys
assert any(k.startswith("n1_h9_w9_c5_m2_k5x5_s2x2") for k in keys), keys
for e in d["entries"]:
    assert e["gflops"] > 0 and e["params"], e
PY

# 2. Corrupt and truncated databases are refused with file:line, and left as they were.
cp db.jsonl corrupt.jsonl
echo '{"workload": "oops"' >> corrupt.jsonl
sum=$(md5sum corrupt.jsonl)
if "$bin" db check corrupt.jsonl 2> err.log; then fail "corrupt database accepted"; fi
grep -q "corrupt.jsonl:$((after + 1)): not valid JSON" err.log || { cat err.log; fail "message does not name file:line"; }
if "$bin" tune --shapes shapes.csv --db corrupt.jsonl --budget-seconds 5 --no-autoschedulers 2> err2.log; then
  fail "tune used a corrupt database"
fi
grep -q "refusing the database" err2.log || fail "tune did not say why it refused"
[ "$(md5sum corrupt.jsonl)" = "$sum" ] || fail "refused database was modified"
head -c -1 db.jsonl > truncated.jsonl
if "$bin" db check truncated.jsonl 2> err3.log; then fail "truncated database accepted"; fi
grep -q "truncated record" err3.log || fail "truncation not named"
sed 's/"halide":"21.0.0"/"halide":"20.0.0"/' db.jsonl > old.jsonl
if "$bin" db check old.jsonl 2> err4.log; then fail "database from another Halide version accepted"; fi
grep -q "old.jsonl:1: record from Halide 20.0.0" err4.log || { cat err4.log; fail "version mismatch not named"; }
if "$bin" db check missing.jsonl 2>/dev/null; then fail "missing database accepted by db check"; fi
if timeout 20 "$bin" db check /dev/zero 2> err_dev.log; then fail "db check accepted /dev/zero"; fi
grep -q "/dev/zero: not a regular file" err_dev.log || { cat err_dev.log; fail "db check /dev/zero"; }
# A record whose fields have the right types but say nothing valid: db check names the line and
# the field, and tune --resume refuses the same database (one validation), leaving it as it was.
python3 - <<'PY' || fail "could not write the bad records"
import json, re
r = json.loads(open("db.jsonl").readline())
r.update(scheduler="dwconv", params="vectors=1")
cases = {"params_text": dict(params="vectors=abc"), "params_item": dict(params="vectors"),
         "key": dict(workload=re.sub(r"_c[0-9]+", "_c0", r["workload"])), "problem": dict(workload="n1_h50000_w50000_c1000_m1_k3x3_s1x1_d1x1_p1.1.1.1"),
         "threads": dict(threads=0), "target": dict(target="bogus-7")}
for name, change in cases.items():
    bad = dict(r); bad.update(change)
    open(f"bad_{name}.jsonl", "w").write(open("db.jsonl").read() + json.dumps(bad) + "\n")
PY
line=$(( $(wc -l < db.jsonl) + 1 ))
for c in "params_text:is not a new name=integer" "params_item:is not a new name=integer" \
         "key:does not parse" "problem:is not a valid problem" "threads:field 'threads' is 0" \
         "target:is neither x86-64-<ISA level> nor a Halide target"; do
  name=${c%%:*} want=${c#*:}
  sum=$(md5sum "bad_$name.jsonl")
  if "$bin" db check "bad_$name.jsonl" 2> err_$name.log; then fail "db check accepted bad_$name.jsonl"; fi
  grep -qF "bad_$name.jsonl:$line: " err_$name.log && grep -qF "$want" err_$name.log ||
    { cat err_$name.log; fail "db check on bad_$name.jsonl: expected line $line and '$want'"; }
  if "$bin" tune --shapes shapes.csv --db "bad_$name.jsonl" --resume --budget-seconds 2 --no-autoschedulers \
       > /dev/null 2> err_resume_$name.log; then fail "tune --resume used bad_$name.jsonl"; fi
  grep -qF "$want" err_resume_$name.log || { cat err_resume_$name.log; fail "tune --resume on bad_$name.jsonl did not say why"; }
  [ "$(md5sum "bad_$name.jsonl")" = "$sum" ] || fail "refused bad_$name.jsonl was modified"
done

# 3. Shards and merge.
"$bin" tune --shapes shapes.csv --db shard0.jsonl --budget-seconds 6 --seed 4 --shard 0/2 --no-autoschedulers --json > shard0.log
"$bin" tune --shapes shapes.csv --db shard1.jsonl --budget-seconds 6 --seed 4 --shard 1/2 --no-autoschedulers --json > shard1.log
grep -q '"shape":"small_a"' shard0.log || fail "--json output lacks shard 0's shape"
if grep -q '"shape":"small_b"' shard0.log; then fail "shard 0 tuned shard 1's shape"; fi
"$bin" db merge shard0.jsonl shard1.jsonl shard0.jsonl -o merged.jsonl > merge.log
n0=$(wc -l < shard0.jsonl); n1=$(wc -l < shard1.jsonl); nm=$(wc -l < merged.jsonl)
[ "$nm" -eq $((n0 + n1)) ] || fail "merge kept $nm records of $n0 + $n1 (duplicates once)"
"$bin" db check merged.jsonl > /dev/null || fail "merged database invalid"
"$bin" db distill merged.jsonl -o merged.json > /dev/null || fail "distill failed"
# A faster record of an older dwconv commit (other code, measured earlier) does not win.
python3 - <<'PY' || fail "could not write the stale record"
import json
recs = [json.loads(l) for l in open("merged.jsonl")]
r = dict(next(x for x in recs if x["scheduler"] == "dwconv" and x["status"] == "ok"))
r.update(commit="0000000", timestamp="2000-01-01T00:00:00Z", median_us=1e-3, min_us=1e-3, max_us=1e-3,
         gflops=1e6, params="stale=1", final=True)
open("stale.jsonl", "w").write(json.dumps(r) + "\n")
PY
"$bin" db merge merged.jsonl stale.jsonl -o with_stale.jsonl > /dev/null || fail "merge with the stale record"
"$bin" db distill with_stale.jsonl -o with_stale.json > /dev/null || fail "distill with the stale record"
if grep -q "stale=1" with_stale.json; then fail "distill picked a record of an older commit"; fi
# db prune drops the older commit's record and nothing distill reads.
"$bin" db prune with_stale.jsonl -o pruned.jsonl > /dev/null || fail "prune failed"
[ "$(wc -l < pruned.jsonl)" -eq "$nm" ] || fail "prune kept $(wc -l < pruned.jsonl) records, expected $nm"
if grep -q "stale=1" pruned.jsonl; then fail "prune kept the older commit's record"; fi
"$bin" db distill pruned.jsonl -o pruned.json > /dev/null || fail "distill of the pruned database"
cmp -s pruned.json with_stale.json || fail "distill of the pruned database differs"
# The default stays unless a final-round winner beats it by 3% (kMinGainOverDefault): a 2% lead
# keeps the default, a 10% lead wins.
for lead in 2 10; do
  LEAD=$lead python3 - <<'PY' || fail "could not write the final-round records"
import json, os
recs = [json.loads(l) for l in open("merged.jsonl")]
r = next(x for x in recs if x["scheduler"] == "dwconv" and x["status"] == "ok")
common = dict(commit="fffffff", timestamp="2999-01-01T00:00:00Z", final=True, min_us=1.0, max_us=200.0)
d = dict(r, **common, is_default=True, params="dflt=1", median_us=100.0)
w = dict(r, **common, is_default=False, params="won=1", median_us=100.0 / (1 + int(os.environ["LEAD"]) / 100))
with open("final_round.jsonl", "w") as f:
    f.write(json.dumps(d) + "\n" + json.dumps(w) + "\n")
PY
  "$bin" db distill final_round.jsonl -o final_round.json > /dev/null || fail "distill of a final round"
  want=$([ "$lead" = 2 ] && echo dflt=1 || echo won=1)
  grep -q "\"params\": \"$want\"" final_round.json || { cat final_round.json; fail "a $lead% lead: expected $want"; }
done
# Two runs' final rounds merged: the winner is the fastest relative to the default of its own
# round (default_us), not the lowest time: run A's process ran everything faster.
python3 - <<'PY' || fail "could not write two final rounds"
import json
recs = [json.loads(l) for l in open("merged.jsonl")]
r = next(x for x in recs if x["scheduler"] == "dwconv" and x["status"] == "ok")
with open("two_rounds.jsonl", "w") as f:
    for run, dflt_us, won_us in (("a", 80.0, 70.0), ("b", 100.0, 80.0)):
        common = dict(commit="fffffff", timestamp="2999-01-01T00:00:0%dZ" % (run == "b"), final=True,
                      min_us=1.0, max_us=200.0, default_us=dflt_us)
        f.write(json.dumps(dict(r, **common, is_default=True, params="dflt=1", median_us=dflt_us)) + "\n")
        f.write(json.dumps(dict(r, **common, is_default=False, params="won_" + run + "=1", median_us=won_us)) + "\n")
PY
"$bin" db distill two_rounds.jsonl -o two_rounds.json > /dev/null || fail "distill of two final rounds"
python3 - <<'PY' || { cat two_rounds.json; fail "two final rounds: expected run b's winner at 1.25x its default"; }
import json
e = json.load(open("two_rounds.json"))["entries"][0]
assert e["params"] == "won_b=1", e
assert abs(e["gflops"] / e["default_gflops"] - 1.25) < 1e-9, e
PY
# Three final rounds (the processes of one run): each point ranks by its median relative time.
# "lucky" led one round by far and trailed in two; "steady" led by 15% in all three; "broken"
# led twice and was wrong once (never wins). Expected: steady, at 1/0.85 its default.
python3 - <<'PY' || fail "could not write three final rounds"
import json
recs = [json.loads(l) for l in open("merged.jsonl")]
r = next(x for x in recs if x["scheduler"] == "dwconv" and x["status"] == "ok")
with open("three_rounds.jsonl", "w") as f:
    for k, (dflt_us, lucky, broken) in enumerate(((100.0, 0.6, 0.5), (90.0, 1.05, 0.5), (110.0, 1.05, None))):
        common = dict(commit="fffffff", timestamp="2999-01-01T00:00:0%dZ" % k, final=True, min_us=1.0,
                      max_us=500.0, default_us=dflt_us)
        f.write(json.dumps(dict(r, **common, is_default=True, params="dflt=1", median_us=dflt_us)) + "\n")
        f.write(json.dumps(dict(r, **common, is_default=False, params="lucky=1", median_us=dflt_us * lucky)) + "\n")
        f.write(json.dumps(dict(r, **common, is_default=False, params="steady=1", median_us=dflt_us * 0.85)) + "\n")
        b = dict(r, **common, is_default=False, params="broken=1", median_us=dflt_us * (broken or 0))
        if broken is None:
            b.update(status="wrong", error="mismatch", gflops=0.0)
        f.write(json.dumps(b) + "\n")
PY
"$bin" db distill three_rounds.jsonl -o three_rounds.json > /dev/null || fail "distill of three final rounds"
python3 - <<'PY' || { cat three_rounds.json; fail "three final rounds: expected steady at 1/0.85 its default"; }
import json
e = json.load(open("three_rounds.json"))["entries"][0]
assert e["params"] == "steady=1", e
assert abs(e["gflops"] / e["default_gflops"] - 1 / 0.85) < 1e-9, e
PY
# A database merged from two machines keeps each CPU's best: the same records as measured on
# another CPU (faster there, other parameters) add an entry per workload, not replace this one's.
python3 - <<'PY' || fail "could not write the other CPU's records"
import json
out = open("other_cpu.jsonl", "w")
for line in open("merged.jsonl"):
    r = json.loads(line)
    r.update(cpu="Other CPU (family 1, model 2)", median_us=r["median_us"] / 2, gflops=r["gflops"] * 2,
             params=(r["params"] + ",other=1") if r["scheduler"] == "dwconv" else r["params"])
    out.write(json.dumps(r) + "\n")
PY
"$bin" db merge merged.jsonl other_cpu.jsonl -o two_cpus.jsonl > /dev/null || fail "merge of two CPUs' records"
"$bin" db distill two_cpus.jsonl -o two_cpus.json > /dev/null || fail "distill of two CPUs' records"
python3 - <<'PY' || fail "distill of two CPUs' records"
import json
one = {(e["workload"], e["target"], e["threads"]): e for e in json.load(open("merged.json"))["entries"]}
two = json.load(open("two_cpus.json"))["entries"]
assert len(two) == 2 * len(one), (len(two), len(one))
for e in two:
    k = (e["workload"], e["target"], e["threads"])
    if e["cpu"] == "Other CPU (family 1, model 2)":
        assert e["params"].endswith(",other=1"), e
    else:
        assert e["params"] == one[k]["params"] and e["cpu"] == one[k]["cpu"], (e, one[k])
        assert " (family " in e["cpu"], e["cpu"]
PY

# 4. A CUDA target: the CUDA parameter space, candidates AOT-compiled here and run by
# dwconv_runner on this machine's GPU (--runner local, the default for CUDA). Without a GPU every
# candidate is recorded as failing with the CUDA runtime's own message, and nothing is distilled.
cat > cuda_shapes.csv <<'CSV'
name,N,H,W,C,M,KH,KW,stride,dilation,padding
cuda_a,1,16,16,32,1,3,3,1,1,SAME
CSV
"$bin" tune --shapes cuda_shapes.csv --db cuda.jsonl --budget-seconds 12 --seed 1 --no-autoschedulers \
  --target host-cuda-cuda_capability_80 --distill cuda.json > cuda.log 2>&1 || { cat cuda.log; fail "tune for CUDA"; }
has_gpu=0
nvidia-smi -L > /dev/null 2>&1 && has_gpu=1
HAS_GPU=$has_gpu python3 - <<'PY' || fail "CUDA records"
import json, os
recs = [json.loads(l) for l in open("cuda.jsonl")]
assert recs, "no records"
for r in recs:
    assert r["target"] == "host-cuda-cuda_capability_80", r
    assert "threads_co=" in r["params"], r  # the CUDA parameter space
    if os.environ["HAS_GPU"] != "1":
        assert r["status"] == "crash" and "CUDA" in r["error"], r
if os.environ["HAS_GPU"] == "1":
    assert any(r["status"] == "ok" and r["is_default"] for r in recs), "the default failed on the GPU"
entries = json.load(open("cuda.json"))["entries"]
assert (len(entries) == 1) == (os.environ["HAS_GPU"] == "1"), entries
PY
[ "$has_gpu" = 1 ] || echo "[SKIP] no CUDA device: CUDA candidates built and run, each failed with the CUDA runtime's message"

# 5. Autoscheduler baselines: each measured once, an autoscheduler's own parameters recorded.
"$bin" tune --shapes cuda_shapes.csv --db as.jsonl --budget-seconds 2 --seed 1 \
  --autoscheduler-param Adams2019.beam_size=1 > as.log 2>&1 || { cat as.log; fail "tune with baselines"; }
python3 - <<'PY' || fail "autoscheduler records"
import json
recs = [json.loads(l) for l in open("as.jsonl")]
by = {r["scheduler"]: r for r in recs if r["scheduler"] != "dwconv"}
assert set(by) == {"Mullapudi2016", "Adams2019", "Li2018"}, by.keys()
assert by["Adams2019"]["params"] == "beam_size=1", by["Adams2019"]
for r in by.values():
    assert r["status"] == "ok", r  # each schedules this algorithm (the channel map is inlined for them)
PY
if "$bin" tune --shapes cuda_shapes.csv --db as.jsonl --budget-seconds 2 --autoscheduler-param beam_size=1 2> err6.log; then
  fail "an autoscheduler parameter without a name was accepted"
fi
grep -q "NAME.key=value" err6.log || { cat err6.log; fail "no form given for --autoscheduler-param"; }

# 5a. Halide's compiler warnings (here the autoschedulers' "Not folding Func ...", on an M = 2
# shape) go to the database's log; the terminal shows none and names the log.
cat > warn_shapes.csv <<'CSV'
name,N,H,W,C,M,KH,KW,stride,dilation,padding
warn_m2,1,12,12,20,2,3,3,1,1,SAME
CSV
"$bin" tune --shapes warn_shapes.csv --db warn.jsonl --budget-seconds 2 --seed 1 \
  --autoscheduler-param Adams2019.beam_size=1 > warn.log 2>&1 || { cat warn.log; fail "tune with baselines (M = 2)"; }
grep -q "^Warning" warn.jsonl.halide.log || fail "no Halide warning in warn.jsonl.halide.log"
if grep -q "Warning" warn.log; then cat warn.log; fail "Halide warnings on the terminal"; fi
grep -q "Halide's compiler warned [0-9]* time(s).*warn.jsonl.halide.log" warn.log || { cat warn.log; fail "the log is not named"; }

# 5b. The recorded target is the x86 ISA level compiled for, the key the build generates that
# variant's parameters from: x86-64-avx2 for an AVX2 Halide target, on any x86 host; a host
# run records this CPU's level (dwconv info's isa).
"$bin" tune --shapes shapes.csv --db avx2.jsonl --budget-seconds 4 --seed 1 --no-autoschedulers --shard 0/2 \
  --target x86-64-linux-avx-avx2-f16c-fma-sse41 > avx2.log 2>&1 || { cat avx2.log; fail "tune for an AVX2 target"; }
host_level=$("$bin" info small_a --shapes shapes.csv | awk '/^isa:/ {print $2}')
HOST_LEVEL=$host_level python3 - <<'PY' || fail "recorded targets"
import json, os
recs = [json.loads(l) for l in open("avx2.jsonl")]
assert recs and all(r["target"] == "x86-64-avx2" for r in recs), {r["target"] for r in recs}
host = {json.loads(l)["target"] for l in open("db.jsonl")}
assert host == {"x86-64-" + os.environ["HOST_LEVEL"]}, host
PY

# 5c. Parallel builds: a batch compiled three at a time (two hand schedules, an autoscheduler, a
# candidate that cannot compile) gives each candidate the status it gets compiled one at a
# time, and every good one checked against the naive loop and timed.
for jobs in 1 3; do
  if "$bin" measure small_a --shapes shapes.csv --repeats 2 --build-jobs $jobs --params "" \
    --params "vectors=1,tile_w=2" --scheduler Mullapudi2016 --params "no_such_knob=1" > jobs$jobs.log 2>&1; then
    fail "a broken candidate must make measure exit 1 (--build-jobs $jobs)"
  fi
  [ "$(grep -c 'GFLOP/s' jobs$jobs.log)" -eq 3 ] || { cat jobs$jobs.log; fail "--build-jobs $jobs: three good candidates timed"; }
  grep -q "compile_error: unknown schedule parameter 'no_such_knob'" jobs$jobs.log || fail "--build-jobs $jobs: broken one"
done
# 5d. Two threads (the JIT candidates' parallel loops go to the runtime's pool, thread_pool.h;
# this checks that they run right there, not which pool ran them): a hand schedule with one
# task per row and an autoscheduler's, each checked against the naive loop and timed.
"$bin" measure small_a --shapes shapes.csv --repeats 2 --threads 2 --params "rows_per_task=1" \
  --scheduler Mullapudi2016 > threads2.log 2>&1 || { cat threads2.log; fail "measure --threads 2"; }
[ "$(grep -c 'GFLOP/s' threads2.log)" -eq 2 ] || { cat threads2.log; fail "--threads 2: two candidates timed"; }
if "$bin" measure small_a --shapes shapes.csv --build-jobs 0 2> err7.log; then fail "--build-jobs 0 accepted"; fi
grep -qF -- "--build-jobs must be a whole number in [1, 1024], got '0'" err7.log || { cat err7.log; fail "--build-jobs 0: no reason"; }

# 5e. --warm-start: an earlier tuning's point (a candidate of run 1 other than the default, in a
# distilled file) is measured in the first batch beside the default; bad files are refused.
python3 - <<'PY' || fail "warm-start file"
import json
recs = [json.loads(l) for l in open("db.jsonl")]
r = next(r for r in recs if r["scheduler"] == "dwconv" and r["status"] == "ok" and not r.get("is_default"))
entry = {k: r[k] for k in ("workload", "target", "threads", "params", "gflops")}
json.dump({"format": "dwconv-tuned-v1", "entries": [entry]}, open("warm.json", "w"))
open("warm_point.txt", "w").write(r["workload"] + " " + r["params"])
json.dump({"entries": [{"workload": r["workload"], "target": r["target"]}]}, open("warm_bad.json", "w"))
PY
"$bin" tune --shapes shapes.csv --db warm.jsonl --budget-seconds 4 --no-autoschedulers --warm-start warm.json \
  > warm.log 2>&1 || { cat warm.log; fail "tune --warm-start"; }
WARM="$(cat warm_point.txt)" python3 - <<'PY' || fail "warm-start point not measured first"
import json, os
workload, params = os.environ["WARM"].split(" ")
recs = [json.loads(l) for l in open("warm.jsonl")]
first = [r["params"] for r in recs if r["workload"] == workload and not r["final"]][:2]
assert params in first, (first, params)
PY
for bad in shapes.csv warm_bad.json missing.json; do
  if "$bin" tune --shapes shapes.csv --db warm2.jsonl --budget-seconds 2 --no-autoschedulers --warm-start $bad \
    2> warm_err.log; then fail "--warm-start $bad accepted"; fi
  grep -q "refusing --warm-start $bad" warm_err.log || { cat warm_err.log; fail "--warm-start $bad: no reason"; }
done

# 6. info and help.
"$bin" info 1,56,56,128,1,3,3,1,1,SAME > info.log
grep -q "kernel: *dwconv_f32_" info.log || { cat info.log; fail "info names no kernel"; }
grep -q "workload: *n1_h56_w56_c128_m1_k3x3_s1x1_d1x1_p1.1.1.1" info.log || fail "info workload key"
if "$bin" info 1,4,4,8,1,7,7,1,1,VALID 2> err5.log; then fail "info accepted an empty output"; fi
grep -q "empty output" err5.log || fail "info error message"
# Errors about a shape argument name the argument (not a temporary file or a line number).
if "$bin" info 1,0,4,8,1,3,3,1,1,SAME 2> err6.log; then fail "info accepted H = 0"; fi
grep -qF "shape '1,0,4,8,1,3,3,1,1,SAME': H = '0' is not a number from 1 to 2^30" err6.log || { cat err6.log; fail "info error names the argument"; }
# A bad --target is an error naming it, not an abort.
for args in "tune --shapes shapes.csv --db bogus.jsonl" "measure small_a --shapes shapes.csv"; do
  set +e; "$bin" $args --target bogus-7 > /dev/null 2> err_target.log; rc=$?; set -e
  [ $rc -eq 1 ] && grep -q "target 'bogus-7' is not a Halide target" err_target.log ||
    { cat err_target.log; fail "dwconv $args --target bogus-7 exited $rc"; }
done
for c in "" tune db info bench; do "$bin" $c --help > /dev/null || fail "dwconv $c --help"; done
"$bin" --version | grep -Eq '^dwconv [0-9]+\.[0-9]+\.[0-9]+ \(commit ([0-9a-f]+|unknown)\), Halide [0-9]+\.[0-9]+\.[0-9]+$' ||
  fail "dwconv --version: $("$bin" --version)"

# 7. Bad flags and shapes files: exit 1 with a message naming the flag or the row, before any
# measurement or allocation.
expect_refusal() {  # expect_refusal NEEDLE ARGS...: dwconv ARGS must fail and say NEEDLE
  local needle="$1"
  shift
  if "$bin" "$@" > refusal.out 2> refusal.err; then fail "accepted: $*"; fi
  grep -qF -- "$needle" refusal.err || { cat refusal.err; fail "'$*': no '$needle' in the message"; }
  [ ! -s refused.jsonl ] || fail "'$*' wrote records"
}
t=(tune --shapes shapes.csv --db refused.jsonl --no-autoschedulers)
expect_refusal "--budget-seconds must be a number in [1, 1e+07], got 'abc'" "${t[@]}" --budget-seconds abc
for v in -1 nan inf 1e9; do expect_refusal "--budget-seconds must be a number" "${t[@]}" --budget-seconds $v; done
expect_refusal "--seed must be a whole number" "${t[@]}" --seed -1
expect_refusal "--threads must be a whole number in [1, 256], got '0'" "${t[@]}" --threads 0
expect_refusal "--shard's n must be a whole number" "${t[@]}" --shard 0/1junk
expect_refusal "--shard's i must be a whole number in [0, 1], got '2'" "${t[@]}" --shard 2/2
expect_refusal "--output-offset must be a whole number in [0, 4092], got '-1'" "${t[@]}" --output-offset -1
expect_refusal "--output-offset must be a multiple of 4 bytes" "${t[@]}" --output-offset 6
expect_refusal "--repeats must be a whole number" measure 1,8,8,16,1,3,3,1,1,SAME --repeats x
printf 'name,N,H,W,C,M,KH,KW,stride,dilation,padding\n' > header_only.csv
expect_refusal "no shapes (only the header)" tune --shapes header_only.csv --db refused.jsonl --no-autoschedulers
printf 'name,N,H,W,C,M,KH,KW,stride,dilation,padding\nhuge,1,46341,46341,1,1,3,3,1,1,SAME\n' > huge.csv
expect_refusal "huge.csv:2: huge: input [1, 46341, 46341, 1] spans more than 2^31 - 1 bytes" \
  tune --shapes huge.csv --db refused.jsonl --no-autoschedulers
printf 'name,N,H,W,C,M,KH,KW,stride,dilation,padding\nwide,1,8,8,3000000000,1,3,3,1,1,SAME\n' > wide.csv
expect_refusal "C = '3000000000' is not a number from 1 to 2^30" tune --shapes wide.csv --db refused.jsonl --no-autoschedulers
echo "tuner CLI: all checks passed"
