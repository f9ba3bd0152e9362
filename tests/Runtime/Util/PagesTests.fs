/// Arrays on a cache line (Pages.ZeroedAligned, UninitializedAligned): the buffers a step splits between threads.
/// Below the large object heap's size they start on a line; larger ones keep the runtime's offset, whole and zeroed.
module Nn.Tests.Runtime.Util.PagesTests

open Expecto
open Nn.Runtime.Util

[<Tests>]
let tests =
    testList "Runtime.Util.Pages" [
        test "zeroed and uninitialized arrays start on a 64-byte line below the large object size" {
            for count in [ 1L; 16L; 640L; 2560L; 16384L; 21249L; 200704L; 1000003L ] do
                let small = count * 4L < Pages.LargeObjectBytes
                let z = Pages.ZeroedAligned<float32> count
                Expect.equal z.LongLength count "zeroed: the length asked"
                if small then Expect.isTrue (Pages.LineAligned z) (sprintf "zeroed %d floats on a line" count)
                Expect.isTrue (Array.forall ((=) 0f) z) "zeroed: every element 0"
                let u = Pages.UninitializedAligned<float32> count
                Expect.equal u.LongLength count "uninitialized: the length asked"
                if small then Expect.isTrue (Pages.LineAligned u) (sprintf "uninitialized %d floats on a line" count)
        }
        test "a binding's slots in a row (a 784-256-10 step's sizes at batch 64): nearly all on a line, whole, zeroed" {
            // the layout is the runtime's: a try may land in a free space at another offset (the large arrays always
            // do, at their region's fixed offset); the mnist_mlp job binds 13 of 13 slots under 85 kB on a line
            let sizes = [ 640; 16384; 2560; 50176; 10; 1; 16384; 640; 256; 2560; 16384; 10 ]
            let mutable aligned = 0
            for i in 0 .. 59 do
                let count = sizes[i % sizes.Length]
                let a = Pages.ZeroedAligned<float32>(int64 count)
                if Pages.LineAligned a then aligned <- aligned + 1
                Expect.equal a.Length count "the length asked"
                Expect.isTrue (Array.forall ((=) 0f) a) "every element 0"
            Expect.isGreaterThanOrEqual aligned 54 "slots on a line (of 60)"
        }
    ]
