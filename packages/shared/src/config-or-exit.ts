import { type DroverConfig, type Env, loadConfig } from './config.js';
import { DroverError } from './errors.js';

export interface ConfigOrExitOptions {
  /**
   * The process only makes sense with a backend other processes share (a standalone
   * orchestrator or worker): the in-memory backend would strand its tasks.
   */
  sharedBackend?: boolean;
}

/**
 * For entry points: loadConfig(env), or a one-line message on stderr and exit code 2 when the
 * configuration cannot work, so an operator sees what to fix rather than a stack trace.
 */
export function loadConfigOrExit(program: string, env: Env, options: ConfigOrExitOptions = {}): DroverConfig {
  let config: DroverConfig;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof DroverError) exit(program, err.message);
    throw err;
  }
  if (options.sharedBackend && config.backend === 'memory') {
    exit(program, `a standalone ${program} needs a shared backend: set DROVER_REDIS_URL (or DROVER_BACKEND=rabbitmq). For one process, use \`npm start\`.`);
  }
  return config;
}

function exit(program: string, message: string): never {
  process.stderr.write(`drover ${program}: ${message}\n`);
  process.exit(2);
}
