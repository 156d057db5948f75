/**
 * `npm run bench -- <name> [args…]` runs bench/<name>.ts with its arguments; without a name it
 * lists the benches. Each bench prints its figures with the machine's core count.
 */
import { readdirSync } from 'node:fs';
import os from 'node:os';

const names = readdirSync(new URL('./', import.meta.url))
  .filter((f) => f.endsWith('.ts') && f !== 'index.ts')
  .map((f) => f.slice(0, -3))
  .sort();
const [name, ...rest] = process.argv.slice(2);
if (!name || !names.includes(name)) {
  process.stderr.write(
    `${name ? `no bench "${name}". ` : ''}usage: npm run bench -- <name> [args]   (${os.availableParallelism()} cores)\nbenches: ${names.join(', ')}\n`,
  );
  process.exit(name ? 2 : 0);
}
process.argv = [process.argv[0]!, new URL(`./${name}.ts`, import.meta.url).pathname, ...rest];
await import(`./${name}.ts`);
