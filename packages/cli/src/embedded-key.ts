import { randomBytes } from 'node:crypto';
import { type DroverConfig, sha256Hex } from '@drover/shared';

export const EMBEDDED_TENANT = 'local';

/**
 * Embedded mode keeps authentication on: when no DROVER_API_KEYS are configured it mints a
 * key for this run (tenant `local`, allowed to pause queues) and returns it so it can be printed.
 */
export function withEmbeddedKey(config: DroverConfig): { config: DroverConfig; generatedKey: string | undefined } {
  if (!config.http.auth || config.http.apiKeys.length > 0) return { config, generatedKey: undefined };
  const key = `drv_${randomBytes(24).toString('base64url')}`;
  return {
    generatedKey: key,
    config: {
      ...config,
      http: {
        ...config.http,
        apiKeys: [{ tenant: EMBEDDED_TENANT, sha256: sha256Hex(key) }],
        adminTenants: [...new Set([...config.http.adminTenants, EMBEDDED_TENANT])],
      },
    },
  };
}
