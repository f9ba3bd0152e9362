/// Non-temporal (streaming) stores: the kernels' streaming drivers against their ordinary-store drivers, bit for bit,
/// at every length across the vector widths and every misalignment of the destination within a 64-byte line; the
/// automatic choice above the threshold; and the fused engine's loop runner streaming its stores.
module Nn.Tests.Runtime.Kernels.StreamingTests

open System
open Expecto
open Nn.Runtime.IR
open Nn.Runtime.Kernels
open Nn.Runtime.Engine.Lowering

let private lengths = [ 0 .. 70 ] @ [ 127; 128; 129; 255; 256; 257; 1000 ]
let private sentinel = -12345.0f

let private data seed n =
    let rng = Random(seed: int)
    Array.init n (fun _ -> float32 (rng.NextDouble() * 6.0 - 3.0))

/// Runs `run` into the slice [offset, offset + n) of a guarded buffer with streaming and with ordinary stores.
/// Streamed results are the same bits at every offset (every element takes the vector form), and the same bits as
/// ordinary stores where those take the 16-lane form too (the first ⌊n/16⌋·16; the rest within `tail`, or exact
/// for correctly rounded operators); nothing outside the slice is written.
let private agree name (tail: float32) n (run: float32[] -> int -> bool -> unit) =
    let out offset (streaming: bool) =
        let d = Array.create (n + 40) sentinel
        run d offset streaming
        for i in Seq.append (seq { 0 .. offset - 1 }) (seq { offset + n .. d.Length - 1 }) do
            if d[i] <> sentinel then
                failtestf "%s n=%d offset=%d: wrote outside the destination at %d" name n offset (i - offset)
        d[offset .. offset + n - 1]
    let bits (v: float32) = BitConverter.SingleToInt32Bits v
    let first = out 0 true
    let ordinary = out 0 false
    for i in 0 .. n - 1 do
        let s, o = first[i], ordinary[i]
        let ok = if i < n / 16 * 16 then bits s = bits o else abs (s - o) <= tail * abs o
        if not ok then failtestf "%s n=%d: element %d is %g streamed, %g with ordinary stores" name n i s o
    for offset in 1 .. 16 do
        let s = out offset true
        for i in 0 .. n - 1 do
            if bits s[i] <> bits first[i] then
                failtestf "%s n=%d: element %d is %g at offset %d, %g at offset 0" name n i s[i] offset first[i]

let private everyCase name tail (run: int -> float32[] -> int -> bool -> unit) =
    test name {
        for n in lengths do agree name tail n (run n)
    }

/// The update chain m' = 0.9·m + g (stored, and read again), w' = w − lr·m' (stored and checked), as loop code over
/// slots w=0, m=1, g=2, m'=3, w'=4, lr=5.
let private chain () =
    let full i = Operand(Kind = Access.Full, Index = i)
    let reg i = Operand(Kind = Access.Register, Index = i)
    [| Instr(Op = OpKind.Mul, A = Operand(Kind = Access.Constant, Value = 0.9f), B = full 1, Dst = 0)
       Instr(Op = OpKind.Add, A = reg 0, B = full 2, Store = true, Dst = 3)
       Instr(Op = OpKind.Mul, A = Operand(Kind = Access.BufferScalar, Index = 5), B = full 3, Dst = 1)
       Instr(Op = OpKind.Sub, A = full 0, B = reg 1, Store = true, Check = true, Dst = 4)
       Instr(Op = OpKind.Tanh, A = full 4, Dst = 0)
       Instr(Op = OpKind.Add, A = reg 0, B = full 3, Store = true, Dst = 6) |]

/// The chain over n elements on `threads` threads, its stores streamed or not, split at one of `rows` rows (0: at a
/// tile).
let private runChainOf n threads (poison: bool) (stream: bool) rows =
    let w, m, g = data 1 n, data 2 n, data 3 n
    if poison && n > 0 then w[n / 2] <- nanf
    let slots = [| w; m; g; Array.create n sentinel; Array.create n sentinel; [| 0.01f |]; Array.create n sentinel |]
    let code = [| for i in chain () -> (let mutable c = i in c.Stream <- stream && c.Store; c) |]
    let runner = FusedLoopRunner(slots, code, [||], 2, n, threads, rows)
    runner.Run()
    slots, runner.SawNonFinite

let private runChain n threads poison = runChainOf n threads poison false 0

