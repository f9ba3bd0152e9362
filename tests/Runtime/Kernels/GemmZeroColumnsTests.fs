/// Skipping A's zero columns (GemmZeroColumns): the product bit for bit the dense one when B is finite, on random
/// zero patterns, shapes off the 14/32/kc grid, beta 0 and 1, every epilogue, one and two threads.
module Nn.Tests.Runtime.Kernels.GemmZeroColumnsTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Nn.Runtime.Kernels

/// One product: op(A) m×k with whole zero columns (probability ZeroColumn) and single zeros (ZeroValue, either sign),
/// B k×n finite (in panel layout when n is a multiple of 32 and Panels), an epilogue, beta 0 or 1.
type ZeroColumnsCase =
    { M: int; N: int; K: int; TransA: bool; Panels: bool; ZeroColumn: float; ZeroValue: float; Beta: float32
      Alpha: float32; Bias: bool; Activation: Activation; Threads: int; Seed: int }

let private genCase =
    gen {
        // 14-row panels and 32-column tiles with edges; k past one pass (kc ≤ 512) and across two or three
        let! m = Gen.oneof [ Gen.elements [ 1; 13; 14; 15; 28; 41; 256 ]; Gen.choose (1, 120) ]
        let! n = Gen.oneof [ Gen.elements [ 16; 31; 32; 33; 64; 96; 100 ]; Gen.choose (1, 130) ]
        let! k = Gen.oneof [ Gen.elements [ 1; 8; 14; 511; 512; 513; 784; 1100 ]; Gen.choose (1, 200) ]
        let! ta = Gen.elements [ false; true ]
        let! panels = Gen.elements [ false; true ]
        // 1.0: every panel all zero; 0.0 with no single zeros: no zero anywhere
        let! zc = Gen.elements [ 0.0; 0.3; 0.6; 0.8; 0.95; 1.0 ]
        let! zv = Gen.elements [ 0.0; 0.5; 0.8 ]
        let! beta = Gen.elements [ 0f; 1f ]
        let! alpha = Gen.elements [ 1f; 1f; -0.5f ]
        let! bias = Gen.elements [ false; true ]
        let! act = Gen.elements [ Activation.Identity; Activation.Relu; Activation.Tanh ]
        let! threads = Gen.elements [ 1; 2 ]
        let! seed = Gen.choose (0, 1_000_000)
        return { M = m; N = n; K = k; TransA = ta; Panels = panels && n % 32 = 0; ZeroColumn = zc; ZeroValue = zv
                 Beta = beta; Alpha = alpha; Bias = bias; Activation = act; Threads = threads; Seed = seed }
    }

type ZeroColumnsArbs =
    static member Case() = Arb.fromGen genCase

let private config =
    { FsCheckConfig.defaultConfig with arbitrary = [ typeof<ZeroColumnsArbs> ]; maxTest = 120; endSize = 100 }

/// op(A) as stored (k×m when transposed), with its zero columns and zeros.
let private matrixA (rng: Random) (c: ZeroColumnsCase) =
    let zeroColumn = Array.init c.K (fun _ -> rng.NextDouble() < c.ZeroColumn)
    let a = Array.zeroCreate<float32> (c.M * c.K)
    for i in 0 .. c.M - 1 do
        for q in 0 .. c.K - 1 do
            let v =
                if zeroColumn[q] || rng.NextDouble() < c.ZeroValue then (if rng.Next 2 = 0 then 0f else -0f)
                else float32 (rng.NextDouble() * 2.0 - 1.0)
            a[if c.TransA then q * c.M + i else i * c.K + q] <- v
    a

/// C after the product, skipping zero columns (the caller vouching that B is finite) or not.
let private product (c: ZeroColumnsCase) (a: float32[]) (b: float32[]) (c0: float32[]) (bias: float32[])
                    (skip: bool) =
    let out = Array.copy c0
    Gemm.Multiply(c.TransA, false, c.M, c.N, c.K, c.Alpha, ReadOnlySpan a, (if c.TransA then c.M else c.K),
                  ReadOnlySpan b, c.N, c.Panels, c.Beta, Span out, c.N, false, ReadOnlySpan bias, c.Activation,
                  c.Threads, Unchecked.defaultof<GemmUpdate.Tiles>, skip)
    out

let private bits (x: float32[]) = x |> Array.map BitConverter.SingleToInt32Bits

