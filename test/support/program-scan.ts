// Finds the external programs the TypeScript sources spawn, with the TypeScript compiler's type
// checker, for test/unit/programs.test.ts to compare with .ci/programs.tsv.
//
// Where a program is named: the program in `spawn(file, args)`, `execFile(file, args)` and every
// wrapper whose parameters say what they take (`argv`, `…Argv`, or `command`/`file`/`program`/
// `tool`/`bin` followed by `args`), `argv:` properties and `argv`/`…Argv` variables. Its value is
// followed through constants, literal-union types, template literals, conditionals, the callers of
// a parameter, `for … of` over an array (with its `push` calls), the object a function returns and
// node:path's `join` (whose last part names the program). `ip netns exec NS PROG`,
// `nsenter … -- PROG`, `unshare OPTS PROG` and `sh -c 'command -v PROG'` count PROG as well (and
// the first word of a `sh -c` line, unless it is one of the shell's own commands); the
// first word of a shell line given to child_process's exec or execSync counts, and
// `process.execPath` is `node`.
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { REPO } from './programs.ts';

export interface ProgramUse {
  readonly program: string;
  /** Repository-relative path (or the name given for an in-memory file). */
  readonly file: string;
  readonly line: number;
  /** The expression that names the program. */
  readonly text: string;
}

export interface ScanResult {
  readonly uses: ProgramUse[];
  /**
   * Program positions whose value could not be followed to strings and that do not come from a
   * parameter of the function they are in (a wrapper's `argv[0]`, whose callers are scanned).
   */
  readonly unresolved: ProgramUse[];
  /** How many source files were scanned. */
  readonly files: number;
}

export interface ScanOptions {
  /** Files that exist only in memory (path → text), scanned in addition to the roots. */
  readonly memory?: Readonly<Record<string, string>>;
}

/** Node's functions that start a process (node:child_process). */
const CHILD_PROCESS = new Set(['spawn', 'spawnSync', 'execFile', 'execFileSync', 'exec', 'execSync', 'fork']);
const ARGV_PARAM = /^(argv|\w+Argv)$/;
const PROGRAM_PARAM = /^(command|file|program|tool|bin)$/;
const ARGS_PARAM = /^(args|argv)$/;
const PROGRAM_NAME = /^(\/[\w./+-]+|[\w][\w.+-]*)$/;
/**
 * Commands of dash itself (its builtins): a `sh -c` line that starts with one runs no program.
 * `echo`, `printf`, `kill` and `test` exist as programs too, but dash runs its own.
 */
const SHELL_BUILTINS = new Set([
  'cd',
  'echo',
  'eval',
  'exec',
  'exit',
  'export',
  'false',
  'kill',
  'printf',
  'read',
  'set',
  'test',
  'trap',
  'true',
  'ulimit',
  'umask',
  'unset',
  'wait',
]);
const MAX_DEPTH = 12;
/** A template literal expands to at most this many strings (the product of its parts' values). */
const MAX_EXPANSION = 256;

type Values = Set<string> | undefined;

function union(sets: Values[]): Values {
  const defined = sets.filter((s): s is Set<string> => s !== undefined);
  if (defined.length === 0) return undefined;
  return new Set(defined.flatMap((s) => [...s]));
}

function strip(e: ts.Expression): ts.Expression {
  let x = e;
  while (
    ts.isParenthesizedExpression(x) ||
    ts.isAsExpression(x) ||
    ts.isSatisfiesExpression(x) ||
    ts.isNonNullExpression(x) ||
    ts.isTypeAssertionExpression(x)
  )
    x = x.expression;
  return x;
}

/** The `.ts` files under `dirs` (repository-relative), node_modules excluded. */
export function sourceFiles(dirs: readonly string[]): string[] {
  return ts.sys
    .readDirectory(
      REPO,
      ['.ts'],
      ['**/node_modules', '**/*.d.ts'],
      dirs.map((d) => `${d}/**/*`),
    )
    .filter((f) => !f.endsWith('.d.ts'));
}

