/// Products over column bands (GemmBands, the engine's ColumnBands): a C or B stored as two [rows, n/2] matrices
/// gives the bits of the product stored whole, on one thread, on two, and band by band alone; a narrow product reads
/// a banded A (its columns: each half of k summed on its own thread, then added, as the product sums k in halves
/// whenever k is two bands of 32; transposed: its rows of C) with the bits of A stored whole; shapes that do not split
/// into bands of whole panels are refused.
module Nn.Tests.Runtime.Kernels.GemmBandsTests

open System
open Expecto
open Nn.Runtime.Kernels

let private randomArray (rng: Random) n = Array.init n (fun _ -> float32 (rng.NextDouble() * 2.0 - 1.0))

/// A [rows, n] matrix as two bands, [2][rows][n/2].
let toBands rows n (m: float32[]) =
    let w = n / 2
    Array.init (rows * n) (fun i ->
        let band, r, j = i / (rows * w), i % (rows * w) / w, i % w
        m[r * n + band * w + j])

/// The row-major [rows, n] matrix of two bands.
let fromBands rows n (b: float32[]) =
    let w = n / 2
    Array.init (rows * n) (fun i ->
        let r, col = i / n, i % n
        b[(col / w) * rows * w + r * w + col % w])

let private sameBits = Nn.Tests.Runtime.Engine.StepNetworks.sameBits "whole" "banded"

/// C = act(op(A)·op(B) + bias) with B in panels when asked, stored whole; and with C (or B) banded on `threads`
/// threads, or band by band (`only` = 0 then 1).
let private product ta tb m n k bPanels bandC bandB (bias: bool) act (threads: int) (byBand: bool) =
    let rng = Random(m * 31 + n * 7 + k)
    let a = randomArray rng (m * k)
    let bRows, bCols = (if tb then n, k else k, n)
    let b = randomArray rng (bRows * bCols)
    let bStored =
        if bPanels then
            let s = Array.zeroCreate b.Length
            GemmPanels.FromRowMajor(ReadOnlySpan b, bRows, bCols, Span s)
            s
        else b
    let bv = if bias then randomArray rng n else [||]
    let whole = Array.zeroCreate (m * n)
    Gemm.Multiply(ta, tb, m, n, k, 1f, ReadOnlySpan a, (if ta then m else k), ReadOnlySpan bStored, bCols, bPanels,
                  0f, Span whole, n, false, ReadOnlySpan bv, act, 1)
    let w = n / 2
    let bIn = if bandB then toBands k n b else bStored
    let c = Array.create (m * n) nanf
    let bands = GemmBands(2, (if bandB then int64 (k * w) else 0L), (if bandC then int64 (m * w) else 0L))
    let run only =
        Gemm.Multiply(ta, tb, m, n, k, 1f, ReadOnlySpan a, (if ta then m else k), ReadOnlySpan bIn,
                      (if bandB then w else bCols), bPanels, 0f, Span c, (if bandC then w else n), false,
                      ReadOnlySpan bv, act, threads, Unchecked.defaultof<GemmUpdate.Tiles>, false, bands, only)
    if byBand then run 0; run 1 else run -1
    whole, (if bandC then fromBands m n c else c)

let private rowVectors ta m n k (bias: bool) threads only =
    let rng = Random(m * 3 + n * 5 + k)
    let a = randomArray rng (m * k)
    let b = randomArray rng (k * n)
    let bv = if bias then randomArray rng n else [||]
    let whole = Array.zeroCreate (m * n)
    GemmNarrow.RowVectors(ta, false, m, n, k, ReadOnlySpan a, (if ta then m else k), ReadOnlySpan b, n, Span whole,
                          ReadOnlySpan bv, Activation.Identity, Array.zeroCreate (k * 16), 1)
    // A banded by op(A)'s columns (k, not transposed) or by its rows (m: A's columns, transposed)
    let rows, cols = (if ta then k, m else m, k)
    let banded = toBands rows cols a
    let c = Array.create (m * n) nanf
    let bRows, halves = Array.zeroCreate (k * 16), Array.create (2 * GemmNarrow.HalfLength m) nanf
    let run part =
        GemmNarrow.RowVectors(ta, false, m, n, k, ReadOnlySpan banded, cols / 2, ReadOnlySpan b, n, Span c,
                              ReadOnlySpan bv, Activation.Identity, bRows, threads, 2, int64 (rows * cols / 2), part,
                              halves)
    // band by band: each band's part, then (not transposed) the halves added
    if only then
        run 0
        run 1
        if not ta then run 2
    else run -1
    whole, c

