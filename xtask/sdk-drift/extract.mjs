// Extracts the /auth/v1 operations of an official CloudBase JS client release as an OpenAPI
// 3.0 document on stdout, for `cargo xtask drift --sdk <package@version>`.
//
// Usage: node extract.mjs <package@version>   (e.g. @cloudbase/oauth@3.3.3)
//
// The package is fetched with `npm pack` and its shipped TypeScript sources are parsed with the
// TypeScript compiler API (no type checking, no execution):
// - src/auth/consts.ts: `enum ApiUrls { NAME = '/v1/...' }` gives each path (prefixed `/auth`);
// - src/auth/apis.ts: every method of `class Auth` with a `this.config.request<T>(url, {...})`
//   call gives an operation: HTTP method from `method:` (default GET), the path from the
//   `ApiUrls.X` the URL starts with (template parts such as `${params.provider_id}` become
//   `{provider_id}`; a query string is cut), the credential from `withCredentials` /
//   `withBasicAuth` (literal `true`: bearer / basic; any other expression: decided at call time),
//   the request body type from `body:` (the method parameter's declared type, or the keys of an
//   object literal), the response type from `T`;
// - src/auth/models.ts: the interfaces (declarations of one name merged, `extends` followed),
//   turned into schemas. TypeScript `number` becomes `integer` (the spec's convention; the SDK
//   cannot say which), tuples `[T]` (the SDK's way of writing arrays) and `T[]` become arrays,
//   unions of string literals become strings, `any` / unknown types become `{}`.
// Credential styles map onto the spec's schemes: client id in the query (or basic) ->
// `clientBasic` optional; bearer -> `userBearer`; decided at call time -> both, optional.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ts from 'typescript';

const pkg = process.argv[2];
if (!pkg) {
  console.error('usage: node extract.mjs <package@version>');
  process.exit(2);
}

const work = mkdtempSync(path.join(tmpdir(), 'sdk-drift-'));
try {
  execFileSync('npm', ['pack', pkg, '--silent', '--pack-destination', work], { stdio: ['ignore', 'ignore', 'inherit'] });
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  execFileSync('tar', ['-xzf', path.join(work, tarball), '-C', work]);
  const root = path.join(work, 'package', 'src', 'auth');
  const doc = extract(root, pkg);
  process.stdout.write(JSON.stringify(doc, null, 2));
} finally {
  rmSync(work, { recursive: true, force: true });
}

function parse(file) {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
}

function extract(root, pkg) {
  const urls = apiUrls(parse(path.join(root, 'consts.ts')));
  // The auth models, and the OAuth client's (`Credentials` lives there).
  const interfaces = collectInterfaces([
    parse(path.join(root, 'models.ts')),
    parse(path.join(root, '..', 'oauth2client', 'models.ts')),
  ]);
  const schemas = {};
  const schemaOf = (typeNode) => toSchema(typeNode, interfaces, schemas);
  const paths = {};
  const apis = parse(path.join(root, 'apis.ts'));
  visit(apis, (node) => {
    if (!ts.isClassDeclaration(node) || node.name?.text !== 'Auth') return;
    for (const member of node.members) {
      if (!ts.isMethodDeclaration(member) || !member.body) continue;
      const params = Object.fromEntries(
        member.parameters.filter((p) => ts.isIdentifier(p.name)).map((p) => [p.name.text, p.type]),
      );
      visit(member.body, (call) => {
        const op = requestCall(call, urls, params, member, schemaOf);
        if (!op) return;
        const item = (paths[op.path] ??= {});
        if (!item[op.method]) item[op.method] = op.operation;
      });
    }
  });
  return {
    openapi: '3.0.3',
    info: { title: `${pkg} (extracted)`, version: pkg.split('@').at(-1) },
    paths,
    components: {
      schemas,
      securitySchemes: {
        clientBasic: { type: 'http', scheme: 'basic' },
        userBearer: { type: 'http', scheme: 'bearer' },
      },
    },
  };
}

function visit(node, fn) {
  fn(node);
  ts.forEachChild(node, (child) => visit(child, fn));
}

function apiUrls(source) {
  const out = {};
  visit(source, (node) => {
    if (ts.isEnumDeclaration(node) && node.name.text === 'ApiUrls') {
      for (const m of node.members) {
        if (m.initializer && ts.isStringLiteral(m.initializer)) out[m.name.getText()] = `/auth${m.initializer.text}`;
      }
    }
  });
  return out;
}

/// Interfaces by name (declarations merged); a `type A = B` alias of an interface joins B's.
function collectInterfaces(sources) {
  const out = {};
  const aliases = [];
  for (const source of sources) {
    visit(source, (node) => {
      if (ts.isInterfaceDeclaration(node)) (out[node.name.text] ??= []).push(node);
      if (ts.isTypeAliasDeclaration(node) && ts.isTypeReferenceNode(node.type)) aliases.push([node.name.text, node.type.typeName.getText()]);
    });
  }
  for (const [alias, target] of aliases) if (out[target] && !out[alias]) out[alias] = out[target];
  return out;
}

