module {
  func.func private @kiln_rt_open(!llvm.ptr, i64) -> !llvm.ptr
  func.func private @kiln_rt_next(!llvm.ptr) -> !llvm.ptr
  func.func private @kiln_rt_visible(!llvm.ptr) -> !llvm.ptr
  func.func private @kiln_rt_finish(!llvm.ptr, i64)
  func.func private @kiln_rt_agg_scratch(!llvm.ptr, i64) -> !llvm.ptr
  func.func private @kiln_rt_agg_find(!llvm.ptr, i64, i64) -> !llvm.ptr
  func.func private @kiln_rt_agg_header(!llvm.ptr, i64) -> !llvm.ptr
  func.func private @kiln_rt_agg_insert(!llvm.ptr, i64, i64) -> !llvm.ptr
  func.func private @kiln_rt_join_grow(!llvm.ptr, i64) -> !llvm.ptr
  func.func private @kiln_rt_join_null_entry(!llvm.ptr, i64) -> !llvm.ptr
  func.func private @kiln_rt_append(!llvm.ptr, i64) -> !llvm.ptr
  func.func private @kiln_rt_limit_step(!llvm.ptr, i64) -> i32
  func.func private @kiln_rt_series_begin(!llvm.ptr, i64)
  func.func private @kiln_rt_series_next(!llvm.ptr, i64) -> i32
  func.func private @kiln_rt_series_cursor(!llvm.ptr, i64) -> !llvm.ptr
  func.func private @kiln_rt_raise(!llvm.ptr, i32)
  func.func private @kiln_rt_call(!llvm.ptr, i64)
  func.func private @kiln_rt_like(!llvm.ptr, i64, i64, i64) -> i32
  func.func private @kiln_rt_in_list(!llvm.ptr, i64, i64, i64) -> i32
  func.func @pipeline_1(%arg0: !llvm.ptr) -> i1 {
    %c0_i64 = arith.constant 0 : i64
    %0 = call @kiln_rt_open(%arg0, %c0_i64) : (!llvm.ptr, i64) -> !llvm.ptr
    %1 = llvm.getelementptr %arg0[8] : (!llvm.ptr) -> !llvm.ptr, i8
    %2 = llvm.load %1 : !llvm.ptr -> !llvm.ptr
    %3 = llvm.load %2 : !llvm.ptr -> i32
    %4 = llvm.load %2 : !llvm.ptr -> i32
    %5 = llvm.getelementptr %arg0[32] : (!llvm.ptr) -> !llvm.ptr, i8
    %6 = llvm.load %5 : !llvm.ptr -> !llvm.ptr
    %c1_i64 = arith.constant 1 : i64
    %7 = call @kiln_rt_series_cursor(%arg0, %c1_i64) : (!llvm.ptr, i64) -> !llvm.ptr
    %8 = scf.while : () -> !llvm.ptr {
      %9 = llvm.load %arg0 atomic monotonic {alignment = 4 : i64} : !llvm.ptr -> i32
      %10 = llvm.getelementptr %arg0[4] : (!llvm.ptr) -> !llvm.ptr, i8
      %11 = llvm.load %10 atomic monotonic {alignment = 4 : i64} : !llvm.ptr -> i32
      %12 = arith.ori %9, %11 : i32
      %c0_i32 = arith.constant 0 : i32
      %13 = arith.cmpi eq, %12, %c0_i32 : i32
      %14 = func.call @kiln_rt_next(%0) : (!llvm.ptr) -> !llvm.ptr
      %15 = llvm.load %14 : !llvm.ptr -> i64
      %16 = arith.index_cast %15 : i64 to index
      %c0 = arith.constant 0 : index
      %17 = arith.cmpi ne, %16, %c0 : index
      %18 = arith.andi %13, %17 : i1
      scf.condition(%18) %14 : !llvm.ptr
    } do {
    ^bb0(%arg1: !llvm.ptr):
      %9 = llvm.getelementptr %arg1[24] : (!llvm.ptr) -> !llvm.ptr, i8
      %10 = llvm.load %9 : !llvm.ptr -> !llvm.ptr
      %11 = llvm.mlir.zero : !llvm.ptr
      %12 = llvm.icmp "eq" %10, %11 : !llvm.ptr
      %13 = scf.if %12 -> (!llvm.ptr) {
        scf.yield %arg1 : !llvm.ptr
      } else {
        %22 = func.call @kiln_rt_visible(%0) : (!llvm.ptr) -> !llvm.ptr
        scf.yield %22 : !llvm.ptr
      }
      %14 = llvm.load %13 : !llvm.ptr -> i64
      %15 = arith.index_cast %14 : i64 to index
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %16 = llvm.getelementptr %13[48] : (!llvm.ptr) -> !llvm.ptr, i8
      %17 = llvm.load %16 : !llvm.ptr -> !llvm.ptr
      %18 = llvm.getelementptr %13[56] : (!llvm.ptr) -> !llvm.ptr, i8
      %19 = llvm.load %18 : !llvm.ptr -> !llvm.ptr
      %20 = llvm.getelementptr %13[8] : (!llvm.ptr) -> !llvm.ptr, i8
      %21 = llvm.load %20 : !llvm.ptr -> i64
      scf.for %arg2 = %c0 to %15 step %c1 {
        %22 = arith.index_cast %arg2 : index to i64
        %23 = llvm.getelementptr %17[%22] : (!llvm.ptr, i64) -> !llvm.ptr, i32
        %24 = llvm.load %23 : !llvm.ptr -> i32
        %25 = arith.addi %21, %22 : i64
        %c6_i64 = arith.constant 6 : i64
        %26 = arith.shrui %25, %c6_i64 : i64
        %27 = llvm.getelementptr %19[%26] : (!llvm.ptr, i64) -> !llvm.ptr, i64
        %28 = llvm.load %27 : !llvm.ptr -> i64
        %c63_i64 = arith.constant 63 : i64
        %29 = arith.andi %25, %c63_i64 : i64
        %30 = arith.shrui %28, %29 : i64
        %c1_i64_0 = arith.constant 1 : i64
        %31 = arith.andi %30, %c1_i64_0 : i64
        %c0_i64_1 = arith.constant 0 : i64
        %32 = arith.cmpi eq, %31, %c0_i64_1 : i64
        llvm.store %3, %6 : i32, !llvm.ptr
        %c0_i8 = arith.constant 0 : i8
        %33 = llvm.getelementptr %6[128] : (!llvm.ptr) -> !llvm.ptr, i8
        llvm.store %c0_i8, %33 : i8, !llvm.ptr
        %34 = llvm.getelementptr %6[16] : (!llvm.ptr) -> !llvm.ptr, i8
        llvm.store %24, %34 : i32, !llvm.ptr
        %35 = arith.extui %32 : i1 to i8
        %36 = llvm.getelementptr %6[129] : (!llvm.ptr) -> !llvm.ptr, i8
        llvm.store %35, %36 : i8, !llvm.ptr
        %37 = llvm.getelementptr %6[32] : (!llvm.ptr) -> !llvm.ptr, i8
        llvm.store %4, %37 : i32, !llvm.ptr
        %c0_i8_2 = arith.constant 0 : i8
        %38 = llvm.getelementptr %6[130] : (!llvm.ptr) -> !llvm.ptr, i8
        llvm.store %c0_i8_2, %38 : i8, !llvm.ptr
        %c1_i64_3 = arith.constant 1 : i64
        func.call @kiln_rt_series_begin(%arg0, %c1_i64_3) : (!llvm.ptr, i64) -> ()
        %false = arith.constant false
        %false_4 = arith.constant false
        %39:2 = scf.while (%arg3 = %false, %arg4 = %false_4) : (i1, i1) -> (i1, i1) {
          %40 = llvm.getelementptr %7[32] : (!llvm.ptr) -> !llvm.ptr, i8
          %41 = llvm.load %40 : !llvm.ptr -> i64
          %c0_i64_5 = arith.constant 0 : i64
          %42 = arith.cmpi ne, %41, %c0_i64_5 : i64
          %43 = llvm.getelementptr %7[16] : (!llvm.ptr) -> !llvm.ptr, i8
          %44 = llvm.load %43 : !llvm.ptr -> i64
          llvm.store %44, %7 : i64, !llvm.ptr
          %true_6 = arith.constant true
          %45 = arith.xori %42, %true_6 : i1
          %46 = arith.extui %45 : i1 to i8
          %47 = llvm.getelementptr %7[8] : (!llvm.ptr) -> !llvm.ptr, i8
          llvm.store %46, %47 : i8, !llvm.ptr
          %48 = llvm.getelementptr %7[24] : (!llvm.ptr) -> !llvm.ptr, i8
          %49 = llvm.load %48 : !llvm.ptr -> i64
          %50 = arith.addi %44, %49 : i64
          %51 = arith.select %42, %50, %44 : i64
          %52 = llvm.getelementptr %7[16] : (!llvm.ptr) -> !llvm.ptr, i8
          llvm.store %51, %52 : i64, !llvm.ptr
          %53 = arith.extui %42 : i1 to i64
          %54 = arith.subi %41, %53 : i64
          %55 = llvm.getelementptr %7[32] : (!llvm.ptr) -> !llvm.ptr, i8
          llvm.store %54, %55 : i64, !llvm.ptr
          %true_7 = arith.constant true
          %56 = arith.xori %arg3, %true_7 : i1
          %57 = arith.xori %arg4, %true_7 : i1
          %58 = arith.ori %42, %56 : i1
          %59 = arith.andi %57, %58 : i1
          %60 = llvm.load %arg0 atomic monotonic {alignment = 4 : i64} : !llvm.ptr -> i32
          %61 = llvm.getelementptr %arg0[4] : (!llvm.ptr) -> !llvm.ptr, i8
          %62 = llvm.load %61 atomic monotonic {alignment = 4 : i64} : !llvm.ptr -> i32
          %63 = arith.ori %60, %62 : i32
          %c0_i32 = arith.constant 0 : i32
          %64 = arith.cmpi eq, %63, %c0_i32 : i32
          %65 = arith.andi %59, %64 : i1
          scf.condition(%65) %arg3, %42 : i1, i1
        } do {
        ^bb0(%arg3: i1, %arg4: i1):
          %40 = llvm.load %7 : !llvm.ptr -> i32
          %41 = llvm.getelementptr %7[8] : (!llvm.ptr) -> !llvm.ptr, i8
          %42 = llvm.load %41 : !llvm.ptr -> i8
          %c0_i8_5 = arith.constant 0 : i8
          %43 = arith.cmpi ne, %42, %c0_i8_5 : i8
          %44 = llvm.getelementptr %13[32] : (!llvm.ptr) -> !llvm.ptr, i8
          %45 = llvm.load %44 : !llvm.ptr -> !llvm.ptr
          %46 = llvm.getelementptr %13[40] : (!llvm.ptr) -> !llvm.ptr, i8
          %47 = llvm.load %46 : !llvm.ptr -> !llvm.ptr
          %48 = llvm.getelementptr %13[8] : (!llvm.ptr) -> !llvm.ptr, i8
          %49 = llvm.load %48 : !llvm.ptr -> i64
          %50 = scf.if %arg4 -> (i1) {
            %54 = arith.index_cast %arg2 : index to i64
            %55 = llvm.getelementptr %45[%54] : (!llvm.ptr, i64) -> !llvm.ptr, i32
            %56 = llvm.load %55 : !llvm.ptr -> i32
            %57 = arith.addi %49, %54 : i64
            %c6_i64_8 = arith.constant 6 : i64
            %58 = arith.shrui %57, %c6_i64_8 : i64
            %59 = llvm.getelementptr %47[%58] : (!llvm.ptr, i64) -> !llvm.ptr, i64
            %60 = llvm.load %59 : !llvm.ptr -> i64
            %c63_i64_9 = arith.constant 63 : i64
            %61 = arith.andi %57, %c63_i64_9 : i64
            %62 = arith.shrui %60, %61 : i64
            %c1_i64_10 = arith.constant 1 : i64
            %63 = arith.andi %62, %c1_i64_10 : i64
            %c0_i64_11 = arith.constant 0 : i64
            %64 = arith.cmpi eq, %63, %c0_i64_11 : i64
            %65 = arith.ori %43, %64 : i1
            %66 = arith.cmpi sgt, %40, %56 : i32
            %true_12 = arith.constant true
            %67 = arith.xori %65, %true_12 : i1
            %68 = arith.andi %66, %67 : i1
            scf.yield %68 : i1
          } else {
            %false_8 = arith.constant false
            scf.yield %false_8 : i1
          }
          %true_6 = arith.constant true
          %51 = arith.select %arg4, %50, %true_6 : i1
          scf.if %51 {
            %54 = arith.index_cast %arg2 : index to i64
            %55 = llvm.getelementptr %45[%54] : (!llvm.ptr, i64) -> !llvm.ptr, i32
            %56 = llvm.load %55 : !llvm.ptr -> i32
            %57 = arith.addi %49, %54 : i64
            %c6_i64_8 = arith.constant 6 : i64
            %58 = arith.shrui %57, %c6_i64_8 : i64
            %59 = llvm.getelementptr %47[%58] : (!llvm.ptr, i64) -> !llvm.ptr, i64
            %60 = llvm.load %59 : !llvm.ptr -> i64
            %c63_i64_9 = arith.constant 63 : i64
            %61 = arith.andi %57, %c63_i64_9 : i64
            %62 = arith.shrui %60, %61 : i64
            %c1_i64_10 = arith.constant 1 : i64
            %63 = arith.andi %62, %c1_i64_10 : i64
            %c0_i64_11 = arith.constant 0 : i64
            %64 = arith.cmpi eq, %63, %c0_i64_11 : i64
            %c2_i64 = arith.constant 2 : i64
            %65 = func.call @kiln_rt_append(%arg0, %c2_i64) : (!llvm.ptr, i64) -> !llvm.ptr
            %66 = arith.extui %64 : i1 to i8
            llvm.store %66, %65 : i8, !llvm.ptr
            %67 = llvm.getelementptr %65[8] : (!llvm.ptr) -> !llvm.ptr, i8
            llvm.store %56, %67 : i32, !llvm.ptr
            %68 = arith.extui %43 : i1 to i8
            %69 = llvm.getelementptr %65[1] : (!llvm.ptr) -> !llvm.ptr, i8
            llvm.store %68, %69 : i8, !llvm.ptr
            %70 = llvm.getelementptr %65[12] : (!llvm.ptr) -> !llvm.ptr, i8
            llvm.store %40, %70 : i32, !llvm.ptr
          }
          %52 = arith.ori %arg3, %51 : i1
          %true_7 = arith.constant true
          %53 = arith.xori %arg4, %true_7 : i1
          scf.yield %52, %53 : i1, i1
        }
      }
      scf.yield
    }
    %true = arith.constant true
    return %true : i1
  }
}