[<Tests>]
let tests =
    testList "Runtime.Kernels.GemmBands" [
        for threads, byBand in [ 1, false; 2, false; 1, true ] do
            let how = if byBand then "band by band" else sprintf "%d thread%s" threads (if threads = 1 then "" else "s")
            test (sprintf "C banded: 64x256x784, weight in panels, bias and relu, %s: the bits of C whole" how) {
                let whole, c = product false false 64 256 784 true true false true Activation.Relu threads byBand
                sameBits "C" whole c
            }
            test (sprintf "C banded: dY·Wᵀ 64x256x10 (B transposed), %s: the bits of C whole" how) {
                let whole, c = product false true 64 256 10 false true false false Activation.Identity threads byBand
                sameBits "C" whole c
            }
            test (sprintf "B banded: xᵀ·dZ 784x256x64, %s: the bits of B whole" how) {
                let whole, c = product true false 784 256 64 false false true false Activation.Identity threads byBand
                sameBits "C" whole c
            }
            test (sprintf "B and C banded: 96x128x300, bias, %s: the bits of both whole" how) {
                let whole, c = product false false 96 128 300 false true true true Activation.Identity threads byBand
                sameBits "C" whole c
            }
        for threads in [ 1; 2 ] do
            test (sprintf "a narrow product over a banded A's columns (64x10x256, bias), %d thread(s): same bits"
                      threads) {
                let whole, c = rowVectors false 64 10 256 true threads false
                sameBits "C" whole c
            }
            test (sprintf "a narrow product over a banded transposed A (256x10x64), %d thread(s): same bits" threads) {
                let whole, c = rowVectors true 256 10 64 false threads false
                sameBits "C" whole c
            }
        test "a narrow product over a banded transposed A, band by band: same bits" {
            let whole, c = rowVectors true 256 10 64 false 1 true
            sameBits "C" whole c
        }
        test "a narrow product over a banded A's columns, half by half then added: same bits" {
            let whole, c = rowVectors false 64 10 256 true 1 true
            sameBits "C" whole c
        }
        test "k in halves: one row (GemmVector.Row twice) gives the bits of the same row among others" {
            let rng = Random 11
            let k, n = 256, 10
            let a, b = randomArray rng (5 * k), randomArray rng (k * n)
            let all = Array.zeroCreate (5 * n)
            GemmNarrow.RowVectors(false, false, 5, n, k, ReadOnlySpan a, k, ReadOnlySpan b, n, Span all,
                                  ReadOnlySpan.Empty, Activation.Identity, Array.zeroCreate (k * 16), 1)
            for i in 0 .. 4 do
                let one = Array.zeroCreate n
                GemmNarrow.RowVectors(false, false, 1, n, k, ReadOnlySpan(a, i * k, k), k, ReadOnlySpan b, n,
                                      Span one, ReadOnlySpan.Empty, Activation.Identity, Array.zeroCreate (k * 16), 1)
                sameBits (sprintf "row %d" i) all[i * n .. i * n + n - 1] one
        }
        test "bands that are not whole panels, or a transposed banded B, are refused" {
            let a, b, c = Array.zeroCreate (64 * 64), Array.zeroCreate (64 * 96), Array.zeroCreate (64 * 96)
            Expect.throwsT<ArgumentException> (fun () ->
                Gemm.Multiply(false, false, 64, 96, 64, 1f, ReadOnlySpan a, 64, ReadOnlySpan b, 96, false, 0f,
                              Span c, 48, false, ReadOnlySpan.Empty, Activation.Identity, 1,
                              Unchecked.defaultof<GemmUpdate.Tiles>, false, GemmBands(2, 0L, 64L * 48L), -1))
                "96 columns: bands of 48"
            Expect.throwsT<ArgumentException> (fun () ->
                Gemm.Multiply(false, true, 64, 64, 64, 1f, ReadOnlySpan a, 64, ReadOnlySpan b, 32, false, 0f,
                              Span c, 64, false, ReadOnlySpan.Empty, Activation.Identity, 1,
                              Unchecked.defaultof<GemmUpdate.Tiles>, false, GemmBands(2, 64L * 32L, 0L), -1))
                "a transposed B in bands"
        }
    ]
