module {
  func.func private @kiln_rt_open(!llvm.ptr, i64) -> !llvm.ptr
  func.func private @kiln_rt_next(!llvm.ptr) -> !llvm.ptr
  func.func private @kiln_rt_finish(!llvm.ptr, i64)
  func.func private @kiln_rt_agg_scratch(!llvm.ptr, i64) -> !llvm.ptr
  func.func private @kiln_rt_agg_find(!llvm.ptr, i64, i64) -> !llvm.ptr
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
    %4 = scf.while : () -> !llvm.ptr {
      %5 = llvm.load %arg0 : !llvm.ptr -> i32
      %6 = llvm.getelementptr %arg0[4] : (!llvm.ptr) -> !llvm.ptr, i8
      %7 = llvm.load %6 : !llvm.ptr -> i32
      %8 = arith.ori %5, %7 : i32
      %c0_i32 = arith.constant 0 : i32
      %9 = arith.cmpi eq, %8, %c0_i32 : i32
      %10 = func.call @kiln_rt_next(%0) : (!llvm.ptr) -> !llvm.ptr
      %11 = llvm.load %10 : !llvm.ptr -> i64
      %12 = arith.index_cast %11 : i64 to index
      %c0 = arith.constant 0 : index
      %13 = arith.cmpi ne, %12, %c0 : index
      %14 = arith.andi %9, %13 : i1
      scf.condition(%14) %10 : !llvm.ptr
    } do {
    ^bb0(%arg1: !llvm.ptr):
      %5 = llvm.load %arg1 : !llvm.ptr -> i64
      %6 = arith.index_cast %5 : i64 to index
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      scf.for %arg2 = %c0 to %6 step %c1 {
        %7 = arith.index_cast %arg2 : index to i64
        %8 = llvm.getelementptr %arg1[32] : (!llvm.ptr) -> !llvm.ptr, i8
        %9 = llvm.load %8 : !llvm.ptr -> !llvm.ptr
        %10 = llvm.getelementptr %9[%7] : (!llvm.ptr, i64) -> !llvm.ptr, f64
        %11 = llvm.load %10 : !llvm.ptr -> f64
        %12 = llvm.getelementptr %arg1[40] : (!llvm.ptr) -> !llvm.ptr, i8
        %13 = llvm.load %12 : !llvm.ptr -> !llvm.ptr
        %14 = llvm.getelementptr %arg1[8] : (!llvm.ptr) -> !llvm.ptr, i8
        %15 = llvm.load %14 : !llvm.ptr -> i64
        %16 = arith.addi %15, %7 : i64
        %c6_i64 = arith.constant 6 : i64
        %17 = arith.shrui %16, %c6_i64 : i64
        %18 = llvm.getelementptr %13[%17] : (!llvm.ptr, i64) -> !llvm.ptr, i64
        %19 = llvm.load %18 : !llvm.ptr -> i64
        %c63_i64 = arith.constant 63 : i64
        %20 = arith.andi %16, %c63_i64 : i64
        %21 = arith.shrui %19, %20 : i64
        %c1_i64 = arith.constant 1 : i64
        %22 = arith.andi %21, %c1_i64 : i64
        %c0_i64_0 = arith.constant 0 : i64
        %23 = arith.cmpi eq, %22, %c0_i64_0 : i64
        %24 = arith.cmpf ogt, %11, %3 : f64
        %true_1 = arith.constant true
        %25 = arith.xori %23, %true_1 : i1
        %26 = arith.andi %24, %25 : i1
        scf.if %26 {
          %27 = arith.index_cast %arg2 : index to i64
          %28 = llvm.getelementptr %arg1[16] : (!llvm.ptr) -> !llvm.ptr, i8
          %29 = llvm.load %28 : !llvm.ptr -> !llvm.ptr
          %30 = llvm.getelementptr %29[%27] : (!llvm.ptr, i64) -> !llvm.ptr, i32
          %31 = llvm.load %30 : !llvm.ptr -> i32
          %32 = llvm.getelementptr %arg1[24] : (!llvm.ptr) -> !llvm.ptr, i8
          %33 = llvm.load %32 : !llvm.ptr -> !llvm.ptr
          %34 = llvm.getelementptr %arg1[8] : (!llvm.ptr) -> !llvm.ptr, i8
          %35 = llvm.load %34 : !llvm.ptr -> i64
          %36 = arith.addi %35, %27 : i64
          %c6_i64_2 = arith.constant 6 : i64
          %37 = arith.shrui %36, %c6_i64_2 : i64
          %38 = llvm.getelementptr %33[%37] : (!llvm.ptr, i64) -> !llvm.ptr, i64
          %39 = llvm.load %38 : !llvm.ptr -> i64
          %c63_i64_3 = arith.constant 63 : i64
          %40 = arith.andi %36, %c63_i64_3 : i64
          %41 = arith.shrui %39, %40 : i64
          %c1_i64_4 = arith.constant 1 : i64
          %42 = arith.andi %41, %c1_i64_4 : i64
          %c0_i64_5 = arith.constant 0 : i64
          %43 = arith.cmpi eq, %42, %c0_i64_5 : i64
          %c1_i64_6 = arith.constant 1 : i64
          %44 = func.call @kiln_rt_agg_scratch(%arg0, %c1_i64_6) : (!llvm.ptr, i64) -> !llvm.ptr
          %c625341585_i64 = arith.constant 625341585 : i64
          %45 = arith.extsi %31 : i32 to i64
          %c33_i64 = arith.constant 33 : i64
          %46 = arith.shrui %45, %c33_i64 : i64
          %47 = arith.xori %45, %46 : i64
          %c-49064778989728563_i64 = arith.constant -49064778989728563 : i64
          %48 = arith.muli %47, %c-49064778989728563_i64 : i64
          %49 = arith.shrui %48, %c33_i64 : i64
          %50 = arith.xori %48, %49 : i64
          %c-4265267296055464877_i64 = arith.constant -4265267296055464877 : i64
          %51 = arith.muli %50, %c-4265267296055464877_i64 : i64
          %52 = arith.shrui %51, %c33_i64 : i64
          %53 = arith.xori %51, %52 : i64
          %c2135587861_i64 = arith.constant 2135587861 : i64
          %54 = arith.select %43, %c2135587861_i64, %53 : i64
          %c-7046029254386353131_i64 = arith.constant -7046029254386353131 : i64
          %55 = arith.muli %c625341585_i64, %c-7046029254386353131_i64 : i64
          %56 = arith.xori %55, %54 : i64
          %57 = arith.extui %43 : i1 to i8
          llvm.store %57, %44 : i8, !llvm.ptr
          %58 = llvm.getelementptr %44[8] : (!llvm.ptr) -> !llvm.ptr, i8
          llvm.store %31, %58 : i32, !llvm.ptr
          %59 = func.call @kiln_rt_agg_find(%arg0, %c1_i64_6, %56) : (!llvm.ptr, i64, i64) -> !llvm.ptr
          %60 = llvm.getelementptr %59[16] : (!llvm.ptr) -> !llvm.ptr, i8
          %true_7 = arith.constant true
          %61 = arith.xori %23, %true_7 : i1
          scf.if %61 {
            %62 = llvm.getelementptr %59[1] : (!llvm.ptr) -> !llvm.ptr, i8
            %63 = llvm.load %62 : !llvm.ptr -> i8
            %c0_i8 = arith.constant 0 : i8
            %64 = arith.cmpi ne, %63, %c0_i8 : i8
            %65 = llvm.load %60 : !llvm.ptr -> f64
            %66 = arith.addf %65, %11 : f64
            %67 = arith.select %64, %11, %66 : f64
            llvm.store %67, %60 : f64, !llvm.ptr
            %c0_i8_8 = arith.constant 0 : i8
            %68 = llvm.getelementptr %59[1] : (!llvm.ptr) -> !llvm.ptr, i8
            llvm.store %c0_i8_8, %68 : i8, !llvm.ptr
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
      scf.for %arg2 = %c0 to %3 step %c1 {
        %4 = arith.index_cast %arg2 : index to i64
        %5 = llvm.getelementptr %arg1[16] : (!llvm.ptr) -> !llvm.ptr, i8
        %6 = llvm.load %5 : !llvm.ptr -> !llvm.ptr
        %7 = llvm.getelementptr %6[%4] : (!llvm.ptr, i64) -> !llvm.ptr, !llvm.ptr
        %8 = llvm.load %7 : !llvm.ptr -> !llvm.ptr
        %9 = llvm.getelementptr %8[8] : (!llvm.ptr) -> !llvm.ptr, i8
        %10 = llvm.load %9 : !llvm.ptr -> i32
        %11 = llvm.load %8 : !llvm.ptr -> i8
        %c0_i8 = arith.constant 0 : i8
        %12 = arith.cmpi ne, %11, %c0_i8 : i8
        %13 = arith.index_cast %arg2 : index to i64
        %14 = llvm.getelementptr %arg1[16] : (!llvm.ptr) -> !llvm.ptr, i8
        %15 = llvm.load %14 : !llvm.ptr -> !llvm.ptr
        %16 = llvm.getelementptr %15[%13] : (!llvm.ptr, i64) -> !llvm.ptr, !llvm.ptr
        %17 = llvm.load %16 : !llvm.ptr -> !llvm.ptr
        %18 = llvm.getelementptr %17[16] : (!llvm.ptr) -> !llvm.ptr, i8
        %19 = llvm.load %18 : !llvm.ptr -> f64
        %20 = llvm.getelementptr %17[1] : (!llvm.ptr) -> !llvm.ptr, i8
        %21 = llvm.load %20 : !llvm.ptr -> i8
        %c0_i8_0 = arith.constant 0 : i8
        %22 = arith.cmpi ne, %21, %c0_i8_0 : i8
        %c2_i64_1 = arith.constant 2 : i64
        %23 = func.call @kiln_rt_append(%arg0, %c2_i64_1) : (!llvm.ptr, i64) -> !llvm.ptr
        %24 = arith.extui %12 : i1 to i8
        llvm.store %24, %23 : i8, !llvm.ptr
        %25 = llvm.getelementptr %23[8] : (!llvm.ptr) -> !llvm.ptr, i8
        llvm.store %10, %25 : i32, !llvm.ptr
        %26 = arith.extui %22 : i1 to i8
        %27 = llvm.getelementptr %23[1] : (!llvm.ptr) -> !llvm.ptr, i8
        llvm.store %26, %27 : i8, !llvm.ptr
        %28 = llvm.getelementptr %23[16] : (!llvm.ptr) -> !llvm.ptr, i8
        llvm.store %19, %28 : f64, !llvm.ptr
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
      scf.for %arg2 = %c0 to %3 step %c1 {
        %c3_i64 = arith.constant 3 : i64
        %4 = func.call @kiln_rt_limit_step(%arg0, %c3_i64) : (!llvm.ptr, i64) -> i32
        %c0_i32 = arith.constant 0 : i32
        %5 = arith.cmpi ne, %4, %c0_i32 : i32
        scf.if %5 {
          %6 = arith.index_cast %arg2 : index to i64
          %7 = llvm.getelementptr %arg1[16] : (!llvm.ptr) -> !llvm.ptr, i8
          %8 = llvm.load %7 : !llvm.ptr -> !llvm.ptr
          %9 = llvm.getelementptr %8[%6] : (!llvm.ptr, i64) -> !llvm.ptr, !llvm.ptr
          %10 = llvm.load %9 : !llvm.ptr -> !llvm.ptr
          %11 = llvm.getelementptr %10[8] : (!llvm.ptr) -> !llvm.ptr, i8
          %12 = llvm.load %11 : !llvm.ptr -> i32
          %13 = llvm.load %10 : !llvm.ptr -> i8
          %c0_i8 = arith.constant 0 : i8
          %14 = arith.cmpi ne, %13, %c0_i8 : i8
          %15 = arith.index_cast %arg2 : index to i64
          %16 = llvm.getelementptr %arg1[16] : (!llvm.ptr) -> !llvm.ptr, i8
          %17 = llvm.load %16 : !llvm.ptr -> !llvm.ptr
          %18 = llvm.getelementptr %17[%15] : (!llvm.ptr, i64) -> !llvm.ptr, !llvm.ptr
          %19 = llvm.load %18 : !llvm.ptr -> !llvm.ptr
          %20 = llvm.getelementptr %19[16] : (!llvm.ptr) -> !llvm.ptr, i8
          %21 = llvm.load %20 : !llvm.ptr -> f64
          %22 = llvm.getelementptr %19[1] : (!llvm.ptr) -> !llvm.ptr, i8
          %23 = llvm.load %22 : !llvm.ptr -> i8
          %c0_i8_0 = arith.constant 0 : i8
          %24 = arith.cmpi ne, %23, %c0_i8_0 : i8
          %c4_i64 = arith.constant 4 : i64
          %25 = func.call @kiln_rt_append(%arg0, %c4_i64) : (!llvm.ptr, i64) -> !llvm.ptr
          %26 = arith.extui %14 : i1 to i8
          llvm.store %26, %25 : i8, !llvm.ptr
          %27 = llvm.getelementptr %25[8] : (!llvm.ptr) -> !llvm.ptr, i8
          llvm.store %12, %27 : i32, !llvm.ptr
          %28 = arith.extui %24 : i1 to i8
          %29 = llvm.getelementptr %25[1] : (!llvm.ptr) -> !llvm.ptr, i8
          llvm.store %28, %29 : i8, !llvm.ptr
          %30 = llvm.getelementptr %25[16] : (!llvm.ptr) -> !llvm.ptr, i8
          llvm.store %21, %30 : f64, !llvm.ptr
        }
      }
      scf.yield
    }
    %true = arith.constant true
    return %true : i1
  }
  func.func private @kiln_rt_str_eq(i64, i64, i64, i64) -> i32
}
