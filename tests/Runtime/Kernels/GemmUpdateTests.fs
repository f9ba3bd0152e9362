/// The SGD update applied to a weight gradient's tiles: bit for bit the product followed by the update's own pass.
module Nn.Tests.Runtime.Kernels.GemmUpdateTests

open System
open Expecto
open Nn.Runtime.Kernels

let private randomArray (rng: Random) n = Array.init n (fun _ -> float32 (rng.NextDouble() * 2.0 - 1.0))

/// g = xᵀ @ dy (m×n in panels, k the batch), then m' = μm + g, w' = w − lr·m' (or w' = w − lr·g) elementwise in
/// float32: the streaming pass's operations.
let private separate (x: float32[]) (dy: float32[]) m n k (w: float32[]) (mom: float32[] option) (mu: float32)
                     (lr: float32) =
    let g = Array.zeroCreate<float32> (m * n)
    Gemm.Multiply(true, false, m, n, k, 1f, ReadOnlySpan x, m, ReadOnlySpan dy, n, false, 0f, Span g, n, true,
                  ReadOnlySpan<float32>.Empty, Activation.Identity, 1)
    match mom with
    | Some mm ->
        let nm = Array.init g.Length (fun i -> mu * mm[i] + g[i])
        Array.init g.Length (fun i -> w[i] - lr * nm[i]), Some nm
    | None -> Array.init g.Length (fun i -> w[i] - lr * g[i]), None

let private expectSame (what: string) (a: float32[]) (b: float32[]) =
    for i in 0 .. a.Length - 1 do
        if BitConverter.SingleToInt32Bits a[i] <> BitConverter.SingleToInt32Bits b[i] then
            failtestf "%s[%d]: in the product %g, apart %g" what i a[i] b[i]

let private check m n k (momentum: bool) threads =
    let rng = Random(m * 7 + n * 3 + k)
    let x, dy = randomArray rng (k * m), randomArray rng (k * n)
    let w, mom = randomArray rng (m * n), randomArray rng (m * n)
    let mu, lr = 0.9f, 0.05f
    let expectedW, expectedM = separate x dy m n k w (if momentum then Some mom else None) mu lr
    let newW, newM = Array.zeroCreate<float32> (m * n), Array.zeroCreate<float32> (m * n)
    let mutable bad = true
    let ran =
        GemmUpdate.TryMultiply(true, false, m, n, k, ReadOnlySpan x, m, ReadOnlySpan dy, n, false, ReadOnlySpan w,
                               (if momentum then ReadOnlySpan mom else ReadOnlySpan<float32>.Empty), mu, lr, Span newW,
                               (if momentum then Span newM else Span<float32>.Empty), threads, &bad)
    // the cases are sized for AVX-512's pass depth; a narrower kernel's shorter pass may need two passes over k
    if not ran && not System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated then
        skiptest "more than one pass over k with this CPU's micro-kernel"
    Expect.isTrue ran "one pass over k: the update runs inside the product"
    Expect.isFalse bad "all finite"
    expectSame "w'" newW expectedW
    match expectedM with Some e -> expectSame "m'" newM e | None -> ()

[<Tests>]
let tests =
    testList "Runtime.Kernels.GemmUpdate" [
        testList "equals the product and then the update, bit for bit" [
            // 784 = 56·14 rows (full tiles only), 1024 = 73·14 + 2 and 45 = 3·14 + 3 (edge rows updated from the
            // scratch tile), k from 1 to the whole pass (512); two threads split rows or columns.
            for (m, n, k) in [ (784, 256, 64); (1024, 64, 256); (45, 96, 1); (17, 32, 512); (200, 160, 33) ] do
                for momentum in [ true; false ] do
                    for threads in [ 1; 2 ] do
                        test (sprintf "%dx%dx%d momentum=%b threads=%d" m n k momentum threads) {
                            check m n k momentum threads }
        ]
        testSequenced <| test "with the 16- and 8-wide micro-kernels (every tile through the scratch tile)" {
            let saved = Gemm.Isa
            try
                for isa in [ GemmIsa.Avx2; GemmIsa.Scalar ] do
                    Gemm.Isa <- isa
                    check 45 96 70 true 1
            finally Gemm.Isa <- saved
        }
        test "more than one pass over k, or k = 0: nothing is done and false is returned" {
            let m, n = 20, 32
            let w = Array.create (m * n) 1f
            let newW = Array.create (m * n) 7f
            for k in [ 0; 1031 ] do
                let x, dy = Array.create (k * m) 1f, Array.create (k * n) 1f
                let mutable bad = false
                let ran =
                    GemmUpdate.TryMultiply(true, false, m, n, k, ReadOnlySpan x, m, ReadOnlySpan dy, n, false,
                                           ReadOnlySpan w, ReadOnlySpan<float32>.Empty, 0f, 0.1f, Span newW,
                                           Span<float32>.Empty, 1, &bad)
                Expect.isFalse ran (sprintf "k = %d" k)
                Expect.allEqual newW 7f "untouched"
        }
        test "a result that is not finite is reported (full and edge tiles)" {
            for row in [ 3; 29 ] do // row 29 of 30 is in the 2-row edge tile
                let m, n, k = 30, 64, 8
                let x = Array.create (k * m) 0.5f
                let dy = Array.create (k * n) 0.5f
                let w = Array.create (m * n) 1f
                w[int (GemmPanels.Offset(m, row, 40))] <- Single.PositiveInfinity
                let newW = Array.zeroCreate<float32> (m * n)
                let mutable bad = false
                GemmUpdate.TryMultiply(true, false, m, n, k, ReadOnlySpan x, m, ReadOnlySpan dy, n, false,
                                       ReadOnlySpan w, ReadOnlySpan<float32>.Empty, 0f, 0.1f, Span newW,
                                       Span<float32>.Empty, 1, &bad)
                |> ignore
                Expect.isTrue bad (sprintf "infinity in row %d" row)
        }
    ]
