#!/usr/bin/env bash
# ctest cuda_ptx: assembles the PTX that the generator emitted for each CUDA kernel with ptxas,
# for the architecture of its compute capability and, for the newest capability, sm_90 too (PTX
# is forward-compatible; Halide 21 has no capability 9.0). Any ptxas error fails the test.
# An architecture this ptxas cannot target (CUDA 13 dropped sm_70) is reported as such and the
# PTX is assembled for the oldest architecture it supports above it instead: not counted as sm_70.
#   ptx_check.sh PTXAS CAP:FILE...      exit 0 ok, 1 error, 77 skipped (no ptxas)
set -uo pipefail
ptxas="$1"
shift
if ! command -v "$ptxas" >/dev/null 2>&1; then
  echo "[SKIP] no ptxas (CUDA toolkit) found: the PTX was generated but not assembled"
  exit 77
fi
echo "ptxas: $("$ptxas" --version | tail -1)"
# The architectures of --gpu-name's "Allowed values" (not those mentioned in other options' help).
supported="$("$ptxas" --help | awk '/^--gpu-name/ {on = 1} on && /Default value/ {exit} on' |
  sed -n '/Allowed values/,$p' | tr "',\n" '   ' | grep -oE '\bsm_[0-9]+\b' | sort -u -V)"
newest=0
for e in "$@"; do newest=$((${e%%:*} > newest ? ${e%%:*} : newest)); done
failed=0
declare -A notes
for e in "$@"; do
  cap="${e%%:*}"
  file="${e#*:}"
  archs="sm_$cap"
  [ "$cap" = "$newest" ] && archs="$archs sm_90"
  for arch in $archs; do
    use="$arch"
    if ! grep -qx "$arch" <<<"$supported"; then
      use="$(awk -v want="${arch#sm_}" -F_ '$2 + 0 >= want + 0 {print; exit}' <<<"$supported")"
      notes[$arch]="[unsupported] $arch: this ptxas cannot target it (its --gpu-name list starts at $(head -1 <<<"$supported")); its PTX was assembled for $use instead"
      [ -n "$use" ] || { echo "[FAIL] no architecture >= $arch in this ptxas"; failed=1; continue; }
    fi
    out="$("$ptxas" -v -arch="$use" "$file" -o /dev/null 2>&1)"
    rc=$?
    info="$(grep -oE 'Used [0-9]+ registers|[0-9]+ bytes smem|[0-9]+ bytes spill stores' <<<"$out" | sort -u | paste -sd, -)"
    if [ $rc -ne 0 ] || grep -qi "error" <<<"$out"; then
      echo "[FAIL] $(basename "$file") (PTX for capability $cap) with ptxas -arch=$use:"
      echo "$out"
      failed=1
    else
      sub=""
      [ "$use" != "$arch" ] && sub=" instead of $arch, which this ptxas does not support"
      echo "[ok] $(basename "$file" .device_code) capability $cap -> ptxas -arch=$use$sub ($info)"
    fi
  done
done
for n in "${notes[@]}"; do echo "$n"; done
exit $failed
