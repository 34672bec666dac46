#!/usr/bin/env bash
# Makes a SASS disassembler available to the tests and `regress`: nothing when a CUDA toolkit's cuobjdump
# is found ($SVDQ_CUOBJDUMP, $CUDA_HOME/bin, next to nvcc, PATH); otherwise fetches Debian bookworm
# non-free nvidia-cuda-toolkit 11.8 with apt-get download + dpkg -x into $SVDQ_TOOLS_DIR (default
# .cache/cuda-tools), keeping only cuobjdump and nvdisasm (no system change; docs/inspect.md).
set -euo pipefail
cd "$(dirname "$0")/.."
npx svdq-codegen inspect --install-disassembler
