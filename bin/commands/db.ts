// `svdq-codegen db merge <files…> --out PATH` (combine shards or machines) and `db check <files…>`.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { UserError } from '../../dsl/errors.js';
import { readDb } from '../../tuner/db.js';
import { mergeDbFiles } from '../../tuner/shard.js';

export function register(program: Command): void {
  const db = program.command('db').description('tuning databases: merge shards, check files');
  db.command('merge')
    .description('combine tuning databases (e.g. the shards of `tune --shard i/n`) into one file')
    .argument('<inputs...>', 'database files')
    .requiredOption('--out <path>', 'merged database to write')
    .option('--json', 'print JSON')
    .action(async (inputs: string[], o) => {
      const r = await mergeDbFiles(inputs, o.out);
      if (o.json) process.stdout.write(`${JSON.stringify({ out: o.out, records: r.db.records.length, inputs: r.perInput, duplicates: r.duplicates }, null, 2)}\n`);
      else {
        for (const p of r.perInput) process.stdout.write(`${p.path}: ${p.records} record(s)\n`);
        process.stdout.write(`${o.out}: ${r.db.records.length} record(s)${r.duplicates ? ` (${r.duplicates} duplicate key(s): the later record kept)` : ''}\n`);
      }
    });
  db.command('check')
    .description('validate tuning databases (schema, version, duplicate keys)')
    .argument('<files...>', 'database files')
    .action(async (files: string[]) => {
      for (const f of files) {
        if (!existsSync(f)) throw new UserError(`db check: ${f} does not exist`);
        const d = await readDb(f);
        const measured = d.records.filter((r) => r.timing.label === 'measured').length;
        process.stdout.write(`${f}: valid, ${d.records.length} record(s) (${measured} measured, ${d.records.length - measured} predicted)\n`);
      }
    });
}
