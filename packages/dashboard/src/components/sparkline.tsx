/**
 * The last `slots` samples as a line that fills from the right, scaled to the largest; SVG
 * attributes only (no style attribute: the page's CSP has no 'unsafe-inline'; colours come
 * from the stylesheet).
 */
export function Sparkline({ values, slots = 40, width = 160, height = 32, label }: { values: number[]; slots?: number; width?: number; height?: number; label: string }) {
  const shown = values.slice(-slots);
  const max = Math.max(1, ...shown);
  const step = width / Math.max(1, slots - 1);
  const x0 = width - (shown.length - 1) * step;
  const points = shown.map((v, i) => `${(x0 + i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`).join(' ');
  return (
    <svg class="sparkline" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
      <title>{label}</title>
      <line class="baseline" x1="0" y1={height - 2} x2={width} y2={height - 2} />
      {shown.length > 1 ? <polyline points={points} /> : null}
    </svg>
  );
}
