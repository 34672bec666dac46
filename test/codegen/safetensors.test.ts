import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ST_DTYPE_BYTES, openSafetensors, readSafetensors, writeSafetensors, type StDtype } from '../../codegen/safetensors.js';
import { UserError } from '../../dsl/errors.js';
import { tensor } from '../../numerics/tensors.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'svdq-st-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const fresh = (): string => path.join(dir, `f${counter++}.safetensors`);

/** A file from a raw header object and data bytes (to build malformed files on purpose). */
function rawFile(header: unknown, data: Uint8Array, headerText?: string): string {
  const json = Buffer.from(headerText ?? JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  const file = fresh();
  writeFileSync(file, Buffer.concat([prefix, json, data]));
  return file;
}

/** Opens the file and reads every tensor; returns the error (or undefined). */
async function readAll(file: string): Promise<unknown> {
  try {
    const f = await openSafetensors(file);
    try {
      for (const t of f.tensors) await f.readBytes(t.name);
    } finally {
      await f.close();
    }
    return undefined;
  } catch (e) {
    return e;
  }
}

const dtypes = Object.keys(ST_DTYPE_BYTES) as StDtype[];
const tensorArb = fc
  .record({
    dtype: fc.constantFrom(...dtypes),
    shape: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 0, maxLength: 3 }),
    seed: fc.integer(),
  })
  .map(({ dtype, shape, seed }) => {
    const bytes = new Uint8Array(shape.reduce((a, b) => a * b, 1) * ST_DTYPE_BYTES[dtype]);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (seed * 31 + i * 17) & 0xff;
    return { dtype, shape, data: bytes };
  });
const fileArb = fc.record({
  tensors: fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 8 }).filter((s) => s !== '__metadata__'), tensorArb), {
    maxLength: 5,
    selector: ([name]) => name,
  }),
  metadata: fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 10 }), { maxKeys: 3 }),
});

