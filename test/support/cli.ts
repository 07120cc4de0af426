import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root: every CLI runs from there, as `npm run` does. */
const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** What a CLI run ended with. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRunOptions {
  /** The child's environment. @default this process's */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Runs one of the project's CLIs as its npm script does (`node --import tsx <script> <args>`, from the repository
 * root) and resolves with its exit code and whole output. Asynchronous, so that a local server the child talks to can
 * run in the test's own process.
 */
export function runTsxCli(
  script: string,
  args: readonly string[],
  options: CliRunOptions = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.env === undefined ? {} : { env: options.env }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
