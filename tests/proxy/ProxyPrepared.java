// pgJDBC through the proxy in transaction pooling: server-side prepared
// statements (prepareThreshold=1, so JDBC names them S_1, S_2...) used
// across transactions, batches, and an explicit transaction.
// Usage: java ProxyPrepared <port> <user> <password>
import java.sql.*;

public class ProxyPrepared {
    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/appdb?sslmode=disable&prepareThreshold=1";
        try (Connection c = DriverManager.getConnection(url, args[1], args[2])) {
            try (Statement s = c.createStatement()) {
                s.execute("CREATE TABLE IF NOT EXISTS jdbc_t (id int, v text)");
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT ?::int * 3")) {
                for (int i = 0; i < 30; i++) {
                    ps.setInt(1, i);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        if (rs.getInt(1) != i * 3) throw new AssertionError("got " + rs.getInt(1));
                    }
                }
            }
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO jdbc_t VALUES (?, ?)")) {
                for (int i = 0; i < 10; i++) {
                    ps.setInt(1, i);
                    ps.setString(2, "v" + i);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            c.commit();
            c.setAutoCommit(true);
            try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM jdbc_t WHERE v LIKE ?")) {
                ps.setString(1, "v%");
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    System.out.println(rs.getLong(1));
                }
            }
        }
    }
}
