import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { type EmulatorClientConfig, emulatorClientConfig } from '../../ops/cli/emulator.js';
import { ensureDynamoDbLocal } from './fetch.js';

/** A running DynamoDB Local. */
export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>`, for DynamoDBClient and DynamoDBStreamsClient alike. */
  readonly endpoint: string;
  readonly port: number;
  /** Kills the emulator and resolves once it has exited. Safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartDynamoDbLocalOptions {
  /** The port to listen on. @default a free port chosen by the OS */
  readonly port?: number;
  /** Persist the data in this directory instead of keeping it in memory. */
  readonly dbPath?: string;
  /** The emulator directory (holding DynamoDBLocal.jar). @default the pinned emulator, fetched when missing */
  readonly emulatorDir?: string;
  /**
   * How long to wait for the emulator to answer. @default 10 minutes: an emulator that exits is reported at once, so
   * the bound only ends a JVM that hangs, never one starting slowly on a busy 2-core machine (or in a test run).
   */
  readonly startTimeoutMs?: number;
}

/** The client configuration for a local endpoint; the credentials and region are dummies DynamoDB Local accepts. */
/** The configuration of a client of DynamoDB Local (ops/cli/emulator.ts). */
export type LocalClientConfig = EmulatorClientConfig;

/** Thrown when DynamoDB Local cannot be started or does not become ready. */
export class DynamoDbLocalStartError extends Error {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DynamoDbLocalStartError';
  }
}

/** The shell's exit code for "command not found", used by the watchdog when there is no java. */
const JAVA_NOT_FOUND_EXIT_CODE = 127;

/**
 * Runs `java "$@"` and kills it once stdin reaches end of file. A background job's stdin is /dev/null in a
 * non-interactive shell, hence the copy of the pipe on fd 3 for the watchdog. Exits with the JVM's status.
 */
const WATCHDOG_SCRIPT = `
command -v java >/dev/null 2>&1 || exit ${JAVA_NOT_FOUND_EXIT_CODE}
java "$@" </dev/null &
jvm=$!
exec 3<&0
{ read -r _ <&3; kill "$jvm" 2>/dev/null; } &
watchdog=$!
exec 3<&-
wait "$jvm"
status=$?
kill "$watchdog" 2>/dev/null
exit "$status"
`;
/** Enough of the emulator's output to show why it failed, without holding a long-running server's whole log. */
const OUTPUT_TAIL_CHARS = 4_000;
/** See StartDynamoDbLocalOptions.startTimeoutMs. */
const DEFAULT_START_TIMEOUT_MS = 10 * 60_000;

/**
 * The configuration of an SDK v3 client (DynamoDBClient, DynamoDBStreamsClient, DynamoDBDocumentClient's client)
 * talking to a local endpoint.
 */
export function localClientConfig(endpoint: string): LocalClientConfig {
  return emulatorClientConfig(endpoint);
}

/**
 * Starts DynamoDB Local (in memory unless `dbPath` is given) and resolves once it answers ListTables. The emulator
 * dies with the process that started it, however that process ends.
 */
export async function startDynamoDbLocal(options: StartDynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const emulatorDir = options.emulatorDir ?? (await ensureDynamoDbLocal());
  const port = options.port ?? (await findFreePort());
  const endpoint = `http://127.0.0.1:${port}`;
  const args = [
    `-Djava.library.path=${join(emulatorDir, 'DynamoDBLocal_lib')}`,
    '-jar',
    join(emulatorDir, 'DynamoDBLocal.jar'),
    '-port',
    String(port),
    ...(options.dbPath === undefined ? ['-inMemory'] : ['-dbPath', options.dbPath]),
    // Without -sharedDb, DynamoDB Local keeps one database per access key and region: code under test that builds
    // its own client from other credentials would silently see no tables.
    '-sharedDb',
    '-disableTelemetry',
  ];
  // The JVM runs under a small shell watchdog holding a pipe from this process: when the pipe closes, because stop()
  // closes it or because this process dies in any way (even SIGKILL, where no exit handler runs), the watchdog kills
  // the JVM. A JVM left behind would hold its port and half a gigabyte of memory on a shared 2-core machine.
  // detached: the shell leads its own process group, so that a last-resort SIGKILL reaches the JVM too.
  const child = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, 'dynamodb-local', ...args], {
    cwd: emulatorDir,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const output = captureOutput(child);
  // Ending stdin after the shell has gone raises EPIPE on the stream; the exit is what matters then, not the pipe.
  child.stdin?.on('error', () => {});
  // Plain listeners rather than events.once: once(child, 'exit') would reject on a spawn error, muddling the causes.
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error: Error) => {
      reject(new DynamoDbLocalStartError(`Cannot start DynamoDB Local: ${error.message}`, { cause: error }));
    });
    child.once('exit', (code, signal) => {
      reject(
        new DynamoDbLocalStartError(
          code === JAVA_NOT_FOUND_EXIT_CODE
            ? 'Cannot start DynamoDB Local: `java` is not on PATH. Install a JRE, e.g. `apt-get install -y default-jre-headless`.'
            : `DynamoDB Local exited before it was ready (code ${code}, signal ${signal}). Output:\n${output.tail()}`,
        ),
      );
    });
  });
  // After a successful start the emulator exits only on stop(); that rejection is expected and not an error.
  failed.catch(() => {});

  const stop = async (): Promise<void> => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
      return;
    }
    child.stdin?.end();
    // The JVM normally exits on SIGTERM within a second; a hung shutdown hook must not hang the caller for ever.
    const forceKill = setTimeout(() => killGroup(child), 10_000);
    try {
      await exited;
    } finally {
      clearTimeout(forceKill);
    }
  };

  const controller = new AbortController();
  try {
    await Promise.race([
      waitUntilAnswering(
        endpoint,
        options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
        controller.signal,
        output.tail,
      ),
      failed,
    ]);
  } catch (error) {
    await stop();
    throw error;
  } finally {
    controller.abort();
  }
  return { endpoint, port, stop };
}

/** Binds port 0 to let the OS pick a free port, then releases it for the emulator. */
async function findFreePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') {
    throw new DynamoDbLocalStartError(`Could not determine a free port (got ${String(address)})`);
  }
  return address.port;
}

async function waitUntilAnswering(
  endpoint: string,
  timeoutMs: number,
  signal: AbortSignal,
  outputTail: () => string,
): Promise<void> {
  // One attempt per call: the loop below is the retry policy, the SDK's backoff would only add latency.
  const client = new DynamoDBClient({ ...localClientConfig(endpoint), maxAttempts: 1 });
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  try {
    while (!signal.aborted) {
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch (error) {
        lastError = error;
      }
      if (Date.now() >= deadline) {
        throw new DynamoDbLocalStartError(
          `DynamoDB Local did not answer ListTables at ${endpoint} within ${timeoutMs} ms ` +
            `(last error: ${String(lastError)}). Output:\n${outputTail()}`,
        );
      }
      await sleep(100);
    }
  } finally {
    client.destroy();
  }
}

function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function captureOutput(child: ChildProcess): { tail: () => string } {
  let buffer = '';
  const append = (chunk: Buffer): void => {
    buffer = (buffer + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return { tail: () => buffer.trim() || '(no output)' };
}
