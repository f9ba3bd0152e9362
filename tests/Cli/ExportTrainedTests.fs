/// Issue #22, trained weights: every example network trained briefly (one epoch on small data: 300 MNIST digits, 500
/// adding sequences), exported by `nn export`, run in ONNX Runtime on real rows of its training data (batch 1 and the
/// whole batch) and compared with what `nn predict` writes for the same rows, within 1e-5 relative.
module Nn.Tests.Cli.ExportTrainedTests

open System
open System.IO
open Expecto
open Nn.Runtime.Data
open Nn.Compiler
open Nn.Tests.TestUtil
open Nn.Tests.Compiler.ExportTests

let private nn = runNn []

/// What `nn predict --out y.npy` writes for a network's output: the output itself, the softmax of a
/// softmaxCrossEntropy classifier's scores, or a one-sigmoid binary classifier's [1 − p, p].
type private Shown =
    | Raw
    | Softmax
    | Binary

/// The example networks: file, network, the train block (its name when the network is trained by another's, as
/// residual.nn's deep_sigmoid with `--network`), what predict shows. finetune.nn's blocks run in order: each loads
/// the run of the one before.
let private cases =
    [ "adding.nn", [ "lstm", None, Raw; "rnn", None, Raw ]
      "autoencoder.nn", [ "autoencoder", None, Raw ]
      "conv_autoencoder.nn", [ "autoencoder", None, Raw ]
      "custom_layer.nn", [ "gated", None, Softmax ]
      "custom_loss.nn", [ "growth", None, Raw ]
      "finetune.nn",
      [ "autoencoder", None, Raw; "classifier", None, Softmax; "finetuned", None, Softmax; "scratch", None, Softmax ]
      "house_prices.nn", [ "priced", None, Raw; "withoutLocation", None, Raw ]
      "iris.nn", [ "iris", None, Softmax ]
      "lenet.nn", [ "lenet", None, Softmax ]
      "mnist_mlp.nn", [ "mlp", None, Softmax ]
      "regression.nn", [ "curve", None, Raw ]
      // deep_sigmoid has no train block of its own: predict shows its raw scores
      "residual.nn", [ "deep", None, Softmax; "deep_sigmoid", Some "deep", Raw ]
      "two_inputs.nn", [ "flower", None, Softmax ]
      "xor.nn", [ "xor", None, Binary ] ]

/// The rows a network is fed: at most 300 rows of its train block's data, read as training reads them (tables
/// encoded, several inputs cut), one tensor per input.
let private realRows (dir: string) (file: string) (block: string) =
    let c = match Compile.compileFile (Path.Combine(dir, file)) with Ok c -> c | Error _ -> failtest "compile"
    let cfg = TrainPlan.config c (Checkpoint.blockFor c block false |> Option.get)
    let data = DataLoad.load cfg
    let rows = min 300 data.Count
    [ for x in data.Inputs -> x.SliceRows(0, rows) ]

/// The softmax of each row.
let private softmax (t: HostTensor) =
    let width = t.Shape[t.Shape.Length - 1]
    let out = Array.copy t.Data
    for r in 0 .. t.Data.Length / width - 1 do
        let row = t.Data[r * width .. r * width + width - 1] |> Array.map float
        let m = Array.max row
        let e = row |> Array.map (fun v -> exp (v - m))
        let s = Array.sum e
        for i in 0 .. width - 1 do out[r * width + i] <- float32 (e[i] / s)
    HostTensor(t.Shape, out)

let private shown (how: Shown) (t: HostTensor) =
    match how with
    | Raw -> t
    | Softmax -> softmax t
    | Binary -> HostTensor([| t.Shape[0]; 2 |], [| for p in t.Data do yield 1f - p; yield p |])

/// The first `rows` rows of a tensor.
let private head (rows: int) (t: HostTensor) = t.SliceRows(0, rows)

/// Trains every network of `file` (one epoch), exports it and compares ONNX Runtime with `nn predict`: the largest
/// relative difference per (network, batch).
let private compareFile (file: string) (networks: (string * string option * Shown) list) =
    let dir = examplesWithMnistHead "nn-export-trained-" 300
    try
        for name in [ "adding50-x.npy"; "adding50-y.npy" ] do
            let path = Path.Combine(dir, "data", name)
            Npy.Write(path, Npy.ReadHost(path).SliceRows(0, 500))
        [ for network, block, how in networks do
              let train =
                  [ "train"; file; "--set"; "epochs=1" ]
                  @ (match block with Some b -> [ "--train"; b; "--network"; network ] | None -> [ "--train"; network ])
              let latest () = Directory.GetFileSystemEntries(dir, "latest", SearchOption.AllDirectories) |> set
              let before = latest ()
              let code, _, err = nn dir train
              Expect.equal code 0 (sprintf "train %s: %s" network err)
              // the new runs/NETWORK/latest (under the block's `checkpoint` folder when it names one: mnist_mlp.nn)
              let run = Set.difference (latest ()) before |> Seq.exactlyOne
              let code, _, err =
                  nn dir [ "export"; file; "--network"; network; "--weights"; run; "--out"; network + ".onnx" ]
              Expect.equal code 0 (sprintf "export %s: %s" network err)
              let inputs = realRows dir file (defaultArg block network)
              let paths = inputs |> List.mapi (fun i x -> let p = sprintf "%s-x%d.npy" network i
                                                          Npy.Write(Path.Combine(dir, p), x)
                                                          p)
              let code, _, err =
                  nn dir [ "predict"; file; "--network"; network; "--weights"; run; "--input"; String.Join(",", paths)
                           "--out"; network + "-y.npy" ]
              Expect.equal code 0 (sprintf "predict %s: %s" network err)
              let expected = Npy.ReadHost(Path.Combine(dir, network + "-y.npy"))
              let model = File.ReadAllBytes(Path.Combine(dir, network + ".onnx"))
              let c = match Compile.compileFile (Path.Combine(dir, file)) with Ok c -> c | Error _ -> failtest "c"
              let names = (c.Networks |> List.find (fun n -> n.Decl.Name = network)).Decl.Inputs |> List.map _.Name
              let rows = inputs.Head.Rows
              // constant outputs would compare trivially
              Expect.isGreaterThan (Array.max expected.Data - Array.min expected.Data) 1e-6f "the outputs vary"
              for batch in [ 1; rows ] do
                  let actual = runOnnx model (List.zip names (inputs |> List.map (head batch))) |> shown how
                  yield network, batch, maxRelative actual (head batch expected) ]
    finally
        Directory.Delete(dir, true)

[<Tests>]
let tests =
    testList "Cli.ExportTrained" [
        for file, networks in cases do
            test (sprintf "%s trained 1 epoch: ONNX Runtime = nn predict on real rows (1e-5, batch 1 and 300)" file) {
                for network, batch, d in compareFile file networks do
                    // the closing table of docs/language.md ("ONNX export") is made of these lines
                    eprintfn "onnx-trained %s %s batch %d: max relative difference %.2g" file network batch d
                    Expect.isLessThanOrEqual d 1e-5 (sprintf "%s batch %d: max relative difference" network batch)
            }
    ]
