/// The forward oracle of issue #22 point 4: the generated graphs of the gradient properties (GraphDesc), exported
/// to ONNX and run in ONNX Runtime, agree element by element with the reference interpreter, within the tolerance the
/// fused engine is held to (Tolerance.fusedElement: the float64 reference measures each element's own rounding).
module Nn.Tests.Runtime.Export.OnnxOracleTests

open System.Collections.Generic
open Expecto
open Microsoft.ML.OnnxRuntime
open Microsoft.ML.OnnxRuntime.Tensors
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Execution
open Nn.Runtime.Export
open Nn.Tests.Runtime.Autodiff

/// The training-only ops a description holds (dropout masks, sums across ranks: no inference graph has one).
let rec private trainingOnly d =
    let own =
        match d with
        | GraphDesc.Dropout _ -> [ "DropoutMask" ]
        | GraphDesc.RankSum _ -> [ "RankSum" ]
        | _ -> []
    own @ (GraphDesc.children d |> List.collect trainingOnly)

/// The outputs of ONNX Runtime (one thread) on the model for the fed inputs.
let private runOnnx (model: byte[]) (feeds: (string * HostTensor) list) =
    use options = new SessionOptions(IntraOpNumThreads = 1, InterOpNumThreads = 1)
    use session = new InferenceSession(model, options)
    let values =
        feeds
        |> List.map (fun (name, t) -> NamedOnnxValue.CreateFromTensor(name, DenseTensor<float32>(t.Data, t.Shape)))
    use results = session.Run(ResizeArray values)
    let out = (Seq.head results).AsTensor<float32>()
    out.Dimensions.ToArray(), Seq.toArray out

/// The first root of a generated case exported and run in ONNX Runtime, against the reference interpreter; a case
/// holding training-only ops (dropout masks, sums across ranks) is NN0720 naming one of them instead.
let private onnxAgrees (case: GraphDesc.Case) =
    let b = GraphBuilder()
    let root = GraphDesc.build b case.Roots.Head
    let g = b.Build([ KeyValuePair("output", root) ])
    let feeds64 = GraphGen.feedsFor g.Nodes case.Seed
    let host (t: Tensor<double>) = HostTensor(t.Shape, t.Cast<float32>().Data)
    let values = Dictionary<string, HostTensor>()
    for n in g.Nodes do
        if n.Op = OpKind.Param || n.Op = OpKind.State then values[n.Name] <- host feeds64[n.Name]
    let inputs = [ for n in g.Inputs -> n.Name, host feeds64[n.Name] ]
    let export () = OnnxExport.ToBytes(g, values, inputs |> List.map fst, "case", 17)
    match trainingOnly case.Roots.Head with
    | _ :: _ as ops ->
        let e = Expect.throwsC (export >> ignore) id
        match e with
        | :? NnRuntimeException as e ->
            Expect.equal e.Code "NN0720" "code"
            Expect.isTrue (ops |> List.exists (fun op -> e.Description.Contains $"`{op}`"))
                $"names one of {ops}: {e.Description}"
        | e -> failtestf "another error: %O" e
    | [] ->
        let ref64 = ReferenceInterpreter<double>.Run(g, feeds64, GraphGen.runOpts)
        let feeds32 = feeds64 |> Seq.map (fun kv -> KeyValuePair(kv.Key, kv.Value.Cast<float32>())) |> Dictionary
        let expected = (ReferenceInterpreter<float32>.Run(g, feeds32, GraphGen.runOpts)).["output"].Data
        let e64 = ref64["output"].Data
        let shape, actual = runOnnx (export ()) inputs
        Expect.sequenceEqual shape (root.Shape.Resolve(readOnlyDict [ "n", 2 ])) "shape"
        let k = g.Nodes |> Seq.map (fun n -> int (n.Shape.Count(readOnlyDict [ "n", 2 ]))) |> Seq.max
        for i in 0 .. expected.Length - 1 do
            if not (Tolerance.elementWithin Tolerance.fusedElement k e64[i] (float expected[i]) (float actual[i])) then
                failtestf "output[%d]: ONNX Runtime %g, reference %g (float64 %g)\n%s"
                    i actual[i] expected[i] e64[i] (GraphDesc.show case)

/// The model of a generated case's first root (inputs and values as the oracle feeds them) and that root's shape as
/// text (`n 3`).
let private modelOf (case: GraphDesc.Case) =
    let b = GraphBuilder()
    let root = GraphDesc.build b case.Roots.Head
    let g = b.Build([ KeyValuePair("output", root) ])
    let feeds64 = GraphGen.feedsFor g.Nodes case.Seed
    let values = Dictionary<string, HostTensor>()
    for n in g.Nodes do
        if n.Op = OpKind.Param || n.Op = OpKind.State then
            values[n.Name] <- HostTensor(feeds64[n.Name].Shape, feeds64[n.Name].Cast<float32>().Data)
    let dims = root.Shape.Dims.ToArray() |> Array.map (fun d -> if d.IsFixed then string d.Size else d.Symbol)
    OnnxExport.ToBytes(g, values, [ for n in g.Inputs -> n.Name ], "case", 17), System.String.Join(" ", dims)

/// Generated cases for the checker: `perSize` at each size 2, 4, .., 40 (a fixed seed), without training-only ops.
let private checkerCases perSize =
    [ for size in 2..2..40 do
          yield! FsCheck.FSharp.Gen.sampleWithSeed (FsCheck.Rnd(uint64 size)) size perSize
                     (GraphDesc.caseGen GraphDesc.anyOptions) ]
    |> List.filter (fun c -> List.isEmpty (trainingOnly c.Roots.Head))

/// Distinct generated graphs the property runs (a fixed seed: ONNX Runtime is deterministic on one thread, so the
/// property is too).
let onnxCases = 300

[<Tests>]
let tests =
    testList "Runtime.Export.OnnxOracle" [
        testPropertyWithConfig
            { GraphDesc.graphConfig onnxCases with replay = Some(20261204UL, 0x9E3779B97F4A7C15UL, None) }
            "generated graphs: ONNX Runtime = reference interpreter"
            (fun (gd: GraphDesc.AnyGraph) -> onnxAgrees gd.Case)
        test "generated graphs pass the ONNX checker with full shape inference; inferred output shape = nn's" {
            let cases = checkerCases 25
            let models = cases |> List.map modelOf
            let verdicts = Nn.Tests.Compiler.ExportTests.checkOnnxAll (List.map fst models)
            for case, (_, shape), verdict in List.zip3 cases models verdicts do
                if verdict <> shape then
                    failtestf "the checker: %s, nn: %s\n%s" verdict shape (GraphDesc.show case)
        }
    ]
