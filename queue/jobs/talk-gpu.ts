/**
 * talk-gpu: the `talk` job (talk.ts: same data, result and reply) on gpu-talk with the GPU
 * engine (SadTalker-class ONNX export, core/talk/sadtalker.ts). It runs only where that engine's
 * verified model files are installed; the command sends requests here when such a worker runs.
 */
import { log } from '../../base/log.ts';
import { defineJob, inThread, notInstalled, type ProcessorContext } from './define.ts';
import { makeTalk, talkData, talkReply, talkResult } from './talk.ts';

export const talkGpu = defineJob({
  name: 'talk-gpu',
  queue: 'gpu-talk',
  data: talkData,
  result: talkResult,
  feature: {
    name: 'Talking portraits on the GPU',
    howToEnable: 'It needs a gpu-talk worker with a SadTalker ONNX export installed (docs/talk.md).',
  },
  reply: talkReply,
  async processor() {
    const { config } = await import('../../core/config.ts');
    const { ModelStore } = await import('../../models/store.ts');
    const { engineStatus } = await import('../../core/talk/engines.ts');
    const enhance = config().FACECHAIN_TALK_ENHANCE;
    const gpu = (await engineStatus(new ModelStore(config().modelsDir), { enhance })).find(
      (e) => e.name === 'sadtalker',
    );
    if (gpu?.available) return inThread(import.meta.url);
    log('queue').info({ problem: gpu?.reason }, 'GPU talking portraits not available on this worker');
    return notInstalled(gpu?.reason);
  },
});

export function process(ctx: ProcessorContext<Parameters<typeof makeTalk>[0]['data']>) {
  return makeTalk(ctx, 'sadtalker');
}
