// pgJDBC's LargeObjectManager (the function call protocol: lo_creat,
// lo_open, lowrite, lo_lseek64, loread, lo_tell64, lo_truncate, lo_close,
// lo_unlink) against a pgwire server (or PostgreSQL).
// Usage: java -cp postgresql.jar:. LargeObjects PORT. Prints OK.
import java.sql.*;
import java.util.Arrays;
import java.util.Random;
import org.postgresql.PGConnection;
import org.postgresql.largeobject.LargeObject;
import org.postgresql.largeobject.LargeObjectManager;

public class LargeObjects {
    static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }

    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/test?user=postgres&sslmode=disable";
        byte[] data = new byte[10 * 1024 * 1024];
        new Random(42).nextBytes(data);
        final int chunk = 64 * 1024;
        try (Connection c = DriverManager.getConnection(url)) {
            c.setAutoCommit(false);  // large objects live in transactions
            LargeObjectManager lom = c.unwrap(PGConnection.class).getLargeObjectAPI();
            long oid = lom.createLO(LargeObjectManager.READWRITE);
            check(oid > 0, "oid " + oid);
            LargeObject lo = lom.open(oid, LargeObjectManager.READWRITE);
            for (int off = 0; off < data.length; off += chunk) {
                lo.write(data, off, Math.min(chunk, data.length - off));
            }
            check(lo.tell64() == data.length, "tell after write " + lo.tell64());
            check(lo.size64() == data.length, "size " + lo.size64());
            lo.close();
            c.commit();

            // Read back in a new transaction: seek, then whole.
            lo = lom.open(oid, LargeObjectManager.READ);
            long mid = 5L * 1024 * 1024 + 123;
            lo.seek64(mid, LargeObject.SEEK_SET);
            check(lo.tell64() == mid, "tell after seek " + lo.tell64());
            byte[] part = lo.read(1000);
            check(Arrays.equals(part, Arrays.copyOfRange(data, (int) mid, (int) mid + 1000)), "read after seek");
            lo.seek(-100, LargeObject.SEEK_END);
            check(lo.tell() == data.length - 100, "seek from end " + lo.tell());
            lo.seek(0, LargeObject.SEEK_SET);
            byte[] back = new byte[data.length];
            int got = 0;
            while (got < back.length) {
                int n = lo.read(back, got, Math.min(chunk, back.length - got));
                if (n <= 0) break;
                got += n;
            }
            check(got == data.length, "read length " + got);
            check(Arrays.equals(back, data), "read back identical");
            check(lo.read(10).length == 0, "read at end");
            lo.close();

            lo = lom.open(oid, LargeObjectManager.READWRITE);
            lo.truncate64(1000);
            check(lo.size64() == 1000, "truncated size " + lo.size64());
            lo.close();
            c.commit();

            // Rolled back writes are gone.
            lo = lom.open(oid, LargeObjectManager.READWRITE);
            lo.write(new byte[5000]);
            lo.close();
            c.rollback();
            lo = lom.open(oid, LargeObjectManager.READ);
            check(lo.size() == 1000, "size after rollback " + lo.size());
            lo.close();

            lom.unlink(oid);
            c.commit();
            try {
                lom.open(oid, LargeObjectManager.READ);
                throw new AssertionError("opened an unlinked large object");
            } catch (SQLException e) {
                check("42704".equals(e.getSQLState()), "unlinked: " + e.getSQLState() + " " + e.getMessage());
            }
            c.rollback();
        }
        System.out.println("OK");
    }
}
