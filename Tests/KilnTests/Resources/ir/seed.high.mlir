module {
  func.func @pipeline_1(%arg0: !kiln_high.ctx) -> i1 {
    %0 = "kiln_high.scan"(%arg0) {layout = "columns", state = 0 : i64, types = ["int4?", "float8?"]} : (!kiln_high.ctx) -> !kiln_high.stream
    %1 = "kiln_high.field"(%0) {index = 1 : i64, sqltype = "float8?"} : (!kiln_high.stream) -> !kiln_high.column
    %2 = "kiln_high.param"(%arg0) {slot = 1 : i64, sqltype = "float8"} : (!kiln_high.ctx) -> !kiln_high.column
    %3 = "kiln_high.op"(%1, %2) {name = "gt", sqltype = "bool?"} : (!kiln_high.column, !kiln_high.column) -> !kiln_high.column
    %4 = "kiln_high.filter"(%0, %3) : (!kiln_high.stream, !kiln_high.column) -> !kiln_high.stream
    %5 = "kiln_high.field"(%4) {index = 0 : i64, sqltype = "int4?"} : (!kiln_high.stream) -> !kiln_high.column
    %6 = "kiln_high.field"(%4) {index = 1 : i64, sqltype = "float8?"} : (!kiln_high.stream) -> !kiln_high.column
    %7 = "kiln_high.hash_agg_sink"(%arg0, %4, %5, %6) {aggregates = ["sum"], keys = 1 : i64, state = 1 : i64, state_types = ["int4", "float8"]} : (!kiln_high.ctx, !kiln_high.stream, !kiln_high.column, !kiln_high.column) -> i1
    return %7 : i1
  }
  func.func @pipeline_2(%arg0: !kiln_high.ctx) -> i1 {
    %0 = "kiln_high.hash_agg_source"(%arg0) {layout = "records", state = 1 : i64, types = ["int4?", "float8?"]} : (!kiln_high.ctx) -> !kiln_high.stream
    %1 = "kiln_high.field"(%0) {index = 0 : i64, sqltype = "int4?"} : (!kiln_high.stream) -> !kiln_high.column
    %2 = "kiln_high.field"(%0) {index = 1 : i64, sqltype = "float8?"} : (!kiln_high.stream) -> !kiln_high.column
    %3 = "kiln_high.project"(%0, %1, %2) : (!kiln_high.stream, !kiln_high.column, !kiln_high.column) -> !kiln_high.stream
    %4 = "kiln_high.sort_sink"(%arg0, %3) {state = 2 : i64} : (!kiln_high.ctx, !kiln_high.stream) -> i1
    return %4 : i1
  }
  func.func @pipeline_3(%arg0: !kiln_high.ctx) -> i1 {
    %0 = "kiln_high.sort_source"(%arg0) {layout = "records", state = 2 : i64, types = ["int4?", "float8?"]} : (!kiln_high.ctx) -> !kiln_high.stream
    %1 = "kiln_high.limit"(%arg0, %0) {state = 3 : i64} : (!kiln_high.ctx, !kiln_high.stream) -> !kiln_high.stream
    %2 = "kiln_high.output_sink"(%arg0, %1) {state = 4 : i64} : (!kiln_high.ctx, !kiln_high.stream) -> i1
    return %2 : i1
  }
}
