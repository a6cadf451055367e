import { readFileSync } from 'node:fs';

// package.json sits one level above both src/ (tests) and dist/ (built), so this resolves either way.
export const VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
