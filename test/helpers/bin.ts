// How to run one of our programs from a test, compiled (npm test runs dist/)
// or from source (npx tsx --test …).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function binCommand(name: 'pptpd' | 'pptpctl'): string[] {
  const js = fileURLToPath(new URL(`../../src/cli/${name}.js`, import.meta.url));
  if (existsSync(js)) return [process.execPath, js];
  const ts = fileURLToPath(new URL(`../../src/cli/${name}.ts`, import.meta.url));
  return [process.execPath, '--import', 'tsx', ts];
}
