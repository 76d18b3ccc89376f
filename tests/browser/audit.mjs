#!/usr/bin/env node
// GraphQL-over-HTTP compliance audit of a running job-history server, with the public audit
// shipped by the `graphql-http` package (the reference implementation of the specification).
//
// Usage: API_KEY=PREFIX.SECRET node audit.mjs <base-url>   e.g. http://127.0.0.1:8080
// Prints every audit with its result; exits 1 when a MUST requirement fails. SHOULD/MAY
// deviations are printed as warnings.

import { auditServer } from 'graphql-http';

const base = process.argv[2];
if (!base) {
  console.error('usage: node audit.mjs <base-url>');
  process.exit(2);
}
const url = new URL('/graphql', base).toString();
// Every request but introspection needs a key: API_KEY (PREFIX.SECRET) is sent with each.
const key = process.env.API_KEY;
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  if (key) headers.set('authorization', `ApiKey ${key}`);
  return fetch(input, { ...init, headers });
};
const results = await auditServer({ url, fetchFn });
const counts = { ok: 0, warn: 0, error: 0 };
for (const r of results) {
  counts[r.status] += 1;
  const line = `${r.status.toUpperCase().padEnd(5)} ${r.id} ${r.name}`;
  if (r.status === 'ok') {
    console.log(line);
  } else {
    console.log(`${line}\n      ${r.reason}`);
  }
}
console.log(`graphql-http audit of ${url}: ${counts.ok} ok, ${counts.warn} warnings, ${counts.error} errors (of ${results.length})`);
process.exit(counts.error > 0 ? 1 : 0);
