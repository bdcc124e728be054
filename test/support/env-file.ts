/**
 * Reads a KEY=VALUE env file as Compose and `kubectl create configmap --from-env-file` both accept
 * it: one variable per line, `#` comments and blank lines ignored, no quoting. Anything else throws,
 * so a line the two tools would read differently cannot slip through.
 */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new Error(`line ${i + 1} is not KEY=VALUE: ${raw}`);
    const [, key, value] = m as unknown as [string, string, string];
    if (/^["']/.test(value)) throw new Error(`line ${i + 1}: quoted values are read differently by Compose and kubectl`);
    if (key in env) throw new Error(`line ${i + 1}: ${key} is set twice`);
    env[key] = value;
  }
  return env;
}
