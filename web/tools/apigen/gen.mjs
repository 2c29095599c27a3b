#!/usr/bin/env node
// radraft-apigen IN.json OUT.ts: TypeScript types for the API from the
// server's OpenAPI document (web/openapi.json, kept equal to what the server
// serves by server/openapi_file_test.go), by openapi-typescript.
import { readFileSync, writeFileSync } from 'node:fs';
import openapiTS, { astToString } from 'openapi-typescript';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: radraft-apigen openapi.json out.ts');
  process.exit(2);
}
const doc = JSON.parse(readFileSync(input, 'utf8'));
const ast = await openapiTS(doc, { alphabetize: true });
const head = `// Generated from ${input} by openapi-typescript (npm run gen:api). Do not edit.\n\n`;
writeFileSync(output, head + astToString(ast));
