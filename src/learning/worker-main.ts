// The entry of a worker thread (see worker.ts): takes one WorkerJob, posts one WorkerReply. Errors are posted as
// data, not thrown, so the controller gets the job's own message (e.g. "over 1008 KiB").
import { parentPort, threadId } from 'node:worker_threads';
import { apacheJitReference } from './reference.js';
import { runRetrain, type WorkerJob, type WorkerReply } from './worker.js';

const port = parentPort;
if (port === null) throw new Error('worker-main runs only as a worker thread (see runInThread)');

port.once('message', (job: WorkerJob) => {
  let reply: WorkerReply;
  try {
    reply = {
      ok: true,
      result: job.kind === 'retrain' ? runRetrain(job.request) : { summary: apacheJitReference(job.csv), threadId },
    };
  } catch (err) {
    reply =
      err instanceof Error
        ? { ok: false, name: err.name, message: err.message }
        : { ok: false, name: 'Error', message: String(err) };
  }
  port.postMessage(reply);
});
