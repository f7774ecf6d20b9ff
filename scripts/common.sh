# Sourced by scripts/*: runs the setup (idempotent), then puts the pinned tools on PATH and
# exports DWCONV_HALIDE_DIR (the wheel's CMake package) for CMakePresets.json.
set -euo pipefail
DWCONV_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$DWCONV_ROOT/scripts/setup" >&2
export PATH="$DWCONV_ROOT/.venv/bin:$PATH"
DWCONV_HALIDE_DIR="$("$DWCONV_ROOT/.venv/bin/python" -c 'import halide, os; print(os.path.join(halide.install_dir(), "lib64", "cmake", "Halide"))')"
export DWCONV_HALIDE_DIR
export DWCONV_JOBS="${DWCONV_JOBS:-$(nproc)}"

# dwconv_build PRESET [-DVAR=value...]: configure and build that preset of CMakePresets.json,
# with the given cache variables over the preset's.
dwconv_build() {
  local preset="$1"
  shift
  (cd "$DWCONV_ROOT" && cmake --preset "$preset" "$@" >/dev/null && cmake --build --preset "$preset" -j "$DWCONV_JOBS")
}
