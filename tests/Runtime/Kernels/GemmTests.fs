module Nn.Tests.Runtime.Kernels.GemmTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Nn.Runtime.Kernels

/// One product to check: shapes (including 0, 1 and primes), extra leading-dimension padding,
/// transposes, scalars, thread count and the seed of its data.
type GemmCase =
    { TransA: bool; TransB: bool; M: int; N: int; K: int
      PadA: int; PadB: int; PadC: int
      Alpha: float32; Beta: float32; Threads: int; Seed: int }

/// Float32 accumulation error bound: each output may be off by (k + 2)·eps32 times Σ|terms|.
let gemmEpsPerTerm = 1.2e-7

/// Size-bounded generator: most dimensions are small edge values, some reach past the blocking sizes.
let genCase =
    Gen.sized (fun size ->
        let dim =
            Gen.oneof [ Gen.elements [ 0; 1; 2; 3; 5; 7; 13; 15; 16; 17; 31; 32; 33; 47 ]
                        Gen.choose (0, max 1 (min 300 (size * 3))) ]
        gen {
            let! ta = Gen.elements [ false; true ]
            let! tb = Gen.elements [ false; true ]
            let! m = dim
            let! n = dim
            let! k = dim
            let! pa = Gen.elements [ 0; 0; 1; 3 ]
            let! pb = Gen.elements [ 0; 0; 2; 5 ]
            let! pc = Gen.elements [ 0; 0; 1; 7 ]
            let! alpha = Gen.elements [ 1f; 1f; -0.5f; 2f; 0f ]
            let! beta = Gen.elements [ 0f; 0f; 1f; 0.25f; -1f ]
            let! threads = Gen.elements [ 1; 2 ]
            let! seed = Gen.choose (0, 1_000_000)
            return { TransA = ta; TransB = tb; M = m; N = n; K = k; PadA = pa; PadB = pb; PadC = pc
                     Alpha = alpha; Beta = beta; Threads = threads; Seed = seed }
        })

type GemmArbs =
    static member Case() = Arb.fromGen genCase

let config = { FsCheckConfig.defaultConfig with arbitrary = [ typeof<GemmArbs> ]; maxTest = 150; endSize = 100 }

let randomArray (rng: Random) n = Array.init n (fun _ -> float32 (rng.NextDouble() * 2.0 - 1.0))

/// Runs one case against a float64 reference; returns the worst violation ratio (≤ 1 passes) and a description.
let check (c: GemmCase) =
    let rng = Random(c.Seed)
    let aRows, aCols = (if c.TransA then c.K, c.M else c.M, c.K)
    let bRows, bCols = (if c.TransB then c.N, c.K else c.K, c.N)
    let lda, ldb, ldc = aCols + c.PadA, bCols + c.PadB, c.N + c.PadC
    let a = randomArray rng (max 0 (aRows * lda))
    let b = randomArray rng (max 0 (bRows * ldb))
    let c0 = randomArray rng (max 0 (c.M * ldc))
    if c.Beta = 0f then for i in 0 .. c0.Length - 1 do if i % 3 = 0 then c0[i] <- nanf // beta = 0 must not read C
    let out = Array.copy c0
    Gemm.Multiply(c.TransA, c.TransB, c.M, c.N, c.K, c.Alpha, ReadOnlySpan a, lda, ReadOnlySpan b, ldb, c.Beta,
                  Span out, ldc, c.Threads)
    let getA i p = float (if c.TransA then a[p * lda + i] else a[i * lda + p])
    let getB p j = float (if c.TransB then b[j * ldb + p] else b[p * ldb + j])
    let mutable worst = 0.0
    for i in 0 .. c.M - 1 do
        for j in 0 .. ldc - 1 do
            let got = float out[i * ldc + j]
            if j >= c.N then
                // Padding between rows must be left alone.
                if not (got.Equals(float c0[i * ldc + j])) then worst <- infinity
            else
                let mutable s = 0.0
                let mutable sAbs = 0.0
                for p in 0 .. c.K - 1 do
                    let t = getA i p * getB p j
                    s <- s + t
                    sAbs <- sAbs + abs t
                let cOld = if c.Beta = 0f then 0.0 else float c0[i * ldc + j]
                let expected = float c.Alpha * s + float c.Beta * cOld
                let bound =
                    float (c.K + 2) * gemmEpsPerTerm * (abs (float c.Alpha) * sAbs + abs (float c.Beta * cOld)) + 1e-30
                let ratio = if Double.IsFinite got then abs (got - expected) / bound else infinity
                worst <- max worst ratio
    worst

