/// Transfer learning on the command line: `nn train --init-from RUN` and `init = weights`, the report of what was
/// loaded, frozen weights bit-identical in the checkpoint, `nn summary`'s trainable counts, `nn check` finding a
/// pattern that matches nothing before any data, and the command-line errors NN0585, NN0587.
module Nn.Tests.Cli.TransferTests

open System.IO
open Expecto
open Nn.Runtime.Checkpoints
open Nn.Tests

let private nn = TestUtil.runNn []

let private rows = "rows [ [0; 0], [0]; [0; 1], [1]; [1; 0], [1]; [1; 1], [0] ]"

/// xor with one hidden layer, the network to start from.
let private pre =
    "network pre (x: [n, 2]) : [n, 1] =\n    x |> dense 4 |> tanh |> dense 1 |> sigmoid\n\n"
    + sprintf "train pre {\n    data = %s\n    loss = binaryCrossEntropy\n" rows
    + "    optimizer = adam { lr = 0.05 }\n    batch = 4\n    epochs = 20\n}\n"

/// The same first layer, a new last one, dense1 frozen; weight decay and L2 that must not touch it.
let private fine (fields: string) =
    "network fine (x: [n, 2]) : [n, 1] =\n    x |> dense 4 |> tanh |> dense 1 |> sigmoid\n\n"
    + sprintf "train fine {\n    data = %s\n    loss = binaryCrossEntropy\n" rows
    + "    optimizer = adamW { lr = 0.05; weightDecay = 0.1 }\n    regularize = l2 0.01\n"
    + "    batch = 4\n    epochs = 5\n" + fields + "}\n"

let private withRun (f: string -> unit) =
    TestUtil.withTempDir "nn-transfer-" (fun dir ->
        File.WriteAllText(Path.Combine(dir, "pre.nn"), pre)
        let code, _, err = nn dir [ "train"; "pre.nn"; "--quiet"; "--out"; "runs/pre/a" ]
        Expect.equal code 0 (sprintf "pretraining (stderr: %s)" err)
        f dir)

let private tensors (path: string) =
    let ck = SafeTensors.Read path
    ck.Names |> Seq.map (fun n -> n, ck[n].Bytes) |> Map.ofSeq

[<Tests>]
let tests =
    testList "Cli.Transfer" [
        test "--init-from loads the run's weights, reports them, and frozen weights end bit-identical" {
            withRun (fun dir ->
                File.WriteAllText(Path.Combine(dir, "fine.nn"), fine "    freeze = [\"dense1.*\"]\n")
                let code, out, err = nn dir [ "train"; "fine.nn"; "--init-from"; "runs/pre/a"; "--out"; "runs/fine" ]
                Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
                let expected =
                    [ "init from runs/pre/a/checkpoint.safetensors: loaded 4 of 4 parameters and states"
                      "  loaded: dense1.w, dense1.b, dense2.w, dense2.b" ]
                let lines = out.Split('\n') |> Array.map (fun l -> l.TrimEnd()) |> List.ofArray
                Expect.equal (lines |> List.skip 1 |> List.take 2) expected "the report after the first line"
                let before = tensors (Path.Combine(dir, "runs", "pre", "a", "checkpoint.safetensors"))
                let after = tensors (Path.Combine(dir, "runs", "fine", "checkpoint.safetensors"))
                for name in [ "dense1.w"; "dense1.b" ] do
                    Expect.isTrue (before[name] = after[name]) (sprintf "%s bit-identical after training" name)
                Expect.isFalse (before["dense2.w"] = after["dense2.w"]) "dense2.w trained"
                Expect.isFalse (after.ContainsKey "dense1.w.m") "no optimizer state for a frozen weight"
                Expect.isTrue (after.ContainsKey "dense2.w.m") "optimizer state for a trained weight")
        }

        test "init = weights in the block reads the same run through its latest link" {
            withRun (fun dir ->
                File.WriteAllText(Path.Combine(dir, "runs", "pre", "latest"), "a\n")
                File.WriteAllText(Path.Combine(dir, "fine.nn"), fine "    init = weights \"runs/pre/latest\"\n")
                let code, out, err = nn dir [ "train"; "fine.nn"; "--out"; "runs/fine" ]
                Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
                Expect.stringContains out "loaded 4 of 4 parameters and states" "the report")
        }

        test "--init-from a file or a missing folder is NN0587 or NN0585; with --resume it is refused" {
            withRun (fun dir ->
                File.WriteAllText(Path.Combine(dir, "fine.nn"), fine "")
                let file = "runs/pre/a/checkpoint.safetensors"
                let code, _, err = nn dir [ "train"; "fine.nn"; "--init-from"; file ]
                Expect.equal code 1 "a file"
                let nn0587 = "checkpoint.safetensors: error NN0587: --init-from takes a run folder"
                Expect.stringContains err nn0587 "NN0587"
                let code, _, err = nn dir [ "train"; "fine.nn"; "--init-from"; "runs/none" ]
                Expect.equal code 1 "missing"
                Expect.stringContains err "none: error NN0585: --init-from: no such run folder" "NN0585"
                let code, _, err = nn dir [ "train"; "fine.nn"; "--init-from"; "runs/pre/a"; "--resume" ]
                Expect.equal code 1 "with --resume"
                Expect.stringContains err "give one of them" "refused"
                Expect.isFalse (Directory.Exists(Path.Combine(dir, "runs", "fine"))) "no run folder made")
        }

        test "nn summary counts trainable and non-trainable parameters as Keras does" {
            withRun (fun dir ->
                File.WriteAllText(Path.Combine(dir, "fine.nn"), fine "    freeze = [\"dense1.w\"]\n")
                let code, out, _ = nn dir [ "summary"; "fine.nn" ]
                Expect.equal code 0 "exit code"
                // dense1.w [2, 4] = 8 of 17 parameters
                for line in [ "total parameters: 17 (68 B as float32)"; "trainable parameters: 9"
                              "non-trainable parameters: 8 (frozen by `freeze`)" ] do
                    Expect.stringContains out line line
                Expect.stringContains out "dense1.w   [2, 4]  8      glorot  no (frozen)" "the parameter marked"
                Expect.stringContains out "dense1.b   [4]     4      zeros   yes" "the others trainable"
                let _, plain, _ = nn dir [ "summary"; "pre.nn" ]
                Expect.stringContains plain "non-trainable parameters: 0\n" "nothing frozen"
                Expect.isFalse (plain.Contains "trainable\n") "no column without freeze")
        }

        test "nn check finds a pattern that matches nothing before reading any data" {
            TestUtil.withTempDir "nn-transfer-" (fun dir ->
                let text =
                    (fine "    freeze = [\"dense3.*\"]\n").Replace(rows, "csv \"missing.csv\" { label = 0 }")
                File.WriteAllText(Path.Combine(dir, "fine.nn"), text)
                let code, _, err = nn dir [ "check"; "fine.nn" ]
                Expect.equal code 1 "exit code"
                Expect.stringContains err "error NN0456: the pattern \"dense3.*\" matches no parameter" "NN0456"
                Expect.isFalse (err.Contains "NN0501") "the data is not read")
        }
    ]
