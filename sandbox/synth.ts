import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { buildApp, type OrdersStreamApp } from '../lib/app.js';
import type { StageConfig } from '../lib/config.js';

/** One resource of a CloudFormation template, as synthesized. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
  readonly DependsOn?: string | readonly string[];
  readonly Condition?: string;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

/** A synthesized CloudFormation template; only the parts the sandbox reads are typed. */
export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Parameters?: Record<string, unknown>;
  readonly Outputs?: Record<string, unknown>;
  readonly Conditions?: Record<string, unknown>;
  readonly [section: string]: unknown;
}

export interface SynthesizedStack {
  readonly stackName: string;
  readonly template: CfnTemplate;
}

/** A resource found by type, with where it lives. */
export interface LocatedResource {
  readonly stackName: string;
  readonly logicalId: string;
  readonly resource: CfnResource;
}

export interface SynthesizedApp {
  readonly config: StageConfig;
  readonly stacks: readonly SynthesizedStack[];
  /** The stack of that name; throws when there is none. */
  stack(stackName: string): SynthesizedStack;
  /** Every resource of a CloudFormation type (e.g. `AWS::Lambda::EventSourceMapping`) across all stacks. */
  resourcesOfType(type: string): LocatedResource[];
}

/** Thrown when a stack asked for is not in the synthesized app. */
export class UnknownStackError extends Error {
  public constructor(stackName: string, known: readonly string[]) {
    super(`No stack named "${stackName}" in the synthesized app (stacks: ${known.join(', ') || 'none'})`);
    this.name = 'UnknownStackError';
  }
}

const CDK_JSON = fileURLToPath(new URL('../cdk.json', import.meta.url));

/** Synth takes seconds and is pure for a given context: one per context per process is enough. */
const cache = new Map<string, SynthesizedApp>();

export interface SynthesizeOptions {
  /**
   * Changes the app after `buildApp` and before synth, e.g. a probe consumer added by the chaos run or a test:
   * `(app) => app.stateless.addStreamConsumer('Probe', { ... })`. A function cannot be part of a cache key, so an
   * app synthesized with `extend` is never cached.
   */
  readonly extend?: (app: OrdersStreamApp) => void;
}

/**
 * Synthesizes the real app in-process, exactly as `cdk synth` would (same `buildApp`, the context of cdk.json with
 * `context` layered on top), so the sandbox and the tests read the same templates that deploy. Asset bundling is
 * skipped: the templates are what matters here, and bundling would need esbuild runs per function.
 */
export function synthesizeApp(
  context: Record<string, unknown> = {},
  options: SynthesizeOptions = {},
): SynthesizedApp {
  if (options.extend !== undefined) {
    return synthesizeUncached(context, options.extend);
  }
  const key = stableStringify(context);
  const cached = cache.get(key);
  if (cached !== undefined) {
    return cached;
  }
  const synthesized = synthesizeUncached(context, undefined);
  cache.set(key, synthesized);
  return synthesized;
}

function synthesizeUncached(
  context: Record<string, unknown>,
  extend: ((app: OrdersStreamApp) => void) | undefined,
): SynthesizedApp {
  // `new App()` reads cdk.json only when run by the CDK CLI (which passes it in CDK_CONTEXT_JSON), so the feature
  // flags and stage presets of cdk.json are merged here; without them the templates would differ from a real synth.
  const outdir = mkdtempSync(join(tmpdir(), 'orders-streams-synth-'));
  try {
    const app = new App({
      context: {
        ...readCdkJsonContext(),
        ...context,
        // The CLI turns path metadata on by default; the sandbox names local resources by these construct paths.
        'aws:cdk:enable-path-metadata': true,
        'aws:cdk:bundling-stacks': [],
      },
      outdir,
    });
    const built = buildApp(app);
    extend?.(built);
    const { config } = built;
    const assembly = app.synth();
    // Templates are read now: the out dir is removed below and the artifacts read their files lazily.
    const stacks: SynthesizedStack[] = assembly.stacks.map((artifact) => ({
      stackName: artifact.stackName,
      template: artifact.template as CfnTemplate,
    }));
    return createSynthesizedApp(config, stacks);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * Synthesizes the real app with its assets bundled, as `cdk synth` writes them: every NodejsFunction bundled by the
 * local esbuild into `<outdir>/asset.<hash>/`, which the caller owns (and removes). Never cached: the bundles are
 * what the caller reads, and they live in `outdir`. The benchmarks read the deployed bundles this way.
 */
export function synthesizeBundledApp(outdir: string, context: Record<string, unknown> = {}): SynthesizedApp {
  const app = new App({
    context: {
      ...readCdkJsonContext(),
      ...context,
      'aws:cdk:enable-path-metadata': true,
      // Names each function's asset directory in its Metadata (`aws:asset:path`), as the CLI does.
      'aws:cdk:enable-asset-metadata': true,
    },
    outdir,
  });
  const { config } = buildApp(app);
  const assembly = app.synth();
  return createSynthesizedApp(
    config,
    assembly.stacks.map((artifact) => ({
      stackName: artifact.stackName,
      template: artifact.template as CfnTemplate,
    })),
  );
}

function createSynthesizedApp(config: StageConfig, stacks: readonly SynthesizedStack[]): SynthesizedApp {
  return {
    config,
    stacks,
    stack(stackName: string): SynthesizedStack {
      const found = stacks.find((s) => s.stackName === stackName);
      if (found === undefined) {
        throw new UnknownStackError(
          stackName,
          stacks.map((s) => s.stackName),
        );
      }
      return found;
    },
    resourcesOfType(type: string): LocatedResource[] {
      return stacks.flatMap(({ stackName, template }) =>
        Object.entries(template.Resources ?? {})
          .filter(([, resource]) => resource.Type === type)
          .map(([logicalId, resource]) => ({ stackName, logicalId, resource })),
      );
    },
  };
}

function readCdkJsonContext(): Record<string, unknown> {
  const parsed = JSON.parse(readFileSync(CDK_JSON, 'utf8')) as { context?: Record<string, unknown> };
  return parsed.context ?? {};
}

/** JSON with object keys sorted, so that `{ a, b }` and `{ b, a }` share a cache entry. */
function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );
}
