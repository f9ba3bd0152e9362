/// One-row products (a forward at batch 1) as matrix-vector products (GemmVector): against a float64 naive product,
/// and bit for bit against the packed path they replace (GemmVector.Off), for odd sizes, both layouts of B, passes
/// over k, alpha/beta, padding and the epilogue; GemmNarrow.RowVectors' one row against its padded-rows form.
module Nn.Tests.Runtime.Kernels.GemmVectorTests

open System
open Expecto
open Nn.Runtime.Kernels

let private randomArray (rng: Random) n = Array.init n (fun _ -> float32 (rng.NextDouble() * 2.0 - 1.0))

let private sameBits (what: string) (expected: float32[]) (actual: float32[]) =
    for i in 0 .. expected.Length - 1 do
        if BitConverter.SingleToInt32Bits expected[i] <> BitConverter.SingleToInt32Bits actual[i] then
            failtestf "%s: element %d is %g, the packed path gave %g" what i actual[i] expected[i]

/// Runs op(A) (1×k) @ B (k×n, row-major with row stride n + padB, or in panels) on the one-row path or (off) the
/// packed path: C is one row of n floats followed by padC floats that must be left alone.
let private product (off: bool) (ta: bool) (n: int) (k: int) (padB: int) (panels: bool) (alpha: float32)
                    (beta: float32) (bias: bool) (act: Activation) (seed: int) =
    let rng = Random seed
    let lda = if ta then 3 else k // a transposed A: k rows of 3, op(A)'s row is A's first column
    let a = randomArray rng (if ta then k * lda else k)
    let ldb = n + padB
    let b = randomArray rng (k * ldb)
    let stored =
        if panels then
            let s: float32[] = Array.zeroCreate (k * n)
            GemmPanels.FromRowMajor(ReadOnlySpan b, k, n, Span s)
            s
        else b
    let c0 = randomArray rng (n + 5)
    if beta = 0f then for j in 0 .. n - 1 do if j % 3 = 0 then c0[j] <- nanf // beta = 0 must not read C
    let bv = if bias then randomArray rng n else [||]
    let c = Array.copy c0
    GemmVector.Off <- off
    try
        Gemm.Multiply(ta, false, 1, n, k, alpha, ReadOnlySpan a, lda, ReadOnlySpan stored, ldb, panels, beta,
                      Span c, n, false, ReadOnlySpan bv, act, 1)
    finally GemmVector.Off <- false
    let getA q = float (if ta then a[q * lda] else a[q])
    let expected =
        Array.init n (fun j ->
            let mutable s = 0.0
            for q in 0 .. k - 1 do s <- s + getA q * float b[q * ldb + j]
            let v = float alpha * s + (if beta = 0f then 0.0 else float beta * float c0[j])
            let v = if bias then v + float bv[j] else v
            match act with
            | Activation.Relu -> max v 0.0
            | Activation.Tanh -> tanh v
            | Activation.Sigmoid -> 1.0 / (1.0 + exp -v)
            | _ -> v)
    c, c0, expected

/// Float32 accumulation bound: (k + 4)·eps32 times Σ|terms| and the other terms.
let private tolerance (k: int) (scale: float) = float (k + 4) * 1.2e-7 * scale

let private shapes =
    [ for n in [ 17; 31; 33; 100; 120; 127; 128; 129; 200; 257; 300 ] do
          for k in [ 1; 3; 84; 513; 784 ] -> false, n, k ]
    @ [ for n in [ 32; 64; 96; 128; 160; 224; 256; 512 ] do
            for k in [ 1; 5; 392; 520; 1100 ] -> true, n, k ]

