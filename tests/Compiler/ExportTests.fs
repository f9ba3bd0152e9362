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

/// The ONNX checker on each file named on the command line: `onnx.checker.check_model(m, full_check=True)`, then
/// `onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True, data_prop=True)` on the model with its
/// output's declared shape left out, so that shape inference computes it (data_prop follows the run-time shapes that
/// `Shape`/`Concat` build for reshapes holding `n`). Prints one line per file: `ok n 10` (the inferred shape of the
/// output `output`, a symbolic dimension by its name) or `rejected: ` and the checker's message on one line.
let private checkerScript = """
import sys, onnx
from onnx import shape_inference
def dim(d):
    return d.dim_param if d.HasField("dim_param") else str(d.dim_value) if d.HasField("dim_value") else "?"
for path in sys.argv[1:]:
    try:
        m = onnx.load(path)
        onnx.checker.check_model(m, full_check=True)
        for o in m.graph.output:
            o.type.tensor_type.ClearField("shape")
        inferred = shape_inference.infer_shapes(m, check_type=True, strict_mode=True, data_prop=True)
        t = [o for o in inferred.graph.output if o.name == "output"][0].type.tensor_type
        print("ok", *([dim(d) for d in t.shape.dim] if t.HasField("shape") else ["unknown"]))
    except Exception as e:
        print("rejected:", type(e).__name__, str(e).replace("\n", " "))
"""

/// Runs `exe - args` with the script on standard input: exit code, standard output, standard error; None when
/// there is no such program.
let private python (exe: string) (args: string list) (script: string) =
    try
        let psi =
            System.Diagnostics.ProcessStartInfo(exe, RedirectStandardInput = true, RedirectStandardOutput = true,
                                                RedirectStandardError = true)
        for a in "-" :: args do psi.ArgumentList.Add a
        use p = System.Diagnostics.Process.Start psi
        p.StandardInput.Write(script: string)
        p.StandardInput.Close()
        let out = p.StandardOutput.ReadToEndAsync()
        let err = p.StandardError.ReadToEndAsync()
        p.WaitForExit()
        Some(p.ExitCode, out.Result, err.Result)
    with :? System.ComponentModel.Win32Exception -> None

/// A Python that imports `onnx`: Debian's (python3-onnx installs into /usr/bin/python3's packages), else the
/// `python3` on the PATH; None when neither has it.
let internal onnxPython =
    lazy
        ([ "/usr/bin/python3"; "python3" ]
         |> List.tryFind (fun exe -> python exe [] "import onnx" |> Option.exists (fun (code, _, _) -> code = 0)))

/// Why a checker test is skipped (never passed) where the checker is missing, and how to install it.
let internal checkerMissing =
    "skipped: the ONNX checker needs Python 3 with the onnx package; install it with "
    + "`sudo apt-get install python3-onnx` (Debian; .ci/run does)"

/// The checker on each model: the inferred shape of its output `output` as text (`n 10`; empty for a scalar), or
/// `rejected: ...` with the checker's message. Skips the test when no Python has onnx.
let internal checkOnnxAll (models: byte[] list) : string list =
    match onnxPython.Value with
    | None -> skiptest checkerMissing
    | Some exe ->
        withTempDir "nn-onnx-check-" (fun dir ->
            let paths = models |> List.mapi (fun i m -> let p = Path.Combine(dir, sprintf "%d.onnx" i)
                                                        File.WriteAllBytes(p, m)
                                                        p)
            match python exe paths checkerScript with
            | Some(0, out, _) ->
                let lines = out.Split('\n', StringSplitOptions.RemoveEmptyEntries) |> List.ofArray
                Expect.equal lines.Length models.Length (sprintf "one line per model:\n%s" out)
                lines |> List.map (fun l -> if l = "ok" || l.StartsWith "ok " then l.Substring(2).Trim() else l)
            | Some(_, out, err) -> failtestf "the checker script failed:\n%s%s" out err
            | None -> failtest "python vanished")

