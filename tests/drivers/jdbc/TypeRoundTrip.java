// pgJDBC against a pgwire server (or PostgreSQL): typed parameters and
// results (binary transfer once statements are server-prepared), result
// metadata, batches, generated keys, a fetch size (portal read in
// chunks) and a savepoint.
// Usage: java -cp postgresql.jar:. TypeRoundTrip PORT. Prints OK.
import java.math.BigDecimal;
import java.sql.*;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.UUID;

public class TypeRoundTrip {
    static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }

    static void eq(Object want, Object have, String what) {
        if (want == null ? have != null : !want.equals(have)) {
            throw new AssertionError(what + ": want " + want + ", have " + have);
        }
    }

    public static void main(String[] args) throws Exception {
        // prepareThreshold=1: server-prepared from the first run, so
        // results come in binary for the types pgJDBC reads in binary.
        String url = "jdbc:postgresql://127.0.0.1:" + args[0]
                + "/test?user=postgres&sslmode=disable&prepareThreshold=1";
        try (Connection c = DriverManager.getConnection(url)) {
            try (Statement s = c.createStatement()) {
                s.execute("DROP TABLE IF EXISTS jdbc_types");
                s.execute("CREATE TABLE jdbc_types (id int4 PRIMARY KEY, b bool, i2 int2, i8 int8, "
                        + "f4 float4, f8 float8, n numeric(12,3), t text, vc varchar(10), by bytea, "
                        + "d date, tm time, ts timestamp, tstz timestamptz, u uuid, ai int4[], at text[])");
            }
            LocalDate d = LocalDate.of(2024, 2, 29);
            LocalTime tm = LocalTime.of(13, 45, 7, 123456000);
            LocalDateTime ts = LocalDateTime.of(d, tm);
            OffsetDateTime tstz = OffsetDateTime.of(ts, ZoneOffset.UTC);
            UUID u = UUID.fromString("01234567-89ab-cdef-0123-456789abcdef");
            byte[] bytes = {0, 1, 2, (byte) 0xff, '\\', '\''};
            String ins = "INSERT INTO jdbc_types VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
            for (int round = 1; round <= 3; round++) {
                try (PreparedStatement p = c.prepareStatement(ins)) {
                    p.setInt(1, round);
                    p.setBoolean(2, round % 2 == 1);
                    p.setShort(3, (short) -32768);
                    p.setLong(4, Long.MIN_VALUE + round);
                    p.setFloat(5, 1.5f);
                    p.setDouble(6, -0.1);
                    p.setBigDecimal(7, new BigDecimal("123456789.125"));
                    p.setString(8, "Zoë 🦀 'q' \"d\" \\");
                    p.setString(9, "vc");
                    p.setBytes(10, bytes);
                    p.setObject(11, d);
                    p.setObject(12, tm);
                    p.setObject(13, ts);
                    p.setObject(14, tstz);
                    p.setObject(15, u);
                    p.setArray(16, c.createArrayOf("int4", new Integer[] {1, -2, null, 3}));
                    p.setArray(17, c.createArrayOf("text", new String[] {"a", "b c", "", "q\"uote"}));
                    eq(1, p.executeUpdate(), "insert count");
                }
            }
            try (PreparedStatement p = c.prepareStatement("SELECT * FROM jdbc_types WHERE id = ?")) {
                for (int round = 1; round <= 3; round++) {
                    p.setInt(1, round);
                    try (ResultSet r = p.executeQuery()) {
                        check(r.next(), "row " + round);
                        ResultSetMetaData md = r.getMetaData();
                        eq(17, md.getColumnCount(), "column count");
                        eq("int4", md.getColumnTypeName(1), "type 1");
                        eq("numeric", md.getColumnTypeName(7), "type 7");
                        eq("varchar", md.getColumnTypeName(9), "type 9");
                        eq(10, md.getPrecision(9), "varchar(10) precision");
                        eq("timestamptz", md.getColumnTypeName(14), "type 14");
                        eq("_int4", md.getColumnTypeName(16), "type 16");
                        eq(round, r.getInt(1), "id");
                        eq(round % 2 == 1, r.getBoolean(2), "b");
                        eq((short) -32768, r.getShort(3), "i2");
                        eq(Long.MIN_VALUE + round, r.getLong(4), "i8");
                        eq(1.5f, r.getFloat(5), "f4");
                        eq(-0.1, r.getDouble(6), "f8");
                        eq(new BigDecimal("123456789.125"), r.getBigDecimal(7), "n");
                        eq("Zoë 🦀 'q' \"d\" \\", r.getString(8), "t");
                        eq("vc", r.getString(9), "vc");
                        check(Arrays.equals(bytes, r.getBytes(10)), "bytea");
                        eq(d, r.getObject(11, LocalDate.class), "date");
                        eq(tm, r.getObject(12, LocalTime.class), "time");
                        eq(ts, r.getObject(13, LocalDateTime.class), "timestamp");
                        eq(tstz.toInstant(), r.getObject(14, OffsetDateTime.class).toInstant(), "timestamptz");
                        eq(u, r.getObject(15), "uuid");
                        eq(Arrays.asList(1, -2, null, 3),
                                Arrays.asList((Integer[]) r.getArray(16).getArray()), "int4[]");
                        eq(Arrays.asList("a", "b c", "", "q\"uote"),
                                Arrays.asList((String[]) r.getArray(17).getArray()), "text[]");
                        check(!r.next(), "one row");
                    }
                }
            }
            // NULLs.
            try (PreparedStatement p = c.prepareStatement("INSERT INTO jdbc_types (id, n, ts, u) VALUES (?, ?, ?, ?)")) {
                p.setInt(1, 9);
                p.setNull(2, java.sql.Types.NUMERIC);
                p.setNull(3, java.sql.Types.TIMESTAMP);
                p.setObject(4, null, java.sql.Types.OTHER);
                p.executeUpdate();
            }
            try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT n, ts, u FROM jdbc_types WHERE id = 9")) {
                check(r.next(), "null row");
                check(r.getBigDecimal(1) == null && r.getTimestamp(2) == null && r.getObject(3) == null, "nulls");
            }
            // A batch, then generated keys.
            try (Statement s = c.createStatement()) {
                s.execute("DROP TABLE IF EXISTS jdbc_seq");
                s.execute("CREATE TABLE jdbc_seq (id serial PRIMARY KEY, v int8)");
            }
            try (PreparedStatement p = c.prepareStatement("INSERT INTO jdbc_seq (v) VALUES (?)")) {
                for (int i = 0; i < 200; i++) {
                    p.setLong(1, i);
                    p.addBatch();
                }
                int[] counts = p.executeBatch();
                eq(200, counts.length, "batch size");
                for (int n : counts) check(n == 1 || n == Statement.SUCCESS_NO_INFO, "batch count " + n);
            }
            try (PreparedStatement p = c.prepareStatement("INSERT INTO jdbc_seq (v) VALUES (?)",
                    Statement.RETURN_GENERATED_KEYS)) {
                p.setLong(1, 1000);
                eq(1, p.executeUpdate(), "insert returning");
                try (ResultSet k = p.getGeneratedKeys()) {
                    check(k.next(), "generated key");
                    eq(201, k.getInt("id"), "generated id");
                }
            }
            // A fetch size in a transaction: the portal is read in chunks.
            c.setAutoCommit(false);
            try (PreparedStatement p = c.prepareStatement("SELECT id, v FROM jdbc_seq WHERE v >= ? ORDER BY id")) {
                p.setFetchSize(7);
                p.setLong(1, 10);
                long sum = 0;
                int n = 0;
                try (ResultSet r = p.executeQuery()) {
                    while (r.next()) {
                        sum += r.getLong(2);
                        n++;
                    }
                }
                eq(191, n, "rows");
                eq(1000L + (10L + 199L) * 190 / 2, sum, "sum");
            }
            // A savepoint rolled back.
            try (Statement s = c.createStatement()) {
                s.execute("DELETE FROM jdbc_seq WHERE v < 100");
                Savepoint sp = c.setSavepoint("sp");
                s.execute("DELETE FROM jdbc_seq");
                c.rollback(sp);
                try (ResultSet r = s.executeQuery("SELECT count(*) FROM jdbc_seq")) {
                    check(r.next(), "count");
                    eq(101L, r.getLong(1), "count after savepoint rollback");
                }
            }
            c.rollback();
            c.setAutoCommit(true);
            try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT count(*) FROM jdbc_seq")) {
                check(r.next(), "count");
                eq(201L, r.getLong(1), "count after rollback");
            }
            // Errors with their SQLSTATE; the connection goes on.
            try (PreparedStatement p = c.prepareStatement("SELECT * FROM no_such_table WHERE id = ?")) {
                p.setInt(1, 1);
                p.executeQuery();
                check(false, "no error");
            } catch (SQLException e) {
                eq("42P01", e.getSQLState(), "sqlstate");
            }
            try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT 1")) {
                check(r.next() && r.getInt(1) == 1, "after error");
            }
        }
        System.out.println("OK");
    }
}
