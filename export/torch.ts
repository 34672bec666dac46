// dist/torch: the PyTorch extension (templates/export/torch): C++ ops registered with TORCH_LIBRARY,
// whose CPU kernel drives libsvdq_emu.so and CUDA kernel libsvdq.so (both opened with dlopen, so one
// extension serves either), and a small Python loader that compiles it on first import.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TEMPLATES_DIR } from './render.js';
import type { SourceFile } from './sources.js';

export function renderTorchFiles(): SourceFile[] {
  return ['svdq_torch.cpp', '__init__.py'].map((f) => ({ path: `torch/svdq/${f}`, text: readFileSync(path.join(TEMPLATES_DIR, 'export', 'torch', f), 'utf8') }));
}
