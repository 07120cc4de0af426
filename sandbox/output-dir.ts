import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_SANDBOX_DIR } from '../ops/local/protocol.js';

/**
 * `<repo>/.sandbox` (gitignored): where the sandbox writes its outputs, and where the tools that read them look by
 * default (ops/local/protocol.ts, where `npm run ops -- --local` finds the running sandbox). In a module of its own
 * (with the preparing of the directory), so that a tool needs not import the sandbox system (and aws-cdk-lib).
 */
export const DEFAULT_OUTPUT_DIR = DEFAULT_SANDBOX_DIR;

/** Marks a directory the sandbox created, and so may clear at the next start. */
const OUTPUT_DIR_MARKER = '.orders-sandbox-output';

/** Thrown when the output directory holds files the sandbox did not write: clearing it could destroy someone's work. */
export class OutputDirError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'OutputDirError';
  }
}

/**
 * Empties `dir` for a new run, creating it if needed. A non-empty directory is only cleared when the sandbox created
 * it (its marker file is there).
 */
export async function prepareOutputDir(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    entries = [];
  }
  if (entries.length > 0 && !entries.includes(OUTPUT_DIR_MARKER)) {
    throw new OutputDirError(
      `${dir} is not empty and was not created by the sandbox (no ${OUTPUT_DIR_MARKER}); refusing to clear it`,
    );
  }
  await Promise.all(entries.map((entry) => rm(join(dir, entry), { recursive: true, force: true })));
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, OUTPUT_DIR_MARKER), 'Written by the orders sandbox; cleared at each start.\n');
}
