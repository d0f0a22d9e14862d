# gdb Python: single-step whole calls of a kernel function in a guest
# stopped by QEMU's gdbstub, and write the PC of every instruction executed.
#
#   (gdb) source step.py
#   (gdb) python step_calls("ib_uverbs_reg_mr", 3, "pcs.txt")
#
# Each call is stepped from its first instruction until it returns to its
# caller (the return address read at entry, with the stack pointer above the
# entry's); its PCs are followed by a line "END <instructions>". QEMU's
# gdbstub masks interrupts and timers while stepping, so a call is counted
# without the interrupts that land in it. Slow: ~1000-1500 instructions/s.
import gdb


def _reg(expr):
    return int(gdb.parse_and_eval(expr))


def step_calls(func, ncalls, out, limit=5000000):
    gdb.execute("set pagination off")
    bp = gdb.Breakpoint(func)
    with open(out, "w") as f:
        for _ in range(ncalls):
            gdb.execute("continue", to_string=True)
            sp0 = _reg("$sp")
            ret = _reg("*(unsigned long *)$sp")
            bp.enabled = False
            n = 0
            while n < limit:
                pc = _reg("$pc")
                if pc == ret and _reg("$sp") > sp0:
                    break
                f.write("%x\n" % pc)
                n += 1
                gdb.execute("stepi", to_string=True)
            f.write("END %d\n" % n)
            f.flush()
            bp.enabled = True
