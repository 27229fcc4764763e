// pgJDBC against a pgwire server (or PostgreSQL).
// Usage: java -cp postgresql.jar:. Smoke PORT. Prints OK.
import java.sql.*;

public class Smoke {
    static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }

    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/test?user=postgres&sslmode=disable";
        try (Connection c = DriverManager.getConnection(url)) {
            try (Statement s = c.createStatement()) {
                s.execute("DROP TABLE IF EXISTS jdbc_smoke");
                s.execute("CREATE TABLE jdbc_smoke (id INTEGER PRIMARY KEY, name VARCHAR(20), price DOUBLE PRECISION)");
            }
            try (PreparedStatement p = c.prepareStatement("INSERT INTO jdbc_smoke (id, name, price) VALUES (?, ?, ?)")) {
                for (int i = 1; i <= 6; i++) {  // past prepareThreshold: server-side prepared
                    p.setInt(1, i);
                    p.setString(2, "item " + i);
                    if (i % 2 == 0) p.setNull(3, Types.DOUBLE); else p.setDouble(3, i * 1.25);
                    check(p.executeUpdate() == 1, "insert count");
                }
            }
            try (PreparedStatement p = c.prepareStatement("SELECT name, price FROM jdbc_smoke WHERE id = ?")) {
                for (int i = 1; i <= 6; i++) {
                    p.setInt(1, i);
                    try (ResultSet r = p.executeQuery()) {
                        check(r.next(), "row " + i);
                        check(r.getString(1).equals("item " + i), "name " + i);
                        r.getDouble(2);
                        check((i % 2 == 0) == r.wasNull(), "null " + i);
                    }
                }
            }
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.execute("INSERT INTO jdbc_smoke (id, name) VALUES (99, 'tmp')");
            }
            c.rollback();
            c.setAutoCommit(true);
            try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT count(*) FROM jdbc_smoke")) {
                check(r.next() && r.getLong(1) == 6, "count after rollback");
            }
            try (Statement s = c.createStatement()) {
                s.execute("INSERT INTO jdbc_smoke (id, name) VALUES (1, 'dup')");
                check(false, "no error");
            } catch (SQLException e) {
                check("23505".equals(e.getSQLState()), "sqlstate " + e.getSQLState());
            }
        }
        System.out.println("OK");
    }
}
