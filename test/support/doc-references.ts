import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { walkRepoFiles } from './repo-files.js';

/**
 * The checker behind test/architecture/doc-references.test.ts: every document the code, the tests and the docs name
 * must be one the repository has. Two kinds of reference are read:
 *
 * - a mention, in any scanned file: a path ending in `.md` (with or without folders) or a path under `docs/`. It is
 *   found when it resolves, from the repository root or from the citing file's folder, to a file or folder inside
 *   the repository;
 * - a markdown link `[text](target)` in a `.md` file: the target resolves from the citing file's folder (from the
 *   root when it starts with `/`), as GitHub renders it, and its `#anchor`, when there is one, must be a heading (or
 *   an `<a id>`) of the target page.
 *
 * External addresses are not checked: a URL with a scheme is skipped, and so is the rest of a line after a bare host
 * such as `github.com/owner/repo` (what follows it is a path in that repository).
 */

/** The folders and root files scanned, relative to the repository root. */
export const SCANNED_ROOTS = [
  'README.md',
  'docs',
  'bin',
  'lib',
  'lambdas',
  'ops',
  'sandbox',
  'verify',
  'test',
];

const SCANNED_EXTENSION = /\.(ts|mts|md|json)$/;
const NOT_SCANNED = new Set(['node_modules', 'package-lock.json', 'cdk.out']);
/** The checker's own test: its synthetic texts name missing documents and pages on purpose. */
const NOT_SCANNED_FILES = new Set(['test/architecture/doc-references.test.ts']);

/** One reference a file makes to a document, with the 1-based line it is on. */
export interface DocReference {
  readonly line: number;
  readonly target: string;
}

/** Answers whether a repository-relative path (posix, no leading `./`) is a file or folder of the repository. */
export type PathExists = (path: string) => boolean;

const URL_WITH_SCHEME = /\b[a-z][a-z0-9+.-]*:\/\/[^\s)>\]'"`]*/gi;
const BARE_HOST = /\b(?:[a-z0-9-]+\.)+(?:com|org|net|io|dev)\//i;
const MARKDOWN_PATH = /(?<![\w./-])((?:[\w.-]+\/)*[\w.-]*[\w-]\.md)(?![\w-])/g;
const DOCS_PATH = /(?<![\w./-])docs\/[\w./-]*/g;
const MARKDOWN_LINK = /\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;
const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/** The part of a line that names local paths: URLs removed, and everything after a bare host. */
function localPart(line: string): string {
  const withoutUrls = line.replace(URL_WITH_SCHEME, ' ');
  const host = BARE_HOST.exec(withoutUrls);
  return host === null ? withoutUrls : withoutUrls.slice(0, host.index);
}

/**
 * Every mention of a markdown document or a `docs/` path in a text, in order, once per line and target. In markdown
 * (`markdown` true) the links are left out: markdownLinks reads them, and resolves them as GitHub does.
 */
export function documentMentions(text: string, markdown = false): DocReference[] {
  const mentions: DocReference[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = localPart(markdown ? raw.replace(MARKDOWN_LINK, ' ') : raw);
    const targets = new Set<string>();
    for (const match of line.matchAll(MARKDOWN_PATH)) targets.add(match[1] ?? '');
    for (const match of line.matchAll(DOCS_PATH)) targets.add(match[0].replace(/[.,:;]+$/, ''));
    for (const target of targets) mentions.push({ line: index + 1, target });
  });
  return mentions;
}

