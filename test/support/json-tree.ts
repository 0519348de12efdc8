/** JSON values as trees for the fuzz tests: walk the nodes, and replace or delete one. */
export type J = null | boolean | number | string | J[] | { [k: string]: J };
export const DEL: unique symbol = Symbol('delete');
export type Mut = J | typeof DEL;
export type Path = (string | number)[];

export const isObj = (v: unknown): v is Record<string, J> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
/** Deep copy through JSON, which keeps own "__proto__" keys as plain data (as JSON.parse on the server does). */
export const clone = (v: J): J => JSON.parse(JSON.stringify(v)) as J;
export const defineOwn = (o: object, k: string | number, v: J) =>
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });

/** The nodes of a value, breadth first and bounded (depth, array items, total), each with its path. */
export function nodes(
  root: J,
  limits: { maxDepth: number; maxItems: number; maxNodes: number },
): { path: Path; value: J; canDelete: boolean }[] {
  const out: { path: Path; value: J; canDelete: boolean }[] = [];
  const todo = [{ path: [] as Path, value: root, canDelete: false }];
  while (todo.length && out.length < limits.maxNodes) {
    const n = todo.shift()!;
    out.push(n);
    if (n.path.length >= limits.maxDepth) continue;
    const v = n.value;
    if (Array.isArray(v))
      v.slice(0, limits.maxItems).forEach((x, i) =>
        todo.push({ path: [...n.path, i], value: x, canDelete: false }),
      );
    else if (isObj(v))
      for (const [k, x] of Object.entries(v)) todo.push({ path: [...n.path, k], value: x, canDelete: true });
  }
  return out;
}

/** A copy of `root` with the node at `path` replaced by `m`, or deleted. */
export function applyAt(root: J, path: Path, m: Mut): J {
  if (path.length === 0) return m === DEL ? null : m;
  const copy = clone(root);
  let p: any = copy;
  for (const k of path.slice(0, -1)) p = p[k];
  const last = path[path.length - 1]!;
  if (m === DEL) {
    if (Array.isArray(p)) p.splice(last as number, 1);
    else delete p[last];
  } else defineOwn(p, last, m);
  return copy;
}
