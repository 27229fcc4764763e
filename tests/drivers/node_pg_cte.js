// A recursive CTE's column read as numbers by node-postgres, through the
// extended protocol (a named prepared statement) and the simple one.
// Usage: node node_pg_cte.js PORT [path/to/node_modules/pg]. Prints OK.
// Checked against PostgreSQL 15.
const assert = require('assert');
const { Client } = require(process.argv[3] || 'pg');

const QUERY = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5) SELECT x FROM c';

(async () => {
  const c = new Client({ host: '127.0.0.1', port: Number(process.argv[2]), user: 'postgres', database: 'postgres' });
  await c.connect();
  const extended = await c.query({ name: 'cte', text: QUERY, rowMode: 'array' });
  assert.strictEqual(extended.fields[0].dataTypeID, 23);
  assert.deepStrictEqual(extended.rows.map((r) => r[0]), [1, 2, 3, 4, 5]);
  const simple = await c.query({ text: QUERY, rowMode: 'array' });
  assert.strictEqual(simple.fields[0].dataTypeID, 23);
  assert.deepStrictEqual(simple.rows.map((r) => r[0]), [1, 2, 3, 4, 5]);
  await c.end();
  console.log('OK');
})().catch((e) => { console.error(e); process.exit(1); });