/**
 * Every program the files spawn. `roots` are absolute paths; `memory` adds in-memory files. The
 * compiler options are the repository's tsconfig.json, so `node:child_process` resolves to Node's
 * own types and a call's parameter names come from the real declaration.
 */
export function scanPrograms(roots: readonly string[], opts: ScanOptions = {}): ScanResult {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(REPO, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!config) throw new Error('cannot read tsconfig.json');
  const memory = new Map(Object.entries(opts.memory ?? {}).map(([p, t]) => [resolve(REPO, p), t]));
  const options: ts.CompilerOptions = { ...config.options, noEmit: true };
  const host = ts.createCompilerHost(options, true);
  const baseGet = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, lang, onError, create) => {
    const text = memory.get(resolve(fileName));
    if (text !== undefined) return ts.createSourceFile(fileName, text, lang, true);
    return baseGet(fileName, lang, onError, create);
  };
  const baseExists = host.fileExists.bind(host);
  host.fileExists = (f) => memory.has(resolve(f)) || baseExists(f);
  const baseRead = host.readFile.bind(host);
  host.readFile = (f) => memory.get(resolve(f)) ?? baseRead(f);
  const rootNames = [...roots, ...memory.keys()];
  const program = ts.createProgram({ rootNames, options, host });
  const checker = program.getTypeChecker();
  const wanted = new Set(rootNames.map((r) => resolve(r)));
  const files = program.getSourceFiles().filter((sf) => wanted.has(resolve(sf.fileName)));

  // Syntactic indexes, resolved through the checker only when a value is followed there.
  const callsByName = new Map<string, ts.CallExpression[]>();
  const pushesByName = new Map<string, ts.CallExpression[]>();
  const sites: ts.Node[] = [];
  const calleeName = (c: ts.Expression): string | undefined => {
    const x = strip(c);
    if (ts.isIdentifier(x)) return x.text;
    if (ts.isPropertyAccessExpression(x)) return x.name.text;
    return undefined;
  };
  for (const sf of files) {
    const visit = (n: ts.Node): void => {
      if (ts.isCallExpression(n)) {
        const name = calleeName(n.expression);
        if (name !== undefined) {
          const list = callsByName.get(name) ?? [];
          list.push(n);
          callsByName.set(name, list);
        }
        const callee = strip(n.expression);
        if (ts.isPropertyAccessExpression(callee) && callee.name.text === 'push') {
          const target = calleeName(callee.expression);
          if (target !== undefined) {
            const list = pushesByName.get(target) ?? [];
            list.push(n);
            pushesByName.set(target, list);
          }
        }
      }
      if (
        ((ts.isCallExpression(n) || ts.isNewExpression(n)) && (n.arguments?.length ?? 0) > 0) ||
        (ts.isPropertyAssignment(n) && !ts.isComputedPropertyName(n.name) && ARGV_PARAM.test(n.name.text)) ||
        (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && ARGV_PARAM.test(n.name.text))
      )
        sites.push(n);
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }

  const symbolOf = (e: ts.Node): ts.Symbol | undefined => {
    const s = checker.getSymbolAtLocation(e);
    if (s && s.flags & ts.SymbolFlags.Alias) return checker.getAliasedSymbol(s);
    return s;
  };

  /** Values of a string-literal type or a union of them; undefined for anything wider. */
  const literalType = (e: ts.Node): Values => {
    const t = checker.getTypeAtLocation(e);
    const parts = t.isUnion() ? t.types : [t];
    if (parts.length === 0 || !parts.every((p) => p.isStringLiteral())) return undefined;
    return new Set(parts.map((p) => (p as ts.StringLiteralType).value));
  };

  /** Calls of the function `fn` (matched by name, then confirmed by symbol). */
  const callersOf = (fn: ts.SignatureDeclaration): ts.CallExpression[] => {
    let name: string | undefined;
    if (fn.name && ts.isIdentifier(fn.name)) name = fn.name.text;
    else if (ts.isVariableDeclaration(fn.parent) && ts.isIdentifier(fn.parent.name))
      name = fn.parent.name.text;
    if (name === undefined) return [];
    const target = fn.name ? symbolOf(fn.name) : symbolOf((fn.parent as ts.VariableDeclaration).name);
    return (callsByName.get(name) ?? []).filter((c) => {
      const s = symbolOf(ts.isPropertyAccessExpression(c.expression) ? c.expression.name : c.expression);
      return s !== undefined && s === target;
    });
  };

  /** The expressions a function returns (its expression body or its `return` statements). */
  const returnsOf = (fn: ts.Node): ts.Expression[] => {
    if (ts.isArrowFunction(fn) && !ts.isBlock(fn.body)) return [fn.body];
    const out: ts.Expression[] = [];
    const body = (fn as ts.FunctionLikeDeclarationBase).body;
    if (!body) return out;
    const visit = (n: ts.Node): void => {
      if (ts.isReturnStatement(n) && n.expression) out.push(n.expression);
      if (!ts.isFunctionLike(n)) ts.forEachChild(n, visit);
    };
    ts.forEachChild(body, visit);
    return out;
  };

  const functionOf = (call: ts.CallExpression): ts.Node | undefined => {
    const s = symbolOf(
      ts.isPropertyAccessExpression(call.expression) ? call.expression.name : call.expression,
    );
    const d = s?.valueDeclaration ?? s?.declarations?.[0];
    if (!d) return undefined;
    if (ts.isFunctionLike(d)) return d;
    if (ts.isVariableDeclaration(d) && d.initializer) {
      const init = strip(d.initializer);
      if (ts.isArrowFunction(init) || ts.isFunctionExpression(init)) return init;
    }
    return undefined;
  };

  /** `join`/`resolve` of node:path, declared in Node's own types. */
  const isPathJoin = (fn: ts.Node): boolean =>
    (fn as ts.FunctionLikeDeclarationBase).name?.getText() !== undefined &&
    ['join', 'resolve'].includes((fn as ts.FunctionLikeDeclarationBase).name!.getText()) &&
    /@types\/node\/path\.d\.ts$/.test(fn.getSourceFile().fileName);

  /** Property `name` of the object literals `e` can be. */
  const propertyOf = (e: ts.Expression, name: string, depth: number): Values => {
    if (depth > MAX_DEPTH) return undefined;
    const x = strip(e);
    if (ts.isIdentifier(x)) {
      const d = symbolOf(x)?.valueDeclaration;
      return d && ts.isVariableDeclaration(d) && d.initializer
        ? propertyOf(d.initializer, name, depth + 1)
        : undefined;
    }
    if (ts.isObjectLiteralExpression(x)) {
      for (const p of x.properties) {
        if (p.name && ts.isIdentifier(p.name) && p.name.text === name) {
          if (ts.isPropertyAssignment(p)) return values(p.initializer, depth + 1);
          if (ts.isShorthandPropertyAssignment(p)) return values(p.name, depth + 1);
        }
      }
      return undefined;
    }
    if (ts.isCallExpression(x)) {
      const fn = functionOf(x);
      if (!fn) return undefined;
      return union(returnsOf(fn).map((r) => propertyOf(r, name, depth + 1)));
    }
    return undefined;
  };

  /** The strings a declaration's value can be. */
  const declarationValues = (d: ts.Declaration, depth: number): Values => {
    if (ts.isVariableDeclaration(d)) {
      const list = d.parent;
      if (ts.isVariableDeclarationList(list) && ts.isForOfStatement(list.parent))
        return elements(list.parent.expression, depth + 1);
      return d.initializer ? values(d.initializer, depth + 1) : undefined;
    }
    if (ts.isParameter(d)) {
      const fn = d.parent;
      const index = fn.parameters.indexOf(d);
      const fromCallers = callersOf(fn).map((c) => {
        const arg = c.arguments[index];
        return arg ? values(arg, depth + 1) : undefined;
      });
      return union([...fromCallers, d.initializer ? values(d.initializer, depth + 1) : undefined]);
    }
    if (ts.isBindingElement(d) && ts.isObjectBindingPattern(d.parent)) {
      const decl = d.parent.parent;
      const key = d.propertyName ?? d.name;
      if (ts.isVariableDeclaration(decl) && decl.initializer && ts.isIdentifier(key))
        return propertyOf(decl.initializer, key.text, depth + 1);
      return undefined;
    }
    if (ts.isPropertyAssignment(d)) return values(d.initializer, depth + 1);
    return undefined;
  };

  /** The strings `e` can evaluate to, or undefined when that cannot be told from the source. */
  function values(e: ts.Expression, depth = 0): Values {
    if (depth > MAX_DEPTH) return undefined;
    const x = strip(e);
    if (ts.isStringLiteralLike(x)) return new Set([x.text]);
    if (ts.isTemplateExpression(x)) {
      let acc = [x.head.text];
      for (const span of x.templateSpans) {
        const v = values(span.expression, depth + 1);
        if (v === undefined) return undefined;
        acc = acc.flatMap((a) => [...v].map((s) => `${a}${s}${span.literal.text}`));
        if (acc.length > MAX_EXPANSION) return undefined;
      }
      return new Set(acc);
    }
    if (ts.isConditionalExpression(x))
      return union([values(x.whenTrue, depth + 1), values(x.whenFalse, depth + 1)]);
    if (
      ts.isBinaryExpression(x) &&
      (x.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken ||
        x.operatorToken.kind === ts.SyntaxKind.BarBarToken)
    )
      return union([values(x.left, depth + 1), values(x.right, depth + 1)]);
    if (ts.isPropertyAccessExpression(x) && x.getText() === 'process.execPath') return new Set(['node']);
    if (ts.isCallExpression(x)) {
      const fn = functionOf(x);
      if (fn && isPathJoin(fn)) {
        // path.join(dir, 'bin', 'helm'): the directory is the machine's; the program is the last part.
        const last = x.arguments.at(-1);
        const v = last ? values(last, depth + 1) : undefined;
        return v && new Set([...v].map((p) => p.slice(p.lastIndexOf('/') + 1)));
      }
      return fn ? union(returnsOf(fn).map((r) => values(r, depth + 1))) : undefined;
    }
    if (ts.isIdentifier(x) || ts.isPropertyAccessExpression(x) || ts.isElementAccessExpression(x)) {
      const typed = literalType(x);
      if (typed) return typed;
      if (ts.isElementAccessExpression(x)) return undefined;
      const s = symbolOf(ts.isPropertyAccessExpression(x) ? x.name : x);
      const declared = union((s?.declarations ?? []).map((d) => declarationValues(d, depth)));
      if (declared || !ts.isPropertyAccessExpression(x)) return declared;
      return propertyOf(x.expression, x.name.text, depth + 1);
    }
    return undefined;
  }

  /** Every string an array can hold: its literal elements, spreads, and `push` calls on it. */
  function elements(e: ts.Expression, depth: number): Values {
    if (depth > MAX_DEPTH) return undefined;
    const x = strip(e);
    if (ts.isArrayLiteralExpression(x))
      return union(
        x.elements.map((el) =>
          ts.isSpreadElement(el) ? elements(el.expression, depth + 1) : values(el, depth + 1),
        ),
      );
    if (ts.isIdentifier(x)) {
      const s = symbolOf(x);
      const decl = s?.valueDeclaration;
      if (!decl || !ts.isVariableDeclaration(decl) || !decl.initializer) return undefined;
      const pushed = (pushesByName.get(x.text) ?? [])
        .filter((c) => symbolOf((c.expression as ts.PropertyAccessExpression).expression) === s)
        .flatMap((c) => c.arguments.map((a) => values(a, depth + 1)));
      return union([elements(decl.initializer, depth + 1), ...pushed]);
    }
    return undefined;
  }

  /** An argv as a list of element expressions; a spread that cannot be inlined ends it. */
  const flatten = (e: ts.Expression, depth = 0): ts.Expression[] => {
    if (depth > MAX_DEPTH) return [];
    const x = strip(e);
    if (ts.isArrayLiteralExpression(x)) {
      const out: ts.Expression[] = [];
      for (const el of x.elements) {
        if (!ts.isSpreadElement(el)) {
          out.push(el);
          continue;
        }
        const inner = flatten(el.expression, depth + 1);
        out.push(...inner);
        if (inner.length === 0 || !isClosedArray(el.expression)) break;
      }
      return out;
    }
    if (ts.isIdentifier(x)) {
      const d = symbolOf(x)?.valueDeclaration;
      if (d && ts.isVariableDeclaration(d) && d.initializer && !ts.isForOfStatement(d.parent.parent))
        return flatten(d.initializer, depth + 1);
    }
    return [];
  };
  /** Whether `e` is an array whose elements `flatten` sees in full (a literal without open spreads). */
  const isClosedArray = (e: ts.Expression): boolean => {
    const x = strip(e);
    if (ts.isArrayLiteralExpression(x))
      return x.elements.every((el) => !ts.isSpreadElement(el) || isClosedArray(el.expression));
    if (ts.isIdentifier(x)) {
      const d = symbolOf(x)?.valueDeclaration;
      return !!d && ts.isVariableDeclaration(d) && !!d.initializer && isClosedArray(d.initializer);
    }
    return false;
  };

  /**
   * Whether `e` is computed from a parameter of the function it is in: then that function is a
   * wrapper, and the programs are found where it is called.
   */
  const fromParameter = (e: ts.Node, depth: number): boolean => {
    if (depth > MAX_DEPTH) return false;
    let found = false;
    const visit = (n: ts.Node): void => {
      if (found) return;
      if (ts.isIdentifier(n)) {
        const d = symbolOf(n)?.valueDeclaration;
        if (d && ts.isParameter(d)) found = true;
        else if (d && (ts.isVariableDeclaration(d) || ts.isBindingElement(d))) {
          let decl: ts.Node = d;
          while (ts.isBindingElement(decl)) decl = decl.parent.parent;
          const init = ts.isVariableDeclaration(decl) ? decl.initializer : undefined;
          if (init && fromParameter(init, depth + 1)) found = true;
        }
        return;
      }
      ts.forEachChild(n, visit);
    };
    visit(e);
    return found;
  };

  /** A word that starts with `-` (a literal, or a template whose fixed head does). */
  const isOption = (e: ts.Expression): boolean => {
    const x = strip(e);
    if (ts.isStringLiteralLike(x)) return x.text.startsWith('-');
    if (ts.isTemplateExpression(x)) return x.head.text.startsWith('-');
    return false;
  };

  const mayCarryProgram = (a: ts.Expression): boolean => {
    const x = strip(a);
    if (ts.isArrayLiteralExpression(x) || ts.isStringLiteralLike(x) || ts.isTemplateExpression(x))
      return true;
    if (ts.isPropertyAccessExpression(x)) return x.getText() === 'process.execPath';
    if (!ts.isIdentifier(x)) return false;
    const d = symbolOf(x)?.valueDeclaration;
    return (
      !!d &&
      ts.isVariableDeclaration(d) &&
      !!d.initializer &&
      ts.isArrayLiteralExpression(strip(d.initializer))
    );
  };

  const uses: ProgramUse[] = [];
  const unresolved: ProgramUse[] = [];
  const seen = new Set<string>();
  const record = (list: ProgramUse[], program: string, at: ts.Node): void => {
    const sf = at.getSourceFile();
    const file = relative(REPO, sf.fileName);
    const line = sf.getLineAndCharacterOfPosition(at.getStart()).line + 1;
    const key = `${program}\0${file}\0${line}\0${list === uses}`;
    if (seen.has(key)) return;
    seen.add(key);
    list.push({ program, file, line, text: at.getText().slice(0, 80) });
  };

  /** The programs an argv runs: its first element, and what a wrapper program runs in turn. */
  const fromArgv = (words: readonly ts.Expression[], depth = 0): void => {
    const head = words[0];
    if (!head || depth > 4) return;
    const programs = values(head);
    if (programs === undefined) {
      if (!fromParameter(head, 0)) record(unresolved, '?', head);
      return;
    }
    const word = (i: number): Values => (words[i] ? values(words[i]) : undefined);
    for (const p of programs) {
      // A list that starts with an option is the arguments of a program named elsewhere.
      if (p.startsWith('-')) continue;
      if (!PROGRAM_NAME.test(p)) {
        record(unresolved, p, head);
        continue;
      }
      record(uses, p, head);
      const base = p.slice(p.lastIndexOf('/') + 1);
      if (base === 'ip' && word(1)?.has('netns') && word(2)?.has('exec')) fromArgv(words.slice(4), depth + 1);
      if (base === 'nsenter' || base === 'unshare') {
        // Options (and nsenter's `--`) come first; the first other word is the program.
        let i = 1;
        while (i < words.length && isOption(words[i]!)) {
          const isEnd = word(i)?.has('--');
          i++;
          if (isEnd) break;
        }
        fromArgv(words.slice(i), depth + 1);
      }
      if ((base === 'sh' || base === 'bash') && word(1)?.has('-c') && words[2]) {
        for (const script of values(words[2]) ?? []) {
          const w = script.trim().split(/\s+/);
          const probed = w[0] === 'command' && w[1] === '-v' ? w[2] : w[0];
          if (probed !== undefined && PROGRAM_NAME.test(probed) && !SHELL_BUILTINS.has(probed))
            record(uses, probed, words[2]);
        }
      }
    }
  };

  for (const n of sites) {
    if (ts.isPropertyAssignment(n)) fromArgv(flatten(n.initializer));
    else if (ts.isVariableDeclaration(n)) {
      if (n.initializer && ts.isArrayLiteralExpression(strip(n.initializer)))
        fromArgv(flatten(n.initializer));
    } else if (ts.isCallExpression(n) || ts.isNewExpression(n)) {
      const args = n.arguments ?? ts.factory.createNodeArray();
      // Asking the checker for a signature is what costs time, so only calls that can carry a
      // program are asked: one of Node's own process functions, or a call handing over an array
      // (a literal or a variable initialised with one), a string literal or process.execPath.
      const callee = calleeName(n.expression);
      if (!(callee !== undefined && CHILD_PROCESS.has(callee)) && !args.some(mayCarryProgram)) continue;
      const type = checker.getTypeAtLocation(n.expression);
      const signatures = ts.isNewExpression(n) ? type.getConstructSignatures() : type.getCallSignatures();
      const paramName = (sig: ts.Signature, i: number): string | undefined => {
        const ps = sig.getParameters();
        const rest = sig.getDeclaration()?.parameters?.at(-1)?.dotDotDotToken !== undefined;
        const p = ps[i] ?? (rest ? ps.at(-1) : undefined);
        return p?.name;
      };
      // node:child_process's exec and execSync take one shell command line: its first word runs.
      const shellLine =
        (callee === 'exec' || callee === 'execSync') &&
        signatures.some((sig) =>
          /@types\/node\/child_process\.d\.ts$/.test(sig.getDeclaration()?.getSourceFile().fileName ?? ''),
        );
      args.forEach((arg, i) => {
        if (shellLine) {
          if (i === 0)
            for (const line of values(arg) ?? []) {
              const first = line.trim().split(/\s+/)[0];
              if (first !== undefined && PROGRAM_NAME.test(first)) record(uses, first, arg);
            }
          return;
        }
        const names = signatures.map((s) => [paramName(s, i), paramName(s, i + 1)] as const);
        if (names.some(([p]) => p !== undefined && ARGV_PARAM.test(p))) {
          fromArgv(flatten(arg));
          return;
        }
        const next = args[i + 1];
        if (names.some(([p, q]) => p && q && PROGRAM_PARAM.test(p) && ARGS_PARAM.test(q)))
          fromArgv([arg, ...(next ? flatten(next) : [])]);
      });
    }
  }
  const order = (a: ProgramUse, b: ProgramUse): number =>
    a.program.localeCompare(b.program) || a.file.localeCompare(b.file) || a.line - b.line;
  return { uses: uses.sort(order), unresolved: unresolved.sort(order), files: files.length };
}
