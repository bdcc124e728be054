import type { Scraper } from '@drover/scraper';
import { LlmClient, type LlmOptions } from './llm-client.js';
import type { TaskDefinition } from './task-definition.js';
import { debateTask, debaterTask, judgeTask } from './tasks/debate.js';
import { echoTask } from './tasks/echo.js';
import { scrapeTask } from './tasks/scrape.js';
import { sleepTask } from './tasks/sleep.js';

/**
 * The task types every worker registers: echo, sleep, the debate agents (calling the LLM when
 * `llm` is given), and scrape when given a scraper.
 */
export function builtinTasks(services: { scraper?: Scraper; llm?: LlmOptions } = {}): TaskDefinition<any>[] {
  const llm = services.llm ? new LlmClient(services.llm) : undefined;
  const tasks: TaskDefinition<any>[] = [echoTask, sleepTask, debateTask, debaterTask(llm), judgeTask(llm)];
  if (services.scraper) tasks.push(scrapeTask(services.scraper));
  return tasks;
}
