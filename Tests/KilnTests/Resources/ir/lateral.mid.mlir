module {
  func.func @pipeline_1(%arg0: !kiln_mid.ctx) -> i1 {
    %0 = "kiln_mid.open"(%arg0) {kind = "scan", state = 0 : i64} : (!kiln_mid.ctx) -> !kiln_mid.cursor
    %1 = "kiln_mid.param"(%arg0) {slot = 0 : i64, sqltype = "int4"} : (!kiln_mid.ctx) -> !kiln_mid.val
    %2 = "kiln_mid.param"(%arg0) {slot = 0 : i64, sqltype = "int4"} : (!kiln_mid.ctx) -> !kiln_mid.val
    %3 = scf.while : () -> !kiln_mid.batch {
      %4 = "kiln_mid.keep_going"(%arg0) : (!kiln_mid.ctx) -> i1
      %5 = "kiln_mid.next"(%0) : (!kiln_mid.cursor) -> !kiln_mid.batch
      %6 = "kiln_mid.batch_size"(%5) : (!kiln_mid.batch) -> index
      %c0 = arith.constant 0 : index
      %7 = arith.cmpi ne, %6, %c0 : index
      %8 = arith.andi %4, %7 : i1
      scf.condition(%8) %5 : !kiln_mid.batch
    } do {
    ^bb0(%arg1: !kiln_mid.batch):
      %4 = "kiln_mid.visible"(%0, %arg1) : (!kiln_mid.cursor, !kiln_mid.batch) -> !kiln_mid.batch
      %5 = "kiln_mid.batch_size"(%4) : (!kiln_mid.batch) -> index
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      scf.for %arg2 = %c0 to %5 step %c1 {
        %6 = "kiln_mid.load"(%4, %arg2) {column = 1 : i64, layout = "columns", sqltype = "int4?"} : (!kiln_mid.batch, index) -> !kiln_mid.val
        "kiln_mid.series_begin"(%arg0, %1, %6, %2) {state = 1 : i64} : (!kiln_mid.ctx, !kiln_mid.val, !kiln_mid.val, !kiln_mid.val) -> ()
        %false = arith.constant false
        %false_0 = arith.constant false
        %7:2 = scf.while (%arg3 = %false, %arg4 = %false_0) : (i1, i1) -> (i1, i1) {
          %8 = "kiln_mid.series_next"(%arg0) {inline = 1 : i64, state = 1 : i64} : (!kiln_mid.ctx) -> i1
          %true_1 = arith.constant true
          %9 = arith.xori %arg3, %true_1 : i1
          %10 = arith.xori %arg4, %true_1 : i1
          %11 = arith.ori %8, %9 : i1
          %12 = arith.andi %10, %11 : i1
          %13 = "kiln_mid.keep_going"(%arg0) : (!kiln_mid.ctx) -> i1
          %14 = arith.andi %12, %13 : i1
          scf.condition(%14) %arg3, %8 : i1, i1
        } do {
        ^bb0(%arg3: i1, %arg4: i1):
          %8 = "kiln_mid.series_value"(%arg0) {sqltype = "int4?", state = 1 : i64} : (!kiln_mid.ctx) -> !kiln_mid.val
          %9 = scf.if %arg4 -> (i1) {
            %13 = "kiln_mid.load"(%4, %arg2) {column = 0 : i64, layout = "columns", sqltype = "int4?"} : (!kiln_mid.batch, index) -> !kiln_mid.val
            %14 = "kiln_mid.op"(%8, %13) {name = "gt", sqltype = "bool?"} : (!kiln_mid.val, !kiln_mid.val) -> !kiln_mid.val
            %15 = "kiln_mid.truth"(%14) : (!kiln_mid.val) -> i1
            scf.yield %15 : i1
          } else {
            %false_3 = arith.constant false
            scf.yield %false_3 : i1
          }
          %true_1 = arith.constant true
          %10 = arith.select %arg4, %9, %true_1 : i1
          scf.if %10 {
            %13 = "kiln_mid.load"(%4, %arg2) {column = 0 : i64, layout = "columns", sqltype = "int4?"} : (!kiln_mid.batch, index) -> !kiln_mid.val
            "kiln_mid.output_append"(%arg0, %13, %8) {state = 2 : i64} : (!kiln_mid.ctx, !kiln_mid.val, !kiln_mid.val) -> ()
          }
          %11 = arith.ori %arg3, %10 : i1
          %true_2 = arith.constant true
          %12 = arith.xori %arg4, %true_2 : i1
          scf.yield %11, %12 : i1, i1
        }
      }
      scf.yield
    }
    "kiln_mid.finish"(%arg0) {kind = "output", state = 2 : i64} : (!kiln_mid.ctx) -> ()
    %true = arith.constant true
    return %true : i1
  }
}
