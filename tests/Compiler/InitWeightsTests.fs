/// `init = weights "..." { rename }` (Api/InitWeights.fs through TrainPlan): values loaded exactly under their
/// renamed paths, the partial match reported, and the run-time errors NN0585, NN0586, NN0588 with their messages.
module Nn.Tests.Compiler.InitWeightsTests

open System.Collections.Generic
open System.IO
open Expecto
open Nn.Dsl
open Nn.Runtime.Data
open Nn.Runtime.Checkpoints
open Nn.Compiler
open Nn.Tests.TestUtil

/// A network with the layers dense1 [2, 3] and dense2 [3, 1], trained from `init`.
let private program (init: string) =
    "network m (x: [n, 2]) : [n, 1] =\n    x |> dense 3 |> tanh |> dense 1\n\n"
    + "train m {\n    data = rows [ [0; 0], [0]; [1; 1], [1] ]\n    loss = mse\n"
    + sprintf "    init = %s\n}\n" init

/// Known values: 0.5, 1.5, 2.5, ... (none an initializer would give).
let private tensor (shape: int[]) =
    let count = shape |> Array.fold (*) 1
    HostTensor(shape, Array.init count (fun i -> float32 i + 0.5f))

let private write (path: string) (tensors: (string * int[]) list) =
    SafeTensors.Write(path, [ for name, shape in tensors -> KeyValuePair(name, RawTensor.FromHost(tensor shape)) ])

/// The plan of `program init` compiled in `dir` (so `init`'s path is relative to it).
let private plan (dir: string) (init: string) =
    let text = program init
    match Compile.compileText (Path.Combine(dir, "m.nn")) text with
    | Error ds -> failtestf "%A" (ds |> List.map (fun d -> d.Message))
    | Ok c -> text, (fun () -> TrainPlan.createWith c c.Trains.Head None)

/// The rendered diagnostic of a plan that must fail, file names without their folder.
let private planError (dir: string) (init: string) =
    let text, create = plan dir init
    try
        create () |> ignore
        failtest "expected the plan to fail"
    with DiagnosticException d ->
        let d = { d with Span = d.Span.WithFile(Path.GetFileName d.Span.File) }
        Diagnostic.render (fun f -> if f = "m.nn" then Some text else None) d

[<Tests>]
let tests =
    testList "Compiler.InitWeights" [
        test "init by path with a rename loads the file's values exactly; the rest keep their initializer" {
            withTempDir "nn-init-" (fun dir ->
                write (Path.Combine(dir, "pre.safetensors"))
                    [ "encode.dense1.w", [| 2; 3 |]; "encode.dense1.b", [| 3 |]; "decode.dense1.w", [| 3; 784 |] ]
                let _, create = plan dir "weights \"pre.safetensors\" { rename = [(\"encode.\", \"\")] }"
                let p = create ()
                Expect.equal p.Initial["dense1.w"].Data (tensor [| 2; 3 |]).Data "dense1.w from encode.dense1.w"
                Expect.equal p.Initial["dense1.b"].Data (tensor [| 3 |]).Data "dense1.b from encode.dense1.b"
                Expect.equal p.Initial["dense2.b"].Data [| 0f |] "dense2.b keeps its zeros"
                let r = p.Init.Value
                Expect.equal r.Loaded [ "dense1.w", "encode.dense1.w"; "dense1.b", "encode.dense1.b" ] "loaded"
                Expect.equal r.Kept [ "dense2.w"; "dense2.b" ] "kept their initializer"
                Expect.equal (InitWeights.describe id r)
                    [ sprintf "init from %s: loaded 2 of 4 parameters and states" (Path.Combine(dir, "pre.safetensors"))
                      "  loaded: dense1.w (from encode.dense1.w), dense1.b (from encode.dense1.b)"
                      "  kept their initializer: dense2.w, dense2.b" ]
                    "the report nn train prints")
        }

        test "the first pair whose prefix starts a name renames it; a run folder stands for its weights" {
            withTempDir "nn-init-" (fun dir ->
                Directory.CreateDirectory(Path.Combine(dir, "run")) |> ignore
                write (Path.Combine(dir, "run", "checkpoint.safetensors"))
                    [ "a.dense2.w", [| 3; 1 |]; "a.dense1.w", [| 2; 3 |]; "dense1.w.m", [| 2; 3 |] ]
                let init = "weights \"run\" { rename = [(\"a.dense1\", \"unused\"); (\"a.\", \"\")] }"
                let p = (snd (plan dir init)) ()
                Expect.equal p.Init.Value.Loaded [ "dense2.w", "a.dense2.w" ] "only a.dense2.w reaches the network"
                Expect.equal p.Initial["dense2.w"].Data (tensor [| 3; 1 |]).Data "its values")
        }

        test "a path that matches with another shape is NN0586, naming both shapes" {
            withTempDir "nn-init-" (fun dir ->
                write (Path.Combine(dir, "pre.safetensors")) [ "enc.dense1.w", [| 2; 3 |]; "enc.dense2.w", [| 3; 2 |] ]
                Expect.equal (planError dir "weights \"pre.safetensors\" { rename = [(\"enc.\", \"\")] }")
                    ("m.nn(7,12): error NN0586: pre.safetensors: `enc.dense2.w` (renamed `dense2.w`) is [3, 2] in the "
                     + "file, but the network's `dense2.w` is [3, 1]\n"
                     + "  |\n7 |     init = weights \"pre.safetensors\" { rename = [(\"enc.\", \"\")] }\n"
                     + "  |            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^")
                    "rendered")
        }

        test "a file of which nothing matches is NN0588, with both lists and the hint to rename" {
            withTempDir "nn-init-" (fun dir ->
                write (Path.Combine(dir, "pre.safetensors")) [ "enc.dense1.w", [| 2; 3 |] ]
                Expect.equal (planError dir "weights \"pre.safetensors\"")
                    ("m.nn(7,12): error NN0588: pre.safetensors: no tensor of the file matches a parameter of the "
                     + "network (the file has `enc.dense1.w`; the network has `dense1.w`, `dense1.b`, `dense2.w`, "
                     + "`dense2.b`); map path prefixes with { rename = [(\"from.\", \"to.\")] }\n"
                     + "  |\n7 |     init = weights \"pre.safetensors\"\n"
                     + "  |            ^^^^^^^^^^^^^^^^^^^^^^^^^")
                    "rendered")
        }

        test "a missing file, and a folder that is not a run, are NN0585" {
            withTempDir "nn-init-" (fun dir ->
                Expect.equal (planError dir "weights \"runs/none/latest\"")
                    ("m.nn(7,12): error NN0585: latest: no such run folder or weights file\n"
                     + "  |\n7 |     init = weights \"runs/none/latest\"\n"
                     + "  |            ^^^^^^^^^^^^^^^^^^^^^^^^^^")
                    "missing"
                Directory.CreateDirectory(Path.Combine(dir, "empty")) |> ignore
                Expect.stringContains (planError dir "weights \"empty\"")
                    ("error NN0585: empty: the folder holds no checkpoint.safetensors or best.safetensors "
                     + "(it is not a run folder)")
                    "a folder without a checkpoint")
        }
    ]
