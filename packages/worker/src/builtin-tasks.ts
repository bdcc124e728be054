import type { Scraper } from '@drover/scraper';
import type { TaskDefinition } from './task-definition.js';
import { echoTask } from './tasks/echo.js';
import { scrapeTask } from './tasks/scrape.js';
import { sleepTask } from './tasks/sleep.js';

/** The task types every worker registers: echo, sleep, and scrape when given a scraper. */
export function builtinTasks(services: { scraper?: Scraper } = {}): TaskDefinition<any>[] {
  return services.scraper ? [echoTask, sleepTask, scrapeTask(services.scraper)] : [echoTask, sleepTask];
}
