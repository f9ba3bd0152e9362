/// The predict-only executor's products skip A's zero columns (GemmZeroColumns) only where B is a weight known finite:
/// examples/mnist_mlp.nn on real digits predicts the dense bits; a weight holding infinity runs dense (0·∞ = NaN kept),
/// also after a load replaces finite weights; the training step never skips.
module Nn.Tests.Runtime.Engine.Lowering.GemmKernelsTests

open System
open System.Collections.Generic
open System.IO
open Expecto
open Nn.Runtime
open Nn.Runtime.Data
open Nn.Runtime.Training
open Nn.Runtime.Engine
open Nn.Runtime.Kernels
open Nn.Compiler
open Nn.Tests.TestUtil

let private examples = Path.Combine(repoRoot, "examples")

/// mnist_mlp's step graphs (as `nn predict` builds them) and weights drawn by its initializers, forward ones only.
let private mnistMlp () =
    let c =
        match Compile.compileFile (Path.Combine(examples, "mnist_mlp.nn")) with
        | Result.Ok c -> c
        | Result.Error ds -> failtestf "compile: %A" (ds |> List.map (fun d -> d.Message))
    let graphs = Export.graphsOf c c.Networks.Head
    let init = Initializers.ForGraph(graphs.Train, 42UL)
    let forward = graphs.Predict.Params |> Seq.map (fun n -> n.Name) |> Set.ofSeq
    let weights = Dictionary<string, HostTensor>()
    for KeyValue(k, v) in init do if forward.Contains k then weights[k] <- v
    graphs, weights

/// The first `rows` digits of examples/data, [rows, 28, 28] pixel values.
let private digits rows =
    let all = Idx.ReadImages(Path.Combine(examples, "data", "mnist10k-images-idx3-ubyte.gz"))
    HostTensor([| rows; 28; 28 |], all.Data[.. rows * 784 - 1])

let private bits (t: HostTensor) = t.Data |> Array.map BitConverter.SingleToInt32Bits

/// The executor's predictions, and the same with every product dense on this thread (GemmDriver.ZeroColumnsOff).
let private skippedAndDense (exec: FusedExecutor) (x: HostTensor) =
    let skipped = (exec :> IStepExecutor).Predict x
    GemmDriver.ZeroColumnsOff <- true
    try skipped, (exec :> IStepExecutor).Predict x
    finally GemmDriver.ZeroColumnsOff <- false

[<Tests>]
let tests =
    testList "Runtime.Engine.Lowering.GemmKernels" [
        testSequenced <| testList "zero columns of A skipped by the predict-only executor" [
            test "mnist_mlp on 512 digits, batches of 256 and one of 37 rows, 1 and 2 threads: the dense bits" {
                let graphs, weights = mnistMlp ()
                let x = digits 512
                for threads in [ 1; 2 ] do
                    let options = ExecutorOptions(PredictOnly = true, Threads = threads)
                    let exec = new FusedExecutor(graphs, weights, options)
                    for batch in [ HostTensor([| 256; 28; 28 |], x.Data[.. 256 * 784 - 1])
                                   HostTensor([| 256; 28; 28 |], x.Data[256 * 784 ..])
                                   HostTensor([| 37; 28; 28 |], x.Data[.. 37 * 784 - 1]) ] do
                        let skipped, dense = skippedAndDense exec batch
                        Expect.equal (bits skipped) (bits dense) $"{batch.Rows} rows, {threads} threads"
                        Expect.isTrue (skipped.Data |> Array.forall Single.IsFinite) "finite"
            }
            test "a first-layer weight of infinity under a pixel that is always 0: dense, NaN as without skipping" {
                let graphs, weights = mnistMlp ()
                let exec = new FusedExecutor(graphs, weights, ExecutorOptions(PredictOnly = true))
                let x = digits 256
                Expect.isTrue (Seq.init 256 (fun r -> x.Data[r * 784]) |> Seq.forall ((=) 0f)) "pixel (0, 0) is 0"
                let finite, _ = skippedAndDense exec x
                Expect.isTrue (finite.Data |> Array.forall Single.IsFinite) "finite weights: finite predictions"
                // a load gives the weight a new array, checked again before the next product
                let w = weights["tower1.dense1.w"]
                let data = Array.copy w.Data
                data[3] <- infinityf // row 0 (pixel 0), column 3
                exec.Load(readOnlyDict [ "tower1.dense1.w", HostTensor(w.Shape, data) ])
                let skipped, dense = skippedAndDense exec x
                Expect.equal (bits skipped) (bits dense) "the dense product's bits"
                Expect.isTrue (skipped.Data |> Array.exists Single.IsNaN) "0·∞ = NaN reaches the predictions"
            }
            test "the full executor (training, evaluation and its predictions) never skips" {
                let graphs, _ = mnistMlp ()
                let init = Initializers.ForGraph(graphs.Train, 42UL)
                let w = init["tower1.dense1.w"]
                w.Data[3] <- infinityf
                let exec = new FusedExecutor(graphs, init, ExecutorOptions())
                let p = (exec :> IStepExecutor).Predict(digits 256)
                Expect.isTrue (p.Data |> Array.exists Single.IsNaN) "0·∞ = NaN reaches the predictions"
            }
        ]
    ]
