// narrate() over HTTP. The server here is a fake of a third-party LLM service: a tiny local HTTP server
// that speaks the OpenAI chat-completions JSON (as Ollama's /v1 does). A fake is acceptable for this one
// boundary because no real model can run on this machine; what is under test is rollguard's side — the
// request it sends, the time limit, and that every failure becomes `{ unavailable }` instead of an error.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { narrate } from './narrate.js';
import { narrativeFactsOf, narrativeSystemPrompt, type NarrativeFacts } from './prompt.js';

const facts: NarrativeFacts = narrativeFactsOf({
  metadata: { name: 'checkout-7', namespace: 'shop' },
  spec: { deployment: 'checkout', revision: 7 },
  status: { score: 0.64, level: 'rollback-ready', outcome: 'rolled-back', reasons: ['low test coverage (35 %)'] },
});

interface Received {
  method: string | undefined;
  url: string | undefined;
  authorization: string | undefined;
  body: { model?: string; messages?: { role: string; content: string }[]; stream?: boolean };
}

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => {
            resolve();
          });
        }),
    ),
  );
});

/** A chat-completions server on loopback; `answer` decides the status and body for each request. */
async function fakeLlm(
  answer: (received: Received) => { status: number; body: unknown; delayMs?: number },
): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      const r: Received = {
        method: req.method,
        url: req.url,
        authorization: req.headers.authorization,
        body: JSON.parse(raw) as Received['body'],
      };
      received.push(r);
      const { status, body, delayMs } = answer(r);
      setTimeout(() => {
        res.statusCode = status;
        res.setHeader('content-type', typeof body === 'string' ? 'text/plain' : 'application/json');
        res.end(typeof body === 'string' ? body : JSON.stringify(body));
      }, delayMs ?? 0);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, received };
}

const completion = (content: string) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  model: 'llama3.2',
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
});

describe('narrate', () => {
  it('posts the prompt to /chat/completions and returns the summary', async () => {
    const llm = await fakeLlm(() => ({ status: 200, body: completion('Revision 7 of checkout was rolled back.') }));
    const result = await narrate(facts, {
      endpoint: `${llm.url}/`,
      model: 'llama3.2',
      apiKey: 'sk-test',
      timeoutMs: 2000,
    });
    expect(result).toEqual({ text: 'Revision 7 of checkout was rolled back.' });
    const [request] = llm.received;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/v1/chat/completions');
    expect(request?.authorization).toBe('Bearer sk-test');
    expect(request?.body.model).toBe('llama3.2');
    expect(request?.body.stream).toBe(false);
    expect(request?.body.messages?.[0]).toEqual({ role: 'system', content: narrativeSystemPrompt });
    expect(request?.body.messages?.[1]?.content).toContain('low test coverage (35 %)');
  });

  it('sends no Authorization header without a key', async () => {
    const llm = await fakeLlm(() => ({ status: 200, body: completion('ok') }));
    await narrate(facts, { endpoint: llm.url, model: 'm', timeoutMs: 2000 });
    expect(llm.received[0]?.authorization).toBeUndefined();
  });

  it('gives up after the time limit', async () => {
    const llm = await fakeLlm(() => ({ status: 200, body: completion('too late'), delayMs: 3000 }));
    const started = Date.now();
    const result = await narrate(facts, { endpoint: llm.url, model: 'm', timeoutMs: 200 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result).toEqual({ unavailable: expect.stringContaining('gave no answer within 0.2 s') as unknown });
  });

  it('reports an HTTP error with the endpoint’s own message', async () => {
    const llm = await fakeLlm(() => ({
      status: 404,
      body: { error: { message: 'model "m" not found, try pulling it first' } },
    }));
    const result = await narrate(facts, { endpoint: llm.url, model: 'm', timeoutMs: 2000 });
    expect(result).toEqual({
      unavailable: expect.stringMatching(/answered HTTP 404: model "m" not found, try pulling it first$/) as unknown,
    });
  });

  it('reports an answer that is not chat-completions JSON', async () => {
    const llm = await fakeLlm(() => ({ status: 200, body: 'hello' }));
    expect(await narrate(facts, { endpoint: llm.url, model: 'm', timeoutMs: 2000 })).toEqual({
      unavailable: 'the endpoint did not answer with chat-completions JSON',
    });
  });

  it('reports an endpoint where nothing listens, without throwing', async () => {
    const llm = await fakeLlm(() => ({ status: 200, body: completion('x') }));
    const server = servers.pop();
    await new Promise<void>((resolve) => {
      server?.close(() => {
        resolve();
      });
    });
    const result = await narrate(facts, { endpoint: llm.url, model: 'm', timeoutMs: 2000 });
    expect('unavailable' in result && result.unavailable).toMatch(
      /^cannot reach http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/,
    );
  });

  it('refuses an endpoint that is not an http(s) URL, and a missing model', async () => {
    expect(await narrate(facts, { endpoint: 'file:///etc/passwd', model: 'm' })).toEqual({
      unavailable: 'the LLM endpoint "file:///etc/passwd" is not an http:// or https:// URL',
    });
    expect(await narrate(facts, { endpoint: 'http://127.0.0.1:1/v1', model: ' ' })).toEqual({
      unavailable: 'no model named for the LLM endpoint',
    });
  });
});
