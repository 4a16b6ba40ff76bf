/**
 * The subset of JSONPath meters use: `$.a.b`, `$.a[0].b`, `$['a-b']`. Returns undefined when any step
 * is missing. Kept tiny on purpose: meter paths select one value, they never filter or recurse.
 */
export function readJsonPath(root: unknown, path: string): unknown {
  const steps = parseJsonPath(path);
  let current: unknown = root;
  for (const step of steps) {
    // Own properties only: `$.a.constructor` must not read Object.prototype's function when `a` lacks it.
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, step)) return undefined;
    current = (current as Record<string | number, unknown>)[step];
  }
  return current;
}

export function parseJsonPath(path: string): Array<string | number> {
  if (!path.startsWith('$')) throw new Error(`JSONPath "${path}" must start with $`);
  const steps: Array<string | number> = [];
  const re = /\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/y;
  re.lastIndex = 1;
  while (re.lastIndex < path.length) {
    const m = re.exec(path);
    if (!m) throw new Error(`JSONPath "${path}" is not supported (use $.a.b, $.a[0] or $['a-b'])`);
    steps.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : (m[3] ?? m[4])));
  }
  return steps;
}