let private same (c: ZeroColumnsCase) =
    let rng = Random c.Seed
    let a = matrixA rng c
    let rowMajor = Array.init (c.K * c.N) (fun _ -> float32 (rng.NextDouble() * 2.0 - 1.0))
    let b =
        if c.Panels then
            let p = Array.zeroCreate<float32> rowMajor.Length
            GemmPanels.FromRowMajor(ReadOnlySpan rowMajor, c.K, c.N, Span p)
            p
        else rowMajor
    let c0 = Array.init (c.M * c.N) (fun i -> if c.Beta = 0f && i % 3 = 0 then nanf else float32 (rng.NextDouble()))
    let bias = if c.Bias then Array.init c.N (fun _ -> float32 (rng.NextDouble() - 0.5)) else [||]
    bits (product c a b c0 bias true) = bits (product c a b c0 bias false)

/// A k×n B whose row q is NaN, and an A (m×k) whose column q is zero: 0·NaN makes the dense product NaN everywhere.
let private nanRow m n k q =
    let a = Array.init (m * k) (fun i -> if i % k = q then 0f else 0.5f)
    let b = Array.init (k * n) (fun i -> if i / n = q then nanf else 0.25f)
    a, b

[<Tests>]
let tests =
    testList "Runtime.Kernels.GemmZeroColumns" [
        testPropertyWithConfig config "skipping A's zero columns gives the dense product's bits (B finite)"
            (fun (c: ZeroColumnsCase) -> same c)
        test "all-zero and zero-free panels, and a 14×32 tile on each side of the dense threshold" {
            let baseCase =
                { M = 56; N = 64; K = 300; TransA = false; Panels = true; ZeroColumn = 0.0; ZeroValue = 0.0
                  Beta = 1f; Alpha = 1f; Bias = true; Activation = Activation.Relu; Threads = 1; Seed = 3 }
            for zc in [ 0.0; 0.1; 0.2; 0.5; 1.0 ] do
                for beta in [ 0f; 1f ] do
                    Expect.isTrue (same { baseCase with ZeroColumn = zc; Beta = beta })
                        $"zero columns {zc}, beta {beta}"
        }
        test "two threads on nn predict's first product (256×784 by 784×512 in panels, sharing packed A blocks)" {
            let c = { M = 256; N = 512; K = 784; TransA = false; Panels = true; ZeroColumn = 0.5; ZeroValue = 0.5
                      Beta = 0f; Alpha = 1f; Bias = true; Activation = Activation.Relu; Threads = 2; Seed = 11 }
            for m in [ 256; 250 ] do Expect.isTrue (same { c with M = m }) $"{m} rows"
        }
        test "the skipping path runs: a NaN row of B under a zero column is lost when the caller says B is finite" {
            if not System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated then
                skiptest "the skipping kernel is AVX-512's"
            let m, n, k = 28, 64, 100
            let a, b = nanRow m n k 7
            let run skip =
                let c = Array.zeroCreate<float32> (m * n)
                Gemm.Multiply(false, false, m, n, k, 1f, ReadOnlySpan a, k, ReadOnlySpan b, n, false, 0f, Span c, n,
                              false, ReadOnlySpan<float32>.Empty, Activation.Identity, 1,
                              Unchecked.defaultof<GemmUpdate.Tiles>, skip)
                c
            Expect.isTrue (run false |> Array.forall Single.IsNaN) "dense: 0·NaN = NaN in every element"
            // 99 of 100 steps kept is above the dense threshold: a sparser A, every other column zero
            let sparseA = Array.init (m * k) (fun i -> if i % k = 7 || i % 2 = 1 then 0f else 0.5f)
            let c = Array.zeroCreate<float32> (m * n)
            Gemm.Multiply(false, false, m, n, k, 1f, ReadOnlySpan sparseA, k, ReadOnlySpan b, n, false, 0f, Span c,
                          n, false, ReadOnlySpan<float32>.Empty, Activation.Identity, 1,
                          Unchecked.defaultof<GemmUpdate.Tiles>, true)
            Expect.isTrue (c |> Array.forall Single.IsFinite) "skipped: the NaN row is never read"
            Expect.equal c[0] (0.5f * 0.25f * 50f) "the 50 nonzero steps, summed"
        }
        test "GemmDriver.ZeroColumnsOff runs the product densely on this thread" {
            let m, n, k = 28, 64, 100
            let a = Array.init (m * k) (fun i -> if i % k = 7 || i % 2 = 1 then 0f else 0.5f)
            let _, b = nanRow m n k 7
            let c = Array.zeroCreate<float32> (m * n)
            GemmDriver.ZeroColumnsOff <- true
            try
                Gemm.Multiply(false, false, m, n, k, 1f, ReadOnlySpan a, k, ReadOnlySpan b, n, false, 0f, Span c, n,
                              false, ReadOnlySpan<float32>.Empty, Activation.Identity, 1,
                              Unchecked.defaultof<GemmUpdate.Tiles>, true)
            finally GemmDriver.ZeroColumnsOff <- false
            Expect.isTrue (c |> Array.forall Single.IsNaN) "dense"
        }
    ]