/// The checker on one model: its inferred output shape (`n 10`); fails with the checker's message.
let internal checkOnnx (model: byte[]) =
    match checkOnnxAll [ model ] with
    | [ shape ] when not (shape.StartsWith "rejected:") -> shape
    | r -> failtestf "the ONNX checker %A" r

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
    let model = Export.onnxOf net graphs values Export.noInfo Export.defaultOpset
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

/// The model of an example's network with random weights, and its output shape as `nn` writes it (`n 10`).
let private exampleModel (file: string) (network: string) =
    let c = match Compile.compileFile (Path.Combine(examples, file)) with Result.Ok c -> c | _ -> failtest "compile"
    let net = c.Networks |> List.find (fun n -> n.Decl.Name = network)
    let graphs = Export.graphsOf c net
    let shape = (graphs.Predict.Output "output").Shape
    let dims = shape.Dims.ToArray() |> Array.map (fun d -> if d.IsFixed then string d.Size else d.Symbol)
    Export.onnxOf net graphs (valuesFor graphs 11) Export.noInfo Export.defaultOpset, String.Join(" ", dims)

/// XOR trained through the embedding API (a few epochs: the weights are not the initial ones).
let private xorTrainer () =
    let model = Nn.NnModel.CompileFile(Path.Combine(examples, "xor.nn")).EnsureSuccess()
    let trainer = model.CreateTrainer(Nn.TrainerOptions(Epochs = 30))
    let x = array2D [ [ 0f; 0f ]; [ 0f; 1f ]; [ 1f; 0f ]; [ 1f; 1f ] ]
    trainer.Fit(x, array2D [ [ 0f ]; [ 1f ]; [ 1f ]; [ 0f ] ]) |> ignore
    trainer, x

[<Tests>]
let tests =
    testList "Compiler.Export" [
        test "the embedding API: NnSession.ExportOnnx writes what ONNX Runtime runs as session.Predict (1e-5)" {
            let trainer, x = xorTrainer ()
            withTempDir "nn-export-api-" (fun dir ->
                let path = Path.Combine(dir, "xor.onnx")
                trainer.ExportOnnx path
                let model = File.ReadAllBytes path
                let rows = HostTensor([| 4; 2 |], [| for i in 0..3 do for j in 0..1 -> x[i, j] |])
                let expected = trainer.Predict x
                let actual = runOnnx model [ "x", rows ]
                let d = maxRelative actual (HostTensor([| 4; 1 |], Array.init 4 (fun i -> expected[i, 0])))
                Expect.isLessThanOrEqual d 1e-5 "max relative difference"
                Expect.equal (checkOnnx model) "n 1" "the checker's inferred output shape")
        }
        test "the embedding API: ExportOnnx with opset 12 is an NnException NN0721; nothing is written" {
            let trainer, _ = xorTrainer ()
            withTempDir "nn-export-api-" (fun dir ->
                let path = Path.Combine(dir, "xor.onnx")
                let e = Expect.throwsC (fun () -> trainer.ExportOnnx(path, 12)) id
                match e with
                | :? Nn.NnException as e -> Expect.equal e.Code "NN0721" "code"
                | e -> failtestf "another exception: %O" e
                Expect.isFalse (File.Exists path) "nothing written")
        }
        testList "every example's networks run in ONNX Runtime as in nn (1e-5 relative)" [
            for file, network in exampleNetworks do
                for rows in [ 1; 7 ] do
                    test (sprintf "%s %s, batch %d" file network rows) {
                        let d = compareExample file network rows
                        Expect.isLessThanOrEqual d 1e-5 "max relative difference"
                    }
        ]
        testList "every example's networks pass the ONNX checker; inferred output shape = nn's" [
            for file, network in exampleNetworks do
                test (sprintf "%s %s" file network) {
                    let model, shape = exampleModel file network
                    Expect.equal (checkOnnx model) shape "the output shape ONNX's shape inference infers"
                }
        ]
    ]
