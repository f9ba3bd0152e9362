/// Weights in panel layout: the layout's conversions, and products reading B or writing C in it against the same
/// products on row-major matrices (bit for bit: the same tiles, the same FMA order).
module Nn.Tests.Runtime.Kernels.GemmPanelsTests

open System
open Expecto
open FsCheck
open Nn.Runtime.Kernels

// (GemmTests.fs compiles after this file, so its helpers are not in scope.)
let private randomArray (rng: Random) n = Array.init n (fun _ -> float32 (rng.NextDouble() * 2.0 - 1.0))

let private expectSameBits (n: int) (whatA: string) (a: float32[]) (whatB: string) (b: float32[]) =
    for i in 0 .. a.Length - 1 do
        if BitConverter.SingleToInt32Bits a[i] <> BitConverter.SingleToInt32Bits b[i] then
            failtestf "C[%d,%d]: %s %g, %s %g" (i / n) (i % n) whatA a[i] whatB b[i]

/// op(A) @ op(B) (+ bias, activation), alpha/beta, once on row-major operands and once with B and/or C in panels.
let private expectPanelsEqual (ta: bool) (tb: bool) (m: int) (n: int) (k: int) (bPanels: bool) (cPanels: bool)
                              (bias: bool) (act: Activation) (threads: int) =
    let rng = Random(m * 131 + n * 17 + k)
    let a: float32[] = randomArray rng (m * k)
    let bRows, bCols = (if tb then n, k else k, n)
    let b: float32[] = randomArray rng (bRows * bCols)
    let c0: float32[] = randomArray rng (m * n)
    let bv: float32[] = if bias then randomArray rng n else [||]
    let alpha, beta = 1.5f, (if bias then 0f else 0.5f)
    let lda = if ta then m else k
    let plain = Array.copy c0
    Gemm.Multiply(ta, tb, m, n, k, alpha, ReadOnlySpan a, lda, ReadOnlySpan b, bCols, beta, Span plain, n,
                  ReadOnlySpan bv, act, threads)
    let toPanels (x: float32[]) rows cols =
        let s: float32[] = Array.zeroCreate x.Length
        GemmPanels.FromRowMajor(ReadOnlySpan x, rows, cols, Span s)
        s
    let bStored = if bPanels then toPanels b bRows bCols else b
    let cStored = if cPanels then toPanels c0 m n else Array.copy c0
    Gemm.Multiply(ta, tb, m, n, k, alpha, ReadOnlySpan a, lda, ReadOnlySpan bStored, bCols, bPanels, beta, Span cStored,
                  n, cPanels, ReadOnlySpan bv, act, threads)
    let got =
        if cPanels then
            let s: float32[] = Array.zeroCreate c0.Length
            GemmPanels.ToRowMajor(ReadOnlySpan cStored, m, n, Span s)
            s
        else cStored
    expectSameBits n "row-major" plain "panels" got

