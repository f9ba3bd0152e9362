module Nn.Tests.Runtime.Kernels.RowsTests

open System
open Expecto
open Nn.Runtime.Kernels

/// Row reductions in float32 against float64: a few ulp per step, relative to the row's magnitude.
let rowTol = 2e-6

let matrix seed rows cols scale =
    let rng = Random(seed)
    Array.init (rows * cols) (fun _ -> float32 (scale * (rng.NextDouble() * 2.0 - 1.0)))

let expectClose (name: string) (got: float32[]) (expected: float[]) (scale: float) =
    Expect.equal got.Length expected.Length (name + " length")
    for i in 0 .. got.Length - 1 do
        let err = abs (float got[i] - expected[i])
        if err > rowTol * (abs expected[i] + scale) then
            failtestf "%s: element %d is %.9g, expected %.9g" name i got[i] expected[i]

let shapes = [ for rows in [ 1; 3 ] do for cols in [ 1; 2; 7; 15; 16; 17; 33; 64; 70 ] do yield rows, cols ]

let softmaxRef (x: float32[]) cols =
    x |> Array.chunkBySize cols |> Array.collect (fun row ->
        let m = row |> Array.map float |> Array.max
        let e = row |> Array.map (fun v -> exp (float v - m))
        let s = Array.sum e
        e |> Array.map (fun v -> v / s))

[<Tests>]
let tests =
    testList "Runtime.Kernels.Rows" [
        test "softmax rows sum to one and match float64" {
            for (rows, cols) in shapes do
                let x = matrix (rows * 100 + cols) rows cols 10.0
                let y = Array.zeroCreate x.Length
                Rows.Softmax(ReadOnlySpan x, Span y, cols)
                expectClose (sprintf "softmax %dx%d" rows cols) y (softmaxRef x cols) 0.0
        }
        test "softmax is stable for large inputs" {
            let x = [| 1000f; 999f; -1000f; 88f; 1000f; 1001f |]
            let y = Array.zeroCreate 6
            Rows.Softmax(ReadOnlySpan x, Span y, 3)
            expectClose "softmax large" y (softmaxRef x 3) 0.0
        }
        test "logSoftmax matches float64, also for large inputs" {
            for (rows, cols) in shapes @ [ (2, 3) ] do
                let x =
                    if cols = 3 then [| 1000f; 999f; -1000f; 88f; 1000f; 1001f |] else matrix (cols + 7) rows cols 30.0
                let y = Array.zeroCreate x.Length
                Rows.LogSoftmax(ReadOnlySpan x, Span y, cols)
                let expected =
                    x |> Array.chunkBySize cols |> Array.collect (fun row ->
                        let m = row |> Array.map float |> Array.max
                        let lse = m + log (row |> Array.sumBy (fun v -> exp (float v - m)))
                        row |> Array.map (fun v -> float v - lse))
                expectClose (sprintf "logSoftmax %dx%d" rows cols) y expected 30.0
        }
        test "softmax and logSoftmax gradients match the Jacobian-vector product in float64" {
            for (rows, cols) in shapes do
                let x = matrix (cols * 3 + rows) rows cols 3.0
                let dy = matrix (cols * 5 + rows) rows cols 1.0
                let y = Array.zeroCreate x.Length
                let dx = Array.zeroCreate x.Length
                Rows.Softmax(ReadOnlySpan x, Span y, cols)
                Rows.SoftmaxGrad(ReadOnlySpan y, ReadOnlySpan dy, Span dx, cols)
                let s = softmaxRef x cols
                let expected =
                    Array.init x.Length (fun i ->
                        let r = i / cols
                        let dot = Seq.sum (seq { for j in 0 .. cols - 1 -> s[r * cols + j] * float dy[r * cols + j] })
                        s[i] * (float dy[i] - dot))
                expectClose (sprintf "softmax grad %dx%d" rows cols) dx expected 1.0
                let ly = Array.zeroCreate x.Length
                Rows.LogSoftmax(ReadOnlySpan x, Span ly, cols)
                Rows.LogSoftmaxGrad(ReadOnlySpan ly, ReadOnlySpan dy, Span dx, cols)
                let expectedLog =
                    Array.init x.Length (fun i ->
                        let r = i / cols
                        let sdy = Seq.sum (seq { for j in 0 .. cols - 1 -> float dy[r * cols + j] })
                        float dy[i] - s[i] * sdy)
                expectClose (sprintf "logSoftmax grad %dx%d" rows cols) dx expectedLog (float cols)
        }
        test "column sums, row sums, row max and argmax" {
            for (rows, cols) in shapes @ [ (0, 5); (40, 3) ] do
                let x = matrix (rows + cols * 11) rows cols 5.0
                let colSums = Array.zeroCreate cols
                Rows.ColumnSums(ReadOnlySpan x, cols, Span colSums)
                expectClose "column sums" colSums
                    [| for j in 0 .. cols - 1 -> Seq.sum (seq { for r in 0 .. rows - 1 -> float x[r * cols + j] }) |]
                    (5.0 * float rows)
                let rowSums = Array.zeroCreate rows
                Rows.RowSums(ReadOnlySpan x, cols, Span rowSums)
                expectClose "row sums" rowSums
                    [| for r in 0 .. rows - 1 -> Seq.sum (seq { for j in 0 .. cols - 1 -> float x[r * cols + j] }) |]
                    (5.0 * float cols)
                let mx = Array.zeroCreate rows
                let am = Array.zeroCreate rows
                Rows.RowMax(ReadOnlySpan x, cols, Span mx, Span am)
                for r in 0 .. rows - 1 do
                    let row = x[r * cols .. r * cols + cols - 1]
                    Expect.equal mx[r] (Array.max row) "max"
                    Expect.equal am[r] (Array.findIndex ((=) (Array.max row)) row) "argmax is the first maximum"
        }
        test "argmax takes the first of equal maxima" {
            let x = [| 1f; 5f; 5f; 2f |]
            let mx, am = Array.zeroCreate 1, Array.zeroCreate 1
            Rows.RowMax(ReadOnlySpan x, 4, Span mx, Span am)
            Expect.equal (mx[0], am[0]) (5f, 1) "first of two fives"
        }
    ]
