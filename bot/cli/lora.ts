/** `facechain lora inspect <file.safetensors>…`: what a LoRA holds and how it maps onto SD 1.5. */
import { config } from '../../core/config.ts';
import { loadLora } from '../../core/lora/lora.ts';
import { matchLoras } from '../../core/lora/match.ts';
import { sd15TextEncoderLayers, sd15UnetLayers } from '../../core/lora/sd15.ts';
import { parseCommandLine, UsageError } from './args.ts';
import type { CliCommand } from './main.ts';

export const command: CliCommand = {
  summary: 'Inspect LoRA files: key format, layers, ranks, alpha, and which SD 1.5 layers they adapt.',
  usage: 'facechain lora inspect <file.safetensors>…',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub !== 'inspect') throw new UsageError(sub ? `Unknown subcommand "${sub}".` : 'Which subcommand?');
    const files = parseCommandLine(rest, {
      positionals: { min: 1, max: Infinity, what: 'file' },
    }).positionals;
    let bad = 0;
    for (const file of files) {
      try {
        const lora = await loadLora(file, {
          maxBytes: config().FACECHAIN_MAX_LORA_BYTES,
          maxRank: config().FACECHAIN_MAX_LORA_RANK,
        });
        const u = matchLoras(sd15UnetLayers('transformer'), 'unet', [{ lora, multiplier: 1 }]);
        const t = matchLoras(sd15TextEncoderLayers(), 'text_encoder', [{ lora, multiplier: 1 }]);
        const ranks = [...new Set(lora.modules.map((m) => m.rank))].sort((a, b) => a - b);
        const alphas = [...new Set(lora.modules.map((m) => m.alpha))].sort((a, b) => a - b);
        const lines = [
          `${file}`,
          `  format: ${lora.formats.join(', ')}; layers: ${lora.modules.length}; rank ${ranks.join('/')}; alpha ${alphas.join('/')}`,
          `  SD 1.5 UNet layers adapted: ${u.matched.length}; text encoder layers: ${t.matched.length}`,
          `  layers matching no SD 1.5 layer: ${u.unmatched.length + t.unmatched.length}` +
            (u.unmatched.length + t.unmatched.length
              ? ` (first: ${[...u.unmatched, ...t.unmatched][0]!.slice(file.length + 2)})`
              : ''),
          `  unsupported keys: ${lora.unsupportedKeys.length}${lora.unsupportedKeys.length ? ` (first: ${lora.unsupportedKeys[0]})` : ''}`,
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
        if (u.matched.length + t.matched.length === 0) bad++;
      } catch (e) {
        bad++;
        process.stderr.write(`${file}: ${(e as Error).message}\n`);
      }
    }
    return bad ? 1 : 0;
  },
};
