module {
  func.func @pipeline_1(%arg0: !kiln_high.ctx) -> i1 {
    %0 = "kiln_high.scan"(%arg0) {layout = "columns", state = 0 : i64, types = ["int4?", "int4?"]} : (!kiln_high.ctx) -> !kiln_high.stream
    %1 = "kiln_high.param"(%arg0) {slot = 0 : i64, sqltype = "int4"} : (!kiln_high.ctx) -> !kiln_high.column
    %2 = "kiln_high.field"(%0) {index = 1 : i64, sqltype = "int4?"} : (!kiln_high.stream) -> !kiln_high.column
    %3 = "kiln_high.param"(%arg0) {slot = 0 : i64, sqltype = "int4"} : (!kiln_high.ctx) -> !kiln_high.column
    %4 = "kiln_high.series_expand"(%arg0, %0, %1, %2, %3) {preserve = 1 : i64, state = 1 : i64, value_type = "int4?"} : (!kiln_high.ctx, !kiln_high.stream, !kiln_high.column, !kiln_high.column, !kiln_high.column) -> !kiln_high.stream
    %5 = "kiln_high.field"(%4) {index = 2 : i64, sqltype = "int4?"} : (!kiln_high.stream) -> !kiln_high.column
    %6 = "kiln_high.field"(%4) {index = 0 : i64, sqltype = "int4?"} : (!kiln_high.stream) -> !kiln_high.column
    %7 = "kiln_high.op"(%5, %6) {name = "gt", sqltype = "bool?"} : (!kiln_high.column, !kiln_high.column) -> !kiln_high.column
    %8 = "kiln_high.join_residual"(%4, %7) : (!kiln_high.stream, !kiln_high.column) -> !kiln_high.stream
    %9 = "kiln_high.field"(%8) {index = 0 : i64, sqltype = "int4?"} : (!kiln_high.stream) -> !kiln_high.column
    %10 = "kiln_high.field"(%8) {index = 2 : i64, sqltype = "int4?"} : (!kiln_high.stream) -> !kiln_high.column
    %11 = "kiln_high.project"(%8, %9, %10) : (!kiln_high.stream, !kiln_high.column, !kiln_high.column) -> !kiln_high.stream
    %12 = "kiln_high.output_sink"(%arg0, %11) {state = 2 : i64} : (!kiln_high.ctx, !kiln_high.stream) -> i1
    return %12 : i1
  }
}
