// `svdq-codegen db merge <files…> --out PATH` (combine shards or machines) and `db check <files…>`.
import type { Command } from 'commander';
import { checkOutputFile } from '../../codegen/paths.js';
import { checkDbFile } from '../../tuner/db.js';
import { mergeDbFiles } from '../../tuner/shard.js';

export function register(program: Command): void {
  const db = program.command('db').description('tuning databases: merge shards, check files');
  db.command('merge')
    .description('combine tuning databases (e.g. the shards of `tune --shard i/n`) into one file')
    .argument('<inputs...>', 'database files')
    .requiredOption('--out <path>', 'merged database to write')
    .option('--json', 'print JSON')
    .action(async (inputs: string[], o) => {
      checkOutputFile(o.out, '--out'); // before reading: a folder, /proc/… or a read-only disk fails now
      const r = await mergeDbFiles(inputs, o.out);
      if (o.json) process.stdout.write(`${JSON.stringify({ out: o.out, records: r.db.records.length, inputs: r.perInput, duplicates: r.duplicates }, null, 2)}\n`);
      else {
        for (const p of r.perInput) process.stdout.write(`${p.path}: ${p.records} record(s)\n`);
        process.stdout.write(`${o.out}: ${r.db.records.length} record(s)${r.duplicates ? ` (${r.duplicates} duplicate key(s): the later record kept)` : ''}\n`);
      }
    });
  db.command('check')
    .description('validate tuning databases: schema, version, duplicate keys, and everything tune/build would reject (URIs, keys, buckets, arches, families); every file, every problem')
    .argument('<files...>', 'database files')
    .action(async (files: string[]) => {
      let bad = 0;
      for (const f of files) {
        const { db: d, problems } = await checkDbFile(f);
        if (problems.length || !d) {
          bad++;
          process.stderr.write(`${f}: invalid, ${problems.length} problem(s):\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
          continue;
        }
        const measured = d.records.filter((r) => r.timing.label === 'measured').length;
        process.stdout.write(`${f}: valid, ${d.records.length} record(s) (${measured} measured, ${d.records.length - measured} predicted)\n`);
      }
      if (bad) {
        process.stderr.write(`${bad} of ${files.length} file(s) invalid\n`);
        process.exitCode = 1;
      }
    });
}
