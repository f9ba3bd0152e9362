/// Two threads give a product the bits of one, whichever way they split it: C's rows with the packed B blocks shared,
/// C's columns with the packed A blocks shared, a weight's columns kept by one thread (read in place in panels, or a
/// weight gradient written in panels); bias and activation epilogues, several passes over k and several A blocks.
module Nn.Tests.Runtime.Kernels.GemmThreadsTests

open System
open Expecto
open Nn.Runtime.Kernels

let private randomArray (rng: Random) n = Array.init n (fun _ -> float32 (rng.NextDouble() * 2.0 - 1.0))

/// C = act(alpha·op(A)·op(B) + beta·C + bias) on `threads` threads, B and C in panels as asked.
let private product ta tb m n k bPanels cPanels (bias: bool) act threads =
    let rng = Random(m * 131 + n * 17 + k)
    let a = randomArray rng (m * k)
    let bRows, bCols = (if tb then n, k else k, n)
    let b = randomArray rng (bRows * bCols)
    let bStored =
        if bPanels then
            let s = Array.zeroCreate b.Length
            GemmPanels.FromRowMajor(ReadOnlySpan b, bRows, bCols, Span s)
            s
        else b
    let c = randomArray rng (m * n)
    let bv = if bias then randomArray rng n else [||]
    let beta = if bias then 0f else 0.5f
    Gemm.Multiply(ta, tb, m, n, k, 1.5f, ReadOnlySpan a, (if ta then m else k), ReadOnlySpan bStored, bCols, bPanels,
                  beta, Span c, n, cPanels, ReadOnlySpan bv, act, threads)
    c

let private expectSameBits what (one: float32[]) (two: float32[]) =
    for i in 0 .. one.Length - 1 do
        if BitConverter.SingleToInt32Bits one[i] <> BitConverter.SingleToInt32Bits two[i] then
            failtestf "%s: C[%d] 1 thread %.9g, 2 threads %.9g" what i one[i] two[i]

/// The splits before this change (rows or columns by cost alone, each part packing all of A) and after; packed A
/// blocks shared however small (as before GemmJob.SharedABlockMultiplyAdds), so the small products share them too.
let private variants =
    [ "default", false, false, false; "weight columns off", true, false, false; "shared A off", false, true, false
      "both off", true, true, false; "small A blocks shared", false, false, true ]

let private cases =
    [ // (name, transA, transB, m, n, k, B in panels, C in panels, bias and relu)
      "784-256-10 forward: 64x256x784, weight in place, bias, relu", false, false, 64, 256, 784, true, false, true
      "its weight gradient: 784x256x64 into panels", true, false, 784, 256, 64, false, true, false
      "deep forward: 256x1024x1024, weight in place (2 passes, 2 A blocks)", false, false, 256, 1024, 1024, true,
      false, true
      "deep input gradient: 256x1024x1024, weight transposed", false, true, 256, 1024, 1024, true, false, false
      "deep weight gradient: 1024x1024x256 into panels", true, false, 1024, 1024, 256, false, true, false
      "row-major 300x96x1200 (3 passes)", false, false, 300, 96, 1200, false, false, false
      "row-major transposed A, 1000x64x300, edge rows", true, false, 1000, 64, 300, false, false, false
      "short and wide 40x2048x200, bias, relu", false, false, 40, 2048, 200, false, false, true ]

/// A narrow product (n ≤ 16) as row vectors, on `threads` threads.
let private rowVectors ta tb m n k (bias: bool) threads =
    let rng = Random(m * 7 + n * 5 + k)
    let a = randomArray rng (m * k)
    let b = randomArray rng (k * n)
    let c = Array.create (m * n) nanf
    let bv = if bias then randomArray rng n else [||]
    let act = if bias then Activation.Relu else Activation.Identity
    GemmNarrow.RowVectors(ta, tb, m, n, k, ReadOnlySpan a, (if ta then m else k), ReadOnlySpan b, (if tb then k else n),
                          Span c, ReadOnlySpan bv, act, Array.zeroCreate (k * 16), threads)
    c

[<Tests>]
let tests =
    testSequenced <| testList "Runtime.Kernels.GemmThreads" [
        testList "two threads give the bits of one" [
            for (name, ta, tb, m, n, k, bp, cp, bias) in cases ->
                test name {
                    let act = if bias then Activation.Relu else Activation.Identity
                    let one = product ta tb m n k bp cp bias act 1
                    for (variant, columnsOff, sharedOff, smallShared) in variants do
                        GemmJob.WeightColumnsOff <- columnsOff
                        GemmJob.SharedAOff <- sharedOff
                        GemmJob.SharedASmallBlocks <- smallShared
                        try expectSameBits variant one (product ta tb m n k bp cp bias act 2)
                        finally
                            GemmJob.WeightColumnsOff <- false
                            GemmJob.SharedAOff <- false
                            GemmJob.SharedASmallBlocks <- false
                }
        ]
        testList "narrow products as row vectors: two threads give the bits of one" [
            // (transA, transB, m, n, k, bias and relu): logits, a weight gradient xᵀ @ dy, edge rows
            for (ta, tb, m, n, k, bias) in
                [ false, false, 64, 10, 256, true; true, false, 256, 10, 64, false; true, false, 1024, 10, 256, false
                  false, true, 100, 7, 300, true; true, false, 200, 16, 90, true; false, false, 40, 3, 5000, false ] ->
                test (sprintf "%s%s %dx%dx%d" (if ta then "T" else "N") (if tb then "T" else "N") m n k) {
                    expectSameBits "row vectors" (rowVectors ta tb m n k bias 1) (rowVectors ta tb m n k bias 2) }
        ]
    ]
