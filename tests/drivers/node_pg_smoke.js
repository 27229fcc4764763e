// node-postgres against a pgwire server (or PostgreSQL).
// Usage: node node_pg_smoke.js PORT [path/to/node_modules/pg]. Prints OK.
const assert = require('assert');
const { Client } = require(process.argv[3] || 'pg');

(async () => {
  const c = new Client({ host: '127.0.0.1', port: Number(process.argv[2]), user: 'postgres', database: 'test' });
  await c.connect();
  await c.query('DROP TABLE IF EXISTS node_smoke');
  await c.query('CREATE TABLE node_smoke (id INTEGER PRIMARY KEY, name TEXT, ok BOOLEAN)');
  for (const [id, name, ok] of [[1, 'a', true], [2, null, false]]) {
    await c.query('INSERT INTO node_smoke (id, name, ok) VALUES ($1, $2, $3)', [id, name, ok]);
  }
  const r = await c.query('SELECT id, name, ok FROM node_smoke ORDER BY id');
  assert.deepStrictEqual(r.rows, [{ id: 1, name: 'a', ok: true }, { id: 2, name: null, ok: false }]);
  assert.strictEqual(r.rowCount, 2);
  // A named prepared statement, run twice.
  for (const id of [1, 2]) {
    const p = await c.query({ name: 'by_id', text: 'SELECT name FROM node_smoke WHERE id = $1', values: [id] });
    assert.strictEqual(p.rows.length, 1);
  }
  await c.query('BEGIN');
  await c.query("INSERT INTO node_smoke (id, name) VALUES (3, 'tmp')");
  await c.query('ROLLBACK');
  assert.strictEqual((await c.query('SELECT id FROM node_smoke')).rowCount, 2);
  await assert.rejects(c.query('SELEC 1'), (e) => e.code === '42601');
  assert.strictEqual((await c.query('SELECT 1 AS one')).rows[0].one, 1);
  await c.end();
  console.log('OK');
})().catch((e) => { console.error(e); process.exit(1); });
