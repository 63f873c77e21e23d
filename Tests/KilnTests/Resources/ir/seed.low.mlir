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
    %3 = llvm.getelementptr %2[16] : (!llvm.ptr) -> !llvm.ptr, i8
    %4 = llvm.load %3 : !llvm.ptr -> f64
    %c1_i64 = arith.constant 1 : i64
    %5 = call @kiln_rt_agg_header(%arg0, %c1_i64) : (!llvm.ptr, i64) -> !llvm.ptr
    %c1_i64_0 = arith.constant 1 : i64
    %6 = call @kiln_rt_agg_scratch(%arg0, %c1_i64_0) : (!llvm.ptr, i64) -> !llvm.ptr
    %7 = scf.while : () -> !llvm.ptr {
      %8 = llvm.load %arg0 atomic monotonic {alignment = 4 : i64} : !llvm.ptr -> i32
      %9 = llvm.getelementptr %arg0[4] : (!llvm.ptr) -> !llvm.ptr, i8
      %10 = llvm.load %9 atomic monotonic {alignment = 4 : i64} : !llvm.ptr -> i32
      %11 = arith.ori %8, %10 : i32
      %c0_i32 = arith.constant 0 : i32
      %12 = arith.cmpi eq, %11, %c0_i32 : i32
      %13 = func.call @kiln_rt_next(%0) : (!llvm.ptr) -> !llvm.ptr
      %14 = llvm.load %13 : !llvm.ptr -> i64
      %15 = arith.index_cast %14 : i64 to index
      %c0 = arith.constant 0 : index
      %16 = arith.cmpi ne, %15, %c0 : index
      %17 = arith.andi %12, %16 : i1
      scf.condition(%17) %13 : !llvm.ptr
    } do {
    ^bb0(%arg1: !llvm.ptr):
      %8 = llvm.getelementptr %arg1[24] : (!llvm.ptr) -> !llvm.ptr, i8
      %9 = llvm.load %8 : !llvm.ptr -> !llvm.ptr
      %10 = llvm.mlir.zero : !llvm.ptr
      %11 = llvm.icmp "eq" %9, %10 : !llvm.ptr
      %12 = scf.if %11 -> (!llvm.ptr) {
        scf.yield %arg1 : !llvm.ptr
      } else {
        %25 = func.call @kiln_rt_visible(%0) : (!llvm.ptr) -> !llvm.ptr
        scf.yield %25 : !llvm.ptr
      }
      %13 = llvm.load %12 : !llvm.ptr -> i64
      %14 = arith.index_cast %13 : i64 to index
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %15 = llvm.getelementptr %12[48] : (!llvm.ptr) -> !llvm.ptr, i8
      %16 = llvm.load %15 : !llvm.ptr -> !llvm.ptr
      %17 = llvm.getelementptr %12[56] : (!llvm.ptr) -> !llvm.ptr, i8
      %18 = llvm.load %17 : !llvm.ptr -> !llvm.ptr
      %19 = llvm.getelementptr %12[8] : (!llvm.ptr) -> !llvm.ptr, i8
      %20 = llvm.load %19 : !llvm.ptr -> i64
      %21 = llvm.getelementptr %12[32] : (!llvm.ptr) -> !llvm.ptr, i8
      %22 = llvm.load %21 : !llvm.ptr -> !llvm.ptr
      %23 = llvm.getelementptr %12[40] : (!llvm.ptr) -> !llvm.ptr, i8
      %24 = llvm.load %23 : !llvm.ptr -> !llvm.ptr
      scf.for %arg2 = %c0 to %14 step %c1 {
        %25 = arith.index_cast %arg2 : index to i64
        %26 = llvm.getelementptr %16[%25] : (!llvm.ptr, i64) -> !llvm.ptr, f64
        %27 = llvm.load %26 : !llvm.ptr -> f64
        %28 = arith.addi %20, %25 : i64
        %c6_i64 = arith.constant 6 : i64
        %29 = arith.shrui %28, %c6_i64 : i64
        %30 = llvm.getelementptr %18[%29] : (!llvm.ptr, i64) -> !llvm.ptr, i64
        %31 = llvm.load %30 : !llvm.ptr -> i64
        %c63_i64 = arith.constant 63 : i64
        %32 = arith.andi %28, %c63_i64 : i64
        %33 = arith.shrui %31, %32 : i64
        %c1_i64_1 = arith.constant 1 : i64
        %34 = arith.andi %33, %c1_i64_1 : i64
        %c0_i64_2 = arith.constant 0 : i64
        %35 = arith.cmpi eq, %34, %c0_i64_2 : i64
        %36 = arith.cmpf uno, %27, %27 : f64
        %37 = arith.cmpf uno, %4, %4 : f64
        %38 = arith.cmpf ogt, %27, %4 : f64
        %39 = arith.cmpf ord, %4, %4 : f64
        %40 = arith.andi %36, %39 : i1
        %41 = arith.ori %38, %40 : i1
        %true_3 = arith.constant true
        %42 = arith.xori %35, %true_3 : i1
        %43 = arith.andi %41, %42 : i1
        scf.if %43 {
          %44 = arith.index_cast %arg2 : index to i64
          %45 = llvm.getelementptr %22[%44] : (!llvm.ptr, i64) -> !llvm.ptr, i32
          %46 = llvm.load %45 : !llvm.ptr -> i32
          %47 = arith.addi %20, %44 : i64
          %c6_i64_4 = arith.constant 6 : i64
          %48 = arith.shrui %47, %c6_i64_4 : i64
          %49 = llvm.getelementptr %24[%48] : (!llvm.ptr, i64) -> !llvm.ptr, i64
          %50 = llvm.load %49 : !llvm.ptr -> i64
          %c63_i64_5 = arith.constant 63 : i64
          %51 = arith.andi %47, %c63_i64_5 : i64
          %52 = arith.shrui %50, %51 : i64
          %c1_i64_6 = arith.constant 1 : i64
          %53 = arith.andi %52, %c1_i64_6 : i64
          %c0_i64_7 = arith.constant 0 : i64
          %54 = arith.cmpi eq, %53, %c0_i64_7 : i64
          %c625341585_i64 = arith.constant 625341585 : i64
          %55 = "kiln_low.hash"(%46) : (i32) -> i64
          %c2135587861_i64 = arith.constant 2135587861 : i64
          %56 = arith.select %54, %c2135587861_i64, %55 : i64
          %c-7046029254386353131_i64 = arith.constant -7046029254386353131 : i64
          %57 = arith.muli %c625341585_i64, %c-7046029254386353131_i64 : i64
          %58 = arith.xori %57, %56 : i64
          %59 = llvm.load %5 : !llvm.ptr -> !llvm.ptr
          %60 = llvm.getelementptr %5[8] : (!llvm.ptr) -> !llvm.ptr, i8
          %61 = llvm.load %60 : !llvm.ptr -> i64
          %62 = arith.andi %58, %61 : i64
          %63 = llvm.getelementptr %59[%62] : (!llvm.ptr, i64) -> !llvm.ptr, !llvm.ptr
          %64 = llvm.load %63 : !llvm.ptr -> !llvm.ptr
          %65 = scf.while (%arg3 = %64) : (!llvm.ptr) -> !llvm.ptr {
            %71 = llvm.mlir.zero : !llvm.ptr
            %72 = llvm.icmp "ne" %arg3, %71 : !llvm.ptr
            %73 = scf.if %72 -> (i1) {
              %76 = llvm.getelementptr %arg3[8] : (!llvm.ptr) -> !llvm.ptr, i8
              %77 = llvm.load %76 : !llvm.ptr -> i64
              %78 = arith.cmpi eq, %77, %58 : i64
              %79 = llvm.getelementptr %arg3[16] : (!llvm.ptr) -> !llvm.ptr, i8
              %80 = llvm.getelementptr %79[8] : (!llvm.ptr) -> !llvm.ptr, i8
              %81 = llvm.load %80 : !llvm.ptr -> i32
              %82 = arith.cmpi eq, %46, %81 : i32
              %83 = llvm.load %79 : !llvm.ptr -> i8
              %c0_i8 = arith.constant 0 : i8
              %84 = arith.cmpi ne, %83, %c0_i8 : i8
              %85 = arith.cmpi eq, %54, %84 : i1
              %86 = arith.ori %54, %82 : i1
              %87 = arith.andi %85, %86 : i1
              %88 = arith.andi %78, %87 : i1
              scf.yield %88 : i1
            } else {
              %false = arith.constant false
              scf.yield %false : i1
            }
            %true_9 = arith.constant true
            %74 = arith.xori %73, %true_9 : i1
            %75 = arith.andi %72, %74 : i1
            scf.condition(%75) %arg3 : !llvm.ptr
          } do {
          ^bb0(%arg3: !llvm.ptr):
            %71 = llvm.load %arg3 : !llvm.ptr -> !llvm.ptr
            scf.yield %71 : !llvm.ptr
          }
          %66 = llvm.mlir.zero : !llvm.ptr
          %67 = llvm.icmp "ne" %65, %66 : !llvm.ptr
          %68 = scf.if %67 -> (!llvm.ptr) {
            %71 = llvm.getelementptr %65[16] : (!llvm.ptr) -> !llvm.ptr, i8
            scf.yield %71 : !llvm.ptr
          } else {
            %71 = arith.extui %54 : i1 to i8
            llvm.store %71, %6 : i8, !llvm.ptr
            %72 = llvm.getelementptr %6[8] : (!llvm.ptr) -> !llvm.ptr, i8
            llvm.store %46, %72 : i32, !llvm.ptr
            %c1_i64_9 = arith.constant 1 : i64
            %73 = func.call @kiln_rt_agg_insert(%arg0, %c1_i64_9, %58) : (!llvm.ptr, i64, i64) -> !llvm.ptr
            scf.yield %73 : !llvm.ptr
          }
          %69 = llvm.getelementptr %68[16] : (!llvm.ptr) -> !llvm.ptr, i8
          %true_8 = arith.constant true
          %70 = arith.xori %35, %true_8 : i1
          scf.if %70 {
            %71 = llvm.getelementptr %68[1] : (!llvm.ptr) -> !llvm.ptr, i8
            %72 = llvm.load %71 : !llvm.ptr -> i8
            %c0_i8 = arith.constant 0 : i8
            %73 = arith.cmpi ne, %72, %c0_i8 : i8
            %74 = llvm.load %69 : !llvm.ptr -> f64
            %75 = arith.addf %74, %27 : f64
            %76 = arith.select %73, %27, %75 : f64
            llvm.store %76, %69 : f64, !llvm.ptr
            %c0_i8_9 = arith.constant 0 : i8
            %77 = llvm.getelementptr %68[1] : (!llvm.ptr) -> !llvm.ptr, i8
            llvm.store %c0_i8_9, %77 : i8, !llvm.ptr
          }
        }
      }
      scf.yield
    }
    %true = arith.constant true
    return %true : i1
  }
  func.func @pipeline_2(%arg0: !llvm.ptr) -> i1 {
    %c1_i64 = arith.constant 1 : i64
    %0 = call @kiln_rt_open(%arg0, %c1_i64) : (!llvm.ptr, i64) -> !llvm.ptr
    %1 = scf.while : () -> !llvm.ptr {
      %2 = llvm.load %arg0 atomic monotonic {alignment = 4 : i64} : !llvm.ptr -> i32
      %3 = llvm.getelementptr %arg0[4] : (!llvm.ptr) -> !llvm.ptr, i8
      %4 = llvm.load %3 atomic monotonic {alignment = 4 : i64} : !llvm.ptr -> i32
      %5 = arith.ori %2, %4 : i32
      %c0_i32 = arith.constant 0 : i32
      %6 = arith.cmpi eq, %5, %c0_i32 : i32
      %7 = func.call @kiln_rt_next(%0) : (!llvm.ptr) -> !llvm.ptr
      %8 = llvm.load %7 : !llvm.ptr -> i64
      %9 = arith.index_cast %8 : i64 to index
      %c0 = arith.constant 0 : index
      %10 = arith.cmpi ne, %9, %c0 : index
      %11 = arith.andi %6, %10 : i1
      scf.condition(%11) %7 : !llvm.ptr
    } do {
    ^bb0(%arg1: !llvm.ptr):
      %2 = llvm.load %arg1 : !llvm.ptr -> i64
      %3 = arith.index_cast %2 : i64 to index
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %4 = llvm.getelementptr %arg1[16] : (!llvm.ptr) -> !llvm.ptr, i8
      %5 = llvm.load %4 : !llvm.ptr -> !llvm.ptr
      scf.for %arg2 = %c0 to %3 step %c1 {
        %6 = arith.index_cast %arg2 : index to i64
        %7 = llvm.getelementptr %5[%6] : (!llvm.ptr, i64) -> !llvm.ptr, !llvm.ptr
        %8 = llvm.load %7 : !llvm.ptr -> !llvm.ptr
        %9 = llvm.getelementptr %8[8] : (!llvm.ptr) -> !llvm.ptr, i8
        %10 = llvm.load %9 : !llvm.ptr -> i32
        %11 = llvm.load %8 : !llvm.ptr -> i8
        %c0_i8 = arith.constant 0 : i8
        %12 = arith.cmpi ne, %11, %c0_i8 : i8
        %13 = arith.index_cast %arg2 : index to i64
        %14 = llvm.getelementptr %5[%13] : (!llvm.ptr, i64) -> !llvm.ptr, !llvm.ptr
        %15 = llvm.load %14 : !llvm.ptr -> !llvm.ptr
        %16 = llvm.getelementptr %15[16] : (!llvm.ptr) -> !llvm.ptr, i8
        %17 = llvm.load %16 : !llvm.ptr -> f64
        %18 = llvm.getelementptr %15[1] : (!llvm.ptr) -> !llvm.ptr, i8
        %19 = llvm.load %18 : !llvm.ptr -> i8
        %c0_i8_0 = arith.constant 0 : i8
        %20 = arith.cmpi ne, %19, %c0_i8_0 : i8
        %c2_i64_1 = arith.constant 2 : i64
        %21 = func.call @kiln_rt_append(%arg0, %c2_i64_1) : (!llvm.ptr, i64) -> !llvm.ptr
        %22 = arith.extui %12 : i1 to i8
        llvm.store %22, %21 : i8, !llvm.ptr
        %23 = llvm.getelementptr %21[8] : (!llvm.ptr) -> !llvm.ptr, i8
        llvm.store %10, %23 : i32, !llvm.ptr
        %24 = arith.extui %20 : i1 to i8
        %25 = llvm.getelementptr %21[1] : (!llvm.ptr) -> !llvm.ptr, i8
        llvm.store %24, %25 : i8, !llvm.ptr
        %26 = llvm.getelementptr %21[16] : (!llvm.ptr) -> !llvm.ptr, i8
        llvm.store %17, %26 : f64, !llvm.ptr
      }
      scf.yield
    }
    %c2_i64 = arith.constant 2 : i64
    call @kiln_rt_finish(%arg0, %c2_i64) : (!llvm.ptr, i64) -> ()
    %true = arith.constant true
    return %true : i1
  }
  func.func @pipeline_3(%arg0: !llvm.ptr) -> i1 {
    %c2_i64 = arith.constant 2 : i64
    %0 = call @kiln_rt_open(%arg0, %c2_i64) : (!llvm.ptr, i64) -> !llvm.ptr
    %1 = scf.while : () -> !llvm.ptr {
      %2 = llvm.load %arg0 atomic monotonic {alignment = 4 : i64} : !llvm.ptr -> i32
      %3 = llvm.getelementptr %arg0[4] : (!llvm.ptr) -> !llvm.ptr, i8
      %4 = llvm.load %3 atomic monotonic {alignment = 4 : i64} : !llvm.ptr -> i32
      %5 = arith.ori %2, %4 : i32
      %c0_i32 = arith.constant 0 : i32
      %6 = arith.cmpi eq, %5, %c0_i32 : i32
      %7 = func.call @kiln_rt_next(%0) : (!llvm.ptr) -> !llvm.ptr
      %8 = llvm.load %7 : !llvm.ptr -> i64
      %9 = arith.index_cast %8 : i64 to index
      %c0 = arith.constant 0 : index
      %10 = arith.cmpi ne, %9, %c0 : index
      %11 = arith.andi %6, %10 : i1
      scf.condition(%11) %7 : !llvm.ptr
    } do {
    ^bb0(%arg1: !llvm.ptr):
      %2 = llvm.load %arg1 : !llvm.ptr -> i64
      %3 = arith.index_cast %2 : i64 to index
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %4 = llvm.getelementptr %arg1[16] : (!llvm.ptr) -> !llvm.ptr, i8
      %5 = llvm.load %4 : !llvm.ptr -> !llvm.ptr
      scf.for %arg2 = %c0 to %3 step %c1 {
        %c3_i64 = arith.constant 3 : i64
        %6 = func.call @kiln_rt_limit_step(%arg0, %c3_i64) : (!llvm.ptr, i64) -> i32
        %c0_i32 = arith.constant 0 : i32
        %7 = arith.cmpi ne, %6, %c0_i32 : i32
        scf.if %7 {
          %8 = arith.index_cast %arg2 : index to i64
          %9 = llvm.getelementptr %5[%8] : (!llvm.ptr, i64) -> !llvm.ptr, !llvm.ptr
          %10 = llvm.load %9 : !llvm.ptr -> !llvm.ptr
          %11 = llvm.getelementptr %10[8] : (!llvm.ptr) -> !llvm.ptr, i8
          %12 = llvm.load %11 : !llvm.ptr -> i32
          %13 = llvm.load %10 : !llvm.ptr -> i8
          %c0_i8 = arith.constant 0 : i8
          %14 = arith.cmpi ne, %13, %c0_i8 : i8
          %15 = arith.index_cast %arg2 : index to i64
          %16 = llvm.getelementptr %5[%15] : (!llvm.ptr, i64) -> !llvm.ptr, !llvm.ptr
          %17 = llvm.load %16 : !llvm.ptr -> !llvm.ptr
          %18 = llvm.getelementptr %17[16] : (!llvm.ptr) -> !llvm.ptr, i8
          %19 = llvm.load %18 : !llvm.ptr -> f64
          %20 = llvm.getelementptr %17[1] : (!llvm.ptr) -> !llvm.ptr, i8
          %21 = llvm.load %20 : !llvm.ptr -> i8
          %c0_i8_0 = arith.constant 0 : i8
          %22 = arith.cmpi ne, %21, %c0_i8_0 : i8
          %c4_i64 = arith.constant 4 : i64
          %23 = func.call @kiln_rt_append(%arg0, %c4_i64) : (!llvm.ptr, i64) -> !llvm.ptr
          %24 = arith.extui %14 : i1 to i8
          llvm.store %24, %23 : i8, !llvm.ptr
          %25 = llvm.getelementptr %23[8] : (!llvm.ptr) -> !llvm.ptr, i8
          llvm.store %12, %25 : i32, !llvm.ptr
          %26 = arith.extui %22 : i1 to i8
          %27 = llvm.getelementptr %23[1] : (!llvm.ptr) -> !llvm.ptr, i8
          llvm.store %26, %27 : i8, !llvm.ptr
          %28 = llvm.getelementptr %23[16] : (!llvm.ptr) -> !llvm.ptr, i8
          llvm.store %19, %28 : f64, !llvm.ptr
        }
      }
      scf.yield
    }
    %true = arith.constant true
    return %true : i1
  }
}
