// node-postgres against a pgwire server (or PostgreSQL): parameters of
// every common type (sent as text), results parsed by the type OIDs the
// server describes, rowMode 'array', a pool running queries concurrently,
// and errors with their SQLSTATE.
// Usage: node node_pg_types.js PORT [path/to/node_modules/pg]. Prints OK.
const assert = require('assert');
const { Client, Pool } = require(process.argv[3] || 'pg');

const port = Number(process.argv[2]);
const cfg = { host: '127.0.0.1', port, user: 'postgres', database: 'test' };

(async () => {
  const c = new Client(cfg);
  await c.connect();
  await c.query('DROP TABLE IF EXISTS node_types');
  await c.query(`CREATE TABLE node_types (id int4 PRIMARY KEY, b bool, i8 int8, f8 float8,
    n numeric(10,2), t text, by bytea, d date, ts timestamp, tstz timestamptz, u uuid,
    j json, jb jsonb, ai int4[], at text[])`);
  const tstz = new Date(Date.UTC(2024, 1, 29, 13, 45, 7, 123));
  const values = [1, true, '9007199254740993', -0.1, '12.50', 'Zoë 🦀 \'q\' "d" \\',
    Buffer.from([0, 1, 0xff, 92, 39]), '2024-02-29', '2024-02-29 13:45:07.123', tstz,
    '01234567-89ab-cdef-0123-456789abcdef', { a: [1, 2], s: 'x"y' }, JSON.stringify({ k: true }),
    [1, -2, null, 3], ['a', 'b c', '', 'q"uote', 'NULL']];
  const ins = await c.query(
    `INSERT INTO node_types VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
    values);
  assert.strictEqual(ins.rowCount, 1);
  assert.strictEqual(ins.command, 'INSERT');
  const r = await c.query('SELECT * FROM node_types WHERE id = $1', [1]);
  // 23 int4, 16 bool, 20 int8, 701 float8, 1700 numeric, 25 text, 17 bytea,
  // 1082 date, 1114 timestamp, 1184 timestamptz, 2950 uuid, 114 json,
  // 3802 jsonb, 1007 int4[], 1009 text[].
  assert.deepStrictEqual(r.fields.map((f) => f.dataTypeID),
    [23, 16, 20, 701, 1700, 25, 17, 1082, 1114, 1184, 2950, 114, 3802, 1007, 1009]);
  assert.deepStrictEqual(r.fields.map((f) => f.name),
    ['id', 'b', 'i8', 'f8', 'n', 't', 'by', 'd', 'ts', 'tstz', 'u', 'j', 'jb', 'ai', 'at']);
  const row = r.rows[0];
  assert.strictEqual(row.id, 1);
  assert.strictEqual(row.b, true);
  assert.strictEqual(row.i8, '9007199254740993');
  assert.strictEqual(row.f8, -0.1);
  assert.strictEqual(row.n, '12.50');
  assert.strictEqual(row.t, values[5]);
  assert.deepStrictEqual(row.by, values[6]);
  assert.strictEqual(row.d.getFullYear(), 2024);
  assert.strictEqual(row.d.getMonth(), 1);
  assert.strictEqual(row.d.getDate(), 29);
  assert.strictEqual(row.ts.getHours(), 13);
  assert.strictEqual(row.ts.getMilliseconds(), 123);
  assert.strictEqual(row.tstz.getTime(), tstz.getTime());
  assert.strictEqual(row.u, values[10]);
  assert.deepStrictEqual(row.j, values[11]);
  assert.deepStrictEqual(row.jb, { k: true });
  assert.deepStrictEqual(row.ai, [1, -2, null, 3]);
  assert.deepStrictEqual(row.at, values[14]);
  // NULL parameters.
  await c.query('INSERT INTO node_types (id, t, ai, tstz) VALUES ($1, $2, $3, $4)', [2, null, null, null]);
  const nulls = await c.query({ text: 'SELECT t, ai, tstz FROM node_types WHERE id = $1', values: [2], rowMode: 'array' });
  assert.deepStrictEqual(nulls.rows, [[null, null, null]]);
  // Several statements in one simple query: node-pg returns one result each.
  const multi = await c.query('SELECT 1 AS a; SELECT 2 AS b');
  assert.strictEqual(multi.length, 2);
  assert.strictEqual(multi[1].rows[0].b, 2);
  // A pool: concurrent sessions with prepared statements.
  const pool = new Pool({ ...cfg, max: 4 });
  const sums = await Promise.all([...Array(20).keys()].map((i) =>
    pool.query({ name: 'add', text: 'SELECT $1::int4 + $2::int4 AS s', values: [i, 1] })));
  assert.deepStrictEqual(sums.map((s) => s.rows[0].s), [...Array(20).keys()].map((i) => i + 1));
  await pool.end();
  // Errors with their SQLSTATE, then the connection goes on.
  await assert.rejects(c.query('INSERT INTO node_types (id) VALUES ($1)', [1]), (e) => e.code === '23505');
  await assert.rejects(c.query('SELECT * FROM nope WHERE id = $1', [1]), (e) => e.code === '42P01');
  await assert.rejects(c.query('SELECT $1::int4', ['x']), (e) => e.code === '22P02');
  assert.strictEqual((await c.query('SELECT count(*) AS n FROM node_types')).rows[0].n, '2');
  await c.end();
  console.log('OK');
})().catch((e) => { console.error(e); process.exit(1); });
