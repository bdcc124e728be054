import { DroverError } from '@drover/shared';

export interface LlmOptions {
  /** An OpenAI-compatible chat completions endpoint (DROVER_LLM_URL). */
  url: string;
  model: string;
  apiKey?: string;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/**
 * The smallest client of an OpenAI-compatible chat endpoint: one POST per answer. A 429 or 5xx
 * is a retryable task error (the task's retry policy decides), any other refusal a permanent one.
 */
export class LlmClient {
  constructor(private readonly options: LlmOptions) {}

  async chat(messages: ChatMessage[], signal: AbortSignal): Promise<string> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const res = await fetch(this.options.url, { method: 'POST', headers, body: JSON.stringify({ model: this.options.model, messages }), signal });
    if (!res.ok) {
      await res.body?.cancel();
      const retryable = res.status === 429 || res.status >= 500;
      throw new DroverError('TASK_FAILED', `The LLM endpoint (DROVER_LLM_URL) answered ${res.status}.`, { retryable });
    }
    const body = (await res.json()) as { choices?: Array<{ message?: { content?: unknown } }> };
    const content = body.choices?.[0]?.message?.content;
    if (typeof content !== 'string') throw new DroverError('TASK_FAILED', 'The LLM endpoint (DROVER_LLM_URL) answered without choices[0].message.content.', { retryable: true });
    return content.trim();
  }
}

/** The LLM options of a loaded config, or undefined when DROVER_LLM_URL is not set. */
export function llmOptions(config: { llm: { url: string | undefined; model: string; apiKey: string | undefined } }): LlmOptions | undefined {
  const { url, model, apiKey } = config.llm;
  return url ? { url, model, ...(apiKey ? { apiKey } : {}) } : undefined;
}
