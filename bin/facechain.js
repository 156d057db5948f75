#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so `npx facechain` works right after `npm ci`.
import { register } from 'tsx/esm/api';

register();
await import('../bot/cli/main.ts');
