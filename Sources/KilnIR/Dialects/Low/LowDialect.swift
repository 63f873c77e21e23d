/// The low-level dialect `kiln_low`: what upstream `arith`/`scf`/`llvm`/`func` cannot say
/// directly. Everything here uses LLVM-compatible types (`iN`, `fN`, `!llvm.ptr`); strings and
/// decimals are `i128`. Runtime calls are plain `func.call`s to `kiln_rt_*` functions.
public enum LowDialect {
    public static let name = "kiln_low"
    public static let irdl = """
    irdl.dialect @kiln_low {
      irdl.operation @checked {
        %i16 = irdl.is i16
        %i32 = irdl.is i32
        %i64 = irdl.is i64
        %i128 = irdl.is i128
        %t = irdl.any_of(%i16, %i32, %i64, %i128)
        %o = irdl.is i1
        irdl.operands(lhs: %t, rhs: %t)
        irdl.results(value: %t, overflow: %o)
      }
      irdl.operation @raise {
        %p = irdl.is !llvm.ptr
        %f = irdl.is i1
        irdl.operands(ctx: %p, failed: %f)
        irdl.results()
      }
      irdl.operation @str_eq {
        %s = irdl.is i128
        %b = irdl.is i1
        irdl.operands(lhs: %s, rhs: %s)
        irdl.results(equal: %b)
      }
      irdl.operation @str_hash {
        %s = irdl.is i128
        %h = irdl.is i64
        irdl.operands(value: %s)
        irdl.results(hash: %h)
      }
      irdl.operation @str_cmp {
        %s = irdl.is i128
        %r = irdl.is i32
        irdl.operands(lhs: %s, rhs: %s)
        irdl.results(order: %r)
      }
      irdl.operation @hash {
        %a = irdl.any
        %h = irdl.is i64
        irdl.operands(value: %a)
        irdl.results(hash: %h)
      }
    }
    """
}

/// The three dialects, in load order.
public enum KilnDialects {
    public static let all: [(name: String, irdl: String)] = [
        (HighDialect.name, HighDialect.irdl), (MidDialect.name, MidDialect.irdl), (LowDialect.name, LowDialect.irdl),
    ]
}
