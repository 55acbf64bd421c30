// Accessibility check with axe-core (from npm): no serious or critical violations.
import assert from 'node:assert/strict';
import path from 'node:path';

const AXE = path.resolve(import.meta.dirname, '../../node_modules/axe-core/axe.min.js');

export async function assertAccessible(page, what) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${what}: accessibility violations:\n${JSON.stringify(bad, null, 2)}`);
}
