import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { stackNames } from '../../lib/app.js';
import { synthesizeApp, UnknownStackError } from '../../sandbox/synth.js';

/** The stage presets as cdk.json defines them: expectations are derived from the file, never copied from it. */
const cdkJsonStages = (
  JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
    context: { stage: string; stages: Record<string, Record<string, unknown>> };
  }
).context;

describe('synthesizeApp', () => {
  it.each([
    { name: 'the default stage of cdk.json', context: {}, stage: cdkJsonStages.stage },
    { name: 'a stage chosen by context', context: { stage: 'prod' }, stage: 'prod' },
  ])('synthesizes the real app for $name', ({ context, stage }) => {
    // Act
    const app = synthesizeApp(context);

    // Assess
    const names = stackNames(stage);
    expect(app.config).toMatchObject({ stageName: stage, ...cdkJsonStages.stages[stage] });
    expect(app.stacks.map((s) => s.stackName)).toEqual([names.stateful, names.stateless]);
    expect(app.stack(names.stateful).template.Resources).toBeTypeOf('object');
  });

  it('lets the given context override a key of the cdk.json preset', () => {
    // Prepare
    const preset = cdkJsonStages.stages.prod!;
    const functionMemoryMb = (preset.functionMemoryMb as number) * 2;

    // Act
    const app = synthesizeApp({ stage: 'prod', functionMemoryMb });

    // Assess
    // toMatchObject: the config also holds what the loader derives (e.g. the e-mail identity from the From address).
    expect(app.config).toMatchObject({ ...preset, stageName: 'prod', functionMemoryMb });
  });

  it('returns the cached synthesis for an equal context, whatever its key order', () => {
    // Prepare
    const first = synthesizeApp({ stage: 'prod', functionMemoryMb: 2048 });

    // Act
    const again = synthesizeApp({ functionMemoryMb: 2048, stage: 'prod' });
    const other = synthesizeApp({ stage: 'prod', functionMemoryMb: 4096 });

    // Assess
    expect(again).toBe(first);
    expect(other).not.toBe(first);
  });

  it('finds resources by type across stacks, with their construct paths', () => {
    // Prepare
    const app = synthesizeApp();

    // Act
    const tables = app.resourcesOfType('AWS::DynamoDB::Table');

    // Assess
    const { stateful } = stackNames(app.config.stageName);
    expect(tables.map((t) => t.resource.Metadata?.['aws:cdk:path'])).toEqual(
      ['Orders', 'Votes', 'PollResults', 'Inventory', 'Idempotency'].map(
        (id) => `${stateful}/Tables/${id}/Resource`,
      ),
    );
    expect(
      tables.every((t) => t.stackName === stateful && t.logicalId in app.stack(stateful).template.Resources),
    ).toBe(true);
  });

  it('throws naming the known stacks for an unknown one', () => {
    // Prepare
    const app = synthesizeApp();

    // Act
    const act = (): unknown => app.stack('NoSuchStack');

    // Assess
    expect(act).toThrow(UnknownStackError);
    expect(act).toThrow(app.stacks[0]!.stackName);
  });
});