[<Tests>]
let tests =
    testList "Runtime.Kernels.GemmPanels" [
        test "row-major → panels → row-major is exact, and Offset addresses the panels" {
            let rng = Random 3
            for rows, cols in [ (1, 32); (17, 64); (784, 256) ] do
                let x: float32[] = randomArray rng (rows * cols)
                let p: float32[] = Array.zeroCreate x.Length
                GemmPanels.FromRowMajor(ReadOnlySpan x, rows, cols, Span p)
                for i in 0 .. rows - 1 do
                    for j in 0 .. cols - 1 do
                        Expect.equal p[int (GemmPanels.Offset(rows, i, j))] x[i * cols + j]
                            (sprintf "(%d, %d) of %dx%d" i j rows cols)
                let back: float32[] = Array.zeroCreate x.Length
                GemmPanels.ToRowMajor(ReadOnlySpan p, rows, cols, Span back)
                Expect.equal back x "round trip"
        }

        test "a matrix whose columns are not a multiple of 32 is refused" {
            Expect.throwsT<ArgumentException> (fun () ->
                GemmPanels.FromRowMajor(ReadOnlySpan(Array.zeroCreate<float32> 40), 2, 20,
                                        Span(Array.zeroCreate<float32> 40)))
                "20 columns"
            Expect.throwsT<ArgumentException> (fun () ->
                Gemm.Multiply(false, false, 2, 20, 2, 1f, ReadOnlySpan(Array.zeroCreate<float32> 4), 2,
                              ReadOnlySpan(Array.zeroCreate<float32> 40), 20, true, 0f,
                              Span(Array.zeroCreate<float32> 40), 20, false, ReadOnlySpan<float32>.Empty,
                              Activation.Identity, 1)) "B of 20 columns in panels"
        }

        testList "B in panels, read in place (untransposed) or packed from panels (transposed), equals row-major" [
            // k over 512 takes two passes (1031: the second starts at 520, off the 16-float blocks: element path);
            // m covers edge rows; 784 rows of a transposed B end in a 16-column micro-panel; two threads share B.
            for (m, n, k) in [ (256, 1024, 1024); (64, 256, 784); (57, 96, 1031); (13, 32, 33); (181, 64, 512) ] do
                for threads in [ 1; 2 ] do
                    test (sprintf "NN %dx%dx%d threads=%d" m n k threads) {
                        expectPanelsEqual false false m n k true false false Activation.Identity threads }
            for (m, n, k) in [ (256, 1024, 1024); (64, 784, 256); (57, 100, 1056); (13, 17, 64); (181, 40, 96) ] do
                for threads in [ 1; 2 ] do
                    test (sprintf "NT %dx%dx%d threads=%d" m n k threads) {
                        expectPanelsEqual false true m n k true false false Activation.Identity threads }
            test "NN with bias and relu in the epilogue" {
                expectPanelsEqual false false 70 256 300 true false true Activation.Relu 1 }
            // A kc×nc block over 1 MiB: the full tiles prefetch the next micro-panel (GemmDriver.NextPanelShare).
            test "NN streamed (B block over 1 MiB) with bias and relu in the epilogue" {
                expectPanelsEqual false false 256 1024 1024 true false true Activation.Relu 1 }
            test "TT (transposed A) with bias and tanh" {
                expectPanelsEqual true true 70 64 96 true false true Activation.Tanh 1 }
        ]

        testProperty "the tiles of a column share the next micro-panel's rows: each row once, in order, \
                      at most one per k step"
        <| fun (PositiveInt kc0) (PositiveInt tiles0) ->
            let kc, tiles = kc0 % 1100 + 1, tiles0 % 40 + 1
            let mutable expected = 0
            for t in 0 .. tiles - 1 do
                let mutable rows = 0
                let first = GemmDriver.NextPanelShare(kc, tiles, t, &rows)
                if rows > 0 then Expect.equal first expected (sprintf "tile %d starts where tile %d ended" t (t - 1))
                Expect.isLessThanOrEqual rows kc "one row per k step"
                expected <- expected + rows
            Expect.equal expected kc "every row of the panel"

        testList "C in panels (a weight gradient) equals row-major" [
            for (m, n, k) in [ (784, 256, 64); (1024, 1024, 256); (43, 96, 7); (1, 32, 5); (300, 64, 1200) ] do
                for threads in [ 1; 2 ] do
                    test (sprintf "TN %dx%dx%d threads=%d" m n k threads) {
                        expectPanelsEqual true false m n k false true false Activation.Identity threads }
            test "NN with bias and sigmoid, B and C both in panels" {
                expectPanelsEqual false false 90 128 200 true true true Activation.Sigmoid 2 }
            test "k = 0: beta scales C in panels" {
                expectPanelsEqual true false 40 64 0 false true false Activation.Identity 1 }
        ]

        testSequenced <| testList "panels with the 16- and 8-wide micro-kernels (packed from panels)" [
            for isa in [ GemmIsa.Avx2; GemmIsa.Scalar ] do
                test (sprintf "%A" isa) {
                    let saved = Gemm.Isa
                    Gemm.Isa <- isa
                    try
                        expectPanelsEqual false false 37 96 70 true true false Activation.Identity 1
                        expectPanelsEqual false true 37 50 64 true false false Activation.Identity 1
                        expectPanelsEqual true false 64 64 37 false true false Activation.Identity 1
                    finally Gemm.Isa <- saved
                }
        ]
    ]
