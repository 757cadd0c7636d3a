// The three PATCH bodies the API server accepts besides server-side apply:
//  - application/merge-patch+json     RFC 7386 JSON merge patch (null deletes, arrays replace)
//  - application/json-patch+json      RFC 6902 JSON patch (add/remove/replace/move/copy/test)
//  - application/strategic-merge-patch+json  merge patch, except that lists with a `patchMergeKey`
//    in the Go types merge item by item (node `status.conditions` by `type`), `$patch: delete|replace`
//    directives, and `$deleteFromPrimitiveList/<field>`. Only the list keys in ResourceDef.mergeKeys are
//    known; every other list is replaced, as for a list without a patch strategy. Custom resources
//    reject strategic merge (415), as the real server does.
// Pure functions: inputs are never mutated.
import type { JsonObject, JsonValue } from './resources.ts';

/** A patch that cannot be applied. `isMalformed` → 400 (undecodable), otherwise 422 (apply failed). */
export class PatchError extends Error {
  readonly isMalformed: boolean;
  constructor(message: string, isMalformed: boolean) {
    super(message);
    this.name = 'PatchError';
    this.isMalformed = isMalformed;
  }
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function clone<T extends JsonValue>(v: T): T {
  return structuredClone(v);
}

export function mergePatch(target: JsonValue, patch: JsonValue): JsonValue {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key] ?? null, value);
  }
  return out;
}

export function deepEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  const ao = a as JsonObject;
  const bo = b as JsonObject;
  const ak = Object.keys(ao);
  if (ak.length !== Object.keys(bo).length) return false;
  return ak.every((k) => Object.hasOwn(bo, k) && deepEqual(ao[k], bo[k]));
}

