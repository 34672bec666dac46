// Planning one SVDQuant layer: the activation kernel (codegen/plan/act.ts) and the GEMM
// (codegen/plan/gemm.ts), each a KernelSpec × tile × target → plan with every number concrete.
import { UserError } from '../../dsl/errors.js';
import type { ActTile, GemmTile, KernelSpec, Target } from '../../dsl/types.js';
import { planAct, type ActPlan } from './act.js';
import { planGemm, type GemmPlan } from './gemm.js';

/** A spec × tile × target the generator cannot turn into a kernel; the message names the knob and the rule. */
export class PlanError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'PlanError';
  }
}

export interface LayerPlan {
  act: ActPlan;
  gemm: GemmPlan;
}

export function planLayer(spec: KernelSpec, tiles: { gemm: GemmTile; act: ActTile }, target: Target): LayerPlan {
  return { act: planAct(spec, tiles.act, target), gemm: planGemm(spec, tiles.gemm, target) };
}

export type { ActPlan, GemmPlan };
