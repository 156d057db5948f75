// Worker-thread entry: registers tsx in this thread (loaders are per thread), then loads the
// TypeScript thread main. Plain JS because the thread starts before any loader exists.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