describe('safetensors round trip', () => {
  it('reads back a hand-checked file of the reference format', async () => {
    // Byte layout of the reference implementation's own test: I32 [2,2] at offsets [0,16].
    const data = new Uint8Array(new Int32Array([1, -2, 3, 4]).buffer);
    const file = rawFile({ test: { dtype: 'I32', shape: [2, 2], data_offsets: [0, 16] }, __metadata__: { foo: 'bar' } }, data);
    const f = await openSafetensors(file);
    expect(f.metadata).toEqual({ foo: 'bar' });
    const t = await f.readTensor('test');
    await f.close();
    expect(t.dtype).toBe('int32');
    expect(t.shape).toEqual([2, 2]);
    expect([...t.data]).toEqual([1, -2, 3, 4]);
  });

  it('writes reference tensors with an 8-byte-aligned header and no temp file left', async () => {
    const file = fresh();
    const x = tensor('bf16', [2, 3], new Uint16Array([1, 2, 3, 4, 5, 0xffff]));
    await writeSafetensors(file, { x, s: tensor('f32', [1], new Float32Array([0.5])) }, { format: 'pt' });
    const bytes = readFileSync(file);
    expect(Number(bytes.readBigUInt64LE(0)) % 8).toBe(0);
    const back = await readSafetensors(file);
    expect(back.get('x')).toEqual(x);
    expect([...back.get('s')!.data]).toEqual([0.5]);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('round-trips random valid files (fuzz)', async () => {
    await fc.assert(
      fc.asyncProperty(fileArb, async ({ tensors, metadata }) => {
        const file = fresh();
        await writeSafetensors(file, tensors, metadata);
        const f = await openSafetensors(file);
        try {
          // Listed in data order; empty tensors share an offset, so only their presence is fixed.
          const nonEmpty = (n: string): boolean => f.info(n)!.end > f.info(n)!.begin;
          expect(f.tensors.map((t) => t.name).filter(nonEmpty)).toEqual(tensors.map(([n]) => n).filter(nonEmpty));
          expect(f.tensors.map((t) => t.name).sort()).toEqual(tensors.map(([n]) => n).sort());
          expect(f.metadata).toEqual(Object.keys(metadata).length ? metadata : {});
          for (const [name, t] of tensors) {
            expect(f.info(name)).toMatchObject({ dtype: t.dtype, shape: t.shape });
            expect(await f.readBytes(name)).toEqual(t.data);
          }
        } finally {
          await f.close();
          rmSync(file);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('safetensors defects are UserErrors, never crashes', () => {
  const valid = async (): Promise<Buffer> => {
    const file = fresh();
    await writeSafetensors(file, {
      a: tensor('fp16', [4, 4]),
      b: tensor('int8', [3, 5], new Int8Array(15).fill(-3)),
      c: tensor('f32', [2]),
    });
    return readFileSync(file);
  };

  it('every truncation of a valid file is rejected', async () => {
    const bytes = await valid();
    for (const len of [0, 3, 7, 8, 12, 40, bytes.length - 64, bytes.length - 1]) {
      const file = fresh();
      writeFileSync(file, bytes.subarray(0, len));
      const err = await readAll(file);
      expect(err, `truncated to ${len}`).toBeInstanceOf(UserError);
      expect((err as Error).message).toContain(file);
    }
  });

  it('random truncations and byte corruptions give a UserError or a valid file (fuzz)', async () => {
    const bytes = await valid();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: bytes.length }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        async (len, flips) => {
          const copy = Buffer.from(bytes.subarray(0, len));
          for (const [pos, v] of flips) if (copy.length) copy[pos % copy.length] = v;
          const file = fresh();
          writeFileSync(file, copy);
          const err = await readAll(file);
          rmSync(file);
          if (err !== undefined && !(err instanceof UserError)) throw err;
        },
      ),
      { numRuns: 300 },
    );
  });

  const cases: Array<[string, unknown, number, RegExp]> = [
    ['overlapping offsets', { a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] }, b: { dtype: 'U8', shape: [4], data_offsets: [2, 6] } }, 6, /'b' \[2, 6\) overlaps/],
    ['out-of-range offsets', { a: { dtype: 'U8', shape: [8], data_offsets: [0, 8] } }, 4, /'a' ends at byte 8 but the data buffer holds 4/],
    ['a gap', { a: { dtype: 'U8', shape: [2], data_offsets: [2, 4] } }, 4, /gap in the data buffer before tensor 'a'/],
    ['trailing bytes', { a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] } }, 5, /cover 2 bytes but the data buffer holds 5/],
    ['wrong size for the shape', { a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8, /'a' spans 8 bytes but shape \[3\] × F32 needs 12/],
    ['an unknown dtype', { a: { dtype: 'F4', shape: [1], data_offsets: [0, 1] } }, 1, /'a' has dtype "F4"; expected one of BOOL/],
    ['a negative dimension', { a: { dtype: 'U8', shape: [-1], data_offsets: [0, 1] } }, 1, /'a' has shape \[-1\]/],
    ['reversed offsets', { a: { dtype: 'U8', shape: [0], data_offsets: [3, 1] } }, 3, /'a' has data_offsets \[3,1\]/],
    ['non-string metadata', { __metadata__: { k: 1 } }, 0, /__metadata__ value for 'k' is not a string/],
    ['a non-object header', [1, 2], 0, /header is not a JSON object/],
  ];
  it.each(cases)('rejects %s', async (_what, header, dataBytes, message) => {
    const file = rawFile(header, new Uint8Array(dataBytes));
    const err = await readAll(file);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain(file);
  });

  it('rejects bad JSON and absurd header sizes', async () => {
    expect(await readAll(rawFile(undefined, new Uint8Array(0), '{"a": '))).toMatchObject({ message: expect.stringMatching(/header is not UTF-8 JSON/) });
    const file = fresh();
    const prefix = Buffer.alloc(16);
    prefix.writeBigUInt64LE(2n ** 62n);
    writeFileSync(file, prefix);
    expect(await readAll(file)).toMatchObject({ message: expect.stringMatching(/header size 4611686018427387904 exceeds/) });
  });

  it('rejects a tensor name that appears twice (JSON.parse would keep only the last)', async () => {
    const text = '{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}';
    expect(await readAll(rawFile(undefined, new Uint8Array(4), text))).toMatchObject({ message: expect.stringMatching(/tensor name "a" appears twice in the header/) });
  });

  it('names the missing tensor and the ones present', async () => {
    const file = fresh();
    await writeSafetensors(file, { x: tensor('fp16', [1]) });
    await expect(readSafetensors(file, ['qweight'])).rejects.toThrow(/no tensor 'qweight' \(the file has 'x'\)/);
  });

  it('writer refuses data that does not match the shape', async () => {
    await expect(writeSafetensors(fresh(), { a: { dtype: 'F16', shape: [3], data: new Uint8Array(4) } })).rejects.toThrow(
      /tensor 'a' has 4 bytes but shape \[3\] × F16 needs 6/,
    );
  });
});
