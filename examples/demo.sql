-- Kiln's main job: SQL compiled through three MLIR dialects to native code, with an
-- interpreter that runs the same program. Timings: .timer shows wall time per statement.
CREATE TABLE t (k INTEGER NOT NULL, v DOUBLE PRECISION NOT NULL);
INSERT INTO t SELECT g % 100, (g % 1000) * 0.25 FROM generate_series(1, 5000000) AS s(g);
EXPLAIN (PIPELINES) SELECT k, SUM(v) FROM t WHERE v > 0 GROUP BY k ORDER BY k LIMIT 10;
-- .timer detail: wall time as psql prints it, then compile and execution time
.timer detail
-- native code: on the first run the interpreter starts at once while the compile worker
-- builds the fast tier (then the optimised one); each pipeline switches at a morsel boundary
-- (the mode shows it: interpreted+fast); the second run finds the code in the cache
SELECT k, SUM(v) FROM t WHERE v > 0 GROUP BY k ORDER BY k LIMIT 10;
SELECT k, SUM(v) FROM t WHERE v > 0 GROUP BY k ORDER BY k LIMIT 10;
SELECT count(*), max(v), avg(v) FROM t WHERE v > 150 AND k = 1;
SELECT count(*), max(v), avg(v) FROM t WHERE v > 150 AND k = 1;
-- the interpreter, same low-level IR, same runtime state, same answers
SET jit = off;
SELECT k, SUM(v) FROM t WHERE v > 0 GROUP BY k ORDER BY k LIMIT 10;
SELECT count(*), max(v), avg(v) FROM t WHERE v > 150 AND k = 1;