// --- RFC 6902 -------------------------------------------------------------------------------------

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer "${pointer}"`, true);
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function arrayIndex(token: string, length: number, forInsert: boolean): number {
  if (forInsert && token === '-') return length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new PatchError(`invalid array index "${token}"`, false);
  const n = Number(token);
  if (n > length || (!forInsert && n === length))
    throw new PatchError(`array index ${n} out of bounds`, false);
  return n;
}

/** Resolves every token but the last; the returned container is part of `doc` (already a copy). */
function parentOf(doc: JsonValue, tokens: readonly string[], pointer: string): JsonValue {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(t, cur.length, false)] as JsonValue;
    else if (isObject(cur) && Object.hasOwn(cur, t)) cur = cur[t] as JsonValue;
    else throw new PatchError(`path "${pointer}" does not exist`, false);
  }
  return cur;
}

function getAt(doc: JsonValue, pointer: string): JsonValue {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return doc;
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1] as string;
  if (Array.isArray(parent)) return parent[arrayIndex(last, parent.length, false)] as JsonValue;
  if (isObject(parent) && Object.hasOwn(parent, last)) return parent[last] as JsonValue;
  throw new PatchError(`path "${pointer}" does not exist`, false);
}

function removeAt(doc: JsonValue, pointer: string): JsonValue {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw new PatchError('cannot remove the document root', false);
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1] as string;
  if (Array.isArray(parent)) return parent.splice(arrayIndex(last, parent.length, false), 1)[0] as JsonValue;
  if (isObject(parent) && Object.hasOwn(parent, last)) {
    const v = parent[last] as JsonValue;
    delete parent[last];
    return v;
  }
  throw new PatchError(`unable to remove nonexistent key "${last}" at "${pointer}"`, false);
}

function addAt(doc: JsonValue, pointer: string, value: JsonValue, isReplace: boolean): JsonValue {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1] as string;
  if (Array.isArray(parent)) {
    const i = arrayIndex(last, parent.length, !isReplace);
    parent.splice(i, isReplace ? 1 : 0, value);
  } else if (isObject(parent)) {
    if (isReplace && !Object.hasOwn(parent, last)) {
      throw new PatchError(`unable to replace nonexistent key "${last}" at "${pointer}"`, false);
    }
    parent[last] = value;
  } else {
    throw new PatchError(`path "${pointer}" does not exist`, false);
  }
  return doc;
}

export function jsonPatch(target: JsonValue, patch: JsonValue): JsonValue {
  if (!Array.isArray(patch)) throw new PatchError('a JSON patch must be an array of operations', true);
  let doc = clone(target);
  for (const op of patch) {
    if (!isObject(op) || typeof op.op !== 'string' || typeof op.path !== 'string') {
      throw new PatchError('every JSON patch operation needs "op" and "path"', true);
    }
    const path = op.path;
    const needsValue = op.op === 'add' || op.op === 'replace' || op.op === 'test';
    if (needsValue && !Object.hasOwn(op, 'value')) throw new PatchError(`"${op.op}" needs a value`, true);
    const value = op.value as JsonValue;
    switch (op.op) {
      case 'add':
        doc = addAt(doc, path, clone(value), false);
        break;
      case 'replace':
        doc = addAt(doc, path, clone(value), true);
        break;
      case 'remove':
        removeAt(doc, path);
        break;
      case 'test':
        if (!deepEqual(getAt(doc, path), value)) throw new PatchError(`test failed at "${path}"`, false);
        break;
      case 'move':
      case 'copy': {
        if (typeof op.from !== 'string') throw new PatchError(`"${op.op}" needs "from"`, true);
        const moved = op.op === 'move' ? removeAt(doc, op.from) : clone(getAt(doc, op.from));
        doc = addAt(doc, path, moved, false);
        break;
      }
      default:
        throw new PatchError(`unknown JSON patch operation "${op.op}"`, true);
    }
  }
  return doc;
}

// --- strategic merge patch --------------------------------------------------------------------------

const DIRECTIVE = '$patch';
const DELETE_FROM_PRIMITIVE = '$deleteFromPrimitiveList/';

function mergeList(
  current: readonly JsonValue[],
  patch: readonly JsonValue[],
  path: string,
  mergeKeys: Readonly<Record<string, string>>,
): JsonValue[] {
  const key = mergeKeys[path];
  if (key === undefined) return clone(patch as JsonValue[]);
  if (key === '') {
    const out = [...current];
    for (const v of patch) if (!out.some((c) => deepEqual(c, v))) out.push(clone(v));
    return out;
  }
  if (patch.some((item) => isObject(item) && item[DIRECTIVE] === 'replace')) {
    return patch.filter((item) => !(isObject(item) && item[DIRECTIVE] === 'replace')).map((v) => clone(v));
  }
  const out = current.map((v) => clone(v));
  for (const item of patch) {
    if (!isObject(item) || !Object.hasOwn(item, key)) {
      throw new PatchError(`map: ${JSON.stringify(item)} does not contain declared merge key: ${key}`, false);
    }
    const at = out.findIndex((c) => isObject(c) && deepEqual(c[key], item[key]));
    if (item[DIRECTIVE] === 'delete') {
      if (at >= 0) out.splice(at, 1);
    } else if (at >= 0) {
      out[at] = strategicMerge(out[at] as JsonValue, item, `${path}[]`, mergeKeys);
    } else {
      out.push(strategicMerge({}, item, `${path}[]`, mergeKeys));
    }
  }
  return out;
}

function strategicMerge(
  target: JsonValue,
  patch: JsonObject,
  path: string,
  mergeKeys: Readonly<Record<string, string>>,
): JsonValue {
  if (patch[DIRECTIVE] === 'delete') return {};
  const isReplace = patch[DIRECTIVE] === 'replace';
  const out: JsonObject = isObject(target) && !isReplace ? { ...target } : {};
  const prefix = path === '' ? '' : `${path}.`;
  for (const [key, value] of Object.entries(patch)) {
    if (key === DIRECTIVE || key.startsWith('$setElementOrder/') || key === '$retainKeys') continue;
    if (key.startsWith(DELETE_FROM_PRIMITIVE)) {
      const field = key.slice(DELETE_FROM_PRIMITIVE.length);
      const list = out[field];
      if (Array.isArray(list) && Array.isArray(value)) {
        out[field] = list.filter((v) => !value.some((d) => deepEqual(d, v)));
      }
      continue;
    }
    const childPath = `${prefix}${key}`;
    const cur = out[key];
    if (value === null) delete out[key];
    else if (isObject(value)) out[key] = strategicMerge(cur ?? null, value, childPath, mergeKeys);
    else if (Array.isArray(value))
      out[key] = mergeList(Array.isArray(cur) ? cur : [], value, childPath, mergeKeys);
    else out[key] = value;
  }
  return out;
}

export function strategicMergePatch(
  target: JsonValue,
  patch: JsonValue,
  mergeKeys: Readonly<Record<string, string>>,
): JsonValue {
  if (!isObject(patch)) throw new PatchError('a strategic merge patch must be a JSON object', true);
  return strategicMerge(target, patch, '', mergeKeys);
}
