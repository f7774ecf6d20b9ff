#!/usr/bin/env bash
# The tuner's remote runner against a real sshd started here on 127.0.0.1 (its own host key,
# a throw-away user key, a free port): candidates are AOT-compiled here, copied over ssh with
# dwconv_runner, checked against the naive loop and timed there; a wrong/broken candidate is
# reported as such; `dwconv tune --runner` appends valid records.
#   tuner_ssh_test.sh DWCONV_BINARY SCRATCH_DIR
set -euo pipefail
bin="$1"
dir="$2"
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
fail() { echo "FAIL: $*"; [ -f sshd.log ] && tail -5 sshd.log; exit 1; }
sshd=$(command -v sshd || echo /usr/sbin/sshd)
[ -x "$sshd" ] || { echo "[SKIP] no sshd (scripts/setup installs openssh-server)"; exit 0; }

ssh-keygen -q -t ed25519 -N "" -f host_key
ssh-keygen -q -t ed25519 -N "" -f user_key
cp user_key.pub authorized_keys
chmod 600 authorized_keys user_key
[ "$(id -u)" -eq 0 ] && mkdir -p /run/sshd  # privilege separation directory, when root
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > sshd_config <<CFG
ListenAddress 127.0.0.1
Port $port
HostKey $PWD/host_key
AuthorizedKeysFile $PWD/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PidFile $PWD/sshd.pid
CFG
"$sshd" -f "$PWD/sshd_config" -E "$PWD/sshd.log" || fail "sshd did not start"
trap 'kill $(cat sshd.pid 2>/dev/null) 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do [ -s sshd.pid ] && break; sleep 0.1; done

remote=(--runner "ssh://$(id -un)@127.0.0.1:$port" --ssh-option -i --ssh-option "$PWD/user_key"
        --ssh-option -o --ssh-option StrictHostKeyChecking=no --ssh-option -o --ssh-option UserKnownHostsFile=/dev/null)

# 1. measure: two good candidates and one that cannot compile (an unknown parameter).
"$bin" measure 1,10,11,20,2,3,3,2,1,SAME --repeats 3 --params "" --params "vectors=1,tile_w=2" \
  --params "no_such_knob=1" "${remote[@]}" > measure.log 2>&1 && fail "a broken candidate must make measure exit 1"
cat measure.log
[ "$(grep -c 'GFLOP/s' measure.log)" -eq 2 ] || fail "both good candidates should be timed over ssh"
grep -q "compile_error: unknown schedule parameter 'no_such_knob'" measure.log || fail "the broken candidate is not reported"
grep -q "Accepted publickey" sshd.log || fail "the runs did not go through sshd"

# 2. tune over ssh: a short run writes a valid database.
cat > shapes.csv <<'CSV'
name,N,H,W,C,M,KH,KW,stride,dilation,padding
tiny,1,8,9,16,1,3,3,1,1,SAME
CSV
"$bin" tune --shapes shapes.csv --db db.jsonl --budget-seconds 20 --seed 1 --no-autoschedulers "${remote[@]}" \
  > tune.log 2>&1 || { cat tune.log; fail "tune over ssh failed"; }
"$bin" db check db.jsonl || fail "database from the ssh runner is invalid"
grep -q '"status":"ok"' db.jsonl || fail "no candidate ran ok over ssh"

# 3. an unreachable runner is a clear per-candidate failure, not a hang.
"$bin" measure 1,10,11,20,1,3,3,1,1,SAME --repeats 1 --runner "ssh://nobody@127.0.0.1:1" \
  --ssh-option -o --ssh-option ConnectTimeout=5 > unreachable.log 2>&1 && fail "an unreachable runner must fail"
grep -q "over ssh failed" unreachable.log || { cat unreachable.log; fail "no clear message for an unreachable runner"; }
echo "tuner over ssh: ok"
