// Public surface of the DSL: what a user's spec file imports and what codegen/ and tuner/ consume.
export * from './types.js';
export { SpecError, UserError, isUserError } from './errors.js';
export * from './formats.js';
export * from './lowrank.js';
export * from './epilogue.js';
export * from './spec.js';
export * from './tiles.js';
export * from './space.js';
export * from './targets.js';
export * from './compat.js';
export * from './models/index.js';
