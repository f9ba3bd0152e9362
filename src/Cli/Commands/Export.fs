/// `nn export FILE --weights W --out model.onnx`: a trained network as an ONNX model.
module internal Nn.Cli.Commands.Export

open System
open Nn.Runtime.Export
open Nn.Compiler
open Nn.Cli
open Nn.Cli.Common

// Neither sprintf nor an interpolated string (F# makes both through its printf machinery): this value is made at
// every start of the command (module initialisation), and parsing a format through reflection was ~3 ms of each
// native start (`perf record` of `nn --version`; an interpolated string still ~0.7 ms of `nn predict`).
let help =
    """Usage: nn export FILE --weights W --out MODEL.onnx [--network NAME] [--opset N]

Writes the network of FILE with the weights W (a .safetensors file, or a run folder: the weights `nn predict` would
use) as an ONNX model, the format ONNX Runtime, browsers and phones run (as PyTorch's torch.onnx.export and Keras'
tf2onnx write it). The model is the inference graph: dropout is gone, batch norm uses its running statistics,
standardize's mean and std are constants. Weights are initializers named by their parameter paths (dense1.w);
the inputs keep the names of the network's declaration and their batch axis is the symbolic dimension `n`; the
output is named `output` (a classifier's scores or probabilities as the network computes them, before the
softmax `nn predict` adds to a softmaxCrossEntropy network). Images stay NHWC as in `nn`. An op that cannot be
exported is an error (NN0720) naming it and its line. The file is written atomically.
  --out MODEL     the .onnx file to write
  --network NAME  the network (default: the one of the first train block, or the only one)
  --opset N       the ONNX opset, MIN to MAX (default DEFAULT)

Exit codes: 0 ok, 1 an error in the program, the weights or the command line, 2 internal.

Examples:
  nn export examples/iris.nn --weights examples/runs/iris/latest --out iris.onnx"""
        .Replace("MIN", string OnnxExport.MinOpset)
        .Replace("MAX", string OnnxExport.MaxOpset)
        .Replace("DEFAULT", string Export.defaultOpset)

let private spec = [ "--weights", Value; "--out", Value; "--network", Value; "--opset", Value ]

let run (a: Args) =
    let file = fileArg "export" a
    let weights =
        match a.Get "--weights" with
        | Some w -> w
        | None -> fail "`nn export` needs --weights W (a checkpoint or a run folder)"
    let out = match a.Get "--out" with Some o -> o | None -> fail "`nn export` needs --out MODEL.onnx"
    let opset =
        match a.Get "--opset" with
        | None -> Export.defaultOpset
        | Some s ->
            match Int32.TryParse s with
            | true, v -> v
            | _ -> fail (sprintf "--opset: `%s` is not a whole number" s)
    let c = compileForRun file (letSetsOf weights) []
    let net = network c (a.Get "--network")
    let model = Export.onnxBytes c net weights opset
    OnnxExport.Write(out, model)
    printfn "wrote `%s` to %s (ONNX opset %d, %d bytes)" net.Decl.Name out opset model.Length
    0

let command: Command =
    { Name = "export"
      Summary = "write a trained network as an ONNX model (opset 17, ONNX Runtime and other runtimes)"
      Help = help
      Run = fun args -> guarded (fun () -> run (parseArgs "export" spec args)) }
