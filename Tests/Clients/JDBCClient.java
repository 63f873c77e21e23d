import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.*;
import java.util.*;

/**
 * Runs queries through pgjdbc against `kiln serve` and prints each result as JSON lines.
 *
 * Every query is a server-side prepared statement executed 7 times: pgjdbc switches to a
 * named statement at the 5th execution and then asks for binary results, so the last runs
 * read Kiln's binary encodings. Queries are separated by lines of "----"; a query may hold
 * `?` parameters, given on a following line "-- params: type=value, ...".
 *
 * usage: java -cp postgresql.jar:. JDBCClient jdbc:postgresql://127.0.0.1:PORT/kiln queries.sql
 */
public class JDBCClient {
    public static void main(String[] args) throws Exception {
        Properties properties = new Properties();
        properties.setProperty("user", "kiln");
        properties.setProperty("prepareThreshold", "5");
        try (Connection connection = DriverManager.getConnection(args[0], properties)) {
            String text = Files.readString(Path.of(args[1]));
            for (String block : text.split("\n----\n")) {
                String query = block.strip();
                if (query.isEmpty()) continue;
                List<String> params = new ArrayList<>();
                StringBuilder sql = new StringBuilder();
                for (String line : query.split("\n")) {
                    if (line.startsWith("-- params:")) {
                        for (String p : line.substring(10).split(",")) if (!p.isBlank()) params.add(p.strip());
                    } else {
                        sql.append(line).append('\n');
                    }
                }
                try (PreparedStatement statement = connection.prepareStatement(sql.toString())) {
                    String last = null;
                    for (int run = 0; run < 7; run++) {
                        bind(statement, params);
                        try (ResultSet rows = statement.executeQuery()) {
                            last = render(rows);
                        }
                    }
                    System.out.println("@@result");
                    System.out.print(last);
                } catch (SQLException e) {
                    System.out.println("@@error " + e.getSQLState() + " " + e.getMessage().replace('\n', ' '));
                }
            }
        }
    }

    static void bind(PreparedStatement statement, List<String> params) throws SQLException {
        for (int i = 0; i < params.size(); i++) {
            String[] parts = params.get(i).split("=", 2);
            switch (parts[0]) {
                case "int": statement.setInt(i + 1, Integer.parseInt(parts[1])); break;
                case "long": statement.setLong(i + 1, Long.parseLong(parts[1])); break;
                case "decimal": statement.setBigDecimal(i + 1, new BigDecimal(parts[1])); break;
                case "double": statement.setDouble(i + 1, Double.parseDouble(parts[1])); break;
                case "date": statement.setDate(i + 1, java.sql.Date.valueOf(parts[1])); break;
                case "string": statement.setString(i + 1, parts[1]); break;
                case "null": statement.setNull(i + 1, Types.VARCHAR); break;
                default: throw new IllegalArgumentException("parameter type " + parts[0]);
            }
        }
    }

    /** One JSON line per row: an array of [type name, string value or null]. */
    static String render(ResultSet rows) throws SQLException {
        ResultSetMetaData meta = rows.getMetaData();
        StringBuilder out = new StringBuilder();
        while (rows.next()) {
            out.append('[');
            for (int c = 1; c <= meta.getColumnCount(); c++) {
                if (c > 1) out.append(',');
                String value = rows.getString(c);
                out.append("[\"").append(meta.getColumnTypeName(c)).append("\",");
                out.append(value == null ? "null" : quote(value)).append(']');
            }
            out.append("]\n");
        }
        return out.toString();
    }

    static String quote(String s) {
        StringBuilder out = new StringBuilder("\"");
        for (char ch : s.toCharArray()) {
            switch (ch) {
                case '"': out.append("\\\""); break;
                case '\\': out.append("\\\\"); break;
                case '\n': out.append("\\n"); break;
                case '\t': out.append("\\t"); break;
                case '\r': out.append("\\r"); break;
                default:
                    if (ch < 0x20) out.append(String.format("\\u%04x", (int) ch)); else out.append(ch);
            }
        }
        return out.append('"').toString();
    }
}
