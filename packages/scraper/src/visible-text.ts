import type { AnyNode } from 'domhandler';

const HIDDEN = new Set(['script', 'style', 'noscript', 'template', 'head']);
const BLOCKS = new Set([
  'p', 'div', 'section', 'article', 'main', 'header', 'footer', 'nav', 'aside', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'li', 'ul', 'ol', 'tr', 'table',
  'blockquote', 'pre', 'dd', 'dt', 'dl', 'figure', 'figcaption', 'form', 'hr', 'br', 'title', 'body',
]);

/**
 * The text a reader sees: scripts, styles and templates skipped, one line per block element,
 * whitespace collapsed. A single walk over the parsed tree — no cloning or DOM edits, which
 * cost more than the parse itself on typical pages.
 */
export function visibleText(roots: readonly AnyNode[]): string {
  const parts: string[] = [];
  const walk = (node: AnyNode) => {
    if (node.type === 'text') {
      parts.push(node.data);
      return;
    }
    if (node.type !== 'tag' && node.type !== 'root') return;
    const name = node.type === 'tag' ? node.name : '';
    if (HIDDEN.has(name)) return;
    const block = BLOCKS.has(name);
    if (block) parts.push('\n');
    for (const child of node.children) walk(child);
    if (block) parts.push('\n');
  };
  for (const root of roots) walk(root);
  return parts
    .join('')
    .split('\n')
    .map((line) => line.replace(/\s+/g, ' ').trim())
    .filter((line) => line.length > 0)
    .join('\n');
}