[<Tests>]
let tests =
    testList "Runtime.Kernels.GemmVector" [
        test "one row equals a float64 naive product, and padding after C is left alone" {
            for (panels, n, k) in shapes do
                for (ta, alpha, beta, bias, act) in
                    [ false, 1f, 0f, false, Activation.Identity; true, -0.5f, 0.25f, false, Activation.Identity
                      false, 1f, 0f, true, Activation.Relu; false, 2f, 1f, true, Activation.Tanh ] do
                    let padB = if panels then 0 else 3
                    let c, c0, expected = product false ta n k padB panels alpha beta bias act (n * 31 + k)
                    for j in 0 .. n - 1 do
                        let d = abs (float c[j] - expected[j])
                        if not (d <= tolerance k (float (abs alpha) * float k + 2.0)) then
                            failtestf "n %d k %d panels %b ta %b: C[%d] = %g, expected %g" n k panels ta j c[j]
                                expected[j]
                    for j in n .. c.Length - 1 do
                        Expect.equal c[j] c0[j] (sprintf "n %d k %d: the float after C at %d was written" n k j)
        }
        // alpha = 1, as the engine's products: the packed path's partial-width tiles round alpha·s before adding
        test "one row with alpha 1 gives the bits of the packed path (the same FMA chains, passes, epilogue)" {
            for (panels, n, k) in shapes do
                for (ta, alpha, beta, bias, act) in
                    [ false, 1f, 0f, true, Activation.Relu; true, 1f, 0.5f, false, Activation.Identity
                      false, 1f, 0f, true, Activation.Sigmoid ] do
                    let vector, _, _ = product false ta n k 0 panels alpha beta bias act (n + k)
                    let packed, _, _ = product true ta n k 0 panels alpha beta bias act (n + k)
                    sameBits (sprintf "n %d k %d panels %b ta %b" n k panels ta) packed vector
        }
        test "a tiny product's row, product then add, gives the bits of the plain loop" {
            if not System.Runtime.Intrinsics.X86.Avx512F.IsSupported then skiptest "no AVX-512 here"
            for n in [ 1; 5; 10; 16; 17; 33; 84; 120; 130 ] do
                for k in [ 0; 1; 7; 84; 120 ] do
                    let rng = Random(n * 13 + k)
                    let ldb = n + 2
                    let a = randomArray rng k
                    let b = randomArray rng (max 0 (k * ldb))
                    // the engine's loop for products of at most 4,096 multiply-adds (GemmKernels.Direct)
                    let expected =
                        Array.init n (fun j ->
                            let mutable s = 0f
                            for q in 0 .. k - 1 do s <- s + a[q] * b[q * ldb + j]
                            s)
                    let c = Array.create (n + 2) 9f
                    let ran = GemmVector.RowSeparate(ReadOnlySpan a, ReadOnlySpan b, ldb, k, n, Span(c, 0, n))
                    Expect.isTrue ran "the row ran (AVX-512)"
                    sameBits (sprintf "n %d k %d" n k) expected c[.. n - 1]
                    Expect.sequenceEqual c[n..] [| 9f; 9f |] "the floats after the row are left alone"
        }
        test "a narrow product's one row gives the bits of its padded rows, without touching them" {
            for n in [ 1; 2; 7; 10; 15; 16 ] do
                for k in [ 1; 9; 84; 256 ] do
                    for bias in [ false; true ] do
                        let rng = Random(n * 7 + k)
                        let a = randomArray rng k
                        let b = randomArray rng (k * n)
                        let bv = if bias then randomArray rng n else [||]
                        let act = if bias then Activation.Relu else Activation.Identity
                        let run off =
                            let c = Array.create (n + 3) 7f
                            let rows = Array.create (k * 16) 5f
                            GemmVector.Off <- off
                            try
                                GemmNarrow.RowVectors(false, false, 1, n, k, ReadOnlySpan a, k, ReadOnlySpan b, n,
                                                      Span c, ReadOnlySpan bv, act, rows, 1)
                            finally GemmVector.Off <- false
                            c, rows
                        let padded, _ = run true
                        let direct, rows = run false
                        sameBits (sprintf "n %d k %d bias %b" n k bias) padded direct
                        Expect.isTrue (Array.forall ((=) 5f) rows) "the one-row form leaves the padded rows alone"
                        Expect.sequenceEqual direct[n..] [| 7f; 7f; 7f |] "the floats after C are left alone"
        }
    ]
