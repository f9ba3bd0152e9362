/// `nn predict` runs the network in batches (src/Cli/Commands/Predict.fs, issue #18): every row's output is the one
/// the network gives that row, whatever batch it ran in, and the batches are of one size.
module Nn.Tests.Cli.Predict

open System.Collections.Generic
open Expecto
open Nn.Runtime.Data
open Nn.Runtime.Training
open Nn.Cli.Commands

/// A network of each row on its own: outputs [sum of the row; the row's first value × 2], recording the batch sizes
/// it was given.
type private RowWise() =
    member val Batches = ResizeArray<int>()
    interface IStepExecutor with
        member _.Load _ = ()
        member _.Snapshot() = Dictionary()
        member _.Step(_: IReadOnlyList<HostTensor>, _: HostTensor, _: float, _: int64, _: uint64) : BatchResult =
            failwith "not used"
        member _.Evaluate(_: IReadOnlyList<HostTensor>, _: HostTensor) : BatchResult = failwith "not used"
        member this.Predict(xs: IReadOnlyList<HostTensor>) =
            let x = xs[0]
            this.Batches.Add x.Rows
            let out = Array.zeroCreate (2 * x.Rows)
            for i in 0 .. x.Rows - 1 do
                let row = x.Row(i).ToArray()
                out[2 * i] <- Array.sum row
                out[2 * i + 1] <- 2f * row[0]
            HostTensor([| x.Rows; 2 |], out)

[<Tests>]
let tests =
    testList "Cli.Predict" [
        test "outputs in batches equal each row's own output, for row counts around the batch size" {
            let b = Predict.predictBatch
            for rows in [ 0; 1; b - 1; b; b + 1; 2 * b; 2 * b + 37 ] do
                // rows of [3, 2] items with values that tell rows apart
                let values = Array.init (rows * 6) (fun i -> float32 (i / 6) + 0.25f * float32 (i % 6))
                let x = HostTensor([| rows; 3; 2 |], values)
                let exec = RowWise()
                let out = Predict.predictInBatches exec [| x |]
                Expect.equal out.Shape [| rows; 2 |] (sprintf "%d rows: the shape" rows)
                for i in 0 .. rows - 1 do
                    // row i holds i + 0, i + 0.25, ..., i + 1.25: sum 6i + 3.75, first value i
                    Expect.equal (out.Row(i).ToArray()) [| 6f * float32 i + 3.75f; 2f * float32 i |]
                        (sprintf "%d rows: row %d" rows i)
                let expected = if rows <= b then [ rows ] else List.replicate ((rows + b - 1) / b) b
                Expect.equal (List.ofSeq exec.Batches) expected (sprintf "%d rows: the batches run" rows)
        }
    ]
