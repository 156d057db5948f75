#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so `npx facechain` works right after `npm ci`.
import { existsSync } from 'node:fs';
import { register } from 'tsx/esm/api';

// Settings may come from a .env file in the working folder (see .env.example); the environment wins.
if (existsSync('.env')) process.loadEnvFile('.env');
register();
const { runCli } = await import('../bot/cli/main.ts');
process.exitCode = await runCli(process.argv.slice(2));
