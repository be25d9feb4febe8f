// The HTTP half of the narrative: one POST to an OpenAI-compatible `/chat/completions` endpoint with a time
// limit. It never throws: whatever goes wrong — no answer, a slow one, an HTTP error, JSON of another shape —
// comes back as `{ unavailable: why }`, and the caller prints the plain reasons either way.
import axios from 'axios';
import { buildNarrativePrompt, parseChatCompletion, type NarrativeFacts, type NarrativeResult } from './prompt.js';

export const defaultNarrativeTimeoutMs = 10_000;

export interface NarrativeOptions {
  /** The API base, e.g. http://localhost:11434/v1 (Ollama) or https://api.example/v1; `/chat/completions` is added. */
  endpoint: string;
  model: string;
  /** Sent as `Authorization: Bearer …` when given; a local Ollama needs none. */
  apiKey?: string | undefined;
  /** The whole request, answer included (default 10 s). */
  timeoutMs?: number | undefined;
}

function completionsUrl(endpoint: string): URL | undefined {
  try {
    const url = new URL(`${endpoint.replace(/\/+$/, '')}/chat/completions`);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

function httpErrorText(data: unknown): string {
  if (typeof data === 'object' && data !== null && 'error' in data) {
    const error = data.error;
    if (typeof error === 'string') return error;
    if (typeof error === 'object' && error !== null && 'message' in error) {
      const message = error.message;
      if (typeof message === 'string') return message;
    }
  }
  if (typeof data === 'string') return data.slice(0, 200);
  return '';
}

/** A three-sentence summary of the assessment from the model, or why there is none. Never throws. */
export async function narrate(facts: NarrativeFacts, options: NarrativeOptions): Promise<NarrativeResult> {
  const timeoutMs = options.timeoutMs ?? defaultNarrativeTimeoutMs;
  const url = completionsUrl(options.endpoint);
  if (!url) return { unavailable: `the LLM endpoint "${options.endpoint}" is not an http:// or https:// URL` };
  if (options.model.trim() === '') return { unavailable: 'no model named for the LLM endpoint' };
  try {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
    const response = await axios.post<unknown>(
      url.toString(),
      {
        model: options.model,
        messages: buildNarrativePrompt(facts),
        temperature: 0,
        max_tokens: 400,
        stream: false,
      },
      {
        headers,
        timeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
        maxContentLength: 1_048_576,
        responseType: 'json',
        validateStatus: () => true,
      },
    );
    if (response.status < 200 || response.status >= 300) {
      const detail = httpErrorText(response.data);
      return { unavailable: `${url.origin} answered HTTP ${response.status}${detail ? `: ${detail}` : ''}` };
    }
    return parseChatCompletion(response.data);
  } catch (err) {
    if (axios.isAxiosError(err)) {
      if (err.code === 'ECONNABORTED' || err.code === 'ERR_CANCELED' || err.code === 'ETIMEDOUT') {
        return { unavailable: `${url.origin} gave no answer within ${timeoutMs / 1000} s` };
      }
      const detail = err.code && !err.message.includes(err.code) ? `${err.code}: ${err.message}` : err.message;
      return { unavailable: `cannot reach ${url.origin}: ${detail}` };
    }
    return { unavailable: err instanceof Error ? err.message : String(err) };
  }
}
