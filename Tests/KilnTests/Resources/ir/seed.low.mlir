module {
  func.func private @kiln_rt_open(!llvm.ptr, i64) -> !llvm.ptr
  func.func private @kiln_rt_next(!llvm.ptr) -> !llvm.ptr
  func.func private @kiln_rt_finish(!llvm.ptr, i64)
  func.func private @kiln_rt_agg_scratch(!llvm.ptr, i64) -> !llvm.ptr
  func.func private @kiln_rt_agg_find(!llvm.ptr, i64, i64) -> !llvm.ptr
  func.func private @kiln_rt_agg_header(!llvm.ptr, i64) -> !llvm.ptr
  func.func private @kiln_rt_agg_insert(!llvm.ptr, i64, i64) -> !llvm.ptr
  func.func private @kiln_rt_join_insert(!llvm.ptr, i64, i64) -> !llvm.ptr
  func.func private @kiln_rt_join_null_entry(!llvm.ptr, i64) -> !llvm.ptr
  func.func private @kiln_rt_append(!llvm.ptr, i64) -> !llvm.ptr
  func.func private @kiln_rt_limit_step(!llvm.ptr, i64) -> i32
  func.func private @kiln_rt_raise(!llvm.ptr, i32)
  func.func private @kiln_rt_call(!llvm.ptr, i64)
  func.func @pipeline_1(%arg0: !llvm.ptr) -> i1 {
    %c0_i64 = arith.constant 0 : i64
    %0 = call @kiln_rt_open(%arg0, %c0_i64) : (!llvm.ptr, i64) -> !llvm.ptr
    %1 = llvm.getelementptr %arg0[8] : (!llvm.ptr) -> !llvm.ptr, i8
    %2 = llvm.load %1 : !llvm.ptr -> !llvm.ptr
    %3 = llvm.load %2 : !llvm.ptr -> f64
    %c1_i64 = arith.constant 1 : i64
    %4 = call @kiln_rt_agg_header(%arg0, %c1_i64) : (!llvm.ptr, i64) -> !llvm.ptr
    %c1_i64_0 = arith.constant 1 : i64
    %5 = call @kiln_rt_agg_scratch(%arg0, %c1_i64_0) : (!llvm.ptr, i64) -> !llvm.ptr
    %6 = scf.while : () -> !llvm.ptr {
      %7 = llvm.load %arg0 : !llvm.ptr -> i32
      %8 = llvm.getelementptr %arg0[4] : (!llvm.ptr) -> !llvm.ptr, i8
      %9 = llvm.load %8 : !llvm.ptr -> i32
      %10 = arith.ori %7, %9 : i32
      %c0_i32 = arith.constant 0 : i32
      %11 = arith.cmpi eq, %10, %c0_i32 : i32
      %12 = func.call @kiln_rt_next(%0) : (!llvm.ptr) -> !llvm.ptr
      %13 = llvm.load %12 : !llvm.ptr -> i64
      %14 = arith.index_cast %13 : i64 to index
      %c0 = arith.constant 0 : index
      %15 = arith.cmpi ne, %14, %c0 : index
      %16 = arith.andi %11, %15 : i1
      scf.condition(%16) %12 : !llvm.ptr
    } do {
    ^bb0(%arg1: !llvm.ptr):
      %7 = llvm.load %arg1 : !llvm.ptr -> i64
      %8 = arith.index_cast %7 : i64 to index
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %9 = llvm.getelementptr %arg1[32] : (!llvm.ptr) -> !llvm.ptr, i8
      %10 = llvm.load %9 : !llvm.ptr -> !llvm.ptr
      %11 = llvm.getelementptr %arg1[40] : (!llvm.ptr) -> !llvm.ptr, i8
      %12 = llvm.load %11 : !llvm.ptr -> !llvm.ptr
      %13 = llvm.getelementptr %arg1[8] : (!llvm.ptr) -> !llvm.ptr, i8
      %14 = llvm.load %13 : !llvm.ptr -> i64
      %15 = llvm.getelementptr %arg1[16] : (!llvm.ptr) -> !llvm.ptr, i8
      %16 = llvm.load %15 : !llvm.ptr -> !llvm.ptr
      %17 = llvm.getelementptr %arg1[24] : (!llvm.ptr) -> !llvm.ptr, i8
      %18 = llvm.load %17 : !llvm.ptr -> !llvm.ptr
      scf.for %arg2 = %c0 to %8 step %c1 {
        %19 = arith.index_cast %arg2 : index to i64
        %20 = llvm.getelementptr %10[%19] : (!llvm.ptr, i64) -> !llvm.ptr, f64
        %21 = llvm.load %20 : !llvm.ptr -> f64
        %22 = arith.addi %14, %19 : i64
        %c6_i64 = arith.constant 6 : i64
        %23 = arith.shrui %22, %c6_i64 : i64
        %24 = llvm.getelementptr %12[%23] : (!llvm.ptr, i64) -> !llvm.ptr, i64
        %25 = llvm.load %24 : !llvm.ptr -> i64
        %c63_i64 = arith.constant 63 : i64
        %26 = arith.andi %22, %c63_i64 : i64
        %27 = arith.shrui %25, %26 : i64
        %c1_i64_1 = arith.constant 1 : i64
        %28 = arith.andi %27, %c1_i64_1 : i64
        %c0_i64_2 = arith.constant 0 : i64
        %29 = arith.cmpi eq, %28, %c0_i64_2 : i64
        %30 = arith.cmpf uno, %21, %21 : f64
        %31 = arith.cmpf uno, %3, %3 : f64
        %32 = arith.cmpf ogt, %21, %3 : f64
        %33 = arith.cmpf ord, %3, %3 : f64
        %34 = arith.andi %30, %33 : i1
        %35 = arith.ori %32, %34 : i1
        %true_3 = arith.constant true
        %36 = arith.xori %29, %true_3 : i1
        %37 = arith.andi %35, %36 : i1
        scf.if %37 {
          %38 = arith.index_cast %arg2 : index to i64
          %39 = llvm.getelementptr %16[%38] : (!llvm.ptr, i64) -> !llvm.ptr, i32
          %40 = llvm.load %39 : !llvm.ptr -> i32
          %41 = arith.addi %14, %38 : i64
          %c6_i64_4 = arith.constant 6 : i64
          %42 = arith.shrui %41, %c6_i64_4 : i64
          %43 = llvm.getelementptr %18[%42] : (!llvm.ptr, i64) -> !llvm.ptr, i64
          %44 = llvm.load %43 : !llvm.ptr -> i64
          %c63_i64_5 = arith.constant 63 : i64
          %45 = arith.andi %41, %c63_i64_5 : i64
          %46 = arith.shrui %44, %45 : i64
          %c1_i64_6 = arith.constant 1 : i64
          %47 = arith.andi %46, %c1_i64_6 : i64
          %c0_i64_7 = arith.constant 0 : i64
          %48 = arith.cmpi eq, %47, %c0_i64_7 : i64
          %c625341585_i64 = arith.constant 625341585 : i64
          %49 = "kiln_low.hash"(%40) : (i32) -> i64
          %c2135587861_i64 = arith.constant 2135587861 : i64
          %50 = arith.select %48, %c2135587861_i64, %49 : i64
          %c-7046029254386353131_i64 = arith.constant -7046029254386353131 : i64
          %51 = arith.muli %c625341585_i64, %c-7046029254386353131_i64 : i64
          %52 = arith.xori %51, %50 : i64
          %53 = llvm.load %4 : !llvm.ptr -> !llvm.ptr
          %54 = llvm.getelementptr %4[8] : (!llvm.ptr) -> !llvm.ptr, i8
          %55 = llvm.load %54 : !llvm.ptr -> i64
          %56 = arith.andi %52, %55 : i64
          %57 = llvm.getelementptr %53[%56] : (!llvm.ptr, i64) -> !llvm.ptr, !llvm.ptr
          %58 = llvm.load %57 : !llvm.ptr -> !llvm.ptr
          %59 = scf.while (%arg3 = %58) : (!llvm.ptr) -> !llvm.ptr {
            %65 = llvm.mlir.zero : !llvm.ptr
            %66 = llvm.icmp "ne" %arg3, %65 : !llvm.ptr
            %67 = scf.if %66 -> (i1) {
              %70 = llvm.getelementptr %arg3[8] : (!llvm.ptr) -> !llvm.ptr, i8
              %71 = llvm.load %70 : !llvm.ptr -> i64
              %72 = arith.cmpi eq, %71, %52 : i64
              %73 = llvm.getelementptr %arg3[16] : (!llvm.ptr) -> !llvm.ptr, i8
              %74 = llvm.getelementptr %73[8] : (!llvm.ptr) -> !llvm.ptr, i8
              %75 = llvm.load %74 : !llvm.ptr -> i32
              %76 = arith.cmpi eq, %40, %75 : i32
              %77 = llvm.load %73 : !llvm.ptr -> i8
              %c0_i8 = arith.constant 0 : i8
              %78 = arith.cmpi ne, %77, %c0_i8 : i8
              %79 = arith.cmpi eq, %48, %78 : i1
              %80 = arith.ori %48, %76 : i1
              %81 = arith.andi %79, %80 : i1
              %82 = arith.andi %72, %81 : i1
              scf.yield %82 : i1
            } else {
              %false = arith.constant false
              scf.yield %false : i1
            }
            %true_9 = arith.constant true
            %68 = arith.xori %67, %true_9 : i1
            %69 = arith.andi %66, %68 : i1
            scf.condition(%69) %arg3 : !llvm.ptr
          } do {
          ^bb0(%arg3: !llvm.ptr):
            %65 = llvm.load %arg3 : !llvm.ptr -> !llvm.ptr
            scf.yield %65 : !llvm.ptr
          }
          %60 = llvm.mlir.zero : !llvm.ptr
          %61 = llvm.icmp "ne" %59, %60 : !llvm.ptr
          %62 = scf.if %61 -> (!llvm.ptr) {
            %65 = llvm.getelementptr %59[16] : (!llvm.ptr) -> !llvm.ptr, i8
            scf.yield %65 : !llvm.ptr
          } else {
            %65 = arith.extui %48 : i1 to i8
            llvm.store %65, %5 : i8, !llvm.ptr
            %66 = llvm.getelementptr %5[8] : (!llvm.ptr) -> !llvm.ptr, i8
            llvm.store %40, %66 : i32, !llvm.ptr
            %c1_i64_9 = arith.constant 1 : i64
            %67 = func.call @kiln_rt_agg_insert(%arg0, %c1_i64_9, %52) : (!llvm.ptr, i64, i64) -> !llvm.ptr
            scf.yield %67 : !llvm.ptr
          }
          %63 = llvm.getelementptr %62[16] : (!llvm.ptr) -> !llvm.ptr, i8
          %true_8 = arith.constant true
          %64 = arith.xori %29, %true_8 : i1
          scf.if %64 {
            %65 = llvm.getelementptr %62[1] : (!llvm.ptr) -> !llvm.ptr, i8
            %66 = llvm.load %65 : !llvm.ptr -> i8
            %c0_i8 = arith.constant 0 : i8
            %67 = arith.cmpi ne, %66, %c0_i8 : i8
            %68 = llvm.load %63 : !llvm.ptr -> f64
            %69 = arith.addf %68, %21 : f64
            %70 = arith.select %67, %21, %69 : f64
            llvm.store %70, %63 : f64, !llvm.ptr
            %c0_i8_9 = arith.constant 0 : i8
            %71 = llvm.getelementptr %62[1] : (!llvm.ptr) -> !llvm.ptr, i8
            llvm.store %c0_i8_9, %71 : i8, !llvm.ptr
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
      %2 = llvm.load %arg0 : !llvm.ptr -> i32
      %3 = llvm.getelementptr %arg0[4] : (!llvm.ptr) -> !llvm.ptr, i8
      %4 = llvm.load %3 : !llvm.ptr -> i32
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
      %2 = llvm.load %arg0 : !llvm.ptr -> i32
      %3 = llvm.getelementptr %arg0[4] : (!llvm.ptr) -> !llvm.ptr, i8
      %4 = llvm.load %3 : !llvm.ptr -> i32
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
