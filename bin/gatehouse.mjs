#!/usr/bin/env node
// `npx gatehouse …` from the checkout: registers tsx's ESM loader in this process (no second
// node process to spawn) and runs the TypeScript CLI.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/gatehouse.ts');
