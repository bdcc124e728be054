import { DroverError } from '@drover/shared';

/**
 * A graph call with input the store refuses: a label, relation type or property key outside
 * its pattern, an out-of-range depth or limit, an oversized batch. Raised before any query is
 * built. It carries DROVER_ERR_VALIDATION (HTTP 400) from shared's table, so the API answers
 * it as a problem document like any other validation failure; `details.field` names the input.
 */
export class GraphInputError extends DroverError {
  constructor(field: string, message: string, details: Record<string, unknown> = {}) {
    super('VALIDATION', message, { details: { field, ...details } });
    this.name = 'GraphInputError';
  }
}