let expectClose (c: GemmCase) =
    let worst = check c
    Expect.isLessThanOrEqual worst 1.0 (sprintf "error / bound for %A" c)

let example ta tb m n k threads =
    { TransA = ta; TransB = tb; M = m; N = n; K = k; PadA = 1; PadB = 3; PadC = 2
      Alpha = 1.5f; Beta = 0.5f; Threads = threads; Seed = m * 7919 + n * 31 + k }

/// Two row-major results (n columns) of two paths that must agree bit for bit; the first difference is reported.
let expectSameBits (n: int) (whatA: string) (a: float32[]) (whatB: string) (b: float32[]) =
    for i in 0 .. a.Length - 1 do
        if BitConverter.SingleToInt32Bits a[i] <> BitConverter.SingleToInt32Bits b[i] then
            failtestf "C[%d,%d]: %s %g, %s %g" (i / n) (i % n) whatA a[i] whatB b[i]

/// Applies bias and activation in float64 to a reference product, for the fused epilogue.
let activate act (x: float) =
    match act with
    | Activation.Relu -> max x 0.0
    | Activation.Tanh -> tanh x
    | Activation.Sigmoid -> 1.0 / (1.0 + exp -x)
    | _ -> x

/// act(A·op(B) + bias + C) through the GEMM's fused epilogue (beta 1) against float64; op(B) = Bᵀ when tb.
let expectEpilogueClose (tb: bool) (m: int) (n: int) (k: int) (act: Activation) (threads: int) =
    let rng = Random(m + n + k)
    let a = randomArray rng (m * k)
    let b = randomArray rng (k * n)
    let bias = randomArray rng n
    let c0 = randomArray rng (m * n)
    let fused = Array.copy c0
    Gemm.Multiply(false, tb, m, n, k, 1f, ReadOnlySpan a, k, ReadOnlySpan b, (if tb then k else n), 1f, Span fused, n,
                  ReadOnlySpan bias, act, threads)
    for i in 0 .. m - 1 do
        for j in 0 .. n - 1 do
            let mutable s = float c0[i * n + j] + float bias[j]
            for p in 0 .. k - 1 do s <- s + float a[i * k + p] * float (if tb then b[j * k + p] else b[p * n + j])
            Expect.floatClose { absolute = 1e-5 * float (k + 2); relative = 1e-5 } (float fused[i * n + j])
                (activate act s) (sprintf "C[%d,%d]" i j)

