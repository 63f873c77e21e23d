#!/usr/bin/env python3
"""The interactive shell as a user meets it: `kiln` on a pseudo-terminal, driven by keystrokes.

Each check starts the shell on a pty of a known size, types statements, meta-commands, Tab
and Ctrl-C, and reads the screen (the bytes the shell wrote, ANSI escapes kept):
- meta-commands in both spellings (\\?, .help, \\dt, .tables, \\d t, .schema, \\x, .mode,
  .headers, .nullvalue, \\set and :var, \\i, \\o, \\copy both ways, \\timing, \\e with $EDITOR);
- Tab completes keywords, table names and column names; a second Tab lists candidates;
- Ctrl-C cancels a long INSERT ... SELECT, the session goes on and the table is unchanged;
  Ctrl-C at the prompt drops the line; Ctrl-D ends the shell with status 0;
- the progress bar appears on a statement that runs over 2 seconds and is cleared before the
  result prints; `.progress off` keeps it away, and so do `-c`, `-f` and pipes;
- long results are elided to 40 rows and wide ones cut to the terminal's width; NULL is dimmed;
- history is kept in $HOME/.kiln_history;
- `kiln -f` names the file and line of an error and stops, `--continue-on-error` goes on.

Usage: shell-checks.py --kiln .build/debug/kiln
"""
import argparse
import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time

ANSI = re.compile(rb"\x1b\[[0-9;]*[A-Za-z]")
# A fresh prompt: at the start of a line (the line editor's redraws start with a carriage return).
PROMPT = re.compile(rb"(?:^|\n)kiln> ")


class Terminal:
    """A shell on a pseudo-terminal of `columns` x `rows`."""

    def __init__(self, kiln, args=(), columns=100, rows=40, env=None):
        self.output = b""
        self.mark = 0
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(kiln, [kiln] + list(args), env or os.environ)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.expect(PROMPT, 60)

    def read(self, seconds):
        deadline = time.time() + seconds
        while time.time() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                self.output += chunk

    def expect(self, pattern, seconds=60):
        """Waits until `pattern` (bytes or a compiled regex) appears after the mark; returns the text up to it."""
        deadline = time.time() + seconds
        while True:
            tail = self.output[self.mark:]
            found = pattern.search(tail) if hasattr(pattern, "search") else (re.search(re.escape(pattern), tail))
            if found:
                seen = tail[:found.end()]
                self.mark += found.end()
                return seen
            if time.time() > deadline:
                raise AssertionError(f"did not see {pattern!r}; screen ends with {self.output[-1500:]!r}")
            self.read(0.1)

    def type(self, text):
        os.write(self.fd, text.encode() if isinstance(text, str) else text)

    def line(self, text):
        self.type(text + "\r")

    def run(self, text, seconds=60):
        """Types a statement or meta-command and returns what it printed up to the next prompt
        (not the echo of the line typed)."""
        self.line(text)
        seen = self.expect(PROMPT, seconds)
        return seen[seen.find(b"\n") + 1:]

    def close(self):
        self.type(b"\x04")
        deadline = time.time() + 30
        while time.time() < deadline:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                os.close(self.fd)
                return status
            self.read(0.1)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        raise AssertionError("the shell did not end on Ctrl-D")


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def has_cell(out, value):
    """Whether a box in `out` has a cell holding exactly `value`."""
    return re.search(r"│\s*" + re.escape(value) + r"\s*│", out) is not None


def box_width(out):
    """The widest line of the boxes in `out`."""
    return max((len(line) for line in out.split("\n") if line[:1] in "┌│├└"), default=0)


def plain(data):
    return ANSI.sub(b"", data).decode(errors="replace").replace("\r", "")


