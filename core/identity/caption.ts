/**
 * FaceChain's captions: the trigger token, then a phrase chosen by gender and age band
 * (FairFace bins 0-2, 3-9, 10-19, 20-29, 30-39, 40-49, 50-59, 60-69, 70+; bin < 2 is a child,
 * bin > 4 is "mature"), aggregated over all accepted photos.
 */

export const TRIGGER_TOKEN = '<fcsks>';

export type AgeBand = 'child' | 'adult' | 'mature';
export type Gender = 'male' | 'female';

/** FairFace age-bin index for an age in years. */
export function fairfaceBin(age: number): number {
  const edges = [3, 10, 20, 30, 40, 50, 60, 70];
  let bin = 0;
  while (bin < edges.length && age >= edges[bin]!) bin++;
  return bin;
}

export function ageBand(age: number): AgeBand {
  const bin = fairfaceBin(age);
  return bin < 2 ? 'child' : bin > 4 ? 'mature' : 'adult';
}

export function agePhrase(gender: Gender, band: AgeBand): string {
  if (band === 'child') return gender === 'male' ? 'a boy, children' : 'a girl, children';
  if (band === 'mature') return gender === 'male' ? 'a mature man' : 'a mature woman';
  return gender === 'male' ? 'a handsome man' : 'a beautiful woman';
}

export function caption(gender: Gender, band: AgeBand): string {
  return `${TRIGGER_TOKEN}, ${agePhrase(gender, band)}`;
}

/** One metadata.jsonl line, spaced exactly as FaceChain's json.dumps writes it. */
export function metadataLine(fileName: string, text: string): string {
  return `{"file_name": ${JSON.stringify(fileName)}, "text": ${JSON.stringify(text)}}`;
}
