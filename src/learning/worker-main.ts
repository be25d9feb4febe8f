// The entry of a retraining thread (see worker.ts): takes one RetrainRequest, posts one WorkerReply. Errors are
// posted as data, not thrown, so the controller gets the trainer's own message (e.g. "over 1008 KiB").
import { parentPort } from 'node:worker_threads';
import { runRetrain, type RetrainRequest, type WorkerReply } from './worker.js';

const port = parentPort;
if (port === null) throw new Error('worker-main runs only as a worker thread (see WorkerTrainer)');

port.once('message', (request: RetrainRequest) => {
  let reply: WorkerReply;
  try {
    reply = { ok: true, result: runRetrain(request) };
  } catch (err) {
    reply =
      err instanceof Error
        ? { ok: false, name: err.name, message: err.message }
        : { ok: false, name: 'Error', message: String(err) };
  }
  port.postMessage(reply);
});
