/**
 * Vectors are stored L2-normalised, so cosine similarity is a plain dot product at query time.
 * Returns a new Float32Array; a zero vector stays zero (callers reject it before).
 */
export function unitVector(vector: ArrayLike<number>): Float32Array {
  const out = new Float32Array(vector.length);
  let norm = 0;
  for (let i = 0; i < vector.length; i++) norm += vector[i]! * vector[i]!;
  norm = Math.sqrt(norm);
  if (norm === 0) return out;
  for (let i = 0; i < vector.length; i++) out[i] = vector[i]! / norm;
  return out;
}
