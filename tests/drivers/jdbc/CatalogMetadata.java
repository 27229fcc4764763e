// pgJDBC's DatabaseMetaData and ResultSetMetaData against a pgwire server
// (or PostgreSQL): what DBeaver, DataGrip and other JDBC tools read.
// Usage: java -cp postgresql.jar:. CatalogMetadata PORT. Prints OK.
import java.sql.*;
import java.util.*;

public class CatalogMetadata {
    static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }

    static List<String> column(ResultSet r, String name) throws SQLException {
        List<String> out = new ArrayList<>();
        while (r.next()) out.add(r.getString(name));
        r.close();
        return out;
    }

    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/postgres?user=postgres&sslmode=disable";
        try (Connection c = DriverManager.getConnection(url)) {
            try (Statement s = c.createStatement()) {
                s.execute("DROP TABLE IF EXISTS jm_books");
                s.execute("DROP TABLE IF EXISTS jm_authors");
                s.execute("CREATE TABLE jm_authors (id serial PRIMARY KEY, name varchar(50) NOT NULL UNIQUE)");
                s.execute("CREATE TABLE jm_books (id integer PRIMARY KEY, author_id integer REFERENCES jm_authors(id), "
                        + "title text NOT NULL, pages integer)");
                s.execute("CREATE INDEX jm_books_title_idx ON jm_books (title)");
                s.execute("INSERT INTO jm_authors (name) VALUES ('Ada')");
            }
            DatabaseMetaData md = c.getMetaData();

            List<String> tables = column(md.getTables(null, "public", "jm_%", new String[] {"TABLE"}), "TABLE_NAME");
            check(tables.equals(Arrays.asList("jm_authors", "jm_books")), "getTables " + tables);

            ResultSet cols = md.getColumns(null, "public", "jm_books", "%");
            List<String> names = new ArrayList<>();
            Map<String, String> types = new HashMap<>();
            Map<String, Integer> nullable = new HashMap<>();
            while (cols.next()) {
                String n = cols.getString("COLUMN_NAME");
                names.add(n);
                types.put(n, cols.getString("TYPE_NAME"));
                nullable.put(n, cols.getInt("NULLABLE"));
            }
            cols.close();
            check(names.equals(Arrays.asList("id", "author_id", "title", "pages")), "getColumns " + names);
            check("int4".equals(types.get("id")) && "text".equals(types.get("title")), "column types " + types);
            check(nullable.get("title") == DatabaseMetaData.columnNoNulls, "title not null");
            check(nullable.get("pages") == DatabaseMetaData.columnNullable, "pages nullable");

            List<String> pk = column(md.getPrimaryKeys(null, "public", "jm_books"), "COLUMN_NAME");
            check(pk.equals(Arrays.asList("id")), "getPrimaryKeys " + pk);

            ResultSet fk = md.getImportedKeys(null, "public", "jm_books");
            check(fk.next(), "getImportedKeys: a key");
            check("jm_authors".equals(fk.getString("PKTABLE_NAME")), "fk table " + fk.getString("PKTABLE_NAME"));
            check("id".equals(fk.getString("PKCOLUMN_NAME")), "fk pk column");
            check("author_id".equals(fk.getString("FKCOLUMN_NAME")), "fk column");
            check(!fk.next(), "one imported key");
            fk.close();

            List<String> idx = column(md.getIndexInfo(null, "public", "jm_books", false, false), "INDEX_NAME");
            check(idx.contains("jm_books_pkey") && idx.contains("jm_books_title_idx"), "getIndexInfo " + idx);

            List<String> schemas = column(md.getSchemas(), "TABLE_SCHEM");
            check(schemas.contains("public") && schemas.contains("pg_catalog"), "getSchemas " + schemas);

            List<String> typeNames = column(md.getTypeInfo(), "TYPE_NAME");
            check(typeNames.contains("int4") && typeNames.contains("text") && typeNames.contains("varchar"),
                  "getTypeInfo " + typeNames.size());

            try (Statement s = c.createStatement();
                 ResultSet r = s.executeQuery("SELECT id, name, length(name) AS n FROM jm_authors")) {
                ResultSetMetaData rm = r.getMetaData();
                check("jm_authors".equals(rm.getTableName(1)), "getTableName " + rm.getTableName(1));
                check("jm_authors".equals(rm.getTableName(2)), "getTableName 2");
                check("".equals(rm.getTableName(3)), "no table for an expression: " + rm.getTableName(3));
                check("serial".equals(rm.getColumnTypeName(1)), "getColumnTypeName serial " + rm.getColumnTypeName(1));
                check("varchar".equals(rm.getColumnTypeName(2)), "getColumnTypeName " + rm.getColumnTypeName(2));
                check(rm.isNullable(2) == ResultSetMetaData.columnNoNulls, "isNullable name");
                check(rm.isAutoIncrement(1), "isAutoIncrement id");
                check(!rm.isAutoIncrement(2), "not isAutoIncrement name");
                check(r.next() && r.getInt(1) == 1 && "Ada".equals(r.getString(2)), "the row");
            }
        }
        System.out.println("OK");
    }
}