function toSchema(node, interfaces, schemas) {
  if (!node) return {};
  switch (node.kind) {
    case ts.SyntaxKind.StringKeyword:
      return { type: 'string' };
    case ts.SyntaxKind.NumberKeyword:
      return { type: 'integer' };
    case ts.SyntaxKind.BooleanKeyword:
      return { type: 'boolean' };
    default:
  }
  if (ts.isLiteralTypeNode(node)) return ts.isStringLiteral(node.literal) ? { type: 'string' } : {};
  if (ts.isArrayTypeNode(node)) return { type: 'array', items: toSchema(node.elementType, interfaces, schemas) };
  if (ts.isTupleTypeNode(node)) return { type: 'array', items: toSchema(node.elements[0], interfaces, schemas) };
  if (ts.isParenthesizedTypeNode(node)) return toSchema(node.type, interfaces, schemas);
  if (ts.isUnionTypeNode(node)) {
    const kinds = node.types.map((t) => toSchema(t, interfaces, schemas)).filter((s) => s.type);
    const types = [...new Set(kinds.map((s) => s.type))];
    return types.length === 1 ? kinds[0] : {};
  }
  if (ts.isTypeLiteralNode(node)) return objectSchema(node.members, [], interfaces, schemas);
  if (ts.isTypeReferenceNode(node)) {
    const name = node.typeName.getText();
    if (name === 'Date') return { type: 'string' };
    if (interfaces[name]) {
      if (!schemas[name]) {
        schemas[name] = {}; // placeholder against recursion
        const members = interfaces[name].flatMap((d) => [...d.members]);
        const bases = interfaces[name].flatMap((d) => (d.heritageClauses ?? []).flatMap((h) => h.types.map((t) => t.expression.getText())));
        schemas[name] = objectSchema(members, bases, interfaces, schemas);
      }
      return { $ref: `#/components/schemas/${name}` };
    }
  }
  return {};
}

function objectSchema(members, bases, interfaces, schemas) {
  const properties = {};
  const required = [];
  for (const base of bases) {
    for (const d of interfaces[base] ?? []) {
      const inherited = objectSchema(d.members, [], interfaces, schemas);
      Object.assign(properties, inherited.properties);
      required.push(...(inherited.required ?? []));
    }
  }
  for (const m of members) {
    if (!ts.isPropertySignature(m)) continue;
    const name = m.name.getText().replace(/^['"]|['"]$/g, '');
    properties[name] = toSchema(m.type, interfaces, schemas);
    if (!m.questionToken) required.push(name);
  }
  const schema = { type: 'object', properties };
  if (required.length) schema.required = [...new Set(required)];
  return schema;
}

/// The operation of one `this.config.request<T>(url, options)` call, or null.
function requestCall(call, urls, params, method, schemaOf) {
  if (!ts.isCallExpression(call) || call.expression.getText() !== 'this.config.request') return null;
  const [urlArg, options] = call.arguments;
  const apiPath = pathOf(urlArg, urls, method);
  if (!apiPath || !apiPath.startsWith('/auth/v1/')) return null;
  const props = {};
  if (options && ts.isObjectLiteralExpression(options)) {
    for (const p of options.properties) {
      if (ts.isPropertyAssignment(p)) props[p.name.getText()] = p.initializer;
      if (ts.isShorthandPropertyAssignment(p)) props[p.name.getText()] = p.name;
    }
  }
  const httpMethod = props.method && ts.isStringLiteral(props.method) ? props.method.text.toLowerCase() : 'get';
  const literal = (node) => (node ? node.kind === ts.SyntaxKind.TrueKeyword ? true : node.kind === ts.SyntaxKind.FalseKeyword ? false : 'runtime' : false);
  const bearer = literal(props.withCredentials);
  const security =
    bearer === true ? [{ userBearer: [] }] : bearer === 'runtime' ? [{ userBearer: [] }, { clientBasic: [] }, {}] : [{ clientBasic: [] }, {}];
  const operation = {
    operationId: method.name.getText(),
    description: `Source: ${method.name.getText()} (src/auth/apis.ts:${line(method)})`,
    security,
    responses: {},
  };
  const body = props.body;
  if (body) {
    let schema = {};
    if (ts.isObjectLiteralExpression(body)) {
      const properties = {};
      for (const p of body.properties) if (p.name) properties[p.name.getText()] = {};
      schema = { type: 'object', properties };
    } else {
      const declared = ts.isIdentifier(body) && params[body.text] ? params[body.text] : Object.values(params)[0];
      schema = schemaOf(declared);
    }
    operation.requestBody = { content: { 'application/json': { schema } } };
  }
  // The response type: `request<T>`, else the `Promise<T>` the method declares.
  const declared = method.type && ts.isTypeReferenceNode(method.type) && method.type.typeName.getText() === 'Promise'
    ? method.type.typeArguments?.[0]
    : undefined;
  const typeArg = call.typeArguments?.[0] ?? declared;
  const response = typeArg ? schemaOf(typeArg) : {};
  operation.responses['200'] = { description: 'success', content: { 'application/json': { schema: response } } };
  return { path: apiPath, method: httpMethod, operation };
}

function line(node) {
  return node.getSourceFile().getLineAndCharacterOfPosition(node.getStart()).line + 1;
}

/// The path a URL expression names: `ApiUrls.X`, `ApiUrls.X + params.y`, a template starting
/// with `${ApiUrls.X}`, or a variable built from one (or from `getParamsByVersion(…, 'X')`)
/// earlier in the method.
function pathOf(node, urls, method) {
  if (!node) return null;
  if (ts.isPropertyAccessExpression(node) && node.expression.getText() === 'ApiUrls') return urls[node.name.text];
  if (ts.isBinaryExpression(node)) {
    const left = pathOf(node.left, urls, method);
    return left ? left + `{${node.right.getText().split('.').at(-1)}}` : null;
  }
  if (ts.isTemplateExpression(node)) {
    let out = node.head.text;
    for (const span of node.templateSpans) {
      const expr = span.expression.getText();
      out += expr.startsWith('ApiUrls.') ? urls[expr.slice(8)] ?? '' : `{${expr.split('.').at(-1)}}`;
      out += span.literal.text;
    }
    return out.split('?')[0];
  }
  const text = method.body.getText();
  const named = text.match(/ApiUrls\.(\w+)/) ?? text.match(/getParamsByVersion\([^,]+,\s*'(\w+)'/);
  return named ? urls[named[1]] : null;
}
