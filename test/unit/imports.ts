/**
 * Which npm packages a source file imports, read with the TypeScript parser (so comments and
 * strings that merely look like imports do not count): static imports and re-exports, dynamic
 * `import()`, `require()`, `require.resolve()`, `import.meta.resolve()` and `import('x').T` types.
 */
import { builtinModules } from 'node:module';
import ts from 'typescript';

export interface PackageImport {
  /** The package as package.json names it: `grammy` for `grammy/types`, `@scope/name` for deeper paths. */
  name: string;
  specifier: string;
  /** Erased at run time (`import type`, `export type`, `import('x').T`): a devDependency is enough. */
  typeOnly: boolean;
  line: number;
}

const BUILTINS = new Set(builtinModules);

/** The package a bare specifier names; undefined for relative paths, URLs and Node's built-ins. */
export function packageOf(specifier: string): string | undefined {
  if (/^(\.{1,2}\/|\/|[a-z][a-z0-9+.-]*:)/i.test(specifier) || specifier.startsWith('#')) return undefined;
  if (BUILTINS.has(specifier) || BUILTINS.has(specifier.split('/')[0]!)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

export function packageImports(fileName: string, text: string): PackageImport[] {
  const src = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const out: PackageImport[] = [];
  const add = (lit: ts.Node | undefined, typeOnly: boolean) => {
    if (!lit || !ts.isStringLiteralLike(lit)) return;
    const name = packageOf(lit.text);
    if (!name) return;
    const line = src.getLineAndCharacterOfPosition(lit.getStart(src)).line + 1;
    out.push({ name, specifier: lit.text, typeOnly, line });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const allTypes =
        !!clause &&
        (clause.isTypeOnly ||
          (!clause.name &&
            !!clause.namedBindings &&
            ts.isNamedImports(clause.namedBindings) &&
            clause.namedBindings.elements.length > 0 &&
            clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier, allTypes);
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      if (ts.isLiteralTypeNode(arg)) add(arg.literal, true);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const first = node.arguments[0];
      if (callee.kind === ts.SyntaxKind.ImportKeyword) add(first, false);
      else if (ts.isIdentifier(callee) && callee.text === 'require') add(first, false);
      else if (ts.isPropertyAccessExpression(callee) && callee.name.text === 'resolve') {
        const target = callee.expression.getText(src);
        if (target === 'require' || target === 'import.meta') add(first, false);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(src);
  return out;
}
