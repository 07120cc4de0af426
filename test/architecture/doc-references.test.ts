import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  brokenReferences,
  brokenReferencesIn,
  documentMentions,
  headingAnchor,
  markdownLinks,
  type PathExists,
  pageAnchors,
  scannedFiles,
} from '../support/doc-references.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const README_MAX_LINES = 300;

// Built at run time, so that this file does not itself name a document the repository lacks.
const MISSING_BRIEF = ['DESIGN', 'md'].join('.');
const MISSING_PAGE = ['docs/pipelines/no-such-pipeline', 'md'].join('.');

describe('the documents the repository names (docs/development.md)', () => {
  it('scans the README, the docs, the code and the tests', () => {
    // Act
    const files: string[] = scannedFiles(ROOT);

    // Assess: an empty scan could not find a broken reference.
    expect(files).toContain('README.md');
    expect(files).toContain('docs/architecture.md');
    for (const folder of [
      'docs/pipelines/',
      'bin/',
      'lib/',
      'lambdas/',
      'ops/',
      'sandbox/',
      'verify/',
      'test/',
    ]) {
      expect(
        files.some((file) => file.startsWith(folder)),
        folder,
      ).toBe(true);
    }
  });

  it('names only documents, folders and headings that exist', () => {
    // Act
    const problems: string[] = brokenReferencesIn(ROOT);

    // Assess
    expect(problems).toEqual([]);
  });

  it(`keeps the README at most ${README_MAX_LINES} lines`, () => {
    // Prepare
    const readme: string = readFileSync(join(ROOT, 'README.md'), 'utf8');

    // Act
    const lines: number = readme.trimEnd().split('\n').length;

    // Assess
    expect(lines).toBeLessThanOrEqual(README_MAX_LINES);
  });
});

describe('the reference checker', () => {
  const files: ReadonlySet<string> = new Set([
    'README.md',
    'docs',
    'docs/architecture.md',
    'docs/pipelines',
    'docs/pipelines/search-sync.md',
    'lambdas/shared/errors.ts',
  ]);
  const exists: PathExists = (path) => files.has(path);
  const pages: ReadonlyMap<string, string> = new Map([
    [
      'docs/architecture.md',
      '# Architecture\n\n<a id="contract-4"></a>\n\n### Contract 4: permanent failures\n',
    ],
    ['docs/pipelines/search-sync.md', '# Search sync\n\n## Versioning and tombstones\n'],
  ]);
  const check = (file: string, text: string): string[] =>
    brokenReferences(new Map([[file, text]]), exists, (path) => pages.get(path));

  it('fails on a bare document the repository lacks, naming file and line', () => {
    // Prepare
    const text = ['/**', ` * How a failed record is treated (${MISSING_BRIEF}, contract 4).`, ' */'].join(
      '\n',
    );

    // Act
    const problems = check('lambdas/shared/errors.ts', text);

    // Assess
    expect(problems).toEqual([
      `lambdas/shared/errors.ts:2: names ${MISSING_BRIEF}, which the repository does not have`,
    ]);
  });

  it('fails on a path outside the repository, even when the file exists there', () => {
    // Prepare
    const text = `See \`../shared/${MISSING_BRIEF}\` for the full design.`;

    // Act
    const problems = check('README.md', text);

    // Assess
    expect(problems).toEqual([
      `README.md:1: names ../shared/${MISSING_BRIEF}, which the repository does not have`,
    ]);
  });

  it('fails on a missing docs/ path and a missing link target, and passes the ones that exist', () => {
    // Prepare
    const text = [
      '# Title',
      'The contract: docs/architecture.md, contract 4; the search sync: docs/pipelines/search-sync.md.',
      `The vote page: ${MISSING_PAGE}.`,
      `[votes](${MISSING_PAGE.replace('docs/', '')}) and [search](pipelines/search-sync.md#versioning-and-tombstones)`,
    ].join('\n');

    // Act
    const problems = check('docs/orders-api.md', text);

    // Assess
    expect(problems).toEqual([
      `docs/orders-api.md:3: names ${MISSING_PAGE}, which the repository does not have`,
      `docs/orders-api.md:4: links to ${MISSING_PAGE.replace('docs/', '')}, which the repository does not have`,
    ]);
  });

  it('resolves a mention from the citing file folder too', () => {
    // Prepare
    const text = 'Its sibling: search-sync.md; its parent: ../architecture.md.';

    // Act
    const problems = check('docs/pipelines/audit-log.md', text);

    // Assess
    expect(problems).toEqual([]);
  });

  it('fails on an anchor the linked page lacks, and passes headings and <a id> anchors', () => {
    // Prepare
    const text = [
      '[4](architecture.md#contract-4) [4](architecture.md#contract-4-permanent-failures)',
      '[5](architecture.md#contract-5)',
    ].join('\n');

    // Act
    const problems = check('docs/orders-api.md', text);

    // Assess
    expect(problems).toEqual([
      'docs/orders-api.md:2: links to architecture.md#contract-5, but docs/architecture.md has no heading with anchor #contract-5',
    ]);
  });

  it('leaves external addresses alone', () => {
    // Prepare
    const text = [
      `[guide](https://example.com/${MISSING_BRIEF}) <mailto:ops@example.com>`,
      ` * source: github.com/awsdocs/some-guide, doc_source/${MISSING_BRIEF}). Its Python`,
    ].join('\n');

    // Act
    const problems = check('README.md', text);

    // Assess
    expect(problems).toEqual([]);
  });

  it('reads mentions with and without folders, once per line, and links outside fenced code only', () => {
    // Prepare
    const text = [
      'See [docs/first-deploy.md](docs/first-deploy.md) and README.md, and docs/pipelines/.',
      '```md',
      `[not a link](${MISSING_BRIEF})`,
      '```',
    ].join('\n');

    // Act
    const inCode = documentMentions(text);
    const inMarkdown = documentMentions(text, true);
    const links = markdownLinks(text);

    // Assess
    expect(inCode).toEqual([
      { line: 1, target: 'docs/first-deploy.md' },
      { line: 1, target: 'README.md' },
      { line: 1, target: 'docs/pipelines/' },
      { line: 3, target: MISSING_BRIEF },
    ]);
    expect(inMarkdown).toEqual([
      { line: 1, target: 'README.md' },
      { line: 1, target: 'docs/pipelines/' },
    ]);
    expect(links).toEqual([{ line: 1, target: 'docs/first-deploy.md' }]);
  });

  it('makes anchors as GitHub does', () => {
    // Act
    const anchors = pageAnchors(
      ['# Ops', '## Backfill and drift: `npm run backfill:search`', '## Ops'].join('\n'),
    );

    // Assess
    expect(headingAnchor('Delivery settings (`AUDIT_LOG_MAPPING`)')).toBe(
      'delivery-settings-audit_log_mapping',
    );
    expect([...anchors]).toEqual(['ops', 'backfill-and-drift-npm-run-backfillsearch', 'ops-1']);
  });
});
