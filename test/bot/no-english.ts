/**
 * What a Chinese user may see in Latin letters: what they sent or typed, and names of things
 * (commands, files, style ids, product names). Anything else in two Latin words is English prose.
 */
/** Names that are not English prose: what the user sent or typed, and names of things. */
export const ALLOWED = [
  /\/[a-z]+/g, // commands
  /[\w.-]+\.(?:png|jpe?g|webp|safetensors)/gi, // file names
  /\b[a-z]+(?:-[a-z0-9]+)+\b/g, // style ids, option values like zh-CN
  /\b(?:FaceChain|LoRA|JPEG|PNG|WebP|UTC|OpenPose|SD|iPhone|MP3|M4A|OGG|WAV|Hz|MB|ID)\b/g,
  /\((?:count|seed|style|rate|pitch|face|strength|prompt|text|voice|language)\)|（(?:count|seed|style|rate|pitch|face|strength|prompt|text|voice|language)）/g,
  /\b(?:count|rate)=\w+/g, // what the user typed
  /\b(?:tg|dc|web)-[\w-]+/g, // job ids the user is shown to use
];

/** English prose left after removing allowed names: any two Latin words in a row. */
export function english(text: string): string | undefined {
  let rest = text;
  for (const re of ALLOWED) rest = rest.replace(re, ' ');
  return /[A-Za-z]{2,}[ ,.'’:;!?-]+[A-Za-z]{2,}/.exec(rest)?.[0];
}
