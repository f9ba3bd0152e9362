module Nn.Tests.Compiler.ExportTests

open System
open System.Collections.Generic
open System.IO
open Expecto
open Microsoft.ML.OnnxRuntime
open Microsoft.ML.OnnxRuntime.Tensors
open Nn.Runtime.Data
open Nn.Runtime.Training
open Nn.Compiler
open Nn.Tests.TestUtil

let private examples = Path.Combine(repoRoot, "examples")

/// The outputs of an ONNX model run in ONNX Runtime (one thread) on the named inputs.
let internal runOnnx (model: byte[]) (inputs: (string * HostTensor) list) : HostTensor =
    use options = new SessionOptions(IntraOpNumThreads = 1, InterOpNumThreads = 1)
    use session = new InferenceSession(model, options)
    let feeds =
        inputs
        |> List.map (fun (name, t) -> NamedOnnxValue.CreateFromTensor(name, DenseTensor<float32>(t.Data, t.Shape)))
    use results = session.Run(ResizeArray feeds)
    let out = (Seq.head results).AsTensor<float32>()
    HostTensor(out.Dimensions.ToArray(), Seq.toArray out)

/// The largest |a − b| / max(1, |b|) over two tensors of the same shape.
let internal maxRelative (a: HostTensor) (b: HostTensor) =
    Expect.sequenceEqual a.Shape b.Shape "shapes"
    Array.map2 (fun (x: float32) (y: float32) -> abs (float x - float y) / max 1.0 (abs (float y))) a.Data b.Data
    |> Array.fold max 0.0

/// Values for a network's parameters (its initializers) and states (random in [0.5, 1.5]: running variances,
/// standardize's std and mean; positive, so every division stays defined, and far from the states' initial values).
let private valuesFor (graphs: StepGraphs) (seed: int) =
    let values = Initializers.ForGraph(graphs.Train, uint64 seed)
    let rng = Random seed
    for s in graphs.Predict.States do
        let t = values[s.Name]
        for i in 0 .. t.Data.Length - 1 do t.Data[i] <- 0.5f + float32 (rng.NextDouble())
    values :> IReadOnlyDictionary<_, _>

/// Every (file, network) of examples/.
let private exampleNetworks =
    [ for f in Directory.GetFiles(examples, "*.nn") |> Array.sort do
          match Compile.compileFile f with
          | Result.Ok c -> for net in c.Networks -> Path.GetFileName f, net.Decl.Name
          | Result.Error ds -> failwithf "%s: %A" f (ds |> List.map (fun d -> d.Message)) ]

/// nn's fused forward (as `nn predict` runs it) and ONNX Runtime's on the exported model, on `rows` random rows.
let internal compareExample (file: string) (network: string) (rows: int) =
    let c = match Compile.compileFile (Path.Combine(examples, file)) with Result.Ok c -> c | _ -> failtest "compile"
    let net = c.Networks |> List.find (fun n -> n.Decl.Name = network)
    let graphs = Export.graphsOf c net
    let values = valuesFor graphs 11
    let model = Export.onnxOf net graphs values Export.defaultOpset
    let rng = Random(rows)
    let b = Nn.Runtime.IR.GraphBuilder()
    let fwd = Compile.forward net b false
    // an input that `gather` reads as ids (an embedding's) gets whole numbers below its table's rows
    let tableRows (input: Nn.Runtime.IR.Node) =
        b.Nodes |> Seq.tryPick (fun n ->
            if n.Op = Nn.Runtime.IR.OpKind.Gather && obj.ReferenceEquals(n.Inputs[1], input) then
                Some n.Inputs[0].Shape.Dims[0].Size
            else None)
    let inputs =
        fwd.Inputs
        |> List.map (fun (name, node) ->
            let shape = node.Shape.ToArray() |> Array.mapi (fun i d -> if i = 0 then rows else d.Size)
            let value () =
                match tableRows node with
                | Some v -> float32 (rng.Next v)
                | None -> float32 (rng.NextDouble() * 2.0 - 1.0)
            name, HostTensor(shape, Array.init (Array.fold (*) 1 shape) (fun _ -> value ())))
    let exec =
        Nn.Runtime.Executors.StepExecutor.Create(graphs, values, ExecutorOptions(Engine = "fused", Threads = 1))
    let expected = exec.Predict(inputs |> List.map snd |> ResizeArray)
    let actual = runOnnx model inputs
    // zero outputs (or, with several values, constant ones) would compare trivially
    Expect.isGreaterThan (expected.Data |> Array.map abs |> Array.max) 1e-6f "the outputs are not zero"
    if expected.Data.Length > 1 then
        Expect.isGreaterThan (Array.max expected.Data - Array.min expected.Data) 1e-6f "the outputs vary"
    maxRelative actual expected

[<Tests>]
let tests =
    testList "Compiler.Export" [
        testList "every example's networks run in ONNX Runtime as in nn (1e-5 relative)" [
            for file, network in exampleNetworks do
                for rows in [ 1; 7 ] do
                    test (sprintf "%s %s, batch %d" file network rows) {
                        let d = compareExample file network rows
                        Expect.isLessThanOrEqual d 1e-5 "max relative difference"
                    }
        ]
    ]