[<Tests>]
let tests =
    testList "Runtime.Kernels.Gemm" [
        testPropertyWithConfig config "random shapes, transposes, strides, scalars, threads vs float64"
            (fun (c: GemmCase) -> check c <= 1.0)

        testList "across blocking boundaries (kc, mc, nc) and both threads" [
            for ta in [ false; true ] do
                for tb in [ false; true ] do
                    // Two threads share packed B and split rows when m ≥ 56 (the first five), else split columns;
                    // k > 512 takes two passes, n > 4096 two column blocks, and 55/56 rows sit on the switch.
                    for (m, n, k) in [ (181, 163, 269); (340, 67, 517); (120, 4133, 21); (57, 95, 1031); (56, 33, 70)
                                       (55, 70, 33); (29, 4111, 3) ] do
                        for threads in [ 1; 2 ] do
                            test (sprintf "ta=%b tb=%b %dx%dx%d threads=%d" ta tb m n k threads) {
                                expectClose (example ta tb m n k threads)
                            }
        ]

        testList "edge tiles: every remainder row count 1..13 and column remainder, both threads" [
            // m = 14·q + r hits each last-rows count r of the 14-row kernel (and, with two threads splitting rows,
            // of each band); n covers last panels of 1..16 columns (the half-width edge kernels, 16 written straight
            // into C), 17..31 (a full-width edge tile merged) and 32 (none), and a product 16 or fewer wide.
            for r in 1 .. 13 do
                for (n, ta, tb) in
                    [ (32 + 16, false, true); (64 + 5, true, false); (32 + 27, false, false); (13, true, true) ] do
                    for threads in [ 1; 2 ] do
                        let m = 56 + r
                        test (sprintf "m=%d n=%d ta=%b tb=%b threads=%d" m n ta tb threads) {
                            // ≥ 2²¹ flops when n ≥ 48, so two threads really split
                            expectClose (example ta tb m n (400 + r) threads)
                        }
            for n in [ 1; 7; 16; 17; 31; 32; 33; 48; 784 ] do
                for threads in [ 1; 2 ] do
                    test (sprintf "m=4 and m=64 n=%d threads=%d" n threads) {
                        expectClose (example false true 4 n 70 threads)
                        expectClose (example false false 64 n 300 threads)
                    }
        ]

        testSequenced <| testList "every micro-kernel instruction set" [
            for isa in [ GemmIsa.Avx512; GemmIsa.Avx2; GemmIsa.Scalar ] do
                test (sprintf "%A" isa) {
                    // a kernel this CPU cannot run is reported skipped, never passed
                    match isa with
                    | GemmIsa.Avx512 when not System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ->
                        skiptest "no AVX-512 here"
                    | GemmIsa.Avx2 when not System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ->
                        skiptest "no AVX2 here"
                    | _ -> ()
                    let saved = Gemm.Isa
                    Gemm.Isa <- isa
                    try
                        for (m, n, k) in [ (0, 3, 4); (1, 1, 1); (37, 41, 43); (90, 70, 300) ] do
                            for ta in [ false; true ] do
                                for tb in [ false; true ] do
                                    expectClose (example ta tb m n k 1)
                    finally Gemm.Isa <- saved
                }
        ]

        test "a two-thread product started from inside a pool part runs on that thread (no deadlock)" {
            let results = Array.zeroCreate<float> 2
            let work =
                { new IParallelWork with
                    member _.Execute(index, count) =
                        results[index] <- check (example false true (90 + index) 77 300 2) }
            WorkerPool.Shared.Run(work, 2)
            for r in results do Expect.isLessThanOrEqual r 1.0 "error / bound"
        }

        testSequenced <| test "two threads requested with the pool limited to one" {
            let pool = WorkerPool.Shared
            let saved = pool.MaxThreads
            pool.MaxThreads <- 1
            try expectClose (example true false 200 150 90 2)
            finally pool.MaxThreads <- saved
        }

        test "empty C with zero leading dimension (shrunk property case)" {
            expectClose { TransA = false; TransB = true; M = 17; N = 0; K = 13; PadA = 1; PadB = 0; PadC = 0
                          Alpha = -0.5f; Beta = 0f; Threads = 1; Seed = 276874 }
        }

        test "k = 0 scales C by beta" {
            let c = [| 1f; 2f; 3f; 4f |]
            Gemm.Multiply(false, false, 2, 2, 0, 1f, ReadOnlySpan [||], 1, ReadOnlySpan [||], 2, 0.5f, Span c, 2)
            Expect.equal c [| 0.5f; 1f; 1.5f; 2f |] "beta·C"
        }

        test "short buffer is refused" {
            Expect.throwsT<ArgumentException> (fun () ->
                Gemm.Multiply(false, false, 2, 2, 2, 1f, ReadOnlySpan(Array.zeroCreate 3), 2,
                              ReadOnlySpan(Array.zeroCreate 4), 2, 0f, Span(Array.zeroCreate 4), 2))
                "A is 2x2 but holds 3"
        }

        testList "shallow products (k ≤ 16, at least 512 columns) and narrow ones vs float64" [
            // The classifier layer's shapes and their edges: columns not a multiple of 16 or 128, depths 1..16, padded
            // strides, alpha/beta, every transpose, one and two threads; and the other side of the layer (n ≤ 16).
            for (m, n, k) in [ (256, 10, 1024); (7, 16, 257); (61, 3, 300); (1, 1, 256); (256, 1024, 10); (130, 700, 16)
                               (3, 512, 1); (129, 533, 7) ] do
                for ta in [ false; true ] do
                    for tb in [ false; true ] do
                        test (sprintf "%dx%dx%d ta=%b tb=%b" m n k ta tb) {
                            for (alpha, beta, threads) in [ (1f, 0f, 1); (-0.5f, 0.25f, 2) ] do
                                expectClose { example ta tb m n k threads with Alpha = alpha; Beta = beta }
                        }
            for act in [ Activation.Identity; Activation.Relu; Activation.Sigmoid ] do
                for (m, n, k, tb) in [ (37, 10, 512, false); (150, 530, 9, true) ] do
                    test (sprintf "with bias and %A, %dx%dx%d tb=%b, beta 1" act m n k tb) {
                        expectEpilogueClose tb m n k act 1 }
            // Both sum k ≤ 16 products in order with one fused multiply-add each, so they agree bit for bit: a check
            // that the row-by-row path runs (GemmNarrow.Off sends the product to the
            // packed tiles) and computes the same.
            for (m, n, k, ta, tb) in
                [ (256, 1024, 10, false, true); (130, 512, 16, false, false); (200, 640, 3, true, false) ] do
                for (alpha, beta) in [ (1f, 0f); (1.5f, 0.5f) ] do
                    test (sprintf "row by row = packed tiles, bit for bit: %dx%dx%d ta=%b tb=%b alpha=%g beta=%g"
                              m n k ta tb alpha beta) {
                        let rng = Random(m + n + k)
                        let a, b, c0 = randomArray rng (m * k), randomArray rng (k * n), randomArray rng (m * n)
                        let run off =
                            let c = Array.copy c0
                            GemmNarrow.Off <- off
                            try
                                Gemm.Multiply(ta, tb, m, n, k, alpha, ReadOnlySpan a, (if ta then m else k),
                                              ReadOnlySpan b, (if tb then k else n), beta, Span c, n)
                            finally GemmNarrow.Off <- false
                            c
                        expectSameBits n "packed" (run true) "row by row" (run false)
                    }
        ]

        testList "the epilogue in registers equals the epilogue on the stored tile, bit for bit" [
            // Full 14×32 tiles take the register epilogue on the last pass over k; edge tiles and other passes do not.
            // Shapes: one pass and three (k > 512), edge rows and columns, both transposes; beta 0 (C unread) and 0.5.
            for (m, n, k, ta, tb) in [ (70, 45, 33, false, false); (28, 64, 1030, true, false)
                                       (257, 100, 600, false, true); (15, 33, 7, true, true) ] do
                for act in [ Activation.Identity; Activation.Relu ] do
                    for withBias in [ true; false ] do
                        for beta in [ 0f; 0.5f ] do
                            test (sprintf "%dx%dx%d ta=%b tb=%b %A bias=%b beta=%g" m n k ta tb act withBias beta) {
                                let rng = Random(m * 31 + n + k)
                                let a = randomArray rng (m * k)
                                let b = randomArray rng (k * n)
                                let bias = if withBias then randomArray rng n else [||]
                                let c0 = randomArray rng (m * n)
                                let run off =
                                    let c = Array.copy c0
                                    GemmDriver.UseRegisterEpilogueOff <- off
                                    try
                                        Gemm.Multiply(ta, tb, m, n, k, 1.5f, ReadOnlySpan a, (if ta then m else k),
                                                      ReadOnlySpan b, (if tb then k else n), beta, Span c, n,
                                                      ReadOnlySpan bias, act, 1)
                                    finally GemmDriver.UseRegisterEpilogueOff <- false
                                    c
                                expectSameBits n "stored-tile epilogue" (run true) "register epilogue" (run false)
                            }
        ]

        testList "fused bias + activation epilogue" [
            for act in [ Activation.Identity; Activation.Relu; Activation.Tanh; Activation.Sigmoid ] do
                for (m, n, k, threads) in [ (5, 7, 3, 1); (70, 45, 33, 1); (150, 200, 100, 2) ] do
                    test (sprintf "%A %dx%dx%d threads=%d" act m n k threads) {
                        expectEpilogueClose false m n k act threads }
        ]
    ]
