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
        test "column sums" {
            for (rows, cols) in shapes @ [ (0, 5); (40, 3) ] do
                let x = matrix (rows + cols * 11) rows cols 5.0
                let colSums = Array.zeroCreate cols
                Rows.ColumnSums(ReadOnlySpan x, cols, Span colSums)
                let expected =
                    [| for j in 0 .. cols - 1 -> Seq.sum (seq { for r in 0 .. rows - 1 -> float x[r * cols + j] }) |]
                expectClose "column sums" colSums expected (5.0 * float rows)
        }
    ]
