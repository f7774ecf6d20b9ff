#!/usr/bin/env bash
# Sharded tuning on a real Slurm: starts munged, slurmctld and slurmd of Debian's packages on
# this machine (one node, configuration, keys and state in SCRATCH, free ports), submits
# scripts/slurm-tune as a two-task array job on two tiny shapes, waits for it, merges and
# distills the shards exactly as that script's usage says, and checks the result: one database
# per task with records of its own shard only, and a distilled entry for both workloads.
#   slurm_test.sh DWCONV_BINARY SOURCE_DIR SCRATCH_DIR
# Exits 77 (ctest: skipped) where Slurm or munge is not installed.
set -euo pipefail
bin="$1" src="$2" dir="$3"
for tool in munged mungekey slurmctld slurmd sbatch sinfo; do
  command -v "$tool" > /dev/null || PATH="$PATH:/usr/sbin" command -v "$tool" > /dev/null ||
    { echo "[SKIP] no $tool (scripts/setup installs slurm-wlm and munge)"; exit 77; }
done
export PATH="$PATH:/usr/sbin"
rm -rf "$dir" && mkdir -p "$dir"/{state,spool,munge} && cd "$dir"
fail() {
  echo "FAIL: $*"
  for log in munged.log slurmctld.log slurmd.log tune-*.out; do [ -f "$log" ] && { echo "--- $log"; tail -20 "$log"; }; done
  exit 1
}
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# munge: its own key and socket, run as this user (--force: root, and a key only this test owns).
mungekey --create --keyfile="$PWD/munge/munge.key" 2> /dev/null || dd if=/dev/urandom of=munge/munge.key bs=1024 count=1 status=none
chmod 711 munge && chmod 400 munge/munge.key
munged --foreground --force --key-file="$PWD/munge/munge.key" --socket="$PWD/munge/munge.socket" \
  --pid-file="$PWD/munge/munged.pid" --log-file="$PWD/munged.log" --seed-file="$PWD/munge/seed" > munged.out 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do [ -S munge/munge.socket ] && break; sleep 0.1; done
[ -S munge/munge.socket ] || fail "munged did not start"

host="$(hostname -s)"
user="$(id -un)"
cpus="$(nproc)"
cat > slurm.conf <<CFG
ClusterName=dwconvtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
AuthInfo=socket=$PWD/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$PWD/state
SlurmdSpoolDir=$PWD/spool
SlurmctldPidFile=$PWD/slurmctld.pid
SlurmdPidFile=$PWD/slurmd.pid
SlurmctldLogFile=$PWD/slurmctld.log
SlurmdLogFile=$PWD/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=60 State=UP
CFG
export SLURM_CONF="$PWD/slurm.conf"
slurmctld -D -i -f "$SLURM_CONF" > /dev/null 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" > /dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do sinfo -h -o %t 2> /dev/null | grep -qx idle && break; sleep 0.3; done
sinfo -h -o %t 2> /dev/null | grep -qx idle || fail "the node did not come up: $(sinfo 2>&1 | tail -2)"

# Two tiny workloads, one per shard; one CPU and a short search each.
cat > shapes.csv <<CSV
name,N,H,W,C,M,KH,KW,stride,dilation,padding
slurm_a,1,10,10,16,1,3,3,1,1,SAME
slurm_b,1,9,11,8,2,3,3,2,1,VALID
CSV
export DWCONV="$bin"
sbatch --wait --array=0-1 --cpus-per-task=1 --output="$PWD/tune-%a.out" --chdir="$PWD" \
  "$src/scripts/slurm-tune" shapes.csv 5 tuning --no-autoschedulers --final-rounds 1 --build-jobs 1 > sbatch.out ||
  fail "the array job failed: $(cat sbatch.out)"
"$bin" db merge tuning/db.*.jsonl -o tuning/all.jsonl && "$bin" db distill tuning/all.jsonl -o tuning/tuned.json ||
  fail "merge/distill failed"

# Each task wrote its own shard's workload only; the distilled file has both.
[ -s tuning/db.0.jsonl ] && [ -s tuning/db.1.jsonl ] || fail "a task wrote no database: $(ls tuning)"
grep -q '"n1_h10_w10_c16_m1_k3x3' tuning/db.0.jsonl && ! grep -q '"n1_h9_w11' tuning/db.0.jsonl || fail "shard 0 holds the wrong workloads"
grep -q '"n1_h9_w11_c8_m2_k3x3' tuning/db.1.jsonl && ! grep -q '"n1_h10_w10' tuning/db.1.jsonl || fail "shard 1 holds the wrong workloads"
"$bin" db check tuning/all.jsonl > /dev/null || fail "the merged database does not check"
for key in n1_h10_w10_c16_m1_k3x3 n1_h9_w11_c8_m2_k3x3; do
  grep -q "$key" tuning/tuned.json || fail "no distilled entry for $key"
done
echo "Slurm array job (2 tasks) tuned, merged and distilled: $(grep -c '"workload"' tuning/tuned.json || true) distilled entries"