class Checks:
    def __init__(self, kiln):
        self.kiln = kiln
        self.failures = []
        self.count = 0
        self.home = tempfile.mkdtemp(prefix="kiln-shell-home-")
        self.env = dict(os.environ, HOME=self.home, TERM="xterm")

    def check(self, name, body):
        self.count += 1
        try:
            body()
            print(f"ok: {name}", flush=True)
        except Exception as error:  # noqa: BLE001 - every failure is reported the same way
            self.failures.append(name)
            print(f"FAIL: {name}: {error}", flush=True)

    def terminal(self, args=(), **kw):
        return Terminal(self.kiln, args, env=self.env, **kw)

    # --- meta-commands ------------------------------------------------------------------------

    def meta_commands(self):
        t = self.terminal()
        t.run("CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, price numeric(8,2) CHECK (price >= 0));")
        t.run("CREATE TABLE orders (item int REFERENCES items(id), qty int);")
        t.run("INSERT INTO items (name, price) VALUES ('apple', 1.25), ('pear', NULL);")
        help_text = plain(t.run("\\?"))
        for command in ["\\dt, .tables", "\\x", "\\copy", ".mode", "\\e", "\\set"]:
            assert command in help_text, f"\\? lacks {command}: {help_text}"
        assert plain(t.run(".help")) == help_text.replace("\\?", ".help", 1) or "Meta-commands" in plain(t.run(".help"))
        listing = plain(t.run("\\dt"))
        assert "List of relations" in listing and "items" in listing and "orders" in listing, listing
        tables = plain(t.run(".tables"))
        assert "items" in tables and "orders" in tables, tables
        described = plain(t.run("\\d items"))
        for expected in ['Table "public.items"', "not null", "nextval('items_id_seq')", '"items_pkey" PRIMARY KEY, btree (id)',
                         "Check constraints:", "Referenced by:", 'TABLE "orders" CONSTRAINT "orders_item_fkey"']:
            assert expected in described, f"\\d items lacks {expected!r}: {described}"
        schema = plain(t.run(".schema orders"))
        assert "CREATE TABLE orders (" in schema and "FOREIGN KEY (item) REFERENCES items(id)" in schema, schema
        assert "Did not find any relation" in plain(t.run("\\d nosuch"))
        t.run("CREATE VIEW cheap AS SELECT name FROM items WHERE price < 2;")
        t.run("CREATE SEQUENCE tickets;")
        assert "items_pkey" in plain(t.run("\\di")) and "orders_item_fkey" not in plain(t.run("\\di items*"))
        assert "tickets" in plain(t.run("\\ds"))
        views = plain(t.run("\\dv"))
        assert "cheap" in views and "view" in views, views
        view = plain(t.run("\\d cheap"))
        assert 'View "public.cheap"' in view and "View definition:" in view and "WHERE price < 2" in view, view
        assert "Sequence \"public.tickets\"" in plain(t.run("\\d tickets"))
        assert "CREATE VIEW cheap AS" in plain(t.run(".schema cheap"))
        # The statement typed so far: \p shows it, \r drops it, \g runs it.
        t.line("SELECT 6 * 7 AS product")
        t.expect(b"...> ")
        t.line("\\p")
        assert "SELECT 6 * 7 AS product" in plain(t.expect(b"...> "))
        out = plain(t.run("\\g"))
        assert has_cell(out, "42"), out
        t.line("SELECT 1")
        t.expect(b"...> ")
        assert "Query buffer reset" in plain(t.run("\\r"))
        assert "Null display is \"(none)\"." in plain(t.run("\\pset null (none)"))
        t.run("\\pset null")
        assert "Tuples only is on." in plain(t.run("\\t"))
        out = plain(t.run("SELECT 'only' AS header_hidden;"))
        assert "only" in out and "header_hidden" not in out, out
        t.run("\\t off")
        assert "List of schemas" in plain(t.run("\\dn"))
        assert "List of roles" in plain(t.run("\\du"))
        assert "List of databases" in plain(t.run("\\l"))
        expanded = plain(t.run("\\x"))
        assert "Expanded display is on." in expanded, expanded
        record = plain(t.run("SELECT * FROM items ORDER BY id;"))
        assert "-[ RECORD 1 ]" in record and "name  | apple" in record, record
        t.run("\\x off")
        csv = plain(t.run(".mode csv"))
        out = plain(t.run("SELECT id, name FROM items ORDER BY id;"))
        assert "id,name\n1,apple\n2,pear" in out, out
        t.run(".headers off")
        out = plain(t.run("SELECT id, name FROM items ORDER BY id;"))
        assert "1,apple\n2,pear" in out and "id,name" not in out, out
        t.run(".headers on")
        t.run(".mode markdown")
        out = plain(t.run("SELECT id, name FROM items ORDER BY id;"))
        assert "| id  | name  |" in out and "|----:|" in out, out
        t.run(".mode line")
        out = plain(t.run("SELECT id, name FROM items WHERE id = 1;"))
        assert "  id = 1\nname = apple" in out, out
        t.run(".mode box")
        t.run(".nullvalue <none>")
        out = plain(t.run("SELECT price FROM items ORDER BY id;"))
        assert "<none>" in out, out
        t.run(".nullvalue")
        raw = t.run("SELECT price FROM items ORDER BY id;")
        assert b"\x1b[2mNULL\x1b[0m" in raw, f"NULL is not dimmed: {raw!r}"
        assert re.search(r"│\s+1\.25 │", plain(raw)), f"numbers are not right-aligned: {plain(raw)}"
        t.run("\\set wanted 'pear'")
        t.run("\\set n 1")
        out = plain(t.run("SELECT id FROM items WHERE name = :'wanted' OR id = :n ORDER BY id;"))
        assert has_cell(out, "1") and has_cell(out, "2"), out
        assert "n = '1'" in plain(t.run("\\set"))
        out = plain(t.run("\\echo value :n"))
        assert "value 1" in out, out
        timing = plain(t.run("\\timing"))
        assert "Timing is on." in timing, timing
        out = plain(t.run("SELECT 1;"))
        assert re.search(r"Time: \d+\.\d{3} ms", out), out
        t.run("\\timing off")
        # \i and \o
        script = os.path.join(self.home, "script.sql")
        with open(script, "w") as f:
            f.write("INSERT INTO items (name, price) VALUES ('plum', 3);\n.mode csv\nSELECT name FROM items WHERE name = 'plum';\n.mode box\n")
        out = plain(t.run(f"\\i {script}"))
        assert "name\nplum" in out, out
        out = plain(t.run(f".read {script}"))
        assert "name\nplum" in out, out
        target = os.path.join(self.home, "out.txt")
        t.run(f"\\o {target}")
        t.run("SELECT name FROM items WHERE id = 1;")
        t.run("\\o")
        with open(target) as f:
            assert "apple" in f.read()
        # \copy to a file and back
        copied = os.path.join(self.home, "items.csv")
        out = plain(t.run(f"\\copy (SELECT id, name, price FROM items ORDER BY id) TO '{copied}' WITH (FORMAT csv, HEADER)"))
        assert "COPY 4" in out, out
        with open(copied) as f:
            assert f.read().startswith("id,name,price\n1,apple,1.25\n")
        t.run("CREATE TABLE items2 (id int, name text, price numeric(8,2));")
        out = plain(t.run(f"\\copy items2 FROM '{copied}' WITH (FORMAT csv, HEADER)"))
        assert "COPY 4" in out, out
        out = plain(t.run("SELECT count(*) FROM items2 WHERE price IS NULL;"))
        assert has_cell(out, "1"), out
        # \copy from the lines typed after it
        t.line("\\copy items2 (id, name) FROM stdin")
        t.expect(b"End with a backslash")
        t.line("10\tfig")
        t.line("11\tkiwi")
        out = plain(t.run("\\."))
        assert "COPY 2" in out, out
        # Ctrl-C while typing COPY data copies nothing.
        t.line("\\copy items2 (id, name) FROM stdin")
        t.expect(b"End with a backslash")
        t.line("12\tlime")
        t.type(b"\x03")
        out = plain(t.expect(PROMPT))
        assert "57014" in out, out
        assert has_cell(plain(t.run("SELECT count(*) FROM items2;")), "6")
        # \e: the editor writes a statement; it runs.
        editor = os.path.join(self.home, "editor.sh")
        with open(editor, "w") as f:
            f.write("#!/bin/sh\nprintf 'SELECT 40 + 2 AS answer;\\n' > \"$1\"\n")
        os.chmod(editor, 0o755)
        t.close()
        t = self.terminal()
        env_editor = dict(self.env, EDITOR=editor)
        t.close()
        t = Terminal(self.kiln, [], env=env_editor)
        out = plain(t.run("\\e"))
        assert "42" in out, out
        bad = plain(t.run("\\nosuch"))
        assert "invalid command \\nosuch" in bad, bad
        status = t.close()
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"status {status:#x}"

    # --- completion and history ---------------------------------------------------------------

    def completion(self):
        t = self.terminal()
        t.run("CREATE TABLE lineitems (l_quantity int, l_discount numeric);")
        t.type("SEL\t")
        t.expect(b"SELECT ")
        t.type("l_quan\t")
        t.expect(b"l_quantity ")
        t.type("FROM linei\t")
        t.expect(b"lineitems ")
        out = plain(t.run(";"))
        assert "l_quantity" in out and "(0 rows)" in out, out
        # Two candidates: the first Tab completes the common part, the second lists them.
        t.type("SELECT l_\t\t")
        seen = plain(t.expect(b"l_discount", 10))
        t.expect(b"l_quantity", 10)
        t.type(b"\x03")  # Ctrl-C drops the line
        t.expect(PROMPT)
        t.type("\\d\t")
        t.expect(b"\\d")
        t.type(b"\x03")
        t.expect(PROMPT)
        t.close()
        with open(os.path.join(self.home, ".kiln_history")) as f:
            history = f.read()
        assert "SELECT l_quantity FROM lineitems ;" in history, history

    # --- Ctrl-C and the progress bar ----------------------------------------------------------

    def cancel(self):
        t = self.terminal(columns=120)
        t.run("CREATE TABLE big (k bigint);")
        t.run("INSERT INTO big SELECT g FROM generate_series(1, 1000) g;")
        # A long INSERT ... SELECT: the progress bar appears after two seconds; Ctrl-C cancels.
        t.line("INSERT INTO big SELECT a FROM generate_series(1, 200000) a, generate_series(1, 200000) b;")
        t.expect(re.compile(rb"\r\s*\d+% \xe2\x96\x95"), 30)
        t.type(b"\x03")
        out = plain(t.expect(PROMPT, 60))
        assert "canceling statement due to user request" in out and "57014" in out, out
        out = plain(t.run("SELECT count(*) FROM big;"))
        assert re.search(r"│\s+1000 │", out), f"the cancelled INSERT left rows: {out}"
        # Cancel inside a transaction block: the block is aborted, as in PostgreSQL.
        t.run("BEGIN;")
        t.line("SELECT count(*) FROM generate_series(1, 100000) a, generate_series(1, 100000) b;")
        time.sleep(1.0)
        t.type(b"\x03")
        out = plain(t.expect(PROMPT, 60))
        assert "57014" in out, out
        assert "25P02" in plain(t.run("SELECT 1;"))
        t.run("ROLLBACK;")
        # Ctrl-C at the prompt drops the line and the statement typed so far.
        t.line("SELECT")
        t.expect(b"...> ")
        t.type(b"1 +\x03")
        t.expect(PROMPT)
        out = plain(t.run("SELECT 7 AS seven;"))
        assert has_cell(out, "7"), out
        # The bar is cleared before the result prints: the result's lines follow a clear.
        t.line("SELECT count(*) FROM generate_series(1, 30000) a, generate_series(1, 30000) b;")
        raw = t.expect(PROMPT, 300)
        if b"\xe2\x96\x95" in raw:
            assert b"\r\x1b[K" in raw[raw.rfind(b"\xe2\x96\x8f"):], f"bar not cleared: {raw[-400:]!r}"
        assert b"900000000" in raw, plain(raw)
        t.run(".progress off")
        t.line("SELECT count(*) FROM generate_series(1, 200000) a, generate_series(1, 200000) b;")
        time.sleep(3.0)
        t.type(b"\x03")
        raw = t.expect(PROMPT, 60)
        assert b"\xe2\x96\x95" not in raw, f".progress off still drew: {raw[-300:]!r}"
        status = t.close()
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"status {status:#x}"

    # --- result display on a terminal ---------------------------------------------------------

    def display(self):
        t = self.terminal(columns=60)
        out = plain(t.run("SELECT g FROM generate_series(1, 100) g;"))
        assert "(100 rows, 40 shown)" in out and "│ · " in out and re.search(r"│\s+100 │", out) and not re.search(r"│\s+50 │", out), out
        wide = ", ".join(f"'{'x' * 8}' AS column_{i}" for i in range(12))
        out = plain(t.run(f"SELECT {wide};"))
        assert "…" in out and "12 columns" in out, out
        assert box_width(out) <= 60, out
        out = plain(t.run("SELECT '" + "y" * 200 + "' AS long_text;"))
        assert "…" in out and box_width(out) <= 60, out
        t.run(".maxrows 0")
        out = plain(t.run("SELECT g FROM generate_series(1, 100) g;"))
        assert "(100 rows)" in out and re.search(r"│\s+50 │", out), out
        t.close()

    # --- results that stream ------------------------------------------------------------------

    def streaming(self):
        """Results print as the query makes them, in bounded memory: 20M rows in a box on a
        terminal keep only the rows shown; 20M rows of CSV to a pipe arrive in order."""
        t = self.terminal(columns=80)
        idle = rss_mb(t.pid)
        t.line("SELECT g, g * 2 AS twice FROM generate_series(1, 20000000) g;")
        peak = idle
        deadline = time.time() + 300
        while not PROMPT.search(t.output[t.mark:]) and time.time() < deadline:
            t.read(0.2)
            peak = max(peak, rss_mb(t.pid))
        out = plain(t.expect(PROMPT, 5))
        assert "(20000000 rows, 40 shown)" in out and re.search(r"│\s+20000000 │\s+40000000 │", out), out[-800:]
        assert peak - idle < 100, f"the shell grew from {idle} MB to {peak} MB for an elided box"
        box_growth = peak - idle
        t.close()
        rows = 20_000_000
        process = subprocess.Popen([self.kiln, "--format", "csv", "-c", f"SELECT g FROM generate_series(1, {rows}) g"],
                                   stdout=subprocess.PIPE, env=self.env)
        pending, expected, peak = b"", 1, 0
        sampled = 0.0
        while True:
            chunk = process.stdout.read(1 << 20)
            if not chunk:
                break
            pending += chunk
            cut = pending.rfind(b"\n") + 1
            lines, pending = pending[:cut].split(b"\r\n")[:-1], pending[cut:]
            if expected == 1 and lines and lines[0] == b"g":
                lines = lines[1:]
            numbers = list(map(int, lines))
            assert numbers == list(range(expected, expected + len(numbers))), f"rows out of order near {expected}"
            expected += len(numbers)
            if time.time() - sampled > 0.2:
                sampled = time.time()
                peak = max(peak, rss_mb(process.pid))
            time.sleep(0.002)  # a reader slower than the shell
        assert process.wait(60) == 0 and expected - 1 == rows, f"{expected - 1} rows, exit {process.returncode}"
        assert peak < 250, f"the shell took {peak} MB printing CSV to a pipe"
        print(f"   streaming: 20M rows in a box on a terminal +{box_growth} MB RSS; as CSV to a pipe, peak RSS {peak} MB", flush=True)

    # --- files and pipes ----------------------------------------------------------------------

    def files(self):
        script = os.path.join(self.home, "errors.sql")
        with open(script, "w") as f:
            f.write("SELECT 1 AS a;\n\n-- a comment\nSELECT *\n  FROM nosuch;\nSELECT 2 AS b;\n")
        result = subprocess.run([self.kiln, "--format", "csv", "-f", script], capture_output=True, text=True, timeout=120)
        assert result.returncode == 1, result
        assert f"kiln:{script}:5: ERROR:  relation \"nosuch\" does not exist" in result.stderr, result.stderr
        assert "b\n2" not in result.stdout, "the script went on after the error"
        result = subprocess.run([self.kiln, "--format", "csv", "--continue-on-error", "-f", script], capture_output=True, text=True, timeout=120)
        assert result.returncode == 1 and "b\n2" in result.stdout, result
        result = subprocess.run([self.kiln, "--format", "csv", "-v", "ON_ERROR_STOP=0", "-f", script], capture_output=True, text=True, timeout=120)
        assert result.returncode == 1 and "b\n2" in result.stdout, result
        # A pipe: no progress bar, no prompt; errors start with ERROR: (tools look for that).
        result = subprocess.run([self.kiln], input="SELECT count(*) FROM generate_series(1, 20000) a, generate_series(1, 20000) b;\nSELECT x;\n",
                                capture_output=True, text=True, timeout=300)
        assert "▕" not in result.stderr and "kiln>" not in result.stdout, result
        assert result.stderr.startswith("ERROR:  column \"x\" does not exist"), result.stderr
        # Ctrl-C (SIGINT) to a shell reading a pipe cancels the statement; idle, it ends the shell.
        process = subprocess.Popen([self.kiln], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        process.stdin.write("SELECT count(*) FROM generate_series(1, 300000) a, generate_series(1, 300000) b;\n")
        process.stdin.flush()
        time.sleep(2.0)
        process.send_signal(signal.SIGINT)
        time.sleep(1.0)
        process.stdin.write("SELECT 5 AS five;\n")
        process.stdin.close()
        process.wait(timeout=120)
        out, err = process.stdout.read(), process.stderr.read()
        assert "57014" in err and "5" in out, (out, err)
        help_text = subprocess.run([self.kiln, "--help"], capture_output=True, text=True).stdout
        for option in ["-c, --command", "-f, --file", "--format", "--continue-on-error", "-v, --set", "\\copy", ".mode"]:
            assert option in help_text, f"--help lacks {option}"
        serve_help = subprocess.run([self.kiln, "serve", "--help"], capture_output=True, text=True).stdout
        for option in ["--port", "--users", "--statement-timeout", "--tls-cert", "--threads"]:
            assert option in serve_help, f"serve --help lacks {option}"
        version = subprocess.run([self.kiln, "--version"], capture_output=True, text=True).stdout
        assert re.search(r"kiln \d+\.\d+\.\d+\nMLIR/LLVM \d+", version) and "avx2" in version, version
        forced = subprocess.run([self.kiln, "--version"], capture_output=True, text=True, env=dict(os.environ, KILN_CPU="avx2")).stdout
        assert "avx512" not in forced and "8-lane" in forced, forced


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kiln", default=".build/debug/kiln")
    args = parser.parse_args()
    checks = Checks(os.path.abspath(args.kiln))
    checks.check("meta-commands", checks.meta_commands)
    checks.check("completion and history", checks.completion)
    checks.check("Ctrl-C and the progress bar", checks.cancel)
    checks.check("result display", checks.display)
    checks.check("files, pipes, --help, --version", checks.files)
    checks.check("results that stream", checks.streaming)
    print(f"{checks.count - len(checks.failures)} of {checks.count} shell checks passed", flush=True)
    sys.exit(1 if checks.failures else 0)


if __name__ == "__main__":
    main()
