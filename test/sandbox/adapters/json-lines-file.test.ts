import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  flushJsonLinesWrites,
  JsonLinesFile,
  JsonLinesParseError,
  readJsonLines,
} from '../../../sandbox/adapters/json-lines-file.js';

describe('JsonLinesFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jsonl-test-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the directories and writes one object per line', async () => {
    // Prepare
    const file = new JsonLinesFile(join(dir, 'a', 'b', 'queue.jsonl'));

    // Act
    await file.append({ n: 1, text: 'line\nbreak' });
    await file.append({ n: 2 });

    // Assess
    expect(readFileSync(file.path, 'utf8')).toBe('{"n":1,"text":"line\\nbreak"}\n{"n":2}\n');
    expect(await file.readAll()).toEqual([{ n: 1, text: 'line\nbreak' }, { n: 2 }]);
  });

  it('keeps lines whole and in call order when two writers of one file append concurrently', async () => {
    // Prepare: two instances, as the DLQ adapter and the on-failure sink of one queue are.
    const path = join(dir, 'shared.jsonl');
    const writers = [new JsonLinesFile(path), new JsonLinesFile(path)];
    const padding = 'x'.repeat(10_000);

    // Act
    await Promise.all(Array.from({ length: 200 }, (_, n) => writers[n % 2]!.append({ n, padding })));

    // Assess
    const lines = await readJsonLines<{ n: number; padding: string }>(path);
    expect(lines.map((line) => line.n)).toEqual(Array.from({ length: 200 }, (_, n) => n));
    expect(lines.every((line) => line.padding === padding)).toBe(true);
  });

  it('fails only the append whose value cannot be serialised', async () => {
    // Prepare
    const file = new JsonLinesFile(join(dir, 'q.jsonl'));

    // Act
    const results = await Promise.allSettled([
      file.append({ n: 1 }),
      file.append({ big: 1n }),
      file.append({ n: 3 }),
    ]);

    // Assess
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await file.readAll()).toEqual([{ n: 1 }, { n: 3 }]);
  });

  it('refuses a serializer that puts a line break inside a line', async () => {
    // Prepare
    const file = new JsonLinesFile(join(dir, 'q.jsonl'), (value) => JSON.stringify(value, null, 2));

    // Act
    const appended = file.append({ a: 1 });

    // Assess
    await expect(appended).rejects.toThrow(/line break inside a line/);
    expect(await file.readAll()).toEqual([]);
  });

  it('goes on writing after a failed write', async () => {
    // Prepare: the file's directory is a plain file, so the first write fails.
    const blocker = join(dir, 'blocked');
    writeFileSync(blocker, '');
    const file = new JsonLinesFile(join(blocker, 'q.jsonl'));
    const first = file.append({ n: 1 });
    await expect(first).rejects.toThrow();
    rmSync(blocker);

    // Act
    await file.append({ n: 2 });

    // Assess
    expect(await file.readAll()).toEqual([{ n: 2 }]);
  });

  it('flushJsonLinesWrites waits for every pending append', async () => {
    // Prepare
    const files = [new JsonLinesFile(join(dir, 'x.jsonl')), new JsonLinesFile(join(dir, 'y.jsonl'))];
    for (let n = 0; n < 50; n++) void files[n % 2]!.append({ n });

    // Act
    await flushJsonLinesWrites();

    // Assess
    expect(readFileSync(files[0]!.path, 'utf8').split('\n').filter(Boolean)).toHaveLength(25);
    expect(readFileSync(files[1]!.path, 'utf8').split('\n').filter(Boolean)).toHaveLength(25);
  });
});

describe('readJsonLines', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jsonl-test-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads nothing from a file that does not exist', async () => {
    expect(await readJsonLines(join(dir, 'missing.jsonl'))).toEqual([]);
  });

  it('skips blank lines', async () => {
    // Prepare
    const path = join(dir, 'q.jsonl');
    writeFileSync(path, '{"a":1}\n\n  \n{"a":2}\n');

    // Act
    const values = await readJsonLines(path);

    // Assess
    expect(values).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it('names the line that is not JSON', async () => {
    // Prepare
    const path = join(dir, 'q.jsonl');
    writeFileSync(path, '{"a":1}\n{"a":\n');

    // Act
    const read = readJsonLines(path);

    // Assess
    await expect(read).rejects.toThrow(JsonLinesParseError);
    await expect(readJsonLines(path)).rejects.toThrow(/q\.jsonl:2: not a JSON line/);
  });
});