[<Tests>]
let tests =
    testList "Runtime.Kernels.Streaming" [
        everyCase "unary tanh" 3e-6f (fun n d at s ->
            let x = data n n
            Elementwise.Unary<TanhOp>(ReadOnlySpan x, Span(d, at, n), s))
        everyCase "binary x + y" 0f (fun n d at s ->
            let x, y = data n n, data (n + 7) n
            Elementwise.Binary<AddOp>(ReadOnlySpan x, ReadOnlySpan y, Span(d, at, n), s))
        everyCase "x · 0.5 (scalar second)" 0f (fun n d at s ->
            let x = data n n
            Elementwise.BinaryScalar<MulOp>(ReadOnlySpan x, 0.5f, Span(d, at, n), s))
        everyCase "1 − x (scalar first)" 0f (fun n d at s ->
            let x = data n n
            Elementwise.ScalarBinary<SubOp>(1f, ReadOnlySpan x, Span(d, at, n), s))
        everyCase "misaligned input too" 1e-6f (fun n d at s ->
            let x = data n (n + 5)
            Elementwise.Unary<ExpOp>(ReadOnlySpan(x, 5, n), Span(d, at, n), s))
        test "in place, streamed" {
            for n in lengths do
                for offset in [ 0; 1; 9; 15 ] do
                    let a = data n (n + offset)
                    let expected = a |> Array.map (fun v -> MathF.Sqrt(abs v))
                    Elementwise.Unary<AbsOp>(ReadOnlySpan(a, offset, n), Span(a, offset, n), true)
                    Elementwise.Unary<SqrtOp>(ReadOnlySpan(a, offset, n), Span(a, offset, n), true)
                    for i in offset .. offset + n - 1 do
                        if a[i] <> expected[i] then
                            failtestf "n=%d offset=%d: element %d is %g, expected %g" n offset i a[i] expected[i]
        }
        test "a call moving more than the threshold streams, exactly, to the last element" {
            let n = int (Elementwise.NonTemporalThreshold / 12L) + 4099
            let x, y = data 5 (n + 3), data 6 n
            let d = Array.create (n + 4) sentinel
            Elementwise.Binary<AddOp>(ReadOnlySpan(x, 3, n), ReadOnlySpan y, Span(d, 1, n))
            Expect.equal d[0] sentinel "the guard before"
            Expect.equal d[n + 1] sentinel "the guard after"
            for i in 0 .. n - 1 do
                if d[i + 1] <> x[i + 3] + y[i] then
                    failtestf "element %d is %g, expected %g" i d[i + 1] (x[i + 3] + y[i])
        }
        test "the fused loop runner's chain, tiles and threads included" {
            for n in [ 1; 15; 16; 17; 63; 64; 65; 255; 2047; 2048; 2049; 5000; 40000 ] do
                for threads in [ 1; 2 ] do
                    let s, bad = runChain n threads false
                    Expect.isFalse bad "finite values pass the check"
                    let w, m, g = data 1 n, data 2 n, data 3 n
                    for i in 0 .. n - 1 do
                        let m2 = 0.9f * m[i] + g[i]
                        let w2 = w[i] - 0.01f * m2
                        let out = MathF.Tanh w2 + m2
                        let gotM, gotW, gotOut = s[3][i], s[4][i], s[6][i]
                        if gotM <> m2 || gotW <> w2 || abs (gotOut - out) > 1e-5f then
                            failtestf "n=%d element %d: m'=%g w'=%g out=%g, expected %g %g %g"
                                n i gotM gotW gotOut m2 w2 out
        }
        test "a checked store of the fused loop runner sees a NaN" {
            let _, bad = runChain 3000 1 true
            Expect.isTrue bad "NaN seen"
            let _, streamedBad = runChainOf 40000 2 true true 100
            Expect.isTrue streamedBad "NaN seen in a streamed store"
        }
        test "the fused loop runner on two threads split at a row, its stores streamed: the bits of one thread" {
            // (rows, row length): the batch of digits, a last batch, a few long rows, one row (split at a tile)
            for rows, size in [ 64, 784; 37, 256; 3, 5000; 1, 40000; 2, 8191 ] do
                let n = rows * size
                let one, _ = runChain n 1 false
                for stream in [ false; true ] do
                    let two, bad = runChainOf n 2 false stream rows
                    Expect.isFalse bad "finite values pass the check"
                    for slot in [ 3; 4; 6 ] do
                        let a, b = one[slot], two[slot]
                        for i in 0 .. n - 1 do
                            if BitConverter.SingleToInt32Bits a[i] <> BitConverter.SingleToInt32Bits b[i] then
                                failtestf "%d rows of %d, streamed %b: slot %d element %d is %g, one thread %g"
                                    rows size stream slot i b[i] a[i]
        }
        test "a streaming copy: exact, at every misalignment and length, nothing outside written" {
            for n in lengths @ [ 4096; 4099 ] do
                let src = data n (n + 3)
                for offset in [ 0; 1; 5; 15; 16 ] do
                    let d = Array.create (n + 40) sentinel
                    Elementwise.CopyStreaming(ReadOnlySpan(src, 3, n), Span(d, offset, n))
                    Elementwise.StoreFence()
                    for i in 0 .. d.Length - 1 do
                        let expected = if i >= offset && i < offset + n then src[i - offset + 3] else sentinel
                        if BitConverter.SingleToInt32Bits d[i] <> BitConverter.SingleToInt32Bits expected then
                            failtestf "n=%d offset=%d: element %d is %g, expected %g" n offset i d[i] expected
        }
    ]
