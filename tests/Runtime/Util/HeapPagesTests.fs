module Nn.Tests.Runtime.Util.HeapPagesTests

open Expecto
open Nn.Runtime.Util

// lines as /proc/self/maps writes them: the collector's reservation is contiguous anonymous pieces (committed rw-p,
// reserved ---p) between a file mapping and a named one
let private maps =
    [| "55c84ab00000-55c84ab80000 r--p 00000000 08:01 1234    /work/artifacts/nn/nn"
       "7fc68c000000-7fc68d000000 ---p 00000000 00:00 0 "
       "7fc68d000000-7fc693c00000 rw-p 00000000 00:00 0 "
       "7fc693c00000-7fc6a0000000 ---p 00000000 00:00 0"
       "7fc6a0000000-7fc6a0021000 rw-p 00000000 00:00 0          [stack:42]"
       "7fc6a1000000-7fc6a1200000 rw-p 00000000 00:00 0 "
       "7fc6a1200000-7fc6a1300000 r-xp 00000000 08:01 99       /usr/lib/libc.so.6" |]

[<Tests>]
let tests =
    testList "Runtime.Util.HeapPages" [
        test "the contiguous anonymous run around an address" {
            Expect.equal (HeapPages.AnonymousRunAround(maps, 0x7fc690000000L)) (0x7fc68c000000L, 0x7fc6a0000000L)
                "the heap's pieces, up to the named and the file mappings"
            Expect.equal (HeapPages.AnonymousRunAround(maps, 0x7fc68c000000L)) (0x7fc68c000000L, 0x7fc6a0000000L)
                "from its first byte"
            Expect.equal (HeapPages.AnonymousRunAround(maps, 0x7fc6a1000010L)) (0x7fc6a1000000L, 0x7fc6a1200000L)
                "not across a gap"
        }
        test "no run for a file, a named mapping or an unmapped address" {
            Expect.equal (HeapPages.AnonymousRunAround(maps, 0x55c84ab00010L)) (0L, 0L) "file"
            Expect.equal (HeapPages.AnonymousRunAround(maps, 0x7fc6a0000010L)) (0L, 0L) "[stack]"
            Expect.equal (HeapPages.AnonymousRunAround(maps, 0x10L)) (0L, 0L) "unmapped"
        }
        // only a hint: the process goes on the same whether or not the system takes it
        test "advising this process's heap does not fail" {
            HeapPages.AdviseHuge()
            let a = Array.init 1_000_000 float32
            Expect.equal a[999_999] 999_999f "the heap works as before"
        }
    ]
