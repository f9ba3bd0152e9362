/// InputScale (src/Runtime/Rewrite/InputScale.cs): an input's one division or multiplication by a constant taken out
/// of the graph and done where the rows are read; the predictions bit for bit those of the graph as written
/// (examples/mnist_mlp.nn on real digits), and the cases it must leave alone.
module Nn.Tests.Runtime.Rewrite.InputScaleTests

open System
open System.Collections.Generic
open System.IO
open Expecto
open Nn.Runtime
open Nn.Runtime.Data
open Nn.Runtime.IR
open Nn.Runtime.Engine
open Nn.Runtime.Rewrite
open Nn.Runtime.Training
open Nn.Compiler
open Nn.Tests.TestUtil

let private at = SourceSpan("r.nn", 5, 1, 5, 9)
let private examples = Path.Combine(repoRoot, "examples")

/// The graph with output `out` = make(b, x, w) for the Input x : [n, 3] and a Param w : [3].
let private graph (make: GraphBuilder -> Node -> Node -> Node) =
    let b = GraphBuilder()
    let x = b.Input("x", Shape(Dim.Sym "n", Dim.Of 3), at)
    let w = b.Param("w", Shape.Of 3, InitSpec.Zeros, at)
    b.Build([ KeyValuePair("out", make b x w) ])

let private bits (t: float32[]) = t |> Array.map BitConverter.SingleToInt32Bits

[<Tests>]
let tests =
    testList "Runtime.Rewrite.InputScale" [
        test "x / c, x · c and c · x are found: the graph fed x scaled, without that node" {
            let c (b: GraphBuilder) = b.Const(255.0, at)
            let plus (b: GraphBuilder) (y: Node) (w: Node) = b.Binary(OpKind.Add, y, w, at)
            let cases =
                [ "x / c", OpKind.Div, (fun (b: GraphBuilder) x w -> plus b (b.Binary(OpKind.Div, x, c b, at)) w)
                  "x · c", OpKind.Mul, (fun b x w -> plus b (b.Binary(OpKind.Mul, x, c b, at)) w)
                  "c · x", OpKind.Mul, (fun b x w -> plus b (b.Binary(OpKind.Mul, c b, x, at)) w) ]
            for name, op, make in cases do
                let g = graph make
                match InputScale.Find(g, "x") with
                | null -> failtestf "%s: not found" name
                | s ->
                    Expect.equal (s.Op, s.Value) (op, 255f) name
                    let out = s.Graph.Output "out"
                    Expect.equal out.Op OpKind.Add name
                    Expect.equal out.Inputs[0].Op OpKind.Input (name + ": the sum reads the input")
                    Expect.isFalse (s.Graph.Nodes |> Seq.exists (fun n -> n.Op = op || n.Op = OpKind.Const))
                        (name + ": the scaling and its constant are gone")
        }
        test "left alone: the input used twice, a divisor that is not a constant, c / x, an output, a wider shape" {
            let c (b: GraphBuilder) = b.Const(255.0, at)
            let cases =
                [ "x / c + x",
                  (fun (b: GraphBuilder) x _ -> b.Binary(OpKind.Add, b.Binary(OpKind.Div, x, c b, at), x, at))
                  "x / w", (fun b x w -> b.Binary(OpKind.Div, x, w, at))
                  "c / x", (fun b x _ -> b.Binary(OpKind.Div, c b, x, at))
                  "x · x", (fun b x _ -> b.Binary(OpKind.Mul, x, x, at))
                  "x + c", (fun b x _ -> b.Binary(OpKind.Add, x, c b, at))
                  "x / c the output", (fun b x _ -> b.Binary(OpKind.Div, x, c b, at))
                  "x / c of [2, n, 3]",
                  (fun b x _ -> b.Binary(OpKind.Div, x, b.Const(2.0, at, Shape(Dim.Of 2, Dim.Sym "n", Dim.Of 3)), at))
                  "x the output", (fun _ x _ -> x) ]
            for name, make in cases do
                Expect.isNull (InputScale.Find(graph make, "x")) name
            Expect.isNull (InputScale.Find(graph (fun b x _ -> b.Binary(OpKind.Div, x, c b, at)), "y")) "another input"
        }
        test "Apply is the fused loop's x / c and x · c, bit for bit, at every length" {
            let rng = Random 7
            for n in [ 0; 1; 15; 16; 17; 63; 64; 65; 1000 ] do
                let x = Array.init n (fun i ->
                    match i % 5 with
                    | 0 -> float32 (rng.Next 256)
                    | 1 -> -float32 (rng.NextDouble())
                    | 2 -> 1e-40f * float32 (rng.Next 10) // subnormal
                    | 3 -> -0f
                    | _ -> float32 (rng.NextDouble() * 1e30))
                for op, c in [ OpKind.Div, 255f; OpKind.Div, 0.1f; OpKind.Mul, 0.003921569f; OpKind.Div, 0f ] do
                    let y = Array.copy x
                    InputScale(op, c, null).Apply(y.AsSpan())
                    let want = x |> Array.map (fun v -> if op = OpKind.Div then v / c else v * c)
                    Expect.equal (bits y) (bits want) $"{op} {c}, {n} values"
        }
        test "mnist_mlp on real digits: the executor of the scaled graph fed x / 255 predicts the same bits" {
            let c =
                match Compile.compileFile (Path.Combine(examples, "mnist_mlp.nn")) with
                | Result.Ok c -> c
                | Result.Error ds -> failtestf "compile: %A" (ds |> List.map (fun d -> d.Message))
            let graphs = Export.graphsOf c c.Networks.Head
            let forward = graphs.Predict.Params |> Seq.map (fun n -> n.Name) |> Set.ofSeq
            let weights = Dictionary<string, HostTensor>()
            for KeyValue(k, v) in Initializers.ForGraph(graphs.Train, 42UL) do
                if forward.Contains k then weights[k] <- v
            let scale =
                match InputScale.Find(graphs.Predict, graphs.DataInputs[0].Name) with
                | null -> failtest "mnist_mlp's `image / 255.0` is not found"
                | s -> s
            Expect.equal scale.Graph.Nodes.Count (graphs.Predict.Nodes.Count - 2) "the division and its constant gone"
            let scaled =
                StepGraphs(graphs.Train, graphs.Eval, scale.Graph, graphs.Spec, graphs.DataInputs, graphs.FedTarget)
            let all = Idx.ReadImages(Path.Combine(examples, "data", "mnist10k-images-idx3-ubyte.gz"))
            for threads in [ 1; 2 ] do
                let options = ExecutorOptions(PredictOnly = true, Threads = threads)
                let plain = new FusedExecutor(graphs, weights, options) :> IStepExecutor
                let folded = new FusedExecutor(scaled, weights, options) :> IStepExecutor
                for rows in [ 256; 37 ] do
                    let x = HostTensor([| rows; 28; 28 |], all.Data[.. rows * 784 - 1])
                    let x' = HostTensor(x.Shape, Array.copy x.Data)
                    scale.Apply(x'.Data.AsSpan())
                    Expect.equal (bits (folded.Predict x').Data) (bits (plain.Predict x).Data)
                        $"{rows} rows, {threads} threads"
        }
    ]
