module {
  func.func @pipeline_1(%arg0: !kiln_mid.ctx) -> i1 {
    %0 = "kiln_mid.open"(%arg0) {kind = "scan", state = 0 : i64} : (!kiln_mid.ctx) -> !kiln_mid.cursor
    %1 = "kiln_mid.param"(%arg0) {slot = 1 : i64, sqltype = "float8"} : (!kiln_mid.ctx) -> !kiln_mid.val
    %2 = scf.while : () -> !kiln_mid.batch {
      %3 = "kiln_mid.keep_going"(%arg0) : (!kiln_mid.ctx) -> i1
      %4 = "kiln_mid.next"(%0) : (!kiln_mid.cursor) -> !kiln_mid.batch
      %5 = "kiln_mid.batch_size"(%4) : (!kiln_mid.batch) -> index
      %c0 = arith.constant 0 : index
      %6 = arith.cmpi ne, %5, %c0 : index
      %7 = arith.andi %3, %6 : i1
      scf.condition(%7) %4 : !kiln_mid.batch
    } do {
    ^bb0(%arg1: !kiln_mid.batch):
      %3 = "kiln_mid.visible"(%0, %arg1) : (!kiln_mid.cursor, !kiln_mid.batch) -> !kiln_mid.batch
      %4 = "kiln_mid.batch_size"(%3) : (!kiln_mid.batch) -> index
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      scf.for %arg2 = %c0 to %4 step %c1 {
        %5 = "kiln_mid.load"(%3, %arg2) {column = 1 : i64, layout = "columns", sqltype = "float8?"} : (!kiln_mid.batch, index) -> !kiln_mid.val
        %6 = "kiln_mid.op"(%5, %1) {name = "gt", sqltype = "bool?"} : (!kiln_mid.val, !kiln_mid.val) -> !kiln_mid.val
        %7 = "kiln_mid.truth"(%6) : (!kiln_mid.val) -> i1
        scf.if %7 {
          %8 = "kiln_mid.load"(%3, %arg2) {column = 0 : i64, layout = "columns", sqltype = "int4?"} : (!kiln_mid.batch, index) -> !kiln_mid.val
          "kiln_mid.hash_agg_update"(%arg0, %8, %5) {aggregates = ["sum"], keys = 1 : i64, state = 1 : i64, state_types = ["int4", "float8"]} : (!kiln_mid.ctx, !kiln_mid.val, !kiln_mid.val) -> ()
        }
      }
      scf.yield
    }
    "kiln_mid.finish"(%arg0) {kind = "hash_agg", state = 1 : i64} : (!kiln_mid.ctx) -> ()
    %true = arith.constant true
    return %true : i1
  }
  func.func @pipeline_2(%arg0: !kiln_mid.ctx) -> i1 {
    %0 = "kiln_mid.open"(%arg0) {kind = "hash_agg_source", state = 1 : i64} : (!kiln_mid.ctx) -> !kiln_mid.cursor
    %1 = scf.while : () -> !kiln_mid.batch {
      %2 = "kiln_mid.keep_going"(%arg0) : (!kiln_mid.ctx) -> i1
      %3 = "kiln_mid.next"(%0) : (!kiln_mid.cursor) -> !kiln_mid.batch
      %4 = "kiln_mid.batch_size"(%3) : (!kiln_mid.batch) -> index
      %c0 = arith.constant 0 : index
      %5 = arith.cmpi ne, %4, %c0 : index
      %6 = arith.andi %2, %5 : i1
      scf.condition(%6) %3 : !kiln_mid.batch
    } do {
    ^bb0(%arg1: !kiln_mid.batch):
      %2 = "kiln_mid.batch_size"(%arg1) : (!kiln_mid.batch) -> index
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      scf.for %arg2 = %c0 to %2 step %c1 {
        %3 = "kiln_mid.load"(%arg1, %arg2) {column = 0 : i64, layout = "records", offset = 8 : i64, sqltype = "int4?"} : (!kiln_mid.batch, index) -> !kiln_mid.val
        %4 = "kiln_mid.load"(%arg1, %arg2) {column = 1 : i64, layout = "records", offset = 16 : i64, sqltype = "float8?"} : (!kiln_mid.batch, index) -> !kiln_mid.val
        "kiln_mid.sort_append"(%arg0, %3, %4) {state = 2 : i64} : (!kiln_mid.ctx, !kiln_mid.val, !kiln_mid.val) -> ()
      }
      scf.yield
    }
    "kiln_mid.finish"(%arg0) {kind = "sort", state = 2 : i64} : (!kiln_mid.ctx) -> ()
    %true = arith.constant true
    return %true : i1
  }
  func.func @pipeline_3(%arg0: !kiln_mid.ctx) -> i1 {
    %0 = "kiln_mid.open"(%arg0) {kind = "sort_source", state = 2 : i64} : (!kiln_mid.ctx) -> !kiln_mid.cursor
    %1 = scf.while : () -> !kiln_mid.batch {
      %2 = "kiln_mid.keep_going"(%arg0) : (!kiln_mid.ctx) -> i1
      %3 = "kiln_mid.next"(%0) : (!kiln_mid.cursor) -> !kiln_mid.batch
      %4 = "kiln_mid.batch_size"(%3) : (!kiln_mid.batch) -> index
      %c0 = arith.constant 0 : index
      %5 = arith.cmpi ne, %4, %c0 : index
      %6 = arith.andi %2, %5 : i1
      scf.condition(%6) %3 : !kiln_mid.batch
    } do {
    ^bb0(%arg1: !kiln_mid.batch):
      %2 = "kiln_mid.batch_size"(%arg1) : (!kiln_mid.batch) -> index
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      scf.for %arg2 = %c0 to %2 step %c1 {
        %3 = "kiln_mid.limit_step"(%arg0) {state = 3 : i64} : (!kiln_mid.ctx) -> i1
        scf.if %3 {
          %4 = "kiln_mid.load"(%arg1, %arg2) {column = 0 : i64, layout = "records", offset = 8 : i64, sqltype = "int4?"} : (!kiln_mid.batch, index) -> !kiln_mid.val
          %5 = "kiln_mid.load"(%arg1, %arg2) {column = 1 : i64, layout = "records", offset = 16 : i64, sqltype = "float8?"} : (!kiln_mid.batch, index) -> !kiln_mid.val
          "kiln_mid.output_append"(%arg0, %4, %5) {state = 4 : i64} : (!kiln_mid.ctx, !kiln_mid.val, !kiln_mid.val) -> ()
        }
      }
      scf.yield
    }
    "kiln_mid.finish"(%arg0) {kind = "output", state = 4 : i64} : (!kiln_mid.ctx) -> ()
    %true = arith.constant true
    return %true : i1
  }
}
