import { createHash } from 'node:crypto';

// A fixed namespace for Drover memory (a random UUID chosen once); never change it, or every
// stored point gets a new id.
const NAMESPACE = Buffer.from('6f1c2a7e9b3d4e8fa2c5d0b7e4f19a36', 'hex');

/**
 * Qdrant point ids must be UUIDs or integers: a caller's string id becomes a name-based
 * UUID (version 5, SHA-1) of tenant, collection and id, so the same item always lands on the
 * same point and two tenants' equal ids never collide.
 */
export function pointId(tenant: string, collection: string, id: string): string {
  // Length prefixes keep ("a\0b", "c") and ("a", "b\0c") apart.
  const name = `${tenant.length}:${tenant}|${collection.length}:${collection}|${id}`;
  const hash = createHash('sha1').update(NAMESPACE).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
