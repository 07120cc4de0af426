import { fileURLToPath } from 'node:url';

/**
 * `<repo>/.sandbox` (gitignored): where the sandbox writes its outputs, and where the tools that read them look by
 * default. In a module of its own, so that a tool needs not import the sandbox system (and aws-cdk-lib) to find it.
 */
export const DEFAULT_OUTPUT_DIR = fileURLToPath(new URL('../.sandbox', import.meta.url));
