import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../helpers/fixtures.js';
import type { TestHerald } from '../helpers/herald.js';

/** /openapi.json as code generators in other languages see it. */
const f = fixtures();

describe('the OpenAPI document for code generators', () => {
  let t: TestHerald;
  let doc: any;
  beforeAll(async () => {
    t = await f.herald();
    doc = (await t.api('GET', '/openapi.json')).body;
  });

  it('names every operation with a unique camelCase operationId, and the shared shapes under components.schemas', () => {
    const ids: string[] = [];
    for (const ops of Object.values<any>(doc.paths)) for (const op of Object.values<any>(ops)) ids.push(op.operationId);
    expect(ids.length).toBeGreaterThan(40);
    for (const id of ids) expect(id).toMatch(/^[a-z][A-Za-z0-9]*$/);
    expect(new Set(ids).size).toBe(ids.length);
    for (const name of ['App', 'Endpoint', 'EndpointCreate', 'Event', 'EventIn', 'Delivery', 'DeliveryDetail', 'Attempt', 'Source', 'Error']) {
      expect(doc.components.schemas[name], name).toBeDefined();
    }
    // Operations point at them rather than repeating them.
    expect(doc.paths['/v1/apps/{app}'].get.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/App' });
    expect(doc.paths['/v1/apps/{app}/endpoints'].post.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/EndpointCreate' });
    // Every $ref resolves.
    const refs = JSON.stringify(doc).match(/#\/components\/schemas\/[A-Za-z]+/g) ?? [];
    for (const ref of new Set(refs)) expect(doc.components.schemas[ref.split('/').pop()!], ref).toBeDefined();
  });

  it('goes through openapi-typescript (which validates it) into TypeScript that compiles, with operations by name', async () => {
    const ast = await openapiTS(doc);
    const source = astToString(ast);
    expect(source).toContain('operations');
    for (const op of ['publishEvent', 'listDeliveries', 'retryDelivery', 'createEndpoint']) expect(source).toContain(`${op}: {`);
    expect(source).toMatch(/App: \{/);
    const dir = mkdtempSync(join(tmpdir(), 'herald-openapi-'));
    f.cleanup(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'herald.d.ts');
    writeFileSync(file, `${source}\nexport type PublishBody = operations['publishEvent']['requestBody']['content']['application/json'];\nconst check: PublishBody = { type: 'a.b', data: {} };\nexport { check };\n`);
    const program = ts.createProgram([file], { strict: true, noEmit: true, skipLibCheck: true, target: ts.ScriptTarget.ES2022 });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(problems).toEqual([]);
  });
});