/** Every relative markdown link of a markdown text (URLs and `mailto:` left out), outside fenced code. */
export function markdownLinks(text: string): DocReference[] {
  const links: DocReference[] = [];
  let fenced = false;
  text.split('\n').forEach((line, index) => {
    if (/^\s*```/.test(line)) fenced = !fenced;
    if (fenced) return;
    for (const match of line.matchAll(MARKDOWN_LINK)) {
      const target = match[1] ?? '';
      if (!HAS_SCHEME.test(target)) links.push({ line: index + 1, target });
    }
  });
  return links;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors a markdown page offers: its headings (outside fenced code; repeats get -1, -2...) and `<a id>`s. */
export function pageAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of text.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading !== null) {
      const anchor = headingAnchor(heading[1] ?? '');
      const count = seen.get(anchor) ?? 0;
      seen.set(anchor, count + 1);
      anchors.add(count === 0 ? anchor : `${anchor}-${count}`);
    }
    for (const id of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(id[1] ?? '');
  }
  return anchors;
}

/** A repository-relative path, or undefined when the path leaves the repository. */
function inside(path: string): string | undefined {
  const normal = posix.normalize(path).replace(/\/$/, '');
  return normal.startsWith('..') || posix.isAbsolute(normal) ? undefined : normal;
}

/** What a mention in `file` names: from the repository root, or else from the file's folder; undefined if neither. */
export function resolveMention(file: string, target: string, exists: PathExists): string | undefined {
  const candidates = target.startsWith('/')
    ? [inside(target.slice(1))]
    : [inside(target), inside(posix.join(posix.dirname(file), target))];
  return candidates.find((path): path is string => path !== undefined && exists(path));
}

/** The page a markdown link in `file` names (its `#anchor` and `?query` cut off), as GitHub resolves it. */
export function linkPath(file: string, target: string): string | undefined {
  const path = target.replace(/[#?].*$/, '');
  if (path === '') return file;
  return path.startsWith('/') ? inside(path.slice(1)) : inside(posix.join(posix.dirname(file), path));
}

/** Every scanned file, repository-relative with `/`: .ts, .md and .json under SCANNED_ROOTS. */
export function scannedFiles(root: string): string[] {
  const files: string[] = [];
  for (const start of SCANNED_ROOTS) {
    if (SCANNED_EXTENSION.test(start)) {
      if (existsSync(join(root, start))) files.push(start);
    } else {
      files.push(
        ...walkRepoFiles(
          root,
          start,
          (path) => {
            const name = posix.basename(path);
            return (
              !name.startsWith('.') &&
              !NOT_SCANNED.has(name) &&
              SCANNED_EXTENSION.test(name) &&
              !NOT_SCANNED_FILES.has(path)
            );
          },
          (name) => name.startsWith('.') || NOT_SCANNED.has(name),
        ),
      );
    }
  }
  return files.sort();
}

/** The texts of some files: repository-relative path to content. */
export type Texts = ReadonlyMap<string, string>;

/**
 * Every reference in `texts` that names a document the repository lacks, as `file:line: ...` sentences. `exists`
 * answers for paths; `pageText` gives a markdown page's text for its anchors (undefined when it cannot be read).
 */
export function brokenReferences(
  texts: Texts,
  exists: PathExists,
  pageText: (path: string) => string | undefined,
): string[] {
  const problems: string[] = [];
  for (const [file, text] of texts) {
    for (const { line, target } of documentMentions(text, file.endsWith('.md'))) {
      if (resolveMention(file, target, exists) === undefined) {
        problems.push(`${file}:${line}: names ${target}, which the repository does not have`);
      }
    }
    if (!file.endsWith('.md')) continue;
    for (const { line, target } of markdownLinks(text)) {
      const path = linkPath(file, target);
      if (path === undefined || !exists(path)) {
        problems.push(`${file}:${line}: links to ${target}, which the repository does not have`);
        continue;
      }
      const anchor = /#(.+)$/.exec(target)?.[1];
      if (anchor === undefined || !path.endsWith('.md')) continue;
      const page = pageText(path);
      if (page !== undefined && !pageAnchors(page).has(decodeURIComponent(anchor))) {
        problems.push(
          `${file}:${line}: links to ${target}, but ${path} has no heading with anchor #${anchor}`,
        );
      }
    }
  }
  return problems;
}

/** brokenReferences over the scanned files of the repository at `root`. */
export function brokenReferencesIn(root: string): string[] {
  const texts = new Map(scannedFiles(root).map((file) => [file, readFileSync(join(root, file), 'utf8')]));
  const exists: PathExists = (path) => existsSync(join(root, path));
  return brokenReferences(texts, exists, (path) => texts.get(path) ?? readIfExists(join(root, path)));
}

function readIfExists(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}
