# ctest script: the Python package as a user installs it. Install BUILD_DIR into SCRATCH/prefix,
# `pip install` the repository with CMAKE_PREFIX_PATH there (pyproject.toml: scikit-build-core
# links that install; no build isolation, PYTHON's environment holds the pinned build
# requirements from scripts/setup), then run python/tests with pytest against the installed
# package, skips shown with their reasons.
include(${CMAKE_CURRENT_LIST_DIR}/TestInstalled.cmake)
dwconv_test_install("${SCRATCH}/prefix")
dwconv_test_run("pip install ." "${CMAKE_COMMAND}" -E env "CMAKE_PREFIX_PATH=${SCRATCH}/prefix"
                "${PYTHON}" -m pip install --no-build-isolation --no-deps --quiet --target "${SCRATCH}/site"
                --config-settings=build-dir=${SCRATCH}/build "${SOURCE_DIR}")
dwconv_test_run("pytest python/tests" "${CMAKE_COMMAND}" -E env "PYTHONPATH=${SCRATCH}/site" PYTHONDONTWRITEBYTECODE=1
                "${PYTHON}" -m pytest -q -rs -p no:cacheprovider "${SOURCE_DIR}/python/tests")
message("${DWCONV_TEST_OUTPUT}")
