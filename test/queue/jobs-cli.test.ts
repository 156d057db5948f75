import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { Producer } from '../../queue/producer.ts';
import { JobWorker } from '../../queue/worker.ts';
import { cleanup, cliEnv, testOptions } from './helpers.ts';

const run = promisify(execFile);
const opts = testOptions();
const env = cliEnv(opts);
const cli = (...args: string[]) =>
  run(process.execPath, ['bin/facechain.js', 'jobs', ...args], { env }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );

afterEach(async () => {
  await cleanup(opts);
});

describe('facechain jobs', () => {
  it("runs a job's processor here through its declaration, without a queue or a worker", async () => {
    const put = await cli('put', 'test/fixtures/faces/astronaut.png');
    const { ref } = JSON.parse(put.stdout);
    const ok = await cli('run', 'analyze', JSON.stringify({ photo: ref }));
    expect(ok.code).toBe(0);
    const result = JSON.parse(ok.stdout);
    expect(result.faces).toBe(1);
    expect(result.report).toMatch(/^cli-operator\/[0-9a-f]{64}\.json$/);
    expect(ok.stderr).toMatch(/analyze \d+%/);
    // The job's own schema refuses bad data; a job without its models says what to install.
    const bad = await cli('run', 'analyze', JSON.stringify({ photo: 'not-a-ref' }));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/data\.photo/);
    const missing = await cli('run', 'talk', JSON.stringify({ portrait: ref, text: 'hi' }));
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/not available/);
  });

  it('stores a file, adds, lists, shows, cancels and forgets; refuses what no worker runs', async () => {
    const put = await cli('put', 'test/fixtures/faces/astronaut.png');
    expect(put.code).toBe(0);
    const { ref } = JSON.parse(put.stdout);
    expect(ref).toMatch(/^cli-operator\/[0-9a-f]{64}\.png$/);
    // No worker runs analyze under this prefix: the operator is told at once.
    const refused = await cli('add', 'analyze', JSON.stringify({ photo: ref }), '--id', 'cli-t1');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/Photo analysis is not available on this deployment.*\[not_available\]/);
    // A CPU worker comes and goes: its advertisement lasts 90 s, so the job is accepted and waits.
    const producer = new Producer(opts);
    const worker = new JobWorker(opts, { queues: ['cpu'] });
    await worker.start();
    await worker.close(100);
    expect(await producer.available('analyze')).toBe(true);
    expect(await producer.available('generate')).toBe(false);
    const added = await cli('add', 'analyze', JSON.stringify({ photo: ref }), '--id', 'cli-t2');
    expect(JSON.parse(added.stdout)).toEqual({ id: 'cli-t2', queue: 'cpu', duplicate: false });
    const bad = await cli('add', 'analyze', '{"photo": "https://example.org/a.jpg"}');
    expect(bad.stderr).toMatch(/URLs are not allowed/);
    const status = JSON.parse((await cli('status', 'cli-t2')).stdout);
    expect(status).toMatchObject({ id: 'cli-t2', state: 'waiting', position: 1, user: 'cli-operator' });
    expect((await cli('list')).stdout).toMatch(/cli-t2\s+analyze\s+waiting\s+cli-operator #1/);
    expect((await cli('cancel', 'cli-t2')).stdout).toMatch(/cancelled cli-t2/);
    expect((await cli('status', 'cli-t2')).code).toBe(1);
    const receipt = JSON.parse((await cli('forget', 'cli-operator')).stdout);
    expect(receipt.removed.files).toBe(1);
    expect(await producer.artifacts.listUser('cli-operator')).toEqual([]);
    await producer.close();
  }, 60_000);
});
