// Every CLI command, one file each. A command file exports `register(program)`.
import type { Command } from 'commander';
import { register as registerTune } from './tune.js';
import { register as registerPredict } from './predict.js';
import { register as registerDb } from './db.js';
import { register as registerGen } from './gen.js';
import { register as registerRun } from './run.js';
import { register as registerVerify } from './verify.js';
import { register as registerPack } from './pack.js';
import { register as registerRegress } from './regress.js';
import { register as registerBuild } from './build.js';
import { register as registerInspect } from './inspect.js';

export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [registerTune, registerPredict, registerDb, registerGen, registerRun, registerVerify, registerPack, registerBuild, registerRegress, registerInspect];
