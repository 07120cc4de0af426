import { existsSync, readdirSync } from 'node:fs';
import { join, posix } from 'node:path';

/**
 * The files under `start` (a repository-relative folder) that `accept` takes, repository-relative with `/`, in walk
 * order. Folders whose name `skipFolder` names are not entered; a missing `start` has no files. The one file walker of
 * the architecture tests (import-graph.ts, doc-references.ts).
 */
export function walkRepoFiles(
  root: string,
  start: string,
  accept: (path: string) => boolean,
  skipFolder: (name: string) => boolean,
): string[] {
  const files: string[] = [];
  const visit = (path: string): void => {
    const absolute = join(root, path);
    if (!existsSync(absolute)) return;
    for (const entry of readdirSync(absolute, { withFileTypes: true })) {
      const child = posix.join(path, entry.name);
      if (entry.isDirectory()) {
        if (!skipFolder(entry.name)) visit(child);
      } else if (accept(child)) {
        files.push(child);
      }
    }
  };
  visit(start);
  return files;
}
