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
  func.func private @kiln_rt_raise(!llvm.ptr, i32)
  func.func private @kiln_rt_call(!llvm.ptr, i64)
  func.func private @kiln_rt_like(!llvm.ptr, i64, i64, i64) -> i32
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
      %8 = llvm.load %arg1 : !llvm.ptr -> i64
      %9 = arith.index_cast %8 : i64 to index
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %10 = llvm.getelementptr %arg1[48] : (!llvm.ptr) -> !llvm.ptr, i8
      %11 = llvm.load %10 : !llvm.ptr -> !llvm.ptr
      %12 = llvm.getelementptr %arg1[56] : (!llvm.ptr) -> !llvm.ptr, i8
      %13 = llvm.load %12 : !llvm.ptr -> !llvm.ptr
      %14 = llvm.getelementptr %arg1[8] : (!llvm.ptr) -> !llvm.ptr, i8
      %15 = llvm.load %14 : !llvm.ptr -> i64
      %16 = llvm.getelementptr %arg1[32] : (!llvm.ptr) -> !llvm.ptr, i8
      %17 = llvm.load %16 : !llvm.ptr -> !llvm.ptr
      %18 = llvm.getelementptr %arg1[40] : (!llvm.ptr) -> !llvm.ptr, i8
      %19 = llvm.load %18 : !llvm.ptr -> !llvm.ptr
      scf.for %arg2 = %c0 to %9 step %c1 {
        %20 = arith.index_cast %arg2 : index to i64
        %21 = llvm.getelementptr %11[%20] : (!llvm.ptr, i64) -> !llvm.ptr, f64
        %22 = llvm.load %21 : !llvm.ptr -> f64
        %23 = arith.addi %15, %20 : i64
        %c6_i64 = arith.constant 6 : i64
        %24 = arith.shrui %23, %c6_i64 : i64
        %25 = llvm.getelementptr %13[%24] : (!llvm.ptr, i64) -> !llvm.ptr, i64
        %26 = llvm.load %25 : !llvm.ptr -> i64
        %c63_i64 = arith.constant 63 : i64
        %27 = arith.andi %23, %c63_i64 : i64
        %28 = arith.shrui %26, %27 : i64
        %c1_i64_1 = arith.constant 1 : i64
        %29 = arith.andi %28, %c1_i64_1 : i64
        %c0_i64_2 = arith.constant 0 : i64
        %30 = arith.cmpi eq, %29, %c0_i64_2 : i64
        %31 = arith.cmpf uno, %22, %22 : f64
        %32 = arith.cmpf uno, %4, %4 : f64
        %33 = arith.cmpf ogt, %22, %4 : f64
        %34 = arith.cmpf ord, %4, %4 : f64
        %35 = arith.andi %31, %34 : i1
        %36 = arith.ori %33, %35 : i1
        %true_3 = arith.constant true
        %37 = arith.xori %30, %true_3 : i1
        %38 = arith.andi %36, %37 : i1
        scf.if %38 {
          %39 = arith.index_cast %arg2 : index to i64
          %40 = llvm.getelementptr %17[%39] : (!llvm.ptr, i64) -> !llvm.ptr, i32
          %41 = llvm.load %40 : !llvm.ptr -> i32
          %42 = arith.addi %15, %39 : i64
          %c6_i64_4 = arith.constant 6 : i64
          %43 = arith.shrui %42, %c6_i64_4 : i64
          %44 = llvm.getelementptr %19[%43] : (!llvm.ptr, i64) -> !llvm.ptr, i64
          %45 = llvm.load %44 : !llvm.ptr -> i64
          %c63_i64_5 = arith.constant 63 : i64
          %46 = arith.andi %42, %c63_i64_5 : i64
          %47 = arith.shrui %45, %46 : i64
          %c1_i64_6 = arith.constant 1 : i64
          %48 = arith.andi %47, %c1_i64_6 : i64
          %c0_i64_7 = arith.constant 0 : i64
          %49 = arith.cmpi eq, %48, %c0_i64_7 : i64
          %c625341585_i64 = arith.constant 625341585 : i64
          %50 = "kiln_low.hash"(%41) : (i32) -> i64
          %c2135587861_i64 = arith.constant 2135587861 : i64
          %51 = arith.select %49, %c2135587861_i64, %50 : i64
          %c-7046029254386353131_i64 = arith.constant -7046029254386353131 : i64
          %52 = arith.muli %c625341585_i64, %c-7046029254386353131_i64 : i64
          %53 = arith.xori %52, %51 : i64
          %54 = llvm.load %5 : !llvm.ptr -> !llvm.ptr
          %55 = llvm.getelementptr %5[8] : (!llvm.ptr) -> !llvm.ptr, i8
          %56 = llvm.load %55 : !llvm.ptr -> i64
          %57 = arith.andi %53, %56 : i64
          %58 = llvm.getelementptr %54[%57] : (!llvm.ptr, i64) -> !llvm.ptr, !llvm.ptr
          %59 = llvm.load %58 : !llvm.ptr -> !llvm.ptr
          %60 = scf.while (%arg3 = %59) : (!llvm.ptr) -> !llvm.ptr {
            %66 = llvm.mlir.zero : !llvm.ptr
            %67 = llvm.icmp "ne" %arg3, %66 : !llvm.ptr
            %68 = scf.if %67 -> (i1) {
              %71 = llvm.getelementptr %arg3[8] : (!llvm.ptr) -> !llvm.ptr, i8
              %72 = llvm.load %71 : !llvm.ptr -> i64
              %73 = arith.cmpi eq, %72, %53 : i64
              %74 = llvm.getelementptr %arg3[16] : (!llvm.ptr) -> !llvm.ptr, i8
              %75 = llvm.getelementptr %74[8] : (!llvm.ptr) -> !llvm.ptr, i8
              %76 = llvm.load %75 : !llvm.ptr -> i32
              %77 = arith.cmpi eq, %41, %76 : i32
              %78 = llvm.load %74 : !llvm.ptr -> i8
              %c0_i8 = arith.constant 0 : i8
              %79 = arith.cmpi ne, %78, %c0_i8 : i8
              %80 = arith.cmpi eq, %49, %79 : i1
              %81 = arith.ori %49, %77 : i1
              %82 = arith.andi %80, %81 : i1
              %83 = arith.andi %73, %82 : i1
              scf.yield %83 : i1
            } else {
              %false = arith.constant false
              scf.yield %false : i1
            }
            %true_9 = arith.constant true
            %69 = arith.xori %68, %true_9 : i1
            %70 = arith.andi %67, %69 : i1
            scf.condition(%70) %arg3 : !llvm.ptr
          } do {
          ^bb0(%arg3: !llvm.ptr):
            %66 = llvm.load %arg3 : !llvm.ptr -> !llvm.ptr
            scf.yield %66 : !llvm.ptr
          }
          %61 = llvm.mlir.zero : !llvm.ptr
          %62 = llvm.icmp "ne" %60, %61 : !llvm.ptr
          %63 = scf.if %62 -> (!llvm.ptr) {
            %66 = llvm.getelementptr %60[16] : (!llvm.ptr) -> !llvm.ptr, i8
            scf.yield %66 : !llvm.ptr
          } else {
            %66 = arith.extui %49 : i1 to i8
            llvm.store %66, %6 : i8, !llvm.ptr
            %67 = llvm.getelementptr %6[8] : (!llvm.ptr) -> !llvm.ptr, i8
            llvm.store %41, %67 : i32, !llvm.ptr
            %c1_i64_9 = arith.constant 1 : i64
            %68 = func.call @kiln_rt_agg_insert(%arg0, %c1_i64_9, %53) : (!llvm.ptr, i64, i64) -> !llvm.ptr
            scf.yield %68 : !llvm.ptr
          }
          %64 = llvm.getelementptr %63[16] : (!llvm.ptr) -> !llvm.ptr, i8
          %true_8 = arith.constant true
          %65 = arith.xori %30, %true_8 : i1
          scf.if %65 {
            %66 = llvm.getelementptr %63[1] : (!llvm.ptr) -> !llvm.ptr, i8
            %67 = llvm.load %66 : !llvm.ptr -> i8
            %c0_i8 = arith.constant 0 : i8
            %68 = arith.cmpi ne, %67, %c0_i8 : i8
            %69 = llvm.load %64 : !llvm.ptr -> f64
            %70 = arith.addf %69, %22 : f64
            %71 = arith.select %68, %22, %70 : f64
            llvm.store %71, %64 : f64, !llvm.ptr
            %c0_i8_9 = arith.constant 0 : i8
            %72 = llvm.getelementptr %63[1] : (!llvm.ptr) -> !llvm.ptr, i8
            llvm.store %c0_i8_9, %72 : i8, !llvm.ptr
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
