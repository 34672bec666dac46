// dist/cmake: the find_package(svdq) package config and version file (templates/export/cmake).
import type { Target } from '../../dsl/types.js';
import { LAYOUT_VERSION } from '../layouts.js';
import { TOOL_VERSION } from '../pack.js';
import { renderTemplate } from './render.js';
import { ABI_VERSION, type SourceFile } from './sources.js';

export function renderCmakeFiles(o: { targets: readonly Target[]; cuda: boolean; emu: boolean }): SourceFile[] {
  const ctx = {
    targetList: o.targets.map((t) => t.arch).join(';'),
    layoutVersion: LAYOUT_VERSION,
    abiVersion: ABI_VERSION,
    hasCuda: o.cuda ? 'TRUE' : 'FALSE',
    hasEmu: o.emu ? 'TRUE' : 'FALSE',
  };
  return [
    { path: 'cmake/svdqConfig.cmake', text: renderTemplate('export/cmake/svdqConfig.cmake.hbs', ctx) },
    { path: 'cmake/svdqConfigVersion.cmake', text: renderTemplate('export/cmake/svdqConfigVersion.cmake.hbs', { version: TOOL_VERSION, major: TOOL_VERSION.split('.')[0] }) },
  ];
}
